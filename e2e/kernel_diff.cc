// kernel_diff: the simulator (fiptgen/simulate.h) against the kernel, packet by packet.
//
//   kernel_diff model --seed N
//       Prints a random model (JSON), deterministic for N.
//   kernel_diff run --model M.json [--flows F.txt] [--random-flows N] [--seed S]
//                   --netns-prefix P --backends nft,legacy --work DIR
//       In the empty network namespaces P"h" (the host) and P"p" (its peers), made by the
//       caller: builds one veth per interface the flows name (h side named as the model
//       names it, peer in P"p"), loads the model's rules with each backend in turn, sends
//       every flow as a real packet and compares what arrived with the simulator's verdict.
//       Prints one line per backend with counts; exits 1 when any flow disagrees (printed
//       with its trace), 2 on bad input.
//
// How a flow becomes a packet (e2e/README.md has the why):
//   - arriving (in=X): an Ethernet frame sent on X's peer with AF_PACKET, so the source
//     address and MAC are whatever the flow says; sent by the host (no in): a raw socket
//     with IP_HDRINCL in P"h", bound to the out interface, with the flow's mark (SO_MARK).
//   - accepted to the host: it reaches a raw IP socket in P"h" (raw sockets get their copy
//     after the INPUT hook); forwarded or sent: it leaves by the out interface
//     (PACKET_OUTGOING on an AF_PACKET socket in P"h"). Forwarding follows one policy-routing
//     rule per flow (iif, addresses, protocol, ports) to a table whose default route leaves
//     by the out interface towards a permanent neighbour.
//   - conntrack state: NEW is a first packet (TCP SYN, SCTP INIT, an ICMP request);
//     ESTABLISHED a packet of an entry made with `conntrack -I` (seen reply); RELATED an ICMP
//     error about such an entry; INVALID a TCP SYN+FIN, a UDP datagram with a bad checksum,
//     a UDP-Lite one checksummed as RFC 3828 says (conntrack checks it as UDP's, so calls it
//     INVALID), or an ICMP reply or error that belongs to nothing; UNTRACKED an ICMPv6 neighbour,
//     router or multicast listener message, which conntrack never tracks.
//   - no verdict without evidence: an arriving packet must be seen entering the host (its
//     frame on the host's interface) before "nothing came out" means dropped; a packet the
//     host sends is dropped exactly when sendto says EPERM, and then must not leave.
//   - every flow of a round has its own conntrack tuple (flows that would share one go to
//     another round); for NEW flows the conntrack table must also agree with the
//     simulator: an accepted, tracked flow has an entry, an untracked or dropped one none.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fiptgen/flows.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/protocols.h"
#include "fiptgen/render.h"
#include "fiptgen/simulate.h"
#include "fiptgen/trace_text.h"

namespace fiptgen {
namespace {

[[noreturn]] void Die(const std::string& what, int code = 2) {
  std::fprintf(stderr, "kernel_diff: %s\n", what.c_str());
  std::exit(code);
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness (SplitMix64): the same seed gives the same models and flows.

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // 0 <= n < bound
  uint32_t Below(uint32_t bound) { return static_cast<uint32_t>(Next() % bound); }
  bool Percent(int p) { return static_cast<int>(Below(100)) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(static_cast<uint32_t>(v.size()))];
  }

