#include "fiptgen/load.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fiptgen/error_path.h"
#include "fiptgen/protocols.h"
#include "fiptgen/validate.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace fiptgen {
namespace {

using rapidjson::Value;

const char* TypeName(const Value& v) {
  if (v.IsNull()) {
    return "null";
  }
  if (v.IsBool()) {
    return "a boolean";
  }
  if (v.IsNumber()) {
    return "a number";
  }
  if (v.IsString()) {
    return "a string";
  }
  if (v.IsArray()) {
    return "an array";
  }
  return "an object";
}

absl::string_view StringOf(const Value& v) {
  return absl::string_view(v.GetString(), v.GetStringLength());
}

// Collects errors while walking the JSON document. Each parse function reports what is
// wrong with the value at `path` and returns false; the caller leaves that value out.
class JsonReader {
 public:
  std::vector<std::string>& errors() { return errors_; }

  // Marks everything under `path` as reported (every Error() path is): the model-wide
  // checks stay quiet about it, so one mistake is one error, and entries keep their index.
  void MarkBroken(std::string path) { broken_.push_back(std::move(path)); }
  bool IsUnderBroken(absl::string_view error) const {
    for (const std::string& b : broken_) {
      if (absl::StartsWith(error, b) && error.size() > b.size() &&
          (error[b.size()] == '.' || error[b.size()] == '[' || error[b.size()] == ':')) {
        return true;
      }
    }
    return false;
  }

  void Error(absl::string_view path, absl::string_view message) {
    errors_.push_back(PathError(path, message));
    MarkBroken(std::string(path));
  }

  // Checks that `v` is an object whose keys are all in `allowed` and none repeats.
  bool CheckObject(const Value& v, absl::string_view path,
                   std::initializer_list<absl::string_view> allowed) {
    if (!v.IsObject()) {
      Error(path, absl::StrCat("expected an object, got ", TypeName(v)));
      return false;
    }
    // Objects here are small: a scan of the keys before is cheaper than a hash set.
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      absl::string_view key = StringOf(m->name);
      bool repeated = false;
      for (auto prev = v.MemberBegin(); prev != m && !repeated; ++prev) {
        repeated = StringOf(prev->name) == key;
      }
      if (repeated) {
        Error(path, absl::StrCat("duplicate key ", QuoteForMessage(key)));
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Error(MemberPath(path, key), "unknown field");
      }
    }
    return true;
  }

  // Value readers take the path as (parent, field) and join them only to report an error:
  // a large model has hundreds of thousands of fields and almost never an error.
  bool String(const Value& v, absl::string_view path, std::string* out) {
    return String(v, path, "", out);
  }
  bool String(const Value& v, absl::string_view parent, absl::string_view field, std::string* out) {
    if (!v.IsString()) {
      Error(FieldPath(parent, field), absl::StrCat("expected a string, got ", TypeName(v)));
      return false;
    }
    *out = std::string(StringOf(v));
    return true;
  }

  bool Int(const Value& v, absl::string_view path, int64_t lo, int64_t hi, int64_t* out) {
    return Int(v, path, "", lo, hi, out);
  }
  bool Int(const Value& v, absl::string_view parent, absl::string_view field, int64_t lo,
           int64_t hi, int64_t* out) {
    if (!v.IsInt64()) {
      std::string path = FieldPath(parent, field);
      Error(path, absl::StrCat("expected an integer, got ",
                               v.IsNumber() ? "a fraction or huge number" : TypeName(v)));
      return false;
    }
    if (v.GetInt64() < lo || v.GetInt64() > hi) {
      Error(FieldPath(parent, field), absl::StrCat(v.GetInt64(), " out of range ", lo, "-", hi));
      return false;
    }
    *out = v.GetInt64();
    return true;
  }

  bool StringList(const Value& v, absl::string_view path, std::vector<std::string>* out) {
    if (!v.IsArray()) {
      Error(path, absl::StrCat("expected an array of strings, got ", TypeName(v)));
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < v.Size(); ++i) {
      std::string s;
      if (String(v[i], IndexPath(path, i), &s)) {
        out->push_back(std::move(s));
      } else {
        ok = false;
      }
    }
    return ok;
  }

