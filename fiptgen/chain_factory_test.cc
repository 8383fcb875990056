#include "fiptgen/chain_factory.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "fiptgen/layout.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

IpNet Net(const char* text, int family) { return *ParseIpNet(text, family); }

Config TestConfig() {
  Config c = DefaultConfig();
  c.failsafe_inbound = {{6, 22}};
  c.failsafe_outbound = {{17, 53}};
  return c;
}

Endpoint Workload() {
  Endpoint e;
  e.id = "w1";
  e.kind = EndpointKind::kWorkload;
  e.interface = "tapw1";
  e.mac = *ParseMac("02:00:00:00:00:01");
  e.ipv4_nets = {Net("198.18.1.1/32", 4)};
  e.profile_ids = {"web", "db"};
  return e;
}

Endpoint Host() {
  Endpoint e;
  e.id = "uplink";
  e.kind = EndpointKind::kHost;
  e.interface = "eth0";
  e.profile_ids = {"base"};
  e.untracked_profile_ids = {"fast"};
  return e;
}

struct Case {
  const char* what;
  int family;
  std::function<Chain(const ChainFactory&)> build;
  const char* name;
  std::vector<std::string> rules;
};

void Check(const Case& c, const Config& config, const std::vector<IpSetModel>& ipsets) {
  ChainFactory factory(config, ipsets, c.family);
  Chain chain = c.build(factory);
  EXPECT_EQ(chain.name(), c.name) << c.what;
  std::vector<std::string> rules;
  chain.ForEachRule([&](absl::string_view rule) { rules.emplace_back(rule); });
  EXPECT_EQ(rules, c.rules) << c.what << ":\n" << chain.body();
  EXPECT_EQ(chain.rule_count(), c.rules.size()) << c.what;
}

TEST(ChainFactoryTest, FixedChains) {
  const Case cases[] = {
      {"raw PREROUTING",
       4,
       [](const ChainFactory& f) { return f.HookedChain(FixedChain::kPrerouting, true); },
       "felix-PREROUTING",
       {"-j MARK --set-xmark 0x0/0x1000000", "-j MARK --set-xmark 0x0/0x4000000",
        "-i tap+ -j MARK --set-xmark 0x4000000/0x4000000",
        "-m mark --mark 0x0/0x4000000 -j felix-FROM-HOST-IF",
        "-m mark --mark 0x1000000/0x1000000 -m addrtype --dst-type LOCAL -j NOTRACK"}},
      {"raw OUTPUT",
       4,
       [](const ChainFactory& f) { return f.HookedChain(FixedChain::kOutput, true); },
       "felix-OUTPUT",
       {"-j MARK --set-xmark 0x0/0x1000000", "-j MARK --set-xmark 0x0/0x4000000",
        "-o tap+ -j MARK --set-xmark 0x4000000/0x4000000",
        "-m mark --mark 0x0/0x4000000 -j felix-TO-HOST-IF",
        "-m mark --mark 0x1000000/0x1000000 -j NOTRACK"}},
      {"filter OUTPUT",
       6,
       [](const ChainFactory& f) { return f.HookedChain(FixedChain::kOutput, false); },
       "felix-OUTPUT",
       {"-m mark --mark 0x1000000/0x1000000 -j ACCEPT", "-m conntrack --ctstate INVALID -j DROP",
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-j MARK --set-xmark 0x0/0x4000000",
        "-o tap+ -j MARK --set-xmark 0x4000000/0x4000000",
        "-m mark --mark 0x0/0x4000000 -g felix-TO-HOST-IF"}},
      {"filter INPUT, v6: neighbour discovery and DHCPv6, no metadata",
       6,
       [](const ChainFactory& f) { return f.HookedChain(FixedChain::kInput, false); },
       "felix-INPUT",
       {"-m mark --mark 0x1000000/0x1000000 -j ACCEPT", "-m conntrack --ctstate INVALID -j DROP",
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-j MARK --set-xmark 0x0/0x4000000",
        "-i tap+ -j MARK --set-xmark 0x4000000/0x4000000",
        "-m mark --mark 0x0/0x4000000 -g felix-FROM-HOST-IF",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 130 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 131 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 132 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 133 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT",
        "-p udp -m udp --sport 546 --dport 547 -j ACCEPT", "-p udp -m udp --dport 53 -j ACCEPT",
        "-m comment --comment \"Drop workload to host traffic\" -j DROP"}},
      {"filter FORWARD",
       4,
       [](const ChainFactory& f) { return f.HookedChain(FixedChain::kForward, false); },
       "felix-FORWARD",
       {"-m mark --mark 0x1000000/0x1000000 -m conntrack --ctstate UNTRACKED -j ACCEPT",
        "-m conntrack --ctstate INVALID -j DROP",
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-i tap+ -j felix-FROM-ENDPOINT",
        "-o tap+ -j felix-TO-ENDPOINT", "-i tap+ -j ACCEPT", "-o tap+ -j ACCEPT",
        "-j felix-FROM-HOST-IF", "-j felix-TO-HOST-IF"}},
      {"filter FAILSAFE-IN",
       4,
       [](const ChainFactory& f) { return f.Failsafe(ChainDir::kFrom, false); },
       "felix-FAILSAFE-IN",
       {"-p tcp -m tcp --dport 22 -j ACCEPT"}},
      {"raw FAILSAFE-IN also lets the replies of outbound failsafe traffic in",
       4,
       [](const ChainFactory& f) { return f.Failsafe(ChainDir::kFrom, true); },
       "felix-FAILSAFE-IN",
       {"-p tcp -m tcp --dport 22 -j ACCEPT", "-p udp -m udp --sport 53 -j ACCEPT"}},
      {"raw FAILSAFE-OUT, v6",
       6,
       [](const ChainFactory& f) { return f.Failsafe(ChainDir::kTo, true); },
       "felix-FAILSAFE-OUT",
       {"-p udp -m udp --dport 53 -j ACCEPT", "-p tcp -m tcp --sport 22 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 130 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 131 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 132 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 133 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 134 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT"}},
  };
  for (const Case& c : cases) {
    Check(c, TestConfig(), {});
  }
}

