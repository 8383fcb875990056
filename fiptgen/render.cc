#include "fiptgen/render.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "fiptgen/append.h"

namespace fiptgen {

// What ipset gives a set created without maxelem.
constexpr size_t kIpsetDefaultMaxelem = 65536;

size_t IpsetCapacity(size_t members) {
  size_t max = kIpsetDefaultMaxelem;
  while (max < members) {
    max *= 2;
  }
  return max;
}

namespace {

// Every renderer writes through one of these. Into a sink: text goes into a reused buffer,
// handed to the sink a piece at a time (so a file is written from a buffer that stays in
// cache). Into a string: straight at the string's end, with no buffer to copy from
// (TextBuffer's target mode).
class Writer {
 public:
  static constexpr size_t kPiece = 256 << 10;

  explicit Writer(TextSink sink) : sink_(sink), flush_at_(kPiece) {}
  explicit Writer(std::string* out) : buffer_(out), flush_at_(SIZE_MAX) {}
  // For a whole script into a sink: the buffer made big enough at once for a piece and the
  // chain or set that takes it over kPiece, instead of grown by doubling from 256 bytes and
  // copied on the way.
  void ReserveForPieces() {
    buffer_.Extend(2 * kPiece);
    buffer_.clear();
  }
  ~Writer() { Flush(); }
  TextBuffer& buffer() { return buffer_; }
  // Between units of text (a chain, a set): passes the buffer on once it is big enough.
  void MaybeFlush() {
    if (buffer_.size() >= flush_at_) {
      Flush();
    }
  }
  void Flush() {
    if (!sink_) {
      buffer_.Finish();
    } else if (!buffer_.empty()) {
      (*sink_)(buffer_.view());
      buffer_.clear();
    }
  }

 private:
  std::optional<TextSink> sink_;  // none when writing into a string
  TextBuffer buffer_;
  size_t flush_at_;  // kPiece into a sink; into a string, never
};

// "<head><line>\n" for every line of `lines` (each ended by '\n').
void AppendLinesWithHead(absl::string_view head, absl::string_view lines, TextBuffer* out) {
  const char* at = lines.data();
  const char* const end = at + lines.size();
  while (at < end) {
    const char* newline = static_cast<const char*>(std::memchr(at, '\n', end - at));
    const size_t length = (newline == nullptr ? end : newline + 1) - at;
    char* to = out->Extend(head.size() + length);
    std::memcpy(to, head.data(), head.size());
    std::memcpy(to + head.size(), at, length);
    at += length;
  }
}

// A line's head, "<verb><name> ": "-A <chain> " before a rule, "add <set> " before a member.
// Written a line at a time, it is kept in 32 bytes and copied as 32 whatever its length (two
// 16-byte moves, where a memcpy of its length is a call), and what follows it overwrites the
// bytes past its end. Every chain name fits (iptables allows 28 bytes), and every set name
// we make; a longer one, in observed state, is copied at its length.
class LineHead {
 public:
  static constexpr size_t kRoom = 32;

  LineHead(absl::string_view verb, absl::string_view name) : size_(verb.size() + name.size() + 1) {
    if (size_ <= kRoom) {
      std::memcpy(text_, verb.data(), verb.size());
      std::memcpy(text_ + verb.size(), name.data(), name.size());
      text_[size_ - 1] = ' ';
    } else {
      long_ = absl::StrCat(verb, name, " ");
    }
  }
  bool fits() const { return size_ <= kRoom; }
  size_t size() const { return size_; }
  absl::string_view view() const { return fits() ? absl::string_view(text_, size_) : long_; }
  // The 32 bytes that start with the head (fits() only).
  const char* room() const { return text_; }
  // Writes the head at `to`, which has room for max(kRoom, size()) bytes; returns its end.
  char* Put(char* to) const {
    if (fits()) {
      std::memcpy(to, text_, kRoom);
    } else {
      std::memcpy(to, long_.data(), size_);
    }
    return to + size_;
  }

