#include "fiptgen/net.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fiptgen {
namespace {

void ClearHostBits(IpNet& net) {
  int bytes = net.family == 4 ? 4 : 16;
  for (int i = 0; i < bytes; ++i) {
    int bits_kept = net.prefix_len - 8 * i;
    if (bits_kept >= 8) {
      continue;
    }
    uint8_t mask = bits_kept <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits_kept));
    net.addr[i] &= mask;
  }
}

// Writes the address's text to `out` (room for INET6_ADDRSTRLEN) and returns its length.
// By hand, into a buffer: sets of 100,000 members are printed with it.
size_t WriteAddress(const IpNet& net, char* out) {
  char* p = out;
  auto decimal = [&p](unsigned v) {
    if (v >= 100) {
      *p++ = static_cast<char>('0' + v / 100);
    }
    if (v >= 10) {
      *p++ = static_cast<char>('0' + v / 10 % 10);
    }
    *p++ = static_cast<char>('0' + v % 10);
  };
  if (net.family == 4) {
    for (int i = 0; i < 4; ++i) {
      if (i > 0) {
        *p++ = '.';
      }
      decimal(net.addr[i]);
    }
    return static_cast<size_t>(p - out);
  }
  // RFC 5952, as glibc's inet_ntop writes it, by hand (inet_ntop showed in profiles):
  // groups in lower-case hex without leading zeros, the longest run of two or more zero
  // groups (the first of equals) as "::". inet_ntop writes addresses whose first 80 bits
  // are zero with an embedded IPv4 part; those go to inet_ntop itself.
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i) {
    groups[i] = static_cast<uint16_t>(net.addr[2 * i] << 8 | net.addr[2 * i + 1]);
  }
  if (groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 && groups[4] == 0) {
    if (inet_ntop(AF_INET6, net.addr.data(), out, INET6_ADDRSTRLEN) == nullptr) {
      return 0;
    }
    return std::strlen(out);
  }
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) {
      ++j;
    }
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) {
    best_start = -1;
  }
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      *p++ = ':';
      *p++ = ':';
      i += best_len - 1;
      continue;
    }
    if (i > 0 && i != best_start + best_len) {
      *p++ = ':';
    }
    // The group's digits without leading zeros, all four made at once: its nibbles spread
    // into the four bytes of a word (the first in the high byte), each turned into its
    // digit ('0' + n, or 'a' + n - 10 where n + 6 carries into bit 4), the word shifted
    // past the leading zeros and written whole; the text advances by the digits' count
    // (the room has space for the bytes past it, which what follows overwrites).
    const uint32_t g = groups[i];
    const int digits = g < 0x10 ? 1 : g < 0x100 ? 2 : g < 0x1000 ? 3 : 4;
    const uint32_t nibbles =
        (g & 0xf000) << 12 | (g & 0x0f00) << 8 | (g & 0x00f0) << 4 | (g & 0x000f);
    const uint32_t letters = ((nibbles + 0x06060606) >> 4) & 0x01010101;
    const uint32_t text = (nibbles + 0x30303030 + letters * ('a' - '0' - 10)) << (32 - 8 * digits);
    const char bytes[4] = {static_cast<char>(text >> 24), static_cast<char>(text >> 16),
                           static_cast<char>(text >> 8), static_cast<char>(text)};
    std::memcpy(p, bytes, sizeof(bytes));
    p += digits;
  }
  return static_cast<size_t>(p - out);
}

}  // namespace

IpNet IpNet::WithoutHostBits() const {
  IpNet net = *this;
  ClearHostBits(net);
  return net;
}

char* IpNet::WriteText(char* out) const {
  static_assert(kMaxText >= INET6_ADDRSTRLEN + 1 + 11, "an address, '/' and any int");
  char* end = out + WriteAddress(*this, out);
  *end++ = '/';
  // Any int: a hand-built IpNet is printed as it is.
  const bool negative = prefix_len < 0;
  uint32_t len =
      negative ? 0u - static_cast<uint32_t>(prefix_len) : static_cast<uint32_t>(prefix_len);
  if (negative) {
    *end++ = '-';
  }
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + len % 10);
    len /= 10;
  } while (len != 0);
  while (n > 0) {
    *end++ = digits[--n];
  }
  return end;
}

std::string IpNet::ToString() const {
  char buf[kMaxText];
  return std::string(buf, static_cast<size_t>(WriteText(buf) - buf));
}

char* IpNet::WriteMemberText(char* out) const {
  return is_host() ? out + WriteAddress(*this, out) : WriteText(out);
}

