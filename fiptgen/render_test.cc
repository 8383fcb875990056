#include "fiptgen/render.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fiptgen/net.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

Chain MakeChain(const char* name, std::vector<const char*> rules) {
  Chain c(name);
  for (const char* rule : rules) {
    c.AddRule(rule);
  }
  return c;
}

TEST(RenderTableEditTest, EachPartInTheOrderIptablesRestoreNeeds) {
  const Chain a = MakeChain("felix-A", {"-j DROP", "-m comment --comment \"x y\" -j RETURN"});
  const Chain empty = MakeChain("felix-E", {});
  const Hook in{"INPUT", "felix-A"};
  const Hook out{"OUTPUT", "felix-OLD"};
  const ChainEdit edited{"felix-B",
                         {{RuleEdit::Kind::kDelete, 2, {}},
                          {RuleEdit::Kind::kInsert, 2, "-j felix-A"},
                          {RuleEdit::Kind::kReplace, 3, "-m comment --comment \"x y\" -j RETURN"},
                          {RuleEdit::Kind::kAppend, 0, "-j DROP"}}};
  struct Case {
    const char* what;
    TableEdit edit;
    const char* want;
  };
  const Case cases[] = {
      {"nothing", {"filter", {}, {}, {}, {}, {}, {}, {}}, "*filter\nCOMMIT\n"},
      {"a filled chain",
       {"filter", {&a}, {}, {}, {}, {}, {}, {}},
       "*filter\n:felix-A - [0:0]\n-A felix-A -j DROP\n"
       "-A felix-A -m comment --comment \"x y\" -j RETURN\nCOMMIT\n"},
      {"a filled chain without rules",
       {"raw", {&empty}, {}, {}, {}, {}, {}, {}},
       "*raw\n:felix-E - [0:0]\nCOMMIT\n"},
      {"a flushed chain",
       {"filter", {}, {"felix-F"}, {}, {}, {}, {}, {}},
       "*filter\n:felix-F - [0:0]\nCOMMIT\n"},
      {"a hook deleted",
       {"filter", {}, {}, {&out}, {}, {}, {}, {}},
       "*filter\n-D OUTPUT -j felix-OLD\nCOMMIT\n"},
      {"a hook inserted",
       {"filter", {}, {}, {}, {&in}, {}, {}, {}},
       "*filter\n-I INPUT 1 -j felix-A\nCOMMIT\n"},
      {"a chain deleted",
       {"filter", {}, {}, {}, {}, {"felix-X"}, {}, {}},
       "*filter\n-X felix-X\nCOMMIT\n"},
      {"a chain edited rule by rule",
       {"filter", {}, {}, {}, {}, {}, {edited}, {}},
       "*filter\n-D felix-B 2\n-I felix-B 2 -j felix-A\n-R felix-B 3 -m comment --comment "
       "\"x y\" -j RETURN\n-A felix-B -j DROP\nCOMMIT\n"},
      {"a hook appended",
       {"filter", {}, {}, {}, {}, {}, {}, {&in}},
       "*filter\n-A INPUT -j felix-A\nCOMMIT\n"},
      {"everything",
       {"filter", {&a}, {"felix-X"}, {&out}, {&in}, {"felix-X"}, {edited}, {}},
       "*filter\n:felix-A - [0:0]\n:felix-X - [0:0]\n-D OUTPUT -j felix-OLD\n"
       "-I INPUT 1 -j felix-A\n-A felix-A -j DROP\n"
       "-A felix-A -m comment --comment \"x y\" -j RETURN\n-D felix-B 2\n"
       "-I felix-B 2 -j felix-A\n-R felix-B 3 -m comment --comment \"x y\" -j RETURN\n"
       "-A felix-B -j DROP\n-X felix-X\nCOMMIT\n"},
  };
  for (const Case& c : cases) {
    std::string out = "before\n";
    RenderTableEdit(c.edit, &out);
    EXPECT_EQ(out, absl::StrCat("before\n", c.want)) << c.what;
  }
}

