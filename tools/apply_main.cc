// fiptgen-apply: brings the kernel to a model's state with plans (README "The applier"; the
// plans are fiptgen/plan.h's).
//
//   fiptgen-apply [--dry-run] [--backend nft|legacy] MODEL.json | -
//
// Reads the current state (`iptables-<backend>-save`, `ip6tables-<backend>-save`,
// `ipset save`), plans, and applies: `ipset restore` (new and changed sets), then
// `iptables-<backend>-restore --noflush --wait` and the ip6tables one (each checked with
// --test first), then `ipset restore` again (stale sets destroyed). One line per change on
// stderr. When a restore fails it names the plan line, puts back the state it found (each
// table's COMMIT is its own transaction, so an earlier table may already have changed) and
// exits 1. After applying it reads the state again: a plan that is not empty then means the
// kernel prints some rule differently from how we wrote it, which it reports.
//
// --dry-run prints the plans on stdout (nothing when there is nothing to do) and rehearses
// them, --test included, in a private network namespace loaded with a copy of the current
// state, so sets the plan creates exist there; nothing in the real namespace changes.
//
// Exit 0 on success, 1 when the model cannot be read or a tool fails, 2 on a bad command line
// or a bad model.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fiptgen/generate.h"
#include "fiptgen/observed.h"
#include "fiptgen/plan.h"
#include "fiptgen/status_macros.h"
#include "tools/cli_util.h"

extern char** environ;

