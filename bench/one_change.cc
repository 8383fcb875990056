// one_change: what one endpoint change costs the kernel, on a scale model loaded into a real
// kernel (as root, inside a throwaway network namespace: bench/one_change.sh makes one and
// runs this there; it refuses to run in the machine's own namespace).
//
//   one_change --size huge --backend nft --mode observe --cycles 3
//
// It loads the model's full state (ipset restore, iptables-<backend>-restore of both families),
// keeps an IncrementalGenerator of the model, and then, --cycles times, makes three changes
// one after the other, each planned by the generator and applied before the next:
//   added    a new workload, a copy of the middle one on another interface and addresses
//            (so its tag sets gain a member);
//   changed  that workload moves to other addresses (its tag sets lose one, gain one);
//   removed  it goes (its tag sets lose it): the state is the model's again.
// For each it prints the bytes of plan sent to the kernel (ipset restore before, iptables v4,
// v6, ipset restore after: the IncrementalGenerator's plans) and the wall time of applying
// it, min and median over the cycles, by --mode:
//   observe  Applier::Apply(desired): what `fiptgen-apply` does (save both families and the
//            sets, plan against them, apply, save again to verify);
//   known    Applier::ApplyPlans(plans): the generator's plans applied from the known state,
//            the agent's path (no save tool runs);
//   steps    the same steps run straight through the runner, without the library (ipset
//            restore, each family checked with --test, each table committed, ipset restore):
//            how the known-state figure was measured before ApplyPlans existed.
// --reads also times each save tool on the loaded state, best of --cycles runs.
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/scale_model.h"
#include "fiptgen/apply.h"
#include "fiptgen/incremental.h"
#include "fiptgen/load.h"
#include "fiptgen/net.h"
#include "fiptgen/observed.h"
#include "fiptgen/plan.h"
#include "fiptgen/render.h"
#include "tools/subprocess.h"

ABSL_FLAG(std::string, size, "small", "Model size: small, large or huge");
ABSL_FLAG(std::string, backend, "nft", "nft or legacy");
ABSL_FLAG(std::string, mode, "known", "known, observe or steps");
ABSL_FLAG(int, cycles, 3, "How many times each change is made (and each save timed)");
ABSL_FLAG(bool, reads, false, "Also time each save tool on the loaded state");
ABSL_FLAG(bool, detail, false,
          "Print every program run while applying, with its time, and the first cycle's plans");
ABSL_FLAG(bool, check_first, true,
          "ApplyOptions::check_first: every rule plan checked with --test before any table "
          "changes (--mode known and observe)");
ABSL_FLAG(std::string, netns, "",
          "The throwaway network namespace this runs in (ip netns add); set by one_change.sh");

