// The chain graph of a ruleset as Graphviz DOT: one cluster per table, a node per chain
// (and per kernel hook), an edge per jump (solid) or goto (dashed).
//
//   std::string dot;
//   RenderGraph(GenerateRuleset(model, 4), &dot);   // dot -Tsvg renders it
#ifndef FIPTGEN_GRAPH_H_
#define FIPTGEN_GRAPH_H_

#include <string>

#include "fiptgen/ruleset.h"

namespace fiptgen {

void RenderGraph(const Ruleset& ruleset, std::string* out);

}  // namespace fiptgen

#endif  // FIPTGEN_GRAPH_H_
