#include "fiptgen/generate.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "fiptgen/load.h"
#include "fiptgen/render.h"
#include "fiptgen/validate.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

Desired MustGenerate(absl::string_view json) {
  absl::StatusOr<Model> m = LoadModel(json);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? Generate(*m) : Desired{};
}

const Chain* FindChain(const Ruleset& rs, absl::string_view table, absl::string_view name) {
  for (const Table& t : rs.tables) {
    if (t.name != table) {
      continue;
    }
    for (const Chain& c : t.chains) {
      if (c.name() == name) {
        return &c;
      }
    }
  }
  return nullptr;
}

TEST(GenerateTest, MultiportChunksCountRangesAsTwo) {
  // 13 single ports + one range = 15 slots: one rule. One more port: two rules.
  Desired d = MustGenerate(R"({"config": {"families": [4]},
    "endpoints": [{"id": "w", "kind": "workload", "interface": "tapw", "profile_ids": ["p"]}],
    "profiles": {"p": {"inbound_rules": [
      {"protocol": "tcp", "dst_ports": [1,2,3,4,5,6,7,8,9,10,11,12,13,"100:200"]},
      {"protocol": "tcp", "dst_ports": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,"100:200"]}]}}})");
  const Chain* c = FindChain(d.rulesets[0], "filter", "felix-p-p-i");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->body(),
            "-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,100:200 "
            "-j MARK --set-xmark 0x1000000/0x1000000\n"
            "-m mark --mark 0x1000000/0x1000000 -j RETURN\n"
            "-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14 "
            "-j MARK --set-xmark 0x1000000/0x1000000\n"
            "-p tcp -m multiport --dports 100:200 -j MARK --set-xmark 0x1000000/0x1000000\n"
            "-m mark --mark 0x1000000/0x1000000 -j RETURN\n");
}

TEST(GenerateTest, OnlyUsedThingsAreEmitted) {
  Desired d = MustGenerate(R"({"config": {"families": [4]},
    "endpoints": [{"id": "w", "kind": "workload", "interface": "tapw", "profile_ids": ["used"]}],
    "profiles": {"used": {"tags": ["t"], "inbound_rules": [{"src_ipset": "s"}]},
                 "unused": {"tags": ["u"], "inbound_rules": [{"src_tag": "u"}, {"src_tag": "t"}]}},
    "ipsets": [{"name": "s", "family": 4}, {"name": "orphan", "family": 4}]})");
  EXPECT_NE(FindChain(d.rulesets[0], "filter", "felix-p-used-i"), nullptr);
  EXPECT_EQ(FindChain(d.rulesets[0], "filter", "felix-p-unused-i"), nullptr);
  // No host endpoint: no failsafe chains, no raw endpoint chains.
  EXPECT_EQ(FindChain(d.rulesets[0], "filter", "felix-FAILSAFE-IN"), nullptr);
  EXPECT_EQ(FindChain(d.rulesets[0], "raw", "felix-FAILSAFE-IN"), nullptr);
  ASSERT_EQ(d.ipsets.size(), 1u);
  EXPECT_EQ(d.ipsets[0].name, "felix-s");
}

TEST(GenerateTest, ModelBuiltInCodeIsCheckedByValidateModel) {
  // An agent that skips JSON still cannot smuggle a line in through an interface name.
  Model m;
  Endpoint e;
  e.id = "w";
  e.interface = "tapw\n-A INPUT -j ACCEPT";
  m.endpoints.push_back(e);
  absl::Status s = ValidateModel(m);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StartsWith(s.message(), "endpoints[0].interface: ")) << s.message();
}

