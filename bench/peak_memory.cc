// peak_memory: heap high-water mark of Generate + RenderFiles on a scale model, against the
// size of the text it produces. Counts every operator new/delete of the process (malloc
// usable sizes), so it measures exactly what generation allocates on top of the loaded
// model; also prints the process peak RSS.
//
//   peak_memory --size large
//
// A separate binary, not a benchmark counter: replacing operator new slows everything a
// little, and getrusage's maxrss only ever grows, so it cannot isolate one step.
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "bench/scale_model.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/render.h"

ABSL_FLAG(std::string, size, "large", "Model size: small, large or huge");

namespace {

size_t g_live = 0;
size_t g_peak = 0;

void* Allocate(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  g_live += malloc_usable_size(p);
  if (g_live > g_peak) {
    g_peak = g_live;
  }
  return p;
}

void Release(void* p) {
  if (p == nullptr) {
    return;
  }
  g_live -= malloc_usable_size(p);
  std::free(p);
}

long MaxRssKb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

void* operator new(size_t n) { return Allocate(n); }
void* operator new[](size_t n) { return Allocate(n); }
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Prints the peak heap of Generate + RenderFiles.");
  absl::ParseCommandLine(argc, argv);
  std::optional<fiptgen::bench::ScaleSize> size =
      fiptgen::bench::ParseScaleSize(absl::GetFlag(FLAGS_size));
  if (!size) {
    std::fprintf(stderr, "peak_memory: --size must be small, large or huge\n");
    return 2;
  }
  size_t model_bytes = 0;
  fiptgen::Model model;
  {
    std::string json = fiptgen::bench::MakeScaleModelJson(fiptgen::bench::ScaleSpecFor(*size));
    absl::StatusOr<fiptgen::Model> loaded = fiptgen::LoadModel(json);
    if (!loaded.ok()) {
      std::fprintf(stderr, "peak_memory: %s\n", std::string(loaded.status().message()).c_str());
      return 1;
    }
    model = *std::move(loaded);
    model_bytes = json.size();
  }
  const size_t base = g_live;
  g_peak = g_live;
  auto start = std::chrono::steady_clock::now();
  fiptgen::Desired desired = fiptgen::Generate(model);
  const size_t after_generate = g_live - base;
  const size_t peak_generate = g_peak - base;
  fiptgen::RestoreFiles files = fiptgen::RenderFiles(desired);
  auto end = std::chrono::steady_clock::now();
  const size_t peak = g_peak - base;
  const size_t retained = g_live - base;
  const size_t ipt = files.iptables.size() + files.ip6tables.size();
  const size_t out = ipt + files.ipsets.size();
  std::printf("size                    %s (model JSON %.1f MB, loaded model %.1f MB heap)\n",
              absl::GetFlag(FLAGS_size).c_str(), model_bytes / 1e6, base / 1e6);
  std::printf("output                  %.1f MB (iptables+ip6tables %.1f MB, ipsets %.1f MB)\n",
              out / 1e6, ipt / 1e6, files.ipsets.size() / 1e6);
  std::printf("Desired (after Generate) %.1f MB heap, peak during Generate %.1f MB\n",
              after_generate / 1e6, peak_generate / 1e6);
  std::printf("peak heap Generate+Render %.1f MB = %.2f x output\n", peak / 1e6,
              static_cast<double>(peak) / out);
  std::printf("retained (Desired+files) %.1f MB = %.2f x output\n", retained / 1e6,
              static_cast<double>(retained) / out);
  std::printf("wall Generate+Render     %.1f ms (one run, cold allocator)\n",
              std::chrono::duration<double, std::milli>(end - start).count());
  // The way `fiptgen --out` generates: one family at a time, each freed before the next.
  desired = fiptgen::Desired();
  files = fiptgen::RestoreFiles();
  const size_t before_families = g_live;
  g_peak = g_live;
  fiptgen::GenerateEachFamily(model, [](fiptgen::Desired one) {
    fiptgen::RenderRestoreFile(one.rulesets[0], [](absl::string_view) {});
  });
  std::printf("peak heap, one family at a time (as fiptgen --out) %.1f MB = %.2f x output\n",
              (g_peak - before_families) / 1e6,
              static_cast<double>(g_peak - before_families) / out);
  std::printf("process max RSS          %.1f MB\n", MaxRssKb() / 1e3);
  return 0;
}
