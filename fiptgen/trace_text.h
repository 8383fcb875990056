// A trace (simulate.h) shown: for a person, and as JSON for a program.
//
//   std::string text;
//   AppendTraceText(sim, packet, trace, &text);
//
// The text starts with the packet, the verdict and one line per hook that says why: the
// chains the packet went through to the rule that decided (chains it came back from are left
// out; a chain reached by a goto stays, since that is how the packet got there), that rule's
// number (from 1, as `iptables -L --line-numbers` counts) and comment, and the verdict:
//
//   packet   in=tapw1 out=tapw2 tcp src=198.18.1.99 dst=198.18.1.2 sport=40000 dport=80 ...
//   verdict  DROP
//   raw      PREROUTING → ACCEPT (policy)
//   filter   FORWARD → felix-FORWARD → felix-FROM-ENDPOINT → felix-from-w1 #3 "Drop if wrong
//            source IP" → DROP
//   rule     filter felix-from-w1 #3  ! -s 198.18.1.1/32 -m comment --comment "Drop if ...
//
// then every step, one a line: "+" for a rule that matched, "-" for one that did not, "?"
// for one that cannot be decided, the chain and rule number, the rule, and the mark when the
// rule changed it.
#ifndef FIPTGEN_TRACE_TEXT_H_
#define FIPTGEN_TRACE_TEXT_H_

#include <string>

#include "fiptgen/simulate.h"

namespace fiptgen {

// The hook's path to its verdict:
// "filter FORWARD → felix-FORWARD → felix-FROM-ENDPOINT → felix-from-w1 #3 \"Drop if wrong
// source IP\" → DROP", "raw PREROUTING → ACCEPT (policy)".
void AppendHookPath(const PacketSimulator& sim, const TraceResult& trace, const HookTrace& hook,
                    std::string* out);

// The whole trace for a person (above).
void AppendTraceText(const PacketSimulator& sim, const Packet& packet, const TraceResult& trace,
                     std::string* out);

// The whole trace as one JSON object (docs/trace.md describes its fields), no newline.
void AppendTraceJson(const PacketSimulator& sim, const Packet& packet, const TraceResult& trace,
                     std::string* out);

// A JSON string literal of `text`, quotes included.
void AppendJsonString(absl::string_view text, std::string* out);

}  // namespace fiptgen

#endif  // FIPTGEN_TRACE_TEXT_H_
