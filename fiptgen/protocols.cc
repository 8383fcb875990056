#include "fiptgen/protocols.h"

#include <array>
#include <string>

#include "absl/strings/str_cat.h"

namespace fiptgen {
namespace {

struct ProtocolEntry {
  int number;
  const char* name;
};

// Debian 12 netbase /etc/protocols, first name per number (what getprotobynumber returns).
constexpr ProtocolEntry kEtcProtocols[] = {
    {1, "icmp"},        {2, "igmp"},
    {3, "ggp"},         {4, "ipencap"},
    {5, "st"},          {6, "tcp"},
    {8, "egp"},         {9, "igp"},
    {12, "pup"},        {17, "udp"},
    {20, "hmp"},        {22, "xns-idp"},
    {27, "rdp"},        {29, "iso-tp4"},
    {33, "dccp"},       {36, "xtp"},
    {37, "ddp"},        {38, "idpr-cmtp"},
    {41, "ipv6"},       {43, "ipv6-route"},
    {44, "ipv6-frag"},  {45, "idrp"},
    {46, "rsvp"},       {47, "gre"},
    {50, "esp"},        {51, "ah"},
    {57, "skip"},       {58, "ipv6-icmp"},
    {59, "ipv6-nonxt"}, {60, "ipv6-opts"},
    {73, "rspf"},       {81, "vmtp"},
    {88, "eigrp"},      {89, "ospf"},
    {93, "ax.25"},      {94, "ipip"},
    {97, "etherip"},    {98, "encap"},
    {103, "pim"},       {108, "ipcomp"},
    {112, "vrrp"},      {115, "l2tp"},
    {124, "isis"},      {132, "sctp"},
    {133, "fc"},        {135, "mobility-header"},
    {136, "udplite"},   {137, "mpls-in-ip"},
    {138, "manet"},     {139, "hip"},
    {140, "shim6"},     {141, "wesp"},
    {142, "rohc"},      {143, "ethernet"},
};

}  // namespace

absl::string_view ProtocolSaveName(int number) {
  // Built once: every number's save name, from the table or the number in decimal.
  static const auto* const kNames = [] {
    auto* names = new std::array<std::string, 256>();
    for (int n = 0; n < 256; ++n) {
      (*names)[n] = absl::StrCat(n);
    }
    for (const ProtocolEntry& e : kEtcProtocols) {
      (*names)[e.number] = e.name;
    }
    return names;
  }();
  if (number < 0 || number > 255) {
    return "";
  }
  return (*kNames)[number];
}

std::optional<int> ParseProtocolName(absl::string_view name) {
  if (name == "tcp") {
    return kProtoTcp;
  }
  if (name == "udp") {
    return kProtoUdp;
  }
  if (name == "icmp") {
    return kProtoIcmp;
  }
  if (name == "icmpv6") {
    return kProtoIcmpv6;
  }
  if (name == "sctp") {
    return kProtoSctp;
  }
  if (name == "udplite") {
    return kProtoUdplite;
  }
  return std::nullopt;
}

bool ProtocolHasPorts(int number) {
  return number == kProtoTcp || number == kProtoUdp || number == kProtoSctp ||
         number == kProtoUdplite;
}

}  // namespace fiptgen
