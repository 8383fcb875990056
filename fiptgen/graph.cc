#include "fiptgen/graph.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "fiptgen/rule_text.h"

namespace fiptgen {
namespace {

// A leaf chain (one that jumps nowhere in our graph) shows at most this many rules.
constexpr size_t kMaxListedRules = 8;

// One rule split at its target: `match` decides whether it fires ("" = always), `target`
// is a chain or a verdict (ACCEPT, MARK, LOG...), `args` the target's own options.
struct RuleParts {
  absl::string_view match;
  absl::string_view target;
  absl::string_view args;
  bool is_goto = false;
};

// The one place that reads a rule's text, word by word with the rule tokenizer, so a quoted
// comment or LOG prefix that holds " -j x" is never taken for a target. The target is the
// first -j or -g word: every match comes before it.
RuleParts SplitRule(absl::string_view rule) {
  RuleParts parts;
  RuleTokenizer words(rule);
  for (RuleToken t; words.Next(&t);) {
    if (t.raw != "-j" && t.raw != "-g") {
      continue;
    }
    const size_t at = t.offset(rule);
    parts.match = absl::StripTrailingAsciiWhitespace(rule.substr(0, at));
    parts.is_goto = t.raw == "-g";
    RuleToken target;
    if (words.Next(&target)) {
      parts.target = target.raw;
      parts.args = words.rest();
    }
    return parts;
  }
  parts.match = rule;
  return parts;
}

// The two mark bits, as the generator wrote them, named [A] and [EP] in labels.
struct Marks {
  std::vector<std::pair<std::string, std::string>> replacements;  // text -> label

  // [EP] is the bit a hook chain sets on `-i <prefix>+` / `-o <prefix>+`; [A] the other bit
  // the chains clear. Read from the rules, since a Ruleset does not carry its Config.
  explicit Marks(const Ruleset& ruleset) {
    std::string ep, accept;
    std::vector<std::string> cleared;
    for (const Table& t : ruleset.tables) {
      for (const Chain& c : t.chains) {
        c.ForEachRule([&](absl::string_view rule) {
          RuleParts p = SplitRule(rule);
          if (p.target != "MARK") {
            return;
          }
          absl::string_view args = p.args;
          if (!absl::ConsumePrefix(&args, "--set-xmark ")) {
            return;
          }
          size_t slash = args.find('/');
          if (slash == absl::string_view::npos) {
            return;
          }
          absl::string_view value = args.substr(0, slash), mask = args.substr(slash + 1);
          bool on_interface =
              (absl::StartsWith(p.match, "-i ") || absl::StartsWith(p.match, "-o ")) &&
              absl::EndsWith(p.match, "+");
          if (on_interface && value == mask) {
            ep = std::string(mask);
          } else if (value == "0x0") {
            cleared.emplace_back(mask);
          }
        });
      }
    }
    for (const std::string& bit : cleared) {
      if (bit != ep) {
        accept = bit;
        break;
      }
    }
    for (const auto& [bit, name] :
         {std::pair<std::string, const char*>{accept, "[A]"}, {ep, "[EP]"}}) {
      if (bit.empty()) {
        continue;
      }
      // Each ends with a space, as does the text they apply to: 0x1 is not 0x10.
      replacements.emplace_back(absl::StrCat("-m mark --mark 0x0/", bit, " "),
                                absl::StrCat("if not ", name, " "));
      replacements.emplace_back(absl::StrCat("-m mark --mark ", bit, "/", bit, " "),
                                absl::StrCat("if ", name, " "));
      replacements.emplace_back(absl::StrCat("MARK --set-xmark 0x0/", bit, " "),
                                absl::StrCat("clear ", name, " "));
      replacements.emplace_back(absl::StrCat("MARK --set-xmark ", bit, "/", bit, " "),
                                absl::StrCat("set ", name, " "));
    }
  }
};

// A rule's text made short for a label: marks by name, module loads that only repeat the
// option after them left out ("-m multiport --dports 80" reads "--dports 80").
std::string Shorten(absl::string_view text, const Marks& marks) {
  std::string s = absl::StrCat(text, " ");
  for (const auto& [from, to] : marks.replacements) {
    absl::StrReplaceAll({{from, to}}, &s);
  }
  absl::StrReplaceAll({{"-m set --match-set ", "set "},
                       {"-m set ! --match-set ", "! set "},
                       {"-m multiport ", ""},
                       {"-m conntrack --ctstate ", "ctstate "},
                       {"-m addrtype --dst-type ", "dst-type "},
                       {"-m comment --comment ", ""},
                       {"-m mac ", ""},
                       {"-m tcp ", ""},
                       {"-m udp ", ""},
                       {"-m sctp ", ""},
                       {"-m icmp ", ""},
                       {"-m icmp6 ", ""},
                       {"LOG --log-prefix ", "LOG "},
                       {" --log-level 5 ", " "}},
                      &s);
  s.pop_back();
  return s;
}

// Escapes text for a double-quoted DOT string.
std::string DotEscape(absl::string_view s) {
  return absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}});
}

}  // namespace

