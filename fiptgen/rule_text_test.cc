#include "fiptgen/rule_text.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

TEST(AppendQuotedArgTest, AsIptablesSaveWritesIt) {
  // What iptables-nft-save 1.8.9 printed for `-m comment --comment <value>`.
  struct Case {
    const char* value;
    const char* want;
  } cases[] = {
      {"web", " web"},
      {"calico-packet_1", " calico-packet_1"},
      {"-", " -"},
      {"", " \"\""},
      {"a b", " \"a b\""},
      {"x.y", " \"x.y\""},
      {"q\"x", " \"q\\\"x\""},
      {"bs\\x", " \"bs\\\\x\""},
      {"ap'x", " \"ap\\'x\""},
      {"tab\tx", " \"tab\tx\""},
      // Not what iptables-save does (it would print the newline): nothing we write may end
      // a rule early.
      {"nl\nx", " \"nl x\""},
      {"cr\rx", " \"cr x\""},
  };
  for (const Case& c : cases) {
    std::string out;
    AppendQuotedArg(c.value, &out);
    EXPECT_EQ(out, c.want) << "value \"" << c.value << "\"";
  }
}

// The tokens of `text` as "raw=value" strings, and "(unterminated)" when the last one was.
std::vector<std::string> Tokens(absl::string_view text) {
  std::vector<std::string> out;
  RuleTokenizer words(text);
  for (RuleToken t; words.Next(&t);) {
    EXPECT_EQ(text.substr(t.offset(text), t.raw.size()), t.raw) << text;
    out.push_back(absl::StrCat(t.raw, "=", t.value));
    if (words.unterminated()) {
      out.push_back("(unterminated)");
    }
  }
  return out;
}

