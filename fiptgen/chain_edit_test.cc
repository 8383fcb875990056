#include "fiptgen/chain_edit.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fiptgen/render.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

constexpr absl::string_view kChain = "felix-c";

// A rule of the replayed chain, and whether the edit put it there.
struct Replayed {
  std::string rule;
  bool added = false;
};

// Replays restore lines ("-D felix-c 2", "-I felix-c 2 <rule>", "-R …", "-A felix-c <rule>")
// against `rules` the way iptables does: one line after the other, each position counted in
// the chain as the lines before left it. Fails the test on a position iptables would refuse,
// and on a -D or -R of a rule the edit itself added (iptables-nft-restore 1.8.9 crashes on
// -R of such a rule). Returns the rules it ends with.
std::vector<std::string> Replay(const std::vector<std::string>& rules, absl::string_view text,
                                const std::string& what) {
  std::vector<Replayed> chain;
  for (const std::string& r : rules) {
    chain.push_back({r, false});
  }
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> words = absl::StrSplit(line, absl::MaxSplits(' ', 2));
    EXPECT_GE(words.size(), 2u) << what << ": " << line;
    EXPECT_EQ(words[1], kChain) << what << ": " << line;
    const absl::string_view verb = words[0];
    if (verb == "-A") {
      chain.push_back({std::string(words.size() > 2 ? words[2] : ""), true});
      continue;
    }
    std::vector<absl::string_view> rest = absl::StrSplit(words[2], absl::MaxSplits(' ', 1));
    size_t n = 0;
    EXPECT_TRUE(absl::SimpleAtoi(rest[0], &n)) << what << ": " << line;
    const size_t limit = verb == "-I" ? chain.size() + 1 : chain.size();
    if (n < 1 || n > limit) {
      ADD_FAILURE() << what << ": position out of range in a chain of " << chain.size() << ": "
                    << line;
      return {};
    }
    if (verb == "-D") {
      EXPECT_FALSE(chain[n - 1].added) << what << ": deletes a rule it added: " << line;
      chain.erase(chain.begin() + (n - 1));
    } else if (verb == "-I") {
      chain.insert(chain.begin() + (n - 1), {std::string(rest.size() > 1 ? rest[1] : ""), true});
    } else if (verb == "-R") {
      EXPECT_FALSE(chain[n - 1].added) << what << ": replaces a rule it added: " << line;
      chain[n - 1] = {std::string(rest.size() > 1 ? rest[1] : ""), true};
    } else {
      ADD_FAILURE() << what << ": unexpected line " << line;
    }
  }
  std::vector<std::string> out;
  for (const Replayed& r : chain) {
    out.push_back(r.rule);
  }
  return out;
}

// The length of a longest common subsequence, by the textbook table: the independent
// measure of how few steps an edit can take (deletions plus insertions = n + m - 2 * LCS).
size_t Lcs(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<size_t>> t(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      t[i][j] = a[i - 1] == b[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
    }
  }
  return t[a.size()][b.size()];
}

std::vector<absl::string_view> Views(const std::vector<std::string>& rules) {
  return std::vector<absl::string_view>(rules.begin(), rules.end());
}

std::string Text(const std::vector<RuleEdit>& steps) {
  std::string out;
  RenderChainEdit(ChainEdit{kChain, steps}, &out);
  return out;
}

// Checks that the diff of `have` into `want` replays to `want` and is as short as can be.
// Returns its text.
std::string CheckDiff(const std::vector<std::string>& have, const std::vector<std::string>& want,
                      const std::string& what) {
  std::optional<std::vector<RuleEdit>> steps = DiffRules(Views(have), Views(want));
  if (!steps.has_value()) {
    ADD_FAILURE() << what << ": no diff";
    return "";
  }
  const std::string text = Text(*steps);
  EXPECT_EQ(Replay(have, text, what), want) << what << ":\n" << text;
  size_t changed = 0;  // deletions plus insertions
  for (const RuleEdit& s : *steps) {
    changed += s.kind == RuleEdit::Kind::kReplace ? 2 : 1;
  }
  EXPECT_EQ(changed, have.size() + want.size() - 2 * Lcs(have, want)) << what << ":\n" << text;
  return text;
}

