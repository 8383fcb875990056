// JSON load: LoadModel (parse + validate) of the scale models.
// bytes = JSON text; items = endpoints + policy rules + ipset members.
#include "bench/bench_util.h"
#include "bench/fixtures.h"
#include "fiptgen/load.h"

namespace fiptgen {
namespace bench {
namespace {

void BM_LoadModel(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  size_t items = f.model.endpoints.size();
  for (const auto& [id, p] : f.model.profiles) {
    items += p.inbound_rules.size() + p.outbound_rules.size();
  }
  for (const IpSetModel& s : f.model.ipsets) {
    items += s.members.size();
  }
  for (auto _ : state) {
    absl::StatusOr<Model> model = LoadModel(f.json);
    if (!model.ok()) {
      state.SkipWithError("model does not load");
      break;
    }
    benchmark::DoNotOptimize(model);
  }
  SetThroughput(state, f.json.size(), items);
}
FIPTGEN_SCALE_BENCHMARK(BM_LoadModel);

}  // namespace
}  // namespace bench
}  // namespace fiptgen

BENCHMARK_MAIN();