 private:
  uint64_t s_;
};

// ---------------------------------------------------------------------------------------------
// Processes: the only ones are ip, sysctl, ipset, iptables-*-restore and conntrack.

// Runs argv (with `input` on stdin); returns its exit status, stdout in *out (and stderr
// too, unless `stderr_too` is false: then stderr is dropped, as for output to be parsed).
int RunCommand(const std::vector<std::string>& argv, const std::string& input, std::string* out,
               bool stderr_too = true) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    Die("pipe: " + std::string(strerror(errno)));
  }
  // "ip netns exec NS cmd" is done here, without the ip process: the child enters NS.
  std::vector<std::string> args = argv;
  std::string netns;
  if (args.size() > 4 && args[0] == "ip" && args[1] == "netns" && args[2] == "exec") {
    netns = "/run/netns/" + args[3];
    args.erase(args.begin(), args.begin() + 4);
  }
  const int ns_fd = netns.empty() ? -1 : open(netns.c_str(), O_RDONLY | O_CLOEXEC);
  if (!netns.empty() && ns_fd < 0) {
    Die("open " + netns + ": " + strerror(errno), 1);
  }
  pid_t pid = fork();
  if (pid < 0) {
    Die("fork: " + std::string(strerror(errno)));
  }
  if (pid == 0) {
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0) {
      _exit(126);
    }
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    if (stderr_too) {
      dup2(out_pipe[1], 2);
    } else {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, 2);
    }
    std::vector<char*> cargs;
    for (const std::string& a : args) {
      cargs.push_back(const_cast<char*>(a.c_str()));
    }
    cargs.push_back(nullptr);
    execvp(cargs[0], cargs.data());
    _exit(127);
  }
  if (ns_fd >= 0) {
    close(ns_fd);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  std::thread writer([&] {
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = write(in_pipe[1], input.data() + off, input.size() - off);
      if (n <= 0) {
        break;
      }
      off += static_cast<size_t>(n);
    }
    close(in_pipe[1]);
  });
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = read(out_pipe[0], buf, sizeof(buf))) > 0;) {
    text.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  if (out != nullptr) {
    *out = std::move(text);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void MustRun(const std::vector<std::string>& argv, const std::string& input = "") {
  std::string out;
  if (RunCommand(argv, input, &out) != 0) {
    Die(absl::StrCat("`", absl::StrJoin(argv, " "), "` failed:\n", out,
                     input.size() < 4000 ? absl::StrCat("\ninput:\n", input) : ""),
        1);
  }
}

std::vector<std::string> InNs(const std::string& ns, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
  return argv;
}

// Moves the calling thread into a network namespace; returns the one it was in.
int EnterNs(const std::string& path) {
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    Die("setns " + path + ": " + strerror(errno), 1);
  }
  close(fd);
  return self;
}

void LeaveNs(int previous) {
  if (setns(previous, CLONE_NEWNET) != 0) {
    Die("setns back: " + std::string(strerror(errno)), 1);
  }
  close(previous);
}

// ---------------------------------------------------------------------------------------------
// Random models.

std::string V4(int a, int b, int c, int d) { return absl::StrCat(a, ".", b, ".", c, ".", d); }

// A random model over every field the generator knows: config, workloads with one or more
// nets and MACs, host endpoints with tracked and untracked profiles, rules with every match
// (negated too), ipsets of both families.
std::string RandomModel(uint64_t seed) {
  Rng r(seed);
  std::string j = "{\n";
  const std::vector<std::string> prefixes = {"tap", "tap", "cali", "wl"};
  const std::string ifp = r.Pick(prefixes);
  std::vector<int> families = r.Percent(70)   ? std::vector<int>{4, 6}
                              : r.Percent(50) ? std::vector<int>{4}
                                              : std::vector<int>{6};
  const std::vector<std::string> actions = {"DROP", "RETURN", "ACCEPT"};
  uint32_t mark_a = 1u << r.Below(32), mark_ep = mark_a;
  while (mark_ep == mark_a) {
    mark_ep = 1u << r.Below(32);
  }
  auto hex = [](uint32_t v) { return absl::StrCat("\"0x", absl::Hex(v), "\""); };
  auto failsafe = [&](std::vector<std::string> pool) {
    std::vector<std::string> out;
    for (const std::string& p : pool) {
      if (r.Percent(50)) {
        out.push_back(absl::StrCat("\"", p, "\""));
      }
    }
    return absl::StrCat("[", absl::StrJoin(out, ", "), "]");
  };
  absl::StrAppend(
      &j, "  \"config\": {\"interface_prefix\": \"", ifp, "\", \"chain_prefix\": \"",
      r.Percent(50) ? "felix-" : "fx-", "\", \"mark_accept\": ", hex(mark_a),
      ", \"mark_from_endpoint\": ", hex(mark_ep), ", \"endpoint_to_host_action\": \"",
      r.Pick(actions), "\", \"metadata\": ",
      r.Percent(30) ? "null"
                    : absl::StrCat("{\"addr\": \"", r.Percent(50) ? "127.0.0.1" : "198.18.0.253",
                                   "\", \"port\": ", 8000 + r.Below(1000), "}"),
      ", \"failsafe_inbound\": ", failsafe({"tcp:22", "udp:68", "tcp:9022", "sctp:7"}),
      ", \"failsafe_outbound\": ", failsafe({"tcp:2379", "udp:53", "tcp:443", "tcp:6443"}),
      ", \"families\": [", absl::StrJoin(families, ", "), "]},\n");
  // Profiles.
  const int nprofiles = 3 + static_cast<int>(r.Below(4));
  std::vector<std::string> profile_ids, tags = {"web", "db", "ops", "edge"};
  for (int i = 0; i < nprofiles; ++i) {
    profile_ids.push_back(absl::StrCat("p", i));
  }
  const std::vector<std::string> ipset_names = {"block4", "allow4", "block6", "hosts6"};
  auto port = [&]() -> std::string {
    const int base = r.Pick(std::vector<int>{22, 53, 80, 443, 1000, 5000, 8080, 9000});
    if (r.Percent(30)) {
      return absl::StrCat("\"", base, ":", base + 1 + r.Below(50), "\"");
    }
    return absl::StrCat(base + (r.Percent(50) ? 0 : static_cast<int>(r.Below(5))));
  };
  auto ports = [&]() {
    std::vector<std::string> p;
    const int n =
        r.Percent(15) ? 16 + static_cast<int>(r.Below(6)) : 1 + static_cast<int>(r.Below(3));
    for (int i = 0; i < n; ++i) {
      p.push_back(i < 3 ? port() : absl::StrCat(100 + 3 * i));
    }
    return absl::StrCat("[", absl::StrJoin(p, ", "), "]");
  };
  auto net = [&](int family) -> std::string {
    if (family == 4) {
      const int len = r.Pick(std::vector<int>{8, 16, 24, 28, 32});
      return absl::StrCat("\"", V4(198, 18 + r.Below(2), r.Below(256), r.Below(256)), "/", len,
                          "\"");
    }
    const int len = r.Pick(std::vector<int>{32, 48, 64, 112, 128});
    return absl::StrCat("\"fd5a:f1e1:", absl::Hex(r.Below(4)), "::", absl::Hex(r.Below(4)), ":",
                        absl::Hex(r.Below(256)), "/", len, "\"");
  };
  auto rule = [&]() {
    std::vector<std::string> f;
    const int a = static_cast<int>(r.Below(100));
    f.push_back(a < 60   ? "\"action\": \"allow\""
                : a < 85 ? "\"action\": \"deny\""
                         : "\"action\": \"log\"");
    const int family = r.Percent(50) ? 4 : 6;
    const int p = static_cast<int>(r.Below(100));
    std::string proto;
    if (p < 30) {
      proto = "";
    } else if (p < 55) {
      proto = "tcp";
    } else if (p < 75) {
      proto = "udp";
    } else if (p < 85) {
      proto = family == 4 ? "icmp" : "icmpv6";
    } else if (p < 90) {
      proto = "sctp";
    } else if (p < 94) {
      proto = "udplite";
    } else {
      proto = "47";
    }
    const bool negated_proto =
        !proto.empty() && proto != "icmp" && proto != "icmpv6" && r.Percent(10);
    if (!proto.empty()) {
      const bool number = proto == "47";
      f.push_back(absl::StrCat(negated_proto ? "\"!protocol\": " : "\"protocol\": ",
                               number ? "" : "\"", proto, number ? "" : "\""));
    }
    const bool has_ports = !negated_proto && (proto == "tcp" || proto == "udp" || proto == "sctp" ||
                                              proto == "udplite");
    if (has_ports && r.Percent(70)) {
      f.push_back(absl::StrCat(r.Percent(15) ? "\"!dst_ports\": " : "\"dst_ports\": ", ports()));
    }
    if (has_ports && r.Percent(25)) {
      f.push_back(absl::StrCat(r.Percent(30) ? "\"!src_ports\": " : "\"src_ports\": ", ports()));
    }
    if (!negated_proto && (proto == "icmp" || proto == "icmpv6") && r.Percent(70)) {
      const std::vector<int> types = proto == "icmp" ? std::vector<int>{0, 3, 8, 11, 13}
                                                     : std::vector<int>{1, 128, 129, 133, 135};
      if (r.Percent(25)) {
        f.push_back(absl::StrCat("\"!icmp_type\": ", r.Pick(types)));
      } else {
        f.push_back(absl::StrCat("\"icmp_type\": ", r.Pick(types)));
        if (r.Percent(40)) {
          f.push_back(absl::StrCat("\"icmp_code\": ", r.Below(3)));
        }
      }
    }
    if (r.Percent(25)) {
      f.push_back(absl::StrCat(r.Percent(30) ? "\"!src_net\": " : "\"src_net\": ", net(family)));
    }
    if (r.Percent(15)) {
      f.push_back(absl::StrCat(r.Percent(30) ? "\"!dst_net\": " : "\"dst_net\": ", net(family)));
    }
    if (r.Percent(25)) {
      f.push_back(
          absl::StrCat(r.Percent(30) ? "\"!src_tag\": \"" : "\"src_tag\": \"", r.Pick(tags), "\""));
    }
    if (r.Percent(10)) {
      f.push_back(
          absl::StrCat(r.Percent(30) ? "\"!dst_tag\": \"" : "\"dst_tag\": \"", r.Pick(tags), "\""));
    }
    if (r.Percent(15)) {
      f.push_back(absl::StrCat(r.Percent(30) ? "\"!src_ipset\": \"" : "\"src_ipset\": \"",
                               r.Pick(ipset_names), "\""));
    }
    if (r.Percent(8)) {
      f.push_back(absl::StrCat(r.Percent(30) ? "\"!dst_ipset\": \"" : "\"dst_ipset\": \"",
                               r.Pick(ipset_names), "\""));
    }
    if (r.Percent(10)) {
      f.push_back(absl::StrCat("\"ip_version\": ", r.Percent(50) ? 4 : 6));
    }
    if (a >= 85 && r.Percent(50)) {
      f.push_back(absl::StrCat("\"log_prefix\": \"kd", r.Below(100), ": \""));
    }
    return absl::StrCat("{", absl::StrJoin(f, ", "), "}");
  };
  absl::StrAppend(&j, "  \"profiles\": {\n");
  for (int i = 0; i < nprofiles; ++i) {
    std::vector<std::string> ptags;
    for (const std::string& t : tags) {
      if (r.Percent(30)) {
        ptags.push_back(absl::StrCat("\"", t, "\""));
      }
    }
    std::vector<std::string> in, out;
    for (int n = static_cast<int>(r.Below(6)); n > 0; --n) {
      in.push_back(rule());
    }
    for (int n = static_cast<int>(r.Below(5)); n > 0; --n) {
      out.push_back(rule());
    }
    absl::StrAppend(&j, "    \"", profile_ids[i], "\": {\"tags\": [", absl::StrJoin(ptags, ", "),
                    "], \"inbound_rules\": [", absl::StrJoin(in, ", "), "], \"outbound_rules\": [",
                    absl::StrJoin(out, ", "), "]}", i + 1 < nprofiles ? "," : "", "\n");
  }
  absl::StrAppend(&j, "  },\n  \"endpoints\": [\n");
  auto some_profiles = [&](int min) {
    std::vector<std::string> out;
    for (const std::string& p : profile_ids) {
      if (r.Percent(35)) {
        out.push_back(absl::StrCat("\"", p, "\""));
      }
    }
    while (static_cast<int>(out.size()) < min) {
      out.push_back(absl::StrCat("\"", r.Pick(profile_ids), "\""));
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return absl::StrCat("[", absl::StrJoin(out, ", "), "]");
  };
  std::vector<std::string> endpoints;
  const int nworkloads = 2 + static_cast<int>(r.Below(4));
  for (int i = 1; i <= nworkloads; ++i) {
    std::vector<std::string> v4 = {absl::StrCat("\"", V4(198, 18, 1, i), "/32\"")};
    if (r.Percent(20)) {
      v4.push_back(absl::StrCat("\"", V4(198, 18, 2, 4 * i), "/30\""));
    }
    std::vector<std::string> v6 = {absl::StrCat("\"fd5a:f1e1::1:", i, "/128\"")};
    if (r.Percent(10)) {
      v4.clear();
    } else if (r.Percent(10)) {
      v6.clear();
    }
    endpoints.push_back(absl::StrCat(
        "    {\"id\": \"w", i, "\", \"kind\": \"workload\", \"interface\": \"", ifp, "w", i, "\"",
        r.Percent(70) ? absl::StrCat(", \"mac\": \"02:00:00:00:0", i, ":0", r.Below(10), "\"") : "",
        ", \"ipv4_nets\": [", absl::StrJoin(v4, ", "), "], \"ipv6_nets\": [",
        absl::StrJoin(v6, ", "), "], \"profile_ids\": ", some_profiles(r.Percent(90) ? 1 : 0),
        "}"));
  }
  const int nhosts = 1 + static_cast<int>(r.Below(3));
  for (int i = 1; i <= nhosts; ++i) {
    std::string e =
        absl::StrCat("    {\"id\": \"h", i, "\", \"kind\": \"host\", \"interface\": \"eth", i,
                     "\", \"ipv4_nets\": [\"", V4(198, 18, 9, 200 + i),
                     "/32\"], \"ipv6_nets\": [\"fd5a:f1e1::9:", 200 + i, "/128\"]");
    if (r.Percent(75)) {
      absl::StrAppend(&e, ", \"profile_ids\": ", some_profiles(1));
    }
    if (r.Percent(50)) {
      absl::StrAppend(&e, ", \"untracked_profile_ids\": ", some_profiles(1));
    }
    endpoints.push_back(e + "}");
  }
  absl::StrAppend(&j, absl::StrJoin(endpoints, ",\n"), "\n  ],\n  \"ipsets\": [\n");
  std::vector<std::string> sets;
  for (const std::string& name : ipset_names) {
    const int family = absl::EndsWith(name, "6") ? 6 : 4;
    std::vector<std::string> members;
    for (int n = 1 + static_cast<int>(r.Below(4)); n > 0; --n) {
      members.push_back(
          family == 4
              ? (r.Percent(50) ? net(4)
                               : absl::StrCat("\"", V4(198, 18, r.Below(12), r.Below(256)), "\""))
              : net(6));
    }
    const bool host_only = name == "hosts6";
    if (host_only) {
      members = {"\"fd5a:f1e1::1:1\"", "\"fd5a:f1e1::9:201\""};
    }
    sets.push_back(absl::StrCat("    {\"name\": \"", name, "\", \"family\": ", family,
                                ", \"type\": \"", host_only ? "hash:ip" : "hash:net",
                                "\", \"members\": [", absl::StrJoin(members, ", "), "]}"));
  }
  absl::StrAppend(&j, absl::StrJoin(sets, ",\n"), "\n  ]\n}\n");
  return j;
}

// ---------------------------------------------------------------------------------------------
// Flows.

// Whether a packet arrives from the wire or is sent by the host.
enum class Way : uint8_t { kIn, kOut };

// How the kernel is brought to see the flow's conntrack state.
enum class Realize : uint8_t { kNew, kEstablished, kRelated, kInvalid, kUntracked };

struct Flow {
  std::string origin;  // "testdata/example/flows.txt:12" or "random"
  Packet packet;
  bool sport_fixed = false;
  Realize realize = Realize::kNew;
  uint16_t icmp_id = 0;
  uint16_t inner_sport = 0;  // kRelated: the source port of the flow the error is about
  int round = 0;
  // The simulator's answer.
  Verdict verdict = Verdict::kAccept;
  bool untracked = false;
  // The kernel's. Every verdict rests on something seen: an arriving packet must be seen
  // entering the host (`arrived`) before "nothing came out" means dropped; a packet the host
  // sends has its verdict in sendto's answer (netfilter's drop in OUTPUT is EPERM).
  bool delivered = false;
  bool arrived = false;
  int sent = 0;  // the host's own: 1 sendto succeeded, -1 EPERM, 0 not sent
  bool resent = false;
  std::optional<bool> ct_entry;  // kNew flows: an entry with the flow's tuple exists
};

bool IsIcmp(const Packet& p) { return p.protocol == kProtoIcmp || p.protocol == kProtoIcmpv6; }

bool IcmpError(const Packet& p) {
  const int t = p.icmp_type;
  return p.family == 4 ? (t == 3 || t == 4 || t == 5 || t == 11 || t == 12) : (t >= 1 && t <= 4);
}

// The ICMP request of a reply type (echo reply 0 -> 8), or -1.
int IcmpRequestOf(const Packet& p) {
  if (p.family == 4) {
    switch (p.icmp_type) {
      case 0:
        return 8;
      case 14:
        return 13;
      case 16:
        return 15;
      case 18:
        return 17;
    }
    return -1;
  }
  return p.icmp_type == 129 ? 128 : p.icmp_type == 140 ? 139 : -1;
}

bool IcmpRequest(const Packet& p) {
  return p.family == 4
             ? (p.icmp_type == 8 || p.icmp_type == 13 || p.icmp_type == 15 || p.icmp_type == 17)
             : (p.icmp_type == 128 || p.icmp_type == 139);
}

// How to make the kernel see the flow's state, or why it cannot.
std::optional<Realize> HowToRealize(const Packet& p, std::string* why) {
  const Way way = p.in_interface.empty() ? Way::kOut : Way::kIn;
  const bool icmp = IsIcmp(p);
  switch (p.ct_state) {
    case CtState::kNew:
      if (icmp && !IcmpRequest(p)) {
        *why = "an ICMP type that is never NEW";
        return std::nullopt;
      }
      return Realize::kNew;
    case CtState::kEstablished:
      if (p.protocol == kProtoTcp || p.protocol == kProtoUdp || (icmp && !IcmpError(p))) {
        if (icmp && !IcmpRequest(p) && IcmpRequestOf(p) < 0) {
          *why = "ESTABLISHED for an ICMP type that has no request";
          return std::nullopt;
        }
        return Realize::kEstablished;
      }
      *why = "ESTABLISHED is made for tcp, udp and ICMP only";
      return std::nullopt;
    case CtState::kRelated:
      if (icmp && IcmpError(p)) {
        return Realize::kRelated;
      }
      *why = "RELATED is made for ICMP errors only";
      return std::nullopt;
    case CtState::kInvalid:
      if (p.protocol == kProtoTcp || (icmp && !IcmpRequest(p)) ||
          ((p.protocol == kProtoUdp || p.protocol == kProtoUdplite) && way == Way::kIn)) {
        return Realize::kInvalid;
      }
      *why = "INVALID is made for tcp, ICMP non-requests and arriving udp and udplite only";
      return std::nullopt;
    case CtState::kUntracked:
      if (p.protocol == kProtoIcmpv6 &&
          ((p.icmp_type >= 130 && p.icmp_type <= 136) || p.icmp_type == 143)) {
        return Realize::kUntracked;
      }
      *why = "UNTRACKED is made for ICMPv6 neighbour and router messages only";
      return std::nullopt;
  }
  return std::nullopt;
}

// What a model gives random flows to pick from.
struct FlowPool {
  std::vector<std::string> workload_ifs, host_ifs, unknown_ifs;
  std::map<std::string, std::vector<IpNet>> own[2];  // interface -> its nets, per family
  std::vector<IpNet> addresses[2];                   // interesting addresses per family
  std::vector<IpNet> host_addresses[2];              // local addresses of the host
  std::vector<int> ports;                            // interesting ports
  std::vector<std::pair<int, int>> icmp[2];          // interesting (type, code)
  std::vector<int> protocols;                        // besides tcp, udp, icmp
  std::vector<int> families;
};

// A random address inside `net`; in IPv4 nets of four or more addresses not the first or
// the last (the network and broadcast addresses).
IpNet Inside(const IpNet& net, Rng& r) {
  IpNet a = net.WithoutHostBits();
  a.prefix_len = a.max_prefix();
  const int bits = a.max_prefix() - net.prefix_len;
  for (int bit = net.prefix_len; bit < a.max_prefix(); ++bit) {
    // Mostly the low bits vary, so addresses of one net are often the same few.
    if (r.Percent(bit >= a.max_prefix() - 4 ? 50 : 5)) {
      a.addr[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    }
  }
  if (net.family == 4 && bits >= 2) {
    const uint32_t host_mask = (bits >= 32 ? ~0u : (1u << bits) - 1);
    uint32_t v =
        static_cast<uint32_t>(a.addr[0]) << 24 | a.addr[1] << 16 | a.addr[2] << 8 | a.addr[3];
    if ((v & host_mask) == 0 || (v & host_mask) == host_mask) {
      v = (v & ~host_mask) | 1;
      for (int i = 0; i < 4; ++i) {
        a.addr[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
      }
    }
  }
  return a;
}

bool Sane(const IpNet& a) {
  if (a.family == 4) {
    const uint8_t x = a.addr[0];
    return x != 0 && x != 127 && x < 224 && !(x == 169 && a.addr[1] == 254);
  }
  return a.addr[0] == 0xfd || (a.addr[0] & 0xe0) == 0x20;  // unique-local or global unicast
}

FlowPool MakePool(const Model& m) {
  FlowPool pool;
  pool.families = m.config.families;
  for (const Endpoint& e : m.endpoints) {
    (e.kind == EndpointKind::kWorkload ? pool.workload_ifs : pool.host_ifs).push_back(e.interface);
    pool.own[0][e.interface] = e.ipv4_nets;
    pool.own[1][e.interface] = e.ipv6_nets;
    for (int f = 0; f < 2; ++f) {
      for (const IpNet& n : f == 0 ? e.ipv4_nets : e.ipv6_nets) {
        pool.addresses[f].push_back(n);
        if (e.kind == EndpointKind::kHost) {
          pool.host_addresses[f].push_back(n);
        }
      }
    }
  }
  pool.unknown_ifs = {m.config.interface_prefix + "zz9", "ext9"};
  pool.host_addresses[0].push_back(*ParseIpNet("198.18.0.254", 4));
  pool.host_addresses[1].push_back(*ParseIpNet("fd5a:f1e1::fe", 6));
  if (m.config.metadata.has_value()) {
    pool.host_addresses[0].push_back(m.config.metadata->addr);
  }
  pool.addresses[0].push_back(*ParseIpNet("198.18.100.0/24", 4));
  pool.addresses[0].push_back(*ParseIpNet("198.19.0.0/16", 4));
  pool.addresses[1].push_back(*ParseIpNet("fd5a:f1e1:100::/48", 6));
  pool.addresses[1].push_back(*ParseIpNet("fd5b::/64", 6));
  pool.ports = {22, 53, 67, 68, 80, 443, 546, 547, 2379, 4789, 8775};
  if (m.config.metadata.has_value()) {
    pool.ports.push_back(m.config.metadata->port);
  }
  for (const FailsafePort& p : m.config.failsafe_inbound) {
    pool.ports.push_back(p.port);
  }
  for (const FailsafePort& p : m.config.failsafe_outbound) {
    pool.ports.push_back(p.port);
  }
  pool.icmp[0] = {{8, 0}, {8, 1}, {0, 0}, {3, 1}, {3, 3}, {11, 0}, {13, 0}, {14, 0}};
  pool.icmp[1] = {{128, 0}, {129, 0}, {1, 3},   {1, 4},   {135, 0}, {136, 0},
                  {133, 0}, {134, 0}, {130, 0}, {143, 0}, {139, 0}};
  pool.protocols = {kProtoSctp, kProtoUdplite, 47};
  for (const auto& [id, profile] : m.profiles) {
    for (const auto* rules : {&profile.inbound_rules, &profile.outbound_rules}) {
      for (const PolicyRule& rule : *rules) {
        for (const auto* nets : {&rule.src_net, &rule.dst_net}) {
          if (nets->has_value()) {
            pool.addresses[(*nets)->value.family == 6].push_back((*nets)->value);
          }
        }
        for (absl::Span<const PortRange> list :
             {rule.src_ports(), rule.dst_ports(), rule.not_src_ports(), rule.not_dst_ports()}) {
          for (const PortRange& p : list) {
            for (int port : {p.lo - 1, static_cast<int>(p.lo), static_cast<int>(p.hi), p.hi + 1}) {
              if (port > 0 && port < 65536) {
                pool.ports.push_back(port);
              }
            }
          }
        }
        if (rule.icmp_type.has_value()) {
          const int family = rule.protocol.has_value() && rule.protocol->value == kProtoIcmpv6;
          pool.icmp[family].emplace_back(rule.icmp_type->value, rule.icmp_code.value_or(0));
          pool.icmp[family].emplace_back(rule.icmp_type->value, rule.icmp_code.value_or(0) + 1);
        }
        if (rule.protocol.has_value() && rule.protocol->value != kProtoTcp &&
            rule.protocol->value != kProtoUdp && rule.protocol->value != kProtoIcmp &&
            rule.protocol->value != kProtoIcmpv6) {
          pool.protocols.push_back(rule.protocol->value);
        }
      }
    }
  }
  for (const IpSetModel& s : m.ipsets) {
    for (const IpNet& n : s.members) {
      pool.addresses[s.family == 6].push_back(n);
    }
  }
  for (int f = 0; f < 2; ++f) {
    std::vector<IpNet> sane;
    for (const IpNet& n : pool.addresses[f]) {
      if (Sane(n)) {
        sane.push_back(n);
      }
    }
    pool.addresses[f] = sane;
  }
  return pool;
}

// One random flow of the model (not yet given unique ports: see Plan).
std::optional<Flow> RandomFlow(const FlowPool& pool, Rng& r) {
  Flow flow;
  flow.origin = "random";
  Packet& p = flow.packet;
  p.family = r.Percent(90) || pool.families.size() == 2 ? r.Pick(pool.families)
                                                        : (10 - r.Pick(pool.families));
  const int f = p.family == 6;
  const int way = static_cast<int>(r.Below(100));
  auto iface = [&](const std::string& not_this) {
    for (;;) {
      const int k = static_cast<int>(r.Below(100));
      const std::vector<std::string>& from = k < 50 && !pool.workload_ifs.empty()
                                                 ? pool.workload_ifs
                                             : k < 88 && !pool.host_ifs.empty() ? pool.host_ifs
                                                                                : pool.unknown_ifs;
      std::string name = r.Pick(from);
      if (name != not_this) {
        return name;
      }
    }
  };
  auto address = [&](const std::string& own_if) {
    auto it = pool.own[f].find(own_if);
    if (it != pool.own[f].end() && !it->second.empty() && r.Percent(80)) {
      return Inside(r.Pick(it->second), r);
    }
    return Inside(r.Pick(pool.addresses[f]), r);
  };
  if (way < 35) {
    p.in_interface = iface("");
    p.dst = Inside(r.Pick(pool.host_addresses[f]), r);
    p.src = address(p.in_interface);
  } else if (way < 80) {
    p.in_interface = iface("");
    p.out_interface = iface(p.in_interface);
    p.src = address(p.in_interface);
    p.dst = address(p.out_interface);
  } else {
    p.out_interface = iface("");
    p.src = r.Percent(50) ? Inside(r.Pick(pool.host_addresses[f]), r) : address("");
    p.dst = address(p.out_interface);
    if (r.Percent(20)) {
      p.mark = static_cast<uint32_t>(r.Next()) & 0x0fffffffu;
    }
  }
  for (const IpNet* a : {&p.src, &p.dst}) {
    if (!Sane(*a) || a->family != p.family) {
      return std::nullopt;
    }
  }
  if (p.src == p.dst) {
    return std::nullopt;
  }
  const int k = static_cast<int>(r.Below(100));
  p.protocol = k < 40   ? kProtoTcp
               : k < 70 ? kProtoUdp
               : k < 90 ? (f ? kProtoIcmpv6 : kProtoIcmp)
                        : r.Pick(pool.protocols);
  if (p.protocol == kProtoIcmp && f) {
    p.protocol = kProtoIcmpv6;
  } else if (p.protocol == kProtoIcmpv6 && !f) {
    p.protocol = kProtoIcmp;
  }
  if (ProtocolHasPorts(p.protocol)) {
    p.dst_port = static_cast<uint16_t>(r.Percent(85) ? r.Pick(pool.ports) : 1 + r.Below(65535));
    flow.sport_fixed = r.Percent(25);
    p.src_port = static_cast<uint16_t>(flow.sport_fixed ? r.Pick(pool.ports) : 40000);
  }
  if (IsIcmp(p)) {
    const auto& [type, code] = r.Pick(pool.icmp[f]);
    p.icmp_type = std::clamp(type, 0, 254);
    p.icmp_code = std::clamp(code, 0, 255);
  }
  // The conntrack state: what the kernel can be made to see for this packet.
  const int s = static_cast<int>(r.Below(100));
  if (IsIcmp(p) && f && ((p.icmp_type >= 130 && p.icmp_type <= 136) || p.icmp_type == 143)) {
    p.ct_state = CtState::kUntracked;
  } else if (IsIcmp(p) && IcmpError(p)) {
    p.ct_state = s < 60 ? CtState::kRelated : CtState::kInvalid;
  } else if (IsIcmp(p) && !IcmpRequest(p)) {
    p.ct_state = s < 60 && IcmpRequestOf(p) >= 0 ? CtState::kEstablished : CtState::kInvalid;
  } else {
    p.ct_state = s < 72 ? CtState::kNew : s < 92 ? CtState::kEstablished : CtState::kInvalid;
  }
  // The workload's own MAC comes from the model (FillSourceMac); sometimes another.
  if (!p.in_interface.empty() && r.Percent(8)) {
    MacAddress mac;
    mac.octets = {0x02, 0x00, 0x00, 0x00, static_cast<uint8_t>(r.Below(256)), 0x77};
    p.src_mac = mac;
  }
  p.dst_local = p.in_interface.empty() ? false : p.out_interface.empty();
  std::string why;
  if (!HowToRealize(p, &why).has_value()) {
    p.ct_state = CtState::kNew;
    if (!HowToRealize(p, &why).has_value()) {
      return std::nullopt;
    }
  }
  if (!ValidatePacket(p).ok()) {
    return std::nullopt;
  }
  return flow;
}

// ---------------------------------------------------------------------------------------------
// Plan: rounds in which every flow's conntrack tuple and routing key is its own.

std::string AddrKey(const IpNet& a) { return a.ToMemberString(); }

// The conntrack tuple a flow's packet belongs to, the same both ways.
std::string ConntrackKey(const Flow& f) {
  const Packet& p = f.packet;
  std::string a = AddrKey(p.src), b = AddrKey(p.dst);
  uint32_t pa = p.src_port, pb = p.dst_port;
  if (f.realize == Realize::kRelated) {
    pa = f.inner_sport;
    pb = 53;
  }
  if (IsIcmp(p)) {
    pa = f.icmp_id;
    pb = 0;
  }
  if (std::make_pair(b, pb) < std::make_pair(a, pa)) {
    std::swap(a, b);
    std::swap(pa, pb);
  }
  const int proto = f.realize == Realize::kRelated ? kProtoUdp : p.protocol;
  return absl::StrCat(p.family, "/", proto, "/", a, "/", pa, "/", b, "/", pb);
}

// Whether the policy-routing rule of a forwarded flow names its ports.
bool RouteByPorts(const Packet& p) {
  return p.protocol == kProtoTcp || p.protocol == kProtoUdp || p.protocol == kProtoSctp;
}

std::string RouteKey(const Flow& f) {
  const Packet& p = f.packet;
  return absl::StrCat(p.in_interface, "/", AddrKey(p.src), "/", AddrKey(p.dst), "/", p.protocol,
                      RouteByPorts(p) ? absl::StrCat("/", p.src_port, "/", p.dst_port) : "");
}

struct Round {
  absl::flat_hash_set<std::string> conntrack, routes, local, remote;
};

// ---------------------------------------------------------------------------------------------
// Packets on the wire.

uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  }
  if (n & 1) {
    sum += static_cast<uint32_t>(p[n - 1] << 8);
  }
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

uint32_t Crc32c(const uint8_t* p, size_t n) {
  uint32_t crc = ~0u;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) {
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
  }
  return ~crc;
}

void Put16(std::string* s, size_t at, uint16_t v) {
  (*s)[at] = static_cast<char>(v >> 8);
  (*s)[at + 1] = static_cast<char>(v & 0xff);
}
void Add16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v & 0xff));
}
void Add32(std::string* s, uint32_t v) {
  Add16(s, static_cast<uint16_t>(v >> 16));
  Add16(s, static_cast<uint16_t>(v & 0xffff));
}

