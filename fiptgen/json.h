// Internal to the loader: the JSON reader LoadModel (load.h) runs on, built for speed on
// models of tens of megabytes. It reads the document once, front to back: the loader walks
// containers (BeginObject / NextKey, BeginArray / NextElement) and reads values one by one,
// scalars straight into a Node (ReadScalar), or a whole value into a Tape, a small DOM
// reused from value to value (ReadValue: one endpoint, one ipset, the config). So no DOM of
// the whole model exists, and strings are views of the input (copied only when they hold
// escapes).
//
// It accepts exactly JSON (RFC 8259), as RapidJSON does, and says nothing about what is
// wrong with invalid JSON: on failed(), the loader asks RapidJSON, whose messages and
// positions ("line 4, column 4: ... Missing a comma or '}' after an object member.") are
// the ones fiptgen has always given. needs_check() is set by what this reader does not
// judge itself and RapidJSON may refuse: bytes outside ASCII (UTF-8 validity), \u escapes
// (surrogate pairs) and numbers that are not 64-bit integers (a double may overflow).
//
//   json::Reader reader(text);
//   json::Tape entry;
//   json::Node scalar;
//   if (reader.BeginObject()) {
//     absl::string_view key;
//     while (reader.NextKey(&key)) {
//       if (key == "name") {
//         reader.ReadScalar(&scalar);   // Value(&scalar).IsString() ...
//       } else {
//         reader.ReadValue(&entry);   // entry.root() is the member's value
//       }
//     }
//   }
//   reader.Finish();   // false: not one JSON value
#ifndef FIPTGEN_JSON_H_
#define FIPTGEN_JSON_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace fiptgen {
namespace json {

enum class Type : uint8_t {
  kNull,
  kFalse,
  kTrue,
  kInt,     // an integer that fits int64_t
  kNumber,  // any other number: a fraction, an exponent, a bigger integer
  kString,
  kArray,
  kObject,
};

// One value of a Tape. A container is followed by its elements (an object's members are a
// key node, then the value); `skip` is the distance to the node after the whole value.
struct Node {
  Type type = Type::kNull;
  uint32_t count = 0;  // containers: elements or members
  uint32_t skip = 1;
  uint32_t length = 0;  // kString and keys: of the text
  union {
    int64_t int_value = 0;  // kInt
    const char* data;       // kString and keys: the unescaped text
  };
  absl::string_view text() const { return absl::string_view(data, length); }
  void set_text(absl::string_view s) {
    data = s.data();
    length = static_cast<uint32_t>(s.size());
  }
};

// A read-only view of one value of a Tape, with what the loader asks of a JSON value.
class Value {
 public:
  explicit Value(const Node* node) : node_(node) {}

  Type type() const { return node_->type; }
  bool IsNull() const { return type() == Type::kNull; }
  bool IsBool() const { return type() == Type::kFalse || type() == Type::kTrue; }
  bool IsInt64() const { return type() == Type::kInt; }
  bool IsNumber() const { return type() == Type::kInt || type() == Type::kNumber; }
  bool IsString() const { return type() == Type::kString; }
  bool IsArray() const { return type() == Type::kArray; }
  bool IsObject() const { return type() == Type::kObject; }

  int64_t GetInt64() const { return node_->int_value; }
  absl::string_view GetString() const { return node_->text(); }
  // Elements of an array, members of an object.
  size_t Size() const { return node_->count; }
  bool Empty() const { return node_->count == 0; }

  // Arrays: `for (Value element : value.Elements())`, in order.
  class ElementIterator;
  // Objects: `for (Value::Member m : value.Members())`, in order, repeated keys included.
  struct Member;
  class MemberIterator;
  template <typename Iterator>
  struct Range {
    Iterator b, e;
    Iterator begin() const { return b; }
    Iterator end() const { return e; }
  };
  Range<ElementIterator> Elements() const;
  Range<MemberIterator> Members() const;
  // The value of the first member named `key`, as RapidJSON's FindMember finds it.
  std::optional<Value> Find(absl::string_view key) const;

