// Names of chains and ipsets: one function for each kind of name. Chain names are the chain
// prefix and a name from the chain layout (layout.h); each name component the user gives
// (endpoint suffix, profile id, tag, ipset name) is shortened by Felix's uniquely_shorten so
// that every name fits the kernel's limits.
//
//   UniquelyShorten("foobarbaz12", 10) == "_d71c1ff3e";
//   Namer n(config);
//   n.EndpointChain(ChainDir::kFrom, endpoint) == "felix-from-w1";
//   n.ProfileChain("web", RuleDir::kInbound) == "felix-p-web-i";
//   n.Fixed(FixedChain::kFromHostIf) == "felix-FROM-HOST-IF";
#ifndef FIPTGEN_NAMES_H_
#define FIPTGEN_NAMES_H_

#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "fiptgen/layout.h"
#include "fiptgen/model.h"

namespace fiptgen {

// iptables refuses chain names over 28 characters; ipset names over 31.
inline constexpr size_t kMaxChainName = 28;
inline constexpr size_t kMaxSetName = 31;
// Width of every user-given name component once shortened.
inline constexpr int kNameComponentWidth = 16;

// Felix's uniquely_shorten: `s` itself when it has at most `length` characters, uses only
// [A-Za-z0-9_.-] and is not exactly `length` long starting with "_"; otherwise "_" and the
// first length-1 hex digits of SHA-256("<length> " + s).
std::string UniquelyShorten(absl::string_view s, int length);

class Namer {
 public:
  explicit Namer(const Config& config);
  const Config& config() const { return config_; }

  // A chain of the fixed layout: Fixed(FixedChain::kInput) == "felix-INPUT".
  std::string Fixed(FixedChain chain) const;
  // A subchain of a dispatch tree: the root's subchain base and `key` (what the group's
  // interfaces share, less the interface prefix), shortened to fit: "felix-FROM-EP-PFX-a".
  std::string DispatchSubchain(const DispatchRoot& root, absl::string_view key) const;
  // The endpoint's name component: the interface minus interface_prefix for workloads,
  // the whole interface for host endpoints, shortened.
  std::string EndpointSuffix(const Endpoint& endpoint) const;
  std::string EndpointChain(ChainDir dir, const Endpoint& endpoint) const;
  // The same from the endpoint's EndpointSuffix, made once for all its chains: shortening
  // a long interface name costs a SHA-256.
  std::string EndpointChain(ChainDir dir, absl::string_view suffix) const;
  std::string ProfileChain(absl::string_view profile_id, RuleDir dir) const;
  // Both of a profile's chains, inbound and outbound, from one shortening of its id (a long
  // id costs a SHA-256).
  std::pair<std::string, std::string> ProfileChains(absl::string_view profile_id) const;
  std::string TagSet(absl::string_view tag, int family) const;
  std::string ExplicitSet(absl::string_view name) const;
  // The temporary name a set is rebuilt under before an atomic swap.
  std::string TemporarySet(absl::string_view set_name) const;

 private:
  const Config& config_;
};

}  // namespace fiptgen

#endif  // FIPTGEN_NAMES_H_
