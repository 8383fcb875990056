// The chain layout: which chains each table holds, in output order, and what they are called
// (less the chain prefix P). The one place that says it: the generator (generator_state.h)
// builds every table section by section from Tables(), the chain factory (chain_factory.h)
// takes the names of the chains its rules jump to from here, and Namer (names.h) puts the
// prefix on. docs/chains.md draws the result and walks packets through it.
//
//   section     raw                               filter
//   hooked      PREROUTING -> P PREROUTING        INPUT -> P INPUT
//               OUTPUT -> P OUTPUT                OUTPUT -> P OUTPUT
//                                                 FORWARD -> P FORWARD
//   failsafe    P FAILSAFE-IN, P FAILSAFE-OUT     P FAILSAFE-IN, P FAILSAFE-OUT
//   dispatch    P FROM-HOST-IF, P TO-HOST-IF      P FROM-ENDPOINT, P TO-ENDPOINT,
//               (host endpoints with untracked    P FROM-HOST-IF, P TO-HOST-IF
//               profiles)                         (workloads; host endpoints with profiles)
//   endpoints   P from-<n>, P to-<n>              P from-<n>, P to-<n>
//   profiles    P p-<id>-i, P p-<id>-o            P p-<id>-i, P p-<id>-o
//
// Within a section: hooked chains in hook order; FAILSAFE-IN then -OUT (only while a host
// endpoint has chains in the table: they jump there first); each dispatch root followed by
// the subchains of its prefix tree (P FROM-EP-PFX-<key>, ...) by name; endpoint chains by
// endpoint name suffix, from then to; profile chains by profile id, -i then -o.
//
// Adding a chain: give it a FixedChain and a name (FixedChainName, layout.cc), list it in its
// table below (layout.cc), and write its rules in ChainFactory, whose switch over FixedChain
// the compiler points at.
#ifndef FIPTGEN_LAYOUT_H_
#define FIPTGEN_LAYOUT_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "fiptgen/model.h"

namespace fiptgen {

// Direction of an endpoint chain or dispatch tree: traffic from the endpoint's interface
// (-i) or to it (-o).
enum class ChainDir { kFrom, kTo };
// Direction of a profile's rules and chain: inbound_rules (-i chain), outbound_rules (-o).
enum class RuleDir { kInbound, kOutbound };

// The chains whose names do not depend on the model.
enum class FixedChain {
  kPrerouting,
  kOutput,
  kInput,
  kForward,
  kFailsafeIn,
  kFailsafeOut,
  kFromHostIf,
  kToHostIf,
  kFromEndpoint,
  kToEndpoint,
};
// The chain's name less the chain prefix: "PREROUTING", "FAILSAFE-IN", "FROM-HOST-IF".
absl::string_view FixedChainName(FixedChain chain);
// P FAILSAFE-IN (kFrom: traffic arriving on a host endpoint) or P FAILSAFE-OUT.
FixedChain FailsafeChain(ChainDir dir);

// Names of the chains made per endpoint and per profile, less the chain prefix:
// from-<n>, to-<n> (by ChainDir); p-<id>-i, p-<id>-o (by RuleDir).
absl::string_view EndpointChainStem(ChainDir dir);
inline constexpr absl::string_view kProfileChainStem = "p-";
absl::string_view ProfileChainSuffix(RuleDir dir);

// The sections of a table, in output order.
enum class Section { kHooked, kFailsafe, kDispatch, kEndpoints, kProfiles };

// The endpoints a dispatch tree sends to their chains; they have chains in its table.
enum class EndpointGroup {
  kWorkloads,       // every workload
  kTrackedHosts,    // host endpoints with profile_ids
  kUntrackedHosts,  // host endpoints with untracked_profile_ids
};
bool InGroup(const Endpoint& endpoint, EndpointGroup group);

// A chain the kernel's built-in chain jumps to: "-I <builtin> 1 -j P <chain>".
struct HookedChain {
  absl::string_view builtin;
  FixedChain chain;
};

// A dispatch chain: "-i|-o <interface> -g P from-|to-<n>" for each endpoint of its group,
// then `last_rule`. With many interfaces it grows into a prefix tree of subchains
// P <subchain_base><key> (generator_state.cc), each ending with `last_rule` too.
struct DispatchRoot {
  FixedChain root;
  ChainDir dir;
  EndpointGroup group;
  absl::string_view subchain_base;  // e.g. "FROM-EP-PFX-"
  absl::string_view last_rule;      // e.g. "-j RETURN": not our interface
};

struct TableLayout {
  absl::string_view name;  // "raw", "filter"
  // Untracked policy (raw, before connection tracking): endpoint chains apply the host
  // endpoints' untracked_profile_ids and end without a DROP, so what they do not accept
  // goes on to the tracked policy. Otherwise profile_ids, and a final DROP.
  bool untracked;
  absl::Span<const HookedChain> hooked;
  absl::Span<const DispatchRoot> dispatch;
};

// Every table we write, in output order: raw, then filter.
absl::Span<const TableLayout> Tables();

// Whether the endpoint has chains in `table`: it is in one of the table's dispatch trees.
bool HasChainsIn(const Endpoint& endpoint, const TableLayout& table);

}  // namespace fiptgen

#endif  // FIPTGEN_LAYOUT_H_
