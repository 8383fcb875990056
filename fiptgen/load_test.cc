#include "fiptgen/load.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "fiptgen/generate.h"
#include "fiptgen/render.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

std::string Errors(absl::string_view json) {
  absl::StatusOr<Model> m = LoadModel(json);
  return m.ok() ? "OK" : std::string(m.status().message());
}

TEST(LoadModelTest, DefaultsWhenConfigIsMissing) {
  absl::StatusOr<Model> m = LoadModel("{}");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->config.interface_prefix, "tap");
  EXPECT_EQ(m->config.chain_prefix, "felix-");
  EXPECT_EQ(m->config.mark_accept, 0x1000000u);
  EXPECT_EQ(m->config.mark_from_endpoint, 0x4000000u);
  ASSERT_TRUE(m->config.metadata.has_value());
  EXPECT_EQ(m->config.metadata->addr.ToString(), "127.0.0.1/32");
  EXPECT_EQ(m->config.metadata->port, 8775);
  EXPECT_EQ(m->config.failsafe_inbound.size(), 1u);
  EXPECT_EQ(m->config.failsafe_outbound.size(), 4u);
  EXPECT_EQ(m->config.families, (std::vector<int>{4, 6}));
}

// Error messages are part of the interface: checked word for word (ninja style).
TEST(LoadModelTest, ErrorMessages) {
  const std::string w = R"({"endpoints": [{"id":"w","kind":"workload","interface":"tapw")";
  struct Case {
    std::string json;
    std::string want;
  } cases[] = {
      {"{", "line 1, column 2: invalid JSON: Missing a name for object member."},
      {"[]", "model: expected an object, got an array"},
      {R"({"x": 1})", "model.x: unknown field"},
      {R"({"config": {"families": [4, 4, 5]}})", "config.families[2]: family must be 4 or 6"},
      {R"({"config": {"mark_accept": "0x3"}})",
       "config.mark_accept: \"0x3\" is not a single-bit mark in hex (e.g. \"0x1000000\")"},
      {R"({"config": {"mark_accept": "0x4000000"}})",
       "config.mark_from_endpoint: must differ from config.mark_accept"},
      {R"({"config": {"failsafe_inbound": ["tcp:70000"]}})",
       "config.failsafe_inbound[0]: \"tcp:70000\" is not \"tcp:PORT\", \"udp:PORT\" or "
       "\"sctp:PORT\""},
      {R"({"config": {"chain_prefix": "felix-long-"}})",
       "config.chain_prefix: \"felix-long-\" must be 1-7 characters of [A-Za-z0-9_-]"},
      {R"({"endpoints": [{"id": "w", "kind": "workload", "interface": "tapw", "mac": "zz"}]})",
       "endpoints[0].mac: \"zz\" is not a MAC address"},
      {R"({"endpoints": [{"id": "w", "kind": "workload"}]})", "endpoints[0].interface: missing"},
      {R"({"endpoints": [{"id": "w", "kind": "workload", "interface": "eth0"}]})",
       "endpoints[0].interface: a workload interface must be interface_prefix \"tap\" and "
       "more, not \"eth0\""},
      {R"({"endpoints": [{"id": "h", "kind": "host", "interface": "tap0"}]})",
       "endpoints[0].interface: a host interface must not start with interface_prefix "
       "\"tap\""},
      {R"({"endpoints": [{"id": "h", "kind": "host", "interface": "eth+"}]})",
       "endpoints[0].interface: \"eth+\" may not end with '+' (an iptables wildcard)"},
      {R"({"endpoints": [{"id": "h", "kind": "host", "interface": "a-very-long-name0"}]})",
       "endpoints[0].interface: \"a-very-long-name0\" must be 1-15 characters"},
      {w + R"(, "profile_ids": ["p", "p"]}], "profiles": {"p": {}}})",
       "endpoints[0].profile_ids[1]: profile \"p\" is listed twice"},
      {w + R"(, "profile_ids": ["nope"]}]})", "endpoints[0].profile_ids[0]: no profile \"nope\""},
      {w + R"(, "untracked_profile_ids": []}]})", "OK"},
      {w + R"(, "ipv4_nets": ["fd5a::1"]}]})",
       "endpoints[0].ipv4_nets[0]: \"fd5a::1\" is not an IPv4 CIDR (not an IPv4 address)"},
      // An endpoint owns the addresses it lists: host bits set are refused, not widened.
      {w + R"(, "ipv4_nets": ["10.10.1.0/24", "10.10.1.11/24"]}]})",
       "endpoints[0].ipv4_nets[1]: \"10.10.1.11/24\" has host bits set: an endpoint owns the "
       "addresses it lists; did you mean \"10.10.1.11/32\" (the address) or \"10.10.1.0/24\" "
       "(the network)?"},
      {w + R"(, "ipv6_nets": ["FD5A:f1e1::1:1/64"]}]})",
       "endpoints[0].ipv6_nets[0]: \"fd5a:f1e1::1:1/64\" has host bits set: an endpoint owns the "
       "addresses it lists; did you mean \"fd5a:f1e1::1:1/128\" (the address) or "
       "\"fd5a:f1e1::/64\" (the network)?"},
      {w + R"(, "ipv4_nets": ["10.10.1.0/24", "10.10.2.7"], "ipv6_nets": ["fd5a::/16"]}]})", "OK"},
      {R"({"profiles": {"web": {"inbound_rules": [{}, {}, {"protocol": "tcp",
          "dst_ports": [80, 70000]}]}}})",
       "profiles[\"web\"].inbound_rules[2].dst_ports: port 70000 out of range"},
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": "tcp", "dst_ports": ["7:7"]}]}}})",
       "profiles[\"p\"].inbound_rules[0].dst_ports: range \"7:7\" must have lo < hi (the kernel "
       "refuses it)"},
      // The same two, and a range's port out of range, where json::Reader::ReadArray reads
      // "lo:hi" inline (16 bytes or more left from its quote).
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": "tcp", "dst_ports": ["7:7", 1, 2]}]}}})",
       "profiles[\"p\"].inbound_rules[0].dst_ports: range \"7:7\" must have lo < hi (the kernel "
       "refuses it)"},
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": "tcp", "dst_ports": ["99:70000", 1]}]}}})",
       "profiles[\"p\"].inbound_rules[0].dst_ports: port 70000 out of range"},
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": "tcp", "dst_ports": ["99:7000"]}]}}})",
       "OK"},
      // An empty list is an error of its own; a list whose every port has an error is not.
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": "tcp", "dst_ports": [ ]}]}}})",
       "profiles[\"p\"].inbound_rules[0].dst_ports: expected a non-empty array of ports and "
       "\"lo:hi\" ranges"},
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": "tcp", "dst_ports": [70000]}]}}})",
       "profiles[\"p\"].inbound_rules[0].dst_ports: port 70000 out of range"},
      {R"({"profiles": {"p": {"inbound_rules": [{"dst_ports": [80]}]}}})",
       "profiles[\"p\"].inbound_rules[0].dst_ports: needs protocol tcp, udp, sctp or udplite"},
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": "icmp", "icmp_type": 255}]}}})",
       "profiles[\"p\"].inbound_rules[0].icmp_type: must be 0-254 (the kernel reads type 255 "
       "as \"any type\")"},
      {R"({"profiles": {"p": {"inbound_rules": [{"icmp_code": 1}]}}})",
       "profiles[\"p\"].inbound_rules[0].icmp_code: needs icmp_type"},
      {R"({"profiles": {"p": {"inbound_rules": [{"!src_net": "0.0.0.0/0"}]}}})",
       "profiles[\"p\"].inbound_rules[0].!src_net: a negated /0 matches nothing (and nft "
       "refuses it); remove the rule instead"},
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": "tcp", "!protocol": "udp"}]}}})",
       "profiles[\"p\"].inbound_rules[0].protocol: cannot be combined with \"!protocol\""},
      {R"({"profiles": {"p": {"inbound_rules": [{"src_tag": "ghost"}]}}})",
       "profiles[\"p\"].inbound_rules[0].src_tag: no profile has tag \"ghost\""},
      {R"({"profiles": {"p": {"inbound_rules": [{"!dst_ipset": "ghost"}]}}})",
       "profiles[\"p\"].inbound_rules[0].!dst_ipset: no ipset named \"ghost\""},
      {R"({"profiles": {"p": {"inbound_rules": [{"action": "log", "log_prefix": ""}]}}})",
       "profiles[\"p\"].inbound_rules[0].log_prefix: \"\" must be 1-29 printable ASCII "
       "characters without quotes or backslash"},
      {R"({"profiles": {"p": {"inbound_rules": [{"log_prefix": "x"}]}}})",
       "profiles[\"p\"].inbound_rules[0].log_prefix: only allowed with action \"log\""},
      {R"({"profiles": {"p": {"inbound_rules": [{"protocol": 1.5}]}}})",
       "profiles[\"p\"].inbound_rules[0].protocol: expected an integer, got a fraction or "
       "huge number"},
      {R"({"ipsets": [{"name": "s", "family": 4, "type": "hash:ip",)"
       R"( "members": ["198.18.0.0/16"]}]})",
       "ipsets[0].members[0]: \"198.18.0.0/16\" is a network; a hash:ip set holds addresses"},
      {R"({"ipsets": [{"name": "s", "family": 4}, {"name": "s", "family": 6}]})",
       "ipsets[1].name: \"s\" is also ipsets[0].name"},
      // Tag "web" and explicit set "v4-web" both want the set felix-v4-web.
      {R"({"profiles": {"p": {"tags": ["web"]}}, "ipsets": [{"name": "v4-web", "family": 4}]})",
       "ipsets[0].name: ipset name \"felix-v4-web\" is also made by tag \"web\""},
      // Workload tapeth0 and host eth0 both want felix-from-eth0.
      {R"({"endpoints": [{"id": "a", "kind": "workload", "interface": "tapeth0"},
                         {"id": "b", "kind": "host", "interface": "eth0"}]})",
       "endpoints[1].interface: chain name \"felix-from-eth0\" is also made by endpoint \"a\" "
       "(interface \"tapeth0\")"},
      {R"({"endpoints": [{"id": "a", "kind": "workload", "interface": "tapa"},
                         {"id": "b", "kind": "workload", "interface": "tapa"}]})",
       "endpoints[1].interface: \"tapa\" is also the interface of endpoint \"a\""},
      {R"({"endpoints": [{"id": "a", "kind": "workload", "interface": "tapa"},
                         {"id": "a", "kind": "workload", "interface": "tapb"}]})",
       "endpoints[1].id: \"a\" is also endpoints[0].id"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Errors(c.json), c.want) << "input: " << c.json;
  }
}

