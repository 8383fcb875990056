// Generation and rendering of the scale models.
// bytes = restore text produced (iptables + ip6tables + ipsets scripts);
// items = rule lines ("-A"/"-I") of both families.
#include "bench/bench_util.h"
#include "bench/fixtures.h"
#include "fiptgen/generate.h"
#include "fiptgen/render.h"

namespace fiptgen {
namespace bench {
namespace {

// The whole product from a loaded model: Generate, then the three scripts.
void BM_GenerateAndRender(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  for (auto _ : state) {
    Desired desired = Generate(f.model);
    RestoreFiles files = RenderFiles(desired);
    benchmark::DoNotOptimize(files);
  }
  SetThroughput(state, f.restore_bytes, f.rule_lines);
}
FIPTGEN_SCALE_BENCHMARK(BM_GenerateAndRender);

void BM_Generate(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  for (auto _ : state) {
    Desired desired = Generate(f.model);
    benchmark::DoNotOptimize(desired);
  }
  SetThroughput(state, f.restore_bytes, f.rule_lines);
}
FIPTGEN_SCALE_BENCHMARK(BM_Generate);

void BM_Render(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  for (auto _ : state) {
    RestoreFiles files = RenderFiles(f.desired);
    benchmark::DoNotOptimize(files);
  }
  SetThroughput(state, f.restore_bytes, f.rule_lines);
}
FIPTGEN_SCALE_BENCHMARK(BM_Render);

// The same into strings kept from one iteration to the next (RenderFiles' second form).
void BM_RenderReused(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  RestoreFiles files;
  for (auto _ : state) {
    RenderFiles(f.desired, &files);
    benchmark::DoNotOptimize(files);
  }
  SetThroughput(state, f.restore_bytes, f.rule_lines);
}
FIPTGEN_SCALE_BENCHMARK(BM_RenderReused);

}  // namespace
}  // namespace bench
}  // namespace fiptgen

BENCHMARK_MAIN();
