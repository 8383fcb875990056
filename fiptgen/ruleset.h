// The generator's product and the planner's input: tables of chains of rules, and sets,
// before any text is written. Desired state (from the generator) and observed state (parsed
// from `iptables-save`) are made of these same structures.
//
// A rule is kept in the canonical form `iptables-save` prints, without its "-A <chain> "
// head, so that desired and observed state compare with plain string equality. A chain's rules live
// in one buffer, one rule a line: cheap to build, to compare and to render.
//
//   Chain c{"felix-INPUT"};
//   c.AddRule("-m conntrack --ctstate INVALID -j DROP");
//   // c.body() == "-m conntrack --ctstate INVALID -j DROP\n"
#ifndef FIPTGEN_RULESET_H_
#define FIPTGEN_RULESET_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fiptgen/append.h"
#include "fiptgen/net.h"
#include "fiptgen/rule_text.h"

namespace fiptgen {

class Chain {
 public:
  Chain() = default;
  explicit Chain(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  // Every rule, each ended by '\n'.
  const std::string& body() const { return body_; }
  size_t rule_count() const { return rule_count_; }

  // Appends one rule made of the concatenation of `parts` (no trailing newline).
  template <typename... Parts>
  void AddRule(const Parts&... parts) {
    Append(parts...);
    ++rule_count_;
  }
  // Appends one rule made of pieces that each start with a space; the first is dropped.
  template <typename... Parts>
  void AddSpacedRule(const Parts&... parts) {
    const size_t start = body_.size();
    Append(parts...);
    body_.erase(start, 1);
    ++rule_count_;
  }

  // Calls fn(absl::string_view rule) for each rule, without its newline.
  template <typename Fn>
  void ForEachRule(Fn fn) const {
    for (absl::string_view rest = body_; !rest.empty();) {
      fn(NextLine(&rest));
    }
  }

  // Replaces the whole body; `body` must be newline-terminated rules.
  void SetBody(std::string body, size_t rule_count) {
    body_ = std::move(body);
    rule_count_ = rule_count;
  }

  friend bool operator==(const Chain& a, const Chain& b) {
    return a.name_ == b.name_ && a.body_ == b.body_;
  }

 private:
  // AppendPieces, not StrAppend: see append.h.
  template <typename... Parts>
  void Append(const Parts&... parts) {
    AppendPieces(&body_, parts...);
    body_.push_back('\n');
  }

  std::string name_;
  std::string body_;
  size_t rule_count_ = 0;
};

// A jump from a kernel built-in chain into ours, e.g. INPUT -> felix-INPUT. Rendered as
// "-I INPUT 1 -j felix-INPUT"; iptables-save prints it back as "-A INPUT -j felix-INPUT".
struct Hook {
  std::string builtin;
  std::string target;
  // Observed state only: how many rules that are not ours come before it in its built-in
  // chain (0 in desired state, and when not known). Hooks are kept first (plan.h).
  int foreign_rules_before = 0;
  friend bool operator==(const Hook& a, const Hook& b) {
    return a.builtin == b.builtin && a.target == b.target;
  }
};

struct Table {
  std::string name;           // "raw" or "filter"
  std::vector<Hook> hooks;    // in order
  std::vector<Chain> chains;  // in output order: global, dispatch, endpoints, profiles
};

// One family's desired iptables state: the raw table, then the filter table.
struct Ruleset {
  int family = 4;  // 4 or 6
  std::vector<Table> tables;
};

// One ipset. Members are values, sorted (IpNet's order) and each once; their text is the
// `ipset save` form (IpNet::WriteMemberText), made only when written. `other` holds what an
// observed set has that is not an address of its family, verbatim and sorted, listed after
// the members; a desired set has none.
struct IpSetSpec {
  std::string name;
  std::string type;  // "hash:ip" or "hash:net"
  int family = 4;
  std::vector<IpNet> members;
  std::vector<std::string> other;
  size_t size() const { return members.size() + other.size(); }
  friend bool operator==(const IpSetSpec& a, const IpSetSpec& b) {
    return a.name == b.name && a.type == b.type && a.family == b.family && a.members == b.members &&
           a.other == b.other;
  }
};

// Everything the generator produces for a model: what `Generate` returns, what the renderer
// writes and what a plan compares against the observed state.
struct Desired {
  std::vector<Ruleset> rulesets;  // one per family of config.families, in order 4, 6
  std::vector<IpSetSpec> ipsets;  // every set a rule uses, sorted by name

  // The ruleset of `family`, or nullptr when that family is not enabled.
  const Ruleset* ForFamily(int family) const {
    for (const Ruleset& rs : rulesets) {
      if (rs.family == family) {
        return &rs;
      }
    }
    return nullptr;
  }
};

}  // namespace fiptgen

#endif  // FIPTGEN_RULESET_H_
