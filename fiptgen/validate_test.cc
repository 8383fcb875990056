#include "fiptgen/validate.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

Endpoint Workload(std::string id, std::string interface) {
  Endpoint e;
  e.id = std::move(id);
  e.kind = EndpointKind::kWorkload;
  e.interface = std::move(interface);
  return e;
}

Endpoint Host(std::string id, std::string interface) {
  Endpoint e = Workload(std::move(id), std::move(interface));
  e.kind = EndpointKind::kHost;
  return e;
}

std::string Clashes(const EndpointNameIndex& index, const Endpoint& e) {
  std::vector<std::string> errors;
  index.CheckClashes(e, "endpoint", &errors);
  return absl::StrJoin(errors, "\n");
}

std::string Message(const absl::Status& s) { return s.ok() ? "OK" : std::string(s.message()); }

TEST(EndpointNameIndexTest, ReportsClashesWithOtherEndpoints) {
  Config config = DefaultConfig();
  EndpointNameIndex index(config);
  index.Add(Workload("w\"1\n", "tapeth0"));
  struct Case {
    Endpoint endpoint;
    std::string want;
  } cases[] = {
      {Workload("w2", "tapeth0"),
       "endpoint.interface: \"tapeth0\" is also the interface of endpoint \"w\\\"1\\n\""},
      {Host("h", "eth0"),
       "endpoint.interface: chain name \"felix-from-eth0\" is also made by endpoint "
       "\"w\\\"1\\n\" (interface \"tapeth0\")"},
      // The endpoint held under its own id is the one it replaces: no clash.
      {Workload("w\"1\n", "tapeth0"), ""},
      {Workload("w2", "tapeth1"), ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Clashes(index, c.endpoint), c.want) << c.endpoint.id << " " << c.endpoint.interface;
  }
}

TEST(EndpointNameIndexTest, FirstHolderKeepsANameAndRemoveFreesOnlyItsOwn) {
  Config config = DefaultConfig();
  EndpointNameIndex index(config);
  index.Add(Workload("a", "tapa"));
  index.Add(Workload("b", "tapa"));  // a clash ValidateModel reported: "a" keeps the name
  EXPECT_EQ(Clashes(index, Workload("c", "tapa")),
            "endpoint.interface: \"tapa\" is also the interface of endpoint \"a\"");
  index.Remove(Workload("b", "tapa"));  // not the holder: changes nothing
  EXPECT_NE(Clashes(index, Workload("c", "tapa")), "");
  index.Remove(Workload("a", "tapa"));
  EXPECT_EQ(Clashes(index, Workload("c", "tapa")), "");
  EXPECT_EQ(Clashes(index, Host("h", "a")), "");  // the chain name went too
}

// ValidateModel and ValidateEndpoint-among-others say the same, but for the path.
TEST(ValidateTest, ModelAndEndpointReportAClashAlike) {
  Model model;
  model.endpoints = {Workload("a", "tapeth0"), Host("b", "eth0")};
  EXPECT_EQ(Message(ValidateModel(model)),
            "endpoints[1].interface: chain name \"felix-from-eth0\" is also made by endpoint "
            "\"a\" (interface \"tapeth0\")");
  EndpointNameIndex others(model.config);
  others.Add(model.endpoints[0]);
  EXPECT_EQ(Message(ValidateEndpoint(model, model.endpoints[1], others)),
            "endpoint.interface: chain name \"felix-from-eth0\" is also made by endpoint "
            "\"a\" (interface \"tapeth0\")");
}