constexpr char kMagic[] = "ftrc";

std::string Tag(uint32_t index) {
  std::string t(kMagic, 4);
  Add32(&t, index);
  return t;
}

// An IP packet: header, then `l4` (whose checksum at `csum_at`, if any, is filled in with the
// pseudo-header of `proto`).
std::string IpPacket(int family, int proto, const IpNet& src, const IpNet& dst, std::string l4,
                     int csum_at, uint16_t id, int hop_limit, bool rfc_udplite = false) {
  const int alen = family == 4 ? 4 : 16;
  if (csum_at >= 0) {
    Put16(&l4, static_cast<size_t>(csum_at), 0);
    uint32_t sum = Sum16(src.addr.data(), alen);
    sum = Sum16(dst.addr.data(), alen, sum);
    // Conntrack checks an arriving UDP-Lite checksum with UDP's pseudo-header protocol (17),
    // not RFC 3828's 136 (measured: with 136 it calls the packet INVALID, and every
    // fiptgen rule set drops INVALID). A NEW UDP-Lite flow is sent as conntrack reads it,
    // an INVALID one as the RFC says (docs/trace.md).
    const int pseudo = proto == kProtoUdplite && !rfc_udplite ? kProtoUdp : proto;
    sum += static_cast<uint32_t>(pseudo) + static_cast<uint32_t>(l4.size());
    sum = Sum16(reinterpret_cast<const uint8_t*>(l4.data()), l4.size(), sum);
    uint16_t c = Fold(sum);
    if (c == 0 && proto != kProtoTcp) {
      c = 0xffff;
    }
    Put16(&l4, static_cast<size_t>(csum_at), c);
  }
  std::string ip;
  if (family == 4) {
    ip.push_back(0x45);
    ip.push_back(0);
    Add16(&ip, static_cast<uint16_t>(20 + l4.size()));
    Add16(&ip, id);
    Add16(&ip, 0);
    ip.push_back(static_cast<char>(hop_limit));
    ip.push_back(static_cast<char>(proto));
    Add16(&ip, 0);
    ip.append(reinterpret_cast<const char*>(src.addr.data()), 4);
    ip.append(reinterpret_cast<const char*>(dst.addr.data()), 4);
    Put16(&ip, 10, Fold(Sum16(reinterpret_cast<const uint8_t*>(ip.data()), 20)));
  } else {
    Add32(&ip, 0x60000000u);
    Add16(&ip, static_cast<uint16_t>(l4.size()));
    ip.push_back(static_cast<char>(proto));
    ip.push_back(static_cast<char>(hop_limit));
    ip.append(reinterpret_cast<const char*>(src.addr.data()), 16);
    ip.append(reinterpret_cast<const char*>(dst.addr.data()), 16);
  }
  return ip + l4;
}