TEST(ChainFactoryTest, EveryHookedChainOfTheLayoutHasRules) {
  for (const TableLayout& table : Tables()) {
    for (const HookedChain& hooked : table.hooked) {
      for (int family : {4, 6}) {
        Config config = TestConfig();
        ChainFactory f(config, {}, family);
        Chain c = f.HookedChain(hooked.chain, table.untracked);
        EXPECT_EQ(c.name(), f.namer().Fixed(hooked.chain)) << table.name << " " << hooked.builtin;
        EXPECT_GT(c.rule_count(), 0u) << table.name << " " << hooked.builtin << " v" << family;
      }
    }
  }
}

TEST(ChainFactoryTest, EndpointChains) {
  const Case cases[] = {
      {"workload from: MAC and source checks, then its profiles' outbound chains",
       4,
       [](const ChainFactory& f) { return f.EndpointChain(Workload(), ChainDir::kFrom, false); },
       "felix-from-w1",
       {"-j MARK --set-xmark 0x0/0x1000000",
        "-m mac ! --mac-source 02:00:00:00:00:01 -m comment --comment \"Drop if wrong source "
        "MAC\" -j DROP",
        "! -s 198.18.1.1/32 -m comment --comment \"Drop if wrong source IP\" -j DROP",
        "-j felix-p-web-o", "-m mark --mark 0x1000000/0x1000000 -j RETURN", "-j felix-p-db-o",
        "-m mark --mark 0x1000000/0x1000000 -j RETURN",
        "-m comment --comment \"Drop if no profile matched\" -j DROP"}},
      {"workload from with two nets of the family",
       4,
       [](const ChainFactory& f) {
         Endpoint e = Workload();
         e.mac.reset();
         e.ipv4_nets.push_back(Net("198.18.2.0/30", 4));
         e.profile_ids = {"web"};
         return f.EndpointChain(e, ChainDir::kFrom, false);
       },
       "felix-from-w1",
       {"-j MARK --set-xmark 0x0/0x1000000",
        "-s 198.18.1.1/32 -j MARK --set-xmark 0x1000000/0x1000000",
        "-s 198.18.2.0/30 -j MARK --set-xmark 0x1000000/0x1000000",
        "-m mark --mark 0x0/0x1000000 -m comment --comment \"Drop if wrong source IP\" -j DROP",
        "-j MARK --set-xmark 0x0/0x1000000", "-j felix-p-web-o",
        "-m mark --mark 0x1000000/0x1000000 -j RETURN",
        "-m comment --comment \"Drop if no profile matched\" -j DROP"}},
      {"workload to: its profiles' inbound chains",
       6,
       [](const ChainFactory& f) { return f.EndpointChain(Workload(), ChainDir::kTo, false); },
       "felix-to-w1",
       {"-j MARK --set-xmark 0x0/0x1000000", "-j felix-p-web-i",
        "-m mark --mark 0x1000000/0x1000000 -j RETURN", "-j felix-p-db-i",
        "-m mark --mark 0x1000000/0x1000000 -j RETURN",
        "-m comment --comment \"Drop if no profile matched\" -j DROP"}},
      {"host from, tracked: failsafe first, the host's inbound policy",
       4,
       [](const ChainFactory& f) { return f.EndpointChain(Host(), ChainDir::kFrom, false); },
       "felix-from-eth0",
       {"-j felix-FAILSAFE-IN", "-j MARK --set-xmark 0x0/0x1000000", "-j felix-p-base-i",
        "-m mark --mark 0x1000000/0x1000000 -j RETURN",
        "-m comment --comment \"Drop if no profile matched\" -j DROP"}},
      {"host to, untracked: untracked profiles and no final DROP",
       4,
       [](const ChainFactory& f) { return f.EndpointChain(Host(), ChainDir::kTo, true); },
       "felix-to-eth0",
       {"-j felix-FAILSAFE-OUT", "-j MARK --set-xmark 0x0/0x1000000", "-j felix-p-fast-o",
        "-m mark --mark 0x1000000/0x1000000 -j RETURN"}},
  };
  for (const Case& c : cases) {
    Check(c, TestConfig(), {});
  }
}

