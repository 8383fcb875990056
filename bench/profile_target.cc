// profile_target: runs one step of the pipeline once on a scale model, with callgrind
// instrumentation on for that step only, so the profile holds nothing but the step.
//
//   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=gen.out
//       bazel-out/k8-opt/bin/bench/profile_target --size large --step generate_render
//   callgrind_annotate --inclusive=yes gen.out | head -40
//
// Steps: load, generate, render, generate_render, parse (iptables-save text of both
// families), plan_endpoint (PlanRestore after one endpoint changed, both families),
// replan_endpoint (Generate of the changed model, then PlanRestore), upsert_endpoint
// (IncrementalGenerator::UpsertEndpoint of the changed endpoint). Outside valgrind the
// client requests are no-ops and it prints the step's wall time.
#include <valgrind/callgrind.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "bench/fixtures.h"
#include "bench/scale_model.h"
#include "fiptgen/generate.h"
#include "fiptgen/incremental.h"
#include "fiptgen/load.h"
#include "fiptgen/net.h"
#include "fiptgen/observed.h"
#include "fiptgen/plan.h"
#include "fiptgen/render.h"

ABSL_FLAG(std::string, size, "large", "Model size: small, large or huge");
ABSL_FLAG(std::string, step, "generate_render",
          "load, generate, render, generate_render, parse, plan_endpoint, replan_endpoint or "
          "upsert_endpoint");

namespace {

using fiptgen::Desired;
using fiptgen::Model;

int Fail(absl::string_view message) {
  std::fprintf(stderr, "profile_target: %.*s\n", static_cast<int>(message.size()), message.data());
  return 1;
}

// The same change as the benchmark fixture's: a workload moves and gains a profile.
Model ChangeOneEndpoint(const Model& model) {
  Model changed = model;
  fiptgen::Endpoint& e = changed.endpoints[changed.endpoints.size() / 2];
  e.ipv4_nets = {*fiptgen::ParseIpNet("198.19.253.77/32", 4)};
  e.ipv6_nets = {*fiptgen::ParseIpNet("fd5a:f1e1:0:4::77/128", 6)};
  for (const auto& [id, profile] : changed.profiles) {
    if (id.rfind("prof-", 0) == 0 &&
        std::find(e.profile_ids.begin(), e.profile_ids.end(), id) == e.profile_ids.end()) {
      e.profile_ids.push_back(id);
      break;
    }
  }
  return changed;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Runs one pipeline step once, for callgrind.");
  absl::ParseCommandLine(argc, argv);
  auto size = fiptgen::bench::ParseScaleSize(absl::GetFlag(FLAGS_size));
  if (!size) {
    return Fail("--size must be small, large or huge");
  }
  const std::string step = absl::GetFlag(FLAGS_step);

  // Inputs, outside the measured region.
  const std::string json = fiptgen::bench::MakeScaleModelJson(fiptgen::bench::ScaleSpecFor(*size));
  absl::StatusOr<Model> loaded = fiptgen::LoadModel(json);
  if (!loaded.ok()) {
    return Fail(loaded.status().message());
  }
  const Model& model = *loaded;
  Desired desired;
  fiptgen::RestoreFiles files;
  std::vector<std::string> save;
  std::vector<fiptgen::ObservedRuleset> observed;
  Model changed_model;
  Desired changed;
  std::unique_ptr<fiptgen::IncrementalGenerator> incremental;
  if (step == "upsert_endpoint") {
    auto created = fiptgen::IncrementalGenerator::Create(model);
    if (!created.ok()) {
      return Fail(created.status().message());
    }
    incremental = std::make_unique<fiptgen::IncrementalGenerator>(*std::move(created));
    changed_model = ChangeOneEndpoint(model);
  }
  if (step != "load" && step != "generate" && step != "generate_render" &&
      step != "upsert_endpoint") {
    desired = fiptgen::Generate(model);
  }
  if (step == "parse" || step == "plan_endpoint" || step == "replan_endpoint") {
    files = fiptgen::RenderFiles(desired);
    save = {fiptgen::bench::RestoreToSave(files.iptables),
            fiptgen::bench::RestoreToSave(files.ip6tables)};
  }
  if (step == "plan_endpoint" || step == "replan_endpoint") {
    for (int i = 0; i < 2; ++i) {
      auto seen = fiptgen::ParseIptablesSave(save[i], i == 0 ? 4 : 6, model.config.chain_prefix);
      if (!seen.ok()) {
        return Fail(seen.status().message());
      }
      observed.push_back(*std::move(seen));
    }
    changed_model = ChangeOneEndpoint(model);
    if (step == "plan_endpoint") {
      changed = fiptgen::Generate(changed_model);
    }
  }

  size_t out_bytes = 0;
  auto start = std::chrono::steady_clock::now();
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_ZERO_STATS;
  if (step == "load") {
    absl::StatusOr<Model> m = fiptgen::LoadModel(json);
    out_bytes = m.ok() ? m->endpoints.size() : 0;
  } else if (step == "generate") {
    Desired d = fiptgen::Generate(model);
    out_bytes = d.rulesets.size();
  } else if (step == "render") {
    fiptgen::RestoreFiles f = fiptgen::RenderFiles(desired);
    out_bytes = f.iptables.size() + f.ip6tables.size() + f.ipsets.size();
  } else if (step == "generate_render") {
    Desired d = fiptgen::Generate(model);
    fiptgen::RestoreFiles f = fiptgen::RenderFiles(d);
    out_bytes = f.iptables.size() + f.ip6tables.size() + f.ipsets.size();
  } else if (step == "parse") {
    for (int i = 0; i < 2; ++i) {
      auto seen = fiptgen::ParseIptablesSave(save[i], i == 0 ? 4 : 6, model.config.chain_prefix);
      out_bytes += seen.ok() ? seen->ours.tables.size() : 0;
    }
  } else if (step == "plan_endpoint" || step == "replan_endpoint") {
    if (step == "replan_endpoint") {
      changed = fiptgen::Generate(changed_model);
    }
    for (int i = 0; i < 2; ++i) {
      fiptgen::RestorePlan plan =
          fiptgen::PlanRestore(changed.rulesets[i], observed[i].ours, observed[i].foreign);
      out_bytes += plan.text.size();
    }
  } else if (step == "upsert_endpoint") {
    auto plans = incremental->UpsertEndpoint(changed_model.endpoints[model.endpoints.size() / 2]);
    if (plans.ok()) {
      for (const fiptgen::RestorePlan& p : plans->rulesets) {
        out_bytes += p.text.size();
      }
    }
  } else {
    return Fail(absl::StrCat("unknown --step ", step));
  }
  CALLGRIND_DUMP_STATS_AT("measured step");
  CALLGRIND_STOP_INSTRUMENTATION;
  auto end = std::chrono::steady_clock::now();
  std::printf("%s %s: %.3f ms (result %zu)\n", absl::GetFlag(FLAGS_size).c_str(), step.c_str(),
              std::chrono::duration<double, std::milli>(end - start).count(), out_bytes);
  return 0;
}
