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

#include "absl/strings/string_view.h"
#include "fiptgen/generate.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// The full script: for each table "*<table>", every chain declared (":<chain> - [0:0]"),
// the hooks ("-I <builtin> 1 -j <chain>"), every rule ("-A <chain> <rule>"), "COMMIT".
// It is the plan against an empty state and loads with `iptables-restore --noflush`.
void RenderRestore(const Ruleset& ruleset, std::string* out);

// "create <name> <type> family inet|inet6 [maxelem N]" then "add <name> <member>" lines.
void RenderIpsetRestore(const std::vector<IpSetSpec>& sets, std::string* out);

// The three files `fiptgen --out DIR` writes; a family that is not enabled gets "".
struct RestoreFiles {
  std::string ipsets;     // ipsets.restore
  std::string iptables;   // iptables.restore
  std::string ip6tables;  // ip6tables.restore
};
RestoreFiles RenderFiles(const Desired& desired);

// The one quoting function for arguments in restore text, as iptables-save writes them:
// bare when made only of [A-Za-z0-9_-], else in double quotes with " \ ' escaped.
void AppendQuotedArg(absl::string_view value, std::string* out);

}  // namespace fiptgen

#endif  // FIPTGEN_RENDER_H_
