// Observed state: what the kernel holds now, parsed from `iptables-save` / `ip6tables-save`
// and `ipset save` text into the structures of desired state, so a plan compares the two
// with plain equality.
//
//   FIPTGEN_ASSIGN_OR_RETURN(ObservedRuleset seen,
//                            ParseIptablesSave(save_text, 4, config.chain_prefix));
//   RestorePlan plan = PlanRestore(desired, seen.ours, seen.foreign);
//
// Only what is ours is kept as state: chains whose name starts with the chain prefix, and
// the hooks, i.e. rules in built-in chains that are exactly "-j <our chain>". Everything else
// is kept apart, untouched, so the plan can see what still refers to our chains.
#ifndef FIPTGEN_OBSERVED_H_
#define FIPTGEN_OBSERVED_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// A built-in chain's policy, as save text declares it (":INPUT ACCEPT [0:0]").
struct ChainPolicy {
  std::string table;   // "filter"
  std::string chain;   // "INPUT"
  std::string policy;  // "ACCEPT", "DROP"
};

struct ObservedRuleset {
  // One Table per table in the save text, in its order: our chains (in save order, which
  // is by name) with their rules as printed minus the "-A <chain> " head, and our hooks
  // (Hook{"INPUT", "felix-INPUT"} for "-A INPUT -j felix-INPUT"), in the order printed, each
  // with the number of foreign rules before it in its chain (Hook::foreign_rules_before).
  Ruleset ours;
  // The same tables again holding everything that is not ours: the built-in chains with
  // their other rules (hooks taken out) and foreign chains (DOCKER, KUBE-SERVICES, …) with
  // all of theirs. Hooks are left empty here.
  std::vector<Table> foreign;
  // The policy of every built-in chain, in save order.
  std::vector<ChainPolicy> policies;
};

// Everything observed: one ObservedRuleset per family that was read, and our sets.
struct ObservedState {
  std::vector<ObservedRuleset> rulesets;
  std::vector<IpSetSpec> ipsets;
  // Sets that something the rulesets above do not show uses (a rule in a table or backend
  // that was not read, a list:set), with what tells: "the kernel counts 2 references". A plan
  // keeps them as a foreign rule's (FindSetUsers).
  std::map<std::string, std::string> unseen_set_users;

  // The ruleset of `family`, or nullptr when it was not read.
  const ObservedRuleset* ForFamily(int family) const;
};

// The state an agent applied last, from memory, to plan against instead of reading the
// kernel. It knows nothing of foreign rules.
ObservedState RememberedState(const Desired& applied);

// Parses one family's save text. Errors name the line: "iptables-save:12: rule for
// undeclared chain \"felix-X\"" ("ip6tables-save:…" for family 6). A rule printed over
// several lines (a foreign comment holding newlines, which iptables-save prints raw) is read
// as one rule, each such newline kept as the two characters \n: a crafted comment can
// never fake a hook or a rule, ours or not.
absl::StatusOr<ObservedRuleset> ParseIptablesSave(absl::string_view text, int family,
                                                  absl::string_view chain_prefix);

// Appends one table of `iptables -t <table> -S` output (a listing) to *out as iptables-save
// prints the table, for ParseIptablesSave: "*<table>", a declaration per chain
// (":INPUT ACCEPT [0:0]" for "-P INPUT ACCEPT", ":felix-x - [0:0]" for "-N felix-x"), the
// rules as they are, "COMMIT". The listing is split as save text is (NextSaveLine), so a
// rule whose quoted comment holds "\n-N felix-x" stays one rule and declares nothing.
void AppendListingAsSave(absl::string_view table, absl::string_view listing, std::string* out);
// Parses one family's save text whole, for simulating it (simulate.h) rather than planning:
// nothing is taken for ours, so `foreign` holds every chain as the kernel runs it, built-in
// chains with all their rules in order, hooks included; `ours` holds only the tables' names.
// Errors as ParseIptablesSave's.
absl::StatusOr<ObservedRuleset> ParseIptablesSaveWhole(absl::string_view text, int family);

// Parses `ipset save` text and keeps the sets whose name starts with `ipset_prefix`, in the
// order printed. Create-line options other than the family (hashsize, maxelem, bucketsize,
// initval, …) are dropped: sets compare by name, type, family and members. Members are put
// in the order the generator uses (by address), so an unchanged set compares equal to its
// desired IpSetSpec; a member that is not an address of the set's family is kept verbatim
// in `other`. Newlines inside quotes are read as
// in ParseIptablesSave. Errors name the line:
// "ipset save:3: add to unknown set \"x\"".
absl::StatusOr<std::vector<IpSetSpec>> ParseIpsetSave(absl::string_view text,
                                                      absl::string_view ipset_prefix);

}  // namespace fiptgen

#endif  // FIPTGEN_OBSERVED_H_