TEST(ChainFactoryTest, ProfileChainsAndTheSetsTheyName) {
  std::vector<IpSetModel> ipsets(2);
  ipsets[0].name = "block4";
  ipsets[0].family = 4;
  ipsets[1].name = "block6";
  ipsets[1].family = 6;
  PolicyRule allow;
  allow.protocol = Match<uint8_t>{6, false};
  allow.ports.Set(RulePorts::kDst, {{80, 80}, {8000, 8080}});
  allow.sets = {{SetMatch::kTag, Side::kSource, false, "web"}};
  PolicyRule deny;
  deny.action = Action::kDeny;
  deny.sets = {{SetMatch::kIpset, Side::kSource, false, "block4"}};
  PolicyRule log;
  log.action = Action::kLog;
  log.log_prefix = "db \"denied\": ";
  log.sets = {{SetMatch::kIpset, Side::kSource, true, "block6"}};
  Profile profile;
  profile.id = "db";
  profile.inbound_rules = {allow, deny, log};
  struct SetCase {
    int family;
    std::vector<std::string> rules;
    std::vector<std::string> sets;
  };
  const SetCase cases[] = {
      {4,
       {"-p tcp -m set --match-set felix-v4-web src -m multiport --dports 80,8000:8080 -j MARK "
        "--set-xmark 0x1000000/0x1000000",
        "-m mark --mark 0x1000000/0x1000000 -j RETURN",
        "-m set --match-set felix-block4 src -j DROP",
        // "Not in a set of the other family" is always true: the match is left out.
        "-j LOG --log-prefix \"db \\\"denied\\\": \" --log-level 5"},
       {"felix-v4-web", "felix-block4"}},
      {6,
       {"-p tcp -m set --match-set felix-v6-web src -m multiport --dports 80,8000:8080 -j MARK "
        "--set-xmark 0x1000000/0x1000000",
        "-m mark --mark 0x1000000/0x1000000 -j RETURN",
        // The deny rule matches a v4 set only: it has no place in v6.
        "-m set ! --match-set felix-block6 src -j LOG --log-prefix \"db \\\"denied\\\": \" "
        "--log-level 5"},
       {"felix-v6-web", "felix-block6"}},
  };
  Config config = TestConfig();
  // Each family alone, then both sharing the rules' family-independent text, in either
  // order: the second family reads what the first wrote, and writes the rules the first
  // left out (the deny rule has no place in v6, so v6 first leaves it to v4).
  for (const std::vector<int>& order : {std::vector<int>{0}, {1}, {0, 1}, {1, 0}}) {
    RuleListText shared[2];
    for (int at : order) {
      const SetCase& c = cases[at];
      const std::string what = absl::StrCat("v", c.family, " of ", order.size());
      ChainFactory f(config, ipsets, c.family);
      std::vector<uint32_t> set_names;
      Chain chain = f.ProfileChain(profile, RuleDir::kInbound, &set_names, &shared[0]);
      std::vector<std::string> sets;
      for (uint32_t slot : set_names) {
        sets.push_back(shared[0].set_name(slot));
      }
      EXPECT_EQ(chain.name(), "felix-p-db-i") << what;
      std::vector<std::string> rules;
      chain.ForEachRule([&](absl::string_view rule) { rules.emplace_back(rule); });
      EXPECT_EQ(rules, c.rules) << what << ":\n" << chain.body();
      EXPECT_EQ(sets, c.sets) << what << ": " << absl::StrJoin(sets, " ");
      set_names.clear();
      Chain out = f.ProfileChain(profile, RuleDir::kOutbound, &set_names, &shared[1]);
      EXPECT_EQ(out.name(), "felix-p-db-o") << what;
      EXPECT_EQ(out.body(), "") << what;
      EXPECT_TRUE(set_names.empty()) << what;
    }
  }
}

}  // namespace
}  // namespace fiptgen