TEST(DiffRulesTest, Cases) {
  // Rules as a profile chain has them: a mark, then the return on the mark, repeated.
  const std::string m1 = "-p tcp -m multiport --dports 80 -j MARK --set-xmark 0x1/0x1";
  const std::string m2 = "-p tcp -m multiport --dports 443 -j MARK --set-xmark 0x1/0x1";
  const std::string m3 = "-p udp -m multiport --dports 53 -j MARK --set-xmark 0x1/0x1";
  const std::string ret = "-m mark --mark 0x1/0x1 -j RETURN";
  struct Case {
    const char* what;
    std::vector<std::string> have, want;
    const char* text;
  };
  const Case cases[] = {
      {"equal", {"a", "b", "c"}, {"a", "b", "c"}, ""},
      {"both empty", {}, {}, ""},
      {"insert at the head", {"b", "c"}, {"a", "b", "c"}, "-I felix-c 1 a\n"},
      {"insert in the middle", {"a", "c"}, {"a", "b", "c"}, "-I felix-c 2 b\n"},
      {"append at the tail", {"a", "b"}, {"a", "b", "c"}, "-A felix-c c\n"},
      {"delete the head", {"a", "b", "c"}, {"b", "c"}, "-D felix-c 1\n"},
      {"delete the tail", {"a", "b", "c"}, {"a", "b"}, "-D felix-c 3\n"},
      {"replace one", {"a", "b", "c"}, {"a", "x", "c"}, "-R felix-c 2 x\n"},
      {"replace one, insert two after it",
       {"a", "b", "c"},
       {"a", "x", "y", "z", "c"},
       "-R felix-c 2 x\n-I felix-c 3 y\n-I felix-c 4 z\n"},
      {"replace one, delete two after it",
       {"a", "b", "c", "d", "e"},
       {"a", "x", "e"},
       "-R felix-c 2 x\n-D felix-c 3\n-D felix-c 3\n"},
      {"move down", {"a", "b", "c", "d"}, {"a", "c", "d", "b"}, "-D felix-c 2\n-A felix-c b\n"},
      {"move up", {"a", "b", "c", "d"}, {"d", "a", "b", "c"}, "-I felix-c 1 d\n-D felix-c 5\n"},
      {"swap neighbours", {"a", "b", "c", "d"}, {"a", "c", "b", "d"}, nullptr},
      {"empty to full", {}, {"a", "b", "c"}, "-A felix-c a\n-A felix-c b\n-A felix-c c\n"},
      {"full to empty", {"a", "b", "c"}, {}, "-D felix-c 1\n-D felix-c 1\n-D felix-c 1\n"},
      {"all different",
       {"a", "b"},
       {"c", "d", "e"},
       "-R felix-c 1 c\n-R felix-c 2 d\n-A felix-c e\n"},
      {"changes at both ends",
       {"a", "b", "c", "d"},
       {"x", "b", "c", "y"},
       "-R felix-c 1 x\n-R felix-c 4 y\n"},
      {"scattered", {"a", "b", "c", "d", "e", "f"}, {"b", "a", "c", "e", "d", "f", "g"}, nullptr},
      {"duplicates: a rule added between repeated ones",
       {m1, ret, m2, ret, "-j DROP"},
       {m1, ret, m3, ret, m2, ret, "-j DROP"},
       nullptr},
      {"duplicates: the middle pair removed",
       {m1, ret, m3, ret, m2, ret},
       {m1, ret, m2, ret},
       nullptr},
      // A pair moved up and one deleted: each RETURN stays with its MARK rule, so the
      // counters kept are the right ones (tools/counters_kernel_test.sh, on a kernel).
      {"duplicates: a rule and its RETURN go together",
       {"a1", "r", "d2", "a3", "r", "a5", "r", "a6", "r"},
       {"a10", "r", "a1", "r", "a6", "r", "a3", "r", "a5", "r"},
       "-I felix-c 1 a10\n-I felix-c 2 r\n-R felix-c 5 a6\n-I felix-c 6 r\n-D felix-c 11\n"
       "-D felix-c 11\n"},
      {"duplicates: the last pair removed",
       {"a", "r", "b", "r"},
       {"a", "r"},
       "-D felix-c 3\n-D felix-c 3\n"},
      {"duplicates: a pair removed before the last",
       {"a", "r", "b", "r", "c", "r"},
       {"a", "r", "c", "r"},
       "-D felix-c 3\n-D felix-c 3\n"},
      {"duplicates: a replacement next to a repeated rule stays one line",
       {"a", "x", "r"},
       {"a", "r", "r"},
       "-R felix-c 2 r\n"},
      {"duplicates: only repeated rules", {"r", "r", "r"}, {"r", "x", "r"}, "-R felix-c 2 x\n"},
      {"duplicates: one more", {"r", "r"}, {"r", "r", "r"}, "-A felix-c r\n"},
  };
  for (const Case& c : cases) {
    std::string text = CheckDiff(c.have, c.want, c.what);
    if (c.text != nullptr) {
      EXPECT_EQ(text, c.text) << c.what;
    }
  }
}

