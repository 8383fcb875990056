#include "fiptgen/simulate.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fiptgen/flows.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/observed.h"
#include "fiptgen/testing/golden.h"
#include "fiptgen/trace_text.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

PacketSimulator Saved(absl::string_view save, int family = 4, absl::string_view sets = "") {
  absl::StatusOr<ObservedRuleset> rs = ParseIptablesSaveWhole(save, family);
  EXPECT_TRUE(rs.ok()) << rs.status();
  absl::StatusOr<std::vector<IpSetSpec>> ipsets = ParseIpsetSave(sets, "");
  EXPECT_TRUE(ipsets.ok()) << ipsets.status();
  absl::StatusOr<PacketSimulator> sim = PacketSimulator::FromSaved(*rs, *ipsets);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return *std::move(sim);
}

TraceResult TraceOf(const PacketSimulator& sim, absl::string_view spec) {
  absl::StatusOr<Packet> p = ParsePacket(spec);
  EXPECT_TRUE(p.ok()) << spec << ": " << p.status();
  absl::StatusOr<TraceResult> r = sim.Trace(*p);
  EXPECT_TRUE(r.ok()) << spec << ": " << r.status();
  return *std::move(r);
}

// "raw PREROUTING → ACCEPT (policy) | filter FORWARD → ... → DROP"
std::string Paths(const PacketSimulator& sim, const TraceResult& r) {
  std::string out;
  for (const HookTrace& h : r.hooks) {
    if (!out.empty()) {
      out += " | ";
    }
    AppendHookPath(sim, r, h, &out);
  }
  return out;
}

// Netfilter's traversal: jumps, gotos, RETURN, chain ends, policies, marks, REJECT, LOG,
// NOTRACK and what conntrack shows in raw and filter.
constexpr absl::string_view kTraversal = R"(*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:r-pre - [0:0]
-A PREROUTING -j r-pre
-A r-pre -m conntrack --ctstate INVALID -j MARK --set-xmark 0x100/0x100
-A r-pre -p udp -m udp --dport 4789 -j CT --notrack
-A r-pre -p udp -m udp --dport 4790 -j NOTRACK
-A r-pre -s 192.0.2.66/32 -j DROP
-A OUTPUT -o eth9 -j DROP
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:disp - [0:0]
:ep - [0:0]
:gone - [0:0]
:prof - [0:0]
-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m mark --mark 0x100/0x100 -m tcp --dport 1 -j LOG --log-prefix "in: "
-A INPUT -p tcp -m tcp --dport 2 -g gone
-A INPUT -p tcp -m tcp --dport 3 -j gone
-A INPUT -p tcp -m tcp --dport 3 -j RETURN
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -j MARK --set-xmark 0x0/0xffffffff
-A FORWARD -i tap+ -j disp
-A FORWARD -o eth9 -j DROP
-A FORWARD -j MARK --set-xmark 0x1/0x1
-A disp -i tapa -g ep
-A disp -m comment --comment "Unknown endpoint" -j DROP
-A ep ! -s 10.0.0.1/32 -m comment --comment "Drop if wrong source IP" -j DROP
-A ep -j prof
-A ep -m mark --mark 0x2/0x2 -j RETURN
-A ep -p tcp -j REJECT --reject-with tcp-reset
-A prof -p tcp -m multiport --dports 80,8000:8080 -j MARK --set-xmark 0x2/0x2
-A prof -m mark --mark 0x2/0x2 -j RETURN
-A prof -p udp -m multiport ! --dports 53,5353 -j DROP
-A prof -p udp -j MARK --set-xmark 0x6/0x2
-A gone -p tcp -m tcp --dport 2 -j RETURN
COMMIT
)";

struct TraversalCase {
  const char* packet;
  Verdict verdict;
  const char* paths;
  uint32_t mark;
  bool untracked = false;
};

