// Internal to the library: builds one chain at a time for one family, from the parts of the
// model the chain depends on. Holds nothing model-wide, so the generator state
// (generator_state.h) can rebuild just the chains a change touches.
//
//   ChainFactory f(model.config, model.ipsets, 4);
//   Chain c = f.EndpointChain(endpoint, ChainDir::kFrom, /*untracked=*/false);
#ifndef FIPTGEN_CHAIN_FACTORY_H_
#define FIPTGEN_CHAIN_FACTORY_H_

#include <algorithm>
#include <array>
#include <cassert>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
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
//
// It also numbers the sets the rules name. A rule's set match is looked up by its name once,
// by the family that writes the rule's entry, which keeps the set's number; after that the
// set is a number, for every family. A set of one family is a slot, number * 2 +
// (family == 6): what ProfileChain hands out as used, and what the generator state counts
// the users of (an index, not a name hashed and compared).
class RuleListText {
 public:
  // Forgets the lists and their text; the sets keep their numbers.
  void Clear() {
    lists_.clear();
    text_.clear();
    entry_.clear();
    ends_.clear();
  }

  // Room for the text of `rules` rules, made at once: the text shared by every family is
  // kept for the whole model (GenerateEachFamily), and grown by doubling it was copied on
  // the way, 5 MB on a large model. make_model's rules take ~32 bytes of text and ~4.3
  // words of entry each; reserved memory that is never written is never faulted in.
  void Reserve(size_t rules) {
    entry_.reserve(entry_.size() + rules);
    ends_.Reserve(rules * 6);
    text_.Reserve(rules * 40);
  }

  static uint32_t SetSlot(uint32_t set, int family) { return set * 2 + (family == 6 ? 1 : 0); }
  // Slots of every set numbered so far: each slot handed out is below this.
  size_t set_slots() const { return sets_.size() * 2; }
  // The name of the set of a slot handed out (Namer::TagSet or Namer::ExplicitSet).
  const std::string& set_name(uint32_t slot) const { return sets_[slot / 2].name[slot % 2]; }

 private:
  friend class ChainFactory;
  static constexpr uint32_t kNone = UINT32_MAX;
  // Per list (its rules' address), where its rules' slots start in entry_.
  absl::flat_hash_map<const std::vector<PolicyRule>*, uint32_t> lists_;
  TextBuffer text_;
  // Per rule of each list, where its entry starts in ends_, or kNone before it is written.
  // An entry is the number of source runs, the number of destination runs, the number of
  // each of the rule's set matches' sets (sets_), then where each source run, each
  // destination run and the tail end in text_ (a rule's text starts where the entry
  // written before it ends).
  std::vector<uint32_t> entry_;
  // Grown by Extend, which leaves the new words for the caller to write: a rule's entry is
  // written in place, in room for the most it can take, then cut to what it took
  // (std::vector's resize would zero-fill them, through a call, for every rule).
  class Words {
   public:
    size_t size() const { return size_; }
    const uint32_t* data() const { return data_.get(); }
    uint32_t operator[](size_t i) const { return data_[i]; }
    void clear() { size_ = 0; }
    // As TextBuffer's (append.h): n <= size(), what Extend made room for.
    void Truncate(size_t n) {
      assert(n <= size_ && "Truncate past what Extend made room for");
      size_ = n;
    }
    void Reserve(size_t n) {
      if (capacity_ - size_ < n) {
        Reallocate(size_ + n);
      }
    }
    uint32_t* Extend(size_t n) {
      if (capacity_ - size_ < n) {
        Reallocate(std::max(2 * capacity_, size_ + n + 256));
      }
      size_ += n;
      return data_.get() + size_ - n;
    }

   private:
    void Reallocate(size_t capacity) {
      capacity_ = capacity;
      std::unique_ptr<uint32_t[]> grown(new uint32_t[capacity_]);
      std::copy(data_.get(), data_.get() + size_, grown.get());
      data_ = std::move(grown);
    }

