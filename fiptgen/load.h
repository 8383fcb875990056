// Reading a model: JSON text in, a validated, canonical Model out.
//
//   absl::StatusOr<Model> model = LoadModel(R"({"endpoints": []})");
//
// LoadModel checks the JSON's shape and each value's format (types, ranges, CIDRs, MACs,
// ports), fills a Model, and runs the rest of ValidateModel's checks (validate.h) on it. On
// bad input the status is InvalidArgument and its message lists every error found, one a
// line, each starting with the path of the offending value:
//   profiles["web"].inbound_rules[2].dst_ports: port 70000 out of range
//   endpoints[3].mac: "zz" is not a MAC address
// A value the first stage reported is left out of the Model, and ValidateModel's errors
// about it are not repeated: one mistake, one error.
#ifndef FIPTGEN_LOAD_H_
#define FIPTGEN_LOAD_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fiptgen/model.h"

namespace fiptgen {

absl::StatusOr<Model> LoadModel(absl::string_view json);

}  // namespace fiptgen

#endif  // FIPTGEN_LOAD_H_
