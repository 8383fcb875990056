// Plans (fiptgen/plan.h) against the state the full scripts leave, parsed from save text.
// bytes = desired restore text of both families (the state compared); items = chains.
// Counter plan_bytes = size of the plan text (0 for the unchanged state).
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "bench/bench_util.h"
#include "bench/fixtures.h"
#include "fiptgen/generate.h"
#include "fiptgen/incremental.h"
#include "fiptgen/net.h"
#include "fiptgen/plan.h"
#include "fiptgen/render.h"

namespace fiptgen {
namespace bench {
namespace {

size_t ChainCount(const Desired& d) {
  size_t n = 0;
  for (const Ruleset& rs : d.rulesets) {
    for (const Table& t : rs.tables) {
      n += t.chains.size();
    }
  }
  return n;
}

// Plans both families of `desired` against the fixture's observed state; returns the
// plan size.
size_t PlanBoth(const ScaleFixture& f, const Desired& desired) {
  size_t bytes = 0;
  for (size_t i = 0; i < desired.rulesets.size(); ++i) {
    RestorePlan plan = PlanRestore(desired.rulesets[i], f.observed[i].ours, f.observed[i].foreign);
    bytes += plan.text.size();
    benchmark::DoNotOptimize(plan);
  }
  return bytes;
}

void RunPlan(benchmark::State& state, const ScaleFixture& f, const Desired& desired,
             bool want_empty) {
  size_t plan_bytes = 0;
  for (auto _ : state) {
    plan_bytes = PlanBoth(f, desired);
  }
  if ((plan_bytes == 0) != want_empty) {
    state.SkipWithError("unexpected plan size");
  }
  state.counters["plan_bytes"] = static_cast<double>(plan_bytes);
  SetThroughput(state, f.files.iptables.size() + f.files.ip6tables.size(), ChainCount(desired));
}

void BM_PlanUnchanged(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  RunPlan(state, f, f.desired, /*want_empty=*/true);
}
FIPTGEN_SCALE_BENCHMARK(BM_PlanUnchanged);

void BM_PlanEndpointChanged(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  RunPlan(state, f, f.endpoint_changed, /*want_empty=*/false);
}
FIPTGEN_SCALE_BENCHMARK(BM_PlanEndpointChanged);

void BM_PlanProfileChanged(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  RunPlan(state, f, f.profile_changed, /*want_empty=*/false);
}
FIPTGEN_SCALE_BENCHMARK(BM_PlanProfileChanged);

// What an agent does on an endpoint update today: generate everything again, then plan.
void BM_GenerateAndPlanEndpointChanged(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  size_t plan_bytes = 0;
  for (auto _ : state) {
    Desired desired = Generate(f.endpoint_changed_model);
    plan_bytes = PlanBoth(f, desired);
  }
  state.counters["plan_bytes"] = static_cast<double>(plan_bytes);
  SetThroughput(state, f.files.iptables.size() + f.files.ip6tables.size(),
                ChainCount(f.endpoint_changed));
}
FIPTGEN_SCALE_BENCHMARK(BM_GenerateAndPlanEndpointChanged);

// What an agent with an IncrementalGenerator does on an endpoint update: validate it,
// rebuild only what depends on it, plan just that (iptables for both families and ipsets).
// Iterations alternate between the changed and the original endpoint, so every one is a
// real change. bytes/items as for the other plans (the state the change is planned in).
void BM_IncrementalUpsertEndpoint(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  static auto* generators = new std::map<ScaleSize, std::unique_ptr<IncrementalGenerator>>();
  std::unique_ptr<IncrementalGenerator>& gen = (*generators)[size];
  if (gen == nullptr) {
    absl::StatusOr<IncrementalGenerator> created = IncrementalGenerator::Create(f.model);
    if (!created.ok()) {
      state.SkipWithError("IncrementalGenerator::Create failed");
      return;
    }
    gen = std::make_unique<IncrementalGenerator>(*std::move(created));
  }
  const size_t index = f.model.endpoints.size() / 2;
  const Endpoint* versions[] = {&f.endpoint_changed_model.endpoints[index],
                                &f.model.endpoints[index]};
  size_t n = 0;
  size_t plan_bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<Plans> plans = gen->UpsertEndpoint(*versions[n++ % 2]);
    if (!plans.ok()) {
      state.SkipWithError("UpsertEndpoint failed");
      break;
    }
    plan_bytes = plans->ipsets.before.size() + plans->ipsets.after.size();
    for (const RestorePlan& p : plans->rulesets) {
      plan_bytes += p.text.size();
    }
    benchmark::DoNotOptimize(plans);
  }
  // Leave the generator at the original model for the next run.
  if (n % 2 == 1 && !gen->UpsertEndpoint(*versions[1]).ok()) {
    state.SkipWithError("restore");
  }
  if (plan_bytes == 0) {
    state.SkipWithError("empty plan");
  }
  state.counters["plan_bytes"] = static_cast<double>(plan_bytes);
  SetThroughput(state, f.files.iptables.size() + f.files.ip6tables.size(), ChainCount(f.desired));
}
FIPTGEN_SCALE_BENCHMARK(BM_IncrementalUpsertEndpoint);

// The ipset side of the endpoint change: the tag sets holding its old and new addresses
// lose and gain a member (del/add lines). bytes = desired ipset text; items = members.
void BM_PlanIpsetsEndpointChanged(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  size_t members = 0;
  for (const IpSetSpec& s : f.endpoint_changed.ipsets) {
    members += s.members.size();
  }
  size_t plan_bytes = 0;
  for (auto _ : state) {
    IpsetPlan plan = PlanIpsets(f.endpoint_changed.ipsets, f.desired.ipsets, f.model.config);
    plan_bytes = plan.before.size() + plan.after.size();
    benchmark::DoNotOptimize(plan);
  }
  if (plan_bytes == 0) {
    state.SkipWithError("empty ipset plan");
  }
  state.counters["plan_bytes"] = static_cast<double>(plan_bytes);
  SetThroughput(state, f.files.ipsets.size(), members);
}
FIPTGEN_SCALE_BENCHMARK(BM_PlanIpsetsEndpointChanged);

// One address more in the v4 blocklist (100,000 members in huge): the plan is one add line
// whatever the set's size. bytes = the set's restore text; items = its members.
void BM_PlanIpsetsBlocklistMemberAdded(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  const IpSetSpec* blocklist = nullptr;
  for (const IpSetSpec& s : f.desired.ipsets) {
    if (s.name == "felix-blocklist-v4") {
      blocklist = &s;
    }
  }
  if (blocklist == nullptr) {
    state.SkipWithError("no blocklist-v4 set");
    return;
  }
  IpSetSpec grown = *blocklist;
  grown.members.push_back(*ParseIpNet("203.0.113.77", 4));
  size_t plan_bytes = 0;
  for (auto _ : state) {
    IpsetPlan plan = PlanIpsets({grown}, {*blocklist}, f.model.config);
    plan_bytes = plan.before.size() + plan.after.size();
    benchmark::DoNotOptimize(plan);
  }
  state.counters["plan_bytes"] = static_cast<double>(plan_bytes);
  std::string text;
  RenderIpsetRestore({*blocklist}, &text);
  SetThroughput(state, text.size(), blocklist->members.size());
}
FIPTGEN_SCALE_BENCHMARK(BM_PlanIpsetsBlocklistMemberAdded);

// Lower bounds of a plan that compares chains by content, to split PlanRestore's time:
// (1) comparing every desired body with its observed twin (chains matched beforehand),
// (2) indexing the observed chains by name and the wanted names (what PlanTable builds).
void BM_PlanPartCompareBodies(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  std::vector<std::pair<const Chain*, const Chain*>> pairs;
  for (size_t i = 0; i < f.endpoint_changed.rulesets.size(); ++i) {
    for (const Table& want : f.endpoint_changed.rulesets[i].tables) {
      absl::flat_hash_map<absl::string_view, const Chain*> have;
      for (const Table& t : f.observed[i].ours.tables) {
        if (t.name != want.name) {
          continue;
        }
        for (const Chain& c : t.chains) {
          have.emplace(c.name(), &c);
        }
      }
      for (const Chain& c : want.chains) {
        auto it = have.find(c.name());
        if (it != have.end()) {
          pairs.emplace_back(&c, it->second);
        }
      }
    }
  }
  size_t differ = 0;
  for (auto _ : state) {
    differ = 0;
    for (const auto& [want, have] : pairs) {
      differ += want->body() != have->body();
    }
    benchmark::DoNotOptimize(differ);
  }
  state.counters["differing_chains"] = static_cast<double>(differ);
  SetThroughput(state, f.files.iptables.size() + f.files.ip6tables.size(), pairs.size());
}
FIPTGEN_SCALE_BENCHMARK(BM_PlanPartCompareBodies);

void BM_PlanPartIndexChains(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  for (auto _ : state) {
    for (size_t i = 0; i < f.endpoint_changed.rulesets.size(); ++i) {
      for (const Table& t : f.observed[i].ours.tables) {
        absl::flat_hash_map<absl::string_view, const Chain*> have;
        for (const Chain& c : t.chains) {
          have.emplace(c.name(), &c);
        }
        benchmark::DoNotOptimize(have);
      }
      for (const Table& t : f.endpoint_changed.rulesets[i].tables) {
        absl::flat_hash_set<absl::string_view> wanted;
        for (const Chain& c : t.chains) {
          wanted.insert(c.name());
        }
        benchmark::DoNotOptimize(wanted);
      }
    }
  }
  SetThroughput(state, f.files.iptables.size() + f.files.ip6tables.size(),
                ChainCount(f.endpoint_changed));
}
FIPTGEN_SCALE_BENCHMARK(BM_PlanPartIndexChains);

}  // namespace
}  // namespace bench
}  // namespace fiptgen

BENCHMARK_MAIN();