TEST(SimulateTest, Traversal) {
  const PacketSimulator sim = Saved(kTraversal);
  const TraversalCase cases[] = {
      // A goto'd chain's RETURN returns to the caller of the chain that did the goto
      // (FORWARD): the packet goes on to FORWARD's next rules.
      {"in=tapa out=eth0 tcp src=10.0.0.1 dst=192.0.2.1 dport=80", Verdict::kAccept,
       "raw PREROUTING → ACCEPT (policy) | filter FORWARD → ACCEPT (policy)", 0x3},
      {"in=tapa out=eth9 tcp src=10.0.0.1 dst=192.0.2.1 dport=8080", Verdict::kDrop,
       "raw PREROUTING → ACCEPT (policy) | filter FORWARD #3 → DROP", 0x2},
      // The end of a chain is a RETURN: prof ends, ep goes on to REJECT.
      {"in=tapa out=eth0 tcp src=10.0.0.1 dst=192.0.2.1 dport=8081", Verdict::kReject,
       "raw PREROUTING → ACCEPT (policy) | filter FORWARD → disp → ep #4 → REJECT", 0x0},
      {"in=tapa out=eth0 tcp src=10.0.0.2 dst=192.0.2.1 dport=80", Verdict::kDrop,
       "raw PREROUTING → ACCEPT (policy) | filter FORWARD → disp → ep #1 \"Drop if wrong source "
       "IP\" → DROP",
       0x0},
      {"in=tapb out=eth0 tcp src=10.0.0.1 dst=192.0.2.1 dport=80", Verdict::kDrop,
       "raw PREROUTING → ACCEPT (policy) | filter FORWARD → disp #2 \"Unknown endpoint\" → DROP",
       0x0},
      // Negated multiport, and --set-xmark 0x6/0x2: (mark & ~0x2) ^ 0x6.
      {"in=tapa out=eth0 udp src=10.0.0.1 dst=192.0.2.1 dport=54", Verdict::kDrop,
       "raw PREROUTING → ACCEPT (policy) | filter FORWARD → disp → ep → prof #3 → DROP", 0x0},
      {"in=tapa out=eth0 udp src=10.0.0.1 dst=192.0.2.1 dport=5353", Verdict::kAccept,
       "raw PREROUTING → ACCEPT (policy) | filter FORWARD → ACCEPT (policy)", 0x7},
      // Untracked by raw (CT --notrack and NOTRACK): filter sees UNTRACKED.
      {"in=eth0 udp src=192.0.2.1 dst=192.0.2.2 dport=4789", Verdict::kAccept,
       "raw PREROUTING → ACCEPT (policy) | filter INPUT #1 → ACCEPT", 0x100, true},
      {"in=eth0 udp src=192.0.2.1 dst=192.0.2.2 dport=4790 ctstate=established", Verdict::kAccept,
       "raw PREROUTING → ACCEPT (policy) | filter INPUT #1 → ACCEPT", 0x100, true},
      {"in=eth0 udp src=192.0.2.1 dst=192.0.2.2 dport=4791 ctstate=established", Verdict::kAccept,
       "raw PREROUTING → ACCEPT (policy) | filter INPUT #2 → ACCEPT", 0x100},
      // raw drops before filter runs.
      {"in=eth0 udp src=192.0.2.66 dst=192.0.2.2 dport=53", Verdict::kDrop,
       "raw PREROUTING → r-pre #4 → DROP", 0x100},
      // raw sees INVALID (no conntrack yet), so the mark is set; LOG goes on; the end of a
      // chain reached by goto from a built-in chain, or a RETURN there, is the policy.
      {"in=eth0 tcp src=192.0.2.1 dst=192.0.2.2 dport=1", Verdict::kDrop,
       "raw PREROUTING → ACCEPT (policy) | filter INPUT → DROP (policy)", 0x100},
      {"in=eth0 tcp src=192.0.2.1 dst=192.0.2.2 dport=2", Verdict::kDrop,
       "raw PREROUTING → ACCEPT (policy) | filter INPUT → DROP (policy)", 0x100},
      // A jump's chain ends: back to the next rule; a RETURN in a built-in chain: policy.
      {"in=eth0 tcp src=192.0.2.1 dst=192.0.2.2 dport=3", Verdict::kDrop,
       "raw PREROUTING → ACCEPT (policy) | filter INPUT → DROP (policy)", 0x100},
      {"in=eth0 tcp src=192.0.2.1 dst=192.0.2.2 dport=22", Verdict::kAccept,
       "raw PREROUTING → ACCEPT (policy) | filter INPUT #7 → ACCEPT", 0x100},
      // OUTPUT: raw OUTPUT, then filter OUTPUT.
      {"out=eth9 tcp src=192.0.2.2 dst=192.0.2.1 dport=22", Verdict::kDrop, "raw OUTPUT #1 → DROP",
       0x100},
      {"out=eth0 tcp src=192.0.2.2 dst=192.0.2.1 dport=22", Verdict::kAccept,
       "raw OUTPUT → ACCEPT (policy) | filter OUTPUT → ACCEPT (policy)", 0x0},
  };
  for (const TraversalCase& c : cases) {
    SCOPED_TRACE(c.packet);
    TraceResult r = TraceOf(sim, c.packet);
    EXPECT_EQ(VerdictName(r.verdict), VerdictName(c.verdict));
    EXPECT_EQ(Paths(sim, r), c.paths);
    EXPECT_EQ(r.untracked, c.untracked);
  }
  // Marks: the mark is the packet's own (0x100 set in raw carries into filter).
  EXPECT_EQ(TraceOf(sim, cases[0].packet).mark, 0x3u);
  EXPECT_EQ(TraceOf(sim, cases[6].packet).mark, 0x7u);
  EXPECT_EQ(TraceOf(sim, "in=eth0 tcp src=192.0.2.1 dst=192.0.2.2 dport=22").mark, 0x100u);
}