 private:
  char text_[kRoom] = {};
  size_t size_;
  std::string long_;
};

// Appends "-A <chain> <rule>\n" for each rule of `c`.
//
// Where SSE2 is (every x86-64), in one pass that copies 32 bytes at a time and stops at each
// newline to write the next head: a memchr per line, and a memcpy each for the head and the
// line, cost twice the instructions (19.5 M of a large run; a rule is ~74 bytes). Stores run
// up to 32 bytes past the text, into room asked for and then given back.
void AppendChainRules(const Chain& c, TextBuffer* out) {
  const absl::string_view lines = c.body();
  if (lines.empty()) {
    return;
  }
  const LineHead head("-A ", c.name());
#ifdef __SSE2__
  if (head.fits() && c.rule_count() > 0) {
    // Room for the text, a head more and the widest overrun. The count only says where to
    // stop: a rule_count() that does not match the body's lines still renders every line
    // once, with its head (render_test).
    const size_t start = out->size();
    char* const base = out->Extend(lines.size() + (c.rule_count() + 1) * head.size() + 64);
    char* to = base;
    const __m128i head_lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(head.room()));
    const __m128i head_hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(head.room() + 16));
    const __m128i newline = _mm_set1_epi8('\n');
    auto put_head = [&to, &head_lo, &head_hi, &head] {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(to), head_lo);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(to + 16), head_hi);
      to += head.size();
    };
    size_t left = c.rule_count();
    // Copies from `at` while it is before `stop`, with 32 bytes readable from each `at`;
    // returns where it stopped (past `stop` only after a '\n'-less block of padding).
    auto copy = [&](const char* at, const char* stop) {
      while (at < stop) {
        const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
        const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + 16));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(to), lo);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(to + 16), hi);
        const unsigned ends =
            static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(lo, newline))) |
            static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(hi, newline))) << 16;
        if (__builtin_expect(ends == 0, 1)) {
          at += 32;
          to += 32;
          continue;
        }
        const size_t n = static_cast<size_t>(__builtin_ctz(ends)) + 1;
        at += n;
        to += n;
        if (--left == 0) {
          break;
        }
        put_head();
      }
      return at;
    };
    put_head();
    const char* at = lines.data();
    const char* const end = lines.data() + lines.size();
    if (lines.size() >= 32) {
      at = copy(at, end - 31);
    }
    // The last bytes (fewer than 32) from a copy padded with zeros, which no '\n' matches:
    // 64 bytes, so that a load 32 wide from any of them stays inside.
    const size_t rest = static_cast<size_t>(end - at);
    if (rest > 0 && left > 0) {
      char tail[64] = {};
      std::memcpy(tail, at, rest);
      at += copy(tail, tail + rest) - tail;
    }
    if (left > 0) {
      to -= head.size();  // put for a line after the last: rule_count() above the lines
    }
    out->Truncate(start + static_cast<size_t>(to - base));
    if (at < end) {  // rule_count() below the lines: the rest, each with its head
      AppendLinesWithHead(head.view(), absl::string_view(at, static_cast<size_t>(end - at)), out);
    }
    return;
  }
#endif
  AppendLinesWithHead(head.view(), lines, out);
}

// One line per step of a rule-level edit (render.h, RuleEdit).
void AppendChainEdit(const ChainEdit& edit, TextBuffer* out) {
  for (const RuleEdit& step : edit.steps) {
    switch (step.kind) {
      case RuleEdit::Kind::kDelete:
        AppendPieces(out, "-D ", edit.chain, " ", step.position, "\n");
        break;
      case RuleEdit::Kind::kInsert:
        AppendPieces(out, "-I ", edit.chain, " ", step.position, " ", step.rule, "\n");
        break;
      case RuleEdit::Kind::kReplace:
        AppendPieces(out, "-R ", edit.chain, " ", step.position, " ", step.rule, "\n");
        break;
      case RuleEdit::Kind::kAppend:
        AppendPieces(out, "-A ", edit.chain, " ", step.rule, "\n");
        break;
    }
  }
}

void RenderTableEditTo(const TableEdit& edit, Writer& w) {
  TextBuffer& out = w.buffer();
  AppendPieces(&out, "*", edit.table, "\n");
  // Passed on as they fill a piece: a huge model declares 60,000 chains a table, 1.8 MB
  // that grew the buffer past its two pieces (copied on the way, and kept).
  for (const Chain* c : edit.fill) {
    AppendPieces(&out, ":", c->name(), " - [0:0]\n");
    w.MaybeFlush();
  }
  for (absl::string_view name : edit.flush) {
    AppendPieces(&out, ":", name, " - [0:0]\n");
  }
  for (const Hook* h : edit.unhook) {
    AppendPieces(&out, "-D ", h->builtin, " -j ", h->target, "\n");
  }
  for (const Hook* h : edit.hook) {
    AppendPieces(&out, "-I ", h->builtin, " 1 -j ", h->target, "\n");
  }
  for (const Hook* h : edit.append) {
    AppendPieces(&out, "-A ", h->builtin, " -j ", h->target, "\n");
  }
  for (const Chain* c : edit.fill) {
    AppendChainRules(*c, &out);
    w.MaybeFlush();
  }
  for (const ChainEdit& e : edit.edit) {
    AppendChainEdit(e, &out);
    w.MaybeFlush();
  }
  for (absl::string_view name : edit.remove) {
    AppendPieces(&out, "-X ", name, "\n");
  }
  out.Append("COMMIT\n");
}

