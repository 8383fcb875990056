#include "fiptgen/apply.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fiptgen/names.h"
#include "fiptgen/rule_text.h"
#include "fiptgen/status_macros.h"

namespace fiptgen {
namespace {

constexpr int kFamilies[] = {4, 6};

// A program still running after this is announced.
constexpr absl::Duration kNoticeAfter = absl::Seconds(5);

// The exit of an iptables restore tool that could not take the xtables lock in time.
bool LockBusy(const CommandResult& r) {
  return r.exit_code == 4 && absl::StrContains(r.err, "xtables lock");
}

// What Apply reads back chain by chain after the last round, on nft; more are read whole.
// One chain lists in ~16 ms on the huge bench model, where a whole read takes ~23 s, and in
// ~5 ms on the small one, where it takes ~50 ms.
constexpr size_t kCheckChainsMax = 32;

// A set-type change takes two rounds; three when it finishes one an earlier run left half
// done under a model that changed again.
constexpr int kMaxRounds = 3;

// The tool's own words, without its usage hint, on one line.
std::string ToolMessage(const CommandResult& r) {
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

// Save text as the restore tools read it, one rule a line: a newline inside a quoted
// argument (NextSaveLine) becomes a space. The copy's foreign comment differs by that; what
// its rules do does not.
std::string OneRuleALine(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t start = out.size();
    absl::string_view line = NextSaveLine(&text);
    out.append(line.data(), line.size());
    std::replace(out.begin() + start, out.end(), '\n', ' ');
    out.push_back('\n');
  }
  return out;
}

// The part of `seen` a change from `from` to `to` is about: our chains either names, in the
// tables either has (with all the hooks of those tables), and our sets either names, with
// their temporary names. Our other chains join the foreign ones of their table: a plan
// leaves them as they are and still sees what they jump to and which sets they name.
ObservedState Narrow(const ObservedState& seen, const Desired& from, const Desired& to,
                     const Config& config) {
  std::set<std::pair<int, std::string>> tables;
  std::set<std::tuple<int, std::string, std::string>> chains;
  std::set<std::string> sets;
  const Namer namer(config);
  for (const Desired* part : {&from, &to}) {
    for (const Ruleset& rs : part->rulesets) {
      for (const Table& t : rs.tables) {
        tables.emplace(rs.family, t.name);
        for (const Chain& c : t.chains) {
          chains.emplace(rs.family, t.name, c.name());
        }
      }
    }
    for (const IpSetSpec& set : part->ipsets) {
      sets.insert(set.name);
      sets.insert(namer.TemporarySet(set.name));
    }
  }
  ObservedState narrow;
  for (const ObservedRuleset& rs : seen.rulesets) {
    const int family = rs.ours.family;
    ObservedRuleset& out = narrow.rulesets.emplace_back();
    out.ours.family = family;
    out.foreign = rs.foreign;
    for (const Table& t : rs.ours.tables) {
      auto foreign = std::find_if(out.foreign.begin(), out.foreign.end(),
                                  [&t](const Table& f) { return f.name == t.name; });
      if (foreign == out.foreign.end()) {
        foreign = out.foreign.insert(out.foreign.end(), Table{t.name, {}, {}});
      }
      const bool in_part = tables.count({family, t.name}) > 0;
      Table kept{t.name, in_part ? t.hooks : std::vector<Hook>{}, {}};
      for (const Chain& c : t.chains) {
        if (in_part && chains.count({family, t.name, c.name()}) > 0) {
          kept.chains.push_back(c);
        } else {
          foreign->chains.push_back(c);
        }
      }
      if (in_part) {
        out.ours.tables.push_back(std::move(kept));
      }
    }
  }
  for (const IpSetSpec& set : seen.ipsets) {
    if (sets.count(set.name) > 0) {
      narrow.ipsets.push_back(set);
    }
  }
  return narrow;
}

}  // namespace

absl::string_view BackendName(Backend backend) {
  return backend == Backend::kLegacy ? "legacy" : "nft";
}

namespace {

// What one backend holds, for DetectBackend.
struct BackendContents {
  std::string ours;  // the first chain of ours: "felix-INPUT, IPv4 filter"; "" when none
  std::string hint;  // kubelet's hint chain: "KUBE-IPTABLES-HINT, IPv4 mangle"; "" when none
  size_t rules = 0;
};

absl::StatusOr<BackendContents> ReadBackend(Backend backend, absl::string_view chain_prefix,
                                            CommandRunner* runner, absl::Time deadline) {
  BackendContents contents;
  for (int family : kFamilies) {
    Command command;
    command.argv = {
        absl::StrCat(family == 6 ? "ip6tables-" : "iptables-", BackendName(backend), "-save")};
    command.deadline = deadline;
    CommandResult r = runner->Run(command);
    if (r.timed_out) {
      return absl::DeadlineExceededError(absl::StrCat(command.argv[0], " did not finish in time"));
    }
    if (r.exit_code != 0) {
      continue;  // not installed, or nothing to read: holds nothing
    }
    absl::StatusOr<ObservedRuleset> seen = ParseIptablesSave(r.out, family, chain_prefix);
    if (!seen.ok()) {
      return absl::Status(seen.status().code(),
                          absl::StrCat("finding the backend: ", seen.status().message()));
    }
    auto where = [family](const Chain& c, const Table& t) {
      return absl::StrCat(c.name(), ", IPv", family, " ", t.name);
    };
    for (const Table& t : seen->ours.tables) {
      contents.rules += t.hooks.size();
      for (const Chain& c : t.chains) {
        contents.rules += c.rule_count();
        if (contents.ours.empty()) {
          contents.ours = where(c, t);
        }
      }
    }
    for (const Table& t : seen->foreign) {
      for (const Chain& c : t.chains) {
        contents.rules += c.rule_count();
        if (contents.hint.empty() &&
            (c.name() == "KUBE-IPTABLES-HINT" || c.name() == "KUBE-KUBELET-CANARY")) {
          contents.hint = where(c, t);
        }
      }
    }
  }
  return contents;
}

}  // namespace

absl::StatusOr<BackendChoice> DetectBackend(absl::string_view chain_prefix, CommandRunner* runner,
                                            absl::Time deadline) {
  FIPTGEN_ASSIGN_OR_RETURN(BackendContents nft,
                           ReadBackend(Backend::kNft, chain_prefix, runner, deadline));
  FIPTGEN_ASSIGN_OR_RETURN(BackendContents legacy,
                           ReadBackend(Backend::kLegacy, chain_prefix, runner, deadline));
  BackendChoice choice;
  auto pick = [&choice](Backend backend, std::string why) {
    choice.backend = backend;
    choice.reason = absl::StrCat("backend ", BackendName(backend), ": ", why);
    return choice;
  };
  if (!nft.ours.empty() && !legacy.ours.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "our chains are in both the nft and the legacy backend (", nft.ours, "; ", legacy.ours,
        "): two rulesets are in force. Take ours out of the one not in use (fiptgen-apply "
        "--remove --backend nft|legacy), or say which to use with --backend"));
  }
  if (!nft.ours.empty()) {
    return pick(Backend::kNft, absl::StrCat("our chains are there (", nft.ours, ")"));
  }
  if (!legacy.ours.empty()) {
    return pick(Backend::kLegacy, absl::StrCat("our chains are there (", legacy.ours, ")"));
  }
  if (!nft.hint.empty()) {
    return pick(Backend::kNft, absl::StrCat("kubelet's hint chain is there (", nft.hint, ")"));
  }
  if (!legacy.hint.empty()) {
    return pick(Backend::kLegacy,
                absl::StrCat("kubelet's hint chain is there (", legacy.hint, ")"));
  }
  if (legacy.rules > nft.rules) {
    return pick(Backend::kLegacy,
                absl::StrCat("it holds more rules (", legacy.rules, ", nft ", nft.rules, ")"));
  }
  if (nft.rules > legacy.rules) {
    return pick(Backend::kNft,
                absl::StrCat("it holds more rules (", nft.rules, ", legacy ", legacy.rules, ")"));
  }
  return pick(Backend::kNft, nft.rules == 0 ? "neither backend holds a rule; nft is the default"
                                            : "both hold as many rules; nft is the default");
}

