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
               const Table* foreign, HookMode hooks, RestorePlan* plan) {
  const std::string where = absl::StrCat("v", family, " ", name, ": ");
  const size_t changes_begin = plan->changes.size();
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

  // Hooks are matched as a multiset: each wanted hook uses up one that is there. With
  // HookMode::kFirst, a built-in chain where a foreign rule got in front of a hook of ours
  // that stays has all our hooks deleted and inserted again, on top.
  absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> wanted_hooks;
  for (const Hook& h : want.hooks) {
    wanted_hooks.insert({h.builtin, h.target});
  }
  absl::flat_hash_set<absl::string_view> misplaced;
  if (hooks == HookMode::kFirst) {
    for (const Hook& h : have.hooks) {
      if (h.foreign_rules_before > 0 && wanted_hooks.contains({h.builtin, h.target})) {
        misplaced.insert(h.builtin);
      }
    }
  }
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, int> have_hooks;
  for (const Hook& h : have.hooks) {
    ++have_hooks[{h.builtin, h.target}];
  }
  for (const Hook& h : want.hooks) {
    int& count = have_hooks[{h.builtin, h.target}];
    const bool there = count > 0;
    if (there) {
      --count;
    }
    if (misplaced.contains(h.builtin)) {
      edit.hook.push_back(&h);
      plan->changes.push_back(absl::StrCat(where, "hook ", h.builtin, " -> ", h.target,
                                           there ? " moved back to the top (a foreign rule "
                                                   "got in front of it)"
                                                 : " inserted"));
    } else if (!there && hooks == HookMode::kAppend) {
      edit.append.push_back(&h);
      plan->changes.push_back(
          absl::StrCat(where, "hook ", h.builtin, " -> ", h.target, " appended"));
    } else if (!there) {
      edit.hook.push_back(&h);
      plan->changes.push_back(
          absl::StrCat(where, "hook ", h.builtin, " -> ", h.target, " inserted"));
    }
  }
  // What goes (hooks no longer wanted, duplicates, and those being moved) is taken in name
  // order, so the kernel's order and the generator's give the same plan.
  std::vector<const Hook*> deleted;
  for (const Hook& h : have.hooks) {
    int& count = have_hooks[{h.builtin, h.target}];
    const bool unwanted = count > 0;
    if (unwanted) {
      --count;
      deleted.push_back(&h);
    }
    if (unwanted || misplaced.contains(h.builtin)) {
      edit.unhook.push_back(&h);
    }
  }
  auto by_name = [](const Hook* a, const Hook* b) {
    return std::tie(a->builtin, a->target) < std::tie(b->builtin, b->target);
  };
  std::sort(edit.unhook.begin(), edit.unhook.end(), by_name);
  std::sort(deleted.begin(), deleted.end(), by_name);
  for (const Hook* h : deleted) {
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
      edit.edit.empty() && edit.append.empty()) {
    return;
  }
  RestorePlan::TableStep step;
  step.table = std::string(name);
  absl::flat_hash_set<absl::string_view> written;
  auto write = [&](absl::string_view chain) {
    if (written.insert(chain).second) {
      step.written.emplace_back(chain);
    }
  };
  for (const Chain* c : edit.fill) {
    write(c->name());
  }
  for (const ChainEdit& e : edit.edit) {
    write(e.chain);
  }
  for (const std::vector<const Hook*>* hooks : {&edit.unhook, &edit.hook, &edit.append}) {
    for (const Hook* h : *hooks) {
      write(h->builtin);
    }
  }
  std::sort(step.written.begin(), step.written.end());
  step.text_begin = plan->text.size();
  step.changes_begin = changes_begin;
  step.changes_end = plan->changes.size();
  RenderTableEdit(edit, &plan->text);
  step.text_end = plan->text.size();
  plan->tables.push_back(std::move(step));
}

}  // namespace

