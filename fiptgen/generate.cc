#include "fiptgen/generate.h"

#include <algorithm>
#include <utility>

#include "fiptgen/generator_state.h"

namespace fiptgen {

Desired Generate(const Model& model) { return GeneratorState(model).Take(); }

Desired Generate(const Model& model, std::vector<int> families) {
  return GeneratorState(model, std::move(families)).Take();
}

void GenerateEachFamily(const Model& model, absl::FunctionRef<void(Desired)> consume) {
  const std::vector<int>& enabled = model.config.families;
  SharedByFamilies shared;
  size_t rules = 0;
  for (const auto& [id, profile] : model.profiles) {
    rules += profile.inbound_rules.size() + profile.outbound_rules.size();
  }
  shared.rule_text.Reserve(rules);
  for (int family : {4, 6}) {
    if (std::find(enabled.begin(), enabled.end(), family) != enabled.end()) {
      // The state is gone before `consume` runs: it holds only the shared text then.
      Desired desired = GeneratorState(model, {family}, &shared).Take();
      consume(std::move(desired));
    }
  }
}

Ruleset GenerateRuleset(const Model& model, int family) {
  const std::vector<int>& enabled = model.config.families;
  if (std::find(enabled.begin(), enabled.end(), family) == enabled.end()) {
    return Ruleset{family, {}};
  }
  return std::move(Generate(model, {family}).rulesets[0]);
}

}  // namespace fiptgen