TEST(ValidateTest, EndpointAmongOthersReportsClashesThenItsOwnMistakes) {
  Model model;
  model.endpoints = {Workload("a", "tapa")};
  EndpointNameIndex others(model.config);
  others.Add(model.endpoints[0]);
  Endpoint e = Workload("b", "tapa");
  e.profile_ids = {"ghost"};
  EXPECT_EQ(Message(ValidateEndpoint(model, e, others)),
            "endpoint.interface: \"tapa\" is also the interface of endpoint \"a\"\n"
            "endpoint.profile_ids[0]: no profile \"ghost\"");
  // Without the others, only its own.
  EXPECT_EQ(Message(ValidateEndpoint(model, e)), "endpoint.profile_ids[0]: no profile \"ghost\"");
  // An interface that is wrong on its own is reported once, not as a clash too.
  e = Workload("b", "tapa\n");
  others.Add(Workload("c", "tapa\n"));
  EXPECT_EQ(Message(ValidateEndpoint(model, e, others)),
            "endpoint.interface: \"tapa\\n\" may not hold whitespace, control characters, '/', "
            "':', '@', quotes or backslash");
}

// A Model built in code can hold a net with host bits set; it is refused as LoadModel
// refuses the same JSON, with the index of the (sorted) list.
TEST(ValidateTest, EndpointNetsWithHostBitsAreRefused) {
  Model model;
  Endpoint e = Workload("w", "tapw");
  e.ipv4_nets = {*ParseIpNet("10.10.1.0/24", 4), *ParseIpNet("10.10.2.9/24", 4, HostBits::kKeep)};
  e.ipv6_nets = {*ParseIpNet("fd5a::1:1/64", 6, HostBits::kKeep)};
  model.endpoints = {e};
  const std::string v4 =
      "ipv4_nets[1]: \"10.10.2.9/24\" has host bits set: an endpoint owns the addresses it "
      "lists; did you mean \"10.10.2.9/32\" (the address) or \"10.10.2.0/24\" (the network)?";
  const std::string v6 =
      "ipv6_nets[0]: \"fd5a::1:1/64\" has host bits set: an endpoint owns the addresses it "
      "lists; did you mean \"fd5a::1:1/128\" (the address) or \"fd5a::/64\" (the network)?";
  EXPECT_EQ(Message(ValidateModel(model)),
            absl::StrCat("endpoints[0].", v4, "\nendpoints[0].", v6));
  EXPECT_EQ(Message(ValidateEndpoint(model, e)), absl::StrCat("endpoint.", v4, "\nendpoint.", v6));
  EXPECT_EQ(OwnedNetProblem(*ParseIpNet("10.10.2.9/24", 4)), "");
  EXPECT_EQ(OwnedNetProblem(*ParseIpNet("10.10.2.9", 4, HostBits::kKeep)), "");
}

TEST(ValidateTest, DuplicateIdsAndInterfacesInAModel) {
  Model model;
  model.endpoints = {Workload("a", "tapa"), Workload("b", "tapa"), Workload("a", "tapc")};
  EXPECT_EQ(Message(ValidateModel(model)),
            "endpoints[1].interface: \"tapa\" is also the interface of endpoint \"a\"\n"
            "endpoints[2].id: \"a\" is also endpoints[0].id");
}

