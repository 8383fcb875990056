#include "fiptgen/graph.h"

#include <string>

#include "gtest/gtest.h"

namespace fiptgen {
namespace {

Chain MakeChain(const std::string& name, std::initializer_list<const char*> rules) {
  Chain c(name);
  for (const char* r : rules) {
    c.AddRule(r);
  }
  return c;
}

// A small filter table in our layout, with marks that are not the defaults: [A] is 0x1,
// [EP] 0x10, so a label that took one for a prefix of the other would show it.
Ruleset SmallRuleset() {
  Table filter;
  filter.name = "filter";
  filter.hooks = {{"INPUT", "x-INPUT"}};
  filter.chains = {
      MakeChain("x-INPUT", {"-m mark --mark 0x1/0x1 -j ACCEPT", "-j MARK --set-xmark 0x0/0x10",
                            "-i cali+ -j MARK --set-xmark 0x10/0x10",
                            "-m mark --mark 0x0/0x10 -g x-HOST", "-i cali+ -j x-ONE"}),
      // A quoted comment before the target that holds a jump of its own.
      MakeChain("x-ONE", {"-m comment --comment \"to -j x-EMPTY\" -j x-HOST"}),
      // A leaf whose LOG prefix holds text that looks like a goto.
      MakeChain("x-HOST",
                {"-j MARK --set-xmark 0x0/0x1",
                 "-p tcp -m set --match-set x-v4-web src -m multiport --dports 80,443 -j MARK "
                 "--set-xmark 0x1/0x1",
                 "-m mark --mark 0x1/0x1 -j RETURN",
                 "-j LOG --log-prefix \"a -g x-INPUT\" --log-level 5", "-j DROP"}),
      MakeChain("x-EMPTY", {}),
  };
  Ruleset rs;
  rs.family = 4;
  rs.tables = {filter};
  return rs;
}

TEST(RenderGraphTest, EdgesAndLabels) {
  std::string dot;
  RenderGraph(SmallRuleset(), &dot);
  struct Case {
    const char* what;
    const char* want;
  } cases[] = {
      {"hook", "\"filter/INPUT\" -> \"filter/x-INPUT\";"},
      {"goto on a mark, named",
       "\"filter/x-INPUT\" -> \"filter/x-HOST\" [label=\"#4 if not [EP]\", style=dashed];"},
      {"jump on an interface", "\"filter/x-INPUT\" -> \"filter/x-ONE\" [label=\"#5 -i cali+\"];"},
      {"a jump after a quoted comment: the comment is the label, its words no jump",
       "\"filter/x-ONE\" -> \"filter/x-HOST\" [label=\"#1 \\\"to -j x-EMPTY\\\"\"];"},
      {"one rule, singular", "[label=\"x-ONE\\n1 rule\"]"},
      {"a chain that jumps shows its rule count", "[label=\"x-INPUT\\n5 rules\"]"},
      {"a leaf lists its rules, shortened, quotes escaped",
       "[label=\"x-HOST\\l  clear [A]\\l  -p tcp set x-v4-web src --dports 80,443: set [A]\\l"
       "  if [A]: RETURN\\l  LOG \\\"a -g x-INPUT\\\"\\l  DROP\\l\"]"},
      {"an empty chain says so", "[label=\"x-EMPTY\\l  (no rules)\\l\"]"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(dot.find(c.want), std::string::npos) << c.what << ": want " << c.want << "\nin\n"
                                                   << dot;
  }
  // The LOG prefix is not a goto: the leaf has no edge; nor is the comment a jump.
  EXPECT_EQ(dot.find("\"filter/x-HOST\" ->"), std::string::npos) << dot;
  EXPECT_EQ(dot.find("-> \"filter/x-EMPTY\""), std::string::npos) << dot;
}

TEST(RenderGraphTest, RawAboveFilter) {
  // dot stacks clusters bottom-up when laying out left to right: filter is written first.
  Ruleset rs = SmallRuleset();
  Table raw;
  raw.name = "raw";
  rs.tables.insert(rs.tables.begin(), raw);
  std::string dot;
  RenderGraph(rs, &dot);
  size_t filter = dot.find("subgraph cluster_filter");
  size_t raw_at = dot.find("subgraph cluster_raw");
  ASSERT_NE(filter, std::string::npos);
  ASSERT_NE(raw_at, std::string::npos);
  EXPECT_LT(filter, raw_at);
}

}  // namespace
}  // namespace fiptgen
