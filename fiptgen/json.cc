#include "fiptgen/json.h"

#include <cstring>

namespace fiptgen {
namespace json {
namespace {

// Bytes a string's fast scan stops at: the closing quote, an escape, a control character
// (invalid in a string) and any byte outside ASCII (UTF-8, for RapidJSON to check).
struct StopTable {
  bool stop[256] = {};
  constexpr StopTable() {
    for (int c = 0; c < 256; ++c) {
      stop[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
    }
  }
};
constexpr StopTable kStop;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// UTF-8 of a code point, as RapidJSON's UTF8::Encode writes it (a lone low surrogate too).
void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::optional<Value> Value::Find(absl::string_view key) const {
  for (Member m : Members()) {
    if (m.key == key) {
      return m.value;
    }
  }
  return std::nullopt;
}

Reader::Reader(absl::string_view text) : at_(text.data()), end_(text.data() + text.size()) {
  if (const void* nul = std::memchr(text.data(), '\0', text.size())) {
    end_ = static_cast<const char*>(nul);
  }
}

std::optional<Type> Reader::PeekType() {
  SkipSpace();
  if (at_ == end_) {
    Fail();
    return std::nullopt;
  }
  switch (*at_) {
    case '{':
      return Type::kObject;
    case '[':
      return Type::kArray;
    case '"':
      return Type::kString;
    case 't':
      return Type::kTrue;
    case 'f':
      return Type::kFalse;
    case 'n':
      return Type::kNull;
    default:
      if (*at_ == '-' || (*at_ >= '0' && *at_ <= '9')) {
        return Type::kNumber;
      }
      Fail();
      return std::nullopt;
  }
}

bool Reader::Finish() {
  if (failed_) {
    return false;
  }
  SkipSpace();
  return at_ == end_ || Fail();
}

// The index (0-7) of the first of the 8 bytes of `word` that a string's scan stops at
// (kStop), or 8: the classic "has a zero byte" test on the word XORed with '"' and with
// '\\', and the bytes below 0x20 or at or above 0x80. Each test may also flag bytes above a
// flagged one (a borrow runs upward), never below it, so the lowest flag is exact.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the first byte is the lowest");
inline int FirstStopByte(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101u;
  constexpr uint64_t kHigh = 0x8080808080808080u;
  const uint64_t quote = word ^ (kOnes * '"');
  const uint64_t backslash = word ^ (kOnes * '\\');
  const uint64_t zero_quote = (quote - kOnes) & ~quote;
  const uint64_t zero_backslash = (backslash - kOnes) & ~backslash;
  const uint64_t control = word - kOnes * 0x20;  // borrows into the high bit below 0x20
  const uint64_t flags = (zero_quote | zero_backslash | control | word) & kHigh;
  return flags == 0 ? 8 : __builtin_ctzll(flags) / 8;
}

bool Reader::ReadLongString(absl::string_view* out, Tape* tape) {
  const char* start = at_ + 1;  // past the opening quote
  const char* p = start;
  bool stopped = false;  // p is at a byte the fast scan stops at
#ifdef __SSE2__
  // Sixteen bytes at a time where SSE2 is (every x86-64): most keys and values end within
  // the first sixteen, found with a few vector compares.
  while (end_ - p >= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i stops =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')),
                                  _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))),
                     _mm_cmplt_epi8(bytes, _mm_set1_epi8(0x20)));  // signed: bytes >= 0x80 too
    if (const int mask = _mm_movemask_epi8(stops); mask != 0) {
      p += __builtin_ctz(static_cast<unsigned>(mask));
      stopped = true;
      break;
    }
    p += 16;
  }
#endif
  // Eight bytes at a time up to the first byte that ends the fast scan; the last few
  // bytes of the text byte by byte.
  while (!stopped && end_ - p >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    const int stop = FirstStopByte(word);
    p += stop;
    stopped = stop < 8;
  }
  while (!stopped && p < end_ && !kStop.stop[static_cast<unsigned char>(*p)]) {
    ++p;
  }
  at_ = p;
  if (p < end_ && *p == '"') {  // the common case: nothing to unescape
    *out = absl::string_view(start, static_cast<size_t>(p - start));
    at_ = p + 1;
    return true;
  }
  // Escapes or bytes outside ASCII: the string is copied out, unescaped.
  std::string* text;
  if (tape == nullptr) {
    text = &unescaped_.emplace_back();
  } else {
    if (tape->unescaped_used_ == tape->unescaped_.size()) {
      tape->unescaped_.emplace_back();
    }
    text = &tape->unescaped_[tape->unescaped_used_++];
    text->clear();
  }
  text->assign(start, static_cast<size_t>(at_ - start));
  while (at_ < end_) {
    const unsigned char c = static_cast<unsigned char>(*at_);
    if (c == '"') {
      ++at_;
      *out = *text;
      return true;
    }
    if (c < 0x20) {
      return Fail();
    }
    if (c >= 0x80) {
      needs_check_ = true;  // RapidJSON validates the UTF-8
      text->push_back(static_cast<char>(c));
      ++at_;
      continue;
    }
    if (c != '\\') {
      text->push_back(static_cast<char>(c));
      ++at_;
      continue;
    }
    if (++at_ == end_) {
      return Fail();
    }
    // The one-character escapes, and what each stands for.
    constexpr absl::string_view kEscape = "\"\\/bfnrt";
    constexpr absl::string_view kMeaning = "\"\\/\b\f\n\r\t";
    const char e = *at_++;
    if (size_t i = kEscape.find(e); i != absl::string_view::npos) {
      text->push_back(kMeaning[i]);
      continue;
    }
    if (e != 'u') {
      return Fail();
    }
    // As RapidJSON decodes it: a high surrogate must be followed by \u and a low one.
    needs_check_ = true;
    auto hex4 = [this](uint32_t* cp) {
      if (end_ - at_ < 4) {
        return false;
      }
      *cp = 0;
      for (int i = 0; i < 4; ++i) {
        int d = HexDigit(at_[i]);
        if (d < 0) {
          return false;
        }
        *cp = *cp << 4 | static_cast<uint32_t>(d);
      }
      at_ += 4;
      return true;
    };
    uint32_t cp = 0;
    if (!hex4(&cp)) {
      return Fail();
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t low = 0;
      if (end_ - at_ < 2 || at_[0] != '\\' || at_[1] != 'u') {
        return Fail();
      }
      at_ += 2;
      if (!hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
        return Fail();
      }
      cp = (((cp - 0xD800) << 10) | (low - 0xDC00)) + 0x10000;
    }
    AppendUtf8(cp, text);
  }
  return Fail();
}

