#include "fiptgen/generate.h"

#include "fiptgen/generator_state.h"

namespace fiptgen {

const Ruleset* Desired::ForFamily(int family) const {
  for (const Ruleset& rs : rulesets) {
    if (rs.family == family) {
      return &rs;
    }
  }
  return nullptr;
}

Desired Generate(const Model& model) { return GeneratorState(model).Take(); }

Ruleset GenerateRuleset(const Model& model, int family) {
  Desired desired = Generate(model);
  for (Ruleset& rs : desired.rulesets) {
    if (rs.family == family) {
      return std::move(rs);
    }
  }
  return Ruleset{family, {}};
}

}  // namespace fiptgen
