// Appending text on the hot paths (the generator's rules, the renderer's lines).
//
// AppendPieces(std::string*, ...) appends without abseil's StrAppend, which in Debian's
// build zero-fills the new space before it copies into it (libstdc++ has no uninitialized
// resize): on the generator's hot paths that was a tenth of the time.
//
// TextBuffer is for text built piece by piece and then copied out or written: an append is
// an inline capacity check and a memcpy, where std::string::append is an out-of-line call
// into libstdc++ (measured, bench/README.md: faster than both std::string appends and
// fmt::memory_buffer). Kept and reused, it grows to the largest text once. Given a string,
// it writes at the string's end instead (the renderer's scripts into strings).
//
//   std::string s = "-p";
//   AppendPieces(&s, " ", "tcp", " --dport ", 22);   // "-p tcp --dport 22"
//   TextBuffer b;
//   AppendPieces(&b, "-p tcp --dport ", 22);          // b.view() == "-p tcp --dport 22"
#ifndef FIPTGEN_APPEND_H_
#define FIPTGEN_APPEND_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fiptgen {

template <typename... Parts>
void AppendPieces(std::string* out, const Parts&... parts) {
  ([out](const absl::AlphaNum& piece) { out->append(piece.data(), piece.size()); }(parts), ...);
}

// The decimal digits of `v` written at `out` (room for 10); returns their end. Two digits
// at a time from a table, in 32-bit arithmetic: ports, ICMP types and counts are most of
// the numbers, and a port list of 28 ports is written for every rule and family. Below
// 100,000 (every port) the digits are placed by their count, with no loop.
inline char* WriteDecimal(uint32_t v, char* out) {
  static constexpr char kDigitPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  auto pair = [](uint32_t two, char* at) { std::memcpy(at, kDigitPairs + 2 * two, 2); };
  if (v < 100) {
    if (v < 10) {
      *out = static_cast<char>('0' + v);
      return out + 1;
    }
    pair(v, out);
    return out + 2;
  }
  if (v < 10000) {
    const uint32_t high = v / 100;
    if (high < 10) {
      *out = static_cast<char>('0' + high);
      pair(v % 100, out + 1);
      return out + 3;
    }
    pair(high, out);
    pair(v % 100, out + 2);
    return out + 4;
  }
  if (v < 100000) {
    const uint32_t low = v % 10000;
    *out = static_cast<char>('0' + v / 10000);
    pair(low / 100, out + 1);
    pair(low % 100, out + 3);
    return out + 5;
  }
  // Six digits and more: from the last two up.
  const int digits = v < 1000000       ? 6
                     : v < 10000000    ? 7
                     : v < 100000000   ? 8
                     : v < 1000000000u ? 9
                                       : 10;
  char* const end = out + digits;
  char* p = end;
  while (v >= 100) {
    p -= 2;
    pair(v % 100, p);
    v /= 100;
  }
  if (v >= 10) {
    pair(v, p - 2);
  } else {
    p[-1] = static_cast<char>('0' + v);
  }
  return end;
}

