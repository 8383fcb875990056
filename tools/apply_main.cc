// fiptgen-apply: brings the kernel to a model's state with plans (README "The applier").
// The work is //fiptgen:apply's (fiptgen/apply.h: save, plan, restore, verify, roll back);
// this file holds the flags, the log on stderr, and the dry run's private namespace.
//
//   fiptgen-apply [--dry-run | --check] [--remove] [--backend auto|nft|legacy]
//                 [--hooks first|append] [--timeout SECONDS] [--quiet | --verbose] MODEL.json | -
//
// --dry-run prints the plans on stdout (nothing when there is nothing to do) and rehearses
// them, --test included, in a private network namespace loaded with a copy of the current
// state, so sets the plan creates exist there; nothing in the real namespace changes.
// --check prints them too and changes nothing at all. --remove plans for a model with nothing
// in it: everything of ours goes.
//
// Exit 0 on success, 1 when the model cannot be read or a tool fails, 2 on a bad command line
// or a bad model, 3 when --check finds drift, 4 when the time limit was reached.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fiptgen/apply.h"
#include "fiptgen/generate.h"
#include "fiptgen/plan.h"
#include "tools/cli_util.h"
#include "tools/subprocess.h"

namespace fiptgen {
namespace {

constexpr int kDefaultTimeoutSeconds = 120;
constexpr int kExitDrift = 3;  // --check: the kernel differs from the model
constexpr int kExitTimedOut = 4;

// What reaches stderr: errors and warnings always, what changed unless --quiet, what was run
// with --verbose.
enum class Verbosity { kQuiet, kNormal, kVerbose };
Verbosity verbosity = Verbosity::kNormal;

// One line on stderr: "2025-01-31T12:00:00.123Z fiptgen-apply: warning: ...", the time in
// UTC, so lines from runs on many hosts sort together.
void Log(LogLevel level, absl::string_view line) {
  if ((level == LogLevel::kInfo && verbosity == Verbosity::kQuiet) ||
      (level == LogLevel::kDetail && verbosity != Verbosity::kVerbose)) {
    return;
  }
  const char* what = level == LogLevel::kError     ? "error: "
                     : level == LogLevel::kWarning ? "warning: "
                                                   : "";
  std::cerr << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())
            << " fiptgen-apply: " << what << line << "\n";
}

int ExitCode(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDeadlineExceeded ? kExitTimedOut : cli::kExitFailure;
}

// The rehearsal's log: what goes wrong, said to be in the private copy.
void RehearsalLog(LogLevel level, absl::string_view line) {
  if (level == LogLevel::kError || level == LogLevel::kWarning) {
    Log(level, absl::StrCat("dry run, in the private copy: ", line));
  }
}

// Dry run: loads a copy of `state` into a new network namespace and applies `target` there.
// Runs in a child process, so the real namespace is never entered.
absl::Status Rehearse(const Config& config, const ApplyOptions& options, const Desired& target,
                      const KernelState& state, Applier* applier) {
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) {
      Log(LogLevel::kWarning,
          absl::StrCat("cannot make a private network namespace (", std::strerror(errno), ")"));
      _exit(3);
    }
    SubprocessRunner runner;
    ApplyOptions quiet = options;
    quiet.log = RehearsalLog;
    Applier rehearsal(config, quiet, &runner);
    absl::Status status = rehearsal.LoadCopy(state);
    if (!status.ok()) {
      Log(LogLevel::kWarning,
          absl::StrCat("cannot copy the current state for the rehearsal: ", status.message()));
      _exit(3);
    }
    status = rehearsal.Apply(target);
    if (!status.ok()) {
      RehearsalLog(LogLevel::kError, status.message());
    }
    std::cerr.flush();
    _exit(status.ok() ? 0 : 1);
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  if (code == 0) {
    Log(LogLevel::kInfo, "dry run: the plans apply cleanly to a copy of the current state");
    return absl::OkStatus();
  }
  if (code != 3) {
    return absl::AbortedError("dry run: the plans fail (see above)");
  }
  // No private namespace: check the rule plans in place with --test only.
  Log(LogLevel::kWarning,
      "dry run: falling back to iptables-restore --test in place; rules naming sets this "
      "plan creates cannot be checked");
  return applier->TestInPlace(applier->Plan(target, state));
}

