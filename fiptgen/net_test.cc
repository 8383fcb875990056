#include "fiptgen/net.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

TEST(ParseIpNetTest, CanonicalForms) {
  struct Case {
    const char* in;
    int family;
    const char* want;         // ToString()
    const char* want_member;  // ToMemberString()
  } cases[] = {
      {"198.18.1.7/24", 4, "198.18.1.0/24", "198.18.1.0/24"},
      {"198.18.1.7", 4, "198.18.1.7/32", "198.18.1.7"},
      {"0.0.0.0/0", 0, "0.0.0.0/0", "0.0.0.0/0"},
      {"FD5A:f1e1:0::1:1/128", 6, "fd5a:f1e1::1:1/128", "fd5a:f1e1::1:1"},
      {"fd5a:f1e1::1:1/64", 0, "fd5a:f1e1::/64", "fd5a:f1e1::/64"},
      {"198.18.255.255/17", 4, "198.18.128.0/17", "198.18.128.0/17"},
      {"0.10.100.255/32", 0, "0.10.100.255/32", "0.10.100.255"},
      {"::ffff:1.2.3.4", 6, "::ffff:1.2.3.4/128", "::ffff:1.2.3.4"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<IpNet> n = ParseIpNet(c.in, c.family);
    ASSERT_TRUE(n.ok()) << c.in << ": " << n.status();
    EXPECT_EQ(n->ToString(), c.want) << c.in;
    EXPECT_EQ(n->ToMemberString(), c.want_member) << c.in;
  }
}

TEST(ParseIpNetTest, HostBitsClearedOrKept) {
  struct Case {
    const char* in;
    bool has_host_bits;  // when kept
    const char* kept;    // ToString() when kept
    const char* network;
  } cases[] = {
      {"10.10.1.11/24", true, "10.10.1.11/24", "10.10.1.0/24"},
      {"10.10.1.0/24", false, "10.10.1.0/24", "10.10.1.0/24"},
      {"10.10.1.11", false, "10.10.1.11/32", "10.10.1.11/32"},
      {"10.10.1.255/31", true, "10.10.1.255/31", "10.10.1.254/31"},
      {"0.0.0.1/0", true, "0.0.0.1/0", "0.0.0.0/0"},
      {"fd5a:f1e1::1:1/64", true, "fd5a:f1e1::1:1/64", "fd5a:f1e1::/64"},
      {"fd5a:f1e1::1:1/127", true, "fd5a:f1e1::1:1/127", "fd5a:f1e1::1:0/127"},
      {"fd5a:f1e1::/64", false, "fd5a:f1e1::/64", "fd5a:f1e1::/64"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<IpNet> kept = ParseIpNet(c.in, 0, HostBits::kKeep);
    ASSERT_TRUE(kept.ok()) << c.in << ": " << kept.status();
    EXPECT_EQ(kept->has_host_bits(), c.has_host_bits) << c.in;
    EXPECT_EQ(kept->ToString(), c.kept) << c.in;
    EXPECT_EQ(kept->WithoutHostBits().ToString(), c.network) << c.in;
    absl::StatusOr<IpNet> cleared = ParseIpNet(c.in, 0);
    ASSERT_TRUE(cleared.ok()) << c.in;
    EXPECT_FALSE(cleared->has_host_bits()) << c.in;
    EXPECT_EQ(cleared->ToString(), c.network) << c.in;
  }
}

TEST(ParseIpNetTest, RejectsJunk) {
  struct Case {
    const char* in;
    int family;
  } cases[] = {
      {"", 0},
      {"1.2.3", 0},
      {"1.2.3.4/33", 0},
      {"1.2.3.4/", 0},
      {"1.2.3.4/-1", 0},
      {"1.2.3.4/ 8", 0},
      {"::/129", 0},
      {"1.2.3.4", 6},
      {"::1", 4},
      {"1.2.3.4/8\n", 0},
      {"x::1", 0},
      {"1.2.3.4/0008", 0},
      // Dotted quads are read by hand, then by inet_pton: both refuse these.
      {"01.2.3.4", 0},
      {"1.2.3.256", 0},
      {"1.2.3.4.5", 0},
      {"1..2.3", 0},
      {".1.2.3", 0},
      {"1.2.3.", 0},
      {" 1.2.3.4", 0},
      {"1.2.3.1000", 0},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(ParseIpNet(c.in, c.family).ok()) << "\"" << c.in << "\" family " << c.family;
  }
}

TEST(ParseMacTest, LowerCasesAndRejectsJunk) {
  absl::StatusOr<MacAddress> m = ParseMac("02:AA:00:0b:00:01");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ToString(), "02:aa:00:0b:00:01");
  for (const char* bad : {"zz", "02:00:00:00:00", "02:00:00:00:00:001", "2:00:00:00:00:01",
                          "02-00-00-00-00-01", "02:00:00:00:00:0g", ""}) {
    EXPECT_FALSE(ParseMac(bad).ok()) << bad;
  }
}

// MACs are read in place; what that accepts must be what the rule says (six pairs of hex
// digits joined by ':'), here written the long way: split, then check each part.
TEST(ParseMacTest, AcceptsExactlySixPairsOfHexDigits) {
  std::mt19937 rng(5);
  const char kHex[] = "0aF9";
  const char kJunk[] = "g-: ";
  int parsed = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text(rng() % 4 == 0 ? 15 + rng() % 5 : 17, ' ');
    for (size_t c = 0; c < text.size(); ++c) {
      text[c] = rng() % 64 == 0 ? kJunk[rng() % 4] : c % 3 == 2 ? ':' : kHex[rng() % 4];
    }
    std::vector<std::string> parts = absl::StrSplit(text, ':');
    bool want = parts.size() == 6;
    for (const std::string& p : parts) {
      want = want && p.size() == 2 &&
             p.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    }
    absl::StatusOr<MacAddress> got = ParseMac(text);
    ASSERT_EQ(got.ok(), want) << text;
    if (want) {
      ++parsed;
      std::string lower = absl::AsciiStrToLower(text);
      ASSERT_EQ(got->ToString(), lower) << text;
    }
  }
  EXPECT_GT(parsed, 1000);
}