Applier::Applier(const Config& config, ApplyOptions options, CommandRunner* runner)
    : config_(config), options_(std::move(options)), runner_(runner) {
  work_deadline_ = options_.deadline;
  if (options_.deadline != absl::InfiniteFuture()) {
    const absl::Time now = runner_->Now();
    work_deadline_ = now + (options_.deadline - now) * 3 / 4;
  }
}

void Applier::Log(LogLevel level, absl::string_view line) const {
  if (options_.log) {
    options_.log(level, line);
  }
}

std::string Applier::SaveTool(int family) const {
  return absl::StrCat(family == 6 ? "ip6tables-" : "iptables-", BackendName(options_.backend),
                      "-save");
}

std::string Applier::ListTool(int family) const {
  return absl::StrCat(family == 6 ? "ip6tables-" : "iptables-", BackendName(options_.backend));
}

std::string Applier::RestoreTool(int family) const {
  return absl::StrCat(family == 6 ? "ip6tables-" : "iptables-", BackendName(options_.backend),
                      "-restore");
}

CommandResult Applier::Run(std::vector<std::string> argv, absl::string_view input) {
  Command command;
  command.argv = std::move(argv);
  command.input = input;
  command.deadline = putting_back_ ? options_.deadline : work_deadline_;
  if (runner_->Now() >= command.deadline) {
    CommandResult r;
    r.timed_out = true;
    r.err = "not started: the time limit was reached";
    return r;
  }
  command.notice_after = kNoticeAfter;
  command.on_notice = [this, &command] {
    std::string line = absl::StrCat("still waiting for ", command.argv[0], " after ",
                                    absl::FormatDuration(kNoticeAfter));
    if (command.deadline != absl::InfiniteFuture()) {
      absl::StrAppend(
          &line, "; it is stopped at the time limit, in ",
          absl::FormatDuration(absl::Trunc(command.deadline - runner_->Now(), absl::Seconds(1))));
    }
    Log(LogLevel::kWarning, absl::StrCat(line, Hint(command.argv)));
  };
  const absl::Time start = runner_->Now();
  CommandResult r = runner_->Run(command);
  Log(LogLevel::kDetail,
      absl::StrCat(
          "ran ", absl::StrJoin(command.argv, " "), ": ",
          r.timed_out ? "killed at its deadline" : absl::StrCat("exit status ", r.exit_code), ", ",
          absl::FormatDuration(absl::Trunc(runner_->Now() - start, absl::Milliseconds(1)))));
  return r;
}