 private:
  const Node* node_;
};

class Value::ElementIterator {
 public:
  explicit ElementIterator(const Node* at) : at_(at) {}
  Value operator*() const { return Value(at_); }
  ElementIterator& operator++() {
    at_ += at_->skip;
    return *this;
  }
  bool operator!=(const ElementIterator& other) const { return at_ != other.at_; }

 private:
  const Node* at_;
};

struct Value::Member {
  absl::string_view key;
  Value value;
};

class Value::MemberIterator {
 public:
  explicit MemberIterator(const Node* at) : at_(at) {}
  Member operator*() const { return Member{at_->text(), Value(at_ + 1)}; }
  MemberIterator& operator++() {
    at_ += 1 + at_[1].skip;  // the key, then the value
    return *this;
  }
  bool operator!=(const MemberIterator& other) const { return at_ != other.at_; }

 private:
  const Node* at_;
};

inline Value::Range<Value::ElementIterator> Value::Elements() const {
  return {ElementIterator(node_ + 1), ElementIterator(node_ + node_->skip)};
}
inline Value::Range<Value::MemberIterator> Value::Members() const {
  return {MemberIterator(node_ + 1), MemberIterator(node_ + node_->skip)};
}

// One JSON value read whole. Reused: reading into it again keeps its memory.
class Tape {
 public:
  Value root() const { return Value(nodes_.data()); }

 private:
  friend class Reader;
  std::vector<Node> nodes_;
  std::deque<std::string> unescaped_;  // strings that held escapes (stable addresses)
  size_t unescaped_used_ = 0;
};

// The field names of one kind of object, for Reader::NextKey(key, known, field): each found
// by one hash of the key's first 7 bytes (7 bytes after the quote, which in a name of 6 or
// more bytes are its own or its closing quote) and one 16-byte compare of the name and its
// closing quote. `multiplier` must give each name a slot of its own: check ok() with a
// static_assert (names of 6-15 bytes, no '"', '\\' or control byte, slots all distinct).
template <size_t N>
class KnownKeys {
 public:
  constexpr KnownKeys(const absl::string_view (&names)[N], uint64_t multiplier)
      : multiplier_(multiplier) {
    for (int8_t& f : slot_) {
      f = -1;
    }
    for (size_t i = 0; i < N; ++i) {
      const absl::string_view name = names[i];
      name_[i] = name;
      if (name.size() < 6 || name.size() > 15) {
        ok_ = false;
        continue;
      }
      uint64_t word = 0;  // the first 7 bytes after the opening quote, as Slot loads them
      for (size_t b = 0; b < 7; ++b) {
        const char c = b < name.size() ? name[b] : '"';
        word |= uint64_t{static_cast<unsigned char>(c)} << (8 * b);
      }
      int8_t& slot = slot_[Slot(word)];
      ok_ = ok_ && slot < 0;
      slot = static_cast<int8_t>(i);
      for (size_t b = 0; b < name.size(); ++b) {
        ok_ = ok_ && name[b] >= ' ' && name[b] != '"' && name[b] != '\\';
        pattern_[i][b] = name[b];
      }
      pattern_[i][name.size()] = '"';
      mask_[i] = (1u << (name.size() + 1)) - 1;
    }
  }
  constexpr bool ok() const { return ok_; }

 private:
  friend class Reader;
  constexpr size_t Slot(uint64_t word) const {
    return static_cast<size_t>((word & 0x00FFFFFFFFFFFFFFu) * multiplier_ >> 58);
  }
  uint64_t multiplier_;
  int8_t slot_[64] = {};                  // a name's index by Slot, or -1
  alignas(16) char pattern_[N][16] = {};  // the name, its closing quote, zeros
  uint32_t mask_[N] = {};                 // which of the 16 bytes pattern_ holds
  absl::string_view name_[N] = {};
  bool ok_ = true;
};

class Reader {
 public:
  // Reads `text` up to its first NUL byte, where RapidJSON's reading of it ends too.
  explicit Reader(absl::string_view text);

