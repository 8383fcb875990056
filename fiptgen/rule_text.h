// Rule text: the one way words of iptables rules are written and read back, as
// `iptables-save` prints them and `iptables-restore` reads them.
//
// Writing: AppendQuotedArg quotes one argument.
//
//   std::string rule = "-j LOG --log-prefix";
//   AppendQuotedArg("db-denied: ", &rule);   // -j LOG --log-prefix "db-denied: "
//
// Reading: RuleTokenizer splits a rule (or any line of save or restore text) into words,
// honouring quotes, so a quoted comment or log prefix is one word whatever it contains.
// Each token gives its raw span in the text (to rewrite it in place) and the value
// iptables reads (to compare it). Nothing is allocated per token (a word with escapes is
// unescaped into one buffer the tokenizer reuses).
//
//   absl::string_view rule = R"(-m comment --comment "say \"hi\"" -j felix-x)";
//   RuleTokenizer words(rule);
//   for (RuleToken t; words.Next(&t);) {
//     // t.raw:   -m  comment  --comment  "say \"hi\""  -j  felix-x
//     // t.value: -m  comment  --comment  say "hi"      -j  felix-x
//     // rule.substr(t.offset(rule), t.raw.size()) == t.raw
//   }
//
// Lines: NextLine takes one line off a text, for every loop over the lines of restore and
// plan text. iptables-save and ipset save print a newline inside a quoted argument (a
// foreign comment) as it is, so such a rule spans lines: NextSaveLine takes one rule, the
// lines its open quote runs over included, for every loop over save text.
#ifndef FIPTGEN_RULE_TEXT_H_
#define FIPTGEN_RULE_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace fiptgen {

// The one quoting function for arguments in restore text, as iptables-save writes them:
// " " then the value, bare when made only of [A-Za-z0-9_-], else in double quotes with
// " \ ' escaped by a backslash. A newline, carriage return or NUL (which the loader refuses)
// is written as a space: nothing can end a rule early.
void AppendQuotedArg(absl::string_view value, std::string* out);
// The same text written at `out`, which has room for QuotedArgRoom(value) bytes; returns
// its end. For text built in place (a log rule's prefix, written for each log rule).
char* WriteQuotedArg(absl::string_view value, char* out);
inline size_t QuotedArgRoom(absl::string_view value) { return 2 * value.size() + 3; }

// One word of a rule.
struct RuleToken {
  // The word as written, quotes and escapes included: "say \"hi\"" (with its quotes).
  absl::string_view raw;
  // The word as iptables reads it: say "hi". Points into the text, or into the tokenizer
  // when the word had escapes (then valid until the tokenizer's next call).
  absl::string_view value;
  // Where `raw` starts in `text`, the text the tokenizer was given.
  size_t offset(absl::string_view text) const {
    return static_cast<size_t>(raw.data() - text.data());
  }
};

// Splits text into words the way iptables-restore does: words are separated by spaces,
// tabs or newlines; a double quote opens a quoted part, in which those are ordinary
// characters and a backslash takes the next character literally (\" \\ \'); the closing
// quote ends the word. Outside quotes a backslash is an ordinary character. Quoting as
// iptables-save writes it (AppendQuotedArg) reads back to the value written.
class RuleTokenizer {
 public:
  explicit RuleTokenizer(absl::string_view text);
  RuleTokenizer(const RuleTokenizer&) = delete;
  RuleTokenizer& operator=(const RuleTokenizer&) = delete;

  // Reads the next word into *token; false when only whitespace is left.
  bool Next(RuleToken* token);

  // The text after the last word read, without the whitespace that follows it: after
  // reading "-A" and "felix-x" from "-A felix-x -j DROP", rest() is "-j DROP".
  absl::string_view rest() const {
    return absl::string_view(text_.data() + pos_, text_.size() - pos_);
  }

  // True when the last word read ran to the end of the text inside quotes: the text is cut
  // short (its closing quote, perhaps on a following line, is missing).
  bool unterminated() const { return unterminated_; }

 private:
  bool NextQuoted(const char* start, const char* quote, RuleToken* token);

  absl::string_view text_;
  size_t pos_;  // after the last word read (or the start) and the spaces that follow
  bool unterminated_ = false;
  std::string unescaped_;  // the value of the last word, when it had escapes
};

// Takes the first line off *text and returns it without its '\n'; a last line without one
// is a line too. Call while !text->empty().
inline absl::string_view NextLine(absl::string_view* text) {
  const size_t end = text->find('\n');
  absl::string_view line = text->substr(0, end);
  text->remove_prefix(end == absl::string_view::npos ? text->size() : end + 1);
  return line;
}

// Takes the first line of save text off *text, like NextLine, and with it the lines that
// follow while a quoted argument is left open: a quoted newline is part of the rule. The
// result keeps those newlines. A quote never closed runs to the end of the text.
//
//   "-A INPUT -m comment --comment \"x\n-A INPUT -j felix-INPUT\" -j ACCEPT\n-A INPUT ..."
//   NextSaveLine -> "-A INPUT -m comment --comment \"x\n-A INPUT -j felix-INPUT\" -j ACCEPT"
absl::string_view NextSaveLine(absl::string_view* text);

}  // namespace fiptgen

#endif  // FIPTGEN_RULE_TEXT_H_