std::string Applier::Hint(const std::vector<std::string>& argv) const {
  if (options_.backend == Backend::kNft && absl::EndsWith(argv[0], "-restore") &&
      std::find(argv.begin(), argv.end(), "--test") == argv.end()) {
    return " (an nft transaction starts over whenever another program changes the ruleset "
           "before it commits: one that changes it every few milliseconds keeps a large "
           "transaction from ever committing)";
  }
  return "";
}

CommandResult Applier::RunRestoreTool(std::vector<std::string> argv, absl::string_view input) {
  // First try the lock for a second; only when another program holds it, say so and wait
  // for as long as the time limit allows.
  std::vector<std::string> probe = argv;
  probe.insert(probe.end(), {"--wait", "1"});
  CommandResult r = Run(std::move(probe), input);
  if (!LockBusy(r)) {
    return r;
  }
  const absl::Time deadline = putting_back_ ? options_.deadline : work_deadline_;
  argv.push_back("--wait");
  if (deadline == absl::InfiniteFuture()) {
    Log(LogLevel::kWarning,
        absl::StrCat("waiting for the xtables lock: another program holds it (", argv[0], ")"));
  } else {
    const int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(deadline - runner_->Now()));
    argv.push_back(absl::StrCat(seconds));
    Log(LogLevel::kWarning, absl::StrCat("waiting for the xtables lock: another program holds it (",
                                         argv[0], "); waiting at most ", seconds, " s"));
  }
  return Run(std::move(argv), input);
}

