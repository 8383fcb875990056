#include "fiptgen/layout.h"

namespace fiptgen {
namespace {

constexpr absl::string_view kReturn = "-j RETURN";
constexpr absl::string_view kUnknownEndpointDrop =
    "-m comment --comment \"Unknown endpoint\" -j DROP";

// ---- The layout of each table, in output order within each section. ----

constexpr HookedChain kRawHooked[] = {
    {"PREROUTING", FixedChain::kPrerouting},
    {"OUTPUT", FixedChain::kOutput},
};
constexpr DispatchRoot kRawDispatch[] = {
    {FixedChain::kFromHostIf, ChainDir::kFrom, EndpointGroup::kUntrackedHosts, "FROM-IF-PFX-",
     kReturn},
    {FixedChain::kToHostIf, ChainDir::kTo, EndpointGroup::kUntrackedHosts, "TO-IF-PFX-", kReturn},
};

constexpr HookedChain kFilterHooked[] = {
    {"INPUT", FixedChain::kInput},
    {"OUTPUT", FixedChain::kOutput},
    {"FORWARD", FixedChain::kForward},
};
constexpr DispatchRoot kFilterDispatch[] = {
    {FixedChain::kFromEndpoint, ChainDir::kFrom, EndpointGroup::kWorkloads, "FROM-EP-PFX-",
     kUnknownEndpointDrop},
    {FixedChain::kToEndpoint, ChainDir::kTo, EndpointGroup::kWorkloads, "TO-EP-PFX-",
     kUnknownEndpointDrop},
    {FixedChain::kFromHostIf, ChainDir::kFrom, EndpointGroup::kTrackedHosts, "FROM-IF-PFX-",
     kReturn},
    {FixedChain::kToHostIf, ChainDir::kTo, EndpointGroup::kTrackedHosts, "TO-IF-PFX-", kReturn},
};

constexpr TableLayout kTables[] = {
    {"raw", /*untracked=*/true, kRawHooked, kRawDispatch},
    {"filter", /*untracked=*/false, kFilterHooked, kFilterDispatch},
};

}  // namespace

absl::string_view FixedChainName(FixedChain chain) {
  switch (chain) {
    case FixedChain::kPrerouting:
      return "PREROUTING";
    case FixedChain::kOutput:
      return "OUTPUT";
    case FixedChain::kInput:
      return "INPUT";
    case FixedChain::kForward:
      return "FORWARD";
    case FixedChain::kFailsafeIn:
      return "FAILSAFE-IN";
    case FixedChain::kFailsafeOut:
      return "FAILSAFE-OUT";
    case FixedChain::kFromHostIf:
      return "FROM-HOST-IF";
    case FixedChain::kToHostIf:
      return "TO-HOST-IF";
    case FixedChain::kFromEndpoint:
      return "FROM-ENDPOINT";
    case FixedChain::kToEndpoint:
      return "TO-ENDPOINT";
  }
  return "";
}

FixedChain FailsafeChain(ChainDir dir) {
  return dir == ChainDir::kFrom ? FixedChain::kFailsafeIn : FixedChain::kFailsafeOut;
}

absl::string_view EndpointChainStem(ChainDir dir) {
  return dir == ChainDir::kFrom ? "from-" : "to-";
}

absl::string_view ProfileChainSuffix(RuleDir dir) { return dir == RuleDir::kInbound ? "-i" : "-o"; }

bool InGroup(const Endpoint& endpoint, EndpointGroup group) {
  switch (group) {
    case EndpointGroup::kWorkloads:
      return endpoint.kind == EndpointKind::kWorkload;
    case EndpointGroup::kTrackedHosts:
      return endpoint.kind == EndpointKind::kHost && !endpoint.profile_ids.empty();
    case EndpointGroup::kUntrackedHosts:
      return endpoint.kind == EndpointKind::kHost && !endpoint.untracked_profile_ids.empty();
  }
  return false;
}

absl::Span<const TableLayout> Tables() { return kTables; }

bool HasChainsIn(const Endpoint& endpoint, const TableLayout& table) {
  for (const DispatchRoot& root : table.dispatch) {
    if (InGroup(endpoint, root.group)) {
      return true;
    }
  }
  return false;
}

}  // namespace fiptgen
