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

#include "absl/status/status.h"
#include "fiptgen/model.h"

namespace fiptgen {

absl::Status ValidateModel(const Model& model);

// ValidateModel's errors, "<path>: <message>" each, in the order it reports them.
std::vector<std::string> ModelErrors(const Model& model);

// The checks of one endpoint on its own, against `model`'s config and profiles (not its
// uniqueness among the other endpoints). Errors start with "endpoint.".
absl::Status ValidateEndpoint(const Model& model, const Endpoint& endpoint);

}  // namespace fiptgen

#endif  // FIPTGEN_VALIDATE_H_
