#include "fiptgen/rule_text.h"

#include <cstdint>
#include <cstring>

#include "absl/numeric/bits.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace fiptgen {
namespace {

bool IsBareArgChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// What separates words outside quotes, as iptables-restore reads them.
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n'; }

const char* SkipSpaces(const char* p, const char* end) {
  while (p < end && IsSpace(*p)) {
    ++p;
  }
  return p;
}

// The first of `p`..`end` that ends a bare word (a separator or a quote), or `end`. Reading
// save text is mostly finding where chain names, options and addresses end, so on x86-64
// (where SSE2 is always there) sixteen bytes are looked at at a time.
const char* BareWordEnd(const char* p, const char* end) {
#ifdef __SSE2__
  const __m128i space = _mm_set1_epi8(' ');
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i quote = _mm_set1_epi8('"');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, tab)),
                     _mm_or_si128(_mm_cmpeq_epi8(v, newline), _mm_cmpeq_epi8(v, quote)));
    const int mask = _mm_movemask_epi8(hits);
    if (mask != 0) {
      return p + absl::countr_zero(static_cast<uint32_t>(mask));
    }
  }
#endif
  while (p < end && !IsSpace(*p) && *p != '"') {
    ++p;
  }
  return p;
}

}  // namespace

char* WriteQuotedArg(absl::string_view value, char* out) {
  bool bare = !value.empty();
  for (char c : value) {
    bare = bare && IsBareArgChar(c);
  }
  *out++ = ' ';
  if (bare) {
    std::memcpy(out, value.data(), value.size());
    return out + value.size();
  }
  *out++ = '"';
  for (char c : value) {
    // A newline would end the rule early; the loader refuses control characters, and this
    // is the last line of defence for models built in code.
    if (c == '\n' || c == '\r' || c == '\0') {
      c = ' ';
    }
    if (c == '"' || c == '\\' || c == '\'') {
      *out++ = '\\';
    }
    *out++ = c;
  }
  *out++ = '"';
  return out;
}

void AppendQuotedArg(absl::string_view value, std::string* out) {
  const size_t at = out->size();
  out->resize(at + QuotedArgRoom(value));
  char* const start = &(*out)[0];
  out->resize(static_cast<size_t>(WriteQuotedArg(value, start + at) - start));
}

RuleTokenizer::RuleTokenizer(absl::string_view text) : text_(text) {
  pos_ = SkipSpaces(text.data(), text.data() + text.size()) - text.data();
}

bool RuleTokenizer::Next(RuleToken* token) {
  const char* const begin = text_.data();
  const char* const end = begin + text_.size();
  // No spaces to skip: the constructor and each word skip the spaces after them.
  const char* p = begin + pos_;
  if (p == end) {
    pos_ = text_.size();
    unterminated_ = false;
    return false;
  }
  const char* const start = p;
  p = BareWordEnd(p, end);
  if (p != end && *p == '"') {
    return NextQuoted(start, p, token);
  }
  // A bare word, by far the most common.
  token->raw = token->value = absl::string_view(start, p - start);
  pos_ = SkipSpaces(p, end) - begin;
  unterminated_ = false;
  return true;
}

// A word with a quoted part, perhaps after a bare one (iptables-restore reads a"b c" as
// "ab c"). It runs to the closing quote, which ends the word.
bool RuleTokenizer::NextQuoted(const char* start, const char* quote, RuleToken* token) {
  const char* const begin = text_.data();
  const char* const end = begin + text_.size();
  const char* const quoted = quote + 1;
  const char* p = quoted;
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
  const char* const word_end = unterminated_ ? end : p + 1;
  token->raw = absl::string_view(start, word_end - start);
  pos_ = SkipSpaces(word_end, end) - begin;
  if (!escapes && quote == start) {
    token->value = absl::string_view(quoted, quoted_end - quoted);
    return true;
  }
  unescaped_.assign(start, quote - start);
  for (const char* q = quoted; q < quoted_end; ++q) {
    if (*q == '\\' && ++q == quoted_end) {
      break;  // a backslash cut off at the end of unterminated text escapes nothing
    }
    unescaped_.push_back(*q);
  }
  token->value = unescaped_;
  return true;
}

namespace {

// Whether `text` ends inside a quoted argument. Most lines have no quote, or only balanced
// quotes and no backslash; only the others are tokenized. Quotes are found by memchr, from
// one to the next: a save of a large model is 16 MB, every byte of it seen here.
bool EndsInsideQuotes(absl::string_view text) {
  const char* const end = text.data() + text.size();
  size_t quotes = 0;
  for (const char* at = text.data();; ++at, ++quotes) {
    at = static_cast<const char*>(std::memchr(at, '"', static_cast<size_t>(end - at)));
    if (at == nullptr) {
      break;
    }
  }
  const bool backslash = std::memchr(text.data(), '\\', text.size()) != nullptr;
  if (quotes == 0 || (!backslash && quotes % 2 == 0)) {
    return false;
  }
  RuleTokenizer words(text);
  bool open = false;
  for (RuleToken t; words.Next(&t);) {
    open = words.unterminated();
  }
  return open;
}

}  // namespace

absl::string_view NextSaveLine(absl::string_view* text) {
  const char* const start = text->data();
  absl::string_view line = NextLine(text);
  while (!text->empty() && EndsInsideQuotes(line)) {
    absl::string_view more = NextLine(text);
    line = absl::string_view(start, static_cast<size_t>(more.data() + more.size() - start));
  }
  return line;
}

}  // namespace fiptgen