// A profile's and a rule's errors come in the order of their fields, whatever the
// document's order: first what is wrong with the keys (in document order), then each
// field's own errors; an exclusive pair is one error, whatever its values; a repeated or
// unknown key alone leaves the rule to the model-wide checks.
TEST(LoadModelTest, ErrorsFollowTheFieldsNotTheDocument) {
  const std::string json = R"({"profiles": {"p": {
      "outbound_rules": [{"!protocol": 1.5, "protocol": "tcp"}],
      "x": 1,
      "inbound_rules": [{"dst_ports": [70000, "a"], "ip_version": 5, "log_prefix": 7,
                         "y": 2, "src_tag": [], "action": "maybe", "y": 3}],
      "tags": [1],
      "inbound_rules": 5},
    "q": {"inbound_rules": [{"src_tag": "ghost", "z": 1}]}}})";
  const std::string p = "profiles[\"p\"]";
  EXPECT_EQ(Errors(json),
            absl::StrCat(p, ".x: unknown field\n",                          //
                         p, ": duplicate key \"inbound_rules\"\n",          //
                         p, ".tags[0]: expected a string, got a number\n",  //
                         p, ".inbound_rules[0].y: unknown field\n",         //
                         p, ".inbound_rules[0]: duplicate key \"y\"\n",     //
                         p,
                         ".inbound_rules[0].action: \"maybe\" is not one of "
                         "\"allow\", \"deny\", \"log\"\n",
                         p,
                         ".inbound_rules[0].log_prefix: expected a string, got "
                         "a number\n",
                         p,
                         ".inbound_rules[0].src_tag: expected a string, got an "
                         "array\n",
                         p, ".inbound_rules[0].dst_ports: port 70000 out of range\n", p,
                         ".inbound_rules[0].dst_ports: \"a\" is not a port "
                         "range \"lo:hi\"\n",
                         p, ".inbound_rules[0].ip_version: must be 4 or 6\n",  //
                         p,
                         ".outbound_rules[0].protocol: cannot be combined with "
                         "\"!protocol\"\n",
                         "profiles[\"q\"].inbound_rules[0].z: unknown field\n",
                         "profiles[\"q\"].inbound_rules[0].src_tag: no profile has "
                         "tag \"ghost\""));
}