// The packet of flow `index`, as it leaves its sender.
std::string BuildPacket(const Flow& f, uint32_t index) {
  const Packet& p = f.packet;
  std::string l4;
  int csum_at = -1;
  int hop = 64;
  switch (p.protocol) {
    case kProtoTcp: {
      Add16(&l4, p.src_port);
      Add16(&l4, p.dst_port);
      Add32(&l4, 1000u + index);
      const bool ack = f.realize == Realize::kEstablished;
      Add32(&l4, ack ? 1 : 0);
      l4.push_back(0x50);
      // SYN; ACK for an established flow; SYN+FIN (which conntrack calls INVALID).
      l4.push_back(static_cast<char>(ack ? 0x10 : f.realize == Realize::kInvalid ? 0x03 : 0x02));
      Add16(&l4, 65535);
      Add16(&l4, 0);
      Add16(&l4, 0);
      l4 += Tag(index);
      csum_at = 16;
      break;
    }
    case kProtoUdp:
    case kProtoUdplite:
      Add16(&l4, p.src_port);
      Add16(&l4, p.dst_port);
      Add16(&l4, p.protocol == kProtoUdp ? 16 : 0);  // UDP length; UDP-Lite: coverage all
      Add16(&l4, 0);
      l4 += Tag(index);
      csum_at = 6;
      break;
    case kProtoSctp: {
      Add16(&l4, p.src_port);
      Add16(&l4, p.dst_port);
      Add32(&l4, 0);    // verification tag: 0 in an INIT
      Add32(&l4, 0);    // checksum
      l4.push_back(1);  // INIT
      l4.push_back(0);
      Add16(&l4, 20);
      Add32(&l4, 0x1000u + index);  // initiate tag
      Add32(&l4, 65535);            // a_rwnd
      Add16(&l4, 1);
      Add16(&l4, 1);
      Add32(&l4, 1);  // initial TSN
      const uint32_t crc = Crc32c(reinterpret_cast<const uint8_t*>(l4.data()), l4.size());
      // CRC32c goes on the wire least significant byte first.
      for (int i = 0; i < 4; ++i) {
        l4[8 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
      }
      break;
    }
    case kProtoIcmp:
    case kProtoIcmpv6: {
      l4.push_back(static_cast<char>(p.icmp_type));
      l4.push_back(static_cast<char>(p.icmp_code));
      Add16(&l4, 0);
      if (IcmpError(p)) {
        Add32(&l4, 0);
        // The datagram the error is about: udp from dst to src, whose entry exists for
        // RELATED and not for INVALID.
        std::string inner_l4;
        Add16(&inner_l4, f.inner_sport);
        Add16(&inner_l4, 53);
        Add16(&inner_l4, 8);
        Add16(&inner_l4, 0);
        l4 += IpPacket(p.family, kProtoUdp, p.dst, p.src, inner_l4, 6, 7, 64);
      } else {
        Add16(&l4, f.icmp_id);
        Add16(&l4, 1);
      }
      l4 += Tag(index);
      if (p.family == 6) {
        csum_at = 2;
        if (p.icmp_type >= 133 && p.icmp_type <= 137) {
          hop = 255;
        }
      } else {
        Put16(&l4, 2, Fold(Sum16(reinterpret_cast<const uint8_t*>(l4.data()), l4.size())));
      }
      break;
    }
    case 47:
      Add16(&l4, 0);       // GRE version 0
      Add16(&l4, 0x0800);  // carrying IPv4
      l4 += Tag(index);
      break;
    default:
      l4 = Tag(index);
  }
  std::string ip =
      IpPacket(p.family, p.protocol, p.src, p.dst, l4, csum_at, static_cast<uint16_t>(index), hop,
               /*rfc_udplite=*/f.realize == Realize::kInvalid);
  if (f.realize == Realize::kInvalid && p.protocol == kProtoUdp) {
    const size_t at = (p.family == 4 ? 20 : 40) + 6;
    Put16(&ip, at, static_cast<uint16_t>(((uint8_t)ip[at] << 8 | (uint8_t)ip[at + 1]) ^ 0x5a5a));
  }
  return ip;
}

// What a captured IP packet is, enough to find its flow.
struct Seen {
  enum Kind { kDelivered, kLeft, kArrived } kind = kDelivered;
  int family = 0, proto = 0;
  std::string src, dst;
  int sport = -1, dport = -1, icmp_type = -1, icmp_code = -1;
  int64_t tag = -1;  // the flow index in the payload, or -1
  int ifindex = 0;
};

void ParseL4(const uint8_t* l4, size_t n, Seen* s) {
  if ((s->proto == kProtoTcp || s->proto == kProtoUdp || s->proto == kProtoUdplite ||
       s->proto == kProtoSctp) &&
      n >= 4) {
    s->sport = l4[0] << 8 | l4[1];
    s->dport = l4[2] << 8 | l4[3];
  }
  if ((s->proto == kProtoIcmp || s->proto == kProtoIcmpv6) && n >= 2) {
    s->icmp_type = l4[0];
    s->icmp_code = l4[1];
  }
  // The tag is the last 8 bytes of what we send.
  if (n >= 8 && std::memcmp(l4 + n - 8, kMagic, 4) == 0) {
    const uint8_t* t = l4 + n - 4;
    s->tag =
        static_cast<int64_t>(static_cast<uint32_t>(t[0]) << 24 | t[1] << 16 | t[2] << 8 | t[3]);
  }
}

std::string AddrText(int family, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf));
  return buf;
}