absl::StatusOr<KernelState> Applier::Observe(const Desired& target) {
  KernelState state;
  for (int family : kFamilies) {
    // On nft, only the tables we write, each listed on its own: `iptables-nft-save` dumps the
    // whole ruleset even with -t, and `-t raw -S` costs a hundredth of it. Legacy keeps the
    // whole save: `-t` would create a table that is not loaded, and the other tables cost
    // only what they hold.
    std::vector<std::vector<std::string>> reads;
    if (options_.backend == Backend::kNft) {
      for (absl::string_view table : kManagedTables) {
        reads.push_back({ListTool(family), "-t", std::string(table), "-S"});
      }
    } else {
      reads.push_back({SaveTool(family)});
    }
    std::string text;
    bool read = true;
    for (const std::vector<std::string>& argv : reads) {
      CommandResult r = Run(argv, "");
      const std::string what = absl::StrJoin(argv, " ");
      if (r.timed_out) {
        return absl::DeadlineExceededError(
            absl::StrCat(what, " did not finish within the time limit"));
      }
      if (r.exit_code != 0) {
        if (target.ForFamily(family) != nullptr) {
          return absl::UnavailableError(absl::StrCat(what, " failed: ", ToolMessage(r)));
        }
        Log(LogLevel::kDetail, absl::StrCat(what, " failed, skipping IPv", family));
        read = false;
        break;
      }
      if (argv.size() == 1) {
        text = std::move(r.out);
      } else {
        AppendListingAsSave(argv[2], r.out, &text);
      }
    }
    if (!read) {
      continue;
    }
    FIPTGEN_ASSIGN_OR_RETURN(ObservedRuleset seen,
                             ParseIptablesSave(text, family, config_.chain_prefix));
    state.observed.rulesets.push_back(std::move(seen));
    state.save_text.emplace(family, std::move(text));
  }
  CommandResult r = Run({"ipset", "save"}, "");
  if (r.timed_out) {
    return absl::DeadlineExceededError("ipset save did not finish within the time limit");
  }
  if (r.exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("ipset save failed: ", ToolMessage(r)));
  }
  FIPTGEN_ASSIGN_OR_RETURN(state.observed.ipsets, ParseIpsetSave(r.out, config_.ipset_prefix));
  state.ipset_text = std::move(r.out);
  FIPTGEN_RETURN_IF_ERROR(FindUnseenSetUsers(target, &state.observed));
  return state;
}

absl::Status Applier::FindUnseenSetUsers(const Desired& target, ObservedState* observed) {
  // A wanted set held with another type that no rule read names is destroyed and made
  // again at once, in the plan's first step (PlanIpsets). Something not read may still use
  // it (a rule in a table or backend not read, a list:set), and the kernel would refuse: the
  // kernel's reference count tells, for those sets only.
  absl::flat_hash_map<absl::string_view, const IpSetSpec*> held;
  for (const IpSetSpec& s : observed->ipsets) {
    held.emplace(s.name, &s);
  }
  std::vector<absl::string_view> check;
  for (const IpSetSpec& want : target.ipsets) {
    auto have = held.find(want.name);
    if (have != held.end() &&
        (have->second->type != want.type || have->second->family != want.family)) {
      check.push_back(want.name);
    }
  }
  if (check.empty()) {
    return absl::OkStatus();
  }
  const SetUsers users = FindSetUsers(*observed);
  for (absl::string_view name : check) {
    if (users.now.count(std::string(name)) > 0) {
      continue;
    }
    CommandResult r = Run({"ipset", "list", "-terse", std::string(name)}, "");
    if (r.timed_out) {
      return absl::DeadlineExceededError("ipset list did not finish within the time limit");
    }
    int references = 0;
    for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
      if (absl::ConsumePrefix(&line, "References: ")) {
        (void)absl::SimpleAtoi(line, &references);
      }
    }
    if (r.exit_code != 0 || references > 0) {
      observed->unseen_set_users.emplace(
          std::string(name), r.exit_code != 0
                                 ? absl::StrCat("ipset list failed: ", ToolMessage(r))
                                 : absl::StrCat("the kernel counts ", references,
                                                references == 1 ? " reference" : " references"));
    }
  }
  return absl::OkStatus();
}

Plans Applier::Plan(const Desired& target, const KernelState& state) const {
  return PlanState(target, state.observed, config_, options_.hooks);
}

absl::Status Applier::Restore(const std::vector<std::string>& argv, absl::string_view input,
                              absl::string_view plan, int first_line) {
  if (input.empty()) {
    return absl::OkStatus();
  }
  const bool iptables = argv[0] != "ipset";
  CommandResult r = iptables ? RunRestoreTool(argv, input) : Run(argv, input);
  if (r.timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        absl::StrJoin(argv, " "), " did not finish within the time limit", Hint(argv)));
  }
  if (r.exit_code == 0) {
    return absl::OkStatus();
  }
  if (iptables && LockBusy(r)) {
    return absl::DeadlineExceededError(absl::StrCat(
        absl::StrJoin(argv, " "), ": another program held the xtables lock until the time limit"));
  }
  std::string where;
  if (int line = FailedLine(r.err); line > 0) {
    where = absl::StrCat(" at plan ", DescribePlanLine(plan, line + first_line - 1));
  }
  return absl::AbortedError(
      absl::StrCat(absl::StrJoin(argv, " "), " failed", where, ": ", ToolMessage(r)));
}

