// Packets and flow expectations as text (docs/trace.md has the reference).
//
// A packet is one line of words, in any order, named as conntrack and the kernel's LOG
// target name them:
//
//   in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 dport=80
//   in=eth0 udp src=198.18.9.2 dst=198.18.9.254 sport=4789 dport=4789
//   out=eth0 icmp src=198.18.9.254 dst=198.18.9.2 type=8 code=0
//   in=tapw1 icmpv6 src=fd5a:f1e1::1:1 dst=ff02::2 type=133
//
//   in=IF, out=IF     the interface it arrives on / leaves by. No out: it is for the host
//                     (INPUT); both: the host routes it (FORWARD); no in: the host sends it
//                     (OUTPUT; its destination is local only with out=lo)
//   tcp udp sctp udplite icmp icmpv6, or proto=NAME|NUMBER (gre, 47, ...)
//   src=ADDR dst=ADDR  required, one family (IPv4 or IPv6)
//   sport=N dport=N    ports; dport is required for tcp, udp, sctp, udplite; sport is 40000
//                     when not given
//   type=N code=N      ICMP; an echo request (8, or 128 for ICMPv6) with code 0 when not given
//   mac=XX:XX:...      the source MAC of an arriving packet
//   ctstate=STATE      new (default), established, related, invalid, untracked; ICMPv6 types
//                     130-136 and 143 default to untracked (conntrack never tracks them)
//   mark=N             the mark the packet arrives with (default 0)
//
// A flows file holds one flow a line: a packet, "=>", the verdict it must get (accept, drop,
// reject), optionally followed by "untracked" or "tracked"; "#" starts a comment:
//
//   # w2 may reach w1's web port, not its ssh
//   in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 dport=80 => accept
//   in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 dport=22 => drop
//   in=eth0 udp src=198.18.9.2 dst=198.18.9.254 dport=4789 => accept untracked
#ifndef FIPTGEN_FLOWS_H_
#define FIPTGEN_FLOWS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fiptgen/model.h"
#include "fiptgen/simulate.h"

namespace fiptgen {

// Parses a packet (the words above) and checks it (ValidatePacket). Errors name the word:
// "dport: \"http\" is not a port".
absl::StatusOr<Packet> ParsePacket(absl::string_view spec);

// The packet as words that ParsePacket reads back to it, every field written:
// "in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 sport=40000 dport=80 ctstate=new".
void AppendPacket(const Packet& packet, std::string* out);

// A packet from a workload's interface that gives no MAC comes from that workload: its MAC
// (the model's `mac`) is the packet's source MAC. Anything else is left as it is.
void FillSourceMac(const Model& model, Packet* packet);

struct FlowExpectation {
  int line = 0;      // in the flows text, from 1
  std::string text;  // the line, without its comment
  Packet packet;
  Verdict verdict = Verdict::kAccept;  // kAccept, kDrop or kReject
  std::optional<bool> untracked;       // when the line says "untracked" or "tracked"
};

// Parses a flows file. Errors name the line: "flows.txt:3: dst: \"x\" is not an address".
absl::StatusOr<std::vector<FlowExpectation>> ParseFlows(absl::string_view text,
                                                        absl::string_view source_name);

// Whether a trace gives what the flow expects.
bool FlowHolds(const FlowExpectation& flow, const TraceResult& trace);

// "accept", "accept untracked", "drop": a trace's outcome in the words of a flows file.
void AppendOutcome(const TraceResult& trace, std::string* out);

}  // namespace fiptgen

#endif  // FIPTGEN_FLOWS_H_
