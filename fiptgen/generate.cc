#include "fiptgen/generate.h"

#include <utility>

#include "fiptgen/generator_state.h"

namespace fiptgen {

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