absl::Status Applier::Execute(const Plans& plans, absl::string_view prefix, size_t* made) {
  auto done = [&](const std::vector<std::string>& changes, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      Log(LogLevel::kInfo, absl::StrCat(prefix, changes[i]));
    }
    *made += end - begin;
  };
  // The sets the new rules name.
  const IpsetPlan& sets = plans.ipsets;
  FIPTGEN_RETURN_IF_ERROR(Restore({"ipset", "restore"}, sets.before, sets.before, 1));
  done(sets.changes, 0, sets.before_changes);
  // Every rule plan is checked whole before any table changes (ApplyOptions::check_first).
  for (const RestorePlan& plan : plans.rulesets) {
    if (options_.check_first) {
      FIPTGEN_RETURN_IF_ERROR(
          Restore({RestoreTool(plan.family), "--noflush", "--test"}, plan.text, plan.text, 1));
    }
  }
  // Then each table, one transaction each.
  for (const RestorePlan& plan : plans.rulesets) {
    int first_line = 1;
    size_t counted = 0;
    for (const RestorePlan::TableStep& step : plan.tables) {
      first_line += static_cast<int>(
          std::count(plan.text.begin() + counted, plan.text.begin() + step.text_begin, '\n'));
      counted = step.text_begin;
      absl::string_view text =
          absl::string_view(plan.text).substr(step.text_begin, step.text_end - step.text_begin);
      FIPTGEN_RETURN_IF_ERROR(
          Restore({RestoreTool(plan.family), "--noflush"}, text, plan.text, first_line));
      done(plan.changes, step.changes_begin, step.changes_end);
    }
  }
  // Sets no rule names any more.
  *made += DestroyStaleSets(sets.after, prefix);
  return absl::OkStatus();
}

size_t Applier::DestroyStaleSets(absl::string_view script, absl::string_view prefix) {
  // One set a line ("destroy <set>"). One that something we cannot see still uses (a rule
  // of the other backend, a foreign list:set) is kept, and the others still go.
  size_t destroyed = 0;
  auto done = [&](absl::string_view lines, int count) {
    for (int i = 0; i < count && !lines.empty(); ++i) {
      absl::string_view line = NextLine(&lines);
      Log(LogLevel::kInfo,
          absl::StrCat(prefix, "ipset: set ", absl::StripPrefix(line, "destroy "), " destroyed"));
      ++destroyed;
    }
  };
  while (!script.empty()) {
    CommandResult r = Run({"ipset", "restore"}, script);
    if (r.exit_code == 0) {
      done(script, std::numeric_limits<int>::max());
      return destroyed;
    }
    if (r.timed_out) {
      Log(LogLevel::kWarning, absl::StrCat("the time limit was reached before these stale sets "
                                           "were destroyed; the next run destroys them: ",
                                           absl::StrReplaceAll(script, {{"\n", "; "}})));
      return destroyed;
    }
    const int line = FailedLine(r.err);
    Log(LogLevel::kWarning,
        absl::StrCat("ipset: ", line > 0 ? DescribePlanLine(script, line) : std::string(script),
                     " failed, the set is kept: ", ToolMessage(r)));
    if (line <= 0) {
      return destroyed;
    }
    done(script, line - 1);
    for (int i = 0; i < line && !script.empty(); ++i) {
      NextLine(&script);
    }
  }
  return destroyed;
}