// A rule built in code gets every check, those LoadModel's reading already makes for JSON
// (ranges, sorted ports) as well as the cross-field ones.
TEST(ValidateTest, RulesBuiltInCode) {
  auto rule_error = [](PolicyRule rule) {
    Model model;
    model.profiles["p"].id = "p";
    model.profiles["p"].tags = {"web"};
    model.ipsets.push_back({"block", 4, "hash:net", {}});
    model.profiles["p"].outbound_rules = {PolicyRule(), std::move(rule)};
    return Message(ValidateModel(model));
  };
  const std::string at = "profiles[\"p\"].outbound_rules[1].";
  PolicyRule r;
  EXPECT_EQ(rule_error(r), "OK");
  r.sets = {{SetMatch::kTag, Side::kSource, false, "web"},
            {SetMatch::kTag, Side::kDestination, true, "db"},
            {SetMatch::kIpset, Side::kSource, false, "block"},
            {SetMatch::kIpset, Side::kDestination, true, "allow"}};
  EXPECT_EQ(rule_error(r), at + "!dst_tag: no profile has tag \"db\"\n" + at +
                               "!dst_ipset: no ipset named \"allow\"");
  r = PolicyRule();
  r.protocol = Match<uint8_t>{0};
  EXPECT_EQ(rule_error(r), at + "protocol: must be 1-255");
  r.protocol = Match<uint8_t>{6};
  r.ports.Set(RulePorts::kDst, {{80, 80}, {22, 22}});
  EXPECT_EQ(rule_error(r),
            at + "dst_ports: must be sorted without duplicates (LoadModel does this)");
  r.ports.Set(RulePorts::kDst, {{90, 80}});
  EXPECT_EQ(rule_error(r), at + "dst_ports: a range must have lo < hi");
  r = PolicyRule();
  r.ports.Set(RulePorts::kNotSrc, {{22, 22}});
  EXPECT_EQ(rule_error(r), at + "!src_ports: needs protocol tcp, udp, sctp or udplite");
  r = PolicyRule();
  r.protocol = Match<uint8_t>{1};
  r.icmp_type = Match<uint8_t>{8};
  r.icmp_code = 255;  // a byte holds no code out of range
  EXPECT_EQ(rule_error(r), "OK");
  r.icmp_type = Match<uint8_t>{255, /*negated=*/true};
  EXPECT_EQ(rule_error(r),
            at + "!icmp_type: must be 0-254 (the kernel reads type 255 as \"any type\")");
  r = PolicyRule();
  r.ip_version = 5;
  EXPECT_EQ(rule_error(r), at + "ip_version: must be 4 or 6");
  r = PolicyRule();
  r.action = Action::kLog;
  r.log_prefix = "a\"b";
  EXPECT_EQ(rule_error(r), at + "log_prefix: \"a\\\"b\" must be 1-29 printable ASCII characters "
                                "without quotes or backslash");
  // Each side's negated /0 named by its own field, in the fields' order.
  r = PolicyRule();
  r.dst_net = Match<IpNet>{*ParseIpNet("::/0", 6), /*negated=*/true};
  EXPECT_EQ(rule_error(r), at + "!dst_net: a negated /0 matches nothing (and nft refuses it); "
                                "remove the rule instead");
  r.src_net = Match<IpNet>{*ParseIpNet("0.0.0.0/0", 4), /*negated=*/true};
  EXPECT_EQ(rule_error(r), at +
                               "!src_net: a negated /0 matches nothing (and nft refuses it); "
                               "remove the rule instead\n" +
                               at +
                               "!dst_net: a negated /0 matches nothing (and nft refuses it); "
                               "remove the rule instead");
}

// A profile's chain name is made only when its id is shortened or the name may be too long:
// each way of being too long is still reported, once, with the name in full.
TEST(ValidateTest, ProfileChainNamesTooLong) {
  Model model;
  model.config.chain_prefix = "felix-long-pfx-";  // too long itself: the names are checked too
  for (const char* id :
       {"ab", "abcdefghi", "abcdefghijkl", "abcdefghijklmno", "an-id-longer-than-sixteen"}) {
    model.profiles[id].id = id;
  }
  EXPECT_EQ(absl::StrJoin(ModelErrors(model), "\n"),
            "config.chain_prefix: \"felix-long-pfx-\" must be 1-7 characters of [A-Za-z0-9_-]\n"
            "profiles[\"abcdefghijkl\"]: chain name \"felix-long-pfx-p-abcdefghijkl-i\" is "
            "longer than 28 characters\n"
            "profiles[\"abcdefghijklmno\"]: chain name \"felix-long-pfx-p-abcdefghijklmno-i\" "
            "is longer than 28 characters\n"
            "profiles[\"an-id-longer-than-sixteen\"]: chain name "
            "\"felix-long-pfx-p-_7af62efab5f07ec-i\" is longer than 28 characters");
}

}  // namespace
}  // namespace fiptgen
