// Plans: the text that takes the kernel from what it holds to what is desired,
// touching only what differs and never what is not ours.
//
//   ObservedState seen;  // from ParseIptablesSave (each family) and ParseIpsetSave
//   Plans plans = PlanState(Generate(model), seen, model.config);
//   // run plans.ipsets.before, each plans.rulesets[i].text, then plans.ipsets.after
//
// Observed state is made of the same structures as desired state, so an agent that
// remembers what it applied last plans with the same call:
//   PlanState(desired, RememberedState(last_applied), config)
// Against an empty state the plans are exactly RenderIpsetRestore and RenderRestore's text.
// Plans do not depend on the order of what is observed: the kernel's save order and the
// generator's order give the same text.
#ifndef FIPTGEN_PLAN_H_
#define FIPTGEN_PLAN_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "fiptgen/model.h"
#include "fiptgen/observed.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// The tables fiptgen writes. Our chains in any other table are not managed.
inline constexpr absl::string_view kManagedTables[] = {"raw", "filter"};

struct RestorePlan {
  int family = 4;
  // iptables-restore --noflush input; "" when nothing differs.
  std::string text;
  // One line per change, in plan order: "v4 filter: chain felix-from-w1 refilled",
  // "v4 filter: chain felix-p-web-i edited: 1 inserted, 1 deleted".
  std::vector<std::string> changes;
  // Each table's part of `text` ("*filter" to "COMMIT\n") and of `changes`, in order. A
  // table's COMMIT is one transaction: each is a step that the kernel takes whole or not at
  // all.
  struct TableStep {
    std::string table;
    size_t text_begin = 0, text_end = 0;
    size_t changes_begin = 0, changes_end = 0;
    // The chains whose rules the step writes: ours that it creates, refills or edits (not
    // those it only flushes or deletes), and the built-in chains whose hooks it changes; by
    // name, each once. What an applier reads back to check the step (Applier::Apply).
    std::vector<std::string> written;
  };
  std::vector<TableStep> tables;
};

// Where our hooks go in their built-in chains.
enum class HookMode {
  // First, before every other rule (the default, as Felix's "insert" mode): a hook a rule
  // that is not ours got in front of is moved back to the top ("-D INPUT -j felix-INPUT",
  // "-I INPUT 1 -j felix-INPUT"), in the same transaction. Nothing can bypass our policy.
  kFirst,
  // Anywhere (Felix's "append" mode): a missing hook is appended ("-A INPUT -j
  // felix-INPUT"), after the host's own rules, and one that is there is left where it is.
  kAppend,
};

// Plans one family. For each table of `desired`, and the raw and filter tables of `observed`
// (the tables fiptgen writes; our chains in other tables are left alone):
// - chains that are missing are declared (which in --noflush mode creates them) and filled;
// - chains whose rules differ are edited rule by rule ("-D <chain> 3", "-I <chain> 2 <rule>",
//   "-R <chain> 4 <rule>", "-A <chain> <rule>", positions counted as the steps before leave
//   the chain), so the rules that stay keep their counters, when that text is smaller than
//   a refill; otherwise they are declared (which flushes them) and filled again;
// - hooks are inserted ("-I INPUT 1 -j felix-INPUT") where missing, or moved back to the top
//   when a foreign rule is before them (Hook::foreign_rules_before), as `hooks` says; hook
//   rules that are no longer wanted (or duplicated) are deleted ("-D INPUT -j felix-OLD");
// - our chains that are no longer wanted are declared (flushed) and, after everything else,
//   deleted ("-X"), by name; one that a foreign rule still jumps to is only flushed and kept;
// - a table with nothing to change gets no text at all.
// `foreign` holds the rules that are not ours (ObservedRuleset::foreign); without it the
// plan cannot know that a foreign rule refers to a chain it deletes.
RestorePlan PlanRestore(const Ruleset& desired, const Ruleset& observed,
                        const std::vector<Table>& foreign = {}, HookMode hooks = HookMode::kFirst);

// Which rules name which sets ("-m set --match-set <set>"), so that a plan never destroys a
// set a rule still names (the kernel refuses, and the run would stop there).
struct SetUsers {
  // Every set a rule the kernel holds names, ours or not, with where the first such rule is:
  // "v4 filter chain FORWARD".
  std::map<std::string, std::string> now;
  // The sets named by rules a plan leaves as they are, with who names them: "a foreign rule
  // in v4 filter chain FORWARD", or ours in a table fiptgen does not manage ("our rule in
  // v4 mangle chain felix-x, a table fiptgen does not manage"), or what the state says it
  // did not read (ObservedState::unseen_set_users: "something not read (…)"), which counts
  // in `now` too.
  std::map<std::string, std::string> kept;
};
SetUsers FindSetUsers(const ObservedState& observed);

