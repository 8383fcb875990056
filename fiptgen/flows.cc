#include "fiptgen/flows.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fiptgen/protocols.h"
#include "fiptgen/rule_text.h"

namespace fiptgen {
namespace {

constexpr uint16_t kDefaultSourcePort = 40000;

absl::Status WordError(absl::string_view key, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", message));
}

bool ParseU32(absl::string_view text, uint32_t* out) {
  if (absl::StartsWith(text, "0x") || absl::StartsWith(text, "0X")) {
    return text.size() > 2 && absl::SimpleHexAtoi(text.substr(2), out);
  }
  return absl::SimpleAtoi(text, out);
}

// Protocols by the names iptables-save prints (tcp, gre, ipv6-icmp), and icmpv6.
std::optional<int> ProtocolNumber(absl::string_view name) {
  if (std::optional<int> p = ParseProtocolName(name)) {
    return p;
  }
  for (int n = 1; n < 256; ++n) {
    if (ProtocolSaveName(n) == name) {
      return n;
    }
  }
  uint32_t n = 0;
  if (absl::SimpleAtoi(name, &n) && n >= 1 && n <= 255) {
    return static_cast<int>(n);
  }
  return std::nullopt;
}

std::optional<CtState> ParseCtState(absl::string_view text) {
  const std::string s = absl::AsciiStrToUpper(text);
  for (CtState c : {CtState::kNew, CtState::kEstablished, CtState::kRelated, CtState::kInvalid,
                    CtState::kUntracked}) {
    if (CtStateName(c) == s) {
      return c;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<Packet> ParsePacket(absl::string_view spec) {
  Packet p;
  std::optional<int> protocol;
  std::optional<IpNet> src, dst;
  std::optional<uint32_t> sport, dport, type, code;
  std::optional<CtState> ct;
  std::vector<std::string> seen;
  for (absl::string_view word : absl::StrSplit(spec, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    const size_t eq = word.find('=');
    const absl::string_view key = word.substr(0, eq);
    const absl::string_view value = eq == absl::string_view::npos ? "" : word.substr(eq + 1);
    const std::string name(eq == absl::string_view::npos ? "protocol" : key);
    for (const std::string& s : seen) {
      if (s == name) {
        return WordError(name, "given twice");
      }
    }
    seen.push_back(name);
    if (eq == absl::string_view::npos) {
      protocol = ParseProtocolName(word);
      if (!protocol.has_value()) {
        return WordError(word,
                         "unknown word (a protocol is tcp, udp, sctp, udplite, icmp, "
                         "icmpv6 or proto=NAME|NUMBER; other words are key=value)");
      }
    } else if (key == "proto") {
      protocol = ProtocolNumber(value);
      if (!protocol.has_value()) {
        return WordError(key, absl::StrCat("\"", value, "\" is not a protocol"));
      }
    } else if (key == "in" || key == "out") {
      if (value.empty()) {
        return WordError(key, "needs an interface name");
      }
      (key == "in" ? p.in_interface : p.out_interface) = std::string(value);
    } else if (key == "src" || key == "dst") {
      absl::StatusOr<IpNet> net = ParseIpNet(value, 0, HostBits::kKeep);
      if (!net.ok() || !net->is_host()) {
        return WordError(key, absl::StrCat("\"", value, "\" is not an address"));
      }
      (key == "src" ? src : dst) = *net;
    } else if (key == "sport" || key == "dport" || key == "type" || key == "code") {
      uint32_t n = 0;
      const uint32_t max = (key == "sport" || key == "dport") ? 65535 : 255;
      if (!absl::SimpleAtoi(value, &n) || n > max) {
        return WordError(key, absl::StrCat("\"", value, "\" is not a ",
                                           max == 65535 ? "port" : "number 0..255"));
      }
      (key == "sport" ? sport : key == "dport" ? dport : key == "type" ? type : code) = n;
    } else if (key == "mac") {
      absl::StatusOr<MacAddress> mac = ParseMac(value);
      if (!mac.ok()) {
        return WordError(key, absl::StrCat("\"", value, "\" is not a MAC address"));
      }
      p.src_mac = *mac;
    } else if (key == "ctstate") {
      ct = ParseCtState(value);
      if (!ct.has_value()) {
        return WordError(key, absl::StrCat("\"", value,
                                           "\" is not new, established, related, invalid or "
                                           "untracked"));
      }
    } else if (key == "mark") {
      if (!ParseU32(value, &p.mark)) {
        return WordError(key, absl::StrCat("\"", value, "\" is not a 32-bit number"));
      }
    } else {
      return WordError(key, "unknown word");
    }
  }
  if (!src.has_value() || !dst.has_value()) {
    return WordError(src.has_value() ? "dst" : "src", "required");
  }
  if (src->family != dst->family) {
    return WordError("dst", "not of the family of src");
  }
  if (!protocol.has_value()) {
    return WordError("protocol", "required (tcp, udp, icmp, ... or proto=N)");
  }
  p.family = src->family;
  p.src = *src;
  p.dst = *dst;
  p.protocol = *protocol;
  const bool icmp = p.protocol == kProtoIcmp || p.protocol == kProtoIcmpv6;
  if (ProtocolHasPorts(p.protocol)) {
    if (!dport.has_value()) {
      return WordError("dport", absl::StrCat("required for ", ProtocolSaveName(p.protocol)));
    }
    p.dst_port = static_cast<uint16_t>(*dport);
    p.src_port = static_cast<uint16_t>(sport.value_or(kDefaultSourcePort));
  } else if (sport.has_value() || dport.has_value()) {
    return WordError(sport.has_value() ? "sport" : "dport",
                     absl::StrCat(ProtocolSaveName(p.protocol), " has no ports"));
  }
  if (icmp) {
    p.icmp_type = static_cast<int>(type.value_or(p.family == 4 ? 8 : 128));
    p.icmp_code = static_cast<int>(code.value_or(0));
  } else if (type.has_value() || code.has_value()) {
    return WordError(type.has_value() ? "type" : "code", "only ICMP has a type and code");
  }
  const bool untracked_icmp6 = p.protocol == kProtoIcmpv6 &&
                               ((p.icmp_type >= 130 && p.icmp_type <= 136) || p.icmp_type == 143);
  p.ct_state = ct.value_or(untracked_icmp6 ? CtState::kUntracked : CtState::kNew);
  const PacketPath path = PathOf(p);
  p.dst_local =
      path == PacketPath::kInput || (path == PacketPath::kOutput && p.out_interface == "lo");
  absl::Status valid = ValidatePacket(p);
  if (!valid.ok()) {
    return valid;
  }
  return p;
}

void AppendPacket(const Packet& p, std::string* out) {
  const size_t start = out->size();
  auto word = [&](absl::string_view key, absl::string_view value) {
    if (out->size() != start) {
      out->push_back(' ');
    }
    absl::StrAppend(out, key, value);
  };
  if (!p.in_interface.empty()) {
    word("in=", p.in_interface);
  }
  if (!p.out_interface.empty()) {
    word("out=", p.out_interface);
  }
  switch (p.protocol) {
    case kProtoTcp:
    case kProtoUdp:
    case kProtoSctp:
    case kProtoUdplite:
    case kProtoIcmp:
      word("", ProtocolSaveName(p.protocol));
      break;
    case kProtoIcmpv6:
      word("", "icmpv6");
      break;
    default:
      word("proto=", ProtocolSaveName(p.protocol));
  }
  word("src=", p.src.ToMemberString());
  word("dst=", p.dst.ToMemberString());
  if (ProtocolHasPorts(p.protocol)) {
    word("sport=", absl::StrCat(p.src_port));
    word("dport=", absl::StrCat(p.dst_port));
  }
  if (p.protocol == kProtoIcmp || p.protocol == kProtoIcmpv6) {
    word("type=", absl::StrCat(p.icmp_type));
    word("code=", absl::StrCat(p.icmp_code));
  }
  if (p.src_mac.has_value()) {
    word("mac=", p.src_mac->ToString());
  }
  word("ctstate=", absl::AsciiStrToLower(CtStateName(p.ct_state)));
  if (p.mark != 0) {
    word("mark=", absl::StrCat("0x", absl::Hex(p.mark)));
  }
}

void FillSourceMac(const Model& model, Packet* packet) {
  if (packet->src_mac.has_value() || packet->in_interface.empty()) {
    return;
  }
  for (const Endpoint& e : model.endpoints) {
    if (e.kind == EndpointKind::kWorkload && e.interface == packet->in_interface) {
      packet->src_mac = e.mac;
      return;
    }
  }
}

absl::StatusOr<std::vector<FlowExpectation>> ParseFlows(absl::string_view text,
                                                        absl::string_view source_name) {
  std::vector<FlowExpectation> flows;
  for (int number = 1; !text.empty(); ++number) {
    absl::string_view line = NextLine(&text);
    line = line.substr(0, line.find('#'));
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) {
      continue;
    }
    auto error = [&](absl::string_view message) {
      return absl::InvalidArgumentError(absl::StrCat(source_name, ":", number, ": ", message));
    };
    const size_t arrow = line.find("=>");
    if (arrow == absl::string_view::npos) {
      return error("a flow is a packet, \"=>\" and a verdict (accept, drop, reject)");
    }
    FlowExpectation flow;
    flow.line = number;
    flow.text = std::string(line);
    absl::StatusOr<Packet> packet = ParsePacket(line.substr(0, arrow));
    if (!packet.ok()) {
      return error(packet.status().message());
    }
    flow.packet = *std::move(packet);
    std::vector<absl::string_view> expect =
        absl::StrSplit(line.substr(arrow + 2), absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (expect.empty() || expect.size() > 2) {
      return error(
          "after \"=>\": a verdict (accept, drop, reject), then optionally "
          "\"untracked\" or \"tracked\"");
    }
    if (expect[0] == "accept") {
      flow.verdict = Verdict::kAccept;
    } else if (expect[0] == "drop") {
      flow.verdict = Verdict::kDrop;
    } else if (expect[0] == "reject") {
      flow.verdict = Verdict::kReject;
    } else {
      return error(absl::StrCat("\"", expect[0], "\" is not a verdict (accept, drop, reject)"));
    }
    if (expect.size() == 2) {
      if (expect[1] != "untracked" && expect[1] != "tracked") {
        return error(absl::StrCat("\"", expect[1],
                                  "\": only \"untracked\" or \"tracked\" may "
                                  "follow the verdict"));
      }
      flow.untracked = expect[1] == "untracked";
    }
    flows.push_back(std::move(flow));
  }
  return flows;
}

bool FlowHolds(const FlowExpectation& flow, const TraceResult& trace) {
  return trace.verdict == flow.verdict &&
         (!flow.untracked.has_value() || *flow.untracked == trace.untracked);
}

void AppendOutcome(const TraceResult& trace, std::string* out) {
  absl::StrAppend(out, absl::AsciiStrToLower(VerdictName(trace.verdict)),
                  trace.untracked ? " untracked" : "");
}

}  // namespace fiptgen
