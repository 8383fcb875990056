#include "fiptgen/graph.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "fiptgen/rule_text.h"

namespace fiptgen {

void RenderGraph(const Ruleset& ruleset, std::string* out) {
  absl::StrAppend(out, "digraph fiptgen_v", ruleset.family, " {\n  rankdir=LR;\n",
                  "  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
  for (const Table& t : ruleset.tables) {
    // Node ids carry the table, since both tables have e.g. felix-OUTPUT.
    auto id = [&t](absl::string_view chain) {
      return absl::StrCat("\"", t.name, "/", chain, "\"");
    };
    std::set<std::string> ours;
    for (const Chain& c : t.chains) {
      ours.insert(c.name());
    }
    absl::StrAppend(out, "  subgraph cluster_", t.name, " {\n    label=\"", t.name, "\";\n");
    for (const Hook& h : t.hooks) {
      absl::StrAppend(out, "    ", id(h.builtin), " [label=\"", h.builtin,
                      "\", shape=ellipse, style=filled, fillcolor=lightgrey];\n");
    }
    for (const Chain& c : t.chains) {
      absl::StrAppend(out, "    ", id(c.name()), " [label=\"", c.name(), "\\n", c.rule_count(),
                      " rules\"];\n");
    }
    for (const Hook& h : t.hooks) {
      absl::StrAppend(out, "    ", id(h.builtin), " -> ", id(h.target), ";\n");
    }
    for (const Chain& c : t.chains) {
      std::set<std::pair<std::string, bool>> edges;  // target, goto
      c.ForEachRule([&](absl::string_view rule) {
        bool jump = false, is_goto = false;
        RuleTokenizer words(rule);
        for (RuleToken t; words.Next(&t);) {
          if (jump && ours.count(std::string(t.value)) > 0) {
            edges.emplace(std::string(t.value), is_goto);
          }
          jump = t.value == "-j" || t.value == "-g";
          is_goto = t.value == "-g";
        }
      });
      for (const auto& [target, is_goto] : edges) {
        absl::StrAppend(out, "    ", id(c.name()), " -> ", id(target),
                        is_goto ? " [style=dashed];\n" : ";\n");
      }
    }
    out->append("  }\n");
  }
  out->append("}\n");
}

}  // namespace fiptgen
