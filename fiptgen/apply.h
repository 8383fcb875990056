// Applying: bringing a kernel to a desired state with plans (plan.h). It saves what the
// kernel holds, plans against it, feeds the plans to `ipset restore` and
// `iptables-restore --noflush`, and when the kernel rejects a step puts back what it found.
// Every program runs through a CommandRunner the caller hands in: tools/subprocess.h runs
// real ones (fiptgen-apply uses it), testing/fake_kernel.h is an in-memory kernel for tests.
// Not part of the pure library (//fiptgen): this target runs programs, through the runner.
//
//   SubprocessRunner runner;                 // tools/subprocess.h
//   ApplyOptions options;
//   options.backend = Backend::kLegacy;
//   options.log = [](LogLevel level, absl::string_view line) { std::cerr << line << "\n"; };
//   Applier applier(model.config, options, &runner);
//   absl::Status status = applier.Apply(Generate(model));
#ifndef FIPTGEN_APPLY_H_
#define FIPTGEN_APPLY_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fiptgen/model.h"
#include "fiptgen/observed.h"
#include "fiptgen/plan.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// One program to run.
struct Command {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  absl::string_view input;        // written to its standard input
  // Killed (with anything it started) if still running then.
  absl::Time deadline = absl::InfiniteFuture();
  // Called once if it is still running after `notice_after`, so a long wait is announced.
  absl::Duration notice_after = absl::InfiniteDuration();
  std::function<void()> on_notice;
};

struct CommandResult {
  int exit_code = -1;      // -1 when it could not be run, was killed or died of a signal
  bool timed_out = false;  // killed at its deadline
  std::string out;
  std::string err;  // when it could not be run: why
};

// Runs programs for the applier, and tells the time their deadlines are measured on.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual CommandResult Run(const Command& command) = 0;
  virtual absl::Time Now() = 0;
};

// Which iptables tools run: iptables-nft-save / -restore or iptables-legacy-save / -restore.
enum class Backend { kNft, kLegacy };
absl::string_view BackendName(Backend backend);  // "nft", "legacy"

enum class LogLevel {
  kError,    // the run failed: what, and what state the kernel was left in
  kWarning,  // the run goes on, but something needs a look
  kInfo,     // what changed
  kDetail,   // what was run, and how long it took
};
using ApplyLog = std::function<void(LogLevel level, absl::string_view line)>;

struct ApplyOptions {
  Backend backend = Backend::kNft;
  HookMode hooks = HookMode::kFirst;  // plan.h
  ApplyLog log;                       // may be empty
  // Every rule plan is checked with `iptables-restore --noflush --test` before any table
  // changes, so a rule the kernel refuses changes nothing at all. Off, each table is
  // committed straight away and a refused one is put back like any failed step (the kernel
  // is read then): one program run less per family, which an agent applying small plans
  // from memory may prefer (on the huge bench model 15 ms a family on nft, 0.7 s on legacy,
  // where --test reads the whole table; bench/README.md).
  bool check_first = true;
  // When the run must be over. Changes are made in the first three quarters of the time
  // left when the Applier is made; the last quarter is kept for putting back what was
  // changed. A program still running at its deadline is killed (an nft transaction that a
  // foreign writer keeps restarting, a wait for the legacy xtables lock), and nothing starts
  // after it. A wait of more than a few seconds is announced.
  absl::Time deadline = absl::InfiniteFuture();
};

// What the kernel holds: the save tools' text as printed, and parsed.
struct KernelState {
  // By family, as iptables-save prints it (on nft: the raw and filter tables only); a family
  // that could not be read is absent.
  std::map<int, std::string> save_text;
  std::string ipset_text;
  ObservedState observed;
};

// The backend a host uses, found the way established agents find it (kube-proxy's
// iptables-wrapper): the one that holds our chains (chain_prefix; an error when both do: two
// rulesets would be in force); else the one holding kubelet's hint chains
// (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY); else the one holding more rules; else nft. Reads
// both families of both backends; a save tool that is missing or fails counts as empty.
struct BackendChoice {
  Backend backend = Backend::kNft;
  std::string reason;  // "backend legacy: our chains are there (felix-INPUT, IPv4 filter)"
};
absl::StatusOr<BackendChoice> DetectBackend(absl::string_view chain_prefix, CommandRunner* runner,
                                            absl::Time deadline = absl::InfiniteFuture());

class Applier {
 public:
  // `config` and `runner` must outlive the applier.
  Applier(const Config& config, ApplyOptions options, CommandRunner* runner);

