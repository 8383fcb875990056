#include "fiptgen/rule_text.h"

namespace fiptgen {
namespace {

bool IsBareArgChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// What separates words outside quotes, as iptables-restore reads them.
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n'; }

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

bool RuleTokenizer::Next(RuleToken* token) {
  const char* const begin = text_.data();
  const char* const end = begin + text_.size();
  const char* p = begin + pos_;
  while (p < end && IsSpace(*p)) {
    ++p;
  }
  unterminated_ = false;
  if (p == end) {
    pos_ = text_.size();
    return false;
  }
  const char* const start = p;
  while (p < end && !IsSpace(*p) && *p != '"') {
    ++p;
  }
  if (p == end || *p != '"') {  // a bare word, by far the most common
    token->raw = token->value = absl::string_view(start, p - start);
    pos_ = p - begin;
    return true;
  }
  // A quoted part, perhaps after a bare one (iptables-restore reads a"b c" as "ab c"). It
  // runs to the closing quote, which ends the word.
  const char* const bare_end = p;
  const char* const quoted = ++p;
  bool escapes = false;
  while (p < end && *p != '"') {
    if (*p == '\\') {
      escapes = true;
      ++p;
    }
    if (p < end) {
      ++p;
    }
  }
  const char* const quoted_end = p < end ? p : end;
  unterminated_ = p >= end;
  pos_ = (unterminated_ ? end : p + 1) - begin;
  token->raw = absl::string_view(start, begin + pos_ - start);
  if (!escapes && bare_end == start) {
    token->value = absl::string_view(quoted, quoted_end - quoted);
    return true;
  }
  unescaped_.assign(start, bare_end - start);
  for (const char* q = quoted; q < quoted_end; ++q) {
    if (*q == '\\' && ++q == quoted_end) {
      break;  // a backslash cut off at the end of unterminated text escapes nothing
    }
    unescaped_.push_back(*q);
  }
  token->value = unescaped_;
  return true;
}

absl::string_view RuleTokenizer::rest() const {
  size_t at = pos_;
  while (at < text_.size() && IsSpace(text_[at])) {
    ++at;
  }
  return text_.substr(at);
}

}  // namespace fiptgen