std::string IpNet::ToMemberString() const {
  char buf[kMaxText];
  return std::string(buf, static_cast<size_t>(WriteMemberText(buf) - buf));
}

namespace {

// "x:x:x:x:x:x:x:x" (1-4 hex digits a group) with at most one "::" in place of one or more
// zero groups, by hand into 16 bytes: a huge model reads 100,000 IPv6 members, and glibc's
// inet_pton showed in profiles. False for anything else (an embedded IPv4 address, too
// many digits or groups, a lone ':'), which inet_pton then judges: this only ever accepts
// what inet_pton accepts, with the same bytes (net_test compares them).
// The value of each byte as a hex digit, or -1.
struct HexTable {
  int8_t value[256] = {};
  constexpr HexTable() {
    for (int c = 0; c < 256; ++c) {
      value[c] = c >= '0' && c <= '9'   ? static_cast<int8_t>(c - '0')
                 : c >= 'a' && c <= 'f' ? static_cast<int8_t>(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? static_cast<int8_t>(c - 'A' + 10)
                                        : int8_t{-1};
    }
  }
};
constexpr HexTable kHexDigit;

bool ParseColonHex(absl::string_view s, uint8_t* out) {
  uint16_t head[8], tail[8];
  int heads = 0, tails = 0;
  bool gap = false;
  size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    gap = true;
    i = 2;
  }
  while (i < s.size()) {
    unsigned value = 0;
    int digits = 0;
    for (; i < s.size() && digits <= 4; ++i, ++digits) {
      const int d = kHexDigit.value[static_cast<unsigned char>(s[i])];
      if (d < 0) {
        break;
      }
      value = value << 4 | static_cast<unsigned>(d);
    }
    if (digits == 0 || digits > 4 || heads + tails == 8) {
      return false;
    }
    (gap ? tail[tails++] : head[heads++]) = static_cast<uint16_t>(value);
    if (i == s.size()) {
      break;
    }
    if (s[i] != ':' || ++i == s.size()) {  // a '.' or another byte; or a trailing ':'
      return false;
    }
    if (s[i] == ':') {
      if (gap) {  // a second "::"
        return false;
      }
      gap = true;
      if (++i == s.size()) {  // "::" last: "fd5a:f1e1::"
        break;
      }
    }
  }
  if (gap ? heads + tails > 7 : heads != 8) {
    return false;
  }
  uint16_t groups[8] = {};
  std::copy(head, head + heads, groups);
  std::copy(tail, tail + tails, groups + 8 - tails);
  for (int g = 0; g < 8; ++g) {
    out[2 * g] = static_cast<uint8_t>(groups[g] >> 8);
    out[2 * g + 1] = static_cast<uint8_t>(groups[g]);
  }
  return true;
}

// "a.b.c.d" in the form inet_pton reads (1-3 digits each, no leading zero, at most 255),
// by hand: loading a model reads tens of thousands. False for anything else, which
// inet_pton then judges.
bool ParseDottedQuad(absl::string_view s, uint8_t* out) {
  int part = 0, digits = 0;
  unsigned value = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      if (digits == 1 && value == 0) {
        return false;
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
      if (++digits > 3 || value > 255) {
        return false;
      }
    } else if (c == '.' && digits > 0 && part < 3) {
      out[part++] = static_cast<uint8_t>(value);
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (digits == 0 || part != 3) {
    return false;
  }
  out[3] = static_cast<uint8_t>(value);
  return true;
}

}  // namespace

absl::StatusOr<IpNet> ParseIpNet(absl::string_view text, int family, HostBits host_bits) {
  IpNet net;
  absl::string_view addr = text;
  absl::string_view len;
  bool has_len = false;
  if (size_t slash = text.find('/'); slash != absl::string_view::npos) {
    addr = text.substr(0, slash);
    len = text.substr(slash + 1);
    has_len = true;
  }
  // inet_pton wants a NUL-terminated string; bound the copy so junk cannot overflow.
  if (addr.empty() || addr.size() >= INET6_ADDRSTRLEN) {
    return absl::InvalidArgumentError("not an IP address");
  }
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, addr.data(), addr.size());
  buf[addr.size()] = '\0';
  if (ParseDottedQuad(addr, net.addr.data())) {
    net.family = 4;
  } else if (ParseColonHex(addr, net.addr.data())) {
    net.family = 6;
  } else if (inet_pton(AF_INET, buf, net.addr.data()) == 1) {
    net.family = 4;
  } else if (inet_pton(AF_INET6, buf, net.addr.data()) == 1) {
    net.family = 6;
  } else {
    return absl::InvalidArgumentError("not an IP address");
  }
  if (family != 0 && family != net.family) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv", family, " address"));
  }
  net.prefix_len = net.max_prefix();
  if (has_len) {
    int n = 0;
    bool digits = !len.empty() && len.size() <= 3;
    for (char c : len) {
      digits = digits && c >= '0' && c <= '9';
      n = n * 10 + (c - '0');
    }
    if (!digits || n > net.max_prefix()) {
      return absl::InvalidArgumentError(absl::StrCat("prefix length must be 0-", net.max_prefix()));
    }
    net.prefix_len = n;
  }
  if (host_bits == HostBits::kClear) {
    ClearHostBits(net);
  }
  return net;
}