RestorePlan PlanRestore(const Ruleset& desired, const Ruleset& observed,
                        const std::vector<Table>& foreign, HookMode hooks) {
  RestorePlan plan;
  plan.family = desired.family;
  static const Table kEmpty;
  for (const Table& want : desired.tables) {
    const Table* have = FindTable(observed.tables, want.name);
    PlanTable(desired.family, want.name, want, have ? *have : kEmpty, FindTable(foreign, want.name),
              hooks, &plan);
  }
  // Managed tables that are no longer wanted at all lose all our chains and hooks.
  for (absl::string_view name : kManagedTables) {
    const Table* have = FindTable(observed.tables, name);
    if (have == nullptr || FindTable(desired.tables, name) != nullptr) {
      continue;
    }
    PlanTable(desired.family, name, kEmpty, *have, FindTable(foreign, name), hooks, &plan);
  }
  return plan;
}

namespace {

bool IsManaged(absl::string_view table) {
  return std::find(std::begin(kManagedTables), std::end(kManagedTables), table) !=
         std::end(kManagedTables);
}

// Adds each set a rule of `table` matches ("--match-set <set>") to *users, with `who` and
// the first chain naming it: "<who>v4 filter chain FORWARD<what>".
void AddSetUsers(const Table& table, int family, std::map<std::string, std::string>* users,
                 absl::string_view who = "", absl::string_view what = "") {
  for (const Chain& c : table.chains) {
    if (c.body().find("--match-set") == std::string::npos) {
      continue;
    }
    c.ForEachRule([&](absl::string_view rule) {
      if (rule.find("--match-set") == absl::string_view::npos) {
        return;
      }
      bool set_next = false;
      RuleTokenizer words(rule);
      for (RuleToken t; words.Next(&t);) {
        if (set_next && !users->count(std::string(t.value))) {
          users->emplace(std::string(t.value), absl::StrCat(who, "v", family, " ", table.name,
                                                            " chain ", c.name(), what));
        }
        set_next = t.value == "--match-set";
      }
    });
  }
}

bool SameKind(const IpSetSpec& a, const IpSetSpec& b) {
  return a.type == b.type && a.family == b.family;
}

// The members to take a set from `have` to `want`: those to delete and those to add, in the
// order of their lists (addresses, then `other`).
struct MemberDelta {
  std::vector<IpNet> del, add;
  std::vector<absl::string_view> del_other, add_other;
  size_t size() const { return del.size() + add.size() + del_other.size() + add_other.size(); }
};
// The elements of `from` that `to` lacks, in `from`'s order, appended to `out`.
template <typename T, typename Out>
void Missing(const std::vector<T>& from, const std::vector<T>& to, std::vector<Out>* out) {
  absl::flat_hash_set<Out> in_to(to.begin(), to.end());
  for (const T& m : from) {
    if (!in_to.contains(m)) {
      out->push_back(m);
    }
  }
}
MemberDelta Delta(const IpSetSpec& have, const IpSetSpec& want) {
  MemberDelta delta;
  Missing(have.members, want.members, &delta.del);
  Missing(have.other, want.other, &delta.del_other);
  Missing(want.members, have.members, &delta.add);
  Missing(want.other, have.other, &delta.add_other);
  return delta;
}

// "del" lines, then "add" lines, under `name`. Deletions first: the set never holds more
// members than before or after, so it stays within its maxelem. Neither has -exist: an add
// of a member that is there, or a del of one that is not, means the set is not what the plan
// was made against, and the restore stops there (then the applier puts back what it found).
void AppendDelta(absl::string_view name, const MemberDelta& delta, std::string* out) {
  char text[IpNet::kMaxText];
  auto line = [&](absl::string_view verb, absl::string_view member) {
    absl::StrAppend(out, verb, name, " ", member, "\n");
  };
  auto lines = [&](absl::string_view verb, const std::vector<IpNet>& nets,
                   const std::vector<absl::string_view>& other) {
    for (const IpNet& n : nets) {
      line(verb, absl::string_view(text, static_cast<size_t>(n.WriteMemberText(text) - text)));
    }
    for (absl::string_view m : other) {
      line(verb, m);
    }
  };
  lines("del ", delta.del, delta.del_other);
  lines("add ", delta.add, delta.add_other);
}

// "1 added, 2 removed", leaving out a count of zero.
std::string DescribeDelta(const MemberDelta& delta) {
  const size_t added = delta.add.size() + delta.add_other.size();
  const size_t removed = delta.del.size() + delta.del_other.size();
  if (removed == 0) {
    return absl::StrCat(added, " added");
  }
  if (added == 0) {
    return absl::StrCat(removed, " removed");
  }
  return absl::StrCat(added, " added, ", removed, " removed");
}

std::string Kind(const IpSetSpec& s) { return absl::StrCat(s.type, " family ", s.family); }

}  // namespace

