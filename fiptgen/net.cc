#include "fiptgen/net.h"

#include <arpa/inet.h>
#include <endian.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fiptgen {
namespace {

void ClearHostBits(IpNet& net) {
  int bytes = net.family == 4 ? 4 : 16;
  if (net.prefix_len >= bytes * 8) {
    return;  // a host (most nets a model holds): no bit to clear
  }
  if (bytes == 4) {  // IPv4 as one number: the mask in one step
    uint32_t address;
    std::memcpy(&address, net.addr.data(), 4);
    const uint32_t mask = net.prefix_len <= 0 ? 0 : ~uint32_t{0} << (32 - net.prefix_len);
    address = htobe32(be32toh(address) & mask);
    std::memcpy(net.addr.data(), &address, 4);
    return;
  }
  // IPv6 as two big-endian words, each masked in one step.
  for (int word = 0; word < 2; ++word) {
    const int bits_kept = net.prefix_len - 64 * word;
    if (bits_kept >= 64) {
      continue;
    }
    uint64_t value;
    std::memcpy(&value, net.addr.data() + 8 * word, 8);
    const uint64_t mask = bits_kept <= 0 ? 0 : ~uint64_t{0} << (64 - bits_kept);
    value = htobe64(be64toh(value) & mask);
    std::memcpy(net.addr.data() + 8 * word, &value, 8);
  }
}

// An IPv4 octet's text and the dot after it ("7.", "42.", "198."), and its length.
struct OctetText {
  char text[4];
  uint32_t size;
};
constexpr std::array<OctetText, 256> MakeOctetTexts() {
  std::array<OctetText, 256> texts{};
  for (unsigned v = 0; v < 256; ++v) {
    OctetText& t = texts[v];
    t.size = 0;
    if (v >= 100) {
      t.text[t.size++] = static_cast<char>('0' + v / 100);
    }
    if (v >= 10) {
      t.text[t.size++] = static_cast<char>('0' + v / 10 % 10);
    }
    t.text[t.size++] = static_cast<char>('0' + v % 10);
    t.text[t.size++] = '.';
  }
  return texts;
}
constexpr std::array<OctetText, 256> kOctetTexts = MakeOctetTexts();

// A byte's two lower-case hex digits, the first in the high byte.
constexpr std::array<uint16_t, 256> MakeHexPairs() {
  std::array<uint16_t, 256> pairs{};
  constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned v = 0; v < 256; ++v) {
    pairs[v] = static_cast<uint16_t>(kDigits[v >> 4] << 8 | kDigits[v & 15]);
  }
  return pairs;
}
constexpr std::array<uint16_t, 256> kHexPairs = MakeHexPairs();

// For each set of zero groups (bit i: group i), the longest run of two or more (the first
// of equals) that "::" stands for: where it starts and its size; start 8 for none.
struct ZeroRun {
  int start;
  int size;
};
constexpr std::array<ZeroRun, 256> MakeZeroRuns() {
  std::array<ZeroRun, 256> runs{};
  for (unsigned zeros = 0; zeros < 256; ++zeros) {
    ZeroRun best{8, 0};
    for (int i = 0; i < 8;) {
      int j = i;
      while (j < 8 && (zeros >> j & 1) != 0) {
        ++j;
      }
      if (j - i >= 2 && j - i > best.size) {
        best = {i, j - i};
      }
      i = j == i ? i + 1 : j;
    }
    runs[zeros] = best;
  }
  return runs;
}
constexpr std::array<ZeroRun, 256> kZeroRuns = MakeZeroRuns();

// Four groups of an IPv6 address, the first in the low 16 bits: bit i of the result is set
// when group i is not zero. Without a loop (a test a group showed in profiles): each group's
// bytes or'ed into its low byte, plus 0xff carried into bit 8 when not zero, those four bits
// gathered by one multiply into bits 45-48.
unsigned NonzeroGroups(uint64_t word) {
  constexpr uint64_t kLowBytes = 0x00ff00ff00ff00ff;
  const uint64_t any = (word | word >> 8) & kLowBytes;
  const uint64_t bits = (any + kLowBytes) >> 8 & 0x0001000100010001;
  return static_cast<unsigned>((bits * 0x0000200040008001) >> 45 & 0xf);
}

