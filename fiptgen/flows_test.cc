#include "fiptgen/flows.h"

#include <string>
#include <vector>

#include "fiptgen/load.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

std::string Canonical(absl::string_view spec) {
  absl::StatusOr<Packet> p = ParsePacket(spec);
  if (!p.ok()) {
    return std::string(p.status().message());
  }
  std::string out;
  AppendPacket(*p, &out);
  return out;
}

TEST(FlowsTest, ParsePacket) {
  const struct {
    const char* spec;
    const char* canonical;  // AppendPacket of the parsed packet, or the error
  } cases[] = {
      {"in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 dport=80",
       "in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 sport=40000 dport=80 ctstate=new"},
      {"dport=80   udp\tdst=198.18.1.1 in=tapw2 src=198.18.1.2 sport=1 ctstate=ESTABLISHED "
       "mac=02:00:00:00:00:0A mark=0x10",
       "in=tapw2 udp src=198.18.1.2 dst=198.18.1.1 sport=1 dport=80 mac=02:00:00:00:00:0a "
       "ctstate=established mark=0x10"},
      {"out=eth0 icmp src=198.18.9.254 dst=198.18.9.2",
       "out=eth0 icmp src=198.18.9.254 dst=198.18.9.2 type=8 code=0 ctstate=new"},
      {"in=tapw1 icmpv6 src=fd5a:f1e1::1:1 dst=ff02::2 type=133",
       "in=tapw1 icmpv6 src=fd5a:f1e1::1:1 dst=ff02::2 type=133 code=0 ctstate=untracked"},
      {"in=eth0 out=tap1 proto=47 src=10.0.0.1 dst=10.0.0.2",
       "in=eth0 out=tap1 proto=gre src=10.0.0.1 dst=10.0.0.2 ctstate=new"},
      {"in=eth0 out=tap1 proto=ipv6-icmp src=fd00::1 dst=fd00::2 type=129 ctstate=established",
       "in=eth0 out=tap1 icmpv6 src=fd00::1 dst=fd00::2 type=129 code=0 ctstate=established"},
      {"in=eth0 proto=255 src=10.0.0.1 dst=10.0.0.2 mark=7",
       "in=eth0 proto=255 src=10.0.0.1 dst=10.0.0.2 ctstate=new mark=0x7"},
      // Errors name the word.
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2", "dport: required for tcp"},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=http", "dport: \"http\" is not a port"},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=65536", "dport: \"65536\" is not a port"},
      {"in=eth0 tcp src=10.0.0.1/24 dst=10.0.0.2 dport=1",
       "src: \"10.0.0.1/24\" is not an address"},
      {"in=eth0 tcp src=10.0.0.1 dst=fd00::1 dport=1", "dst: not of the family of src"},
      {"in=eth0 tcp dst=10.0.0.1 dport=1", "src: required"},
      {"in=eth0 src=10.0.0.1 dst=10.0.0.2", "protocol: required (tcp, udp, icmp, ... or proto=N)"},
      {"in=eth0 tcp udp src=10.0.0.1 dst=10.0.0.2 dport=1", "protocol: given twice"},
      {"in=eth0 in=eth1 tcp src=10.0.0.1 dst=10.0.0.2 dport=1", "in: given twice"},
      {"in=eth0 http src=10.0.0.1 dst=10.0.0.2",
       "http: unknown word (a protocol is tcp, udp, sctp, udplite, icmp, icmpv6 or "
       "proto=NAME|NUMBER; other words are key=value)"},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1 color=red", "color: unknown word"},
      {"in=eth0 icmp src=10.0.0.1 dst=10.0.0.2 dport=1", "dport: icmp has no ports"},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1 type=3",
       "type: only ICMP has a type and code"},
      {"in=eth0 icmp src=fd00::1 dst=fd00::2",
       "protocol: icmp in an IPv6 packet (icmp is IPv4's, ipv6-icmp IPv6's)"},
      {"in=eth0 icmp src=10.0.0.1 dst=10.0.0.2 type=0",
       "ct_state: an ICMP type 0 packet is never NEW (only requests are)"},
      {"in=eth0 icmpv6 src=fd00::1 dst=fd00::2 type=135 ctstate=new",
       "ct_state: conntrack never tracks ICMPv6 type 135 (neighbour, router and multicast "
       "listener messages): it is UNTRACKED"},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1 ctstate=snat",
       "ctstate: \"snat\" is not new, established, related, invalid or untracked"},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1 mac=zz", "mac: \"zz\" is not a MAC address"},
      {"tcp src=10.0.0.1 dst=10.0.0.2 dport=1",
       "interfaces: a packet arrives on an interface (in), leaves by one (out), or both"},
      {"out=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1 mac=02:00:00:00:00:01",
       "src_mac: a packet the host sends has no source MAC in the hooks"},
      {"in= tcp src=10.0.0.1 dst=10.0.0.2 dport=1", "in: needs an interface name"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Canonical(c.spec), c.canonical) << c.spec;
  }
}