TEST(SimulateTest, StepsRecordEveryRuleAndTheMarkAfterIt) {
  const PacketSimulator sim = Saved(kTraversal);
  TraceResult r = TraceOf(sim, "in=tapa out=eth0 tcp src=10.0.0.1 dst=192.0.2.1 dport=80");
  std::vector<std::string> seen;
  for (const TraceStep& st : r.steps) {
    std::string s = absl::StrCat(sim.table_name(st.table), " ", sim.chain_name(st.table, st.chain));
    if (st.kind == TraceStep::Kind::kRule) {
      absl::StrAppend(&s, " #", st.rule + 1, st.matched ? " +" : " -");
    } else {
      absl::StrAppend(&s, st.kind == TraceStep::Kind::kPolicy ? " policy" : " end");
    }
    absl::StrAppend(&s, " ", absl::Hex(st.mark));
    seen.push_back(s);
  }
  const std::vector<std::string> want = {
      "raw PREROUTING #1 + 0",     "raw r-pre #1 + 100",    "raw r-pre #2 - 100",
      "raw r-pre #3 - 100",        "raw r-pre #4 - 100",    "raw r-pre end 100",
      "raw PREROUTING policy 100", "filter FORWARD #1 + 0", "filter FORWARD #2 + 0",
      "filter disp #1 + 0",        "filter ep #1 - 0",      "filter ep #2 + 0",
      "filter prof #1 + 2",        "filter prof #2 + 2",    "filter ep #3 + 2",
      "filter FORWARD #3 - 2",     "filter FORWARD #4 + 3", "filter FORWARD policy 3",
  };
  EXPECT_EQ(seen, want);
  ASSERT_EQ(r.hooks.size(), 2u);
  EXPECT_EQ(r.hooks[1].first_step, 7u);
  EXPECT_EQ(r.hooks[1].decisive_step, r.steps.size() - 1);
}