namespace fiptgen {
namespace bench {
namespace {

[[noreturn]] void Die(absl::string_view message) {
  std::fprintf(stderr, "one_change: %.*s\n", static_cast<int>(message.size()), message.data());
  std::exit(1);
}

void Progress(absl::string_view message) {
  std::fprintf(stderr, "one_change: %.*s\n", static_cast<int>(message.size()), message.data());
}

// This process runs in the network namespace `ip netns add <name>` made.
bool InNamespace(const std::string& name) {
  struct stat mine, made;
  return !name.empty() && name.find('/') == std::string::npos &&
         stat("/proc/self/ns/net", &mine) == 0 &&
         stat(absl::StrCat("/run/netns/", name).c_str(), &made) == 0 &&
         mine.st_dev == made.st_dev && mine.st_ino == made.st_ino;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// Runs a program, dies unless it exits 0; returns its output and how long it took.
std::pair<std::string, absl::Duration> MustRun(CommandRunner* runner, std::vector<std::string> argv,
                                               absl::string_view input = "") {
  Command command;
  command.argv = std::move(argv);
  command.input = input;
  const absl::Time start = absl::Now();
  CommandResult r = runner->Run(command);
  const absl::Duration took = absl::Now() - start;
  if (r.exit_code != 0) {
    Die(absl::StrCat(absl::StrJoin(command.argv, " "), " failed: ", r.err));
  }
  if (absl::GetFlag(FLAGS_detail)) {
    Progress(absl::StrFormat("  %.1f ms %s (%d bytes in)", Ms(took),
                             absl::StrJoin(command.argv, " "), input.size()));
  }
  return {std::move(r.out), took};
}

std::string Tool(int family, absl::string_view backend, absl::string_view what) {
  return absl::StrCat(family == 6 ? "ip6tables-" : "iptables-", backend, "-", what);
}

// Bytes of each script of `plans`: ipsets before, v4, v6, ipsets after.
struct PlanBytes {
  size_t sets_before = 0, v4 = 0, v6 = 0, sets_after = 0;
  size_t total() const { return sets_before + v4 + v6 + sets_after; }
};
PlanBytes Bytes(const Plans& plans) {
  PlanBytes b;
  b.sets_before = plans.ipsets.before.size();
  b.sets_after = plans.ipsets.after.size();
  for (const RestorePlan& p : plans.rulesets) {
    (p.family == 6 ? b.v6 : b.v4) += p.text.size();
  }
  return b;
}

// The plans' steps as the applier runs them, from a state known beforehand.
void RunSteps(const Plans& plans, absl::string_view backend, CommandRunner* runner) {
  if (!plans.ipsets.before.empty()) {
    MustRun(runner, {"ipset", "restore"}, plans.ipsets.before);
  }
  for (const RestorePlan& p : plans.rulesets) {
    if (!p.text.empty()) {
      MustRun(runner, {Tool(p.family, backend, "restore"), "--noflush", "--test"}, p.text);
    }
  }
  for (const RestorePlan& p : plans.rulesets) {
    for (const RestorePlan::TableStep& step : p.tables) {
      MustRun(runner, {Tool(p.family, backend, "restore"), "--noflush"},
              absl::string_view(p.text).substr(step.text_begin, step.text_end - step.text_begin));
    }
  }
  if (!plans.ipsets.after.empty()) {
    MustRun(runner, {"ipset", "restore"}, plans.ipsets.after);
  }
}

// min and median of `ms`.
std::string MinMedian(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return absl::StrFormat("%.1f / %.1f", ms.front(), ms[ms.size() / 2]);
}

int Main() {
  const std::string backend = absl::GetFlag(FLAGS_backend);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const int cycles = absl::GetFlag(FLAGS_cycles);
  std::optional<ScaleSize> size = ParseScaleSize(absl::GetFlag(FLAGS_size));
  if (!size || (backend != "nft" && backend != "legacy") ||
      (mode != "known" && mode != "observe" && mode != "steps") || cycles < 1) {
    Die("bad flags: --size small|large|huge --backend nft|legacy --mode known|observe|steps "
        "--cycles N>=1");
  }
  if (!InNamespace(absl::GetFlag(FLAGS_netns))) {
    Die("run me in the throwaway network namespace --netns names (bench/one_change.sh makes "
        "one)");
  }
  SubprocessRunner runner;

  Progress("building the model");
  absl::StatusOr<Model> model = LoadModel(MakeScaleModelJson(ScaleSpecFor(*size)));
  if (!model.ok()) {
    Die(model.status().message());
  }
  const Config config = model->config;
  Endpoint added = model->endpoints[model->endpoints.size() / 2];
  absl::StatusOr<IncrementalGenerator> gen = IncrementalGenerator::Create(*std::move(model));
  if (!gen.ok()) {
    Die(gen.status().message());
  }

  Progress("loading the full state into the kernel");
  {
    RestoreFiles files = RenderFiles(gen->desired());
    auto [out_sets, sets_took] = MustRun(&runner, {"ipset", "restore"}, files.ipsets);
    auto [out4, took4] = MustRun(&runner, {Tool(4, backend, "restore")}, files.iptables);
    auto [out6, took6] = MustRun(&runner, {Tool(6, backend, "restore")}, files.ip6tables);
    std::printf(
        "loaded %s on %s: ipsets %.1f MB in %.0f ms, v4 %.1f MB in %.0f ms, v6 %.1f MB in %.0f "
        "ms\n",
        absl::GetFlag(FLAGS_size).c_str(), backend.c_str(), files.ipsets.size() / 1e6,
        Ms(sets_took), files.iptables.size() / 1e6, Ms(took4), files.ip6tables.size() / 1e6,
        Ms(took6));
  }

  if (absl::GetFlag(FLAGS_reads)) {
    std::printf("reads (best of %d):\n", cycles);
    std::vector<std::vector<std::string>> reads;
    for (int family : {4, 6}) {
      const std::string list = absl::StrCat(family == 6 ? "ip6tables-" : "iptables-", backend);
      reads.push_back({Tool(family, backend, "save")});
      reads.push_back({Tool(family, backend, "save"), "-t", "raw"});
      reads.push_back({Tool(family, backend, "save"), "-t", "filter"});
      reads.push_back({list, "-t", "raw", "-S"});
      reads.push_back({list, "-t", "filter", "-S"});
    }
    reads.push_back({"ipset", "save"});
    for (const std::vector<std::string>& argv : reads) {
      absl::Duration best = absl::InfiniteDuration();
      size_t bytes = 0;
      for (int i = 0; i < cycles; ++i) {
        auto [out, took] = MustRun(&runner, argv);
        best = std::min(best, took);
        bytes = out.size();
      }
      std::printf("  %-36s %8.1f ms  %6.1f MB\n", absl::StrJoin(argv, " ").c_str(), Ms(best),
                  bytes / 1e6);
    }
    // What the applier reads before it plans (Applier::Observe: both families and the sets),
    // against what it read before it listed tables on nft (both whole saves and the sets,
    // parsed), taken in turn so both see the same machine.
    ApplyOptions options;
    options.backend = backend == "legacy" ? Backend::kLegacy : Backend::kNft;
    Applier applier(config, options, &runner);
    const Desired desired = gen->desired();
    std::vector<double> whole, observe;
    for (int i = 0; i < cycles; ++i) {
      absl::Time start = absl::Now();
      for (int family : {4, 6}) {
        auto [text, took] = MustRun(&runner, {Tool(family, backend, "save")});
        if (!ParseIptablesSave(text, family, config.chain_prefix).ok()) {
          Die("cannot parse the save text");
        }
      }
      auto [sets, took] = MustRun(&runner, {"ipset", "save"});
      if (!ParseIpsetSave(sets, config.ipset_prefix).ok()) {
        Die("cannot parse ipset save");
      }
      whole.push_back(Ms(absl::Now() - start));
      start = absl::Now();
      absl::StatusOr<KernelState> state = applier.Observe(desired);
      observe.push_back(Ms(absl::Now() - start));
      if (!state.ok()) {
        Die(state.status().message());
      }
    }
    std::printf("  %-36s %s ms (min / median; read and parsed)\n", "whole saves + ipset save",
                MinMedian(whole).c_str());
    std::printf("  %-36s %s ms\n", "Applier::Observe", MinMedian(observe).c_str());
  }

  // The added workload: the middle one's profiles (so its tag sets), a new interface and
  // addresses nobody uses.
  added.id = "wl-one-change";
  added.interface = "tapone0change";
  added.ipv4_nets = {*ParseIpNet("198.19.253.77/32", 4)};
  added.ipv6_nets = {*ParseIpNet("fd5a:f1e1:0:4::77/128", 6)};
  Endpoint moved = added;
  moved.ipv4_nets = {*ParseIpNet("198.19.253.78/32", 4)};
  moved.ipv6_nets = {*ParseIpNet("fd5a:f1e1:0:4::78/128", 6)};

  ApplyOptions options;
  if (absl::GetFlag(FLAGS_detail)) {
    options.log = [](LogLevel level, absl::string_view line) {
      if (level == LogLevel::kDetail) {
        Progress(absl::StrCat("  ", line));
      }
    };
  }
  options.backend = backend == "legacy" ? Backend::kLegacy : Backend::kNft;
  options.check_first = absl::GetFlag(FLAGS_check_first);
  Applier applier(config, options, &runner);

  const char* kChanges[] = {"added", "changed", "removed"};
  std::map<std::string, std::vector<double>> times;
  std::map<std::string, PlanBytes> bytes;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    Progress(absl::StrCat("cycle ", cycle + 1, " of ", cycles));
    for (const char* change : kChanges) {
      absl::StatusOr<Plans> plans = change == kChanges[0]   ? gen->UpsertEndpoint(added)
                                    : change == kChanges[1] ? gen->UpsertEndpoint(moved)
                                                            : gen->RemoveEndpoint(added.id);
      if (!plans.ok()) {
        Die(plans.status().message());
      }
      bytes[change] = Bytes(*plans);
      if (absl::GetFlag(FLAGS_detail) && cycle == 0) {
        Progress(absl::StrCat(change, ": ", plans->ipsets.before));
        for (const RestorePlan& p : plans->rulesets) {
          Progress(absl::StrCat(change, " v", p.family, ":\n", p.text));
        }
      }
      absl::Duration took;
      if (mode == "observe") {
        const Desired target = gen->desired();
        const absl::Time start = absl::Now();
        absl::Status status = applier.Apply(target);
        took = absl::Now() - start;
        if (!status.ok()) {
          Die(status.message());
        }
      } else if (mode == "known") {
        const absl::Time start = absl::Now();
        absl::Status status = applier.ApplyPlans(*plans);
        took = absl::Now() - start;
        if (!status.ok()) {
          Die(status.message());
        }
      } else {
        const absl::Time start = absl::Now();
        RunSteps(*plans, backend, &runner);
        took = absl::Now() - start;
      }
      times[change].push_back(Ms(took));
    }
  }

  std::printf("%s, %s, mode %s%s, %d cycles\n", absl::GetFlag(FLAGS_size).c_str(), backend.c_str(),
              mode.c_str(), options.check_first ? "" : " (no --test first)", cycles);
  std::printf("  %-8s %10s %10s %10s %10s %10s   %s\n", "change", "plan B", "sets", "v4", "v6",
              "sets after", "apply ms (min / median)");
  for (const char* change : kChanges) {
    const PlanBytes& b = bytes[change];
    std::printf("  %-8s %10zu %10zu %10zu %10zu %10zu   %s\n", change, b.total(), b.sets_before,
                b.v4, b.v6, b.sets_after, MinMedian(times[change]).c_str());
  }
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace fiptgen

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Times applying one endpoint change on a scale model in a throwaway network namespace "
      "(bench/one_change.sh).");
  absl::ParseCommandLine(argc, argv);
  return fiptgen::bench::Main();
}