const cli::Program& Program() {
  static const cli::Program* program = new cli::Program{
      "fiptgen-apply",
      "[--dry-run | --check] [--backend auto|nft|legacy] [--hooks first|append]\n"
      "                     [--timeout SECONDS] [--quiet | --verbose] MODEL.json | -\n"
      "       fiptgen-apply --remove [--dry-run | --check] [--backend ...] [MODEL.json | -]",
      "Brings iptables (raw and filter tables, IPv4 and IPv6) and ipsets to MODEL.json's\n"
      "state, changing only what differs: it saves the current state, plans against it and\n"
      "feeds the plans to ipset restore and iptables-restore --noflush. Chains that are not\n"
      "ours, and rules in built-in chains that are not our hooks, are never touched. One\n"
      "line per change on stderr, once the kernel took it, each with its time (UTC). If the\n"
      "kernel rejects a step, it names the failing plan line, puts back the state it found\n"
      "and says what it put back. \"-\" reads the model from standard input;\n"
      "under `bazel run`, a relative MODEL is taken from BUILD_WORKING_DIRECTORY. Needs root.",
      {
          {"--dry-run", "",
           "print the plans on stdout and rehearse them in a private copy of\n"
           "the network namespace; the host's rules and sets are not changed"},
          {"--check", "",
           "change nothing: exit 0 when the kernel is in sync with MODEL, 3 when\n"
           "it drifted (the plan that would fix it on stdout, each change on\n"
           "stderr), 1 (or 4) when it cannot tell; for monitoring and CI"},
          {"--remove", "",
           "take everything of ours out: hooks, chains and sets whose names\n"
           "start with MODEL's prefixes (the defaults, felix-, without MODEL);\n"
           "with --dry-run or --check, the plan that would"},
          {"--backend", "auto|nft|legacy",
           "the iptables backend whose -save and -restore tools to run;\n"
           "auto (the default) finds the one in use: the one holding our\n"
           "chains (refusing when both do), else the one holding kubelet's\n"
           "KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY chain, else the one\n"
           "holding more rules, else nft"},
          {"--timeout", "SECONDS",
           "the longest the run may take (default 120): a tool still running\n"
           "then is killed and what was changed is put back; changes are made\n"
           "in the first three quarters, the last quarter is kept for putting\n"
           "back. Waits (the xtables lock, a slow tool) are announced"},
          {"--quiet", "", "log only warnings and errors"},
          {"--verbose", "", "also log each tool run, with its exit status and how long it took"},
          {"--hooks", "first|append",
           "where our hooks (-j felix-INPUT, ...) go in the built-in chains:\n"
           "first (the default) keeps them before every other rule, moving\n"
           "them back to the top when a rule got in front; append only\n"
           "makes sure each is there, appending a missing one"},
      },
      "  0  applied, or nothing to do (--dry-run: the plans apply cleanly to a copy;\n"
      "     --check: in sync)\n"
      "  1  MODEL cannot be read, or a tool failed (stderr says what, and whether the\n"
      "     previous rules were put back)\n"
      "  2  a bad command line; or a bad model, with every error on stderr, one a line,\n"
      "     each starting with the path of the offending value\n"
      "  3  --check: the kernel differs from the model (the plan on stdout)\n"
      "  4  the time limit (--timeout) was reached (stderr says whether the previous rules\n"
      "     were put back)"};
  return *program;
}