// Writes the address's text to `out` (room for INET6_ADDRSTRLEN) and returns its length.
// By hand, into a buffer: sets of 100,000 members are printed with it.
size_t WriteAddress(const IpNet& net, char* out) {
  char* p = out;
  if (net.family == 4) {
    // Each octet's digits and a dot copied as one word from a table; the last dot is
    // taken back. (The copy may write up to three bytes past the text; the room has them.)
    for (int i = 0; i < 4; ++i) {
      const OctetText& octet = kOctetTexts[net.addr[i]];
      std::memcpy(p, octet.text, sizeof(octet.text));
      p += octet.size;
    }
    return static_cast<size_t>(p - 1 - out);
  }
  // RFC 5952, as glibc's inet_ntop writes it, by hand (inet_ntop showed in profiles):
  // groups in lower-case hex without leading zeros, the longest run of two or more zero
  // groups (the first of equals) as "::". inet_ntop writes addresses whose first 80 bits
  // are zero with an embedded IPv4 part; those go to inet_ntop itself.
  const uint8_t* const a = net.addr.data();
  uint64_t words[2];
  std::memcpy(words, a, 16);
  const unsigned zeros =  // bit i: group i is zero
      ~(NonzeroGroups(le64toh(words[0])) | NonzeroGroups(le64toh(words[1])) << 4) & 0xff;
  if ((zeros & 0x1f) == 0x1f) {
    if (inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN) == nullptr) {
      return 0;
    }
    return std::strlen(out);
  }
  // Each group is written with a ':' after it, and "::" as one more ':'; the last ':' is
  // taken back unless the text ends with "::".
  const ZeroRun run = kZeroRuns[zeros];
  if (run.start == 0) {
    *p++ = ':';
  }
  for (int i = 0; i < 8; ++i) {
    if (i == run.start) {
      *p++ = ':';
      i += run.size - 1;
      continue;
    }
    // The group's digits without leading zeros: its bytes' digit pairs from a table, made
    // one word, shifted past the leading zeros and written whole; the text advances by the
    // digits' count (the room has space for the bytes past it, which what follows
    // overwrites).
    const unsigned g = static_cast<unsigned>(a[2 * i] << 8 | a[2 * i + 1]);
    const int digits = (35 - __builtin_clz(g | 1)) / 4;  // its significant bits' nibbles
    const uint32_t text = (uint32_t{kHexPairs[a[2 * i]]} << 16 | kHexPairs[a[2 * i + 1]])
                          << (32 - 8 * digits);
    const char bytes[4] = {static_cast<char>(text >> 24), static_cast<char>(text >> 16),
                           static_cast<char>(text >> 8), static_cast<char>(text)};
    std::memcpy(p, bytes, sizeof(bytes));
    p += digits;
    *p++ = ':';
  }
  if (run.size == 0 || run.start + run.size < 8) {  // not "::" last
    --p;
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

// Reads up to the end of `s` or its first '/', and returns the length of what it read (the
// address), or 0 for anything else: so a net's address is read in the same pass that finds
// its '/'. On 0, `out` holds whatever groups were written before the text failed.
size_t ParseColonHex(absl::string_view s, uint8_t* out) {
  // The groups go straight into `out` (big-endian) from its start; those after "::" are
  // moved to its end when the text is read.
  int count = 0;
  int gap = -1;  // where "::" stands: the number of groups before it
  const char* p = s.data();
  const char* const end = p + s.size();
  auto at_end = [&p, end] { return p == end || *p == '/'; };
  auto hex = [](char c) { return kHexDigit.value[static_cast<unsigned char>(c)]; };
  if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
    gap = 0;
    p += 2;
  }
  while (!at_end()) {
    if (count == 8) {
      return 0;
    }
    unsigned value;
    int digit;
    if (end - p >= 4) {
      // Four bytes remain: the digits as straight-line tests, no test for the end (most
      // groups). A fifth digit is refused below: it is neither ':' nor '/'.
      if ((digit = hex(p[0])) < 0) {
        return 0;
      }
      value = static_cast<unsigned>(digit);
      ++p;
      if ((digit = hex(*p)) >= 0) {
        value = value << 4 | static_cast<unsigned>(digit);
        ++p;
        if ((digit = hex(*p)) >= 0) {
          value = value << 4 | static_cast<unsigned>(digit);
          ++p;
          if ((digit = hex(*p)) >= 0) {
            value = value << 4 | static_cast<unsigned>(digit);
            ++p;
          }
        }
      }
    } else {
      const char* const start = p;
      value = 0;
      while (p != end && (digit = hex(*p)) >= 0) {
        value = value << 4 | static_cast<unsigned>(digit);
        ++p;
      }
      if (p == start) {  // fewer than four bytes remain: never more than four digits
        return 0;
      }
    }
    out[2 * count] = static_cast<uint8_t>(value >> 8);
    out[2 * count + 1] = static_cast<uint8_t>(value);
    ++count;
    if (at_end()) {
      break;
    }
    if (*p != ':' || (++p, at_end())) {  // a '.', a fifth digit or another byte; or a ':' last
      return 0;
    }
    if (*p == ':') {
      if (gap >= 0) {  // a second "::"
        return 0;
      }
      gap = count;
      if (++p, at_end()) {  // "::" last: "fd5a:f1e1::"
        break;
      }
    }
  }
  if (gap < 0) {
    return count == 8 ? static_cast<size_t>(p - s.data()) : 0;
  }
  if (count > 7) {
    return 0;
  }
  // The groups after "::" to the end (the last first: they only move right), zeros between.
  const int shift = 2 * (8 - count);
  for (int i = 2 * count - 1; i >= 2 * gap; --i) {
    out[i + shift] = out[i];
  }
  std::memset(out + 2 * gap, 0, static_cast<size_t>(shift));
  return static_cast<size_t>(p - s.data());
}

