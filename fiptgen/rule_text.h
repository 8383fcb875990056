// Rule text: how one word of an iptables rule is written, exactly as `iptables-save` writes
// it, so that what we write reads back byte for byte.
//
//   std::string rule = "-j LOG --log-prefix";
//   AppendQuotedArg("db-denied: ", &rule);   // -j LOG --log-prefix "db-denied: "
#ifndef FIPTGEN_RULE_TEXT_H_
#define FIPTGEN_RULE_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fiptgen {

// The one quoting function for arguments in restore text, as iptables-save writes them:
// " " then the value, bare when made only of [A-Za-z0-9_-], else in double quotes with
// " \ ' escaped by a backslash.
void AppendQuotedArg(absl::string_view value, std::string* out);

}  // namespace fiptgen

#endif  // FIPTGEN_RULE_TEXT_H_
