// Internal to the library: builds one chain at a time for one family, from the parts of the
// model the chain depends on. Holds nothing model-wide, so the generator state
// (generator_state.h) can rebuild just the chains a change touches.
//
//   ChainFactory f(model.config, model.ipsets, 4);
//   Chain c = f.EndpointChain(endpoint, ChainDir::kFrom, /*untracked=*/false);
#ifndef FIPTGEN_CHAIN_FACTORY_H_
#define FIPTGEN_CHAIN_FACTORY_H_

#include <array>
#include <memory>
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

// The text of profile rule lists that is the same in every family: each rule's positive
// multiport runs (source, then destination; their ports only, "80,443,8000:8080", since
// their match is the same text for every run) and what follows them (the negated runs and a
// log rule's target; an allow or deny rule's is the same for every rule). The first family's
// factory to write a list's chain fills the list's entries, rule by rule as it meets them; the
// other family's copies the rules' text from it instead of writing it again. It holds any number of
// lists, each found by its rules' address: the generator state's own holds one profile's at a time,
// while it builds that profile's chains for every family (Clear in between); GenerateEachFamily's
// holds every list from one family's state to the next.
class RuleListText {
 public:
  void Clear() {
    lists_.clear();
    text_.clear();
    entry_.clear();
    ends_.clear();
  }

 private:
  friend class ChainFactory;
  static constexpr uint32_t kNone = UINT32_MAX;
  // Per list (its rules' address), where its rules' slots start in entry_.
  absl::flat_hash_map<const std::vector<PolicyRule>*, uint32_t> lists_;
  TextBuffer text_;
  // Per rule of each list, where its entry starts in ends_, or kNone before it is written.
  // An entry is the number of source runs, the number of destination runs, then where
  // each source run, each destination run and the tail end in text_ (a rule's text
  // starts where the entry written before it ends).
  std::vector<uint32_t> entry_;
  std::vector<uint32_t> ends_;
};

// Each profile's two chain names (-i, -o) by its id: the same in every family, so made once
// for every family's factory (a long id costs a SHA-256).
using ProfileChainNames = absl::flat_hash_map<std::string, std::pair<std::string, std::string>>;

class ChainFactory {
 public:
  // `config` and `ipsets` must outlive the factory; so must `profile_chains` when given,
  // which the factory fills and reads (share one among the families' factories), else it
  // keeps its own.
  ChainFactory(const Config& config, const std::vector<IpSetModel>& ipsets, int family,
               ProfileChainNames* profile_chains = nullptr);

  int family() const { return family_; }
  const Namer& namer() const { return namer_; }

  // A hooked chain of the layout (layout.h): raw P PREROUTING and P OUTPUT (`untracked`),
  // filter P INPUT, P OUTPUT and P FORWARD.
  Chain HookedChain(FixedChain chain, bool untracked) const;
  // P FAILSAFE-IN (kFrom) / P FAILSAFE-OUT (kTo) of the untracked (raw) or tracked table.
  Chain Failsafe(ChainDir dir, bool untracked) const;
  // P from-<n> / P to-<n> of the untracked (raw) or tracked table. `suffix`, when given,
  // is the endpoint's Namer::EndpointSuffix (made once for all its chains).
  Chain EndpointChain(const Endpoint& e, ChainDir dir, bool untracked,
                      const std::string* suffix = nullptr) const;
  // A profile's -i or -o chain; appends to `used_sets` each set a written rule names that
  // is not in it yet: the factory's own copy of the name, which lives as long as it does
  // (one copy of each name: the same set is the same address).
  // `shared` holds (or is given) the text of the rules that every family shares: pass the
  // same one to each family's factory.
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
  // Writes the rule's family-independent text into `shared` (RuleListText) and sets its
  // slot there, entry_[slot]; returns where its entry starts in shared->ends_.
  uint32_t WriteSharedText(const PolicyRule& rule, size_t slot, RuleListText* shared) const;
  // Appends to `out` the rule's matches (addresses, protocol, ICMP, sets), each piece
  // starting with a space, or returns false when the rule has no place in this family
  // (having maybe appended some: the caller drops them).
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
  std::unique_ptr<ProfileChainNames> own_profile_chains_;           // when none is given
  ProfileChainNames* profile_chains_;
  // Reused across chains and rules, so building a chain allocates only the chain itself.
  mutable TextBuffer body_;
  mutable std::vector<const std::string*> rule_sets_;
  std::string accept_mask_;  // config.mark_accept in hex
  std::string set_accept_, spaced_set_accept_, clear_accept_, if_accept_;
  std::string return_if_accepted_;  // the line after each allow rule and profile jump,
                                    // after its newline (ChainWriter)
  std::string set_endpoint_, clear_endpoint_, if_not_endpoint_;
  std::string wildcard_;
  // ProtocolSaveName of every protocol number (0-255, as the model holds them): looked up
  // for most rules of every profile chain.
  std::array<absl::string_view, 256> protocol_names_;
};

}  // namespace fiptgen

#endif  // FIPTGEN_CHAIN_FACTORY_H_
