#include "bench/scale_model.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace fiptgen {
namespace bench {
namespace {

// SplitMix64: tiny, fast, and the same sequence everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // 0 <= result < n (the modulo bias is irrelevant at these sizes).
  int Uniform(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
  int Between(int lo, int hi) { return lo + Uniform(hi - lo + 1); }
  bool Percent(int p) { return Uniform(100) < p; }

 private:
  uint64_t state_;
};

// 198.18.0.0/15 as a number.
constexpr uint32_t kV4Base = (198u << 24) | (18u << 16);
constexpr uint32_t kV4Size = 1u << 17;

std::string V4(uint32_t addr) {
  return absl::StrFormat("%d.%d.%d.%d", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
                         addr & 0xff);
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

std::string QuotedList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& s : items) {
    quoted.push_back(Quote(s));
  }
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

// A host or net somewhere in 198.18.0.0/15, written with host bits set (LoadModel clears
// them, as a user's model would need).
std::string RandomV4Net(Rng& rng, int min_prefix, int max_prefix) {
  uint32_t addr = kV4Base + static_cast<uint32_t>(rng.Uniform(kV4Size));
  return absl::StrCat(V4(addr), "/", rng.Between(min_prefix, max_prefix));
}

std::string RandomV6Net(Rng& rng) {
  return absl::StrFormat("fd5a:f1e1:%x:%x::/%d", rng.Uniform(0x10000), rng.Uniform(0x10000),
                         rng.Percent(50) ? 48 : 64);
}

// Names: most fit in 16 characters; some do not and are shortened to a hash (docs/chains.md).
std::string TagName(int t) {
  return t % 5 == 4 ? absl::StrFormat("team.platform-%03d", t) : absl::StrFormat("tag-%03d", t);
}

std::string WorkloadProfileName(int p) {
  return p % 7 == 3 ? absl::StrFormat("k8s_ns.payments-%04d", p) : absl::StrFormat("prof-%04d", p);
}

constexpr const char* kHostProfiles[] = {"host-base", "host-mgmt"};

// Explicit ipsets: (name, family). The two blocklists are the big ones.
struct ExplicitSet {
  const char* name;
  int family;
};
constexpr ExplicitSet kExplicitSets[] = {
    {"blocklist-v4", 4},
    {"blocklist-v6", 6},
    {"partners", 4},
    {"monitoring.v6-hosts", 6},
};

const int kCommonPorts[] = {22,   53,   80,   123,  179,  443,  3000, 3306,
                            5432, 6379, 8000, 8080, 8443, 9090, 9100, 11211};

class ModelWriter {
 public:
  ModelWriter(const ScaleSpec& spec, uint64_t seed) : spec_(spec), rng_(seed) {
    host_profiles_ = spec.host_endpoints > 0 ? 2 : 0;
    workload_profiles_ = spec.profiles - host_profiles_ - spec.untracked_profiles;
  }

  std::string Write() {
    std::string out;
    out.append("{\n\"config\": {\"families\": [4, 6]},\n");
    WriteEndpoints(&out);
    WriteProfiles(&out);
    WriteIpsets(&out);
    out.append("}\n");
    return out;
  }