void RenderRestoreTo(const Ruleset& ruleset, Writer& w) {
  for (const Table& t : ruleset.tables) {
    TableEdit edit;
    edit.table = t.name;
    edit.fill.reserve(t.chains.size());
    for (const Chain& c : t.chains) {
      edit.fill.push_back(&c);
    }
    for (const Hook& h : t.hooks) {
      edit.hook.push_back(&h);
    }
    RenderTableEditTo(edit, w);
  }
}

// Set members are written this many at a time (RenderIpsetRestoreTo).
constexpr size_t kMemberBatch = 64;

void RenderIpsetRestoreTo(const std::vector<IpSetSpec>& sets, Writer& w) {
  TextBuffer& out = w.buffer();
  for (const IpSetSpec& s : sets) {
    AppendPieces(&out, "create ", s.name, " ", s.type, " family ",
                 s.family == 4 ? "inet" : "inet6");
    if (s.size() > kIpsetDefaultMaxelem) {
      AppendPieces(&out, " maxelem ", IpsetCapacity(s.size()));
    }
    out.Append('\n');
    const LineHead head("add ", s.name);
    // Members a batch at a time: room for the batch's longest text made at once, then cut to
    // what it took. A member then costs its head, its text and its newline, where room made
    // and cut for each (the buffer reloaded after each call into IpNet) cost as much again:
    // 200,000 members on huge.
    const size_t line_room = std::max(head.size(), LineHead::kRoom) + IpNet::kMaxText + 1;
    for (size_t i = 0; i < s.members.size();) {
      const size_t n = std::min(kMemberBatch, s.members.size() - i);
      const size_t start = out.size();
      char* const base = out.Extend(n * line_room);
      char* to = base;
      for (const IpNet *m = s.members.data() + i, *last = m + n; m != last; ++m) {
        to = m->WriteMemberText(head.Put(to));
        *to++ = '\n';
      }
      out.Truncate(start + static_cast<size_t>(to - base));
      i += n;
      w.MaybeFlush();
    }
    for (const std::string& m : s.other) {
      AppendPieces(&out, head.view(), m, "\n");
      w.MaybeFlush();
    }
    w.MaybeFlush();
  }
}

// The note at the top of every script for an empty state (RenderFiles, `fiptgen` on stdout):
// how to load it, and that a live host is brought to the model's state with fiptgen-apply.
// Measured with iptables 1.8.9 (nft, legacy) and ipset 7.17: all three restore tools skip
// "#" lines; a plain iptables-restore flushes every chain of the tables it names, a second
// `--noflush` load inserts the hooks again, and `ipset restore` stops at a set that exists.
void AppendLoadNote(absl::string_view state, absl::string_view load, absl::string_view second_load,
                    TextBuffer* out) {
  AppendPieces(out, "# fiptgen: ", state, ":\n#   ", load, "\n# A second load ", second_load,
               ": fiptgen-apply brings a live host to the model's state.\n");
}

// The size of RenderRestore's text, exactly, so its string (with kOverrun) is allocated once:
// grown by doubling, an 8 MB script is copied on the way and its pages touched twice.
size_t RestoreSize(const Ruleset& ruleset) {
  size_t size = 0;
  for (const Table& t : ruleset.tables) {
    size += t.name.size() + 2 + 7;  // "*<table>\n", "COMMIT\n"
    for (const Hook& h : t.hooks) {
      size += h.builtin.size() + h.target.size() + 10;  // "-I <builtin> 1 -j <target>\n"
    }
    for (const Chain& c : t.chains) {
      // ":<chain> - [0:0]\n", then "-A <chain> " before each rule
      size += c.name().size() + 10 + c.body().size() + c.rule_count() * (c.name().size() + 4);
    }
  }
  return size;
}

// At least the size of RenderIpsetRestore's text (a member's text is made only as it is
// written: the longest of its family is counted), so its string (with kIpsetOverrun) is
// allocated once.
size_t IpsetRestoreSize(const std::vector<IpSetSpec>& sets) {
  constexpr size_t kLongestV4 = 18;  // 255.255.255.255/32
  size_t size = 0;
  for (const IpSetSpec& s : sets) {
    // "create <name> <type> family inet6 maxelem <n>\n"
    size += s.name.size() + s.type.size() + 48;
    const size_t head = s.name.size() + 5;  // "add <name> "
    size += s.members.size() * (head + (s.family == 4 ? kLongestV4 : IpNet::kMaxText) + 1);
    for (const std::string& m : s.other) {
      size += head + m.size() + 1;
    }
  }
  return size;
}