// The rules are copied sixteen bytes at a time with each head written as 32 (render.cc):
// every rule length around those widths, every name length up to past iptables' 28 bytes
// (which takes the other path), each against the text put together line by line.
TEST(RenderTableEditTest, EveryRuleAndNameLengthAroundTheCopyWidths) {
  for (size_t name_size : {1, 11, 12, 27, 28, 29, 30, 40}) {
    const std::string name(name_size, 'n');
    for (size_t first = 1; first <= 50; ++first) {
      Chain c(name);
      std::string want = absl::StrCat("*filter\n:", name, " - [0:0]\n");
      // Lengths first, first + 7, ...: each rule ends at another place in a 16-byte block.
      for (size_t i = 0; i < 6; ++i) {
        const std::string rule(first + 7 * i, static_cast<char>('a' + i));
        c.AddRule(rule);
        absl::StrAppend(&want, "-A ", name, " ", rule, "\n");
      }
      absl::StrAppend(&want, "COMMIT\n");
      std::string got;
      RenderTableEdit({"filter", {&c}, {}, {}, {}, {}, {}, {}}, &got);
      ASSERT_EQ(got, want) << "name of " << name_size << " bytes, first rule of " << first;
    }
  }
}

// The copy stops at rule_count() lines; a count that does not match the body (a Chain
// given SetBody with a wrong count) still renders each line once, with its head, and no
// head without a line. Bodies short and long, so that both the 32-byte loop and the tail
// end the lines.
TEST(RenderTableEditTest, EveryLineOnceWhateverTheRuleCount) {
  for (size_t rule_size : {5, 40}) {
    std::string body, want = "*filter\n:c - [0:0]\n";
    for (int i = 0; i < 4; ++i) {
      const std::string rule(rule_size, static_cast<char>('a' + i));
      absl::StrAppend(&body, rule, "\n");
      absl::StrAppend(&want, "-A c ", rule, "\n");
    }
    absl::StrAppend(&want, "COMMIT\n");
    for (size_t count : {1, 2, 3, 4, 5, 9}) {
      Chain c("c");
      c.SetBody(body, count);
      std::string got;
      RenderTableEdit({"filter", {&c}, {}, {}, {}, {}, {}, {}}, &got);
      ASSERT_EQ(got, want) << "rules of " << rule_size << " bytes, count " << count;
    }
  }
}

TEST(RenderRestoreTest, TablesInOrderEveryChainDeclaredBeforeAnyRule) {
  Ruleset rs;
  rs.tables.push_back(Table{"raw", {{"PREROUTING", "felix-PREROUTING"}}, {}});
  rs.tables[0].chains.push_back(MakeChain("felix-PREROUTING", {"-j felix-B"}));
  rs.tables[0].chains.push_back(MakeChain("felix-B", {"-j RETURN"}));
  rs.tables.push_back(Table{"filter", {{"INPUT", "felix-INPUT"}, {"FORWARD", "felix-FWD"}}, {}});
  rs.tables[1].chains.push_back(MakeChain("felix-INPUT", {"-j ACCEPT"}));
  std::string out;
  RenderRestore(rs, &out);
  EXPECT_EQ(out,
            "*raw\n:felix-PREROUTING - [0:0]\n:felix-B - [0:0]\n"
            "-I PREROUTING 1 -j felix-PREROUTING\n"
            "-A felix-PREROUTING -j felix-B\n-A felix-B -j RETURN\nCOMMIT\n"
            "*filter\n:felix-INPUT - [0:0]\n-I INPUT 1 -j felix-INPUT\n"
            "-I FORWARD 1 -j felix-FWD\n-A felix-INPUT -j ACCEPT\nCOMMIT\n");
}

// The nets of `texts` in `family`, in the order listed.
std::vector<IpNet> Nets(int family, const std::vector<std::string>& texts) {
  std::vector<IpNet> nets;
  for (const std::string& t : texts) {
    nets.push_back(*ParseIpNet(t, family));
  }
  return nets;
}