TEST(FlowsTest, AppendPacketReadsBack) {
  for (const char* spec : {
           "in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 sport=9 dport=80 ctstate=new",
           "out=lo udp src=fd00::1 dst=fd00::1 sport=53 dport=53 ctstate=invalid mark=0xff",
           "in=eth0 icmp src=10.0.0.1 dst=10.0.0.2 type=3 code=1 ctstate=related",
       }) {
    EXPECT_EQ(Canonical(spec), spec);
    EXPECT_EQ(Canonical(Canonical(spec)), spec);
  }
  // The destination of a packet the host sends is local only through lo.
  EXPECT_TRUE(ParsePacket("out=lo udp src=fd00::1 dst=fd00::1 dport=53")->dst_local);
  EXPECT_FALSE(ParsePacket("out=eth0 udp src=fd00::1 dst=fd00::2 dport=53")->dst_local);
  EXPECT_TRUE(ParsePacket("in=eth0 udp src=fd00::1 dst=fd00::2 dport=53")->dst_local);
}

TEST(FlowsTest, ParseFlows) {
  absl::StatusOr<std::vector<FlowExpectation>> flows = ParseFlows(
      "# a comment\n"
      "\n"
      "in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 dport=80 => accept  # web\n"
      "  in=eth0 udp src=198.18.9.2 dst=198.18.9.254 dport=4789 =>accept untracked\n"
      "in=eth0 tcp src=198.18.9.2 dst=198.18.9.254 dport=22 => reject tracked\n",
      "f.txt");
  ASSERT_TRUE(flows.ok()) << flows.status();
  ASSERT_EQ(flows->size(), 3u);
  EXPECT_EQ((*flows)[0].line, 3);
  EXPECT_EQ((*flows)[0].text,
            "in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 dport=80 => accept");
  EXPECT_EQ((*flows)[0].verdict, Verdict::kAccept);
  EXPECT_FALSE((*flows)[0].untracked.has_value());
  EXPECT_EQ((*flows)[1].untracked, true);
  EXPECT_EQ((*flows)[2].verdict, Verdict::kReject);
  EXPECT_EQ((*flows)[2].untracked, false);

  const struct {
    const char* text;
    const char* error;
  } bad[] = {
      {"\nin=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1\n",
       "f.txt:2: a flow is a packet, \"=>\" and a verdict (accept, drop, reject)"},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1 => allow",
       "f.txt:1: \"allow\" is not a verdict (accept, drop, reject)"},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1 =>",
       "f.txt:1: after \"=>\": a verdict (accept, drop, reject), then optionally \"untracked\" "
       "or \"tracked\""},
      {"in=eth0 tcp src=10.0.0.1 dst=10.0.0.2 dport=1 => drop fast",
       "f.txt:1: \"fast\": only \"untracked\" or \"tracked\" may follow the verdict"},
      {"# ok\nin=eth0 tcp src=10.0.0.1 dst=10.0.0.2 => drop", "f.txt:2: dport: required for tcp"},
  };
  for (const auto& c : bad) {
    EXPECT_EQ(ParseFlows(c.text, "f.txt").status().message(), c.error) << c.text;
  }
}

TEST(FlowsTest, FillSourceMac) {
  absl::StatusOr<Model> model = LoadModel(R"({"endpoints": [
      {"id": "w1", "kind": "workload", "interface": "tapw1", "mac": "02:00:00:00:00:01",
       "ipv4_nets": ["198.18.1.1/32"]},
      {"id": "w2", "kind": "workload", "interface": "tapw2", "ipv4_nets": ["198.18.1.2/32"]},
      {"id": "h", "kind": "host", "interface": "eth0", "ipv4_nets": ["198.18.9.1/32"]}]})");
  ASSERT_TRUE(model.ok()) << model.status();
  auto mac = [&](absl::string_view spec) {
    Packet p = *ParsePacket(spec);
    FillSourceMac(*model, &p);
    return p.src_mac.has_value() ? p.src_mac->ToString() : "none";
  };
  EXPECT_EQ(mac("in=tapw1 out=eth0 udp src=198.18.1.1 dst=10.0.0.1 dport=1"), "02:00:00:00:00:01");
  EXPECT_EQ(mac("in=tapw1 out=eth0 udp src=198.18.1.1 dst=10.0.0.1 dport=1 mac=02:00:00:00:00:09"),
            "02:00:00:00:00:09");
  EXPECT_EQ(mac("in=tapw2 out=eth0 udp src=198.18.1.2 dst=10.0.0.1 dport=1"), "none");
  EXPECT_EQ(mac("in=eth0 out=tapw1 udp src=10.0.0.1 dst=198.18.1.1 dport=1"), "none");
}

TEST(FlowsTest, FlowHolds) {
  FlowExpectation flow;
  flow.verdict = Verdict::kAccept;
  TraceResult trace;
  trace.verdict = Verdict::kAccept;
  trace.untracked = true;
  EXPECT_TRUE(FlowHolds(flow, trace));
  flow.untracked = false;
  EXPECT_FALSE(FlowHolds(flow, trace));
  flow.untracked = true;
  EXPECT_TRUE(FlowHolds(flow, trace));
  trace.verdict = Verdict::kUnresolved;
  EXPECT_FALSE(FlowHolds(flow, trace));
  std::string out;
  AppendOutcome(trace, &out);
  EXPECT_EQ(out, "unresolved untracked");
}

}  // namespace
}  // namespace fiptgen
