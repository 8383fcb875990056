#include "fiptgen/trace_text.h"

#include <string>

#include "fiptgen/flows.h"
#include "fiptgen/observed.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace fiptgen {
namespace {

constexpr absl::string_view kSave = R"(*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 4789 -j NOTRACK
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:fw - [0:0]
:disp - [0:0]
:ep - [0:0]
-A FORWARD -j fw
-A fw -i tap+ -j disp
-A fw -j MARK --set-xmark 0x10/0x10
-A disp -i tapa -g ep
-A ep -m mark --mark 0x0/0x10 -j MARK --set-xmark 0x2/0x2
-A ep ! -s 10.0.0.1/32 -m comment --comment "Drop if \"wrong\" source IP" -j DROP
-A ep -p tcp -m u32 --u32 "0x0=0x0" -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j RETURN
COMMIT
)";

struct Fixture {
  PacketSimulator sim;
  Packet packet;
  TraceResult trace;
};

Fixture Trace(absl::string_view spec) {
  absl::StatusOr<ObservedRuleset> saved = ParseIptablesSaveWhole(kSave, 4);
  EXPECT_TRUE(saved.ok()) << saved.status();
  absl::StatusOr<PacketSimulator> sim = PacketSimulator::FromSaved(*saved, {});
  EXPECT_TRUE(sim.ok()) << sim.status();
  absl::StatusOr<Packet> packet = ParsePacket(spec);
  EXPECT_TRUE(packet.ok()) << packet.status();
  absl::StatusOr<TraceResult> trace = sim->Trace(*packet);
  EXPECT_TRUE(trace.ok()) << trace.status();
  return Fixture{*std::move(sim), *packet, *std::move(trace)};
}

TEST(TraceTextTest, Text) {
  Fixture f = Trace("in=tapa out=eth0 udp src=10.0.0.2 dst=10.9.9.9 dport=53");
  std::string text;
  AppendTraceText(f.sim, f.packet, f.trace, &text);
  EXPECT_EQ(
      text,
      R"(packet   in=tapa out=eth0 udp src=10.0.0.2 dst=10.9.9.9 sport=40000 dport=53 ctstate=new
verdict  DROP
raw      PREROUTING → ACCEPT (policy)
filter   FORWARD → fw → disp → ep #2 "Drop if "wrong" source IP" → DROP
rule     filter ep #2  ! -s 10.0.0.1/32 -m comment --comment "Drop if \"wrong\" source IP" -j DROP
note     table nat (1 rules) is not simulated: the verdict assumes it changes nothing

raw PREROUTING
  - PREROUTING #1  -p udp -m udp --dport 4789 -j NOTRACK
  = PREROUTING policy ACCEPT

filter FORWARD
  + FORWARD #1  -j fw
  + fw #1  -i tap+ -j disp
  + disp #1  -i tapa -g ep
  + ep #1  -m mark --mark 0x0/0x10 -j MARK --set-xmark 0x2/0x2   [mark 0x2]
  + ep #2  ! -s 10.0.0.1/32 -m comment --comment "Drop if \"wrong\" source IP" -j DROP
)");
}

TEST(TraceTextTest, PathsLeaveOutChainsReturnedFrom) {
  // ep was reached by a goto from disp, called from fw: its end returns to fw, so the path
  // to fw #2 does not go through disp or ep.
  Fixture f = Trace("in=tapa out=eth0 udp src=10.0.0.1 dst=10.9.9.9 dport=4789");
  ASSERT_EQ(f.trace.hooks.size(), 2u);
  std::string path;
  AppendHookPath(f.sim, f.trace, f.trace.hooks[1], &path);
  EXPECT_EQ(path, "filter FORWARD → ACCEPT (policy)");
  std::string text;
  AppendTraceText(f.sim, f.packet, f.trace, &text);
  EXPECT_NE(text.find("verdict  ACCEPT (untracked)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  + PREROUTING #1  -p udp -m udp --dport 4789 -j NOTRACK   [untracked]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  < ep ends: return\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nrule     filter FORWARD policy ACCEPT\n"), std::string::npos) << text;
}

TEST(TraceTextTest, Unresolved) {
  Fixture f = Trace("in=tapa out=eth0 tcp src=10.0.0.1 dst=10.9.9.9 dport=1");
  std::string text;
  AppendTraceText(f.sim, f.packet, f.trace, &text);
  EXPECT_NE(text.find("filter   FORWARD → fw → disp → ep #3 → UNRESOLVED: match \"-m u32\" is not "
                      "simulated\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  ? ep #3  -p tcp -m u32 --u32 \"0x0=0x0\" -j DROP\n"
                      "      cannot be decided: match \"-m u32\" is not simulated\n"),
            std::string::npos)
      << text;
}

TEST(TraceTextTest, Json) {
  Fixture f = Trace("in=tapa out=eth0 udp src=10.0.0.2 dst=10.9.9.9 dport=53");
  std::string json;
  AppendTraceJson(f.sim, f.packet, f.trace, &json);
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_STREQ(doc["verdict"].GetString(), "DROP");
  EXPECT_EQ(doc["family"].GetInt(), 4);
  EXPECT_FALSE(doc["untracked"].GetBool());
  EXPECT_STREQ(doc["filter_ct_state"].GetString(), "NEW");
  EXPECT_STREQ(doc["mark"].GetString(), "0x2");
  EXPECT_FALSE(doc.HasMember("unresolved"));
  ASSERT_EQ(doc["hooks"].Size(), 2u);
  const rapidjson::Value& filter = doc["hooks"][1];
  EXPECT_STREQ(filter["path"].GetString(),
               "filter FORWARD → fw → disp → ep #2 \"Drop if \"wrong\" source IP\" → DROP");
  EXPECT_STREQ(filter["decided_by"]["chain"].GetString(), "ep");
  EXPECT_EQ(filter["decided_by"]["rule"].GetInt(), 2);
  EXPECT_STREQ(filter["decided_by"]["text"].GetString(),
               "! -s 10.0.0.1/32 -m comment --comment \"Drop if \\\"wrong\\\" source IP\" -j DROP");
  ASSERT_EQ(doc["steps"].Size(), f.trace.steps.size());
  EXPECT_STREQ(doc["steps"][1]["policy"].GetString(), "ACCEPT");
  EXPECT_TRUE(doc["steps"][5]["matched"].GetBool());
  EXPECT_STREQ(doc["steps"][5]["mark"].GetString(), "0x2");
  EXPECT_STREQ(doc["notes"][0].GetString(), "table nat (1 rules) is not simulated");

  Fixture u = Trace("in=tapa out=eth0 tcp src=10.0.0.1 dst=10.9.9.9 dport=1");
  json.clear();
  AppendTraceJson(u.sim, u.packet, u.trace, &json);
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_STREQ(doc["verdict"].GetString(), "UNRESOLVED");
  EXPECT_STREQ(doc["unresolved"].GetString(), "match \"-m u32\" is not simulated");
}

TEST(TraceTextTest, JsonString) {
  std::string out;
  AppendJsonString("a\"b\\c\n\x01→", &out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\u000a\\u0001→\"");
}

}  // namespace
}  // namespace fiptgen