char* MacAddress::WriteText(char* out) const {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 6; ++i) {
    if (i > 0) {
      *out++ = ':';
    }
    *out++ = kHex[octets[i] >> 4];
    *out++ = kHex[octets[i] & 0xf];
  }
  return out;
}

std::string MacAddress::ToString() const {
  char text[kTextSize];
  return std::string(text, static_cast<size_t>(WriteText(text) - text));
}

absl::StatusOr<MacAddress> ParseMac(absl::string_view text) {
  MacAddress mac;
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() != 6) {
    return absl::InvalidArgumentError("not a MAC address");
  }
  for (int i = 0; i < 6; ++i) {
    absl::string_view p = parts[i];
    uint32_t v = 0;
    if (p.size() != 2 || p.find_first_not_of("0123456789abcdefABCDEF") != p.npos ||
        !absl::SimpleHexAtoi(p, &v)) {
      return absl::InvalidArgumentError("not a MAC address");
    }
    mac.octets[i] = static_cast<uint8_t>(v);
  }
  return mac;
}

namespace {

// Sorts IPv4 nets as operator< does, each as one number (the address, then the prefix
// length, in 40 bits), when every one is as ParseIpNet makes them: family 4, nothing past
// the fourth byte, a prefix length of 0-255. False, with `nets` untouched, otherwise.
bool SortIpv4(std::vector<IpNet>* nets) {
  std::vector<uint64_t> keys;
  keys.reserve(nets->size());
  for (const IpNet& n : *nets) {
    uint32_t address, rest4;
    uint64_t rest8;
    std::memcpy(&address, n.addr.data(), 4);
    std::memcpy(&rest4, n.addr.data() + 4, 4);
    std::memcpy(&rest8, n.addr.data() + 8, 8);
    if (n.family != 4 || rest4 != 0 || rest8 != 0 || n.prefix_len < 0 || n.prefix_len > 255) {
      return false;
    }
    keys.push_back(uint64_t{be32toh(address)} << 8 | static_cast<uint64_t>(n.prefix_len));
  }
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < keys.size(); ++i) {
    IpNet& n = (*nets)[i];
    const uint32_t address = htobe32(static_cast<uint32_t>(keys[i] >> 8));
    std::memcpy(n.addr.data(), &address, 4);
    n.prefix_len = static_cast<int>(keys[i] & 255);
  }
  return true;
}

}  // namespace

void SortUnique(std::vector<IpNet>* nets) {
  if (!std::is_sorted(nets->begin(), nets->end()) && !SortIpv4(nets)) {
    struct Key {
      int family;
      uint64_t high, low;  // the address, most significant byte first
      int prefix_len;
      bool operator<(const Key& b) const {
        if (family != b.family) {
          return family < b.family;
        }
        if (high != b.high) {
          return high < b.high;
        }
        return low != b.low ? low < b.low : prefix_len < b.prefix_len;
      }
    };
    std::vector<Key> keys;
    keys.reserve(nets->size());
    for (const IpNet& n : *nets) {
      uint64_t high, low;
      std::memcpy(&high, n.addr.data(), 8);
      std::memcpy(&low, n.addr.data() + 8, 8);
      keys.push_back({n.family, be64toh(high), be64toh(low), n.prefix_len});
    }
    std::sort(keys.begin(), keys.end());
    for (size_t i = 0; i < keys.size(); ++i) {
      IpNet& n = (*nets)[i];
      const uint64_t high = htobe64(keys[i].high), low = htobe64(keys[i].low);
      n.family = keys[i].family;
      std::memcpy(n.addr.data(), &high, 8);
      std::memcpy(n.addr.data() + 8, &low, 8);
      n.prefix_len = keys[i].prefix_len;
    }
  }
  nets->erase(std::unique(nets->begin(), nets->end()), nets->end());
}

}  // namespace fiptgen