struct IpsetPlan {
  // `ipset restore` input to run before the iptables update: new sets created and filled,
  // changed members deleted and added ("del <set> <member>", "add <set> <member>"), and the
  // sets whose difference is larger than they are rebuilt under their temporary name and
  // swapped in.
  std::string before;
  // Input to run after it, when no rule uses them any more: stale sets destroyed.
  std::string after;
  // One line per change: "ipset: set felix-v4-web updated: 1 added, 1 removed",
  // "ipset: set felix-v4-web swapped (3 members; the difference is larger: 5 removed)".
  // Those `before` makes come first, then (from before_changes on) the sets `after` destroys.
  std::vector<std::string> changes;
  size_t before_changes = 0;
  // What the plan leaves alone although it is not as desired, and why: "ipset: set
  // felix-old not destroyed, kept: a foreign rule in v4 filter chain FORWARD uses it".
  std::vector<std::string> notes;
  // Sets whose type or family changed. The kernel refuses to swap those, so this plan builds
  // the new set under its temporary name and destroys the old one afterwards; the rules of
  // this round must name the temporary set (RenameSets) and a second round (a new plan
  // against the new state) moves them back to the real name. Empty in the common case.
  std::vector<std::pair<std::string, std::string>> renamed;  // (set, temporary name)
  // A plan against the state this one leaves has more to do (the second round of a type
  // change): apply, then plan again.
  bool another_round = false;
};

// Plans the ipsets. `observed` holds our sets only (ParseIpsetSave, or the sets applied
// last); the temporary names come from config.ipset_prefix (Namer::TemporarySet). Against
// no sets, `before` is exactly RenderIpsetRestore(desired).
//
// A set whose members alone changed gets the difference: "del" lines, then "add" lines, so
// one member costs one line whatever the set's size. It is rebuilt under its temporary name
// and swapped in instead (atomically) when the difference has more lines than the set has
// members, or when the set would outgrow the maxelem it was created with (IpsetCapacity of
// what it holds). The lines have no -exist: a set that is not as planned against fails the
// restore at that line.
//
// `users` says which sets rules name. A set that rules the plan leaves in place name
// (SetUsers::kept) is never destroyed: it is kept, with a note. A set a rule names now is
// never destroyed before the rules change: a temporary set left by an interrupted type change that
// the rules use is the live set for this round (brought to the desired members in place, the rules
// keep naming it, and the next round moves them to the real name); a set of the wrong type that no
// rule uses is rebuilt under its own name at once. Without `users` (a plan from memory) the desired
// sets are taken as used and nothing else is.
IpsetPlan PlanIpsets(const std::vector<IpSetSpec>& desired, const std::vector<IpSetSpec>& observed,
                     const Config& config);
IpsetPlan PlanIpsets(const std::vector<IpSetSpec>& desired, const std::vector<IpSetSpec>& observed,
                     const Config& config, const SetUsers& users);

// Rewrites every "--match-set <set>" of `ruleset` that names a renamed set to its temporary
// name (IpsetPlan::renamed).
void RenameSets(const std::vector<std::pair<std::string, std::string>>& renamed, Ruleset* ruleset);

// Everything one apply does, in the order it runs: ipsets.before, each ruleset plan (4, 6),
// ipsets.after.
struct Plans {
  IpsetPlan ipsets;
  std::vector<RestorePlan> rulesets;
  // What the plans change, as it was (`from`) and as it is to be (`to`), for plans made
  // without reading the kernel: IncrementalGenerator puts there just the chains that change
  // (in their tables, each table with all its hooks) and the sets that change; an agent that
  // plans from memory, PlanState(target, RememberedState(known), config), may put `known`
  // and `target` whole. Applier::ApplyPlans needs them: it puts `from` back when a step
  // fails, and finishes a set-type change towards `to` (whose rules name the real sets).
  // PlanState leaves them empty.
  Desired from, to;

  bool empty() const;
  // Applying these plans leaves more to do: plan again against the new state.
  bool needs_another_round() const { return ipsets.another_round; }
  // Every change, ipsets first.
  std::vector<std::string> changes() const;
  // What is left alone although it is not as desired, and why (IpsetPlan::notes).
  const std::vector<std::string>& notes() const { return ipsets.notes; }
};

// Plans every family that `desired` enables or `observed` holds (a family `desired` does not
// enable loses all that is ours) and the ipsets. When a set's type changed, the rules name
// its temporary set (IpsetPlan::renamed), and planning again after applying finishes it.
Plans PlanState(const Desired& desired, const ObservedState& observed, const Config& config,
                HookMode hooks = HookMode::kFirst);

// The plans as `fiptgen-apply --dry-run` prints them: one "== <what> ==" section per
// non-empty script ("ipset restore (before)", "iptables-restore --noflush",
// "ip6tables-restore --noflush", "ipset restore (after)"); nothing when there is nothing to do.
void RenderPlans(const Plans& plans, std::string* out);

// The line number a failing `iptables-restore`, `ip6tables-restore` or `ipset restore`
// reports on stderr ("line 3 failed", "Error occurred at line: 3", "line 3: CHAIN_DEL
// failed", "Error in line 3:"), or 0 when it names none.
int FailedLine(absl::string_view tool_stderr);

// Names line `line` (1-based) of a plan for an error message:
//   line 12 (table filter, chain felix-from-w1): -A felix-from-w1 -j DROP
//   line 13 (table filter, chain felix-p-web-i, rule 2): -D felix-p-web-i 2
//   line 40 (table filter, COMMIT: the table's changes as a whole): COMMIT
//   line 3 (set felix-tmp-v4-web): add felix-tmp-v4-web 198.18.1.1
std::string DescribePlanLine(absl::string_view plan, int line);

}  // namespace fiptgen

#endif  // FIPTGEN_PLAN_H_