// The model-wide checks of rules are made as each rule is read, in the document's order,
// and reported in ModelErrors' order: profiles by id, inbound rules before outbound ones,
// each rule's own errors before those of its set matches.
TEST(LoadModelTest, RuleChecksFollowTheProfilesNotTheDocument) {
  const std::string json = R"({"profiles": {
    "z": {"outbound_rules": [{"src_tag": "ghost1", "dst_ports": [80]},
                             {"action": "log", "log_prefix": "", "dst_ipset": "nope"}],
          "inbound_rules": [{"icmp_code": 3, "!dst_tag": "ghost2"}]},
    "a": {"inbound_rules": [{"!src_net": "0.0.0.0/0", "src_ipset": "nope"}]}}})";
  const std::string a = "profiles[\"a\"]", z = "profiles[\"z\"]";
  EXPECT_EQ(Errors(json),
            absl::StrCat(a,
                         ".inbound_rules[0].!src_net: a negated /0 matches nothing (and nft "
                         "refuses it); remove the rule instead\n",
                         a, ".inbound_rules[0].src_ipset: no ipset named \"nope\"\n",  //
                         z, ".inbound_rules[0].icmp_code: needs icmp_type\n",          //
                         z, ".inbound_rules[0].!dst_tag: no profile has tag \"ghost2\"\n", z,
                         ".outbound_rules[0].dst_ports: needs protocol tcp, udp, sctp or "
                         "udplite\n",
                         z, ".outbound_rules[0].src_tag: no profile has tag \"ghost1\"\n", z,
                         ".outbound_rules[1].log_prefix: \"\" must be 1-29 printable ASCII "
                         "characters without quotes or backslash\n",
                         z, ".outbound_rules[1].dst_ipset: no ipset named \"nope\""));
}