void RenderGraph(const Ruleset& ruleset, std::string* out) {
  const Marks marks(ruleset);
  absl::StrAppend(out, "digraph fiptgen_v", ruleset.family, " {\n", "  rankdir=LR;\n",
                  "  node [shape=box, fontname=\"monospace\", fontsize=10];\n",
                  "  edge [fontname=\"monospace\", fontsize=9];\n");
  // Laying out left to right, dot stacks clusters from the bottom up: the last table written
  // is drawn on top, so tables are written in reverse to show raw above filter, in the
  // order a packet meets them.
  for (auto table = ruleset.tables.rbegin(); table != ruleset.tables.rend(); ++table) {
    const Table& t = *table;
    // Node ids carry the table, since both tables have e.g. felix-OUTPUT.
    auto id = [&t](absl::string_view chain) {
      return absl::StrCat("\"", t.name, "/", chain, "\"");
    };
    std::set<std::string> ours;
    for (const Chain& c : t.chains) {
      ours.insert(c.name());
    }
    absl::StrAppend(out, "  subgraph cluster_", t.name, " {\n    label=\"", t.name,
                    " table\";\n    labeljust=l;\n");
    for (const Hook& h : t.hooks) {
      absl::StrAppend(out, "    ", id(h.builtin), " [label=\"", h.builtin,
                      "\", shape=ellipse, style=filled, fillcolor=lightgrey];\n");
    }
    std::string edges;
    for (const Chain& c : t.chains) {
      // Edges to one target, with the rules (numbered from 1) that jump there.
      std::map<std::pair<std::string, bool>, std::vector<std::string>> jumps;
      std::vector<std::string> lines;
      int n = 0;
      c.ForEachRule([&](absl::string_view rule) {
        ++n;
        RuleParts p = SplitRule(rule);
        if (ours.count(std::string(p.target)) > 0) {
          jumps[{std::string(p.target), p.is_goto}].push_back(
              DotEscape(absl::StrCat("#", n, p.match.empty() ? "" : " ", Shorten(p.match, marks))));
        }
        std::string verdict =
            Shorten(absl::StrCat(p.target, p.args.empty() ? "" : " ", p.args), marks);
        lines.push_back(p.match.empty() ? verdict
                                        : absl::StrCat(Shorten(p.match, marks), ": ", verdict));
      });
      std::string label = absl::StrCat(DotEscape(c.name()), "\\n", c.rule_count(),
                                       c.rule_count() == 1 ? " rule" : " rules");
      if (jumps.empty()) {
        // A leaf: what it does is its rules, so show them (left-aligned).
        label = absl::StrCat(DotEscape(c.name()), "\\l");
        for (size_t i = 0; i < lines.size() && i < kMaxListedRules; ++i) {
          absl::StrAppend(&label, "  ", DotEscape(lines[i]), "\\l");
        }
        if (lines.size() > kMaxListedRules) {
          absl::StrAppend(&label, "  ... ", lines.size() - kMaxListedRules, " more\\l");
        }
        if (lines.empty()) {
          absl::StrAppend(&label, "  (no rules)\\l");
        }
      }
      absl::StrAppend(out, "    ", id(c.name()), " [label=\"", label, "\"];\n");
      for (const auto& [target, labels] : jumps) {
        absl::StrAppend(&edges, "    ", id(c.name()), " -> ", id(target.first), " [label=\"",
                        absl::StrJoin(labels, "\\n"), "\"", target.second ? ", style=dashed" : "",
                        "];\n");
      }
    }
    for (const Hook& h : t.hooks) {
      absl::StrAppend(out, "    ", id(h.builtin), " -> ", id(h.target), ";\n");
    }
    out->append(edges);
    out->append("  }\n");
  }
  out->append("}\n");
}

}  // namespace fiptgen
