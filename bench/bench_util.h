// Shared by the benchmark files: sizes registered for every suite and throughput counters.
#ifndef BENCH_BENCH_UTIL_H_
#define BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"

namespace fiptgen {
namespace bench {

// Reports `bytes` and `items` handled per iteration as bytes/s and items/s.
inline void SetThroughput(benchmark::State& state, size_t bytes, size_t items) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(items));
}

// The fastest repetition: on a shared machine the least disturbed run is the best estimate
// of the code's own cost (with --benchmark_repetitions=N, reported as "<name>_min").
inline double MinOf(const std::vector<double>& v) {
  return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

}  // namespace bench
}  // namespace fiptgen

// Registers `fn(state, ScaleSize)` as fn/small, fn/large and fn/huge. The CI smoke run
// selects the small ones with --benchmark_filter=/small.
#define FIPTGEN_SCALE_BENCHMARK(fn)                                 \
  BENCHMARK_CAPTURE(fn, small, ::fiptgen::bench::ScaleSize::kSmall) \
      ->Unit(benchmark::kMillisecond)                               \
      ->ComputeStatistics("min", ::fiptgen::bench::MinOf);          \
  BENCHMARK_CAPTURE(fn, large, ::fiptgen::bench::ScaleSize::kLarge) \
      ->Unit(benchmark::kMillisecond)                               \
      ->ComputeStatistics("min", ::fiptgen::bench::MinOf);          \
  BENCHMARK_CAPTURE(fn, huge, ::fiptgen::bench::ScaleSize::kHuge)   \
      ->Unit(benchmark::kMillisecond)                               \
      ->ComputeStatistics("min", ::fiptgen::bench::MinOf)

#endif  // BENCH_BENCH_UTIL_H_
