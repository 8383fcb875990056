#include "fiptgen/protocols.h"

#include "gtest/gtest.h"

namespace fiptgen {
namespace {

TEST(ProtocolsTest, SaveNames) {
  // As iptables-save 1.8.9 prints them on Debian 12 (getprotobynumber over netbase).
  struct Case {
    int number;
    const char* name;
  } cases[] = {
      {1, "icmp"},       {6, "tcp"},    {17, "udp"},      {47, "gre"}, {50, "esp"},
      {58, "ipv6-icmp"}, {132, "sctp"}, {136, "udplite"}, {7, "7"},    {255, "255"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ProtocolSaveName(c.number), c.name) << "protocol " << c.number;
  }
}

// ChainFactory keeps each " -p <name>" match in 32 bytes (chain_factory.h, ProtocolMatch).
TEST(ProtocolsTest, EverySaveNameFitsTheFactorysMatchRoom) {
  for (int p = 0; p < 256; ++p) {
    EXPECT_LE(ProtocolSaveName(p).size() + 4, 32u) << "protocol " << p;
  }
}

TEST(ProtocolsTest, ModelNamesAndPorts) {
  struct Case {
    const char* name;
    std::optional<int> number;
    bool ports;
  } cases[] = {
      {"tcp", 6, true},
      {"udp", 17, true},
      {"sctp", 132, true},
      {"udplite", 136, true},
      {"icmp", 1, false},
      {"icmpv6", 58, false},
      {"gre", std::nullopt, false},
      {"TCP", std::nullopt, false},
      {"", std::nullopt, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ParseProtocolName(c.name), c.number) << "name \"" << c.name << "\"";
    if (c.number) {
      EXPECT_EQ(ProtocolHasPorts(*c.number), c.ports) << "name \"" << c.name << "\"";
    }
  }
}

}  // namespace
}  // namespace fiptgen