TEST(RuleTokenizerTest, SplitsAsIptablesRestoreReads) {
  struct Case {
    const char* text;
    std::vector<std::string> tokens;
  } cases[] = {
      {"", {}},
      {"   ", {}},
      {"-j DROP", {"-j=-j", "DROP=DROP"}},
      {"  -j   DROP  ", {"-j=-j", "DROP=DROP"}},
      {"-p\ttcp\n-j x", {"-p=-p", "tcp=tcp", "-j=-j", "x=x"}},
      {"--comment \"a b\" -j DROP", {"--comment=--comment", "\"a b\"=a b", "-j=-j", "DROP=DROP"}},
      {"--comment \"\"", {"--comment=--comment", "\"\"="}},
      {"--comment \"q\\\"x\"", {"--comment=--comment", "\"q\\\"x\"=q\"x"}},
      {"--comment \"bs\\\\x\"", {"--comment=--comment", "\"bs\\\\x\"=bs\\x"}},
      {"--comment \"ap\\'x\"", {"--comment=--comment", "\"ap\\'x\"=ap'x"}},
      {"\"x --match-set felix-v4-web y\"",
       {"\"x --match-set felix-v4-web y\"=x --match-set felix-v4-web y"}},
      // A newline inside quotes is part of the word (iptables-save prints a comment's
      // newline as it is).
      {"--comment \"nl\nx\" -j A", {"--comment=--comment", "\"nl\nx\"=nl\nx", "-j=-j", "A=A"}},
      // Outside quotes a backslash is an ordinary character.
      {"a\\b", {"a\\b=a\\b"}},
      // A quote may open inside a word; the closing quote ends the word.
      {"ab\"c d\"e", {"ab\"c d\"=abc d", "e=e"}},
      {"\"a\"\"b\"", {"\"a\"=a", "\"b\"=b"}},
      // Cut short: the word runs to the end.
      {"--comment \"a b", {"--comment=--comment", "\"a b=a b", "(unterminated)"}},
      {"\"a\\", {"\"a\\=a", "(unterminated)"}},
      {"\"a\\\"", {"\"a\\\"=a\"", "(unterminated)"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Tokens(c.text), c.tokens) << "text: " << absl::CEscape(c.text);
  }
}

TEST(RuleTokenizerTest, FindsTheEndOfLongWords) {
  // Words are scanned many bytes at a time: every length, and every separator at every
  // position of a block, must end the word where it is.
  for (size_t length = 1; length <= 40; ++length) {
    for (const char* after : {" x", "\tx", "\nx", "\"q r\" x", "", " "}) {
      const std::string word(length, 'w');
      const std::string text = absl::StrCat(word, after, "                ");
      RuleTokenizer words(text);
      RuleToken t;
      ASSERT_TRUE(words.Next(&t)) << absl::CEscape(text);
      const bool quoted = after[0] == '"';
      EXPECT_EQ(t.raw, quoted ? absl::StrCat(word, "\"q r\"") : word) << absl::CEscape(text);
      EXPECT_EQ(t.value, quoted ? absl::StrCat(word, "q r") : word) << absl::CEscape(text);
    }
  }
}

TEST(RuleTokenizerTest, ReadsBackWhatAppendQuotedArgWrites) {
  const char* values[] = {"web",     "",       "a b",      "q\"x",     "bs\\x", "ap'x",
                          "\\\"'\"", "x.y z ", "--a -j b", "calico: ", "\t"};
  for (const char* value : values) {
    std::string rule = "-m comment --comment";
    AppendQuotedArg(value, &rule);
    rule.append(" -j DROP");
    RuleTokenizer words(rule);
    RuleToken t;
    ASSERT_TRUE(words.Next(&t) && words.Next(&t) && words.Next(&t)) << rule;
    ASSERT_TRUE(words.Next(&t)) << rule;
    EXPECT_EQ(t.value, value) << rule;
    EXPECT_FALSE(words.unterminated()) << rule;
    EXPECT_EQ(words.rest(), "-j DROP") << rule;
  }
}

TEST(RuleTokenizerTest, RestIsWhatFollowsTheLastWord) {
  struct Case {
    const char* text;
    int words;  // read this many first
    const char* rest;
  } cases[] = {
      {"-A felix-x -j DROP", 0, "-A felix-x -j DROP"},
      {"  -A felix-x", 0, "-A felix-x"},
      {"-A felix-x -j DROP", 2, "-j DROP"},
      {"-A felix-x   -j DROP", 2, "-j DROP"},
      {"-A felix-x", 2, ""},
      {"-A \"a b\" c", 2, "c"},
  };
  for (const Case& c : cases) {
    RuleTokenizer words(c.text);
    RuleToken t;
    for (int i = 0; i < c.words; ++i) {
      ASSERT_TRUE(words.Next(&t)) << c.text;
    }
    EXPECT_EQ(words.rest(), c.rest) << c.text << " after " << c.words << " words";
  }
}

TEST(RuleTokenizerTest, ATokenRewrittenInPlace) {
  // How a caller renames one word: copy up to its raw span, write the new word, go on.
  const std::string rule = "-m set --match-set felix-a src -m comment --comment \"felix-a\"";
  std::string out;
  size_t copied = 0;
  bool set_next = false;
  RuleTokenizer words(rule);
  for (RuleToken t; words.Next(&t);) {
    if (set_next && t.value == "felix-a") {
      out.append(rule, copied, t.offset(rule) - copied);
      out.append("felix-b");
      copied = t.offset(rule) + t.raw.size();
    }
    set_next = t.value == "--match-set";
  }
  out.append(rule, copied, std::string::npos);
  EXPECT_EQ(out, "-m set --match-set felix-b src -m comment --comment \"felix-a\"");
}

TEST(NextLineTest, Lines) {
  struct Case {
    const char* text;
    std::vector<std::string> lines;
  } cases[] = {
      {"a\nb\n", {"a", "b"}},
      {"a\nb", {"a", "b"}},
      {"\n\nx\n", {"", "", "x"}},
      {"one", {"one"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> lines;
    for (absl::string_view text = c.text; !text.empty();) {
      lines.emplace_back(NextLine(&text));
    }
    EXPECT_EQ(lines, c.lines) << "text: " << absl::CEscape(c.text);
  }
}

TEST(NextSaveLineTest, QuotedNewlinesStayInTheRule) {
  struct Case {
    const char* text;
    std::vector<std::string> lines;
  } cases[] = {
      {"a\nb\n", {"a", "b"}},
      {"-A X -m comment --comment \"ok\" -j ACCEPT\n-A X\n",
       {"-A X -m comment --comment \"ok\" -j ACCEPT", "-A X"}},
      // What iptables-save prints for a comment holding newlines.
      {"-A INPUT -m comment --comment \"x\n-A INPUT -j felix-INPUT\n-A INPUT y\" -j ACCEPT\n"
       "COMMIT\n",
       {"-A INPUT -m comment --comment \"x\n-A INPUT -j felix-INPUT\n-A INPUT y\" -j ACCEPT",
        "COMMIT"}},
      // An escaped quote does not close; one left open runs to the end.
      {"-A X --comment \"a \\\"\nb\"\nc\n", {"-A X --comment \"a \\\"\nb\"", "c"}},
      {"-A X --comment \"a\nb\nc", {"-A X --comment \"a\nb\nc"}},
      // ipset save, for a member's comment.
      {"add foo 1.2.3.4 comment \"a\nadd x y\"\nadd foo 5.6.7.8\n",
       {"add foo 1.2.3.4 comment \"a\nadd x y\"", "add foo 5.6.7.8"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> lines;
    for (absl::string_view text = c.text; !text.empty();) {
      lines.emplace_back(NextSaveLine(&text));
    }
    EXPECT_EQ(lines, c.lines) << "text: " << absl::CEscape(c.text);
  }
}

}  // namespace
}  // namespace fiptgen
