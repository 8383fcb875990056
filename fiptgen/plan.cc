#include "fiptgen/plan.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "fiptgen/chain_edit.h"
#include "fiptgen/names.h"
#include "fiptgen/render.h"
#include "fiptgen/rule_text.h"

namespace fiptgen {
namespace {

// The tables fiptgen writes. Our chains in any other table are not managed.
constexpr absl::string_view kManagedTables[] = {"raw", "filter"};

const Table* FindTable(const std::vector<Table>& tables, absl::string_view name) {
  for (const Table& t : tables) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

// For each chain a foreign rule of `table` jumps or goes to, the first chain holding such a
// rule.
absl::flat_hash_map<std::string, std::string> ForeignReferences(const Table& table) {
  absl::flat_hash_map<std::string, std::string> refs;
  for (const Chain& c : table.chains) {
    c.ForEachRule([&](absl::string_view rule) {
      bool jump = false;
      RuleTokenizer words(rule);
      for (RuleToken t; words.Next(&t);) {
        if (jump) {
          refs.emplace(std::string(t.value), c.name());
        }
        jump = t.value == "-j" || t.value == "-g";
      }
    });
  }
  return refs;
}

// "1 inserted, 2 deleted": what an edit does, by kind, leaving out kinds it does not use.
std::string DescribeSteps(const std::vector<RuleEdit>& steps) {
  size_t inserted = 0, replaced = 0, deleted = 0;
  for (const RuleEdit& step : steps) {
    switch (step.kind) {
      case RuleEdit::Kind::kInsert:
      case RuleEdit::Kind::kAppend:
        ++inserted;
        break;
      case RuleEdit::Kind::kReplace:
        ++replaced;
        break;
      case RuleEdit::Kind::kDelete:
        ++deleted;
        break;
    }
  }
  std::string out;
  for (auto [count, what] : {std::pair{inserted, " inserted"}, std::pair{replaced, " replaced"},
                             std::pair{deleted, " deleted"}}) {
    if (count > 0) {
      absl::StrAppend(&out, out.empty() ? "" : ", ", count, what);
    }
  }
  return out;
}

// The kernel's chains, where hooks live; the plan's other -I and -D lines edit our chains.
bool IsBuiltinChain(absl::string_view name) {
  return name == "PREROUTING" || name == "INPUT" || name == "FORWARD" || name == "OUTPUT" ||
         name == "POSTROUTING";
}

void PlanTable(int family, absl::string_view name, const Table& want, const Table& have,
               const Table* foreign, RestorePlan* plan) {
  const std::string where = absl::StrCat("v", family, " ", name, ": ");
  TableEdit edit;
  edit.table = name;

  absl::flat_hash_map<absl::string_view, const Chain*> have_chains;
  for (const Chain& c : have.chains) {
    have_chains.emplace(c.name(), &c);
  }
  absl::flat_hash_set<absl::string_view> wanted;
  for (const Chain& c : want.chains) {
    wanted.insert(c.name());
    auto it = have_chains.find(c.name());
    if (it == have_chains.end()) {
      edit.fill.push_back(&c);
      plan->changes.push_back(absl::StrCat(where, "chain ", c.name(), " created"));
    } else if (it->second->body() != c.body()) {
      if (std::optional<ChainEdit> rules = EditChain(*it->second, c)) {
        plan->changes.push_back(
            absl::StrCat(where, "chain ", c.name(), " edited: ", DescribeSteps(rules->steps)));
        edit.edit.push_back(*std::move(rules));
      } else {
        edit.fill.push_back(&c);
        plan->changes.push_back(absl::StrCat(where, "chain ", c.name(), " refilled"));
      }
    }
  }

  // Hooks are matched as a multiset: each wanted hook uses up one that is there.
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, int> have_hooks;
  for (const Hook& h : have.hooks) {
    ++have_hooks[{h.builtin, h.target}];
  }
  for (const Hook& h : want.hooks) {
    int& count = have_hooks[{h.builtin, h.target}];
    if (count > 0) {
      --count;
      continue;
    }
    edit.hook.push_back(&h);
    plan->changes.push_back(absl::StrCat(where, "hook ", h.builtin, " -> ", h.target, " inserted"));
  }
  // What goes is taken in name order, so the kernel's order and the generator's give the
  // same plan.
  for (const Hook& h : have.hooks) {
    int& count = have_hooks[{h.builtin, h.target}];
    if (count == 0) {
      continue;
    }
    --count;
    edit.unhook.push_back(&h);
  }
  std::sort(edit.unhook.begin(), edit.unhook.end(), [](const Hook* a, const Hook* b) {
    return std::tie(a->builtin, a->target) < std::tie(b->builtin, b->target);
  });
  for (const Hook* h : edit.unhook) {
    plan->changes.push_back(
        absl::StrCat(where, "hook ", h->builtin, " -> ", h->target, " deleted"));
  }

  std::vector<const Chain*> stale;
  for (const Chain& c : have.chains) {
    if (!wanted.contains(c.name())) {
      stale.push_back(&c);
    }
  }
  std::sort(stale.begin(), stale.end(),
            [](const Chain* a, const Chain* b) { return a->name() < b->name(); });
  absl::flat_hash_map<std::string, std::string> refs;
  if (!stale.empty() && foreign != nullptr) {
    refs = ForeignReferences(*foreign);
  }
  for (const Chain* c : stale) {
    auto ref = refs.find(c->name());
    if (ref == refs.end()) {
      edit.flush.push_back(c->name());
      edit.remove.push_back(c->name());
      plan->changes.push_back(absl::StrCat(where, "chain ", c->name(), " deleted"));
    } else if (!c->body().empty()) {
      // Deleting it would fail; emptied, it lets the foreign rule fall through.
      edit.flush.push_back(c->name());
      plan->changes.push_back(absl::StrCat(where, "chain ", c->name(),
                                           " flushed, kept: foreign chain ", ref->second,
                                           " jumps to it"));
    }
  }

  if (edit.fill.empty() && edit.flush.empty() && edit.hook.empty() && edit.unhook.empty() &&
      edit.edit.empty()) {
    return;
  }
  RenderTableEdit(edit, &plan->text);
}

}  // namespace

RestorePlan PlanRestore(const Ruleset& desired, const Ruleset& observed,
                        const std::vector<Table>& foreign) {
  RestorePlan plan;
  plan.family = desired.family;
  static const Table kEmpty;
  for (const Table& want : desired.tables) {
    const Table* have = FindTable(observed.tables, want.name);
    PlanTable(desired.family, want.name, want, have ? *have : kEmpty, FindTable(foreign, want.name),
              &plan);
  }
  // Managed tables that are no longer wanted at all lose all our chains and hooks.
  for (absl::string_view name : kManagedTables) {
    const Table* have = FindTable(observed.tables, name);
    if (have == nullptr || FindTable(desired.tables, name) != nullptr) {
      continue;
    }
    PlanTable(desired.family, name, kEmpty, *have, FindTable(foreign, name), &plan);
  }
  return plan;
}

IpsetPlan PlanIpsets(const std::vector<IpSetSpec>& desired, const std::vector<IpSetSpec>& observed,
                     const Config& config) {
  IpsetPlan plan;
  const Namer namer(config);
  absl::flat_hash_map<absl::string_view, const IpSetSpec*> have;
  for (const IpSetSpec& s : observed) {
    have.emplace(s.name, &s);
  }
  absl::flat_hash_set<absl::string_view> keep;  // observed sets this plan does not destroy
  std::vector<IpSetSpec> created;
  std::string rebuilt;
  for (const IpSetSpec& want : desired) {
    keep.insert(want.name);
    auto it = have.find(want.name);
    if (it == have.end()) {
      created.push_back(want);
      plan.changes.push_back(
          absl::StrCat("ipset: set ", want.name, " created (", want.members.size(), " members)"));
      continue;
    }
    const IpSetSpec& old = *it->second;
    if (old == want) {
      continue;
    }
    // Rebuild under the temporary name; a leftover of an earlier, failed run goes first.
    std::vector<IpSetSpec> temp = {want};
    temp[0].name = namer.TemporarySet(want.name);
    if (auto leftover = have.find(temp[0].name); leftover != have.end()) {
      keep.insert(leftover->first);
      absl::StrAppend(&rebuilt, "destroy ", temp[0].name, "\n");
    }
    RenderIpsetRestore(temp, &rebuilt);
    if (old.type == want.type && old.family == want.family) {
      absl::StrAppend(&rebuilt, "swap ", temp[0].name, " ", want.name, "\n");
      absl::StrAppend(&rebuilt, "destroy ", temp[0].name, "\n");
      plan.changes.push_back(
          absl::StrCat("ipset: set ", want.name, " swapped (", want.members.size(), " members)"));
      continue;
    }
    absl::StrAppend(&plan.after, "destroy ", want.name, "\n");
    plan.changes.push_back(absl::StrCat("ipset: set ", want.name, " rebuilt as ", temp[0].name,
                                        " (", old.type, " family ", old.family, " -> ", want.type,
                                        " family ", want.family,
                                        " cannot be swapped; a second round renames it back)"));
    plan.renamed.emplace_back(want.name, std::move(temp[0].name));
  }
  RenderIpsetRestore(created, &plan.before);
  plan.before.append(rebuilt);
  std::vector<absl::string_view> stale;
  for (const IpSetSpec& old : observed) {
    if (!keep.contains(old.name)) {
      stale.push_back(old.name);
    }
  }
  std::sort(stale.begin(), stale.end());
  for (absl::string_view name : stale) {
    absl::StrAppend(&plan.after, "destroy ", name, "\n");
    plan.changes.push_back(absl::StrCat("ipset: set ", name, " destroyed"));
  }
  return plan;
}

bool Plans::empty() const {
  bool empty = ipsets.before.empty() && ipsets.after.empty();
  for (const RestorePlan& plan : rulesets) {
    empty = empty && plan.text.empty();
  }
  return empty;
}

std::vector<std::string> Plans::changes() const {
  std::vector<std::string> all = ipsets.changes;
  for (const RestorePlan& plan : rulesets) {
    all.insert(all.end(), plan.changes.begin(), plan.changes.end());
  }
  return all;
}

Plans PlanState(const Desired& desired, const ObservedState& observed, const Config& config) {
  Plans plans;
  plans.ipsets = PlanIpsets(desired.ipsets, observed.ipsets, config);
  for (int family : {4, 6}) {
    const Ruleset* want = desired.ForFamily(family);
    const ObservedRuleset* have = observed.ForFamily(family);
    if (want == nullptr && have == nullptr) {
      continue;
    }
    Ruleset none;
    none.family = family;
    if (want == nullptr) {
      want = &none;
    }
    Ruleset renamed;
    if (!plans.ipsets.renamed.empty()) {
      renamed = *want;
      RenameSets(plans.ipsets.renamed, &renamed);
      want = &renamed;
    }
    static const ObservedRuleset kNothing;
    if (have == nullptr) {
      have = &kNothing;
    }
    plans.rulesets.push_back(PlanRestore(*want, have->ours, have->foreign));
  }
  return plans;
}

void RenderPlans(const Plans& plans, std::string* out) {
  auto section = [out](absl::string_view title, const std::string& text) {
    if (!text.empty()) {
      absl::StrAppend(out, "== ", title, " ==\n", text);
    }
  };
  section("ipset restore (before)", plans.ipsets.before);
  for (const RestorePlan& plan : plans.rulesets) {
    section(plan.family == 6 ? "ip6tables-restore --noflush" : "iptables-restore --noflush",
            plan.text);
  }
  section("ipset restore (after)", plans.ipsets.after);
}

void RenameSets(const std::vector<std::pair<std::string, std::string>>& renamed, Ruleset* ruleset) {
  if (renamed.empty()) {
    return;
  }
  for (Table& table : ruleset->tables) {
    for (Chain& chain : table.chains) {
      if (chain.body().find("--match-set ") == std::string::npos) {
        continue;
      }
      std::string body;
      body.reserve(chain.body().size());
      chain.ForEachRule([&](absl::string_view rule) {
        // Each set name that follows "--match-set" is replaced in place; the rest of the
        // rule, quoted arguments included, is copied as it is.
        size_t copied = 0;
        bool set_next = false;
        RuleTokenizer words(rule);
        for (RuleToken t; words.Next(&t);) {
          if (set_next) {
            for (const auto& [from, to] : renamed) {
              if (t.value == from) {
                body.append(rule.data() + copied, t.offset(rule) - copied);
                body.append(to);
                copied = t.offset(rule) + t.raw.size();
                break;
              }
            }
          }
          set_next = t.value == "--match-set";
        }
        body.append(rule.data() + copied, rule.size() - copied);
        body.push_back('\n');
      });
      chain.SetBody(std::move(body), chain.rule_count());
    }
  }
}

int FailedLine(absl::string_view tool_stderr) {
  for (size_t at = tool_stderr.find("line"); at != absl::string_view::npos;
       at = tool_stderr.find("line", at + 4)) {
    absl::string_view rest = tool_stderr.substr(at + 4);
    rest = absl::StripLeadingAsciiWhitespace(absl::StripPrefix(rest, ":"));
    size_t digits = 0;
    while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) {
      ++digits;
    }
    int line = 0;
    if (digits > 0 && absl::SimpleAtoi(rest.substr(0, digits), &line) && line > 0) {
      return line;
    }
  }
  return 0;
}

std::string DescribePlanLine(absl::string_view plan, int line) {
  absl::string_view table;
  absl::string_view text;
  int number = 0;
  while (!plan.empty() && number < line) {
    text = NextLine(&plan);
    ++number;
    if (absl::StartsWith(text, "*")) {
      table = text.substr(1);
    }
  }
  if (number < line || line <= 0) {
    return absl::StrCat("line ", line, " (past the end of the plan)");
  }
  std::string where;
  if (!table.empty()) {
    absl::StrAppend(&where, "table ", table);
  }
  auto add = [&where](absl::string_view what, absl::string_view name) {
    absl::StrAppend(&where, where.empty() ? "" : ", ", what, name);
  };
  // Values are copied: the tokenizer's next word may reuse a value's storage.
  RuleTokenizer words(text);
  RuleToken t;
  const std::string verb = words.Next(&t) ? std::string(t.value) : "";
  const std::string name = words.Next(&t) ? std::string(t.value) : "";
  if (absl::StartsWith(verb, ":")) {  // ":<chain> - [0:0]"
    add("chain ", absl::string_view(verb).substr(1));
  } else if (name.empty()) {
    if (verb == "COMMIT") {
      add("", "COMMIT: the table's changes as a whole");
    }
  } else if (verb == "-A" || verb == "-X") {
    add("chain ", name);
  } else if ((verb == "-I" || verb == "-D" || verb == "-R") && !IsBuiltinChain(name)) {
    // A rule-level edit: "-D <chain> <n>", "-I <chain> <n> <rule>", "-R <chain> <n> <rule>".
    add("chain ", name);
    if (words.Next(&t)) {
      add("rule ", t.value);
    }
  } else if (verb == "-I" || verb == "-D") {
    // "-I <builtin> 1 -j <chain>", "-D <builtin> -j <chain>"
    std::string target;
    for (bool jump = false; words.Next(&t); jump = t.value == "-j") {
      if (jump) {
        target = std::string(t.value);
      }
    }
    add("hook ", absl::StrCat(name, " -> ", target));
  } else if (verb == "create" || verb == "add" || verb == "swap" || verb == "destroy" ||
             verb == "flush") {
    add("set ", name);
  }
  if (where.empty()) {
    return absl::StrCat("line ", line, ": ", text);
  }
  return absl::StrCat("line ", line, " (", where, "): ", text);
}

}  // namespace fiptgen