  // False once the text was found not to be JSON; every call after that fails.
  bool failed() const { return failed_; }
  bool needs_check() const { return needs_check_; }

  // The type of the next value, or nullopt (and failed()) if no value starts there.
  std::optional<Type> PeekType();
  // Whether the next value starts with `open` ('{' or '['): PeekType's answer for one
  // type, inline and without failing (reading the value then fails if none starts).
  bool NextIs(char open) {
    SkipSpace();
    return at_ != end_ && *at_ == open;
  }
  // Enters the object that comes next. NextKey reads its next key and the ':' after it, or
  // returns false at its end (or on an error); a value must be read after each key.
  // Containers are left by reading them to their end: the caller's loops keep the nesting.
  bool BeginObject() { return Enter('{'); }
  bool NextKey(absl::string_view* key) {
    return NextInContainer('}') && (*at_ == '"' || Fail()) && ReadString(key, nullptr) &&
           ReadColon();
  }
  // NextKey in an object whose fields are `known`, for the loop that reads most keys (a
  // rule's): a key written as one of them (no escape) is matched in place, with no scan
  // for its end and no lookup after, and *field is its index. Any other key is read as
  // NextKey reads it and *field is -1: the caller looks it up (it may be a known name
  // spelled with escapes). A key matched in place is `known`'s copy of the name, not a view
  // into the text.
  template <size_t N>
  __attribute__((always_inline)) bool NextKey(absl::string_view* key, const KnownKeys<N>& known,
                                              int* field) {
    if (!NextInContainer('}')) {
      return false;
    }
#ifdef __SSE2__
    if (end_ - at_ > 16 && *at_ == '"') {
      uint64_t word;
      std::memcpy(&word, at_ + 1, 8);
      const int f = known.slot_[known.Slot(word)];
      if (f >= 0) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at_ + 1));
        const __m128i name = _mm_load_si128(reinterpret_cast<const __m128i*>(known.pattern_[f]));
        const uint32_t same = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, name)));
        if ((same & known.mask_[f]) == known.mask_[f]) {
          *key = known.name_[f];
          *field = f;
          at_ += key->size() + 2;
          return ReadColon();
        }
      }
    }
