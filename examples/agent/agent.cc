// An agent that links fiptgen from another Bazel workspace (fiptgen's README, "Using fiptgen
// from another Bazel workspace").
//
// It does with the library what a host agent does, without touching the kernel: loads its
// model, keeps an IncrementalGenerator, plans the first apply, then turns one endpoint change
// (w2 gets the profile "ssh-from-web") into the plan for just that change and prints it.
// A real agent plans its first apply against the kernel's save output (ParseIptablesSave and
// ParseIpsetSave, observed.h) rather than an empty host, and feeds each plan to
// `ipset restore` and `iptables-restore --noflush` as fiptgen-apply does.
//
//   bazel run //:agent          # on model.json beside this file
//   agent MODEL.json
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "fiptgen/generate.h"
#include "fiptgen/incremental.h"
#include "fiptgen/load.h"
#include "fiptgen/model.h"
#include "fiptgen/observed.h"
#include "fiptgen/plan.h"
#include "fiptgen/ruleset.h"

namespace {

// The change this example makes: the orchestrator attaches a profile to one endpoint.
constexpr char kEndpointId[] = "w2";
constexpr char kAddedProfile[] = "ssh-from-web";

void PrintChanges(const fiptgen::Plans& plans) {
  for (const std::string& change : plans.changes()) {
    std::cout << "  " << change << "\n";
  }
}

int Run(const std::string& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  std::ostringstream json;
  json << in.rdbuf();
  if (!in) {
    std::cerr << model_path << ": cannot read\n";
    return 1;
  }
  absl::StatusOr<fiptgen::Model> model = fiptgen::LoadModel(json.str());
  if (!model.ok()) {
    std::cerr << model.status().message() << "\n";  // one error a line, each with its path
    return 2;
  }
  const fiptgen::Config config = model->config;

  // Generates everything once; every later change rebuilds only what depends on it.
  absl::StatusOr<fiptgen::IncrementalGenerator> generator =
      fiptgen::IncrementalGenerator::Create(*std::move(model));
  if (!generator.ok()) {
    std::cerr << generator.status().message() << "\n";
    return 2;
  }

  // The first apply: the whole desired state against what the host holds (here: nothing).
  const fiptgen::Desired desired = generator->desired();
  size_t chains = 0;
  for (const fiptgen::Ruleset& ruleset : desired.rulesets) {
    for (const fiptgen::Table& table : ruleset.tables) {
      chains += table.chains.size();
    }
  }
  const fiptgen::Plans first = fiptgen::PlanState(desired, fiptgen::ObservedState(), config);
  std::cout << "first apply: " << chains << " chains, " << desired.ipsets.size() << " ipsets, "
            << first.changes().size() << " changes\n";

  // One endpoint changes. The generator hands back the plan for that change alone, exactly
  // what planning the whole new state against the old one would give.
  fiptgen::Endpoint endpoint;
  for (const fiptgen::Endpoint& e : generator->model().endpoints) {
    if (e.id == kEndpointId) {
      endpoint = e;
    }
  }
  if (endpoint.id.empty()) {
    std::cerr << model_path << ": no endpoint \"" << kEndpointId << "\"\n";
    return 2;
  }
  endpoint.profile_ids.push_back(kAddedProfile);
  absl::StatusOr<fiptgen::Plans> plans = generator->UpsertEndpoint(std::move(endpoint));
  if (!plans.ok()) {
    std::cerr << plans.status().message() << "\n";
    return 2;
  }
  std::cout << "endpoint " << kEndpointId << " gets profile " << kAddedProfile << ": "
            << plans->changes().size() << " changes\n";
  PrintChanges(*plans);

  std::string text;
  fiptgen::RenderPlans(*plans, &text);
  std::cout << text;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: agent MODEL.json\n";
    return 2;
  }
  return Run(argv[1]);
}
