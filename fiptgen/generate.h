// The generator: a validated Model in, the desired iptables and ipset state out.
//
//   absl::StatusOr<Model> model = LoadModel(json);   // load.h
//   Desired desired = Generate(*model);
//   std::string text;
//   RenderRestore(desired.rulesets[0], &text);   // "*raw ... COMMIT\n*filter ... COMMIT\n"
#ifndef FIPTGEN_GENERATE_H_
#define FIPTGEN_GENERATE_H_

#include <vector>

#include "absl/functional/function_ref.h"
#include "fiptgen/model.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// Generates the whole desired state. `model` must come from LoadModel (or have passed
// ValidateModel): generation trusts it and cannot fail.
Desired Generate(const Model& model);

// Some of the families only (each enabled in model.config.families): their rulesets and the
// sets their rules name, which are sets of those families. Generate(model, {4}) and
// Generate(model, {6}) together are Generate(model): a caller that writes one family at a
// time holds one family's chains at a time.
Desired Generate(const Model& model, std::vector<int> families);

// Generate(model, {family}) for each family enabled in model.config.families, 4 then 6,
// each handed to `consume` before the next is built: a caller that writes one family at a
// time holds one family's chains at a time. The rules' text that is the same in every
// family (port runs, log targets) and the profile chain names are made by the first and
// kept for the next, which copies them (for a model of 200,000 rules, ~14 MB held between
// the two).
void GenerateEachFamily(const Model& model, absl::FunctionRef<void(Desired)> consume);

// One family only; `family` must be enabled in model.config.families.
Ruleset GenerateRuleset(const Model& model, int family);

}  // namespace fiptgen

#endif  // FIPTGEN_GENERATE_H_