  // Brings the kernel to `target`: usually one round of plans, two when a set changed type.
  // Logs each change. Then it reads back what the last round wrote, to check that nothing is
  // left to do (a rule the kernel prints back differently is warned about): on nft, when it
  // wrote a few chains, just those chains (`iptables-nft -t filter -S <chain>`) and the sets;
  // else the whole state again. OK when applied (or nothing differed). When a step fails, it puts
  // back what it found and returns Aborted; DataLoss when putting back failed too (the state is
  // mixed); DeadlineExceeded, whatever was put back (the message says), when it ran out of
  // time. Unavailable when the state cannot be read.
  absl::Status Apply(const Desired& target);

  // Applies plans made without reading the kernel, against a state the caller knows it holds
  // (what it applied last), which is what an agent does between full applies:
  //
  //   absl::StatusOr<Plans> plans = generator.UpsertEndpoint(endpoint);  // incremental.h
  //   absl::Status status = applier.ApplyPlans(*plans);
  //
  // Reads nothing first: it runs the plans' steps as Apply does (the sets, every rule plan
  // checked with --test, each table, the stale sets), logging each change once the kernel
  // took it. A step the kernel refuses, because a rule cannot load or because the kernel is
  // not in the state planned against (a member that is already there, a rule position past
  // the end), makes it read the kernel and put back Plans::from over the part of the state
  // the plans change, as Apply puts back what it found: Aborted, DataLoss when putting back
  // failed too, DeadlineExceeded at the time limit. Plans that need another round (a set
  // changed type) are finished the same way: the kernel is read and Plans::to planned
  // against it over that part. InvalidArgument, changing nothing, when the plans do not say
  // what they change from (Plans::from and Plans::to are empty).
  absl::Status ApplyPlans(const Plans& plans);

  // Reads the state: both families' rules (a family `target` does not enable may fail to
  // read) and the sets. On nft only the tables fiptgen writes are read, raw and filter, each
  // with `iptables-nft -t <table> -S` (KernelState::save_text holds them as save text); on
  // legacy the whole `iptables-legacy-save`. A wanted set held with another type that no rule
  // read names is checked with `ipset list -terse`: its kernel references tell whether
  // something not read uses it (ObservedState::unseen_set_users).
  absl::StatusOr<KernelState> Observe(const Desired& target);
  Plans Plan(const Desired& target, const KernelState& state) const;

  // Checks the rule plans with `iptables-restore --test` in place, changing nothing. Rules
  // naming sets the plans create cannot pass: the sets do not exist yet.
  absl::Status TestInPlace(const Plans& plans);

  // Loads `state` into a kernel that holds nothing (a private network namespace): the sets,
  // then each family's tables, whole.
  absl::Status LoadCopy(const KernelState& state);

  std::string SaveTool(int family) const;     // "iptables-nft-save"
  std::string ListTool(int family) const;     // "ip6tables-nft"
  std::string RestoreTool(int family) const;  // "ip6tables-legacy-restore"

 private:
  void Log(LogLevel level, absl::string_view line) const;
  CommandResult Run(std::vector<std::string> argv, absl::string_view input);
  // Runs an iptables restore tool; a wait for the xtables lock is announced and bounded.
  CommandResult RunRestoreTool(std::vector<std::string> argv, absl::string_view input);
  // Feeds `input`, which starts at line `first_line` of `plan`, to a restore tool; a failure
  // names the plan line the tool reported.
  absl::Status Restore(const std::vector<std::string>& argv, absl::string_view input,
                       absl::string_view plan, int first_line);
  // Runs the plans one step at a time (the sets they need, every table, the stale sets),
  // logging each change, after `prefix`, once the kernel took it; counts them in *made.
  absl::Status Execute(const Plans& plans, absl::string_view prefix, size_t* made);
  size_t DestroyStaleSets(absl::string_view script, absl::string_view prefix);
  // Puts back `previous` after a failed step, planned against the kernel read again; with
  // `part`, over the part of the state it holds only (Plans::from and Plans::to).
  absl::Status RollBack(const Desired& previous, const Plans* part, absl::StatusCode cause);
  absl::Status FindUnseenSetUsers(const Desired& target, ObservedState* observed);
  // Reads back the chains `plans` wrote and the sets, and warns about what a plan of `target`
  // would still change; false, having read nothing or part, when it cannot tell that way.
  bool CheckWritten(const Desired& target, const Plans& plans);
  // Reads the kernel for a plan of `target`; with `part`, narrowed to what it holds.
  absl::StatusOr<KernelState> ObservePart(const Desired& target, const Plans* part);
  // "applied: 3 changes in 12ms", or "no changes".
  void LogApplied(size_t made, absl::Time start);
  std::string Hint(const std::vector<std::string>& argv) const;

  const Config& config_;
  const ApplyOptions options_;
  CommandRunner* const runner_;
  absl::Time work_deadline_;   // changes are made before it
  bool putting_back_ = false;  // then programs may run until options_.deadline
};

}  // namespace fiptgen

#endif  // FIPTGEN_APPLY_H_