// Every match fiptgen writes, and the common ones it does not.
constexpr absl::string_view kMatches = R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i eth+ -o tap1 -p gre -j ACCEPT
-A FORWARD -i eth+ -o tap1 -p 50 -j ACCEPT
-A FORWARD ! -i eth+ -o tap1 ! -p tcp ! -d 10.1.0.0/16 -j ACCEPT
-A FORWARD -o tap1 -p icmp -m icmp --icmp-type 8/0 -j ACCEPT
-A FORWARD -o tap1 -p icmp -m icmp ! --icmp-type 3 -m comment --comment "not unreachable" -j DROP
-A FORWARD -o tap1 -p icmp -m icmp --icmp-type 3 -j ACCEPT
-A FORWARD -o tap2 -p tcp -m set --match-set hosts src -m multiport --sports 1000:1999 -j ACCEPT
-A FORWARD -o tap2 -p tcp -m set ! --match-set nets dst -m multiport --dports 1,2,3 -j ACCEPT
-A FORWARD -o tap2 -p udp -m set --match-set nets dst -m udp --sport 53 --dport 100:200 -j ACCEPT
-A FORWARD -o tap3 -m mac --mac-source 02:00:00:00:00:0A -j ACCEPT
-A FORWARD -o tap4 -p sctp -m sctp --dport 9 -j ACCEPT
-A FORWARD -o tap4 -p udplite -m multiport --ports 7 -j ACCEPT
-A FORWARD -o tap5 -m u32 --u32 "0x0>>0x16&0x3c@0x4&0xff=0x1" -p tcp -j ACCEPT
-A FORWARD -o tap6 -p tcp -m u32 --u32 "0x0>>0x16&0x3c@0x4&0xff=0x1" -j ACCEPT
-A FORWARD -o tap7 -p tcp -j CONNMARK --set-xmark 0x1/0x1
-A FORWARD -o tap8 -m set --match-set ports dst -j ACCEPT
-A FORWARD -o tap9 -f -j ACCEPT
-A FORWARD -o tap9 ! -f -j ACCEPT
COMMIT
)";

constexpr absl::string_view kSets = R"(create hosts hash:ip family inet hashsize 1024 maxelem 65536
add hosts 10.9.0.1
add hosts 10.9.0.2
create nets hash:net family inet hashsize 1024 maxelem 65536
add nets 10.2.0.0/16
add nets 10.3.3.0/24
add nets 10.4.4.4
create ports hash:ip,port family inet hashsize 1024 maxelem 65536
add ports 10.0.0.1,tcp:80
)";

struct MatchCase {
  const char* packet;
  Verdict verdict;
  const char* decided;  // the decisive step: "#N" of FORWARD, or "policy"
  const char* why = "";
};