// Port lists of every length up to 80 (SortPortKeys: insertion up to 24, std::sort past
// that), in random order with repeats: each is kept sorted, each port once.
TEST(LoadModelTest, PortListsSortedAndUnique) {
  std::mt19937 rng(11);
  for (size_t n = 1; n <= 80; ++n) {
    for (int round = 0; round < 20; ++round) {
      std::vector<PortRange> want;
      std::string ports;
      for (size_t i = 0; i < n; ++i) {
        const uint16_t lo = static_cast<uint16_t>(1 + rng() % (round % 2 == 0 ? 40 : 65000));
        const uint16_t hi = rng() % 3 == 0 ? static_cast<uint16_t>(lo + 1 + rng() % 50) : lo;
        want.push_back({lo, hi});
        absl::StrAppend(&ports, i > 0 ? ", " : "",
                        lo == hi ? absl::StrCat(lo) : absl::StrCat("\"", lo, ":", hi, "\""));
      }
      std::sort(want.begin(), want.end());
      want.erase(std::unique(want.begin(), want.end()), want.end());
      absl::StatusOr<Model> m = LoadModel(absl::StrCat(
          R"({"profiles": {"p": {"inbound_rules": [{"protocol": "tcp", "dst_ports": [)", ports,
          "]}]}}}"));
      ASSERT_TRUE(m.ok()) << m.status();
      const absl::Span<const PortRange> got = m->profiles.at("p").inbound_rules[0].dst_ports();
      ASSERT_TRUE(got == absl::MakeConstSpan(want)) << ports;
    }
  }
}