class TextBuffer {
 public:
  TextBuffer() = default;
  // Writes at the end of `*target` instead of into memory of its own, for text whose
  // destination is a string: built elsewhere, it would be copied in afterwards, a second
  // pass over all of it (16.7 MB for a large model's scripts). Room is made by growing the
  // string in steps of kTargetStep, zero-filled by libstdc++ (it has no uninitialized
  // resize) just before the text overwrites it, while those bytes are in cache; a resize
  // to the whole size at once would write every byte twice, the second time from memory.
  // Reserve the string's room first. The string holds what Extend made room for until
  // Finish() (or the destructor) cuts it to what was written; read it only after that.
  // The text the string held before is the buffer's first text: size(), view() and empty()
  // count it, and clear() keeps it.
  explicit TextBuffer(std::string* target)
      : data_(target->data()),
        size_(target->size()),
        capacity_(size_),
        start_(size_),
        target_(target) {}
  ~TextBuffer() { Finish(); }
  TextBuffer(const TextBuffer&) = delete;
  TextBuffer& operator=(const TextBuffer&) = delete;
  TextBuffer(TextBuffer&& other) noexcept { *this = std::move(other); }
  TextBuffer& operator=(TextBuffer&& other) noexcept {
    Finish();
    owned_ = std::move(other.owned_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    start_ = std::exchange(other.start_, 0);
    target_ = std::exchange(other.target_, nullptr);
    return *this;
  }

  // Text written into a target string: cuts the string to it. Nothing to do otherwise.
  void Finish() {
    if (target_ != nullptr) {
      target_->resize(size_);
      capacity_ = size_;
    }
  }

  absl::string_view view() const { return absl::string_view(data_, size_); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Drops what was written (into a target string: what this buffer wrote, not what the
  // string held before).
  void clear() { size_ = start_; }
  // The byte at `i` (< size()), to overwrite.
  char& at(size_t i) { return data_[i]; }
  // Keeps the first `n` bytes (n <= size()): what Extend made room for and was not written.
  void Truncate(size_t n) {
    assert(n <= size_ && n >= start_ && "Truncate outside what this buffer wrote");
    size_ = n;
  }

  // Makes room for `n` more bytes and returns where they go; the caller writes all n.
  char* Extend(size_t n) {
    if (capacity_ - size_ < n) {
      Grow(n);
    }
    char* at = data_ + size_;
    size_ += n;
    return at;
  }
  // Room for `n` more bytes, made now at exactly that size (Extend grows by doubling,
  // copying what it holds each time): for text whose size is known, or bounded, up front.
  void Reserve(size_t n) {
    if (capacity_ - size_ < n) {
      if (target_ != nullptr) {
        target_->reserve(size_ + n);
        data_ = target_->data();  // reserve may have moved the string
      } else {
        Reallocate(size_ + n);
      }
    }
  }
  void Append(absl::string_view s) {
    if (!s.empty()) {
      std::memcpy(Extend(s.size()), s.data(), s.size());
    }
  }
  void Append(char c) { *Extend(1) = c; }
  // Decimal digits of `v` (WriteDecimal, straight into the buffer, when it fits 32 bits).
  void AppendDecimal(uint64_t v) {
    if (v <= UINT32_MAX) {
      char* const to = Extend(10);
      size_ -= 10 - static_cast<size_t>(WriteDecimal(static_cast<uint32_t>(v), to) - to);
      return;
    }
    char digits[20];
    char* const end = digits + sizeof(digits);
    char* p = end;
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    Append(absl::string_view(p, static_cast<size_t>(end - p)));
  }

 private:
  static constexpr size_t kTargetStep = 2048;

  // Out of line: the buffer grows to its largest text once, and inlined into every Extend
  // this made the generator's hot loops bigger.
  ABSL_ATTRIBUTE_NOINLINE void Grow(size_t n) {
    if (target_ != nullptr) {
      // What was written is already in place (the string holds all that Extend made room
      // for), so growing it, even past its capacity, keeps the text.
      while (capacity_ - size_ < n) {
        target_->append(kTargetStep, '\0');
        capacity_ += kTargetStep;
      }
      data_ = target_->data();
      return;
    }
    size_t capacity = capacity_ < 256 ? 256 : capacity_;
    while (capacity - size_ < n) {
      capacity *= 2;
    }
    Reallocate(capacity);
  }

  void Reallocate(size_t capacity) {
    std::unique_ptr<char[]> data(new char[capacity]);
    if (size_ > 0) {
      std::memcpy(data.get(), data_, size_);
    }
    owned_ = std::move(data);
    data_ = owned_.get();
    capacity_ = capacity;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t start_ = 0;               // into a target string: its size before this buffer wrote
  std::unique_ptr<char[]> owned_;  // the memory, unless writing into target_
  std::string* target_ = nullptr;
};

// One piece of AppendPieces(TextBuffer*, ...): text, or an integer in decimal.
inline void AppendPiece(TextBuffer* out, absl::string_view s) { out->Append(s); }
inline void AppendPiece(TextBuffer* out, const char* s) { out->Append(absl::string_view(s)); }
inline void AppendPiece(TextBuffer* out, const std::string& s) { out->Append(s); }
inline void AppendPiece(TextBuffer* out, char c) { out->Append(c); }
template <typename Int,
          typename = std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, char> &&
                                      !std::is_same_v<Int, bool>>>
void AppendPiece(TextBuffer* out, Int v) {
  if constexpr (std::is_signed_v<Int>) {
    if (v < 0) {
      out->Append('-');
      out->AppendDecimal(0 - static_cast<uint64_t>(v));
      return;
    }
  }
  out->AppendDecimal(static_cast<uint64_t>(v));
}

template <typename... Parts>
void AppendPieces(TextBuffer* out, const Parts&... parts) {
  (AppendPiece(out, parts), ...);
}

}  // namespace fiptgen

#endif  // FIPTGEN_APPEND_H_
