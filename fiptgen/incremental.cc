#include "fiptgen/incremental.h"

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fiptgen/error_path.h"
#include "fiptgen/generator_state.h"
#include "fiptgen/observed.h"
#include "fiptgen/status_macros.h"
#include "fiptgen/validate.h"

namespace fiptgen {

IncrementalGenerator::IncrementalGenerator(std::unique_ptr<GeneratorState> state)
    : state_(std::move(state)), endpoint_names_(state_->model().config) {
  for (const Endpoint& e : state_->model().endpoints) {
    endpoint_names_.Add(e);
  }
}

IncrementalGenerator::IncrementalGenerator(IncrementalGenerator&&) noexcept = default;
IncrementalGenerator& IncrementalGenerator::operator=(IncrementalGenerator&&) noexcept = default;
IncrementalGenerator::~IncrementalGenerator() = default;

absl::StatusOr<IncrementalGenerator> IncrementalGenerator::Create(Model model) {
  absl::Status status = ValidateModel(model);
  if (!status.ok()) {
    return status;
  }
  return IncrementalGenerator(
      std::make_unique<GeneratorState>(std::make_unique<Model>(std::move(model))));
}

const Model& IncrementalGenerator::model() const { return state_->model(); }

Desired IncrementalGenerator::desired() const { return state_->Copy(); }

absl::StatusOr<Plans> IncrementalGenerator::UpsertEndpoint(Endpoint endpoint) {
  FIPTGEN_RETURN_IF_ERROR(ValidateEndpoint(state_->model(), endpoint, endpoint_names_));
  state_->StartRecording();
  const int old = state_->FindEndpoint(endpoint.id);
  if (old >= 0) {
    endpoint_names_.Remove(state_->model().endpoints[old]);
  }
  endpoint_names_.Add(endpoint);
  if (old >= 0) {
    state_->ReplaceEndpoint(old, std::move(endpoint));
  } else {
    state_->AddEndpoint(std::move(endpoint));
  }
  return PlanRecordedChange();
}

absl::StatusOr<Plans> IncrementalGenerator::RemoveEndpoint(absl::string_view id) {
  int index = state_->FindEndpoint(id);
  if (index < 0) {
    return absl::NotFoundError(
        absl::StrCat("endpoint ", QuoteForMessage(id), ": no such endpoint"));
  }
  endpoint_names_.Remove(state_->model().endpoints[index]);
  state_->StartRecording();
  state_->RemoveEndpoint(index);
  return PlanRecordedChange();
}

Plans IncrementalGenerator::PlanRecordedChange() {
  const Config& config = state_->model().config;
  Plans plans;
  auto [sets_before, sets_after] = state_->RecordedSets();
  plans.ipsets = PlanIpsets(sets_after, sets_before, config);
  if (!plans.ipsets.renamed.empty()) {
    // A set changed type, so the kernel cannot swap it: this round's rules name its
    // temporary set (IpsetPlan::renamed), rules outside the change too. Those are the
    // profile chains that name it; they join the change, and are renamed below.
    std::set<std::string> sets;
    for (const auto& [set, temporary] : plans.ipsets.renamed) {
      sets.insert(set);
    }
    state_->TouchChainsNamingSets(sets);
  }
  GeneratorState::Recording rec = state_->TakeRecording();
  for (size_t f = 0; f < rec.after.size(); ++f) {
    if (plans.ipsets.renamed.empty()) {
      plans.rulesets.push_back(PlanRestore(rec.after[f], rec.before[f]));
    } else {
      Ruleset this_round = rec.after[f];
      RenameSets(plans.ipsets.renamed, &this_round);
      plans.rulesets.push_back(PlanRestore(this_round, rec.before[f]));
    }
  }
  // What changes, for an applier that puts it back on failure (Plans::from, Plans::to).
  plans.from.rulesets = std::move(rec.before);
  plans.from.ipsets = std::move(sets_before);
  plans.to.rulesets = std::move(rec.after);
  plans.to.ipsets = std::move(sets_after);
  return plans;
}

}  // namespace fiptgen