TEST(RenderIpsetRestoreTest, CreateThenAddEachSet) {
  std::vector<std::string> many;
  for (int i = 0; i < 65537; ++i) {
    many.push_back(absl::StrCat("10.", i / 65536, ".", i / 256 % 256, ".", i % 256));
  }
  struct Case {
    const char* what;
    std::vector<IpSetSpec> sets;
    const char* want_head;  // the text's first lines
  };
  const Case cases[] = {
      {"no sets", {}, ""},
      {"a v4 set",
       {{"felix-v4-web", "hash:ip", 4, Nets(4, {"198.18.1.1", "198.18.1.2/32"}), {}}},
       "create felix-v4-web hash:ip family inet\nadd felix-v4-web 198.18.1.1\n"
       "add felix-v4-web 198.18.1.2\n"},
      {"a v6 set and an empty one",
       {{"felix-v6-web", "hash:net", 6, Nets(6, {"fd5a::/64", "fd5a:1::1/128"}), {}},
        {"felix-e", "hash:net", 4, {}, {}}},
       "create felix-v6-web hash:net family inet6\nadd felix-v6-web fd5a::/64\n"
       "add felix-v6-web fd5a:1::1\ncreate felix-e hash:net family inet\n"},
      {"what is not an address, verbatim after the addresses",
       {{"felix-v4-n", "hash:net", 4, Nets(4, {"198.18.0.0/16"}), {"10.0.0.0/8 nomatch"}}},
       "create felix-v4-n hash:net family inet\nadd felix-v4-n 198.18.0.0/16\n"
       "add felix-v4-n 10.0.0.0/8 nomatch\n"},
      {"a name of ipset's longest, 31 bytes: a head longer than 32",
       {{"felix-0123456789012345678901234",
         "hash:ip",
         4,
         Nets(4, {"198.18.1.1", "198.18.1.2"}),
         {}}},
       "create felix-0123456789012345678901234 hash:ip family inet\n"
       "add felix-0123456789012345678901234 198.18.1.1\n"
       "add felix-0123456789012345678901234 198.18.1.2\n"},
      {"more members than ipset's default maxelem",
       {{"felix-big", "hash:ip", 4, Nets(4, many), {}}},
       "create felix-big hash:ip family inet maxelem 131072\nadd felix-big 10.0.0.0\n"},
  };
  for (const Case& c : cases) {
    std::string out;
    RenderIpsetRestore(c.sets, &out);
    EXPECT_EQ(out.substr(0, std::string(c.want_head).size()), c.want_head) << c.what;
    size_t lines = 0;
    for (const IpSetSpec& s : c.sets) {
      lines += 1 + s.size();
    }
    EXPECT_EQ(static_cast<size_t>(std::count(out.begin(), out.end(), '\n')), lines) << c.what;
  }
}

TEST(RenderIpsetRestoreTest, EveryMemberOnceAroundTheBatchSize) {
  // Members are written 64 at a time; texts of every length, heads shorter and longer than 32.
  for (const char* name : {"felix-v6-x", "felix-0123456789012345678901234"}) {
    for (int count : {1, 63, 64, 65, 129, 200}) {
      std::vector<std::string> texts;
      for (int i = 0; i < count; ++i) {
        texts.push_back(i % 3 == 0   ? absl::StrCat("fd5a:", i, "::/64")
                        : i % 3 == 1 ? absl::StrCat("fd5a:f1e1:", i, ":1:2:3:4:", i)
                                     : absl::StrCat("::", i));
      }
      IpSetSpec set{name, "hash:net", 6, Nets(6, texts), {"fd00::/8 nomatch"}};
      std::string want = absl::StrCat("create ", name, " hash:net family inet6\n");
      for (const IpNet& m : set.members) {
        absl::StrAppend(&want, "add ", name, " ", m.ToMemberString(), "\n");
      }
      absl::StrAppend(&want, "add ", name, " fd00::/8 nomatch\n");
      std::string out;
      RenderIpsetRestore({set}, &out);
      EXPECT_EQ(out, want) << name << " " << count;
    }
  }
}

// The text of a file after its leading "#" note lines, and how many there were.
std::pair<std::string, int> AfterNote(const std::string& file) {
  size_t at = 0;
  int notes = 0;
  while (at < file.size() && file[at] == '#') {
    at = file.find('\n', at) + 1;
    ++notes;
  }
  return {file.substr(at), notes};
}