namespace fiptgen {
namespace {

constexpr int kFamilies[] = {4, 6};

void Log(absl::string_view line) { std::cerr << "fiptgen-apply: " << line << "\n"; }

struct ProcessResult {
  int exit_code = -1;  // -1: did not run or was killed
  std::string out;
  std::string err;
};

// Runs argv (argv[0] looked up in PATH) with `input` on its stdin, collecting its output.
ProcessResult Run(const std::vector<std::string>& argv, absl::string_view input) {
  ProcessResult result;
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    result.err = absl::StrCat("pipe: ", std::strerror(errno));
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawn_error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (spawn_error != 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    result.err = absl::StrCat("cannot run ", argv[0], ": ", std::strerror(spawn_error));
    return result;
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  int in_fd = in[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out[0], err_fd = err[0];
  char buf[65536];
  while (in_fd >= 0 || out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3] = {{in_fd, POLLOUT, 0}, {out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    if (in_fd >= 0 && fds[0].revents != 0) {
      ssize_t n = write(in_fd, input.data(), input.size());
      if (n > 0) {
        input.remove_prefix(static_cast<size_t>(n));
      }
      if ((n < 0 && errno != EAGAIN) || input.empty()) {
        close(in_fd);  // the tool stopped reading (EPIPE) or has everything
        in_fd = -1;
      }
    }
    for (auto [fd, text, index] :
         {std::tuple{&out_fd, &result.out, 1}, std::tuple{&err_fd, &result.err, 2}}) {
      if (*fd < 0 || fds[index].revents == 0) {
        continue;
      }
      ssize_t n = read(*fd, buf, sizeof(buf));
      if (n > 0) {
        text->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(*fd);
        *fd = -1;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The tool's own words, without its usage hint, on one line.
std::string ToolMessage(const ProcessResult& r) {
  std::vector<absl::string_view> lines;
  for (absl::string_view line : absl::StrSplit(r.err, '\n', absl::SkipWhitespace())) {
    if (!absl::StartsWith(line, "Try `")) {
      lines.push_back(line);
    }
  }
  if (lines.empty()) {
    return absl::StrCat("exit status ", r.exit_code);
  }
  return absl::StrJoin(lines, " | ");
}

class Applier {
 public:
  // A quiet applier (the dry run's rehearsal) logs no changes, and says where it runs.
  Applier(const Config& config, std::string backend, bool quiet)
      : config_(config), backend_(std::move(backend)), quiet_(quiet) {}

  void Note(absl::string_view line) const {
    Log(quiet_ ? absl::StrCat("dry run, in the private copy: ", line) : std::string(line));
  }

  // What the kernel holds: save text as printed, and parsed.
  struct State {
    std::map<int, std::string> save_text;  // by family; a family whose tool failed is absent
    std::string ipset_text;
    ObservedState observed;
  };

  std::string SaveTool(int family) const {
    return absl::StrCat(family == 6 ? "ip6tables-" : "iptables-", backend_, "-save");
  }
  std::string RestoreTool(int family) const {
    return absl::StrCat(family == 6 ? "ip6tables-" : "iptables-", backend_, "-restore");
  }

  absl::StatusOr<State> Observe(const Desired& target) const {
    State state;
    for (int family : kFamilies) {
      ProcessResult r = Run({SaveTool(family)}, "");
      if (r.exit_code != 0) {
        if (target.ForFamily(family) != nullptr) {
          return absl::UnavailableError(
              absl::StrCat(SaveTool(family), " failed: ", ToolMessage(r)));
        }
        if (!quiet_) {
          Note(absl::StrCat(SaveTool(family), " failed, skipping IPv", family));
        }
        continue;
      }
      FIPTGEN_ASSIGN_OR_RETURN(ObservedRuleset seen,
                               ParseIptablesSave(r.out, family, config_.chain_prefix));
      state.observed.rulesets.push_back(std::move(seen));
      state.save_text.emplace(family, std::move(r.out));
    }
    ProcessResult r = Run({"ipset", "save"}, "");
    if (r.exit_code != 0) {
      return absl::UnavailableError(absl::StrCat("ipset save failed: ", ToolMessage(r)));
    }
    FIPTGEN_ASSIGN_OR_RETURN(state.observed.ipsets, ParseIpsetSave(r.out, config_.ipset_prefix));
    state.ipset_text = std::move(r.out);
    return state;
  }

  Plans MakePlans(const Desired& target, const State& state) const {
    return PlanState(target, state.observed, config_);
  }

  // Feeds `plan` to a restore tool; on failure names the plan line it reported.
  absl::Status Restore(const std::vector<std::string>& argv, const std::string& plan) const {
    if (plan.empty()) {
      return absl::OkStatus();
    }
    ProcessResult r = Run(argv, plan);
    if (r.exit_code == 0) {
      return absl::OkStatus();
    }
    std::string where;
    if (int line = FailedLine(r.err); line > 0) {
      where = absl::StrCat(" at plan ", DescribePlanLine(plan, line));
    }
    return absl::AbortedError(
        absl::StrCat(absl::StrJoin(argv, " "), " failed", where, ": ", ToolMessage(r)));
  }

  enum class Phase { kNone, kBefore, kRules, kAfter };

  // Runs the plans; `failed_in` says how far it got when it fails.
  absl::Status Execute(const Plans& plans, Phase* failed_in) const {
    *failed_in = Phase::kBefore;
    FIPTGEN_RETURN_IF_ERROR(Restore({"ipset", "restore"}, plans.ipsets.before));
    *failed_in = Phase::kRules;
    for (const RestorePlan& plan : plans.rulesets) {
      const std::string tool = RestoreTool(plan.family);
      FIPTGEN_RETURN_IF_ERROR(Restore({tool, "--noflush", "--wait", "--test"}, plan.text));
      FIPTGEN_RETURN_IF_ERROR(Restore({tool, "--noflush", "--wait"}, plan.text));
    }
    *failed_in = Phase::kAfter;
    FIPTGEN_RETURN_IF_ERROR(Restore({"ipset", "restore"}, plans.ipsets.after));
    *failed_in = Phase::kNone;
    return absl::OkStatus();
  }

  // Brings the kernel to `target`: usually one round; two when a set changed type and its
  // rules had to name the temporary set in between.
  absl::Status Apply(const Desired& target) const {
    bool changed = false;
    for (int round = 1; round <= 2; ++round) {
      FIPTGEN_ASSIGN_OR_RETURN(State state, Observe(target));
      Plans plans = MakePlans(target, state);
      if (plans.empty()) {
        break;
      }
      changed = true;
      if (!quiet_) {
        for (const std::string& change : plans.changes()) {
          Note(change);
        }
      }
      Phase failed_in = Phase::kNone;
      absl::Status status = Execute(plans, &failed_in);
      if (!status.ok()) {
        if (failed_in == Phase::kAfter) {
          return status;  // the new rules are in force
        }
        Note(status.message());
        return RollBack(state);
      }
      if (plans.ipsets.renamed.empty()) {
        break;
      }
    }
    if (!changed) {
      if (!quiet_) {
        Note("no changes");
      }
      return absl::OkStatus();
    }
    // Applying then saving must give a state whose plan is empty.
    FIPTGEN_ASSIGN_OR_RETURN(State after, Observe(target));
    Plans again = MakePlans(target, after);
    for (const std::string& change : again.changes()) {
      Note(
          absl::StrCat("warning: the kernel prints this back differently, the next run will "
                       "repeat it: ",
                       change));
    }
    return absl::OkStatus();
  }

  // Puts back our part of `before` after a failed restore; the failure was logged.
  absl::Status RollBack(const State& before) const {
    Desired previous;
    for (const ObservedRuleset& rs : before.observed.rulesets) {
      previous.rulesets.push_back(rs.ours);
    }
    previous.ipsets = before.observed.ipsets;
    FIPTGEN_ASSIGN_OR_RETURN(State now, Observe(previous));
    Plans back = MakePlans(previous, now);
    Phase failed_in = Phase::kNone;
    absl::Status status = back.empty() ? absl::OkStatus() : Execute(back, &failed_in);
    if (!status.ok()) {
      return absl::DataLossError(absl::StrCat(
          "putting back the previous state failed too, the state is mixed: ", status.message()));
    }
    return absl::AbortedError(back.empty()
                                  ? "nothing was changed; the previous rules are in force"
                                  : "put back the previous state; the previous rules are in force");
  }

  // Dry run: loads a copy of `state` into a new network namespace and applies `target` there.
  // Runs in a child process, so the real namespace is never entered.
  absl::Status Rehearse(const Desired& target, const State& state) const {
    std::cout.flush();
    std::cerr.flush();
    pid_t pid = fork();
    if (pid < 0) {
      return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    }
    if (pid == 0) {
      if (unshare(CLONE_NEWNET) != 0) {
        Note(absl::StrCat("cannot make a private network namespace (", std::strerror(errno), ")"));
        _exit(3);
      }
      absl::Status status = Restore({"ipset", "restore"}, state.ipset_text);
      for (const auto& [family, text] : state.save_text) {
        if (status.ok()) {
          status = Restore({RestoreTool(family)}, text);
        }
      }
      if (!status.ok()) {
        Note(absl::StrCat("cannot copy the current state for the rehearsal: ", status.message()));
        _exit(3);
      }
      const Applier rehearsal(config_, backend_, /*quiet=*/true);
      status = rehearsal.Apply(target);
      if (!status.ok()) {
        rehearsal.Note(status.message());
      }
      std::cerr.flush();
      _exit(status.ok() ? 0 : 1);
    }
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    if (code == 0) {
      Note("dry run: the plans apply cleanly to a copy of the current state");
      return absl::OkStatus();
    }
    if (code != 3) {
      return absl::AbortedError("dry run: the plans fail (see above)");
    }
    // No private namespace: check the rule plans in place with --test only.
    Note(
        "dry run: falling back to iptables-restore --test in place; rules naming sets this "
        "plan creates cannot be checked");
    Plans plans = MakePlans(target, state);
    for (const RestorePlan& plan : plans.rulesets) {
      FIPTGEN_RETURN_IF_ERROR(
          Restore({RestoreTool(plan.family), "--noflush", "--wait", "--test"}, plan.text));
    }
    return absl::OkStatus();
  }

 private:
  const Config& config_;
  const std::string backend_;
  const bool quiet_;
};

const cli::Program& Program() {
  static const cli::Program* program = new cli::Program{
      "fiptgen-apply",
      "[--dry-run] [--backend nft|legacy] MODEL.json | -",
      "Brings iptables (raw and filter tables, IPv4 and IPv6) and ipsets to MODEL.json's\n"
      "state, changing only what differs: it saves the current state, plans against it and\n"
      "feeds the plans to ipset restore and iptables-restore --noflush. Chains that are not\n"
      "ours, and rules in built-in chains that are not our hooks, are never touched. One\n"
      "line per change on stderr. If the kernel rejects a restore, it names the failing plan\n"
      "line and puts back the state it found. \"-\" reads the model from standard input;\n"
      "under `bazel run`, a relative MODEL is taken from BUILD_WORKING_DIRECTORY. Needs root.",
      {
          {"--dry-run", "",
           "print the plans on stdout and rehearse them in a private copy of\n"
           "the network namespace; the host's rules and sets are not changed"},
          {"--backend", "nft|legacy",
           "the iptables backend whose -save and -restore tools to run\n"
           "(default nft)"},
      },
      "  0  applied, or nothing to do (--dry-run: the plans apply cleanly to a copy)\n"
      "  1  MODEL cannot be read, or a tool failed (stderr says what, and whether the\n"
      "     previous rules were put back)\n"
      "  2  a bad command line; or a bad model, with every error on stderr, one a line,\n"
      "     each starting with the path of the offending value"};
  return *program;
}

int Main(int argc, char** argv) {
  const cli::Program& program = Program();
  cli::Args args;
  if (std::optional<int> exit_code = cli::ParseArgs(program, argc, argv, &args)) {
    return *exit_code;
  }
  const std::string backend = args.Has("--backend") ? args.flags.at("--backend") : "nft";
  if (backend != "nft" && backend != "legacy") {
    return cli::UsageError(program,
                           absl::StrCat("--backend: must be nft or legacy, not \"", backend, "\""));
  }
  if (args.positional.size() != 1) {
    return cli::UsageError(program, "exactly one MODEL.json");
  }
  absl::StatusOr<Model> model = cli::LoadModelFile(cli::CommandLinePath(args.positional[0]));
  if (!model.ok()) {
    return cli::ReportError(model.status());
  }
  const Desired target = Generate(*model);

  signal(SIGPIPE, SIG_IGN);  // a tool that exits early must not kill us while we write
  Applier applier(model->config, backend, /*quiet=*/false);
  absl::Status status;
  if (args.Has("--dry-run")) {
    absl::StatusOr<Applier::State> state = applier.Observe(target);
    if (!state.ok()) {
      Log(state.status().message());
      return 1;
    }
    Plans plans = applier.MakePlans(target, *state);
    std::string text;
    RenderPlans(plans, &text);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (plans.empty()) {
      Log("no changes");
      return 0;
    }
    for (const std::string& change : plans.changes()) {
      Log(absl::StrCat("would: ", change));
    }
    status = applier.Rehearse(target, *state);
  } else {
    status = applier.Apply(target);
  }
  if (!status.ok()) {
    Log(status.message());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace fiptgen

int main(int argc, char** argv) { return fiptgen::Main(argc, argv); }