TEST(SimulateTest, Matches) {
  const PacketSimulator sim = Saved(kMatches, 4, kSets);
  const MatchCase cases[] = {
      {"in=eth0 out=tap1 proto=gre src=10.0.0.1 dst=10.1.0.1", Verdict::kAccept, "#1"},
      {"in=eth0 out=tap1 proto=47 src=10.0.0.1 dst=10.1.0.1", Verdict::kAccept, "#1"},
      {"in=eth0 out=tap1 proto=esp src=10.0.0.1 dst=10.1.0.1", Verdict::kAccept, "#2"},
      // ! -i eth+ ! -p tcp ! -d 10.1.0.0/16
      {"in=tap0 out=tap1 udp src=10.0.0.1 dst=10.5.0.1 dport=1", Verdict::kAccept, "#3"},
      {"in=tap0 out=tap1 udp src=10.0.0.1 dst=10.1.0.1 dport=1", Verdict::kDrop, "policy"},
      {"in=ethx out=tap1 udp src=10.0.0.1 dst=10.5.0.1 dport=1", Verdict::kDrop, "policy"},
      // icmp 8/0 is code 0 only; "! 3" drops the rest but type 3 (any code).
      {"in=eth0 out=tap1 icmp src=10.0.0.1 dst=10.1.0.1 type=8 code=0", Verdict::kAccept, "#4"},
      {"in=eth0 out=tap1 icmp src=10.0.0.1 dst=10.1.0.1 type=8 code=1", Verdict::kDrop, "#5"},
      {"in=eth0 out=tap1 icmp src=10.0.0.1 dst=10.1.0.1 type=3 code=13 ctstate=related",
       Verdict::kAccept, "#6"},
      // Sets: hash:ip and hash:net, src and dst, negated; multiport ranges; -m udp ports.
      {"in=eth0 out=tap2 tcp src=10.9.0.2 dst=10.2.0.1 sport=1999 dport=9", Verdict::kAccept, "#7"},
      {"in=eth0 out=tap2 tcp src=10.9.0.3 dst=10.2.0.1 sport=1999 dport=9", Verdict::kDrop,
       "policy"},
      {"in=eth0 out=tap2 tcp src=10.9.0.3 dst=10.3.4.1 dport=2", Verdict::kAccept, "#8"},
      {"in=eth0 out=tap2 tcp src=10.9.0.3 dst=10.3.3.1 dport=2", Verdict::kDrop, "policy"},
      {"in=eth0 out=tap2 udp src=10.9.0.3 dst=10.4.4.4 sport=53 dport=150", Verdict::kAccept, "#9"},
      {"in=eth0 out=tap2 udp src=10.9.0.3 dst=10.4.4.5 sport=53 dport=150", Verdict::kDrop,
       "policy"},
      {"in=eth0 out=tap2 udp src=10.9.0.3 dst=10.4.4.4 sport=53 dport=201", Verdict::kDrop,
       "policy"},
      // MAC (written upper case, matched as a MAC); a MAC match needs the packet's MAC.
      {"in=eth0 out=tap3 udp src=10.0.0.1 dst=10.3.0.1 dport=1 mac=02:00:00:00:00:0a",
       Verdict::kAccept, "#10"},
      {"in=eth0 out=tap3 udp src=10.0.0.1 dst=10.3.0.1 dport=1 mac=02:00:00:00:00:0b",
       Verdict::kDrop, "policy"},
      {"in=eth0 out=tap3 udp src=10.0.0.1 dst=10.3.0.1 dport=1", Verdict::kUnresolved, "#10",
       "-m mac needs the packet's source MAC, which was not given (mac=)"},
      {"in=eth0 out=tap4 sctp src=10.0.0.1 dst=10.3.0.1 dport=9", Verdict::kAccept, "#11"},
      {"in=eth0 out=tap4 udplite src=10.0.0.1 dst=10.3.0.1 sport=7 dport=8", Verdict::kAccept,
       "#12"},
      // Not simulated: decided only when a match that is simulated fails.
      {"in=eth0 out=tap5 udp src=10.0.0.1 dst=10.3.0.1 dport=1", Verdict::kDrop, "policy"},
      {"in=eth0 out=tap5 tcp src=10.0.0.1 dst=10.3.0.1 dport=1", Verdict::kUnresolved, "#13",
       "match \"-m u32\" is not simulated"},
      {"in=eth0 out=tap6 tcp src=10.0.0.1 dst=10.3.0.1 dport=1", Verdict::kUnresolved, "#14",
       "match \"-m u32\" is not simulated"},
      {"in=eth0 out=tap7 udp src=10.0.0.1 dst=10.3.0.1 dport=1", Verdict::kDrop, "policy"},
      {"in=eth0 out=tap7 tcp src=10.0.0.1 dst=10.3.0.1 dport=1", Verdict::kUnresolved, "#15",
       "target \"CONNMARK ...\" is not simulated"},
      {"in=eth0 out=tap8 tcp src=10.0.0.1 dst=10.3.0.1 dport=1", Verdict::kUnresolved, "#16",
       "set \"ports\" is hash:ip,port (only hash:ip and hash:net are simulated)"},
      // A simulated packet is never a fragment.
      {"in=eth0 out=tap9 tcp src=10.0.0.1 dst=10.3.0.1 dport=1", Verdict::kAccept, "#18"},
  };
  for (const MatchCase& c : cases) {
    SCOPED_TRACE(c.packet);
    TraceResult r = TraceOf(sim, c.packet);
    EXPECT_EQ(VerdictName(r.verdict), VerdictName(c.verdict));
    const TraceStep& st = r.steps[r.hooks.back().decisive_step];
    EXPECT_EQ(st.kind == TraceStep::Kind::kPolicy ? "policy" : absl::StrCat("#", st.rule + 1),
              c.decided);
    EXPECT_EQ(r.unresolved, c.why);
  }
  EXPECT_EQ(sim.UnsimulatedRules(),
            (std::vector<std::string>{
                "filter FORWARD #13: match \"-m u32\" is not simulated",
                "filter FORWARD #14: match \"-m u32\" is not simulated",
                "filter FORWARD #15: target \"CONNMARK ...\" is not simulated",
                "filter FORWARD #16: set \"ports\" is hash:ip,port (only hash:ip and hash:net "
                "are simulated)",
            }));
}

