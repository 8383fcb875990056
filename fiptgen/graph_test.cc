#include "fiptgen/graph.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

// The edges RenderGraph draws for one chain holding `rules`, next to chains felix-B and
// felix-C.
std::string Edges(std::vector<const char*> rules) {
  Ruleset rs;
  rs.tables.push_back(Table{"filter", {}, {}});
  Chain& a = rs.tables[0].chains.emplace_back("felix-A");
  for (const char* rule : rules) {
    a.AddRule(rule);
  }
  rs.tables[0].chains.emplace_back("felix-B");
  rs.tables[0].chains.emplace_back("felix-C");
  std::string dot;
  RenderGraph(rs, &dot);
  std::string edges;
  for (size_t at = dot.find(" -> "); at != std::string::npos; at = dot.find(" -> ", at + 1)) {
    size_t begin = dot.rfind('\n', at) + 1;
    absl::StrAppend(&edges, dot.substr(begin, dot.find('\n', at) - begin), "\n");
  }
  return edges;
}

TEST(RenderGraphTest, AnEdgePerJumpOrGotoToOurChains) {
  struct Case {
    std::vector<const char*> rules;
    const char* edges;
  };
  const Case cases[] = {
      {{}, ""},
      {{"-j felix-B"}, "    \"filter/felix-A\" -> \"filter/felix-B\";\n"},
      {{"-i tap1 -g felix-C"}, "    \"filter/felix-A\" -> \"filter/felix-C\" [style=dashed];\n"},
      // One edge per target, however many rules jump there; not to targets that are not
      // chains of ours.
      {{"-j felix-B", "-p tcp -j felix-B", "-j DROP", "-j felix-OTHER"},
       "    \"filter/felix-A\" -> \"filter/felix-B\";\n"},
      // A jump written inside a quoted argument is text, not a jump.
      {{"-m comment --comment \"x -j felix-B\" -j felix-C"},
       "    \"filter/felix-A\" -> \"filter/felix-C\";\n"},
  };
  for (const Case& c : cases) {
    std::string what;
    for (const char* rule : c.rules) {
      absl::StrAppend(&what, rule, "; ");
    }
    EXPECT_EQ(Edges(c.rules), c.edges) << "rules: " << what;
  }
}

TEST(RenderGraphTest, HooksAndClusters) {
  Ruleset rs;
  rs.family = 6;
  rs.tables.push_back(Table{"raw", {{"PREROUTING", "felix-PREROUTING"}}, {}});
  rs.tables[0].chains.emplace_back("felix-PREROUTING").AddRule("-j MARK --set-xmark 0x0/0x1");
  std::string dot;
  RenderGraph(rs, &dot);
  EXPECT_EQ(dot,
            "digraph fiptgen_v6 {\n  rankdir=LR;\n"
            "  node [shape=box, fontname=\"monospace\", fontsize=10];\n"
            "  subgraph cluster_raw {\n    label=\"raw\";\n"
            "    \"raw/PREROUTING\" [label=\"PREROUTING\", shape=ellipse, style=filled, "
            "fillcolor=lightgrey];\n"
            "    \"raw/felix-PREROUTING\" [label=\"felix-PREROUTING\\n1 rules\"];\n"
            "    \"raw/PREROUTING\" -> \"raw/felix-PREROUTING\";\n"
            "  }\n}\n");
}

}  // namespace
}  // namespace fiptgen