// IPv4 addresses are read by hand; what that accepts must be what inet_pton accepts, with
// the same bytes: random dotted text of 0-5 parts of 0-4 digits, leading zeros, junk.
TEST(ParseIpNetTest, DottedQuadsAreReadAsInetPtonReadsThem) {
  std::mt19937 rng(7);
  const char kBytes[] = "0123456789012345678925.x";
  int parsed = 0;
  for (int i = 0; i < 300000; ++i) {
    std::string text;
    const int parts = rng() % 4 == 0 ? static_cast<int>(rng() % 6) : 4;
    for (int part = 0; part < parts; ++part) {
      if (part > 0) {
        text += '.';
      }
      const int digits =
          rng() % 4 == 0 ? static_cast<int>(rng() % 5) : 1 + static_cast<int>(rng() % 3);
      for (int d = digits; d > 0; --d) {
        text += kBytes[rng() % 24];
      }
    }
    unsigned char want[4];
    const bool ok = inet_pton(AF_INET, text.c_str(), want) == 1;
    absl::StatusOr<IpNet> got = ParseIpNet(text, 4);
    ASSERT_EQ(got.ok(), ok) << text;
    if (ok) {
      ++parsed;
      ASSERT_EQ(std::memcmp(got->addr.data(), want, 4), 0) << text;
    }
  }
  EXPECT_GT(parsed, 10000);
}

// IPv6 text is formatted by hand; it must be exactly what inet_ntop (and so iptables-save)
// writes, for every shape of zero runs.
TEST(IpNetTest, Ipv6TextMatchesInetNtop) {
  std::mt19937 rng(1);
  for (int i = 0; i < 200000; ++i) {
    IpNet net;
    net.family = 6;
    net.prefix_len = 128;
    for (int g = 0; g < 8; ++g) {
      // Mostly zero groups, so that runs of every length and position come up.
      uint16_t v = rng() % 3 == 0 ? static_cast<uint16_t>(rng() % (rng() % 2 ? 16 : 65536)) : 0;
      net.addr[2 * g] = v >> 8;
      net.addr[2 * g + 1] = v & 0xff;
    }
    char buf[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, net.addr.data(), buf, sizeof(buf)), nullptr);
    ASSERT_EQ(net.ToMemberString(), buf);
  }
}

// IPv4 text is written from a table of octets; every octet value, in every position,
// must come out as inet_ntop writes it, with and without a prefix.
TEST(IpNetTest, Ipv4TextMatchesInetNtop) {
  for (int position = 0; position < 4; ++position) {
    for (int v = 0; v < 256; ++v) {
      IpNet net;
      net.family = 4;
      net.prefix_len = 32;
      net.addr[0] = 198;
      net.addr[1] = 18;
      net.addr[2] = 7;
      net.addr[3] = 255;
      net.addr[position] = static_cast<uint8_t>(v);
      char buf[INET_ADDRSTRLEN];
      ASSERT_NE(inet_ntop(AF_INET, net.addr.data(), buf, sizeof(buf)), nullptr);
      ASSERT_EQ(net.ToMemberString(), buf);
      net.prefix_len = 9;
      ASSERT_EQ(net.ToString(), absl::StrCat(buf, "/9"));
    }
  }
}

