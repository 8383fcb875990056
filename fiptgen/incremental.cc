#include "fiptgen/incremental.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fiptgen/generator_state.h"
#include "fiptgen/load.h"
#include "fiptgen/names.h"
#include "fiptgen/observed.h"

namespace fiptgen {
namespace {

// `after` with the recorded chains and sets put back as they were: the state before.
Desired Before(Desired after, GeneratorState::Recording& rec) {
  for (size_t f = 0; f < after.rulesets.size(); ++f) {
    for (size_t t = 0; t < after.rulesets[f].tables.size(); ++t) {
      std::vector<Chain>& chains = after.rulesets[f].tables[t].chains;
      absl::flat_hash_set<std::string> touched;
      for (const Chain& c : rec.after[f].tables[t].chains) touched.insert(c.name());
      for (const Chain& c : rec.before[f].tables[t].chains) touched.insert(c.name());
      chains.erase(std::remove_if(chains.begin(), chains.end(),
                                  [&](const Chain& c) { return touched.contains(c.name()); }),
                   chains.end());
      for (Chain& c : rec.before[f].tables[t].chains) chains.push_back(std::move(c));
    }
  }
  absl::flat_hash_set<std::string> touched_sets;
  for (const IpSetSpec& s : rec.sets_after) touched_sets.insert(s.name);
  for (const IpSetSpec& s : rec.sets_before) touched_sets.insert(s.name);
  std::vector<IpSetSpec>& sets = after.ipsets;
  sets.erase(std::remove_if(sets.begin(), sets.end(),
                            [&](const IpSetSpec& s) { return touched_sets.contains(s.name); }),
             sets.end());
  for (IpSetSpec& s : rec.sets_before) sets.push_back(std::move(s));
  return after;
}

}  // namespace

IncrementalGenerator::IncrementalGenerator(std::unique_ptr<GeneratorState> state)
    : state_(std::move(state)) {
  Namer namer(state_->model().config);
  for (const Endpoint& e : state_->model().endpoints) {
    interface_owner_[e.interface] = e.id;
    chain_owner_[namer.EndpointSuffix(e)] = e.id;
  }
}

IncrementalGenerator::IncrementalGenerator(IncrementalGenerator&&) noexcept = default;
IncrementalGenerator& IncrementalGenerator::operator=(IncrementalGenerator&&) noexcept = default;
IncrementalGenerator::~IncrementalGenerator() = default;

absl::StatusOr<IncrementalGenerator> IncrementalGenerator::Create(Model model) {
  absl::Status status = ValidateModel(model);
  if (!status.ok()) return status;
  return IncrementalGenerator(std::make_unique<GeneratorState>(std::make_unique<Model>(std::move(model))));
}

const Model& IncrementalGenerator::model() const { return state_->model(); }

Desired IncrementalGenerator::desired() const { return state_->Copy(); }

absl::StatusOr<Plans> IncrementalGenerator::UpsertEndpoint(Endpoint endpoint) {
  absl::Status status = ValidateEndpoint(state_->model(), endpoint);
  if (!status.ok()) return status;
  Namer namer(state_->model().config);
  const std::string suffix = namer.EndpointSuffix(endpoint);
  if (auto it = interface_owner_.find(endpoint.interface);
      it != interface_owner_.end() && it->second != endpoint.id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "endpoint.interface: \"", endpoint.interface, "\" is also endpoint \"", it->second, "\"'s"));
  }
  if (auto it = chain_owner_.find(suffix); it != chain_owner_.end() && it->second != endpoint.id) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint.interface: chain name \"", namer.EndpointChain(ChainDir::kFrom, endpoint),
                     "\" is also made by endpoint \"", it->second, "\""));
  }
  state_->StartRecording();
  if (int old = state_->FindEndpoint(endpoint.id); old >= 0) {
    const Endpoint& e = state_->model().endpoints[old];
    interface_owner_.erase(e.interface);
    chain_owner_.erase(namer.EndpointSuffix(e));
    state_->RemoveEndpoint(old);
  }
  interface_owner_[endpoint.interface] = endpoint.id;
  chain_owner_[suffix] = endpoint.id;
  state_->AddEndpoint(std::move(endpoint));
  return PlanRecordedChange();
}

absl::StatusOr<Plans> IncrementalGenerator::RemoveEndpoint(absl::string_view id) {
  int index = state_->FindEndpoint(id);
  if (index < 0) {
    return absl::NotFoundError(absl::StrCat("endpoint \"", id, "\": no such endpoint"));
  }
  const Endpoint& e = state_->model().endpoints[index];
  interface_owner_.erase(e.interface);
  chain_owner_.erase(Namer(state_->model().config).EndpointSuffix(e));
  state_->StartRecording();
  state_->RemoveEndpoint(index);
  return PlanRecordedChange();
}

Plans IncrementalGenerator::PlanRecordedChange() {
  GeneratorState::Recording rec = state_->TakeRecording();
  const Config& config = state_->model().config;
  Plans plans;
  plans.ipsets = PlanIpsets(rec.sets_after, rec.sets_before, config);
  if (!plans.ipsets.renamed.empty()) {
    // A set changed type: rules outside the change name it too and must move to its
    // temporary name this round. Rare; plan the whole state, as from memory.
    Desired now = state_->Copy();
    return PlanState(now, RememberedState(Before(now, rec)), config);
  }
  for (size_t f = 0; f < rec.after.size(); ++f) {
    plans.rulesets.push_back(PlanRestore(rec.after[f], rec.before[f]));
  }
  return plans;
}

}  // namespace fiptgen