SetUsers FindSetUsers(const ObservedState& observed) {
  SetUsers users;
  for (const ObservedRuleset& rs : observed.rulesets) {
    const int family = rs.ours.family;
    for (const Table& t : rs.ours.tables) {
      AddSetUsers(t, family, &users.now);
      if (!IsManaged(t.name)) {
        AddSetUsers(t, family, &users.kept, "our rule in ", ", a table fiptgen does not manage,");
      }
    }
    for (const Table& t : rs.foreign) {
      AddSetUsers(t, family, &users.now);
      AddSetUsers(t, family, &users.kept, "a foreign rule in ");
    }
  }
  for (const auto& [set, why] : observed.unseen_set_users) {
    const std::string who = absl::StrCat(
        "something not read (a rule in another table or backend, or a list:set; ", why, ")");
    users.now.emplace(set, who);
    users.kept.emplace(set, who);
  }
  return users;
}

IpsetPlan PlanIpsets(const std::vector<IpSetSpec>& desired, const std::vector<IpSetSpec>& observed,
                     const Config& config) {
  SetUsers users;
  for (const IpSetSpec& s : desired) {
    users.now.emplace(s.name, "");
  }
  return PlanIpsets(desired, observed, config, users);
}

IpsetPlan PlanIpsets(const std::vector<IpSetSpec>& desired, const std::vector<IpSetSpec>& observed,
                     const Config& config, const SetUsers& users) {
  IpsetPlan plan;
  const Namer namer(config);
  absl::flat_hash_map<absl::string_view, const IpSetSpec*> have;
  for (const IpSetSpec& s : observed) {
    have.emplace(s.name, &s);
  }
  auto find = [&have](absl::string_view name) -> const IpSetSpec* {
    auto it = have.find(name);
    return it == have.end() ? nullptr : it->second;
  };
  auto in_use = [&users](absl::string_view name) { return users.now.count(std::string(name)) > 0; };
  absl::flat_hash_set<absl::string_view> keep;  // observed sets this plan does not destroy
  std::vector<IpSetSpec> created;
  std::string rebuilt;
  // Destroys `name` after the rules changed, unless rules the plan leaves in place name it.
  auto destroy_after = [&](absl::string_view name, bool say_so) {
    if (auto user = users.kept.find(std::string(name)); user != users.kept.end()) {
      plan.notes.push_back(
          absl::StrCat("ipset: set ", name, " not destroyed, kept: ", user->second, " uses it"));
      return;
    }
    absl::StrAppend(&plan.after, "destroy ", name, "\n");
    if (say_so) {
      plan.changes.push_back(absl::StrCat("ipset: set ", name, " destroyed"));
    }
  };
  for (const IpSetSpec& want : desired) {
    keep.insert(want.name);
    IpSetSpec temp = want;
    temp.name = namer.TemporarySet(want.name);
    const IpSetSpec* old = find(want.name);
    const IpSetSpec* leftover = find(temp.name);  // of an interrupted run
    const bool leftover_used = leftover != nullptr && in_use(temp.name);

    // The set lives under its own name this round when that name is free, holds the right
    // type, or holds a set no rule names (which can be rebuilt in place at once).
    if (old == nullptr || SameKind(*old, want) || !in_use(want.name)) {
      if (old == nullptr) {
        created.push_back(want);
        plan.changes.push_back(
            absl::StrCat("ipset: set ", want.name, " created (", want.size(), " members)"));
      } else if (!SameKind(*old, want)) {
        absl::StrAppend(&rebuilt, "destroy ", want.name, "\n");
        RenderIpsetRestore({want}, &rebuilt);
        plan.changes.push_back(absl::StrCat("ipset: set ", want.name, " recreated (", Kind(*old),
                                            " -> ", Kind(want), "; no rule used it)"));
      } else if (!(*old == want)) {
        // The members change by add/del lines, unless the difference is larger than the
        // set (rebuilding it is shorter) or the set outgrows what it can hold: then it is
        // rebuilt under the temporary name and swapped in, which needs that name free.
        const MemberDelta delta = Delta(*old, want);
        const bool outgrown = want.size() > IpsetCapacity(old->size());
        if (delta.size() == 0) {
          // The same members, listed in another order: nothing to do.
        } else if (leftover_used || (delta.size() <= want.size() && !outgrown)) {
          AppendDelta(want.name, delta, &rebuilt);
          plan.changes.push_back(absl::StrCat(
              "ipset: set ", want.name, " updated: ", DescribeDelta(delta),
              leftover_used ? absl::StrCat(" (in place: ", temp.name, " is in use)") : ""));
        } else {
          // A leftover goes first.
          if (leftover != nullptr) {
            keep.insert(leftover->name);
            absl::StrAppend(&rebuilt, "destroy ", temp.name, "\n");
          }
          RenderIpsetRestore({temp}, &rebuilt);
          absl::StrAppend(&rebuilt, "swap ", temp.name, " ", want.name, "\n");
          absl::StrAppend(&rebuilt, "destroy ", temp.name, "\n");
          plan.changes.push_back(absl::StrCat(
              "ipset: set ", want.name, " swapped (", want.size(), " members; ",
              outgrown ? absl::StrCat("more than its maxelem, ", IpsetCapacity(old->size()))
                       : absl::StrCat("the difference is larger: ", DescribeDelta(delta)),
              ")"));
        }
      }
      // A leftover temporary set not rebuilt here is stale: the rules name the real set
      // after this round, and it is destroyed after them.
      continue;
    }

    // The set holds another type and rules name it: this round's rules name the temporary
    // set, and the old one goes after them.
    if (leftover == nullptr || !leftover_used || SameKind(*leftover, want)) {
      keep.insert(temp.name);
      if (leftover_used) {
        // Left by an interrupted run, with the new type, and in use: the live set.
        AppendDelta(temp.name, Delta(*leftover, want), &rebuilt);
        plan.changes.push_back(absl::StrCat("ipset: set ", want.name, ": the rules use ", temp.name,
                                            ", left by an interrupted run (", Kind(*old), " -> ",
                                            Kind(want), "); a second round renames it back"));
      } else {
        if (leftover != nullptr) {
          absl::StrAppend(&rebuilt, "destroy ", temp.name, "\n");
        }
        RenderIpsetRestore({temp}, &rebuilt);
        plan.changes.push_back(absl::StrCat("ipset: set ", want.name, " rebuilt as ", temp.name,
                                            " (", Kind(*old), " -> ", Kind(want),
                                            " cannot be swapped; a second round renames it back)"));
      }
      destroy_after(want.name, /*say_so=*/false);
      plan.renamed.emplace_back(want.name, std::move(temp.name));
      plan.another_round = true;
      continue;
    }
    // Both names hold the old type and rules use both (the model changed again in the middle
    // of an interrupted type change): this round points every rule at the real name, as it
    // is, which frees the temporary one; the next round rebuilds.
    plan.changes.push_back(absl::StrCat("ipset: set ", want.name, " keeps ", Kind(*old),
                                        " for one round: it and ", temp.name,
                                        " are both in use; the next round rebuilds it"));
    plan.another_round = true;
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
  plan.before_changes = plan.changes.size();
  for (absl::string_view name : stale) {
    destroy_after(name, /*say_so=*/true);
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

Plans PlanState(const Desired& desired, const ObservedState& observed, const Config& config,
                HookMode hooks) {
  Plans plans;
  plans.ipsets = PlanIpsets(desired.ipsets, observed.ipsets, config, FindSetUsers(observed));
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
    plans.rulesets.push_back(PlanRestore(*want, have->ours, have->foreign, hooks));
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
  } else if (verb == "create" || verb == "add" || verb == "del" || verb == "swap" ||
             verb == "destroy" || verb == "flush") {
    add("set ", name);
  }
  if (where.empty()) {
    return absl::StrCat("line ", line, ": ", text);
  }
  return absl::StrCat("line ", line, " (", where, "): ", text);
}

}  // namespace fiptgen