  // A CIDR; `host_bits` kKeep keeps them for the caller to refuse.
  bool Net(const Value& v, absl::string_view path, int family, IpNet* out,
           HostBits host_bits = HostBits::kClear) {
    std::string text;
    if (!String(v, path, &text)) {
      return false;
    }
    absl::StatusOr<IpNet> net = ParseIpNet(text, family, host_bits);
    if (!net.ok()) {
      Error(path,
            absl::StrCat(QuoteForMessage(text), " is ",
                         family == 0 ? "not a CIDR" : absl::StrCat("not an IPv", family, " CIDR"),
                         " (", net.status().message(), ")"));
      return false;
    }
    *out = *net;
    return true;
  }

  // A list of CIDRs, sorted and de-duplicated. `owned`: the nets an endpoint owns, where a
  // CIDR with host bits set is an error (OwnedNetProblem), never widened; elsewhere they
  // are cleared, as iptables and ipset do.
  bool NetList(const Value& v, absl::string_view path, int family, std::vector<IpNet>* out,
               bool owned = false) {
    if (!v.IsArray()) {
      Error(path, absl::StrCat("expected an array of CIDRs, got ", TypeName(v)));
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < v.Size(); ++i) {
      IpNet net;
      if (!Net(v[i], IndexPath(path, i), family, &net,
               owned ? HostBits::kKeep : HostBits::kClear)) {
        ok = false;
      } else if (std::string problem = owned ? OwnedNetProblem(net) : ""; !problem.empty()) {
        Error(IndexPath(path, i), problem);
        ok = false;
      } else {
        out->push_back(net);
      }
    }
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return ok;
  }

  // A port list: integers and "lo:hi" strings. Errors name the field and the port, as in
  // `profiles["web"].inbound_rules[2].dst_ports: port 70000 out of range`.
  bool Ports(const Value& v, absl::string_view parent, absl::string_view field,
             std::vector<PortRange>* out) {
    if (!v.IsArray() || v.Empty()) {
      Ports(v, FieldPath(parent, field), out);
      return false;
    }
    for (const Value& p : v.GetArray()) {
      if (!p.IsInt64() || p.GetInt64() < 0 || p.GetInt64() > 65535) {
        // Ranges, or an error to report: the general path.
        return Ports(v, FieldPath(parent, field), out);
      }
    }
    for (const Value& p : v.GetArray()) {
      uint16_t port = static_cast<uint16_t>(p.GetInt64());
      out->push_back({port, port});
    }
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return true;
  }
  bool Ports(const Value& v, absl::string_view path, std::vector<PortRange>* out) {
    if (!v.IsArray() || v.Empty()) {
      Error(path, "expected a non-empty array of ports and \"lo:hi\" ranges");
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < v.Size(); ++i) {
      const Value& p = v[i];
      if (p.IsInt64()) {
        if (p.GetInt64() < 0 || p.GetInt64() > 65535) {
          Error(path, absl::StrCat("port ", p.GetInt64(), " out of range"));
          ok = false;
        } else {
          uint16_t port = static_cast<uint16_t>(p.GetInt64());
          out->push_back({port, port});
        }
        continue;
      }
      if (!p.IsString()) {
        Error(path, absl::StrCat("expected a port or \"lo:hi\", got ", TypeName(p)));
        ok = false;
        continue;
      }
      absl::string_view text = StringOf(p);
      std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
      int64_t lo = -1, hi = -1;
      auto number = [](absl::string_view s, int64_t* n) {
        return !s.empty() && s.size() <= 5 &&
               s.find_first_not_of("0123456789") == absl::string_view::npos &&
               absl::SimpleAtoi(s, n);
      };
      if (parts.size() != 2 || !number(parts[0], &lo) || !number(parts[1], &hi)) {
        Error(path, absl::StrCat(QuoteForMessage(text), " is not a port range \"lo:hi\""));
        ok = false;
      } else if (lo > 65535 || hi > 65535) {
        Error(path, absl::StrCat("port ", std::max(lo, hi), " out of range"));
        ok = false;
      } else if (lo >= hi) {
        Error(path, absl::StrCat("range ", QuoteForMessage(text),
                                 " must have lo < hi (the kernel refuses it)"));
        ok = false;
      } else {
        out->push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
      }
    }
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return ok;
  }

