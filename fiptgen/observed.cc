#include "fiptgen/observed.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "fiptgen/net.h"
#include "fiptgen/rule_text.h"

namespace fiptgen {
namespace {

// Calls fn(line_number, line) for each line of save text (1-based, without its newline);
// stops at the first error fn returns. A rule whose quoted argument holds newlines is one
// line (NextSaveLine), each of those newlines written as the two characters \n: it stays one
// rule, can never pass for a rule or hook of its own, and never equals a rule we write
// (AppendQuotedArg escapes every backslash it writes).
template <typename Fn>
absl::Status ForEachLine(absl::string_view text, Fn fn) {
  std::string joined;
  for (int number = 1; !text.empty();) {
    absl::string_view line = NextSaveLine(&text);
    int lines = 1;
    if (line.find('\n') != absl::string_view::npos) {
      lines += static_cast<int>(std::count(line.begin(), line.end(), '\n'));
      joined = absl::StrReplaceAll(line, {{"\n", "\\n"}});
      line = joined;
    }
    absl::Status status = fn(number, line);
    if (!status.ok()) {
      return status;
    }
    number += lines;
  }
  return absl::OkStatus();
}

// Where each chain of the table being read lives.
struct ChainSlot {
  bool ours = false;
  bool builtin = false;
  size_t index = 0;  // into ours.chains or foreign.chains
};

class SaveParser {
 public:
  // `whole`: nothing is ours (ParseIptablesSaveWhole).
  SaveParser(int family, absl::string_view chain_prefix, bool whole)
      : source_(family == 6 ? "ip6tables-save" : "iptables-save"),
        prefix_(chain_prefix),
        whole_(whole) {
    result_.ours.family = family;
  }

  absl::Status Line(int number, absl::string_view line) {
    line_ = number;
    if (line.empty() || line[0] == '#') {
      return absl::OkStatus();
    }
    if (line[0] == '*') {
      return StartTable(line.substr(1));
    }
    if (line == "COMMIT") {
      return Commit();
    }
    if (!in_table_) {
      return Error(absl::StrCat("\"", line, "\" outside a table"));
    }
    if (line[0] == ':') {
      return DeclareChain(line.substr(1));
    }
    // `iptables-save -c` puts "[packets:bytes] " before each rule.
    if (line[0] == '[') {
      size_t end = line.find("] ");
      if (end == absl::string_view::npos) {
        return Error("unterminated counters");
      }
      line.remove_prefix(end + 2);
    }
    if (absl::StartsWith(line, "-A ")) {
      return AddRule(line.substr(3));
    }
    return Error(absl::StrCat("unexpected line \"", line, "\""));
  }

  absl::StatusOr<ObservedRuleset> Finish() {
    if (in_table_) {
      return absl::InvalidArgumentError(absl::StrCat(source_, ":", table_line_, ": table ",
                                                     result_.ours.tables.back().name,
                                                     " has no COMMIT"));
    }
    return std::move(result_);
  }

