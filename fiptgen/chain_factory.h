// Internal to the library: builds one chain at a time for one family, from the parts of the
// model the chain depends on. Holds nothing model-wide, so the generator state
// (generator_state.h) can rebuild just the chains a change touches.
//
//   ChainFactory f(model.config, model.ipsets, 4);
//   Chain c = f.EndpointChain(endpoint, ChainDir::kFrom, /*untracked=*/false);
#ifndef FIPTGEN_CHAIN_FACTORY_H_
#define FIPTGEN_CHAIN_FACTORY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "fiptgen/append.h"
#include "fiptgen/layout.h"
#include "fiptgen/model.h"
#include "fiptgen/names.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// The text of a profile's rule list that is the same in every family: each rule's
// positive multiport runs (source, then destination) and what follows them (the negated
// runs and the target). The first family's factory to write the list's chain fills it,
// rule by rule as it meets them; the other family's copies the rules' text from it
// instead of writing it again. The generator state keeps one per direction while it
// builds one profile's chains for every family; given another list, it starts over.
class RuleListText {
 public:
  void Clear() {
    list_ = nullptr;
    text_.clear();
    entry_.clear();
    ends_.clear();
  }

 private:
  friend class ChainFactory;
  static constexpr uint32_t kNone = UINT32_MAX;
  const std::vector<PolicyRule>* list_ = nullptr;  // the rules it holds the text of
  TextBuffer text_;
  // Per rule of the list, where its entry starts in ends_, or kNone before it is written.
  // An entry is the number of source runs, the number of destination runs, then where
  // each source run, each destination run and the tail end in text_ (a rule's text
  // starts where the one before it that was written ends).
  std::vector<uint32_t> entry_;
  std::vector<uint32_t> ends_;
};

class ChainFactory {
 public:
  // `config` and `ipsets` must outlive the factory.
  ChainFactory(const Config& config, const std::vector<IpSetModel>& ipsets, int family);

  int family() const { return family_; }
  const Namer& namer() const { return namer_; }

  // A hooked chain of the layout (layout.h): raw P PREROUTING and P OUTPUT (`untracked`),
  // filter P INPUT, P OUTPUT and P FORWARD.
  Chain HookedChain(FixedChain chain, bool untracked) const;
  // P FAILSAFE-IN (kFrom) / P FAILSAFE-OUT (kTo) of the untracked (raw) or tracked table.
  Chain Failsafe(ChainDir dir, bool untracked) const;
  // P from-<n> / P to-<n> of the untracked (raw) or tracked table.
  Chain EndpointChain(const Endpoint& e, ChainDir dir, bool untracked) const;
  // A profile's -i or -o chain; appends to `used_sets` each set a written rule names that
  // is not in it yet: the factory's own copy of the name, which lives as long as it does
  // (one copy of each name: the same set is the same address).
  // `shared` holds (or is given) the text of the rules that every family shares: pass the
  // same one to each family's factory for one profile and direction.
  Chain ProfileChain(const Profile& profile, RuleDir dir,
                     std::vector<const std::string*>* used_sets, RuleListText* shared) const;

 private:
  class ChainWriter;
  // Where a set match's name comes from: the tag's or explicit set's name, made once (a
  // long name costs a SHA-256), or nullptr for an explicit set of the other family.
  const std::string* TagSetName(const std::string& tag) const;
  const std::string& ProfileChainName(const std::string& id, RuleDir dir) const;
  Chain RawHookChain(FixedChain chain, ChainDir dir) const;
  Chain HostChainHead(FixedChain chain, ChainDir dir) const;
  Chain FilterInput() const;
  Chain FilterForward() const;
  void AddPolicyRules(const std::vector<PolicyRule>& rules, ChainWriter* chain,
                      std::vector<const std::string*>* used_sets, RuleListText* shared) const;
  // Writes rule `index`'s family-independent text into `shared` (RuleListText); returns
  // where its entry starts in shared->ends_.
  uint32_t WriteSharedText(const PolicyRule& rule, size_t index, RuleListText* shared) const;
  // Appends to `out` the rule's matches (addresses, protocol, ICMP, sets), each piece
  // starting with a space, or returns false when the rule has no place in this family.
  bool RuleMatches(const PolicyRule& rule, TextBuffer* out,
                   std::vector<const std::string*>* used_sets) const;
  void AppendSetMatch(const SetMatch& m, TextBuffer* out, std::vector<const std::string*>* sets,
                      bool* in_family) const;

  struct ExplicitSet {
    const IpSetModel* model;
    std::string name;  // Namer::ExplicitSet
  };

  const Config& config_;
  const int family_;
  Namer namer_;
  // Node maps: rules keep pointers to the names while a chain is built.
  absl::node_hash_map<std::string, ExplicitSet> ipsets_by_name_;
  mutable absl::node_hash_map<std::string, std::string> tag_sets_;  // tag -> set name
  // profile id -> its -i and -o chain names
  mutable absl::flat_hash_map<std::string, std::pair<std::string, std::string>> profile_chains_;
  // Reused across chains and rules, so building a chain allocates only the chain itself.
  mutable TextBuffer body_, head_;
  mutable std::vector<const std::string*> rule_sets_;
  std::string accept_mask_;  // config.mark_accept in hex
  std::string set_accept_, spaced_set_accept_, clear_accept_, if_accept_;
  std::string set_endpoint_, clear_endpoint_, if_not_endpoint_;
  std::string wildcard_;
};

}  // namespace fiptgen

#endif  // FIPTGEN_CHAIN_FACTORY_H_