TEST(RenderFilesTest, OneFilePerFamilyAndTheSetsEachWithItsLoadNote) {
  Desired d;
  d.rulesets.push_back(Ruleset{6, {Table{"filter", {}, {}}}});
  d.ipsets.push_back({"felix-s", "hash:net", 6, Nets(6, {"fd5a::/64"}), {}});
  RestoreFiles files = RenderFiles(d);
  // The ipset script begins with its first create; its note ends it.
  const std::string sets =
      "create felix-s hash:net family inet6\n"
      "add felix-s fd5a::/64\n";
  ASSERT_TRUE(absl::StartsWith(files.ipsets, sets)) << files.ipsets;
  const std::string note = files.ipsets.substr(sets.size());
  EXPECT_EQ(AfterNote(note), std::make_pair(std::string(), 3)) << note;
  EXPECT_NE(note.find("ipset restore < FILE"), std::string::npos) << note;
  EXPECT_NE(note.find("fiptgen-apply"), std::string::npos) << note;
  EXPECT_EQ(files.iptables, "") << "family 4 is not enabled";
  EXPECT_EQ(AfterNote(files.ip6tables), std::make_pair(std::string("*filter\nCOMMIT\n"), 3));
  EXPECT_NE(files.ip6tables.find("ip6tables-restore --noflush"), std::string::npos)
      << files.ip6tables;
  EXPECT_NE(files.ip6tables.find("fiptgen-apply"), std::string::npos) << files.ip6tables;
  // No sets: an empty file, without a note.
  EXPECT_EQ(RenderFiles(Desired{}).ipsets, "");
}

TEST(RenderFilesTest, IntoFilesThatHoldTextAlready) {
  Desired d;
  d.rulesets.push_back(Ruleset{4, {Table{"filter", {}, {}}}});
  d.ipsets.push_back({"felix-s", "hash:ip", 4, Nets(4, {"198.18.0.1"}), {}});
  const RestoreFiles want = RenderFiles(d);
  RestoreFiles files{"old sets\n", "old v4\n", "old v6\n"};
  RenderFiles(d, &files);
  EXPECT_EQ(files.ipsets, want.ipsets);
  EXPECT_EQ(files.iptables, want.iptables);
  EXPECT_EQ(files.ip6tables, "") << "family 6 is not enabled: emptied";
  RenderFiles(d, &files);  // again, into its own text
  EXPECT_EQ(files.iptables, want.iptables);
}

// The pieces a sink is handed are, in order, the text the string form writes; a script
// bigger than one piece comes in several.
TEST(RenderFilesTest, SinkGetsTheSameTextInPieces) {
  Ruleset rs{4, {Table{"filter", {{"INPUT", "felix-INPUT"}}, {}}}};
  std::vector<IpSetSpec> sets = {{"felix-v4-a", "hash:ip", 4, {}, {}}};
  for (int i = 0; i < 5000; ++i) {
    std::vector<const char*> rules(20, "-m comment --comment \"a rule of some length\" -j ACCEPT");
    rs.tables[0].chains.push_back(MakeChain(absl::StrCat("felix-p-", i, "-i").c_str(), rules));
    sets[0].members.push_back(*ParseIpNet(absl::StrCat("10.0.", i / 256, ".", i % 256), 4));
  }
  std::string want_rules, want_sets;
  RenderRestoreFile(rs, &want_rules);
  RenderIpsetFile(sets, &want_sets);
  ASSERT_GT(want_rules.size(), 4u << 20);
  for (bool ipsets : {false, true}) {
    std::string got;
    int pieces = 0;
    auto sink = [&](absl::string_view piece) {
      EXPECT_FALSE(piece.empty());
      got.append(piece.data(), piece.size());
      ++pieces;
    };
    if (ipsets) {
      RenderIpsetFile(sets, sink);
    } else {
      RenderRestoreFile(rs, sink);
    }
    EXPECT_EQ(got, ipsets ? want_sets : want_rules);
    EXPECT_GT(pieces, ipsets ? 0 : 8) << "pieces of a few hundred KiB";
  }
}

}  // namespace
}  // namespace fiptgen