bool ParseIp(const uint8_t* p, size_t n, Seen* s) {
  if (n < 20) {
    return false;
  }
  if ((p[0] >> 4) == 4) {
    const size_t ihl = (p[0] & 0xf) * 4u;
    const size_t total = std::min<size_t>(n, p[2] << 8 | p[3]);
    if (total < ihl) {
      return false;
    }
    s->family = 4;
    s->proto = p[9];
    s->src = AddrText(4, p + 12);
    s->dst = AddrText(4, p + 16);
    ParseL4(p + ihl, total - ihl, s);
    return true;
  }
  if ((p[0] >> 4) == 6 && n >= 40) {
    s->family = 6;
    s->proto = p[6];
    s->src = AddrText(6, p + 8);
    s->dst = AddrText(6, p + 24);
    ParseL4(p + 40, std::min<size_t>(n - 40, p[4] << 8 | p[5]), s);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The run.

struct Options {
  std::string model_path, flows_path, prefix, work;
  int random_flows = 0;
  uint64_t seed = 1;
  std::vector<std::string> backends;
  bool verbose = false;
};

struct Counts {
  int flows = 0, agree = 0, disagree = 0, resent = 0, ct_checked = 0;
  std::map<std::string, int> by;
};

class Runner {
 public:
  explicit Runner(Options o) : o_(std::move(o)) {}

  int Run() {
    LoadModelAndFlows();
    Plan();
    BuildTopology();
    int failures = 0;
    for (const std::string& backend : o_.backends) {
      failures += RunBackend(backend);
    }
    return failures == 0 ? 0 : 1;
  }

 private:
  std::string H() const { return o_.prefix + "h"; }
  std::string P() const { return o_.prefix + "p"; }

  void LoadModelAndFlows() {
    std::ifstream in(o_.model_path);
    std::stringstream json;
    json << in.rdbuf();
    absl::StatusOr<Model> model = LoadModel(json.str());
    if (!model.ok()) {
      Die(o_.model_path + ": " + std::string(model.status().message()));
    }
    model_ = *std::move(model);
    desired_ = Generate(model_);
    for (int family : {4, 6}) {
      absl::StatusOr<PacketSimulator> sim = PacketSimulator::FromDesired(desired_, family);
      if (!sim.ok()) {
        Die(std::string(sim.status().message()));
      }
      sims_[family == 6] = std::make_unique<PacketSimulator>(*std::move(sim));
    }
    if (!o_.flows_path.empty()) {
      std::ifstream f(o_.flows_path);
      std::stringstream text;
      text << f.rdbuf();
      absl::StatusOr<std::vector<FlowExpectation>> flows = ParseFlows(text.str(), o_.flows_path);
      if (!flows.ok()) {
        Die(std::string(flows.status().message()));
      }
      for (FlowExpectation& e : *flows) {
        Flow flow;
        flow.origin = absl::StrCat(o_.flows_path, ":", e.line);
        flow.packet = e.packet;
        flow.sport_fixed = absl::StrContains(e.text, "sport=");
        AddFlow(std::move(flow));
      }
    }
    Rng r(o_.seed);
    const FlowPool pool = MakePool(model_);
    for (int made = 0, tries = 0; made < o_.random_flows && tries < 20 * o_.random_flows; ++tries) {
      std::optional<Flow> flow = RandomFlow(pool, r);
      if (flow.has_value() && AddFlow(*std::move(flow))) {
        ++made;
      }
    }
  }

  // Keeps a flow the kernel can be shown; counts the others.
  bool AddFlow(Flow flow) {
    Packet& p = flow.packet;
    std::string why;
    std::optional<Realize> how = HowToRealize(p, &why);
    if (!how.has_value()) {
      skipped_.push_back(absl::StrCat(flow.origin, ": ", why));
      return false;
    }
    if (!p.in_interface.empty() && p.mark != 0) {
      skipped_.push_back(absl::StrCat(flow.origin, ": a packet from the wire has no mark"));
      return false;
    }
    if (p.in_interface.empty() && p.out_interface == "lo") {
      skipped_.push_back(absl::StrCat(flow.origin, ": to the host itself over lo"));
      return false;
    }
    if (p.protocol == 255 && p.out_interface.empty()) {
      skipped_.push_back(
          absl::StrCat(flow.origin, ": no raw socket receives protocol 255 (IPPROTO_RAW)"));
      return false;
    }
    flow.realize = *how;
    FillSourceMac(model_, &p);
    flows_.push_back(std::move(flow));
    return true;
  }

  // Gives flows their own ports and ids, rounds, and the simulator's verdict.
  void Plan() {
    std::vector<Round> rounds;
    uint16_t next_port = 20000;
    for (size_t i = 0; i < flows_.size(); ++i) {
      Flow& f = flows_[i];
      Packet& p = f.packet;
      if (ProtocolHasPorts(p.protocol) && !f.sport_fixed) {
        p.src_port = next_port++;
      }
      f.icmp_id = static_cast<uint16_t>(30000 + i);
      f.inner_sport = static_cast<uint16_t>(50000 + (i % 15000));
      const bool local_dst = p.out_interface.empty();
      for (int k = 0;; ++k) {
        if (k == static_cast<int>(rounds.size())) {
          rounds.emplace_back();
        }
        Round& r = rounds[k];
        const std::string dst = AddrKey(p.dst), src = AddrKey(p.src);
        const bool clash =
            r.conntrack.contains(ConntrackKey(f)) ||
            (!p.in_interface.empty() && !local_dst && r.routes.contains(RouteKey(f))) ||
            (local_dst ? r.remote.contains(dst) : r.local.contains(dst)) ||
            (!p.in_interface.empty() && r.local.contains(src));
        if (clash) {
          continue;
        }
        r.conntrack.insert(ConntrackKey(f));
        r.routes.insert(RouteKey(f));
        (local_dst ? r.local : r.remote).insert(dst);
        if (!p.in_interface.empty()) {
          r.remote.insert(src);
        }
        f.round = k;
        break;
      }
      absl::StatusOr<TraceResult> trace = sims_[p.family == 6]->Trace(p);
      if (!trace.ok()) {
        Die(absl::StrCat(f.origin, ": ", trace.status().message()));
      }
      f.verdict = trace->verdict;
      f.untracked = trace->untracked;
      if (f.verdict == Verdict::kUnresolved) {
        Die(absl::StrCat(f.origin, ": the simulator cannot decide: ", trace->unresolved));
      }
    }
    rounds_ = static_cast<int>(rounds.size());
    // Interfaces, in a fixed order.
    std::set<std::string> names;
    for (const Flow& f : flows_) {
      for (const std::string* n : {&f.packet.in_interface, &f.packet.out_interface}) {
        if (!n->empty()) {
          names.insert(*n);
        }
      }
    }
    ifaces_.assign(names.begin(), names.end());
    // Everything the run needs later, for a person to repeat it.
    std::ofstream out(o_.work + "/flows.txt");
    for (const Flow& f : flows_) {
      std::string line;
      AppendPacket(f.packet, &line);
      absl::StrAppend(&line, " => ");
      TraceResult t;
      t.verdict = f.verdict;
      t.untracked = f.untracked;
      AppendOutcome(t, &line);
      out << line << "  # " << f.origin << "\n";
    }
  }

  int IfIndex(const std::string& name) const {
    return static_cast<int>(std::find(ifaces_.begin(), ifaces_.end(), name) - ifaces_.begin());
  }
  static std::string Mac(int side, int i) {
    return absl::StrCat("02:", side == 0 ? "fd" : "fe",
                        ":00:00:", absl::Hex(i / 256, absl::kZeroPad2), ":",
                        absl::Hex(i % 256, absl::kZeroPad2));
  }

  void BuildTopology() {
    MustRun(InNs(H(), {"sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                       "net.ipv6.conf.default.forwarding=1", "net.ipv4.conf.all.rp_filter=0",
                       "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.all.route_localnet=1",
                       "net.ipv4.conf.default.route_localnet=1", "net.ipv4.conf.all.accept_local=1",
                       "net.ipv4.conf.default.accept_local=1", "net.ipv6.conf.all.accept_dad=0",
                       "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.disable_ipv6=0",
                       "net.ipv6.conf.default.disable_ipv6=0", "net.ipv4.conf.all.send_redirects=0",
                       "net.ipv4.conf.default.send_redirects=0",
                       "net.netfilter.nf_conntrack_tcp_be_liberal=1"}));
    MustRun(InNs(P(), {"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                       "net.ipv6.conf.default.disable_ipv6=1"}));
    // ip -batch takes no -6 per line: IPv6 routes and rules go in a batch of their own.
    std::string h = "link set lo up\n", h6, p;
    for (size_t i = 0; i < ifaces_.size(); ++i) {
      const std::string& x = ifaces_[i];
      const std::string peer = absl::StrCat("p", i);
      const int table = 1000 + static_cast<int>(i);
      absl::StrAppend(&h, "link add ", x, " address ", Mac(0, i), " type veth peer name ", peer,
                      " address ", Mac(1, i), " netns ", P(), "\n", "link set ", x, " up\n");
      absl::StrAppend(&p, "link set ", peer, " up\n");
      absl::StrAppend(&h, "route add default via 169.254.0.1 dev ", x, " onlink table ", table,
                      "\n", "neigh replace 169.254.0.1 lladdr ", Mac(1, i), " dev ", x,
                      " nud permanent\n", "neigh replace fe80::1 lladdr ", Mac(1, i), " dev ", x,
                      " nud permanent\n", "rule add oif ", x, " lookup ", table, " prio 100\n");
      absl::StrAppend(&h6, "route add default via fe80::1 dev ", x, " onlink table ", table, "\n",
                      "rule add oif ", x, " lookup ", table, " prio 100\n");
    }
    MustRun(InNs(H(), {"ip", "-batch", "-"}), h);
    MustRun(InNs(H(), {"ip", "-6", "-batch", "-"}), h6);
    MustRun(InNs(P(), {"ip", "-batch", "-"}), p);
    // The peers' indices, for sending; ours, for checking where packets came and went.
    int prev = EnterNs("/run/netns/" + P());
    for (size_t i = 0; i < ifaces_.size(); ++i) {
      peer_index_.push_back(static_cast<int>(if_nametoindex(absl::StrCat("p", i).c_str())));
    }
    LeaveNs(prev);
    prev = EnterNs("/run/netns/" + H());
    for (const std::string& x : ifaces_) {
      host_index_[static_cast<int>(if_nametoindex(x.c_str()))] = x;
    }
    LeaveNs(prev);
  }

  // The `conntrack -I` arguments of a flow's entry, if it needs one.
  std::vector<std::string> ConntrackEntry(const Flow& f) const {
    const Packet& p = f.packet;
    std::vector<std::string> a = {"conntrack", "-I"};
    const std::string src = p.src.ToMemberString(), dst = p.dst.ToMemberString();
    if (f.realize == Realize::kRelated) {
      // The udp flow from dst to src that the error is about.
      return {"conntrack", "-I", "-p", "udp",        "-s",
              dst,         "-d", src,  "--sport",    absl::StrCat(f.inner_sport),
              "--dport",   "53", "-u", "SEEN_REPLY", "-t",
              "600"};
    }
    if (f.realize != Realize::kEstablished) {
      return {};
    }
    if (IsIcmp(p)) {
      const bool v6 = p.family == 6;
      const bool reply = !IcmpRequest(p);
      const int type = reply ? IcmpRequestOf(p) : p.icmp_type;
      a.insert(a.end(),
               {"-p", v6 ? "icmpv6" : "icmp", "-s", reply ? dst : src, "-d", reply ? src : dst,
                v6 ? "--icmpv6-type" : "--icmp-type", absl::StrCat(type),
                v6 ? "--icmpv6-code" : "--icmp-code", absl::StrCat(p.icmp_code),
                v6 ? "--icmpv6-id" : "--icmp-id", absl::StrCat(f.icmp_id)});
    } else {
      a.insert(a.end(), {"-p", p.protocol == kProtoTcp ? "tcp" : "udp", "-s", src, "-d", dst,
                         "--sport", absl::StrCat(p.src_port), "--dport", absl::StrCat(p.dst_port)});
      if (p.protocol == kProtoTcp) {
        a.insert(a.end(), {"--state", "ESTABLISHED"});
      }
    }
    a.insert(a.end(), {"-u", "SEEN_REPLY,ASSURED", "-t", "600"});
    return a;
  }

  // Backend "none" loads no rules: every flow must then arrive, so that each drop with rules
  // is the rules' doing.
  int RunBackend(const std::string& backend) {
    const bool rules = backend != "none";
    with_rules_ = rules;
    const RestoreFiles files = RenderFiles(desired_);
    if (rules) {
      MustRun(InNs(H(), {"ipset", "restore"}), files.ipsets);
      MustRun(InNs(H(), {"iptables-" + backend + "-restore", "--noflush"}), files.iptables);
      MustRun(InNs(H(), {"ip6tables-" + backend + "-restore", "--noflush"}), files.ip6tables);
    }
    for (Flow& f : flows_) {
      f.delivered = false;
      f.arrived = false;
      f.sent = 0;
      f.resent = false;
      f.ct_entry.reset();
    }
    OpenSockets();
    for (int round = 0; round < rounds_; ++round) {
      RunRound(round);
    }
    Settle(200);  // the last chance for a late packet to count
    CloseSockets();
    if (rules) {
      // Unload: a restore without --noflush empties (and drops the chains of) each table.
      const std::string empty = "*raw\nCOMMIT\n*filter\nCOMMIT\n";
      MustRun(InNs(H(), {"iptables-" + backend + "-restore"}), empty);
      MustRun(InNs(H(), {"ip6tables-" + backend + "-restore"}), empty);
      MustRun(InNs(H(), {"ipset", "destroy"}));
    }
    return Report(backend);
  }

  void RunRound(int round) {
    MustRun(InNs(H(), {"conntrack", "-F"}));
    MustRun(InNs(H(), {"conntrack", "-F", "-f", "ipv6"}));
    std::string rules, rules6;
    std::vector<size_t> mine;
    int prio = 1000;
    // The round's local addresses: the destinations of its flows to the host.
    std::set<std::string> local;
    for (size_t i = 0; i < flows_.size(); ++i) {
      const Flow& f = flows_[i];
      if (f.round != round) {
        continue;
      }
      mine.push_back(i);
      if (f.packet.out_interface.empty() && f.packet.dst.ToString() != "127.0.0.1/32") {
        local.insert(f.packet.dst.ToString());
      }
      std::vector<std::string> entry = ConntrackEntry(f);
      if (!entry.empty()) {
        MustRun(InNs(H(), entry));
      }
      const Packet& p = f.packet;
      if (!p.in_interface.empty() && !p.out_interface.empty()) {
        absl::StrAppend(p.family == 6 ? &rules6 : &rules, "rule add iif ", p.in_interface, " from ",
                        p.src.ToString(), " to ", p.dst.ToString(), " ipproto ", p.protocol);
        if (RouteByPorts(p)) {
          absl::StrAppend(p.family == 6 ? &rules6 : &rules, " sport ", p.src_port, " dport ",
                          p.dst_port);
        }
        absl::StrAppend(p.family == 6 ? &rules6 : &rules, " lookup ",
                        1000 + IfIndex(p.out_interface), " prio ", prio++, "\n");
      }
    }
    std::string add, del;
    for (const std::string& a : local) {
      const bool v6 = absl::StrContains(a, ":");
      absl::StrAppend(&add, "addr add ", a, " dev lo", v6 ? " nodad" : "", "\n");
      absl::StrAppend(&del, "addr del ", a, " dev lo\n");
    }
    if (!rules.empty() || !add.empty()) {
      MustRun(InNs(H(), {"ip", "-batch", "-"}), rules + add);
    }
    if (!rules6.empty()) {
      MustRun(InNs(H(), {"ip", "-6", "-batch", "-"}), rules6);
    }
    Send(mine);
    Settle(30);
    std::vector<size_t> missing;
    for (size_t i : mine) {
      const Flow& f = flows_[i];
      const bool want = !with_rules_ || f.verdict == Verdict::kAccept;
      if ((want && !f.delivered) || (!f.packet.in_interface.empty() && !f.arrived)) {
        missing.push_back(i);
      }
    }
    if (!missing.empty()) {
      // Not a verdict yet: a burst can overflow a queue, or a packet never reach the host.
      // Send those once more, alone (a packet the rules drop is dropped again; conntrack
      // keeps no entry of a dropped packet).
      for (size_t i : missing) {
        flows_[i].resent = true;
      }
      Send(missing);
      Settle(100);
    }
    CheckConntrack(mine);
    if (!del.empty()) {
      MustRun(InNs(H(), {"ip", "-batch", "-"}), del);
    }
    std::string flush;
    for (int k = 1000; k < prio; ++k) {
      absl::StrAppend(&flush, "rule del prio ", k, "\n");
    }
    if (!rules.empty()) {
      RunCommand(InNs(H(), {"ip", "-force", "-batch", "-"}), flush, nullptr);
    }
    if (!rules6.empty()) {
      RunCommand(InNs(H(), {"ip", "-6", "-force", "-batch", "-"}), flush, nullptr);
    }
  }

  int Socket(int domain, int type, int protocol) {
    int fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    if (fd < 0) {
      Die(absl::StrCat("socket(", domain, ", ", type, ", ", protocol, "): ", strerror(errno)), 1);
    }
    int size = 16 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
    return fd;
  }

  // The sockets of one backend's run, open from its first round to its end, so that a packet
  // that arrives late still counts, whichever round sent it.
  struct Sockets {
    std::vector<std::pair<int, int>> inputs;  // raw sockets in the host: fd, family
    int leaving = -1;                         // AF_PACKET in the host: what leaves it
    int send4 = -1, send6 = -1;               // the host's own packets
    int wire = -1;                            // AF_PACKET in the peers: arriving packets
  };

  void OpenSockets() {
    int prev = EnterNs("/run/netns/" + H());
    std::set<std::pair<int, int>> protos;  // what is delivered to the host, per family
    for (const Flow& f : flows_) {
      if (f.packet.out_interface.empty()) {
        protos.emplace(f.packet.family, f.packet.protocol);
      }
    }
    for (const auto& [family, proto] : protos) {
      int fd = Socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW, proto);
      int one = 1;
      if (family == 4) {
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
      } else {
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
      }
      sockets_.inputs.emplace_back(fd, family);
    }
    sockets_.leaving = Socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    sockets_.send4 = Socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    sockets_.send6 = Socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
    LeaveNs(prev);
    prev = EnterNs("/run/netns/" + P());
    sockets_.wire = Socket(AF_PACKET, SOCK_RAW, 0);
    LeaveNs(prev);
  }

  void CloseSockets() {
    for (const auto& [fd, family] : sockets_.inputs) {
      close(fd);
    }
    for (int fd : {sockets_.leaving, sockets_.send4, sockets_.send6, sockets_.wire}) {
      close(fd);
    }
    sockets_ = Sockets{};
  }

  void Send(const std::vector<size_t>& which) {
    int sent = 0;
    for (size_t i : which) {
      const Flow& f = flows_[i];
      const Packet& p = f.packet;
      const std::string ip = BuildPacket(f, static_cast<uint32_t>(i));
      if (!p.in_interface.empty()) {
        const int k = IfIndex(p.in_interface);
        std::string frame = MacBytes(Mac(0, k));
        frame += p.src_mac.has_value()
                     ? std::string(reinterpret_cast<const char*>(p.src_mac->octets.data()), 6)
                     : MacBytes(Mac(1, k));
        Add16(&frame, p.family == 4 ? ETH_P_IP : ETH_P_IPV6);
        frame += ip;
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = peer_index_[k];
        to.sll_halen = 6;
        std::memcpy(to.sll_addr, frame.data(), 6);
        if (sendto(sockets_.wire, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                   sizeof(to)) < 0) {
          Die(absl::StrCat(f.origin, ": send: ", strerror(errno)), 1);
        }
      } else {
        const int fd = p.family == 4 ? sockets_.send4 : sockets_.send6;
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, p.out_interface.c_str(),
                   static_cast<socklen_t>(p.out_interface.size()));
        uint32_t mark = p.mark;
        setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
        sockaddr_storage to{};
        socklen_t len;
        if (p.family == 4) {
          auto* a = reinterpret_cast<sockaddr_in*>(&to);
          a->sin_family = AF_INET;
          std::memcpy(&a->sin_addr, p.dst.addr.data(), 4);
          len = sizeof(*a);
        } else {
          auto* a = reinterpret_cast<sockaddr_in6*>(&to);
          a->sin6_family = AF_INET6;
          std::memcpy(&a->sin6_addr, p.dst.addr.data(), 16);
          len = sizeof(*a);
        }
        if (sendto(fd, ip.data(), ip.size(), 0, reinterpret_cast<sockaddr*>(&to), len) >= 0) {
          flows_[i].sent = 1;
        } else if (errno == EPERM) {
          flows_[i].sent = -1;  // netfilter dropped it in OUTPUT: a verdict, not an error
        } else {
          Die(absl::StrCat(f.origin, ": send from the host: ", strerror(errno)), 1);
        }
      }
      if (++sent % 64 == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

  static std::string MacBytes(const std::string& text) {
    unsigned int b[6];
    std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]);
    std::string out;
    for (unsigned int x : b) {
      out.push_back(static_cast<char>(x));
    }
    return out;
  }

  // Reads every packet the sockets hold and marks the flows they belong to; returns how many
  // packets it read.
  int Drain() {
    std::vector<Seen> seen;
    uint8_t buf[65536];
    for (const auto& [fd, family] : sockets_.inputs) {
      for (;;) {
        sockaddr_storage from{};
        iovec iov{buf, sizeof(buf)};
        alignas(cmsghdr) char control[256];
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof(from);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n < 0) {
          break;
        }
        Seen s;
        int ifindex = 0;
        std::string dst;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof(info));
            ifindex = info.ipi_ifindex;
          } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof(info));
            ifindex = static_cast<int>(info.ipi6_ifindex);
            dst = AddrText(6, reinterpret_cast<const uint8_t*>(&info.ipi6_addr));
          }
        }
        if (family == 4) {
          if (!ParseIp(buf, static_cast<size_t>(n), &s)) {
            continue;
          }
        } else {
          // IPv6 raw sockets give the payload only.
          s.family = 6;
          const auto* a = reinterpret_cast<sockaddr_in6*>(&from);
          s.src = AddrText(6, reinterpret_cast<const uint8_t*>(&a->sin6_addr));
          s.dst = dst;
          int proto = 0;
          socklen_t len = sizeof(proto);
          getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
          s.proto = proto;
          ParseL4(buf, static_cast<size_t>(n), &s);
        }
        s.kind = Seen::kDelivered;
        s.ifindex = ifindex;
        seen.push_back(s);
      }
    }
    int packets = static_cast<int>(seen.size());
    for (;;) {
      sockaddr_ll from{};
      socklen_t len = sizeof(from);
      ssize_t n =
          recvfrom(sockets_.leaving, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) {
        break;
      }
      ++packets;
      if (n < 14) {
        continue;
      }
      Seen s;
      if (ParseIp(buf + 14, static_cast<size_t>(n) - 14, &s)) {
        // Leaving the host, or entering it (before any hook: the frame reached the host).
        s.kind = from.sll_pkttype == PACKET_OUTGOING ? Seen::kLeft : Seen::kArrived;
        s.ifindex = from.sll_ifindex;
        seen.push_back(s);
      }
    }
    // The flow of each packet: its tag (the flow's index; SCTP has none and is found by its
    // ports, which are its own), addresses, protocol, ports or ICMP type, and interface.
    for (const Seen& s : seen) {
      for (size_t i = 0; i < flows_.size(); ++i) {
        if (s.tag >= 0 && s.tag != static_cast<int64_t>(i)) {
          continue;
        }
        Flow& f = flows_[i];
        const Packet& p = f.packet;
        if (s.family != p.family || s.proto != p.protocol || s.src != p.src.ToMemberString() ||
            s.dst != p.dst.ToMemberString()) {
          continue;
        }
        if (ProtocolHasPorts(p.protocol) && (s.sport != p.src_port || s.dport != p.dst_port)) {
          continue;
        }
        if (IsIcmp(p) && (s.icmp_type != p.icmp_type || s.icmp_code != p.icmp_code)) {
          continue;
        }
        if (p.protocol != kProtoSctp && s.tag != static_cast<int64_t>(i)) {
          continue;
        }
        auto it = host_index_.find(s.ifindex);
        if (it == host_index_.end()) {
          continue;
        }
        if (s.kind == Seen::kArrived && it->second == p.in_interface) {
          f.arrived = true;
        } else if (s.kind == Seen::kDelivered && p.out_interface.empty() &&
                   it->second == p.in_interface) {
          f.delivered = true;
        } else if (s.kind == Seen::kLeft && it->second == p.out_interface) {
          f.delivered = true;
        }
      }
    }
    return packets;
  }

  // Drains until the sockets have been quiet for a while: the kernel handles a veth's
  // packets in softirq, which a busy machine can put off.
  void Settle(int quiet_ms) {
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const auto now = std::chrono::steady_clock::now();
      if (Drain() > 0) {
        last = now;
      } else if (now - last >= std::chrono::milliseconds(quiet_ms) ||
                 now - start >= std::chrono::seconds(2)) {
        return;
      }
    }
  }

  // For NEW flows: an accepted, tracked flow has a conntrack entry with its tuple; an
  // untracked or dropped one none.
  void CheckConntrack(const std::vector<size_t>& which) {
    std::string table, text;
    for (const char* family : {"ipv4", "ipv6"}) {
      RunCommand(InNs(H(), {"conntrack", "-L", "-f", family}), "", &text, /*stderr_too=*/false);
      table += text;
    }
    absl::flat_hash_set<std::string> entries;
    for (absl::string_view line : absl::StrSplit(table, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (words.size() < 3) {
        continue;
      }
      std::string key = absl::StrCat(words[1]);
      std::set<std::string> fields_seen;
      for (absl::string_view w : words) {
        const size_t eq = w.find('=');
        if (eq == absl::string_view::npos) {
          continue;
        }
        std::string name(w.substr(0, eq));
        if (!fields_seen.insert(name).second) {
          break;  // the reply tuple starts: keep the original one only
        }
        if (name == "src" || name == "dst" || name == "sport" || name == "dport" ||
            name == "type" || name == "code" || name == "id") {
          absl::StrAppend(&key, " ", w);
        }
      }
      entries.insert(key);
    }
    for (size_t i : which) {
      Flow& f = flows_[i];
      const Packet& p = f.packet;
      if (f.realize != Realize::kNew) {
        continue;
      }
      std::string key = absl::StrCat(p.protocol, " src=", p.src.ToMemberString(),
                                     " dst=", p.dst.ToMemberString());
      if (ProtocolHasPorts(p.protocol)) {
        absl::StrAppend(&key, " sport=", p.src_port, " dport=", p.dst_port);
      }
      if (IsIcmp(p)) {
        absl::StrAppend(&key, " type=", p.icmp_type, " code=", p.icmp_code, " id=", f.icmp_id);
      }
      f.ct_entry = entries.contains(key);
    }
  }

  int Report(const std::string& backend) {
    Counts c;
    std::string failures;
    for (size_t i = 0; i < flows_.size(); ++i) {
      const Flow& f = flows_[i];
      const Packet& p = f.packet;
      const bool rules = backend != "none";
      const bool accepted = !rules || f.verdict == Verdict::kAccept;
      const bool untracked = rules && f.untracked;
      bool ok = accepted == f.delivered;
      std::string why;
      if (!ok) {
        why = absl::StrCat("the kernel ", f.delivered ? "delivered" : "dropped", " it");
      }
      // No verdict without evidence: an arriving packet must have reached the host, and a
      // packet the host sent must have left it exactly when sendto said the rules let it.
      if (!p.in_interface.empty() && !f.arrived) {
        ok = false;
        why = "the packet never reached the host: no verdict";
      } else if (p.in_interface.empty() && (f.sent == 1) != f.delivered) {
        ok = false;
        why = absl::StrCat("sendto ", f.sent == 1 ? "succeeded" : "failed", " but the packet ",
                           f.delivered ? "left" : "did not leave", " the host");
      }
      // Conntrack runs in a namespace for a family only when a rule of that family uses it:
      // without rules (or for a family the model leaves alone) there is nothing to check.
      if (ok && rules && desired_.ForFamily(p.family) != nullptr && f.ct_entry.has_value()) {
        const bool want = accepted && !untracked;
        if (*f.ct_entry != want) {
          ok = false;
          why = absl::StrCat("conntrack ", *f.ct_entry ? "has" : "has no", " entry for it");
        }
        ++c.ct_checked;
      }
      ++c.flows;
      c.resent += f.resent ? 1 : 0;
      ++c.by[absl::StrCat("v", p.family)];
      ++c.by[IsIcmp(p) ? "icmp" : std::string(ProtocolSaveName(p.protocol))];
      ++c.by[absl::AsciiStrToLower(CtStateName(p.ct_state))];
      ++c.by[accepted ? "accepted" : "dropped"];
      if (untracked && accepted) {
        ++c.by["untracked-accepted"];
      }
      ++c.by[p.in_interface.empty() ? "output" : p.out_interface.empty() ? "input" : "forward"];
      if (ok) {
        ++c.agree;
        continue;
      }
      ++c.disagree;
      std::string text;
      absl::StatusOr<TraceResult> trace = sims_[p.family == 6]->Trace(p);
      AppendTraceText(*sims_[p.family == 6], p, *trace, &text);
      std::string spec;
      AppendPacket(p, &spec);
      absl::StrAppend(&failures, "DISAGREE (", backend, ") ", f.origin, ": ", spec,
                      "\n  expected: ", accepted ? "ACCEPT" : "DROP", untracked ? " untracked" : "",
                      rules ? " (the simulator)" : " (no rules)", "; ", why, "\n");
      for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
        absl::StrAppend(&failures, "    ", line, "\n");
      }
    }
    std::vector<std::string> by;
    for (const auto& [k, v] : c.by) {
      by.push_back(absl::StrCat(k, "=", v));
    }
    std::printf(
        "%s%s: %d flows, %d agree, %d disagree; conntrack checked %d; resent %d; "
        "rounds %d; skipped %zu [%s]\n",
        failures.c_str(), backend.c_str(), c.flows, c.agree, c.disagree, c.ct_checked, c.resent,
        rounds_, skipped_.size(), absl::StrJoin(by, " ").c_str());
    if (o_.verbose) {
      for (const std::string& s : skipped_) {
        std::printf("  skipped %s\n", s.c_str());
      }
    }
    std::fflush(stdout);
    return c.disagree;
  }

  Options o_;
  Model model_;
  Desired desired_;
  std::unique_ptr<PacketSimulator> sims_[2];
  std::vector<Flow> flows_;
  std::vector<std::string> skipped_;
  std::vector<std::string> ifaces_;
  std::vector<int> peer_index_;
  std::map<int, std::string> host_index_;
  int rounds_ = 0;
  bool with_rules_ = true;
  Sockets sockets_;
};