// Random chains over a few distinct rules (so with many duplicates), from a fixed seed.
TEST(DiffRulesTest, RandomChainsReplayToTheWantedOnesInFewestSteps) {
  std::mt19937 random(13);
  auto chain = [&random](int alphabet) {
    std::vector<std::string> rules(random() % 16);
    for (std::string& r : rules) {
      r = absl::StrCat("-j r", random() % alphabet);
    }
    return rules;
  };
  for (int i = 0; i < 3000; ++i) {
    const int alphabet = 1 + i % 6;
    std::vector<std::string> have = chain(alphabet);
    std::vector<std::string> want = i % 3 == 0 ? have : chain(alphabet);
    if (i % 3 == 0 && !want.empty()) {  // a small change of `have`, the common case
      want.erase(want.begin() + random() % want.size());
      want.insert(want.begin() + random() % (want.size() + 1), absl::StrCat("-j r", i % 7));
    }
    CheckDiff(have, want,
              absl::StrCat("case ", i, ": [", absl::StrJoin(have, ", "), "] -> [",
                           absl::StrJoin(want, ", "), "]"));
  }
}

TEST(DiffRulesTest, GivesUpPastMaxSteps) {
  const std::vector<std::string> have = {"a", "b", "c", "d"};
  const std::vector<std::string> want = {"a", "x", "c", "y", "z"};  // 2 deleted, 3 inserted
  EXPECT_FALSE(DiffRules(Views(have), Views(want), 4).has_value());
  EXPECT_TRUE(DiffRules(Views(have), Views(want), 5).has_value());
  // A length difference alone past the limit gives up before any search.
  EXPECT_FALSE(DiffRules({}, Views(have), 3).has_value());
}

// Chains far longer than any the generator makes: a scattered change costs a diff of a few
// steps, and a chain that changed all through gives up at kMaxDiffSteps (it is refilled)
// instead of searching a diff of every rule.
TEST(DiffRulesTest, HugeChains) {
  std::vector<std::string> have;
  for (int i = 0; i < 100000; ++i) {
    have.push_back(absl::StrCat("-s 10.", i / 256 % 256, ".", i % 256, ".0/24 -j RETURN"));
  }
  std::vector<std::string> want = have;
  want.erase(want.begin() + 70000);
  want.insert(want.begin() + 30000, "-j DROP");
  EXPECT_EQ(Text(*DiffRules(Views(have), Views(want))),
            "-I felix-c 30001 -j DROP\n-D felix-c 70002\n");

  std::vector<std::string> other;
  for (const std::string& r : have) {
    other.push_back(absl::StrCat(r, " -m comment --comment x"));
  }
  EXPECT_FALSE(DiffRules(Views(have), Views(other)).has_value());
}