 private:
  // ---- endpoints ----
  void WriteEndpoints(std::string* out) {
    out->append("\"endpoints\": [\n");
    std::set<std::string> interfaces;
    for (int i = 0; i < spec_.workloads; ++i) {
      std::string iface;
      do {
        iface = absl::StrFormat("tap%011x", rng_.Next() & 0xfffffffffffULL);
      } while (!interfaces.insert(iface).second);
      // Each workload owns the 4 addresses at 198.18.0.0 + 4(i+1): one /32 usually, two
      // sometimes, the whole /30 rarely. v6 likewise under fd5a:f1e1:0:1::/64.
      const uint32_t base = kV4Base + 4u * static_cast<uint32_t>(i + 1);
      const int shape = rng_.Uniform(100);
      std::vector<std::string> v4, v6;
      const bool v4_only = shape < 8;
      const bool v6_only = shape >= 8 && shape < 11;
      const uint32_t n = static_cast<uint32_t>(i + 1);
      if (!v6_only) {
        if (shape >= 11 && shape < 14) {
          v4.push_back(absl::StrCat(V4(base), "/30"));
        } else {
          v4.push_back(absl::StrCat(V4(base + 1), "/32"));
          if (shape >= 90) {
            v4.push_back(absl::StrCat(V4(base + 2), "/32"));
          }
        }
      }
      if (!v4_only) {
        if (shape >= 11 && shape < 14) {
          v6.push_back(absl::StrFormat("fd5a:f1e1:0:3::%x:%x/124", n >> 12, (n << 4) & 0xffff));
        } else {
          v6.push_back(absl::StrFormat("fd5a:f1e1:0:1::%x:%x/128", n >> 16, n & 0xffff));
          if (shape >= 90) {
            v6.push_back(absl::StrFormat("fd5a:f1e1:0:2::%x:%x/128", n >> 16, n & 0xffff));
          }
        }
      }
      std::vector<std::string> profiles;
      profiles.push_back(WorkloadProfileName(i % workload_profiles_));
      for (int extra : {40, 10}) {
        if (!rng_.Percent(extra)) {
          continue;
        }
        std::string p = WorkloadProfileName(rng_.Uniform(workload_profiles_));
        if (std::find(profiles.begin(), profiles.end(), p) == profiles.end()) {
          profiles.push_back(p);
        }
      }
      absl::StrAppend(out, i == 0 ? "" : ",\n", "{\"id\": \"", absl::StrFormat("wl-%05d", i),
                      "\", \"kind\": \"workload\", \"interface\": ", Quote(iface));
      if (!rng_.Percent(5)) {  // a few workloads come without a MAC
        absl::StrAppendFormat(out, ", \"mac\": \"%s:%02x:%02x:%02x:%02x:%02x\"",
                              rng_.Percent(50) ? "02" : "0A", (i >> 24) & 0xff, (i >> 16) & 0xff,
                              (i >> 8) & 0xff, i & 0xff, rng_.Uniform(256));
      }
      absl::StrAppend(out, ", \"ipv4_nets\": ", QuotedList(v4), ", \"ipv6_nets\": ", QuotedList(v6),
                      ", \"profile_ids\": ", QuotedList(profiles), "}");
    }
    const char* kHostIfaces[] = {"eth0",   "eth1",   "bond0",     "bond0.100",
                                 "ens3f0", "ens3f1", "vlan.2001", "mgmt0"};
    for (int h = 0; h < spec_.host_endpoints; ++h) {
      std::string iface = h < 8 ? kHostIfaces[h] : absl::StrFormat("eth%d", h);
      std::vector<std::string> profiles = {kHostProfiles[0]};
      if (h % 2 == 1) {
        profiles.push_back(kHostProfiles[1]);
      }
      std::vector<std::string> untracked;
      if (h % 2 == 0 && spec_.untracked_profiles > 0) {
        untracked.push_back(absl::StrCat("fastpath-", h / 2 % spec_.untracked_profiles));
        if (spec_.untracked_profiles > 1 && h % 4 == 0) {
          untracked.push_back(absl::StrCat("fastpath-", (h / 2 + 1) % spec_.untracked_profiles));
        }
      }
      absl::StrAppend(out, ",\n{\"id\": \"", absl::StrCat("host-", iface),
                      "\", \"kind\": \"host\", \"interface\": ", Quote(iface), ", \"ipv4_nets\": [",
                      Quote(absl::StrCat("198.19.255.", h + 1, "/32")), "], \"ipv6_nets\": [",
                      Quote(absl::StrFormat("fd5a:f1e1:ffff::%x", h + 1)), "]");
      // The third host endpoint is untracked-only: it has no filter policy at all.
      if (h != 2) {
        absl::StrAppend(out, ", \"profile_ids\": ", QuotedList(profiles));
      }
      if (!untracked.empty()) {
        absl::StrAppend(out, ", \"untracked_profile_ids\": ", QuotedList(untracked));
      }
      out->append("}");
    }
    out->append("\n],\n");
  }

