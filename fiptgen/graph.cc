#include "fiptgen/graph.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

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
        std::string padded = absl::StrCat(" ", rule);  // a rule may start with "-j"
        for (bool is_goto : {false, true}) {
          const std::string flag = is_goto ? " -g " : " -j ";
          size_t at = padded.find(flag);
          if (at == std::string::npos) {
            continue;
          }
          absl::string_view target = absl::string_view(padded).substr(at + flag.size());
          target = target.substr(0, target.find(' '));
          if (ours.count(std::string(target)) > 0) {
            edges.emplace(std::string(target), is_goto);
          }
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
