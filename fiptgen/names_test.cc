#include "fiptgen/names.h"

#include "gtest/gtest.h"

namespace fiptgen {
namespace {

TEST(UniquelyShortenTest, FelixVectors) {
  // Felix's own test vectors for uniquely_shorten.
  struct Case {
    const char* in;
    int length;
    const char* want;
  } cases[] = {
      {"foobarbaz12", 10, "_d71c1ff3e"},
      {"foobarbaz12", 9, "_94df2800"},
      {"_foobar", 10, "_foobar"},
      {"_foobar", 7, "_9f4764"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(UniquelyShorten(c.in, c.length), c.want) << c.in << " at width " << c.length;
  }
}

TEST(UniquelyShortenTest, KeepsShortPlainNamesAndHashesTheRest) {
  struct Case {
    const char* in;
    bool kept;
  } cases[] = {
      {"web", true},
      {"a.b-c_d", true},
      {"exactly16charsxx", true},
      {"_xactly16charsxx", false},  // 16 characters starting with "_" could be a hash
      {"seventeen-chars-x", false},
      {"has space", false},
      {"new\nline", false},
      {"quote\"", false},
  };
  for (const Case& c : cases) {
    std::string got = UniquelyShorten(c.in, 16);
    if (c.kept) {
      EXPECT_EQ(got, c.in);
    } else {
      EXPECT_EQ(got.size(), 16u) << c.in;
      EXPECT_EQ(got[0], '_') << c.in;
      EXPECT_EQ(got.find_first_not_of("_0123456789abcdef"), std::string::npos) << c.in;
    }
  }
}

TEST(NamerTest, ChainAndSetNames) {
  Config config;
  Namer n(config);
  Endpoint w;
  w.kind = EndpointKind::kWorkload;
  w.interface = "tapw1";
  Endpoint h;
  h.kind = EndpointKind::kHost;
  h.interface = "eth0";
  EXPECT_EQ(n.EndpointChain(ChainDir::kFrom, w), "felix-from-w1");
  EXPECT_EQ(n.EndpointChain(ChainDir::kTo, h), "felix-to-eth0");
  EXPECT_EQ(n.ProfileChain("web", RuleDir::kInbound), "felix-p-web-i");
  EXPECT_EQ(n.ProfileChain("web", RuleDir::kOutbound), "felix-p-web-o");
  EXPECT_EQ(n.TagSet("web", 6), "felix-v6-web");
  EXPECT_EQ(n.ExplicitSet("blocklist"), "felix-blocklist");
  EXPECT_EQ(n.TemporarySet("felix-v4-web"), "felix-tmp-v4-web");
  // The longest names fit the kernel's limits with the default prefixes.
  std::string long_id(40, 'x');
  EXPECT_LE(n.ProfileChain(long_id, RuleDir::kInbound).size(), kMaxChainName);
  EXPECT_LE(n.TemporarySet(n.TagSet(long_id, 4)).size(), kMaxSetName);
  // Both of a profile's chains at once, the same names as one at a time.
  for (const std::string& id : {std::string("web"), long_id, std::string("a b")}) {
    EXPECT_EQ(n.ProfileChains(id), std::make_pair(n.ProfileChain(id, RuleDir::kInbound),
                                                  n.ProfileChain(id, RuleDir::kOutbound)))
        << id;
  }
  EXPECT_EQ(n.ProfileChains("web"),
            std::make_pair(std::string("felix-p-web-i"), std::string("felix-p-web-o")));
}

TEST(NamerTest, LayoutChainNames) {
  Config config;
  const Namer felix(config);
  Config other_config;
  other_config.chain_prefix = "k-";
  const Namer other(other_config);
  const DispatchRoot& from_endpoint = Tables()[1].dispatch[0];
  struct Case {
    std::string got;
    const char* want;
  };
  const Case cases[] = {
      {felix.Fixed(FixedChain::kInput), "felix-INPUT"},
      {felix.Fixed(FixedChain::kFailsafeOut), "felix-FAILSAFE-OUT"},
      {other.Fixed(FixedChain::kFromHostIf), "k-FROM-HOST-IF"},
      {felix.DispatchSubchain(from_endpoint, "a"), "felix-FROM-EP-PFX-a"},
      {felix.DispatchSubchain(from_endpoint, "abcdefghij"), "felix-FROM-EP-PFX-abcdefghij"},
      // Past 28 characters the key is shortened to fit: SHA-256("10 abcdefghijk").
      {felix.DispatchSubchain(from_endpoint, "abcdefghijk"), "felix-FROM-EP-PFX-_a9c369bc3"},
      {other.DispatchSubchain(from_endpoint, "abcdefghijk"), "k-FROM-EP-PFX-abcdefghijk"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.got, c.want);
    EXPECT_LE(c.got.size(), kMaxChainName) << c.got;
  }
}

}  // namespace
}  // namespace fiptgen