  // ---- profiles ----
  void WriteProfiles(std::string* out) {
    out->append("\"profiles\": {\n");
    std::vector<std::pair<std::string, int>> profiles;  // name, kind: 0 workload 1 host 2 fast
    for (int p = 0; p < workload_profiles_; ++p) {
      profiles.emplace_back(WorkloadProfileName(p), 0);
    }
    for (int p = 0; p < host_profiles_; ++p) {
      profiles.emplace_back(kHostProfiles[p], 1);
    }
    for (int p = 0; p < spec_.untracked_profiles; ++p) {
      profiles.emplace_back(absl::StrCat("fastpath-", p), 2);
    }
    const int inbound = (spec_.rules_per_profile * 3 + 4) / 5;
    const int outbound = spec_.rules_per_profile - inbound;
    for (size_t k = 0; k < profiles.size(); ++k) {
      const auto& [name, kind] = profiles[k];
      absl::StrAppend(out, k == 0 ? "" : ",\n", Quote(name), ": {");
      if (kind == 0) {
        // Every tag is carried by some profile: tag p % T, plus sometimes another.
        std::set<std::string> tags = {TagName(static_cast<int>(k) % spec_.tags)};
        if (rng_.Percent(30)) {
          tags.insert(TagName(rng_.Uniform(spec_.tags)));
        }
        absl::StrAppend(out, "\"tags\": ",
                        QuotedList(std::vector<std::string>(tags.begin(), tags.end())), ", ");
      }
      const std::string log_prefix = absl::StrFormat("fg-p%04d: ", k);
      int in_count = kind == 2 ? std::max(1, inbound / 4) : inbound;
      int out_count = kind == 2 ? std::max(1, outbound / 4) : outbound;
      out->append("\"inbound_rules\": [");
      for (int r = 0; r < in_count; ++r) {
        absl::StrAppend(out, r == 0 ? "\n  " : ",\n  ", Rule(/*inbound=*/true, log_prefix));
      }
      out->append("],\n \"outbound_rules\": [");
      for (int r = 0; r < out_count; ++r) {
        // Outbound policy usually ends by allowing the rest.
        std::string rule = r + 1 == out_count && rng_.Percent(60) ? "{\"action\": \"allow\"}"
                                                                  : Rule(false, log_prefix);
        absl::StrAppend(out, r == 0 ? "\n  " : ",\n  ", rule);
      }
      out->append("]}");
    }
    out->append("\n},\n");
  }

  std::string Port() {
    return rng_.Percent(50) ? absl::StrCat(kCommonPorts[rng_.Uniform(16)])
                            : absl::StrCat(rng_.Between(1024, 65535));
  }
  std::string Range() {
    int lo = rng_.Between(1024, 60000);
    return Quote(absl::StrCat(lo, ":", lo + rng_.Between(1, 5000)));
  }
  // A port list of `n` entries, about one in six a range.
  std::string Ports(int n) {
    std::vector<std::string> items;
    for (int i = 0; i < n; ++i) {
      items.push_back(rng_.Percent(16) ? Range() : Port());
    }
    return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
  }
  std::string Tag() { return Quote(TagName(rng_.Uniform(spec_.tags))); }
  std::string Set(int family) {
    std::vector<const char*> names;
    for (const ExplicitSet& s : kExplicitSets) {
      if (family == 0 || s.family == family) {
        names.push_back(s.name);
      }
    }
    return Quote(names[rng_.Uniform(static_cast<int>(names.size()))]);
  }
  std::string Peer(bool inbound) {
    const char* dir = inbound ? "src" : "dst";
    int pick = rng_.Uniform(10);
    if (pick < 5) {
      return absl::StrCat(", \"", dir, "_tag\": ", Tag());
    }
    if (pick < 7) {
      return absl::StrCat(", \"", dir, "_net\": ", Quote(RandomV4Net(rng_, 16, 28)));
    }
    if (pick < 8) {
      return absl::StrCat(", \"", dir, "_net\": ", Quote(RandomV6Net(rng_)));
    }
    return "";
  }