absl::Status Applier::Apply(const Desired& target) {
  const absl::Time start = runner_->Now();
  size_t made = 0;
  std::set<std::string> noted;
  bool another_round = false;
  for (int round = 1;; ++round) {
    absl::StatusOr<KernelState> state = Observe(target);
    if (!state.ok()) {
      if (made > 0 && !another_round) {
        // Done; only the check that nothing is left to do could not run.
        Log(LogLevel::kWarning,
            absl::StrCat("reading the state back to check it failed: ", state.status().message()));
        break;
      }
      return state.status();
    }
    Plans plans = Plan(target, *state);
    for (const std::string& note : plans.notes()) {
      if (noted.insert(note).second) {
        Log(LogLevel::kInfo, note);
      }
    }
    if (plans.empty()) {
      break;
    }
    if (round > 1 && (!another_round || round > kMaxRounds)) {
      // Applying then saving must give a state whose plan is empty.
      for (const std::string& change : plans.changes()) {
        Log(LogLevel::kWarning, absl::StrCat("the kernel prints this back differently, the "
                                             "next run will repeat it: ",
                                             change));
      }
      break;
    }
    absl::Status status = Execute(plans, "", &made);
    if (status.ok() && !plans.needs_another_round() && CheckWritten(target, plans)) {
      break;
    }
    if (!status.ok()) {
      Log(LogLevel::kError, status.message());
      Desired previous;
      for (const ObservedRuleset& rs : state->observed.rulesets) {
        previous.rulesets.push_back(rs.ours);
      }
      previous.ipsets = state->observed.ipsets;
      return RollBack(previous, nullptr, status.code());
    }
    another_round = plans.needs_another_round();
  }
  LogApplied(made, start);
  return absl::OkStatus();
}

bool Applier::CheckWritten(const Desired& target, const Plans& plans) {
  // Only nft lists a chain on its own (the kernel sends just that chain): legacy reads the
  // whole table for each listing, and takes the xtables lock.
  size_t chains = 0;
  for (const RestorePlan& plan : plans.rulesets) {
    for (const RestorePlan::TableStep& step : plan.tables) {
      chains += step.written.size();
    }
  }
  if (options_.backend != Backend::kNft || chains > kCheckChainsMax) {
    return false;
  }
  std::vector<std::string> left;
  for (const RestorePlan& plan : plans.rulesets) {
    const Ruleset* want = target.ForFamily(plan.family);
    Ruleset part;
    part.family = plan.family;
    std::string text;
    for (const RestorePlan::TableStep& step : plan.tables) {
      std::string listing;
      for (const std::string& chain : step.written) {
        CommandResult r = Run({ListTool(plan.family), "-t", step.table, "-S", chain}, "");
        if (r.exit_code != 0) {
          return false;
        }
        listing.append(r.out);
      }
      AppendListingAsSave(step.table, listing, &text);
      // What is wanted of it: those chains, and the hooks of those built-in chains.
      const std::set<absl::string_view> written(step.written.begin(), step.written.end());
      Table& table = part.tables.emplace_back();
      table.name = step.table;
      for (size_t i = 0; want != nullptr && i < want->tables.size(); ++i) {
        const Table& t = want->tables[i];
        if (t.name != step.table) {
          continue;
        }
        for (const Hook& h : t.hooks) {
          if (written.count(h.builtin) > 0) {
            table.hooks.push_back(h);
          }
        }
        for (const Chain& c : t.chains) {
          if (written.count(c.name()) > 0) {
            table.chains.push_back(c);
          }
        }
      }
    }
    absl::StatusOr<ObservedRuleset> seen =
        ParseIptablesSave(text, plan.family, config_.chain_prefix);
    if (!seen.ok()) {
      return false;
    }
    RestorePlan again = PlanRestore(part, seen->ours, seen->foreign, options_.hooks);
    left.insert(left.end(), again.changes.begin(), again.changes.end());
  }
  // The sets cost little to read whole (a third of a second for the huge bench model's 10 MB).
  CommandResult r = Run({"ipset", "save"}, "");
  if (r.exit_code != 0) {
    return false;
  }
  absl::StatusOr<std::vector<IpSetSpec>> sets = ParseIpsetSave(r.out, config_.ipset_prefix);
  if (!sets.ok()) {
    return false;
  }
  IpsetPlan again = PlanIpsets(target.ipsets, *sets, config_);
  left.insert(left.end(), again.changes.begin(), again.changes.begin() + again.before_changes);
  for (const std::string& change : left) {
    Log(LogLevel::kWarning, absl::StrCat("the kernel prints this back differently, the next run "
                                         "will repeat it: ",
                                         change));
  }
  return true;
}

