// Rendering: the thin last step from structures to restore text. Appends to a buffer it is
// handed; opens nothing.
//
//   std::string out;
//   RenderRestore(ruleset, &out);       // iptables-restore / ip6tables-restore input
//   RenderIpsetRestore(desired.ipsets, &out);  // ipset restore input
#ifndef FIPTGEN_RENDER_H_
#define FIPTGEN_RENDER_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// The full script: for each table "*<table>", every chain declared (":<chain> - [0:0]"),
// the hooks ("-I <builtin> 1 -j <chain>"), every rule ("-A <chain> <rule>"), "COMMIT".
// It is the plan against an empty state and loads with `iptables-restore --noflush`.
void RenderRestore(const Ruleset& ruleset, std::string* out);

// One step of a rule-level edit of a chain: the rules that stay keep their counters. As
// iptables-restore reads it: "-D <chain> <n>", "-I <chain> <n> <rule>", "-R <chain> <n>
// <rule>", "-A <chain> <rule>". Positions are 1-based and count the chain's rules as the
// steps before this one left them (iptables renumbers after every -D and -I).
struct RuleEdit {
  enum class Kind { kDelete, kInsert, kReplace, kAppend };
  Kind kind = Kind::kDelete;
  size_t position = 0;     // unused for kAppend
  absl::string_view rule;  // unused for kDelete
};

// The steps, applied in order, that turn one chain's rules into the desired ones.
struct ChainEdit {
  absl::string_view chain;
  std::vector<RuleEdit> steps;
};

// One line per step.
void RenderChainEdit(const ChainEdit& edit, std::string* out);

// One table's section of a restore script, in the order iptables-restore needs it:
// "*<table>", declarations (":<chain> - [0:0]", which in --noflush mode creates or flushes),
// hook deletions ("-D <builtin> -j <chain>"), hook insertions ("-I <builtin> 1 -j <chain>")
// and appends ("-A <builtin> -j <chain>"), the rules of the filled chains ("-A <chain> <rule>"),
// the rule-level edits of chains that keep their other rules (RenderChainEdit), chain
// deletions ("-X <chain>"), "COMMIT". RenderRestore writes one per table with every chain and
// hook; a plan (plan.h) one with only what differs.
struct TableEdit {
  absl::string_view table;
  std::vector<const Chain*> fill;         // declared and filled
  std::vector<absl::string_view> flush;   // declared only, so emptied
  std::vector<const Hook*> unhook;        // deleted
  std::vector<const Hook*> hook;          // inserted
  std::vector<absl::string_view> remove;  // deleted, after everything else
  std::vector<ChainEdit> edit;            // edited rule by rule, after the fills
  std::vector<const Hook*> append;        // appended, after the insertions (plan.h's HookMode)
};
void RenderTableEdit(const TableEdit& edit, std::string* out);

// "create <name> <type> family inet|inet6 [maxelem N]" then "add <name> <member>" lines.
// `maxelem` is IpsetCapacity(members), written only when more than ipset's default.
void RenderIpsetRestore(const std::vector<IpSetSpec>& sets, std::string* out);

// The most members a set created for `members` members holds (its maxelem): ipset's default,
// 65,536, or the next power of two above it. A set only ever gets members through a create
// of this size and add/del lines that keep it within it, so a set of ours holding n members
// holds at least IpsetCapacity(n).
size_t IpsetCapacity(size_t members);

// The scripts `fiptgen` writes for an empty state: RenderRestore after a comment that says
// so, RenderIpsetRestore followed by one (an ipset script starts with a `create`). They load into a
// host holding none of our chains and sets with `iptables-restore --noflush` and `ipset restore`; a
// plain iptables-restore would wipe every other rule of the tables, and a second load doubles the
// hooks, so the note points a live host to fiptgen-apply. No sets, no text.
void RenderRestoreFile(const Ruleset& ruleset, std::string* out);
void RenderIpsetFile(const std::vector<IpSetSpec>& sets, std::string* out);

// The same text handed to `write` in order, in pieces of a few hundred KiB from one reused
// buffer: a caller that writes a file never holds the whole script (`fiptgen --out`).
using TextSink = absl::FunctionRef<void(absl::string_view)>;
void RenderRestoreFile(const Ruleset& ruleset, TextSink write);
void RenderIpsetFile(const std::vector<IpSetSpec>& sets, TextSink write);

// The three files `fiptgen --out DIR` writes; a family that is not enabled gets "".
struct RestoreFiles {
  std::string ipsets;     // ipsets.restore
  std::string iptables;   // iptables.restore
  std::string ip6tables;  // ip6tables.restore
};
RestoreFiles RenderFiles(const Desired& desired);
// The same into `files`, whose strings are emptied and keep their room: a caller that renders
// again and again (an agent, a benchmark) writes into memory it already has, where fresh
// strings of a large model's 16.7 MB are mapped and faulted in anew each time.
void RenderFiles(const Desired& desired, RestoreFiles* files);

}  // namespace fiptgen

#endif  // FIPTGEN_RENDER_H_