int Main(int argc, char** argv) {
  const cli::Program& program = Program();
  cli::Args args;
  if (std::optional<int> exit_code = cli::ParseArgs(program, argc, argv, &args)) {
    return *exit_code;
  }
  const std::string backend = args.Has("--backend") ? args.flags.at("--backend") : "auto";
  if (backend != "auto" && backend != "nft" && backend != "legacy") {
    return cli::UsageError(
        program, absl::StrCat("--backend: must be auto, nft or legacy, not \"", backend, "\""));
  }
  const std::string hooks = args.Has("--hooks") ? args.flags.at("--hooks") : "first";
  if (hooks != "first" && hooks != "append") {
    return cli::UsageError(program,
                           absl::StrCat("--hooks: must be first or append, not \"", hooks, "\""));
  }
  int timeout_seconds = kDefaultTimeoutSeconds;
  if (args.Has("--timeout") &&
      (!absl::SimpleAtoi(args.flags.at("--timeout"), &timeout_seconds) || timeout_seconds < 1)) {
    return cli::UsageError(program, absl::StrCat("--timeout: must be a number of seconds, 1 or "
                                                 "more, not \"",
                                                 args.flags.at("--timeout"), "\""));
  }
  if (args.Has("--quiet") && args.Has("--verbose")) {
    return cli::UsageError(program, "--quiet and --verbose: one or the other");
  }
  if (args.Has("--dry-run") && args.Has("--check")) {
    return cli::UsageError(program, "--dry-run and --check: one or the other");
  }
  const bool remove = args.Has("--remove");
  if (remove ? args.positional.size() > 1 : args.positional.size() != 1) {
    return cli::UsageError(program,
                           remove ? "--remove: at most one MODEL.json" : "exactly one MODEL.json");
  }
  // With --remove the model gives only the prefixes of what is ours; without one, the
  // defaults.
  Model model;
  if (!args.positional.empty()) {
    absl::StatusOr<Model> loaded = cli::LoadModelFile(cli::CommandLinePath(args.positional[0]));
    if (!loaded.ok()) {
      return cli::ReportError(loaded.status());
    }
    model = *std::move(loaded);
  }
  const Desired target = remove ? Desired() : Generate(model);
  verbosity = args.Has("--quiet")     ? Verbosity::kQuiet
              : args.Has("--verbose") ? Verbosity::kVerbose
                                      : Verbosity::kNormal;

  signal(SIGPIPE, SIG_IGN);  // a tool that exits early must not kill us while we write
  SubprocessRunner runner;
  ApplyOptions options;
  options.deadline = runner.Now() + absl::Seconds(timeout_seconds);
  options.backend = backend == "legacy" ? Backend::kLegacy : Backend::kNft;
  if (backend == "auto") {
    absl::StatusOr<BackendChoice> choice =
        DetectBackend(model.config.chain_prefix, &runner, options.deadline);
    if (!choice.ok()) {
      Log(LogLevel::kError, choice.status().message());
      return ExitCode(choice.status());
    }
    options.backend = choice->backend;
    Log(LogLevel::kInfo, choice->reason);
  }
  options.hooks = hooks == "append" ? HookMode::kAppend : HookMode::kFirst;
  options.log = Log;
  Applier applier(model.config, options, &runner);
  if (!args.Has("--dry-run") && !args.Has("--check")) {
    absl::Status status = applier.Apply(target);
    if (!status.ok()) {
      Log(LogLevel::kError, status.message());
      return ExitCode(status);
    }
    return cli::kExitOk;
  }

  // --dry-run and --check: the plans on stdout, what they would change on stderr.
  absl::StatusOr<KernelState> state = applier.Observe(target);
  if (!state.ok()) {
    Log(LogLevel::kError, state.status().message());
    return ExitCode(state.status());
  }
  Plans plans = applier.Plan(target, *state);
  std::string text;
  RenderPlans(plans, &text);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  for (const std::string& note : plans.notes()) {
    Log(LogLevel::kInfo, note);
  }
  if (plans.empty()) {
    Log(LogLevel::kInfo, args.Has("--check") ? "in sync" : "no changes");
    return cli::kExitOk;
  }
  const char* would = args.Has("--check") ? "drift: " : "would: ";
  for (const std::string& change : plans.changes()) {
    Log(LogLevel::kInfo, absl::StrCat(would, change));
  }
  if (args.Has("--check")) {
    return kExitDrift;
  }
  absl::Status status = Rehearse(model.config, options, target, *state, &applier);
  if (!status.ok()) {
    Log(LogLevel::kError, status.message());
    return ExitCode(status);
  }
  return cli::kExitOk;
}

}  // namespace
}  // namespace fiptgen

int main(int argc, char** argv) { return fiptgen::Main(argc, argv); }