// Generating one family at a time gives each family's part of the whole: its ruleset, and
// the sets its rules name (sets of that family), which together are every set.
TEST(GenerateTest, OneFamilyAtATimeIsThePartOfTheWhole) {
  absl::StatusOr<Model> m = LoadModel(R"({
    "endpoints": [{"id": "w", "kind": "workload", "interface": "tapw", "profile_ids": ["p"],
                   "ipv4_nets": ["198.18.0.1/32"], "ipv6_nets": ["fd5a::1/128"]}],
    "profiles": {"p": {"tags": ["web"], "inbound_rules": [
      {"protocol": "tcp", "dst_ports": [80], "src_tag": "web"},
      {"action": "deny", "src_ipset": "bad4"}, {"action": "deny", "src_ipset": "bad6"},
      {"action": "log", "src_net": "198.19.0.0/16"}]}},
    "ipsets": [{"name": "bad4", "family": 4, "members": ["198.19.1.0/24"]},
               {"name": "bad6", "family": 6, "members": ["fd5a:1::/64"]}]})");
  ASSERT_TRUE(m.ok()) << m.status();
  const Desired whole = Generate(*m);
  std::vector<IpSetSpec> sets;
  for (int family : {4, 6}) {
    const Desired part = Generate(*m, {family});
    ASSERT_EQ(part.rulesets.size(), 1u) << family;
    std::string want, got;
    RenderRestore(*whole.ForFamily(family), &want);
    RenderRestore(part.rulesets[0], &got);
    EXPECT_EQ(got, want) << family;
    for (const IpSetSpec& s : part.ipsets) {
      EXPECT_EQ(s.family, family) << s.name;
      sets.push_back(s);
    }
    std::string alone;
    RenderRestore(GenerateRuleset(*m, family), &alone);
    EXPECT_EQ(alone, want) << family;
  }
  std::sort(sets.begin(), sets.end(),
            [](const IpSetSpec& a, const IpSetSpec& b) { return a.name < b.name; });
  EXPECT_EQ(sets, whole.ipsets);
  EXPECT_EQ(whole.ipsets.size(), 4u);  // felix-bad4, felix-bad6, felix-v4-web, felix-v6-web
}

// GenerateEachFamily hands over each enabled family's Generate(model, {family}), 4 then 6;
// the second copies the rules' text the first wrote, and writes the rules the first left
// out (another family's net, ip_version), and the text of both chains of a profile.
TEST(GenerateTest, EachFamilyInTurnIsOneFamilyAtATime) {
  absl::StatusOr<Model> m = LoadModel(R"({
    "endpoints": [{"id": "w", "kind": "workload", "interface": "tapw", "profile_ids": ["p", "q"],
                   "ipv4_nets": ["198.18.0.1/32"], "ipv6_nets": ["fd5a::1/128"]}],
    "profiles": {
      "p": {"inbound_rules": [
        {"protocol": "tcp", "src_ports": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
         "dst_ports": [80, "8000:8080"], "!dst_ports": [8008]},
        {"action": "log", "log_prefix": "p in", "dst_ports": [53], "protocol": "udp"},
        {"action": "deny", "src_net": "198.19.0.0/16", "dst_ports": [22], "protocol": "tcp"},
        {"ip_version": 6, "protocol": "tcp", "dst_ports": [443]}],
       "outbound_rules": [{"protocol": "tcp", "dst_ports": [25]}, {"action": "deny"}]},
      "q": {"inbound_rules": [{"protocol": "udp", "src_ports": [7, 9], "dst_ports": [7]}]}}})");
  ASSERT_TRUE(m.ok()) << m.status();
  for (const std::vector<int>& families : {std::vector<int>{4, 6}, {6}, {4}}) {
    m->config.families = families;
    std::vector<int> got_families;
    GenerateEachFamily(*m, [&](Desired each) {
      ASSERT_EQ(each.rulesets.size(), 1u);
      const int family = each.rulesets[0].family;
      got_families.push_back(family);
      std::string want, got;
      RenderRestore(Generate(*m, {family}).rulesets[0], &want);
      RenderRestore(each.rulesets[0], &got);
      EXPECT_EQ(got, want) << family;
      EXPECT_NE(got.find(family == 4 ? "-s 198.19.0.0/16" : "--dports 443"), std::string::npos)
          << got;
    });
    EXPECT_EQ(got_families, families);
  }
}

TEST(GenerateTest, GenerateRulesetOfAFamilyNotEnabledIsEmpty) {
  absl::StatusOr<Model> m = LoadModel(R"({"config": {"families": [4]}})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(GenerateRuleset(*m, 6).tables.empty());
  EXPECT_EQ(GenerateRuleset(*m, 4).tables.size(), 2u);
}

}  // namespace
}  // namespace fiptgen
