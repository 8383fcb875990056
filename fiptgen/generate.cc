#include "fiptgen/generate.h"

#include <algorithm>
#include <utility>

#include "fiptgen/generator_state.h"

namespace fiptgen {

Desired Generate(const Model& model) { return GeneratorState(model).Take(); }

Desired Generate(const Model& model, std::vector<int> families) {
  return GeneratorState(model, std::move(families)).Take();
}

Ruleset GenerateRuleset(const Model& model, int family) {
  const std::vector<int>& enabled = model.config.families;
  if (std::find(enabled.begin(), enabled.end(), family) == enabled.end()) {
    return Ruleset{family, {}};
  }
  return std::move(Generate(model, {family}).rulesets[0]);
}

}  // namespace fiptgen