absl::Status Applier::ApplyPlans(const Plans& plans) {
  const absl::Time start = runner_->Now();
  if (plans.empty()) {
    LogApplied(0, start);
    return absl::OkStatus();
  }
  if (plans.from.rulesets.empty() && plans.from.ipsets.empty() && plans.to.rulesets.empty() &&
      plans.to.ipsets.empty()) {
    return absl::InvalidArgumentError(
        "these plans do not say what they change from (Plans::from and Plans::to are empty), "
        "so a failed step could not be put back: plan with an IncrementalGenerator, or set "
        "them");
  }
  std::set<std::string> noted;
  size_t made = 0;
  const Plans* round = &plans;
  Plans next;
  for (int number = 1;; ++number) {
    for (const std::string& note : round->notes()) {
      if (noted.insert(note).second) {
        Log(LogLevel::kInfo, note);
      }
    }
    absl::Status status = Execute(*round, "", &made);
    if (!status.ok()) {
      Log(LogLevel::kError, status.message());
      return RollBack(plans.from, &plans, status.code());
    }
    if (!round->needs_another_round() || number == kMaxRounds) {
      break;
    }
    // A set changed type: the rules now name its temporary set. What is left is planned
    // against the kernel, over the part of the state the change is about.
    FIPTGEN_ASSIGN_OR_RETURN(KernelState state, ObservePart(plans.to, &plans));
    next = Plan(plans.to, state);
    if (next.empty()) {
      break;
    }
    round = &next;
  }
  LogApplied(made, start);
  return absl::OkStatus();
}

void Applier::LogApplied(size_t made, absl::Time start) {
  Log(LogLevel::kInfo,
      made == 0 ? std::string("no changes")
                : absl::StrCat("applied: ", made, made == 1 ? " change in " : " changes in ",
                               absl::FormatDuration(
                                   absl::Trunc(runner_->Now() - start, absl::Milliseconds(1)))));
}

absl::StatusOr<KernelState> Applier::ObservePart(const Desired& target, const Plans* part) {
  absl::StatusOr<KernelState> state = Observe(target);
  if (state.ok() && part != nullptr) {
    state->observed = Narrow(state->observed, part->from, part->to, config_);
  }
  return state;
}

absl::Status Applier::RollBack(const Desired& previous, const Plans* part, absl::StatusCode cause) {
  // Putting back may take the time kept for it; a failure that was the time limit stays one.
  putting_back_ = true;
  auto outcome = [cause](absl::StatusCode code, absl::string_view message) {
    return absl::Status(cause == absl::StatusCode::kDeadlineExceeded ? cause : code,
                        cause == absl::StatusCode::kDeadlineExceeded
                            ? absl::StrCat("the time limit was reached; ", message)
                            : std::string(message));
  };
  absl::StatusOr<KernelState> observed = ObservePart(previous, part);
  if (!observed.ok()) {
    return outcome(absl::StatusCode::kDataLoss,
                   absl::StrCat("reading the state to put it back failed, it may be mixed: ",
                                observed.status().message()));
  }
  KernelState& now = *observed;
  // Putting back never moves a hook (one behind a foreign rule stayed where it was, one this
  // run moved to the top is where it belongs); it only puts back what is missing.
  for (ObservedRuleset& rs : now.observed.rulesets) {
    for (Table& table : rs.ours.tables) {
      for (Hook& hook : table.hooks) {
        hook.foreign_rules_before = 0;
      }
    }
  }
  Plans back = Plan(previous, now);
  size_t put_back = 0;
  absl::Status status = back.empty() ? absl::OkStatus() : Execute(back, "put back: ", &put_back);
  if (!status.ok()) {
    return outcome(absl::StatusCode::kDataLoss,
                   absl::StrCat("putting back the previous state failed too, the state is "
                                "mixed: ",
                                status.message()));
  }
  return outcome(absl::StatusCode::kAborted,
                 back.empty()
                     ? "nothing was changed; the previous rules are in force"
                     : absl::StrCat("put back ", put_back, put_back == 1 ? " change" : " changes",
                                    "; the previous rules are in force"));
}

absl::Status Applier::TestInPlace(const Plans& plans) {
  for (const RestorePlan& plan : plans.rulesets) {
    FIPTGEN_RETURN_IF_ERROR(
        Restore({RestoreTool(plan.family), "--noflush", "--test"}, plan.text, plan.text, 1));
  }
  return absl::OkStatus();
}

absl::Status Applier::LoadCopy(const KernelState& state) {
  const std::string sets = OneRuleALine(state.ipset_text);
  FIPTGEN_RETURN_IF_ERROR(Restore({"ipset", "restore"}, sets, sets, 1));
  for (const auto& [family, text] : state.save_text) {
    const std::string rules = OneRuleALine(text);
    FIPTGEN_RETURN_IF_ERROR(Restore({RestoreTool(family)}, rules, rules, 1));
  }
  return absl::OkStatus();
}

}  // namespace fiptgen
