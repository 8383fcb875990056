#include "fiptgen/error_path.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fiptgen {

std::string QuoteForMessage(absl::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = absl::StrCat("\"", absl::CHexEscape(s.substr(0, kMax)), "\"");
  if (s.size() > kMax) {
    out.insert(out.size() - 1, "...");
  }
  return out;
}

std::string KeyPath(absl::string_view parent, absl::string_view key) {
  std::string out;
  // A key of printable bytes without quotes or backslash, and short enough not to be cut,
  // is its own quoted text (CHexEscape leaves it as it is): written without the escape
  // pass and its strings. LoadModel makes one such path per profile.
  const bool plain = key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
                       return c >= ' ' && c <= '~' && c != '"' && c != '\'' && c != '\\';
                     });
  if (plain) {
    out.reserve(parent.size() + key.size() + 4);
    AppendPieces(&out, parent, "[\"", key, "\"]");
    return out;
  }
  out.assign(parent.data(), parent.size());
  AppendPieces(&out, "[", QuoteForMessage(key), "]");
  return out;
}

std::string MemberPath(absl::string_view parent, absl::string_view key) {
  bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '!';
  });
  return plain ? FieldPath(parent, key) : KeyPath(parent, key);
}

std::string PathError(absl::string_view path, absl::string_view message) {
  return absl::StrCat(path, ": ", message);
}

absl::Status ErrorsToStatus(const std::vector<std::string>& errors) {
  if (errors.empty()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

}  // namespace fiptgen