  // One policy rule, as a JSON object.
  std::string Rule(bool inbound, const std::string& log_prefix) {
    const char* action = "allow";
    int a = rng_.Uniform(100);
    if (a >= 93) {
      action = "log";
    } else if (a >= 78) {
      action = "deny";
    }
    std::string r = absl::StrCat("{\"action\": \"", action, "\"");
    if (action[0] == 'l') {
      absl::StrAppend(&r, ", \"log_prefix\": ", Quote(log_prefix));
    }
    const char* peer = inbound ? "src" : "dst";
    switch (rng_.Uniform(15)) {
      case 0:
      case 1:
      case 2:  // the common case: a few TCP ports from a peer
        absl::StrAppend(&r, ", \"protocol\": \"tcp\", \"dst_ports\": ", Ports(rng_.Between(1, 4)),
                        Peer(inbound));
        break;
      case 3:  // a long port list: more than one multiport chunk
        absl::StrAppend(&r, ", \"protocol\": \"tcp\", \"dst_ports\": ", Ports(rng_.Between(16, 28)),
                        Peer(inbound));
        break;
      case 4:  // UDP services
        absl::StrAppend(&r, ", \"protocol\": \"udp\", \"dst_ports\": ",
                        rng_.Percent(50) ? "[53, 123]" : "[\"30000:32767\"]", Peer(inbound));
        break;
      case 5:  // source and destination port lists: their chunks multiply
        absl::StrAppend(&r, ", \"protocol\": \"", rng_.Percent(50) ? "tcp" : "udp",
                        "\", \"src_ports\": ", Ports(rng_.Between(10, 20)),
                        ", \"dst_ports\": ", Ports(rng_.Between(1, 18)));
        break;
      case 6:  // an explicit ipset, sometimes negated
        absl::StrAppend(&r, ", \"", rng_.Percent(20) ? "!" : "", peer, "_ipset\": ", Set(0));
        break;
      case 7:  // a tag with negated ports
        absl::StrAppend(&r, ", \"protocol\": \"tcp\", \"", rng_.Percent(30) ? "!" : "", peer,
                        "_tag\": ", Tag(), ", \"!dst_ports\": ", Ports(rng_.Between(1, 20)));
        break;
      case 8:  // ICMP, one family each
        if (rng_.Percent(50)) {
          absl::StrAppend(&r, ", \"protocol\": \"icmp\", \"",
                          rng_.Percent(20) ? "!icmp_type" : "icmp_type",
                          "\": ", rng_.Percent(50) ? 8 : 3);
          if (rng_.Percent(50)) {
            absl::StrAppend(&r, ", \"icmp_code\": ", rng_.Between(0, 4));
          }
        } else {
          absl::StrAppend(
              &r, ", \"protocol\": \"icmpv6\", \"icmp_type\": ", rng_.Percent(50) ? 128 : 1);
        }
        absl::StrAppend(&r, Peer(inbound));
        break;
      case 9:  // not from/to a net of one family
        absl::StrAppend(&r, ", \"!", peer, "_net\": ",
                        Quote(rng_.Percent(60) ? RandomV4Net(rng_, 15, 24) : RandomV6Net(rng_)),
                        ", \"protocol\": \"tcp\"");
        break;
      case 10:  // protocols by number and the less common ones
        switch (rng_.Uniform(4)) {
          case 0:
            absl::StrAppend(&r, ", \"protocol\": 47", Peer(inbound));
            break;
          case 1:
            absl::StrAppend(&r, ", \"protocol\": 50");
            break;
          case 2:
            absl::StrAppend(&r, ", \"protocol\": \"sctp\", \"dst_ports\": ", Ports(2));
            break;
          default:
            absl::StrAppend(&r, ", \"protocol\": \"udplite\", \"src_ports\": ", Ports(1));
            break;
        }
        break;
      case 11:  // one family only
        absl::StrAppend(&r, ", \"ip_version\": ", rng_.Percent(50) ? 6 : 4,
                        ", \"protocol\": \"tcp\", \"dst_ports\": [22, 2222]", Peer(inbound));
        break;
      case 12:  // everything but UDP to a net
        absl::StrAppend(
            &r, ", \"!protocol\": \"udp\", \"dst_net\": ", Quote(RandomV4Net(rng_, 20, 28)));
        break;
      case 13:  // a tag and an ipset together
        absl::StrAppend(&r, ", \"protocol\": \"udp\", \"dst_ports\": ", Ports(3), ", \"", peer,
                        "_tag\": ", Tag(), ", \"", inbound ? "dst" : "src",
                        "_ipset\": ", Set(rng_.Percent(50) ? 4 : 6));
        break;
      default:  // a whole peer
        absl::StrAppend(&r, ", \"", peer, "_tag\": ", Tag());
        break;
    }
    r.append("}");
    return r;
  }