// IPv6 addresses in the common form are read by hand; what the hand accepts must be what
// inet_pton accepts, with the same bytes. Random addresses of 0-9 groups of 0-5 hex digits,
// with "::" (or two) anywhere, a stray ':' or '.', an IPv4 tail: every edge of the form.
TEST(ParseIpNetTest, AddressesAreReadAsInetPtonReadsThem) {
  std::mt19937 rng(3);
  const char kHex[] = "0123456789abcdefABCDEF";
  int parsed = 0;
  for (int i = 0; i < 300000; ++i) {
    std::vector<std::string> groups(rng() % 10);
    for (std::string& g : groups) {
      for (int d = rng() % 6; d > 0; --d) {
        g += kHex[rng() % 22];
      }
    }
    std::string text;
    const size_t gap = rng() % 3 == 0 ? groups.size() + 1 : rng() % (groups.size() + 1);
    for (size_t g = 0; g <= groups.size(); ++g) {
      if (g == gap || rng() % 40 == 0) {
        text += "::";
      } else if (g > 0 && g < groups.size()) {
        text += rng() % 50 == 0 ? "." : ":";
      }
      if (g < groups.size()) {
        text += groups[g];
      }
    }
    if (rng() % 20 == 0) {
      text += rng() % 2 ? ":1.2.3.4" : ":";
    }
    unsigned char want[16];
    const bool v4 = inet_pton(AF_INET, text.c_str(), want) == 1;
    const bool v6 = !v4 && inet_pton(AF_INET6, text.c_str(), want) == 1;
    absl::StatusOr<IpNet> got = ParseIpNet(text, 0);
    ASSERT_EQ(got.ok(), v4 || v6) << text;
    if (got.ok()) {
      ++parsed;
      ASSERT_EQ(got->family, v4 ? 4 : 6) << text;
      ASSERT_EQ(std::memcmp(got->addr.data(), want, v4 ? 4 : 16), 0) << text;
    }
    // The same address with a prefix length (or a '/' and no length, or a second '/'):
    // the address ends at the first '/', and the host bits past the length are cleared,
    // byte by byte here.
    const int len = static_cast<int>(rng() % 131);
    const int form = static_cast<int>(rng() % 8);
    const std::string suffix = form == 0   ? "/"
                               : form == 1 ? absl::StrCat("/", len, "/1")
                                           : absl::StrCat("/", len);
    absl::StatusOr<IpNet> net = ParseIpNet(text + suffix, 0);
    ASSERT_EQ(net.ok(), (v4 || v6) && form > 1 && len <= (v4 ? 32 : 128)) << text << suffix;
    if (net.ok()) {
      for (int b = 0; b < (v4 ? 4 : 16); ++b) {
        const int kept = std::min(8, std::max(0, len - 8 * b));
        want[b] &= static_cast<unsigned char>(0xff00 >> kept);
      }
      ASSERT_EQ(net->prefix_len, len) << text << suffix;
      ASSERT_EQ(std::memcmp(net->addr.data(), want, v4 ? 4 : 16), 0) << text << suffix;
    }
  }
  EXPECT_GT(parsed, 10000);
}

// SortUnique orders as operator< does and drops repeats: both families mixed, IPv4 alone
// (sorted as one number a net), IPv6 alone, and IPv4 nets with bytes set past the fourth
// (as only a hand-built IpNet has; operator< reads them).
// Lists of 5,000 (sorted by radix) and of 100 (by std::sort).
TEST(IpNetTest, SortUniqueOrdersAsLessThan) {
  enum Kind { kMixed, kV4, kV6, kV4WithTail };
  for (Kind kind : {kMixed, kV4, kV6, kV4WithTail}) {
    for (int size : {5000, 100}) {
      std::mt19937 rng(5);
      std::vector<IpNet> nets;
      for (int i = 0; i < size; ++i) {
        IpNet n;
        n.family = kind == kV4 || kind == kV4WithTail ? 4 : kind == kV6 ? 6 : rng() % 2 ? 4 : 6;
        n.prefix_len = static_cast<int>(rng() % 3) + (n.family == 4 ? 30 : 126);
        for (int b = 0; b < (n.family == 4 ? 4 : 16); ++b) {
          n.addr[b] = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : 0);
        }
        if (kind == kV4WithTail && i % 7 == 0) {
          n.addr[4 + rng() % 12] = 1;
        }
        nets.push_back(n);
      }
      std::vector<IpNet> want = nets;
      std::sort(want.begin(), want.end());
      want.erase(std::unique(want.begin(), want.end()), want.end());
      SortUnique(&nets);
      ASSERT_EQ(nets.size(), want.size()) << kind;
      for (size_t i = 0; i < nets.size(); ++i) {
        ASSERT_TRUE(nets[i] == want[i]) << kind << " " << size << " " << i << ": "
                                        << nets[i].ToString() << " " << want[i].ToString();
      }
    }
  }
}

}  // namespace
}  // namespace fiptgen