    std::unique_ptr<uint32_t[]> data_;
    size_t size_ = 0;
    size_t capacity_ = 0;
  };
  Words ends_;
  // A set a rule names: a tag's, which every family has, or an explicit set of one family.
  struct Set {
    int family = 0;       // an explicit set's; 0 for a tag's
    std::string name[2];  // [family == 6]; "" in a family the set is not of
  };
  std::vector<Set> sets_;
  // By name, per SetMatch::Kind: the set's number in sets_.
  absl::flat_hash_map<std::string, uint32_t> set_numbers_[2];
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
  // A profile's -i or -o chain; appends to `used_sets` each set a written rule names, once
  // per chain: its slot in `shared` (RuleListText::set_name names it).
  // `shared` holds (or is given) the text of the rules that every family shares, and
  // numbers their sets: pass the same one to each family's factory.
  Chain ProfileChain(const Profile& profile, RuleDir dir, std::vector<uint32_t>* used_sets,
                     RuleListText* shared) const;

 private:
  class ChainWriter;
  // The number of the match's set in `shared`, numbered (and named, for every family) when
  // first met.
  uint32_t SetNumber(const SetMatch& m, RuleListText* shared) const;
  const std::string& ProfileChainName(const std::string& id, RuleDir dir) const;
  Chain RawHookChain(FixedChain chain, ChainDir dir) const;
  Chain HostChainHead(FixedChain chain, ChainDir dir) const;
  Chain FilterInput() const;
  Chain FilterForward() const;
  void AddPolicyRules(const std::vector<PolicyRule>& rules, ChainWriter* chain,
                      std::vector<uint32_t>* used_sets, RuleListText* shared) const;
  // Writes the rule's family-independent text and its sets' numbers into `shared`
  // (RuleListText) and sets its slot there, entry_[slot]; returns where its entry starts
  // in shared->ends_.
  uint32_t WriteSharedText(const PolicyRule& rule, size_t slot, RuleListText* shared) const;
  // Appends to `out` the rule's matches (addresses, protocol, ICMP, sets: `set_numbers`,
  // one per rule.sets), each piece starting with a space, or returns false when the rule
  // has no place in this family (having maybe appended some: the caller drops them).
  bool RuleMatches(const PolicyRule& rule, const uint32_t* set_numbers, const RuleListText& shared,
                   TextBuffer* out, std::vector<uint32_t>* used_sets) const;

  struct ExplicitSet {
    const IpSetModel* model;
    std::string name;  // Namer::ExplicitSet
  };

  const Config& config_;
  const int family_;
  Namer namer_;
  absl::flat_hash_map<std::string, ExplicitSet> ipsets_by_name_;
  std::unique_ptr<ProfileChainNames> own_profile_chains_;  // when none is given
  ProfileChainNames* profile_chains_;
  // Reused across chains and rules, so building a chain allocates only the chain itself.
  mutable TextBuffer body_;
  mutable std::vector<uint32_t> rule_sets_;
  // Per set slot, the last chain (chains_made_) that named it: each set once per chain.
  mutable std::vector<uint32_t> set_seen_;
  mutable uint32_t chains_made_ = 0;
  std::string accept_mask_;  // config.mark_accept in hex
  std::string set_accept_, spaced_set_accept_, clear_accept_, if_accept_;
  // An allow rule's target and the RETURN line after it: the end of its last line.
  std::string allow_end_;
  std::string return_if_accepted_;  // the line after each allow rule and profile jump,
                                    // after its newline (ChainWriter)
  std::string set_endpoint_, clear_endpoint_, if_not_endpoint_;
  std::string wildcard_;
  // " -p " and ProtocolSaveName of every protocol number (0-255, as the model holds them):
  // looked up for most rules of every profile chain.
  // Each kept in 32 bytes and copied as 32, a copy the compiler inlines (a string's is a
  // call to memcpy of its size). Indexed by the rule's byte: no number is out of range.
  struct ProtocolMatch {
    char text[32] = {};
    size_t size = 0;
  };
  std::array<ProtocolMatch, 256> protocol_matches_;
};

}  // namespace fiptgen

#endif  // FIPTGEN_CHAIN_FACTORY_H_