  // ---- ipsets ----
  void WriteIpsets(std::string* out) {
    out->append("\"ipsets\": [\n");
    const int big = spec_.big_ipset_members;
    // blocklist-v4: hash:net; distinct addresses from an odd-stride walk of the /15, one in
    // sixteen widened to a net.
    {
      std::set<std::pair<uint32_t, int>> seen;
      std::vector<std::string> members;
      for (uint32_t i = 0; static_cast<int>(members.size()) < big && i < kV4Size; ++i) {
        uint32_t addr = kV4Base + ((i * 0x9e3bu + 12345u) & (kV4Size - 1));
        int prefix = i % 16 == 5 ? 24 + static_cast<int>(i / 16 % 5) : 32;
        uint32_t net = prefix == 32 ? addr : addr & ~((1u << (32 - prefix)) - 1);
        if (!seen.emplace(net, prefix).second) {
          continue;
        }
        members.push_back(prefix == 32 ? V4(addr) : absl::StrCat(V4(net), "/", prefix));
      }
      WriteSet("blocklist-v4", 4, "hash:net", members, out);
    }
    // blocklist-v6: hosts, one in ten a /64.
    {
      std::vector<std::string> members;
      for (int i = 0; i < big; ++i) {
        members.push_back(
            i % 10 == 7 ? absl::StrFormat("fd5a:f1e1:%x:%x::/64", 0xb10d + (i >> 16), i & 0xffff)
                        : absl::StrFormat("fd5a:f1e1:b10c::%x:%x", i >> 16, i & 0xffff));
      }
      WriteSet("blocklist-v6", 6, "hash:net", members, out);
    }
    {
      std::vector<std::string> members;
      for (int i = 1; i < 255; i += 3) {
        members.push_back(absl::StrCat("198.19.254.", i));
      }
      WriteSet("partners", 4, "hash:ip", members, out);
    }
    {
      std::vector<std::string> members;
      for (int i = 1; i <= 64; ++i) {
        members.push_back(absl::StrFormat("fd5a:f1e1:ffff:1::%x", i));
      }
      WriteSet("monitoring.v6-hosts", 6, "hash:ip", members, out);
    }
    out->append("\n]\n");
  }

  void WriteSet(absl::string_view name, int family, absl::string_view type,
                const std::vector<std::string>& members, std::string* out) {
    absl::StrAppend(out, sets_written_++ == 0 ? "" : ",\n", "{\"name\": ", Quote(name),
                    ", \"family\": ", family, ", \"type\": ", Quote(type),
                    ", \"members\": ", QuotedList(members), "}");
  }

  const ScaleSpec spec_;
  Rng rng_;
  int host_profiles_ = 0;
  int workload_profiles_ = 0;
  int sets_written_ = 0;
};

}  // namespace

ScaleSpec ScaleSpecFor(ScaleSize size) {
  ScaleSpec s;
  switch (size) {
    case ScaleSize::kSmall:
      s.name = "small";
      s.workloads = 50;
      s.profiles = 20;
      s.rules_per_profile = 10;
      s.tags = 10;
      s.host_endpoints = 2;
      s.untracked_profiles = 1;
      s.big_ipset_members = 200;
      break;
    case ScaleSize::kLarge:
      s.name = "large";
      s.workloads = 1000;
      s.profiles = 1000;
      s.rules_per_profile = 40;
      s.tags = 200;
      s.host_endpoints = 4;
      s.untracked_profiles = 2;
      s.big_ipset_members = 5000;
      break;
    case ScaleSize::kHuge:
      s.name = "huge";
      s.workloads = 10000;
      s.profiles = 5000;
      s.rules_per_profile = 40;
      s.tags = 1000;
      s.host_endpoints = 8;
      s.untracked_profiles = 4;
      s.big_ipset_members = 100000;
      break;
  }
  return s;
}

std::optional<ScaleSize> ParseScaleSize(absl::string_view name) {
  if (name == "small") {
    return ScaleSize::kSmall;
  }
  if (name == "large") {
    return ScaleSize::kLarge;
  }
  if (name == "huge") {
    return ScaleSize::kHuge;
  }
  return std::nullopt;
}

std::string MakeScaleModelJson(const ScaleSpec& spec, uint64_t seed) {
  return ModelWriter(spec, seed).Write();
}

}  // namespace bench
}  // namespace fiptgen
