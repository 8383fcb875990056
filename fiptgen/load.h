// Reading a model: JSON text in, a validated, canonical Model out.
//
//   absl::StatusOr<Model> model = LoadModel(R"({"endpoints": []})");
//
// On bad input the status is InvalidArgument and its message lists every error found, one
// a line, each starting with the path of the offending value:
//   profiles["web"].inbound_rules[2].dst_ports: port 70000 out of range
//   endpoints[3].mac: "zz" is not a MAC address
#ifndef FIPTGEN_LOAD_H_
#define FIPTGEN_LOAD_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fiptgen/model.h"

namespace fiptgen {

absl::StatusOr<Model> LoadModel(absl::string_view json);

// The checks that span the model (references, name collisions, limits). LoadModel runs
// them; an agent that builds a Model in code runs them before Generate.
absl::Status ValidateModel(const Model& model);

// The checks of one endpoint on its own, against `model`'s config and profiles (not its
// uniqueness among the other endpoints). Errors start with "endpoint.".
absl::Status ValidateEndpoint(const Model& model, const Endpoint& endpoint);

}  // namespace fiptgen

#endif  // FIPTGEN_LOAD_H_
