// An agent's generator: keeps the model and everything generated from it, and turns one
// change into the plan for just that change, rebuilding only the chains and sets that
// depend on it (the changed endpoint's chains, the dispatch chains on its interface's
// prefix path, profile chains that come into or out of use, tag sets it is a member of).
//
//   FIPTGEN_ASSIGN_OR_RETURN(IncrementalGenerator gen, IncrementalGenerator::Create(model));
//   // apply RenderPlans(PlanState(gen.desired(), kernel_state, config)) once, then:
//   FIPTGEN_ASSIGN_OR_RETURN(Plans plans, gen.UpsertEndpoint(new_endpoint));
//   // plans == PlanState(Generate(model'), RememberedState(Generate(model)), config)
//   FIPTGEN_RETURN_IF_ERROR(applier.ApplyPlans(plans));  // apply.h: no iptables-save
//
// The plans go through the same PlanRestore / PlanIpsets as every other plan; they are just
// handed only what changed, and carry it (Plans::from, Plans::to) so an applier can put it
// back when a step fails.
#ifndef FIPTGEN_INCREMENTAL_H_
#define FIPTGEN_INCREMENTAL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fiptgen/model.h"
#include "fiptgen/plan.h"
#include "fiptgen/ruleset.h"
#include "fiptgen/validate.h"

namespace fiptgen {

class GeneratorState;

class IncrementalGenerator {
 public:
  // Validates `model` (ValidateModel) and generates everything once.
  static absl::StatusOr<IncrementalGenerator> Create(Model model);

  IncrementalGenerator(IncrementalGenerator&&) noexcept;
  IncrementalGenerator& operator=(IncrementalGenerator&&) noexcept;
  ~IncrementalGenerator();

  const Model& model() const;
  // The whole desired state, as Generate(model()) would make it (a copy).
  Desired desired() const;

  // Adds `endpoint`, or replaces the endpoint with its id. Errors (the endpoint's own and
  // its clashes with the other endpoints, in ValidateModel's words with paths starting
  // "endpoint.") change nothing.
  absl::StatusOr<Plans> UpsertEndpoint(Endpoint endpoint);
  absl::StatusOr<Plans> RemoveEndpoint(absl::string_view id);

 private:
  explicit IncrementalGenerator(std::unique_ptr<GeneratorState> state);
  Plans PlanRecordedChange();

  std::unique_ptr<GeneratorState> state_;
  // Who holds each interface and endpoint chain name: ValidateModel's clash checks.
  EndpointNameIndex endpoint_names_;
};

}  // namespace fiptgen

#endif  // FIPTGEN_INCREMENTAL_H_