bool Reader::ReadNumber(Node* node) {
  if (ReadShortInt(node)) {  // the common case
    return true;
  }
  const char* p = at_;
  const bool minus = *p == '-';
  if (minus) {
    ++p;
  }
  if (p == end_ || *p < '0' || *p > '9') {
    return Fail();
  }
  uint64_t value = 0;
  bool overflow = false;
  if (*p == '0') {
    ++p;
  } else {
    const char* digits = p;
    while (p < end_ && *p >= '0' && *p <= '9') {
      value = value * 10 + static_cast<uint64_t>(*p - '0');  // wraps past 19 digits
      ++p;
    }
    if (p - digits > 19) {
      overflow = true;  // 20 digits may still fit: check them exactly
      value = 0;
      for (const char* d = digits; d < p && !overflow; ++d) {
        overflow = __builtin_mul_overflow(value, 10u, &value) ||
                   __builtin_add_overflow(value, static_cast<uint64_t>(*d - '0'), &value);
      }
    }
  }
  // One or more digits: what a fraction and an exponent need.
  auto more_digits = [&p, this]() {
    if (p == end_ || *p < '0' || *p > '9') {
      return false;
    }
    while (p < end_ && *p >= '0' && *p <= '9') {
      ++p;
    }
    return true;
  };
  bool integer = true;
  if (p < end_ && *p == '.') {
    integer = false;
    ++p;
    if (!more_digits()) {
      at_ = p;
      return Fail();
    }
  }
  if (p < end_ && (*p == 'e' || *p == 'E')) {
    integer = false;
    ++p;
    if (p < end_ && (*p == '+' || *p == '-')) {
      ++p;
    }
    if (!more_digits()) {
      at_ = p;
      return Fail();
    }
  }
  at_ = p;
  // RapidJSON keeps an integer as int64 when it fits: up to 2^63 - 1, down to -2^63.
  constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(INT64_MAX);
  if (integer && !overflow && (minus ? value <= kMaxInt64 + 1 : value <= kMaxInt64)) {
    node->type = Type::kInt;
    node->int_value = minus ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
  } else {
    node->type = Type::kNumber;
    needs_check_ = true;  // as a double it may overflow, which RapidJSON refuses
  }
  return true;
}

