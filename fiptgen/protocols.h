// IP protocol names as iptables-save prints them. iptables-save names a protocol number by
// getprotobynumber(), i.e. by Debian's /etc/protocols (netbase); the library reads no files,
// so it carries that table.
//
//   ProtocolSaveName(47) == "gre";  ProtocolSaveName(255) == "255";
//   ParseProtocolName("icmpv6") == 58;
#ifndef FIPTGEN_PROTOCOLS_H_
#define FIPTGEN_PROTOCOLS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace fiptgen {

inline constexpr int kProtoIcmp = 1;
inline constexpr int kProtoTcp = 6;
inline constexpr int kProtoUdp = 17;
inline constexpr int kProtoIcmpv6 = 58;
inline constexpr int kProtoSctp = 132;
inline constexpr int kProtoUdplite = 136;

// The name iptables-save prints for protocol `number` (1..255): the /etc/protocols name,
// or the number itself when the table has none. The view is into a static table.
absl::string_view ProtocolSaveName(int number);

// The protocol names the model accepts: tcp udp icmp icmpv6 sctp udplite.
std::optional<int> ParseProtocolName(absl::string_view name);

// Protocols that carry ports (multiport works with them).
bool ProtocolHasPorts(int number);

}  // namespace fiptgen

#endif  // FIPTGEN_PROTOCOLS_H_