// Only endpoint nets refuse host bits: rule nets and ipset members are networks to match,
// written with the host bits cleared, as iptables-save and ipset save print them.
TEST(LoadModelTest, RuleNetsAndSetMembersClearHostBits) {
  absl::StatusOr<Model> m = LoadModel(R"({
      "profiles": {"p": {"inbound_rules": [{"src_net": "10.10.1.11/24",
                                            "!dst_net": "fd5a::1:1/64"}]}},
      "ipsets": [{"name": "s", "family": 4, "members": ["198.19.0.7/16"]}]})");
  ASSERT_TRUE(m.ok()) << m.status();
  const PolicyRule& r = m->profiles.at("p").inbound_rules[0];
  EXPECT_EQ(r.src_net->value.ToString(), "10.10.1.0/24");
  EXPECT_EQ(r.dst_net->value.ToString(), "fd5a::/64");
  EXPECT_EQ(m->ipsets[0].members[0].ToString(), "198.19.0.0/16");
}

TEST(LoadModelTest, ReportsEveryErrorOneALine) {
  std::string got = Errors(R"({"config": {"families": "4", "mark_accept": 1},
      "endpoints": [{"id": "w", "kind": "pod", "interface": "tapw", "mac": "x"}],
      "profiles": {"p": {"inbound_rules": [{"action": "maybe"}]}}})");
  EXPECT_EQ(got,
            "config.families: expected a non-empty array holding 4, 6 or both\n"
            "config.mark_accept: expected a string, got a number\n"
            "profiles[\"p\"].inbound_rules[0].action: \"maybe\" is not one of \"allow\", "
            "\"deny\", \"log\"\n"
            "endpoints[0].kind: \"pod\" is not \"workload\" or \"host\"\n"
            "endpoints[0].mac: \"x\" is not a MAC address");
}

TEST(LoadModelTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(Errors(deep), "model: expected an object, got an array");
}