 private:
  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ":", line_, ": ", message));
  }

  absl::Status StartTable(absl::string_view name) {
    if (in_table_) {
      return Error("table starts before the previous one's COMMIT");
    }
    if (name.empty()) {
      return Error("table has no name");
    }
    for (const Table& t : result_.ours.tables) {
      if (t.name == name) {
        return Error(absl::StrCat("table ", name, " appears twice"));
      }
    }
    result_.ours.tables.push_back(Table{std::string(name), {}, {}});
    result_.foreign.push_back(Table{std::string(name), {}, {}});
    slots_.clear();
    last_ = nullptr;
    in_table_ = true;
    table_line_ = line_;
    return absl::OkStatus();
  }

  absl::Status Commit() {
    if (!in_table_) {
      return Error("COMMIT outside a table");
    }
    in_table_ = false;
    return absl::OkStatus();
  }

  // "<name> <policy> [<packets>:<bytes>]"; the policy of a user chain is "-".
  absl::Status DeclareChain(absl::string_view rest) {
    RuleTokenizer words(rest);
    RuleToken name, policy;
    if (!words.Next(&name) || !words.Next(&policy)) {
      return Error("chain declaration without a policy");
    }
    if (slots_.contains(name.raw)) {
      return Error(absl::StrCat("chain ", name.raw, " declared twice"));
    }
    ChainSlot slot;
    slot.builtin = policy.value != "-";
    slot.ours = !whole_ && !slot.builtin && absl::StartsWith(name.raw, prefix_);
    if (slot.builtin) {
      result_.policies.push_back(ChainPolicy{result_.ours.tables.back().name, std::string(name.raw),
                                             std::string(policy.value)});
    }
    std::vector<Chain>& chains =
        slot.ours ? result_.ours.tables.back().chains : result_.foreign.back().chains;
    slot.index = chains.size();
    chains.emplace_back(std::string(name.raw));
    slots_.emplace(std::string(name.raw), slot);
    last_ = nullptr;  // the map may have moved its entries
    return absl::OkStatus();
  }

  // "<chain> <rule>" or just "<chain>" for a rule with neither match nor target. Chain
  // names are taken as written: iptables-save prints them bare.
  absl::Status AddRule(absl::string_view text) {
    RuleTokenizer words(text);
    RuleToken chain;
    words.Next(&chain);
    // iptables-save prints a chain's rules together: most rules are for the chain before.
    if (last_ == nullptr || last_->first != chain.raw) {
      auto it = slots_.find(chain.raw);
      if (it == slots_.end()) {
        return Error(absl::StrCat("rule for undeclared chain \"", chain.raw, "\""));
      }
      last_ = &*it;
    }
    const absl::string_view rule = words.rest();
    const ChainSlot& slot = last_->second;
    if (slot.ours) {
      result_.ours.tables.back().chains[slot.index].AddRule(rule);
      return absl::OkStatus();
    }
    // A hook is a rule of a built-in chain that is exactly "-j <our chain>".
    if (slot.builtin && !whole_) {
      RuleTokenizer hook(rule);
      RuleToken jump, target, more;
      if (hook.Next(&jump) && jump.raw == "-j" && hook.Next(&target) && !hook.Next(&more) &&
          target.raw == target.value && absl::StartsWith(target.value, prefix_)) {
        const int before = static_cast<int>(result_.foreign.back().chains[slot.index].rule_count());
        result_.ours.tables.back().hooks.push_back(
            Hook{std::string(chain.raw), std::string(target.value), before});
        return absl::OkStatus();
      }
    }
    result_.foreign.back().chains[slot.index].AddRule(rule);
    return absl::OkStatus();
  }

  const absl::string_view source_;
  const absl::string_view prefix_;
  const bool whole_;
  ObservedRuleset result_;
  absl::flat_hash_map<std::string, ChainSlot> slots_;              // chains of the current table
  const std::pair<const std::string, ChainSlot>* last_ = nullptr;  // the last rule's chain
  bool in_table_ = false;
  int line_ = 0;
  int table_line_ = 0;
};

absl::StatusOr<ObservedRuleset> ParseSave(absl::string_view text, SaveParser parser) {
  absl::Status status = ForEachLine(
      text, [&parser](int number, absl::string_view line) { return parser.Line(number, line); });
  if (!status.ok()) {
    return status;
  }
  return parser.Finish();
}

}  // namespace

const ObservedRuleset* ObservedState::ForFamily(int family) const {
  for (const ObservedRuleset& rs : rulesets) {
    if (rs.ours.family == family) {
      return &rs;
    }
  }
  return nullptr;
}

ObservedState RememberedState(const Desired& applied) {
  ObservedState state;
  for (const Ruleset& rs : applied.rulesets) {
    state.rulesets.push_back(ObservedRuleset{rs, {}, {}});
  }
  state.ipsets = applied.ipsets;
  return state;
}

