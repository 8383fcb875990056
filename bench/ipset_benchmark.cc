// ipset restore text: every set of the model, and the v4 blocklist alone (100,000 members
// in "huge"). bytes = restore text; items = members.
#include <vector>

#include "bench/bench_util.h"
#include "bench/fixtures.h"
#include "fiptgen/render.h"

namespace fiptgen {
namespace bench {
namespace {

size_t Members(const std::vector<IpSetSpec>& sets) {
  size_t n = 0;
  for (const IpSetSpec& s : sets) {
    n += s.members.size();
  }
  return n;
}

void RunRender(benchmark::State& state, const std::vector<IpSetSpec>& sets) {
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    RenderIpsetRestore(sets, &out);
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  SetThroughput(state, bytes, Members(sets));
}

void BM_RenderIpsetRestore(benchmark::State& state, ScaleSize size) {
  RunRender(state, GetScaleFixture(size).desired.ipsets);
}
FIPTGEN_SCALE_BENCHMARK(BM_RenderIpsetRestore);

void BM_RenderIpsetRestoreBlocklist(benchmark::State& state, ScaleSize size) {
  std::vector<IpSetSpec> sets;
  for (const IpSetSpec& s : GetScaleFixture(size).desired.ipsets) {
    if (s.name == "felix-blocklist-v4") {
      sets.push_back(s);
    }
  }
  if (sets.empty()) {
    state.SkipWithError("no blocklist-v4 set");
    return;
  }
  state.counters["members"] = static_cast<double>(sets[0].members.size());
  RunRender(state, sets);
}
FIPTGEN_SCALE_BENCHMARK(BM_RenderIpsetRestoreBlocklist);

}  // namespace
}  // namespace bench
}  // namespace fiptgen

BENCHMARK_MAIN();