// No string the user controls may end a line of restore text early. Every string field
// gets a newline-and-rule payload and a quote payload; the model must either be refused or
// produce output in which every line is one of ours.
TEST(LoadModelTest, NothingUserSuppliedInjectsALine) {
  const std::string base = R"({
    "config": {"interface_prefix": "@P", "chain_prefix": "@C", "ipset_prefix": "@I",
               "mark_accept": "@MA", "metadata": {"addr": "@MD"},
               "endpoint_to_host_action": "@EA", "failsafe_inbound": ["@FI"]},
    "endpoints": [{"id": "@ID", "kind": "@K", "interface": "@IF", "mac": "@MAC",
                   "ipv4_nets": ["@N4"], "ipv6_nets": ["@N6"], "profile_ids": ["@PR"]},
                  {"id": "h", "kind": "host", "interface": "@HIF",
                   "untracked_profile_ids": ["@PR"]}],
    "profiles": {"@PR": {"tags": ["@TG"], "inbound_rules": [
        {"action": "log", "log_prefix": "@LP", "protocol": "@PROTO"},
        {"src_net": "@SN", "!dst_net": "@DN", "src_tag": "@TG", "!dst_ipset": "@SET"},
        {"protocol": "tcp", "dst_ports": ["@PORT"]}]}},
    "ipsets": [{"name": "@SET", "family": 4, "type": "@ST", "members": ["@MEM"]}]})";
  const std::vector<std::pair<std::string, std::string>> good = {{"@P", "tap"},
                                                                 {"@C", "felix-"},
                                                                 {"@I", "felix-"},
                                                                 {"@MA", "0x1000000"},
                                                                 {"@MD", "127.0.0.1"},
                                                                 {"@EA", "DROP"},
                                                                 {"@FI", "tcp:22"},
                                                                 {"@ID", "w1"},
                                                                 {"@K", "workload"},
                                                                 {"@IF", "tapw1"},
                                                                 {"@MAC", "02:00:00:00:00:01"},
                                                                 {"@N4", "198.18.1.1"},
                                                                 {"@N6", "fd5a:f1e1::1"},
                                                                 {"@PR", "web"},
                                                                 {"@HIF", "eth0"},
                                                                 {"@TG", "web"},
                                                                 {"@LP", "pfx"},
                                                                 {"@PROTO", "tcp"},
                                                                 {"@SN", "198.18.0.0/16"},
                                                                 {"@DN", "198.19.0.0/16"},
                                                                 {"@SET", "blocklist"},
                                                                 {"@PORT", "80:90"},
                                                                 {"@ST", "hash:net"},
                                                                 {"@MEM", "198.19.0.0/16"}};
  {
    std::vector<std::pair<std::string, std::string>> subs(good.begin(), good.end());
    ASSERT_EQ(Errors(absl::StrReplaceAll(base, subs)), "OK") << "the clean model must load";
  }
  const std::string payloads[] = {"x\\n-A INPUT -j ACCEPT",
                                  "x\\\" -j ACCEPT \\\"",
                                  "x\\r\\nCOMMIT",
                                  "x' -j ACCEPT",
                                  "x\\u0000y",
                                  "x y"};
  for (size_t i = 0; i < good.size(); ++i) {
    for (const std::string& payload : payloads) {
      std::vector<std::pair<std::string, std::string>> subs(good.begin(), good.end());
      subs[i].second = good[i].second + payload;
      std::string json = absl::StrReplaceAll(base, subs);
      absl::StatusOr<Model> m = LoadModel(json);
      std::string context = absl::StrCat(good[i].first, " += ", payload);
      if (!m.ok()) {
        // The error itself must stay one error a line, each starting with a path.
        for (absl::string_view line : absl::StrSplit(m.status().message(), '\n')) {
          EXPECT_FALSE(line.empty()) << context;
          EXPECT_TRUE(line.find(": ") != absl::string_view::npos) << context << ": " << line;
        }
        continue;
      }
      RestoreFiles files = RenderFiles(Generate(*m));
      for (const std::string* text : {&files.iptables, &files.ip6tables, &files.ipsets}) {
        // The load note, on top (RenderRestoreFile) or at the end (RenderIpsetFile), holds no
        // user data.
        absl::string_view body = *text;
        while (absl::StartsWith(body, "# ")) {
          size_t end = body.find('\n');
          body.remove_prefix(end == absl::string_view::npos ? body.size() : end + 1);
        }
        for (size_t last; (last = body.rfind('\n', body.size() - 2)) != absl::string_view::npos &&
                          absl::StartsWith(body.substr(last + 1), "# ");) {
          body.remove_suffix(body.size() - last - 1);
        }
        for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
          bool ours = absl::StartsWith(line, "-A felix-") || absl::StartsWith(line, ":felix-") ||
                      absl::StartsWith(line, "-I ") || line == "*raw" || line == "*filter" ||
                      line == "COMMIT" || absl::StartsWith(line, "create felix-") ||
                      absl::StartsWith(line, "add felix-");
          EXPECT_TRUE(ours) << context << " produced line: " << line;
          EXPECT_EQ(line.find('\r'), absl::string_view::npos) << context;
          EXPECT_EQ(line.find('\0'), absl::string_view::npos) << context;
        }
      }
    }
  }
}

}  // namespace
}  // namespace fiptgen