// "a.b.c.d" at the start of `s` in the form inet_pton reads (1-3 digits each, no leading
// zero, at most 255), ended by the end of `s` or a '/', by hand: loading a model reads
// tens of thousands. Returns the address's length, or 0 for anything else, which
// inet_pton then judges.
size_t ReadDottedQuad(absl::string_view s, uint8_t* out) {
  const char* p = s.data();
  const char* const end = p + s.size();
  // The digit at p, or a value above 9 at the end or for any other byte.
  auto digit = [&p, end] {
    return p == end ? 10u : static_cast<unsigned char>(*p) - unsigned{'0'};
  };
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (p == end || *p != '.') {
        return 0;
      }
      ++p;
    }
    unsigned value = digit();
    if (value > 9) {
      return 0;
    }
    ++p;
    // Up to two more digits after one that is not a leading zero ("0" stands alone), as
    // straight-line tests: most octets have two or three digits, and a loop's count and
    // its test cost more than the digits.
    unsigned d;
    if (value != 0 && (d = digit()) <= 9) {
      value = value * 10 + d;
      ++p;
      if ((d = digit()) <= 9) {
        value = value * 10 + d;
        ++p;
        if (value > 255) {
          return 0;
        }
      }
    }
    out[part] = static_cast<uint8_t>(value);
  }
  return p == end || *p == '/' ? static_cast<size_t>(p - s.data()) : 0;
}

}  // namespace

