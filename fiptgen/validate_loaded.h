// Internal to the loader: the part of ValidateModel (validate.h) that LoadModel (load.h)
// runs on the model it has read.
#ifndef FIPTGEN_VALIDATE_LOADED_H_
#define FIPTGEN_VALIDATE_LOADED_H_

#include <string>
#include <vector>

#include "fiptgen/model.h"

namespace fiptgen {

// ModelErrors(model) without the format checks LoadModel's reading of JSON has made
// already (value ranges, lists sorted and unique, the nets an endpoint may own, a
// profile's id): a value it reads out of range or a net it refuses is reported and left
// out of the model, and it sorts every list. What is left needs the whole model (names,
// references, cross-field rules, collisions). For a model LoadModel filled, the same
// errors in the same order as ModelErrors; for one built in code, not enough.
std::vector<std::string> ModelErrorsAfterLoading(const Model& model);

}  // namespace fiptgen

#endif  // FIPTGEN_VALIDATE_LOADED_H_