#endif
    *field = -1;
    return (*at_ == '"' || Fail()) && ReadString(key, nullptr) && ReadColon();
  }
  // The same for an array: NextElement returns true when an element comes next.
  bool BeginArray() { return Enter('['); }
  bool NextElement() { return NextInContainer(']'); }
  // Reads the next value whole into `tape`.
  bool ReadValue(Tape* tape);
  // Reads the next value into `node` when it is a string, number, true, false or null. An
  // array or an object is skipped (its syntax checked all the same) and `node` gets only
  // its type, for a message such as "expected a string, got an array". An unescaped string
  // lives as long as the reader.
  bool ReadScalar(Node* node) { return ReadScalarInline(node); }
  // ReadScalar, always inlined: for the one place in a loop that reads most of a
  // document's scalars (a rule's fields), where a call costs as much as a short string.
  __attribute__((always_inline)) bool ReadScalarInline(Node* node) {
    SkipSpace();
    if (at_ == end_ || *at_ != '"') {
      return ReadOtherScalar(node);
    }
    absl::string_view text;  // the common scalar, a string: inline
    if (!ReadString(&text, nullptr)) {
      node->type = Type::kNull;
      return false;
    }
    node->type = Type::kString;
    node->set_text(text);
    return true;
  }
  // Reads the array that comes next to its end in one loop, handing each element to
  // `each(const Node&)` in order, as ReadScalar reads it (a nested array or object is
  // skipped, its type kept). Built for long arrays of small scalars (port lists): an
  // element that is a positive integer of up to 7 digits is read inline, from one 8-byte
  // load. So is a string of two runs of 1-5 decimal digits joined by ':' ("8000:8080"),
  // which goes to `each_pair(first, second, text)` instead, `text` what is between the
  // quotes. The callbacks must not read from this reader (the loop keeps its own
  // cursor). False on an error (failed()), and when no array comes next.
  template <typename Each, typename EachPair>
  bool ReadArray(Node* node, Each&& each, EachPair&& each_pair);
  // Reads the next value and drops it (its syntax is checked all the same).
  bool Skip() { return ReadValue(&skipped_); }
  // After the top-level value: true if nothing but whitespace follows.
  bool Finish();

 private:
  // After a failure every read meets the end of the text, and fails: the hot paths need
  // no test of failed_.
  bool Fail() {
    failed_ = true;
    at_ = end_;
    return false;
  }
  // Always inlined: called before every value and key, most often with nothing to skip.
  __attribute__((always_inline)) void SkipSpace() {
    // Most often the next byte is not whitespace: one test, and at_ stays as it is.
    if (at_ != end_ && static_cast<unsigned char>(*at_) > ' ') {
      return;
    }
    SkipSpaceLoop();
  }
  void SkipSpaceLoop() {
    const char* p = at_;  // a local: the compiler keeps it in a register
#ifdef __SSE2__
    // Here a run is most often a newline and an indent (",\n  {" between a list's rules;
    // one space after ',' or ':' is stepped over before): 16 bytes in one step.
    if (end_ - p >= 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i space = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(' ')),
                                                      _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\n'))),
                                         _mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\r')),
                                                      _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\t'))));
      const unsigned other = ~static_cast<unsigned>(_mm_movemask_epi8(space)) & 0xFFFFu;
      if (other != 0) {
        at_ = p + __builtin_ctz(other);
        return;
      }
      p += 16;
    }
#endif
    while (p != end_ && static_cast<unsigned char>(*p) <= ' ' &&
           (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
      ++p;
    }
    at_ = p;
  }
  // At the '"' of a string: reads it; escaped text goes into `tape`'s storage (or
  // unescaped_). Always inlined: GCC stopped inlining it into the rule loop's value reads
  // once the loop had two key reads (+3.3 M calls on a large model).
  __attribute__((always_inline)) bool ReadString(absl::string_view* out, Tape* tape) {
#ifdef __SSE2__
    // The common string, inline: closed within the sixteen bytes after its opening quote,
    // without an escape or a byte outside ASCII (rule keys, actions, protocols, tags).
    if (end_ - at_ > 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at_ + 1));
      const int stops = _mm_movemask_epi8(
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')),
                                    _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))),
                       _mm_cmplt_epi8(bytes, _mm_set1_epi8(0x20))));  // signed: >= 0x80 too
      if (stops != 0) {
        const int length = __builtin_ctz(static_cast<unsigned>(stops));
        if (at_[1 + length] == '"') {
          *out = absl::string_view(at_ + 1, static_cast<size_t>(length));
          at_ += length + 2;
          return true;
        }
      }
    }
