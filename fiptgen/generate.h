// The generator: a validated Model in, the desired iptables and ipset state out.
//
//   FIPTGEN_ASSIGN_OR_RETURN(Model model, LoadModel(json));
//   Desired desired = Generate(model);
//   std::string text;
//   RenderRestore(desired.rulesets[0], &text);   // "*raw ... COMMIT\n*filter ... COMMIT\n"
#ifndef FIPTGEN_GENERATE_H_
#define FIPTGEN_GENERATE_H_

#include <vector>

#include "fiptgen/model.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

struct Desired {
  std::vector<Ruleset> rulesets;  // one per family of config.families, in order 4, 6
  std::vector<IpSetSpec> ipsets;  // every set a rule uses, sorted by name

  // The ruleset of `family`, or nullptr when that family is not enabled.
  const Ruleset* ForFamily(int family) const;
};

// Generates the whole desired state. `model` must come from LoadModel (or have passed
// ValidateModel): generation trusts it and cannot fail.
Desired Generate(const Model& model);

// One family only; `family` must be enabled in model.config.families.
Ruleset GenerateRuleset(const Model& model, int family);

}  // namespace fiptgen

#endif  // FIPTGEN_GENERATE_H_