int Main(int argc, char** argv) {
  if (argc < 2) {
    Die("usage: kernel_diff model --seed N | run --model M [--flows F] [--random-flows N] "
        "[--seed S] --netns-prefix P --backends nft,legacy --work DIR");
  }
  const std::string mode = argv[1];
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--verbose") {
      flags[a] = "1";
    } else if (absl::StartsWith(a, "--") && i + 1 < argc) {
      flags[a] = argv[++i];
    } else {
      Die("unexpected argument " + a);
    }
  }
  auto flag = [&](const std::string& name, const std::string& fallback = "") {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  };
  uint64_t seed = 1;
  if (!absl::SimpleAtoi(flag("--seed", "1"), &seed)) {
    Die("--seed: not a number");
  }
  if (mode == "model") {
    // Models that load: a rare draw the loader refuses is replaced by the next seed's.
    for (uint64_t s = seed;; s += 1000003) {
      std::string json = RandomModel(s);
      absl::StatusOr<Model> m = LoadModel(json);
      if (m.ok()) {
        std::fwrite(json.data(), 1, json.size(), stdout);
        return 0;
      }
    }
  }
  if (mode != "run") {
    Die("unknown mode " + mode);
  }
  Options o;
  o.model_path = flag("--model");
  o.flows_path = flag("--flows");
  o.prefix = flag("--netns-prefix");
  o.work = flag("--work");
  o.seed = seed;
  o.verbose = flags.count("--verbose") > 0;
  if (!absl::SimpleAtoi(flag("--random-flows", "0"), &o.random_flows)) {
    Die("--random-flows: not a number");
  }
  o.backends = absl::StrSplit(flag("--backends", "nft,legacy"), ',', absl::SkipEmpty());
  if (o.model_path.empty() || o.prefix.empty() || o.work.empty()) {
    Die("run needs --model, --netns-prefix and --work");
  }
  return Runner(std::move(o)).Run();
}

}  // namespace
}  // namespace fiptgen

int main(int argc, char** argv) { return fiptgen::Main(argc, argv); }