bool Reader::ReadLiteral(absl::string_view word) {
  if (static_cast<size_t>(end_ - at_) < word.size() ||
      std::memcmp(at_, word.data(), word.size()) != 0) {
    return Fail();
  }
  at_ += word.size();
  return true;
}

bool Reader::ReadOtherScalar(Node* node) {
  if (at_ == end_) {
    node->type = Type::kNull;
    return Fail();
  }
  switch (*at_) {
    case '{':
    case '[':
      node->type = *at_ == '{' ? Type::kObject : Type::kArray;
      node->count = 0;
      return Skip();
    case 't':
      node->type = Type::kTrue;
      return ReadLiteral("true");
    case 'f':
      node->type = Type::kFalse;
      return ReadLiteral("false");
    case 'n':
      node->type = Type::kNull;
      return ReadLiteral("null");
    default:
      node->type = Type::kNull;  // what a failed read leaves; ReadNumber sets the rest
      if (*at_ != '-' && (*at_ < '0' || *at_ > '9')) {
        return Fail();
      }
      return ReadNumber(node);
  }
}

bool Reader::ReadValue(Tape* tape) {
  if (failed_) {
    return false;
  }
  std::vector<Node>& nodes = tape->nodes_;
  nodes.clear();
  tape->unescaped_used_ = 0;
  open_.clear();
  // Iterative, with the open containers on open_: no nesting depth can overflow the stack.
  for (;;) {
    SkipSpace();
    if (at_ == end_) {
      return Fail();
    }
    Node& node = nodes.emplace_back();
    bool opened = false;
    switch (*at_) {
      case '{':
      case '[':
        node.type = *at_ == '{' ? Type::kObject : Type::kArray;
        ++at_;
        open_.push_back(static_cast<uint32_t>(nodes.size() - 1));
        opened = true;
        break;
      case '"':
        node.type = Type::kString;
        if (absl::string_view text; ReadString(&text, tape)) {
          node.set_text(text);
        } else {
          return false;
        }
        break;
      case 't':
      case 'f':
      case 'n': {  // a literal, known by its first letter
        const char first = *at_;
        node.type = first == 't' ? Type::kTrue : first == 'f' ? Type::kFalse : Type::kNull;
        if (!ReadLiteral(first == 't' ? "true" : first == 'f' ? "false" : "null")) {
          return false;
        }
        break;
      }
      default:
        if (*at_ != '-' && (*at_ < '0' || *at_ > '9')) {
          return Fail();
        }
        if (!ReadNumber(&node)) {
          return false;
        }
        break;
    }
    // After a value, or at the start of a container: close what ends here, then find
    // where the next value starts (after a key, in an object).
    bool first = opened;
    while (!open_.empty()) {
      const uint32_t container = open_.back();
      const bool object = nodes[container].type == Type::kObject;
      SkipSpace();
      if (at_ == end_) {
        return Fail();
      }
      if (*at_ == (object ? '}' : ']')) {
        ++at_;
        nodes[container].skip = static_cast<uint32_t>(nodes.size() - container);
        open_.pop_back();
        first = false;
        continue;
      }
      if (!first) {
        if (*at_ != ',') {
          return Fail();
        }
        ++at_;
        SkipOneSpace();
        SkipSpace();
      }
      ++nodes[container].count;
      if (object) {
        if (at_ == end_ || *at_ != '"') {
          return Fail();
        }
        Node& key = nodes.emplace_back();
        key.type = Type::kString;
        if (absl::string_view text; ReadString(&text, tape)) {
          key.set_text(text);
        } else {
          return false;
        }
        SkipSpace();
        if (at_ == end_ || *at_ != ':') {
          return Fail();
        }
        ++at_;
        SkipOneSpace();
      }
      break;
    }
    if (open_.empty()) {
      return true;
    }
  }
}

}  // namespace json
}  // namespace fiptgen
