#include "fiptgen/rule_text.h"

namespace fiptgen {
namespace {

bool IsBareArgChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

void AppendQuotedArg(absl::string_view value, std::string* out) {
  bool bare = !value.empty();
  for (char c : value) {
    bare = bare && IsBareArgChar(c);
  }
  out->push_back(' ');
  if (bare) {
    out->append(value.data(), value.size());
    return;
  }
  out->push_back('"');
  for (char c : value) {
    // A newline would end the rule early; the loader refuses control characters, and this
    // is the last line of defence for models built in code.
    if (c == '\n' || c == '\r' || c == '\0') {
      c = ' ';
    }
    if (c == '"' || c == '\\' || c == '\'') {
      out->push_back('\\');
    }
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace fiptgen