TEST(SimulateTest, Ipv6) {
  const PacketSimulator sim = Saved(R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT
-A FORWARD -s fd00::/64 -p ipv6-icmp -m icmp6 --icmpv6-type 1/3 -j ACCEPT
-A FORWARD -p tcp -m set --match-set v6 dst -j ACCEPT
COMMIT
)",
                                    6, "create v6 hash:net family inet6\nadd v6 fd5a::/48\n");
  EXPECT_EQ(TraceOf(sim, "in=a out=b icmpv6 src=fd00::1 dst=fd01::1 type=1 code=3 ctstate=related")
                .verdict,
            Verdict::kAccept);
  EXPECT_EQ(TraceOf(sim, "in=a out=b icmpv6 src=fd00::1 dst=fd01::1 type=1 code=4 ctstate=related")
                .verdict,
            Verdict::kDrop);
  EXPECT_EQ(TraceOf(sim, "in=a out=b icmpv6 src=fd00::1 dst=fd01::1 type=135").verdict,
            Verdict::kAccept);  // neighbour solicitations are untracked
  EXPECT_EQ(TraceOf(sim, "in=a out=b tcp src=fd00::1 dst=fd5a:0:0:1::1 dport=1").verdict,
            Verdict::kAccept);
  EXPECT_EQ(TraceOf(sim, "in=a out=b tcp src=fd00::1 dst=fd5a:0:1::1 dport=1").verdict,
            Verdict::kDrop);
  absl::StatusOr<Packet> v4 = ParsePacket("in=a out=b tcp src=10.0.0.1 dst=10.0.0.2 dport=1");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(sim.Trace(*v4).status().message(), "family: an IPv4 packet, but the rules are IPv6's");
}

TEST(SimulateTest, RefusesWhatTheKernelRefuses) {
  const struct {
    absl::string_view save;
    absl::string_view error;
  } cases[] = {
      {"*filter\n:INPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n-A a -j b\n-A b -g a\nCOMMIT\n",
       "filter: chain \"a\" reaches itself (through \"b\"); the kernel refuses such a loop"},
      {"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -g nowhere\nCOMMIT\n",
       "filter: \"-g nowhere\" goes to the undeclared chain \"nowhere\""},
  };
  for (const auto& c : cases) {
    absl::StatusOr<ObservedRuleset> rs = ParseIptablesSaveWhole(c.save, 4);
    ASSERT_TRUE(rs.ok()) << rs.status();
    EXPECT_EQ(PacketSimulator::FromSaved(*rs, {}).status().message(), c.error);
  }
  // A split state lost the hooks' places.
  absl::StatusOr<ObservedRuleset> split = ParseIptablesSave(
      "*filter\n:INPUT ACCEPT [0:0]\n:felix-INPUT - [0:0]\n-A INPUT -j felix-INPUT\nCOMMIT\n", 4,
      "felix-");
  ASSERT_TRUE(split.ok());
  EXPECT_FALSE(PacketSimulator::FromSaved(*split, {}).ok());
}