Chain MakeChain(absl::string_view name, const std::vector<std::string>& rules) {
  Chain c{std::string(name)};
  for (const std::string& r : rules) {
    c.AddRule(r);
  }
  return c;
}

TEST(RefillSizeTest, IsTheSizeOfTheDeclarationAndAppends) {
  for (const std::vector<std::string>& rules : std::vector<std::vector<std::string>>{
           {}, {"-j DROP"}, {"-m comment --comment \"x y\" -j RETURN", "-j ACCEPT"}}) {
    const Chain c = MakeChain("felix-p-web-i", rules);
    TableEdit fill;
    fill.table = "filter";
    fill.fill = {&c};
    std::string text;
    RenderTableEdit(fill, &text);
    EXPECT_EQ(RefillSize(c), text.size() - std::string("*filter\nCOMMIT\n").size())
        << absl::StrJoin(rules, "; ");
  }
}

TEST(EditChainTest, EditsWhenSmallerThanARefill) {
  const std::vector<std::string> rules = {
      "-p tcp -m multiport --dports 80 -j MARK --set-xmark 0x1000000/0x1000000",
      "-m mark --mark 0x1000000/0x1000000 -j RETURN",
      "-p tcp -m multiport --dports 443 -j MARK --set-xmark 0x1000000/0x1000000",
      "-m mark --mark 0x1000000/0x1000000 -j RETURN",
      "-m set --match-set felix-blocklist src -j DROP",
  };
  const Chain have = MakeChain("felix-p-web-i", rules);
  EXPECT_FALSE(EditChain(have, have).has_value()) << "equal chains need no edit";

  std::vector<std::string> moved = rules;  // the DROP first: one inserted, one deleted
  std::rotate(moved.rbegin(), moved.rbegin() + 1, moved.rend());
  const Chain want = MakeChain("felix-p-web-i", moved);
  std::optional<ChainEdit> edit = EditChain(have, want);
  ASSERT_TRUE(edit.has_value());
  EXPECT_EQ(edit->chain, "felix-p-web-i");
  std::string text;
  RenderChainEdit(*edit, &text);
  EXPECT_EQ(text,
            "-I felix-p-web-i 1 -m set --match-set felix-blocklist src -j DROP\n"
            "-D felix-p-web-i 6\n");

  // Nothing in common: the edit would be as long as a refill and then some.
  const Chain other = MakeChain("felix-p-web-i", {"-j ACCEPT", "-j DROP"});
  EXPECT_FALSE(EditChain(have, other).has_value());
  // Emptied: five deletions are longer than one declaration.
  EXPECT_FALSE(EditChain(have, MakeChain("felix-p-web-i", {})).has_value());
  // A rule that spans lines: counting by lines would put every later position off by one.
  Chain spanning("felix-p-web-i");
  std::string body = have.body();
  body.insert(body.find("felix-blocklist"), "\n");
  spanning.SetBody(body, have.rule_count());
  EXPECT_FALSE(EditChain(spanning, want).has_value());
  // One rule of one, changed: a replacement beats a declaration and an append.
  edit = EditChain(MakeChain("felix-x", {"-j DROP"}), MakeChain("felix-x", {"-j ACCEPT"}));
  ASSERT_TRUE(edit.has_value());
  text.clear();
  RenderChainEdit(*edit, &text);
  EXPECT_EQ(text, "-R felix-x 1 -j ACCEPT\n");
}

}  // namespace
}  // namespace fiptgen