#endif
    return ReadLongString(out, tape);
  }
  // ReadString for the rest: longer strings, escapes, bytes outside ASCII.
  bool ReadLongString(absl::string_view* out, Tape* tape);
  // ReadScalar of anything but a string.
  bool ReadOtherScalar(Node* node);
  bool ReadNumber(Node* node);
  // The common number, read inline: a positive integer of up to 18 digits (it fits),
  // ended by a byte that cannot continue a number ("443,"). False, with nothing read, for
  // anything else.
  bool ReadShortInt(Node* node) {
    auto digit = [](char c) { return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0'; };
    const char* p = at_;
    if (p == end_ || digit(*p) - 1 > 8) {
      return false;
    }
    const char* const limit = end_ - p > 18 ? p + 18 : end_;
    uint64_t value = 0;
    for (; p < limit && digit(*p) < 10; ++p) {
      value = value * 10 + digit(*p);
    }
    if (p == end_ || digit(*p) < 10 || *p == '.' || *p == 'e' || *p == 'E') {
      return false;
    }
    at_ = p;
    node->type = Type::kInt;
    node->int_value = static_cast<int64_t>(value);
    return true;
  }
  bool ReadLiteral(absl::string_view word);
  __attribute__((always_inline)) bool ReadColon() {
    if (at_ == end_ || *at_ != ':') {  // most often right after the key
      SkipSpace();
      if (at_ == end_ || *at_ != ':') {
        return Fail();
      }
    }
    ++at_;
    // Most often one space follows (": "): stepped over here with one test, where the
    // value's SkipSpace would go round its loop (a large model has ~200,000 members).
    SkipOneSpace();
    return true;
  }
  // After a ',' or ':', where one space most often follows: one test, no loop.
  void SkipOneSpace() {
    if (at_ != end_ && *at_ == ' ') {
      ++at_;
    }
  }
  // Enters the object or array ('{' or '[') that comes next.
  bool Enter(char open) {
    SkipSpace();
    if (at_ == end_ || *at_ != open) {
      return Fail();
    }
    ++at_;
    first_ = true;
    return true;
  }
  // In the container being read (closed by `close`): true when a member or element
  // follows (its ',' read); false at the container's end, which leaves it, or on an error.
  // Only the first element has no ',' before it, and only right after Enter is first_ set:
  // a nested container read to its end clears it, as does every element. Always inlined:
  // once per key and element, and GCC's growth limits leave it out of line in the rule loop.
  __attribute__((always_inline)) bool NextInContainer(char close) {
    SkipSpace();
    if (at_ == end_) {
      return Fail();
    }
    const bool first = first_;
    first_ = false;
    if (*at_ == close) {
      ++at_;
      return false;
    }
    if (!first) {
      if (*at_ != ',') {
        return Fail();
      }
      ++at_;
      // Most often one space follows the ',' (", "), then what comes next.
      if (end_ - at_ >= 2 && *at_ == ' ' && static_cast<unsigned char>(at_[1]) > ' ') {
        ++at_;
        return true;
      }
      SkipSpace();
      if (at_ == end_) {
        return Fail();
      }
    }
    return true;
  }

  const char* at_;
  const char* end_;
  bool failed_ = false;
  bool needs_check_ = false;
  bool first_ = false;                 // right after Enter: no ',' before the next element
  std::vector<uint32_t> open_;         // ReadValue: containers not yet closed, by node index
  std::deque<std::string> unescaped_;  // keys and scalars read outside a tape, with escapes
  Tape skipped_;
};

// How many of the 8 bytes of `word` (the first in the lowest byte) are decimal digits
// before the first that is not (8: all are). A digit is 0x30-0x39: high nibble 3, and
// still 3 after adding 6. A byte of 0xFA or more carries into the byte above it, which
// only ever follows a byte that is not a digit.
inline int LeadingDigits(uint64_t word) {
  constexpr uint64_t kHigh = 0xF0F0F0F0F0F0F0F0u;
  const uint64_t high = word & kHigh;
  const uint64_t high_plus_6 = (word + 0x0606060606060606u) & kHigh;
  const uint64_t other = (high | high_plus_6 >> 4) ^ 0x3333333333333333u;
  return other == 0 ? 8 : __builtin_ctzll(other) / 8;
}

// The value of the first `n` (1-8) bytes of `word`, all decimal digits: shifted so that
// the bytes past them fall off and zeros lead, then pairs, fours and eights of digits
// joined by three multiplies.
inline uint64_t ShortDecimal(uint64_t word, int n) {
  uint64_t v = (word & 0x0F0F0F0F0F0F0F0Fu) << (8 * (8 - n));
  v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFu;
  v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFu;
  return (v * 10000 + (v >> 32)) & 0xFFFFFFFFu;
}