// The load notes' room (AppendLoadNote): fixed text of a few hundred bytes.
constexpr size_t kLoadNoteRoom = 512;

// What a writer into a string may ask past the text (up to 64 bytes in AppendChainRules) and
// TextBuffer's step of growth, so that reserving the text's size and this keeps the string
// in one allocation.
constexpr size_t kOverrun = 4096;
// The same for set members, whose batch asks for the longest text of each member at once:
// a line's head is at most "add ", a 31-byte set name and a space.
constexpr size_t kIpsetOverrun = kMemberBatch * (36 + IpNet::kMaxText + 1) + 2048;

// The scripts of RenderRestoreFile and RenderIpsetFile (render.h), into a sink or a string.
void RenderRestoreFileTo(const Ruleset& ruleset, Writer& w) {
  const absl::string_view tool = ruleset.family == 6 ? "ip6tables-restore" : "iptables-restore";
  AppendLoadNote(absl::StrCat("the model's full IPv", ruleset.family,
                              " state, for loading into a host with none of its chains"),
                 absl::StrCat(tool, " --noflush < FILE   (plain ", tool,
                              " would wipe the tables' other rules)"),
                 "doubles the hooks", &w.buffer());
  RenderRestoreTo(ruleset, w);
}

void RenderIpsetFileTo(const std::vector<IpSetSpec>& sets, Writer& w) {
  RenderIpsetRestoreTo(sets, w);
  // After the sets, not before: an ipset script begins with its first `create`, which is how
  // tools (and people reading `head`) tell it from an iptables script. Nothing in it can
  // harm a host: a second load fails at the first set that exists.
  AppendLoadNote("the model's ipsets above, for loading into a host with none of them",
                 "ipset restore < FILE", "fails (the sets exist)", &w.buffer());
}

}  // namespace

void RenderRestore(const Ruleset& ruleset, std::string* out) {
  out->reserve(out->size() + RestoreSize(ruleset) + kOverrun);
  Writer w(out);
  RenderRestoreTo(ruleset, w);
}

void RenderTableEdit(const TableEdit& edit, std::string* out) {
  Writer w(out);
  RenderTableEditTo(edit, w);
}

void RenderChainEdit(const ChainEdit& edit, std::string* out) {
  Writer w(out);
  AppendChainEdit(edit, &w.buffer());
}

void RenderIpsetRestore(const std::vector<IpSetSpec>& sets, std::string* out) {
  Writer w(out);
  RenderIpsetRestoreTo(sets, w);
}

void RenderRestoreFile(const Ruleset& ruleset, TextSink write) {
  Writer w(write);
  w.ReserveForPieces();
  RenderRestoreFileTo(ruleset, w);
}

void RenderIpsetFile(const std::vector<IpSetSpec>& sets, TextSink write) {
  if (sets.empty()) {
    return;
  }
  Writer w(write);
  w.ReserveForPieces();
  RenderIpsetFileTo(sets, w);
}

void RenderRestoreFile(const Ruleset& ruleset, std::string* out) {
  out->reserve(out->size() + RestoreSize(ruleset) + kLoadNoteRoom + kOverrun);
  Writer w(out);
  RenderRestoreFileTo(ruleset, w);
}

void RenderIpsetFile(const std::vector<IpSetSpec>& sets, std::string* out) {
  if (sets.empty()) {
    return;
  }
  out->reserve(out->size() + IpsetRestoreSize(sets) + kLoadNoteRoom + kIpsetOverrun);
  Writer w(out);
  RenderIpsetFileTo(sets, w);
}

RestoreFiles RenderFiles(const Desired& desired) {
  RestoreFiles files;
  RenderFiles(desired, &files);
  return files;
}

void RenderFiles(const Desired& desired, RestoreFiles* files) {
  for (std::string* text : {&files->ipsets, &files->iptables, &files->ip6tables}) {
    text->clear();
  }
  RenderIpsetFile(desired.ipsets, &files->ipsets);
  if (const Ruleset* rs = desired.ForFamily(4)) {
    RenderRestoreFile(*rs, &files->iptables);
  }
  if (const Ruleset* rs = desired.ForFamily(6)) {
    RenderRestoreFile(*rs, &files->ip6tables);
  }
}

}  // namespace fiptgen
