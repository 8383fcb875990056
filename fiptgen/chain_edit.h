// Rule-level edits of a chain (internal to the planner, plan.h): the steps that turn the
// rules the kernel holds into the desired ones without touching the rules that stay, so
// those keep their packet and byte counters.
//
//   std::optional<ChainEdit> edit = EditChain(have, want);
//   // nullopt: the chains are equal, or refilling the chain is the smaller text.
//   // Else edit->steps applied in order to have's rules give want's, e.g. for have
//   // [a b c] and want [a x c d]: "-R <chain> 2 x", "-A <chain> d".
//
// The steps come from a shortest edit script (Myers' O((N+M)D) diff over the rules as
// lines), after the common head and tail are set aside. Positions are computed top down:
// every rule above the step's position is already as wanted, every rule from it on is
// still the old one, so a step only ever names a rule that was there before the edit
// (iptables-nft-restore 1.8.9 crashes on a -R of a rule added earlier in the same batch).
#ifndef FIPTGEN_CHAIN_EDIT_H_
#define FIPTGEN_CHAIN_EDIT_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "fiptgen/render.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// A diff of more steps than this (rules deleted plus rules inserted, a replacement being
// one of each) is not looked for: such a chain is refilled. It bounds the diff's time by
// O((N+M) * kMaxDiffSteps) and its memory by O(kMaxDiffSteps^2).
inline constexpr size_t kMaxDiffSteps = 1000;

// The steps of a shortest edit from `have` to `want`, with replacements where a deletion
// and an insertion meet, and appends at the end; nullopt when it takes more than
// `max_steps` steps. The steps' rules point into `want`. Deterministic.
std::optional<std::vector<RuleEdit>> DiffRules(const std::vector<absl::string_view>& have,
                                               const std::vector<absl::string_view>& want,
                                               size_t max_steps = kMaxDiffSteps);

// The bytes a refill of `want` takes in a plan: its declaration and every rule appended.
size_t RefillSize(const Chain& want);

// The edit of `have` (same name) into `want` when its text is smaller than RefillSize(want);
// nullopt when the bodies are equal (the only work done then is comparing them), when the
// refill is smaller, when the diff is longer than kMaxDiffSteps, or when `have` holds a rule
// that spans lines (its positions could not be counted by lines).
std::optional<ChainEdit> EditChain(const Chain& have, const Chain& want);

}  // namespace fiptgen

#endif  // FIPTGEN_CHAIN_EDIT_H_
