// Addresses as fiptgen reads and writes them: IPv4/IPv6 networks and MAC addresses,
// printed in the canonical form iptables-save and ipset save use.
//
//   absl::StatusOr<IpNet> n = ParseIpNet("198.18.1.7/24", 4);
//   n->ToString() == "198.18.1.0/24";    // host bits cleared
//   n->ToMemberString() == "198.18.1.0/24";  // ipset form: "/32" and "/128" left off
//   ParseIpNet("198.18.1.7/24", 4, HostBits::kKeep)->has_host_bits() == true
#ifndef FIPTGEN_NET_H_
#define FIPTGEN_NET_H_

#include <endian.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fiptgen {

struct IpNet {
  int family = 4;                  // 4 or 6
  std::array<uint8_t, 16> addr{};  // network byte order; v4 uses the first 4 bytes
  int prefix_len = 32;

  int max_prefix() const { return family == 4 ? 32 : 128; }
  bool is_host() const { return prefix_len == max_prefix(); }
  // True when the address has bits set past prefix_len ("198.18.1.7/24"), which only
  // ParseIpNet(..., HostBits::kKeep) or a hand-built IpNet can give.
  bool has_host_bits() const { return !(WithoutHostBits() == *this); }
  // The network: the same net with the host bits cleared ("198.18.1.0/24").
  IpNet WithoutHostBits() const;
  // "198.18.1.0/24", "fd5a:f1e1::1:1/128": the iptables-save form.
  std::string ToString() const;
  // ToString()'s text written to `out`, which has room for kMaxText bytes; returns the end
  // of what it wrote. For text built in a buffer, without a string per net.
  static constexpr size_t kMaxText = 64;
  char* WriteText(char* out) const;
  // "198.18.1.1" for a host, else as ToString(): the ipset save form.
  std::string ToMemberString() const;
  // ToMemberString()'s text written to `out` (room for kMaxText bytes); returns its end.
  char* WriteMemberText(char* out) const;

  // Ordered by family, address (as bytes), prefix length. The address is compared as two
  // big-endian words: sets of 100,000 members are sorted with this, and a byte-wise compare
  // (two memcmp calls) was a quarter of a huge model's run.
  friend bool operator<(const IpNet& a, const IpNet& b) {
    if (a.family != b.family) {
      return a.family < b.family;
    }
    const uint64_t a0 = a.Word(0), b0 = b.Word(0);
    if (a0 != b0) {
      return a0 < b0;
    }
    const uint64_t a1 = a.Word(1), b1 = b.Word(1);
    if (a1 != b1) {
      return a1 < b1;
    }
    return a.prefix_len < b.prefix_len;
  }
  friend bool operator==(const IpNet& a, const IpNet& b) {
    return a.family == b.family && a.Word(0) == b.Word(0) && a.Word(1) == b.Word(1) &&
           a.prefix_len == b.prefix_len;
  }
  // For absl's hash containers (the planner's member deltas).
  template <typename H>
  friend H AbslHashValue(H h, const IpNet& n) {
    return H::combine(std::move(h), n.family, n.Word(0), n.Word(1), n.prefix_len);
  }

 private:
  // Bytes 8*i to 8*i+7 of the address as a number, most significant first.
  uint64_t Word(int i) const {
    uint64_t word;
    std::memcpy(&word, addr.data() + 8 * i, sizeof(word));
    return be64toh(word);
  }
};

// Sorts `nets` as operator< orders them and removes duplicates: what LoadModel does to
// every list of nets, some of 100,000 members. It sorts keys made once per net (the
// address as numbers), not the nets, whose operator< reads the address bytes at every
// compare; long lists of one family by radix, a byte of the keys a pass.
void SortUnique(std::vector<IpNet>* nets);

enum class HostBits {
  kClear,  // "198.18.1.7/24" is the network 198.18.1.0/24, as iptables reads it
  kKeep,   // ... is 198.18.1.7 with prefix 24: for a caller that refuses it
};

// Parses "a.b.c.d[/n]" (family 4) or "x:y::z[/n]" (family 6); a missing "/n" means a host.
// `family` 0 accepts either. Errors say what is wrong, without a path.
absl::StatusOr<IpNet> ParseIpNet(absl::string_view text, int family,
                                 HostBits host_bits = HostBits::kClear);

struct MacAddress {
  std::array<uint8_t, 6> octets{};
  // "02:00:00:00:00:0a": lower case, as iptables-save prints it.
  std::string ToString() const;
  // The same 17 characters written at `out`; returns their end.
  static constexpr size_t kTextSize = 17;
  char* WriteText(char* out) const;
};

// Parses six colon-separated hex octets ("02:00:00:00:00:0A").
absl::StatusOr<MacAddress> ParseMac(absl::string_view text);

}  // namespace fiptgen

#endif  // FIPTGEN_NET_H_
