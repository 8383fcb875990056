// make_model: writes a deterministic scale model (bench/scale_model.h) as JSON to stdout.
//
//   make_model --size large [--seed 20240601] > large.json
//   fiptgen --out /tmp/large large.json
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "bench/scale_model.h"

ABSL_FLAG(std::string, size, "small", "Model size: small, large or huge");
ABSL_FLAG(uint64_t, seed, fiptgen::bench::kDefaultScaleSeed,
          "Seed of the generator; the same seed gives the same model");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Writes a scale model for fiptgen as JSON to stdout.");
  absl::ParseCommandLine(argc, argv);
  std::optional<fiptgen::bench::ScaleSize> size =
      fiptgen::bench::ParseScaleSize(absl::GetFlag(FLAGS_size));
  if (!size) {
    std::fprintf(stderr, "make_model: --size must be small, large or huge\n");
    return 2;
  }
  std::string json = fiptgen::bench::MakeScaleModelJson(fiptgen::bench::ScaleSpecFor(*size),
                                                        absl::GetFlag(FLAGS_seed));
  if (std::fwrite(json.data(), 1, json.size(), stdout) != json.size() || std::fflush(stdout)) {
    std::fprintf(stderr, "make_model: cannot write stdout\n");
    return 1;
  }
  return 0;
}
