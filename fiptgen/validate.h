// Checking a typed Model: everything its types cannot say (interface names, prefixes,
// references, cross-field rules, name collisions, limits). LoadModel runs these checks
// after reading JSON; an agent that builds a Model in code runs them before Generate.
// Nothing here knows about JSON.
//
//   absl::Status s = ValidateModel(model);
//   // InvalidArgument, one error a line, each starting with the path of the value:
//   //   endpoints[3].interface: "eth0+" may not end with '+' (an iptables wildcard)
//   //   profiles["web"].inbound_rules[0].src_tag: no profile has tag "db"
#ifndef FIPTGEN_VALIDATE_H_
#define FIPTGEN_VALIDATE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fiptgen/model.h"

namespace fiptgen {

absl::Status ValidateModel(const Model& model);

// ValidateModel's errors, "<path>: <message>" each, in the order it reports them.
std::vector<std::string> ModelErrors(const Model& model);

// The checks of one endpoint on its own, against `model`'s config and profiles (not its
// uniqueness among the other endpoints). Errors start with "endpoint.".
absl::Status ValidateEndpoint(const Model& model, const Endpoint& endpoint);

// "" when an endpoint may own `net` (one of its ipv4_nets/ipv6_nets); else why not, for
// an error message. A net with host bits set (10.10.1.11/24) is refused, never widened to
// its network: widened, it would let the endpoint send from its neighbours' addresses.
// LoadModel and ValidateModel both say it with this:
//   "10.10.1.11/24" has host bits set: an endpoint owns the addresses it lists; did you
//   mean "10.10.1.11/32" (the address) or "10.10.1.0/24" (the network)?
std::string OwnedNetProblem(const IpNet& net);

// The names that must be unique among a model's endpoints, and which endpoint holds each:
// interfaces, and endpoint chain names (workload "tapeth0" and host "eth0" would both make
// felix-from-eth0). ValidateModel fills one with the model's endpoints in order;
// IncrementalGenerator keeps one as endpoints come and go; so a clash reads the same
// whichever finds it, but for the path:
//   endpoints[2].interface: "tapw1" is also the interface of endpoint "w1"
//   endpoint.interface: "tapw1" is also the interface of endpoint "w1"
class EndpointNameIndex {
 public:
  explicit EndpointNameIndex(const Config& config);

  // Appends "<path>.interface: ..." to `errors` for each name `endpoint` shares with an
  // endpoint held under another id (the one held under its own id is the one it
  // replaces). `endpoint.interface` must be a valid interface name.
  void CheckClashes(const Endpoint& endpoint, absl::string_view path,
                    std::vector<std::string>* errors) const;
  // The name endpoint chains are made from (Namer::EndpointSuffix), and CheckClashes and
  // Add given it, for a caller that calls both (one making instead of two).
  // `chain_suffix` must be ChainSuffix(endpoint).
  std::string ChainSuffix(const Endpoint& endpoint) const;
  void CheckClashes(const Endpoint& endpoint, absl::string_view chain_suffix,
                    absl::string_view path, std::vector<std::string>* errors) const;
  void Add(const Endpoint& endpoint, std::string chain_suffix);
  // Makes room for `endpoints` endpoints' names at once, so that Add does not rehash.
  void Reserve(size_t endpoints) {
    interface_holder_.reserve(endpoints);
    suffix_holder_.reserve(endpoints);
  }
  // Holds `endpoint`'s names, each unless another endpoint holds it already.
  void Add(const Endpoint& endpoint);
  // Lets go of the names held by `endpoint` (by its id).
  void Remove(const Endpoint& endpoint);

 private:
  struct Holder {
    std::string id;
    std::string interface;
  };
  // CheckClashes' two checks: InterfaceClash appends its error and says whether it did.
  bool InterfaceClash(const Endpoint& endpoint, absl::string_view path,
                      std::vector<std::string>* errors) const;
  void SuffixClash(const Endpoint& endpoint, absl::string_view chain_suffix, absl::string_view path,
                   std::vector<std::string>* errors) const;

  Config config_;
  absl::flat_hash_map<std::string, std::string> interface_holder_;  // interface -> id
  absl::flat_hash_map<std::string, Holder> suffix_holder_;          // chain suffix -> holder
};

// ValidateEndpoint, then `endpoint`'s clashes with the endpoints `others` holds, in
// ValidateModel's words: what an endpoint must pass to join or replace one in a model.
absl::Status ValidateEndpoint(const Model& model, const Endpoint& endpoint,
                              const EndpointNameIndex& others);

}  // namespace fiptgen

#endif  // FIPTGEN_VALIDATE_H_
