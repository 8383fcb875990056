// Scale models for benchmarks: deterministic, seeded JSON models of a busy host.
//
//   std::string json = MakeScaleModelJson(ScaleSpecFor(ScaleSize::kLarge));
//   absl::StatusOr<Model> model = LoadModel(json);  // always loads
//
// The same seed gives the same bytes on every machine: the generator uses its own
// pseudo-random sequence (SplitMix64), never the clock or std:: distributions, whose
// results differ between standard libraries. Addresses come only from the benchmarking
// ranges 198.18.0.0/15 (RFC 2544) and fd5a:f1e1::/32.
#ifndef BENCH_SCALE_MODEL_H_
#define BENCH_SCALE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace fiptgen {
namespace bench {

enum class ScaleSize { kSmall, kLarge, kHuge };

struct ScaleSpec {
  const char* name = "";
  int workloads = 0;
  int profiles = 0;           // including the host and untracked profiles
  int rules_per_profile = 0;  // inbound + outbound
  int tags = 0;
  int host_endpoints = 0;  // every second one also has untracked profiles
  int untracked_profiles = 0;
  int big_ipset_members = 0;  // members of each of the two blocklists (v4 and v6)
};

// small: 50 workloads, 20 profiles x 10 rules. large: 1,000 workloads, 1,000 profiles x 40
// rules, 200 tags. huge: 10,000 workloads, 5,000 profiles x 40 rules, two ipsets of
// 100,000 members. All have both families and host endpoints with untracked profiles.
ScaleSpec ScaleSpecFor(ScaleSize size);

// "small", "large" or "huge"; nullopt otherwise.
std::optional<ScaleSize> ParseScaleSize(absl::string_view name);

inline constexpr uint64_t kDefaultScaleSeed = 20240601;

// The model as a JSON document (one endpoint, profile rule list or ipset a line).
std::string MakeScaleModelJson(const ScaleSpec& spec, uint64_t seed = kDefaultScaleSeed);

}  // namespace bench
}  // namespace fiptgen

#endif  // BENCH_SCALE_MODEL_H_