 private:
  std::vector<std::string> errors_;
  std::vector<std::string> broken_;
};

bool ParseMark(JsonReader& r, const Value& v, absl::string_view path, uint32_t* out) {
  std::string text;
  if (!r.String(v, path, &text)) {
    return false;
  }
  uint64_t value = 0;
  absl::string_view digits = text;
  bool hex = absl::ConsumePrefix(&digits, "0x") && !digits.empty() && digits.size() <= 8 &&
             digits.find_first_not_of("0123456789abcdefABCDEF") == absl::string_view::npos &&
             absl::SimpleHexAtoi(digits, &value);
  if (!hex || value == 0 || (value & (value - 1)) != 0) {
    r.Error(path, absl::StrCat(QuoteForMessage(text),
                               " is not a single-bit mark in hex (e.g. \"0x1000000\")"));
    return false;
  }
  *out = static_cast<uint32_t>(value);
  return true;
}

bool ParseFailsafe(JsonReader& r, const Value& v, absl::string_view path,
                   std::vector<FailsafePort>* out) {
  std::vector<std::string> entries;
  if (!r.StringList(v, path, &entries)) {
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < entries.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> pp =
        absl::StrSplit(entries[i], absl::MaxSplits(':', 1));
    int64_t port = -1;
    std::optional<int> proto = ParseProtocolName(pp.first);
    bool port_ok = !pp.second.empty() && pp.second.size() <= 5 &&
                   pp.second.find_first_not_of("0123456789") == absl::string_view::npos &&
                   absl::SimpleAtoi(pp.second, &port) && port <= 65535;
    if (!proto || (*proto != kProtoTcp && *proto != kProtoUdp && *proto != kProtoSctp) ||
        !port_ok) {
      r.Error(IndexPath(path, i),
              absl::StrCat(QuoteForMessage(entries[i]),
                           " is not \"tcp:PORT\", \"udp:PORT\" or \"sctp:PORT\""));
      ok = false;
      continue;
    }
    out->push_back({*proto, static_cast<uint16_t>(port)});
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return ok;
}

void ParseConfig(JsonReader& r, const Value& v, Config* config) {
  const std::string path = "config";
  if (!r.CheckObject(v, path,
                     {"interface_prefix", "chain_prefix", "ipset_prefix", "mark_accept",
                      "mark_from_endpoint", "metadata", "endpoint_to_host_action",
                      "failsafe_inbound", "failsafe_outbound", "families"})) {
    return;
  }
  for (const auto& m : v.GetObject()) {
    absl::string_view key = StringOf(m.name);
    std::string p = FieldPath(path, key);
    const Value& f = m.value;
    if (key == "interface_prefix") {
      r.String(f, p, &config->interface_prefix);
    } else if (key == "chain_prefix") {
      r.String(f, p, &config->chain_prefix);
    } else if (key == "ipset_prefix") {
      r.String(f, p, &config->ipset_prefix);
    } else if (key == "mark_accept") {
      ParseMark(r, f, p, &config->mark_accept);
    } else if (key == "mark_from_endpoint") {
      ParseMark(r, f, p, &config->mark_from_endpoint);
    } else if (key == "metadata") {
      if (f.IsNull()) {
        config->metadata.reset();
        continue;
      }
      if (!r.CheckObject(f, p, {"addr", "port"})) {
        continue;
      }
      MetadataConfig md = *DefaultConfig().metadata;
      if (auto a = f.FindMember("addr"); a != f.MemberEnd()) {
        IpNet addr;
        if (r.Net(a->value, FieldPath(p, "addr"), 4, &addr)) {
          if (addr.is_host()) {
            md.addr = addr;
          } else {
            r.Error(FieldPath(p, "addr"), "must be one IPv4 address");
          }
        }
      }
      if (auto port = f.FindMember("port"); port != f.MemberEnd()) {
        int64_t n = 0;
        if (r.Int(port->value, FieldPath(p, "port"), 1, 65535, &n)) {
          md.port = static_cast<uint16_t>(n);
        }
      }
      config->metadata = md;
    } else if (key == "endpoint_to_host_action") {
      std::string action;
      if (!r.String(f, p, &action)) {
        continue;
      }
      if (action == "DROP") {
        config->endpoint_to_host_action = EndpointToHostAction::kDrop;
      } else if (action == "RETURN") {
        config->endpoint_to_host_action = EndpointToHostAction::kReturn;
      } else if (action == "ACCEPT") {
        config->endpoint_to_host_action = EndpointToHostAction::kAccept;
      } else {
        r.Error(p, absl::StrCat(QuoteForMessage(action),
                                " is not one of \"DROP\", \"RETURN\", \"ACCEPT\""));
      }
    } else if (key == "failsafe_inbound") {
      config->failsafe_inbound.clear();
      ParseFailsafe(r, f, p, &config->failsafe_inbound);
    } else if (key == "failsafe_outbound") {
      config->failsafe_outbound.clear();
      ParseFailsafe(r, f, p, &config->failsafe_outbound);
    } else if (key == "families") {
      if (!f.IsArray() || f.Empty()) {
        r.Error(p, "expected a non-empty array holding 4, 6 or both");
        continue;
      }
      std::vector<int> families;
      for (size_t i = 0; i < f.Size(); ++i) {
        int64_t n = 0;
        if (!r.Int(f[i], IndexPath(p, i), 4, 6, &n)) {
          continue;
        }
        if (n == 5) {
          r.Error(IndexPath(p, i), "family must be 4 or 6");
          continue;
        }
        families.push_back(static_cast<int>(n));
      }
      std::sort(families.begin(), families.end());
      families.erase(std::unique(families.begin(), families.end()), families.end());
      if (!families.empty()) {
        config->families = families;
      }
    }
  }
}

// A "name" / "!name" pair of fields holding one string each.
void ParseNamedMatch(JsonReader& r, const Value& rule, absl::string_view path, const char* field,
                     const char* negated_field, std::vector<Match<std::string>>* out, bool* ok) {
  for (bool negated : {false, true}) {
    const char* key = negated ? negated_field : field;
    auto it = rule.FindMember(key);
    if (it == rule.MemberEnd()) {
      continue;
    }
    std::string name;
    if (r.String(it->value, path, key, &name)) {
      out->push_back({std::move(name), negated});
    } else {
      *ok = false;
    }
  }
}

// Returns false when the rule has an error (the caller leaves it out of the model).
bool ParseRule(JsonReader& r, const Value& v, const std::string& path, PolicyRule* rule) {
  if (!r.CheckObject(v, path, {"action",     "log_prefix", "protocol",   "!protocol",  "src_net",
                               "dst_net",    "!src_net",   "!dst_net",   "src_tag",    "dst_tag",
                               "!src_tag",   "!dst_tag",   "src_ipset",  "dst_ipset",  "!src_ipset",
                               "!dst_ipset", "src_ports",  "dst_ports",  "!src_ports", "!dst_ports",
                               "icmp_type",  "icmp_code",  "!icmp_type", "ip_version"})) {
    return false;
  }
  size_t errors_before = r.errors().size();
  auto find = [&v](const char* key) -> const Value* {
    auto it = v.FindMember(key);
    return it == v.MemberEnd() ? nullptr : &it->value;
  };
  bool ok = true;
  if (const Value* f = find("action")) {
    std::string action;
    if (r.String(*f, path, "action", &action)) {
      if (action == "allow") {
        rule->action = Action::kAllow;
      } else if (action == "deny") {
        rule->action = Action::kDeny;
      } else if (action == "log") {
        rule->action = Action::kLog;
      } else {
        r.Error(
            FieldPath(path, "action"),
            absl::StrCat(QuoteForMessage(action), " is not one of \"allow\", \"deny\", \"log\""));
      }
    }
  }
  if (const Value* f = find("log_prefix")) {
    if (r.String(*f, FieldPath(path, "log_prefix"), &rule->log_prefix) &&
        rule->action != Action::kLog) {
      r.Error(FieldPath(path, "log_prefix"), "only allowed with action \"log\"");
    }
  }
  // One of "x" / "!x", exclusive: iptables takes a single -p / -s / -d / --icmp-type.
  auto exclusive = [&](const char* field, auto parse) {
    std::string negated_key = absl::StrCat("!", field);
    const Value* pos = find(field);
    const Value* neg = find(negated_key.c_str());
    if (pos != nullptr && neg != nullptr) {
      r.Error(FieldPath(path, field),
              absl::StrCat("cannot be combined with ", QuoteForMessage(negated_key)));
      return;
    }
    if (pos != nullptr) {
      parse(*pos, FieldPath(path, field), false);
    }
    if (neg != nullptr) {
      parse(*neg, FieldPath(path, negated_key), true);
    }
  };
  exclusive("protocol", [&](const Value& f, const std::string& p, bool negated) {
    if (f.IsString()) {
      std::optional<int> proto = ParseProtocolName(StringOf(f));
      if (!proto) {
        r.Error(p, absl::StrCat(QuoteForMessage(StringOf(f)),
                                " is not tcp, udp, icmp, icmpv6, sctp, udplite or 1-255"));
        return;
      }
      rule->protocol = Match<int>{*proto, negated};
      return;
    }
    int64_t n = 0;
    if (f.IsInt64() || f.IsNumber()) {
      if (r.Int(f, p, 1, 255, &n)) {
        rule->protocol = Match<int>{static_cast<int>(n), negated};
      }
      return;
    }
    r.Error(p, absl::StrCat("expected a protocol name or number, got ", TypeName(f)));
  });
  for (const char* dir : {"src_net", "dst_net"}) {
    std::optional<Match<IpNet>>& slot = dir[0] == 's' ? rule->src_net : rule->dst_net;
    exclusive(dir, [&](const Value& f, const std::string& p, bool negated) {
      IpNet net;
      if (r.Net(f, p, 0, &net)) {
        slot = Match<IpNet>{net, negated};
      }
    });
  }
  ParseNamedMatch(r, v, path, "src_tag", "!src_tag", &rule->src_tags, &ok);
  ParseNamedMatch(r, v, path, "dst_tag", "!dst_tag", &rule->dst_tags, &ok);
  ParseNamedMatch(r, v, path, "src_ipset", "!src_ipset", &rule->src_ipsets, &ok);
  ParseNamedMatch(r, v, path, "dst_ipset", "!dst_ipset", &rule->dst_ipsets, &ok);
  if (const Value* f = find("src_ports")) {
    r.Ports(*f, path, "src_ports", &rule->src_ports);
  }
  if (const Value* f = find("dst_ports")) {
    r.Ports(*f, path, "dst_ports", &rule->dst_ports);
  }
  if (const Value* f = find("!src_ports")) {
    r.Ports(*f, path, "!src_ports", &rule->not_src_ports);
  }
  if (const Value* f = find("!dst_ports")) {
    r.Ports(*f, path, "!dst_ports", &rule->not_dst_ports);
  }
  exclusive("icmp_type", [&](const Value& f, const std::string& p, bool negated) {
    int64_t n = 0;
    if (r.Int(f, p, 0, 255, &n)) {
      rule->icmp_type = Match<int>{static_cast<int>(n), negated};
    }
  });
  if (const Value* f = find("icmp_code")) {
    int64_t n = 0;
    if (r.Int(*f, FieldPath(path, "icmp_code"), 0, 255, &n)) {
      rule->icmp_code = static_cast<int>(n);
    }
  }
  if (const Value* f = find("ip_version")) {
    int64_t n = 0;
    if (r.Int(*f, FieldPath(path, "ip_version"), 4, 6, &n)) {
      if (n == 5) {
        r.Error(FieldPath(path, "ip_version"), "must be 4 or 6");
      } else {
        rule->ip_version = static_cast<int>(n);
      }
    }
  }
  return ok && r.errors().size() == errors_before;
}

void ParseRuleList(JsonReader& r, const Value& v, const std::string& path,
                   std::vector<PolicyRule>* out) {
  if (!v.IsArray()) {
    r.Error(path, absl::StrCat("expected an array of rules, got ", TypeName(v)));
    return;
  }
  for (size_t i = 0; i < v.Size(); ++i) {
    PolicyRule rule;
    if (!ParseRule(r, v[i], IndexPath(path, i), &rule)) {
      r.MarkBroken(IndexPath(path, i));
    }
    out->push_back(std::move(rule));
  }
}

void ParseProfiles(JsonReader& r, const Value& v, Model* model) {
  if (!v.IsObject()) {
    r.Error("profiles", absl::StrCat("expected an object of profiles, got ", TypeName(v)));
    return;
  }
  for (const auto& m : v.GetObject()) {
    std::string id(StringOf(m.name));
    std::string path = KeyPath("profiles", id);
    if (model->profiles.count(id) > 0) {
      r.Error("profiles", absl::StrCat("duplicate key ", QuoteForMessage(id)));
      continue;
    }
    Profile& profile = model->profiles[id];
    profile.id = id;
    const Value& p = m.value;
    if (!r.CheckObject(p, path, {"tags", "inbound_rules", "outbound_rules"})) {
      continue;
    }
    if (auto it = p.FindMember("tags"); it != p.MemberEnd()) {
      r.StringList(it->value, FieldPath(path, "tags"), &profile.tags);
      std::sort(profile.tags.begin(), profile.tags.end());
      profile.tags.erase(std::unique(profile.tags.begin(), profile.tags.end()), profile.tags.end());
    }
    if (auto it = p.FindMember("inbound_rules"); it != p.MemberEnd()) {
      ParseRuleList(r, it->value, FieldPath(path, "inbound_rules"), &profile.inbound_rules);
    }
    if (auto it = p.FindMember("outbound_rules"); it != p.MemberEnd()) {
      ParseRuleList(r, it->value, FieldPath(path, "outbound_rules"), &profile.outbound_rules);
    }
  }
}

void ParseEndpoints(JsonReader& r, const Value& v, Model* model) {
  if (!v.IsArray()) {
    r.Error("endpoints", absl::StrCat("expected an array of endpoints, got ", TypeName(v)));
    return;
  }
  for (size_t i = 0; i < v.Size(); ++i) {
    std::string path = IndexPath("endpoints", i);
    const Value& e = v[i];
    if (!r.CheckObject(e, path,
                       {"id", "kind", "interface", "mac", "ipv4_nets", "ipv6_nets", "profile_ids",
                        "untracked_profile_ids"})) {
      r.MarkBroken(path);
      model->endpoints.emplace_back();
      continue;
    }
    Endpoint ep;
    for (const char* required : {"id", "kind", "interface"}) {
      if (!e.HasMember(required)) {
        r.Error(FieldPath(path, required), "missing");
      }
    }
    for (const auto& m : e.GetObject()) {
      absl::string_view key = StringOf(m.name);
      std::string p = FieldPath(path, key);
      const Value& f = m.value;
      if (key == "id") {
        r.String(f, p, &ep.id);
      } else if (key == "kind") {
        std::string kind;
        if (!r.String(f, p, &kind)) {
          continue;
        }
        if (kind == "workload") {
          ep.kind = EndpointKind::kWorkload;
        } else if (kind == "host") {
          ep.kind = EndpointKind::kHost;
        } else {
          r.Error(p, absl::StrCat(QuoteForMessage(kind), " is not \"workload\" or \"host\""));
        }
      } else if (key == "interface") {
        r.String(f, p, &ep.interface);
      } else if (key == "mac") {
        std::string text;
        if (!r.String(f, p, &text)) {
          continue;
        }
        absl::StatusOr<MacAddress> mac = ParseMac(text);
        if (mac.ok()) {
          ep.mac = *mac;
        } else {
          r.Error(p, absl::StrCat(QuoteForMessage(text), " is not a MAC address"));
        }
      } else if (key == "ipv4_nets") {
        r.NetList(f, p, 4, &ep.ipv4_nets, /*owned=*/true);
      } else if (key == "ipv6_nets") {
        r.NetList(f, p, 6, &ep.ipv6_nets, /*owned=*/true);
      } else if (key == "profile_ids") {
        r.StringList(f, p, &ep.profile_ids);
      } else if (key == "untracked_profile_ids") {
        r.StringList(f, p, &ep.untracked_profile_ids);
      }
    }
    model->endpoints.push_back(std::move(ep));
  }
}

void ParseIpsets(JsonReader& r, const Value& v, Model* model) {
  if (!v.IsArray()) {
    r.Error("ipsets", absl::StrCat("expected an array of ipsets, got ", TypeName(v)));
    return;
  }
  for (size_t i = 0; i < v.Size(); ++i) {
    std::string path = IndexPath("ipsets", i);
    const Value& s = v[i];
    if (!r.CheckObject(s, path, {"name", "family", "type", "members"})) {
      r.MarkBroken(path);
      model->ipsets.emplace_back();
      continue;
    }
    IpSetModel set;
    for (const char* required : {"name", "family"}) {
      if (!s.HasMember(required)) {
        r.Error(FieldPath(path, required), "missing");
      }
    }
    if (auto it = s.FindMember("name"); it != s.MemberEnd()) {
      r.String(it->value, FieldPath(path, "name"), &set.name);
    }
    if (auto it = s.FindMember("family"); it != s.MemberEnd()) {
      int64_t n = 0;
      if (r.Int(it->value, FieldPath(path, "family"), 4, 6, &n)) {
        if (n == 5) {
          r.Error(FieldPath(path, "family"), "must be 4 or 6");
        }
        set.family = static_cast<int>(n);
      }
    }
    if (auto it = s.FindMember("type"); it != s.MemberEnd()) {
      r.String(it->value, FieldPath(path, "type"), &set.type);
    }
    if (auto it = s.FindMember("members"); it != s.MemberEnd()) {
      // Members are parsed once the family is known; a family error was reported above.
      r.NetList(it->value, FieldPath(path, "members"), set.family == 6 ? 6 : 4, &set.members);
    }
    model->ipsets.push_back(std::move(set));
  }
}

}  // namespace

