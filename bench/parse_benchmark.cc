// Parsing observed state: `iptables-save` text (both families) and `ipset save` text, as
// the kernel prints the state the scale model's full scripts leave.
// bytes = save text; items = lines.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/fixtures.h"
#include "fiptgen/observed.h"

namespace fiptgen {
namespace bench {
namespace {

size_t Lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

void BM_ParseIptablesSave(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  const std::string& prefix = f.model.config.chain_prefix;
  for (auto _ : state) {
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<ObservedRuleset> seen = ParseIptablesSave(f.save[i], i == 0 ? 4 : 6, prefix);
      if (!seen.ok()) {
        state.SkipWithError("save text does not parse");
      }
      benchmark::DoNotOptimize(seen);
    }
  }
  SetThroughput(state, f.save[0].size() + f.save[1].size(), Lines(f.save[0]) + Lines(f.save[1]));
}
FIPTGEN_SCALE_BENCHMARK(BM_ParseIptablesSave);

// `ipset save` prints the create options it chose; members come back in hash order, which
// this leaves as rendered (sorted): the parser sorts either way.
std::string IpsetSaveText(const std::string& restore) {
  std::string out;
  out.reserve(restore.size() + restore.size() / 16);
  size_t start = 0;
  while (start < restore.size()) {
    size_t end = restore.find('\n', start);
    absl::string_view line(restore.data() + start, end - start);
    out.append(line.data(), line.size());
    if (line.substr(0, 7) == "create ") {
      if (line.find(" maxelem ") == absl::string_view::npos) {
        out.append(" maxelem 65536");
      }
      out.append(" hashsize 1024 bucketsize 12 initval 0x2f7d1c3a");
    }
    out.push_back('\n');
    start = end + 1;
  }
  return out;
}

void BM_ParseIpsetSave(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  const std::string text = IpsetSaveText(f.files.ipsets);
  for (auto _ : state) {
    absl::StatusOr<std::vector<IpSetSpec>> sets = ParseIpsetSave(text, f.model.config.ipset_prefix);
    if (!sets.ok() || *sets != f.desired.ipsets) {
      state.SkipWithError("ipset save mismatch");
    }
    benchmark::DoNotOptimize(sets);
  }
  SetThroughput(state, text.size(), Lines(text));
}
FIPTGEN_SCALE_BENCHMARK(BM_ParseIpsetSave);

}  // namespace
}  // namespace bench
}  // namespace fiptgen

BENCHMARK_MAIN();