// ReadArray's "lo:hi": if the string at `p` is two runs of 1-5 decimal digits joined by
// ':', hands them to `each_pair` and returns where the string ends; else nullptr, with
// nothing read. Each run comes from one 8-byte load, as a short integer does; so at least
// 16 bytes must be left (the last few strings of a text go to ReadScalar).
template <typename EachPair>
inline const char* ReadDecimalPair(const char* p, const char* end, EachPair& each_pair) {
  if (end - p < 16 || *p != '"') {
    return nullptr;
  }
  uint64_t first_word, second_word;
  std::memcpy(&first_word, p + 1, 8);
  const int first_digits = LeadingDigits(first_word);
  if (static_cast<unsigned>(first_digits) - 1 > 4 || p[1 + first_digits] != ':') {
    return nullptr;
  }
  const char* const second = p + 2 + first_digits;
  std::memcpy(&second_word, second, 8);
  const int second_digits = LeadingDigits(second_word);
  if (static_cast<unsigned>(second_digits) - 1 > 4 || second[second_digits] != '"') {
    return nullptr;
  }
  each_pair(static_cast<uint32_t>(ShortDecimal(first_word, first_digits)),
            static_cast<uint32_t>(ShortDecimal(second_word, second_digits)),
            absl::string_view(p + 1, static_cast<size_t>(second + second_digits - (p + 1))));
  return second + second_digits + 1;
}

template <typename Each, typename EachPair>
bool Reader::ReadArray(Node* node, Each&& each, EachPair&& each_pair) {
  if (!Enter('[')) {
    return false;
  }
  first_ = false;  // as a container read to its end leaves it
  // The cursor lives in a local (a register) through the loop, and goes back to at_ only
  // around ReadScalar and at the end: `each` must not read from this reader. A port list
  // of a large model is read here 188,000 times an element.
  const char* p = at_;
  const char* const end = end_;
  auto skip_space = [&p, end] {
    while (p != end && static_cast<unsigned char>(*p) <= ' ' &&
           (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
      ++p;
    }
  };
  auto digit = [](char c) { return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0'; };
  skip_space();
  if (p != end && *p == ']') {
    at_ = p + 1;
    return true;
  }
  for (;;) {
    // The common element, read here: a positive integer of 1-7 digits ended by a byte
    // that cannot continue a number ("443,"), taken from one 8-byte load (ShortDecimal).
    // Anything else is ReadScalar's.
    uint64_t word;
    int digits = 0;
    if (end - p >= 8 && digit(*p) - 1 < 9) {
      std::memcpy(&word, p, 8);
      digits = LeadingDigits(word);
    }
    if (digits > 0 && digits < 8 && p[digits] != '.' && (p[digits] | 0x20) != 'e') {
      // A Node of this loop's own, not *node: `each` may keep the address of *node, so
      // its fields would be stored for every element.
      Node element;
      element.type = Type::kInt;
      element.int_value = static_cast<int64_t>(ShortDecimal(word, digits));
      p += digits;
      each(static_cast<const Node&>(element));
    } else if (const char* after = ReadDecimalPair(p, end, each_pair)) {
      p = after;
    } else {
      at_ = p;
      if (!ReadScalar(node)) {
        return false;
      }
      p = at_;
      each(static_cast<const Node&>(*node));
    }
    skip_space();
    if (p == end) {
      return Fail();
    }
    if (*p == ']') {
      at_ = p + 1;
      return true;
    }
    if (*p != ',') {
      return Fail();
    }
    ++p;
    // Most often one space follows the ',' (", "), then the next element.
    if (end - p >= 2 && *p == ' ' && static_cast<unsigned char>(p[1]) > ' ') {
      ++p;
    } else {
      skip_space();
    }
  }
}

}  // namespace json
}  // namespace fiptgen

#endif  // FIPTGEN_JSON_H_
