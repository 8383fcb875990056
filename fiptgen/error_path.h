// Error messages about input: each is one line, "<path>: <message>", where the path names
// the offending value the way the user wrote it, and user text inside is quoted by one
// function so it cannot break the one-error-a-line format.
//
//   IndexPath(FieldPath("endpoints[3]", "ipv4_nets"), 1)   == "endpoints[3].ipv4_nets[1]"
//   KeyPath("profiles", "web")                             == "profiles[\"web\"]"
//   MemberPath("model", "!src_net")                        == "model.!src_net"
//   absl::StrCat(path, ": ", QuoteForMessage("a\nb"), " is not a MAC address")
//   ErrorsToStatus({"a: x", "b: y"})  // InvalidArgument "a: x\nb: y"; OK when empty
//
// The loader builds a path for every field it reads, error or not, so the path builders
// are inline plain appends (see append.h).
#ifndef FIPTGEN_ERROR_PATH_H_
#define FIPTGEN_ERROR_PATH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fiptgen/append.h"

namespace fiptgen {

// User text for an error message: in double quotes, C-escaped (so a newline or a quote
// cannot end the line or the quoted text early), and cut to 64 bytes with "..." so a huge
// value cannot flood the terminal.
std::string QuoteForMessage(absl::string_view s);

// `parent.field`; either side may be empty.
inline std::string FieldPath(absl::string_view parent, absl::string_view field) {
  if (parent.empty()) {
    return std::string(field);
  }
  if (field.empty()) {
    return std::string(parent);
  }
  std::string out;
  out.reserve(parent.size() + 1 + field.size());
  AppendPieces(&out, parent, ".", field);
  return out;
}

// `parent[i]`.
inline std::string IndexPath(absl::string_view parent, size_t i) {
  std::string out;
  out.reserve(parent.size() + 8);
  AppendPieces(&out, parent, "[", i, "]");
  return out;
}

// `parent["key"]`, the key quoted by QuoteForMessage: for keys the user chose.
std::string KeyPath(absl::string_view parent, absl::string_view key);

// `parent.key` for plain keys ([A-Za-z0-9_!]+), `parent["key"]` for anything else.
std::string MemberPath(absl::string_view parent, absl::string_view key);

// "<path>: <message>", one error line.
std::string PathError(absl::string_view path, absl::string_view message);

// OK when `errors` is empty, else InvalidArgument with the errors one a line.
absl::Status ErrorsToStatus(const std::vector<std::string>& errors);

}  // namespace fiptgen

#endif  // FIPTGEN_ERROR_PATH_H_