absl::StatusOr<IpNet> ParseIpNet(absl::string_view text, int family, HostBits host_bits) {
  IpNet net;
  // The address ends at the first '/': an IPv4 address (most nets) or the common form of
  // an IPv6 address is read up to it in the same pass; else it is found with a loop, not a
  // call, for text this short.
  size_t slash = ReadDottedQuad(text, net.addr.data());
  const bool dotted_quad = slash > 0;
  const size_t colon_hex = dotted_quad ? 0 : ParseColonHex(text, net.addr.data());
  if (colon_hex > 0) {
    slash = colon_hex;
  }
  while (slash < text.size() && text[slash] != '/') {
    ++slash;
  }
  const absl::string_view addr = text.substr(0, slash);
  const bool has_len = slash < text.size();
  const absl::string_view len = has_len ? text.substr(slash + 1) : absl::string_view();
  if (addr.empty() || addr.size() >= INET6_ADDRSTRLEN) {
    return absl::InvalidArgumentError("not an IP address");
  }
  if (dotted_quad) {
    net.family = 4;
  } else if (colon_hex > 0) {
    net.family = 6;
  } else {
    // inet_pton wants a NUL-terminated string (the length was bounded above).
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, addr.data(), addr.size());
    buf[addr.size()] = '\0';
    net.addr = {};  // what ParseColonHex wrote before it gave up
    if (inet_pton(AF_INET, buf, net.addr.data()) == 1) {
      net.family = 4;
    } else if (inet_pton(AF_INET6, buf, net.addr.data()) == 1) {
      net.family = 6;
    } else {
      return absl::InvalidArgumentError("not an IP address");
    }
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
  // Six pairs of hex digits and five colons between them: 17 bytes, read in place.
  if (text.size() != MacAddress::kTextSize) {
    return absl::InvalidArgumentError("not a MAC address");
  }
  MacAddress mac;
  for (int i = 0; i < 6; ++i) {
    const int high = kHexDigit.value[static_cast<unsigned char>(text[3 * i])];
    const int low = kHexDigit.value[static_cast<unsigned char>(text[3 * i + 1])];
    if (high < 0 || low < 0 || (i < 5 && text[3 * i + 2] != ':')) {
      return absl::InvalidArgumentError("not a MAC address");
    }
    mac.octets[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return mac;
}

namespace {

// Lists this long or longer are sorted by RadixSort, shorter ones by std::sort: a radix
// pass costs ~1,000 instructions however few keys it moves.
constexpr size_t kRadixSortFrom = 256;

// Sorts keys of kWords 64-bit words, word 0 the least significant, by LSD radix: a pass
// per byte, and none for a byte that every key has the same. A set of 100,000 members
// (huge's blocklists) sorts in ~5 passes of a few instructions a key, where std::sort made
// ~17 compares a key (~45 M instructions for the two sets).
template <size_t kWords>
void RadixSort(std::vector<std::array<uint64_t, kWords>>* keys) {
  using Key = std::array<uint64_t, kWords>;
  Key any{}, all;
  all.fill(~uint64_t{0});
  for (const Key& k : *keys) {
    for (size_t w = 0; w < kWords; ++w) {
      any[w] |= k[w];
      all[w] &= k[w];
    }
  }
  std::vector<Key> other(keys->size());
  Key* from = keys->data();
  Key* to = other.data();
  const size_t n = keys->size();
  for (size_t w = 0; w < kWords; ++w) {
    const uint64_t varying = any[w] ^ all[w];
    for (int shift = 0; shift < 64; shift += 8) {
      if ((varying >> shift & 0xff) == 0) {
        continue;
      }
      size_t start[256] = {};
      for (size_t i = 0; i < n; ++i) {
        ++start[from[i][w] >> shift & 0xff];
      }
      size_t at = 0;
      for (size_t& s : start) {
        const size_t count = s;
        s = at;
        at += count;
      }
      for (size_t i = 0; i < n; ++i) {
        to[start[from[i][w] >> shift & 0xff]++] = from[i];
      }
      std::swap(from, to);
    }
  }
  if (from != keys->data()) {
    keys->swap(other);
  }
}

// Sorts RadixSort's keys, by std::sort when they are few.
template <size_t kWords>
void SortKeys(std::vector<std::array<uint64_t, kWords>>* keys) {
  if (keys->size() >= kRadixSortFrom) {
    RadixSort(keys);
    return;
  }
  std::sort(keys->begin(), keys->end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(a.rbegin(), a.rend(), b.rbegin(), b.rend());
  });
}

// Sorts IPv4 nets as operator< does, each as one number (the address, then the prefix
// length, in 40 bits), when every one is as ParseIpNet makes them: family 4, nothing past
// the fourth byte, a prefix length of 0-255. False, with `nets` untouched, otherwise.
bool SortIpv4(std::vector<IpNet>* nets) {
  std::vector<std::array<uint64_t, 1>> keys;
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
    keys.push_back({uint64_t{be32toh(address)} << 8 | static_cast<uint64_t>(n.prefix_len)});
  }
  SortKeys(&keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    IpNet& n = (*nets)[i];
    const uint32_t address = htobe32(static_cast<uint32_t>(keys[i][0] >> 8));
    std::memcpy(n.addr.data(), &address, 4);
    n.prefix_len = static_cast<int>(keys[i][0] & 255);
  }
  return true;
}

// The same for nets of one family and prefix lengths of 0-255 (IPv6 lists), each as three
// numbers: the prefix length, then the address's low and high halves, least significant
// first.
bool SortOneFamily(std::vector<IpNet>* nets) {
  std::vector<std::array<uint64_t, 3>> keys;
  keys.reserve(nets->size());
  const int family = nets->empty() ? 0 : nets->front().family;
  for (const IpNet& n : *nets) {
    if (n.family != family || n.prefix_len < 0 || n.prefix_len > 255) {
      return false;
    }
    uint64_t high, low;
    std::memcpy(&high, n.addr.data(), 8);
    std::memcpy(&low, n.addr.data() + 8, 8);
    keys.push_back({static_cast<uint64_t>(n.prefix_len), be64toh(low), be64toh(high)});
  }
  SortKeys(&keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    IpNet& n = (*nets)[i];
    const uint64_t high = htobe64(keys[i][2]), low = htobe64(keys[i][1]);
    std::memcpy(n.addr.data(), &high, 8);
    std::memcpy(n.addr.data() + 8, &low, 8);
    n.prefix_len = static_cast<int>(keys[i][0]);
  }
  return true;
}

}  // namespace

void SortUnique(std::vector<IpNet>* nets) {
  if (!std::is_sorted(nets->begin(), nets->end()) && !SortIpv4(nets) && !SortOneFamily(nets)) {
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