absl::StatusOr<Model> LoadModel(absl::string_view json) {
  rapidjson::Document doc;
  // Iterative: no recursion, so a deeply nested document cannot overflow the stack.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(json.data(),
                                                                                    json.size());
  if (doc.HasParseError()) {
    size_t offset = std::min(doc.GetErrorOffset(), json.size());
    absl::string_view before = json.substr(0, offset);
    size_t line = 1 + std::count(before.begin(), before.end(), '\n');
    size_t last_newline = before.rfind('\n');
    size_t column = offset - (last_newline == absl::string_view::npos ? 0 : last_newline + 1) + 1;
    return absl::InvalidArgumentError(
        absl::StrCat("line ", line, ", column ", column,
                     ": invalid JSON: ", rapidjson::GetParseError_En(doc.GetParseError())));
  }
  JsonReader r;
  Model model;
  if (r.CheckObject(doc, "model", {"config", "endpoints", "profiles", "ipsets"})) {
    if (auto it = doc.FindMember("config"); it != doc.MemberEnd()) {
      ParseConfig(r, it->value, &model.config);
    }
    if (auto it = doc.FindMember("profiles"); it != doc.MemberEnd()) {
      ParseProfiles(r, it->value, &model);
    }
    if (auto it = doc.FindMember("endpoints"); it != doc.MemberEnd()) {
      ParseEndpoints(r, it->value, &model);
    }
    if (auto it = doc.FindMember("ipsets"); it != doc.MemberEnd()) {
      ParseIpsets(r, it->value, &model);
    }
  }
  std::vector<std::string> errors = std::move(r.errors());
  for (std::string& e : ModelErrors(model)) {
    if (!r.IsUnderBroken(e)) {
      errors.push_back(std::move(e));
    }
  }
  if (!errors.empty()) {
    return ErrorsToStatus(errors);
  }
  return model;
}

}  // namespace fiptgen