TEST(SimulateTest, ForeignRulesBeforeTheHooksRunFirst) {
  // ParseIptablesSaveWhole keeps a built-in chain's rules in order, hooks among them.
  const PacketSimulator sim = Saved(R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:felix-FORWARD - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j felix-FORWARD
-A DOCKER-USER -p tcp -m tcp --dport 80 -j DROP
-A felix-FORWARD -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.9
COMMIT
)");
  EXPECT_EQ(Paths(sim, TraceOf(sim, "in=a out=b tcp src=10.0.0.1 dst=10.0.0.2 dport=80")),
            "raw PREROUTING → ACCEPT (policy) | filter FORWARD → DOCKER-USER #1 → DROP");
  EXPECT_EQ(sim.ignored_tables(), (std::vector<std::pair<std::string, size_t>>{{"nat", 1}}));
}

TEST(SimulateTest, ValidatePacket) {
  auto packet = [](auto edit) {
    absl::StatusOr<Packet> p = ParsePacket("in=a out=b tcp src=10.0.0.1 dst=10.0.0.2 dport=1");
    EXPECT_TRUE(p.ok());
    edit(&*p);
    return std::string(ValidatePacket(*p).message());
  };
  EXPECT_EQ(packet([](Packet* p) { p->dst_local = true; }),
            "dst_local: the kernel does not forward a packet to one of its own addresses");
  EXPECT_EQ(packet([](Packet* p) { p->out_interface.clear(); }),
            "dst_local: a packet with no out interface is for the host: it is local");
  EXPECT_EQ(packet([](Packet* p) { p->in_interface = "eth+"; }),
            "in_interface: \"eth+\" is not an interface name");
  EXPECT_EQ(packet([](Packet* p) {
              p->in_interface.clear();
              p->out_interface.clear();
            }),
            "interfaces: a packet arrives on an interface (in), leaves by one (out), or both");
  EXPECT_EQ(packet([](Packet* p) {
              p->protocol = 1;
              p->src_port = p->dst_port = 0;
              p->icmp_type = 0;
            }),
            "ct_state: an ICMP type 0 packet is never NEW (only requests are)");
  EXPECT_EQ(packet([](Packet* p) {
              p->protocol = 1;
              p->dst_port = p->src_port = 0;
              p->icmp_type = 3;
              p->ct_state = CtState::kEstablished;
            }),
            "ct_state: an ICMP error (type 3) is RELATED to a connection, or INVALID");
  EXPECT_EQ(packet([](Packet* p) { p->protocol = 58; }),
            "src_port: protocol ipv6-icmp has no ports");
}

// fiptgen's own output: every rule of every golden can be simulated, and the built-in chains
// hold the hooks.
TEST(SimulateTest, EveryGoldenRuleIsSimulated) {
  int checked = 0;
  for (const std::string& name : golden::ListGoldenDir("testdata", /*directories=*/true)) {
    if (name == "errors" || name == "plans") {
      continue;
    }
    SCOPED_TRACE(name);
    absl::StatusOr<Model> model =
        LoadModel(golden::ReadGoldenFile(absl::StrCat("testdata/", name, "/model.json")));
    ASSERT_TRUE(model.ok()) << model.status();
    const Desired desired = Generate(*model);
    for (int family : {4, 6}) {
      absl::StatusOr<PacketSimulator> sim = PacketSimulator::FromDesired(desired, family);
      ASSERT_TRUE(sim.ok()) << sim.status();
      EXPECT_EQ(sim->UnsimulatedRules(), std::vector<std::string>{});
      ++checked;
    }
  }
  EXPECT_GE(checked, 16);
}

}  // namespace
}  // namespace fiptgen