void AppendListingAsSave(absl::string_view table, absl::string_view listing, std::string* out) {
  absl::StrAppend(out, "*", table, "\n");
  while (!listing.empty()) {
    absl::string_view line = NextSaveLine(&listing);
    if (absl::ConsumePrefix(&line, "-P ")) {  // "-P INPUT ACCEPT"
      const size_t space = line.find(' ');
      absl::StrAppend(out, ":", line.substr(0, space), " ",
                      space == absl::string_view::npos ? "ACCEPT" : line.substr(space + 1),
                      " [0:0]\n");
    } else if (absl::ConsumePrefix(&line, "-N ")) {
      absl::StrAppend(out, ":", line, " - [0:0]\n");
    } else if (!line.empty() && line[0] != '#') {
      absl::StrAppend(out, line, "\n");
    }
  }
  out->append("COMMIT\n");
}

absl::StatusOr<ObservedRuleset> ParseIptablesSave(absl::string_view text, int family,
                                                  absl::string_view chain_prefix) {
  return ParseSave(text, SaveParser(family, chain_prefix, /*whole=*/false));
}

absl::StatusOr<ObservedRuleset> ParseIptablesSaveWhole(absl::string_view text, int family) {
  return ParseSave(text, SaveParser(family, "", /*whole=*/true));
}

absl::StatusOr<std::vector<IpSetSpec>> ParseIpsetSave(absl::string_view text,
                                                      absl::string_view ipset_prefix) {
  std::vector<IpSetSpec> sets;
  // Every set named by a create line; -1 for sets that are not ours.
  absl::flat_hash_map<std::string, int> index;
  auto error = [](int number, absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat("ipset save:", number, ": ", message));
  };
  absl::Status status = ForEachLine(text, [&](int number, absl::string_view line) {
    absl::string_view rest = absl::StripTrailingAsciiWhitespace(line);
    if (rest.empty() || rest[0] == '#') {
      return absl::OkStatus();
    }
    RuleTokenizer words(rest);
    RuleToken verb, name, type;
    words.Next(&verb);
    if (!words.Next(&name)) {
      return error(number, absl::StrCat("\"", line, "\" names no set"));
    }
    if (verb.value == "create") {
      if (!words.Next(&type)) {
        return error(number, absl::StrCat("set \"", name.raw, "\" has no type"));
      }
      if (index.contains(name.raw)) {
        return error(number, absl::StrCat("set \"", name.raw, "\" created twice"));
      }
      if (!absl::StartsWith(name.raw, ipset_prefix)) {
        index.emplace(std::string(name.raw), -1);
        return absl::OkStatus();
      }
      IpSetSpec set;
      set.name = std::string(name.raw);
      set.type = std::string(type.raw);
      set.family = 0;  // a set type without a family (list:set, bitmap:port)
      for (RuleToken option, family; words.Next(&option);) {
        if (option.value != "family" || !words.Next(&family)) {
          continue;
        }
        if (family.value == "inet") {
          set.family = 4;
        } else if (family.value == "inet6") {
          set.family = 6;
        } else {
          return error(number,
                       absl::StrCat("set \"", name.raw, "\": unknown family \"", family.raw, "\""));
        }
      }
      index.emplace(std::string(name.raw), static_cast<int>(sets.size()));
      sets.push_back(std::move(set));
      return absl::OkStatus();
    }
    if (verb.value == "add") {
      auto it = index.find(name.raw);
      if (it == index.end()) {
        return error(number, absl::StrCat("add to unknown set \"", name.raw, "\""));
      }
      if (it->second < 0) {
        return absl::OkStatus();
      }
      absl::string_view member = words.rest();
      if (member.empty()) {
        return error(number, absl::StrCat("add to \"", name.raw, "\" without a member"));
      }
      IpSetSpec& set = sets[it->second];
      absl::StatusOr<IpNet> net = ParseIpNet(member, set.family);
      if (set.family != 0 && net.ok()) {
        set.members.push_back(*net);
      } else {
        set.other.emplace_back(member);
      }
      return absl::OkStatus();
    }
    return error(number, absl::StrCat("unexpected line \"", line, "\""));
  });
  if (!status.ok()) {
    return status;
  }
  for (IpSetSpec& set : sets) {
    std::sort(set.members.begin(), set.members.end());
    std::sort(set.other.begin(), set.other.end());
  }
  return sets;
}

}  // namespace fiptgen
