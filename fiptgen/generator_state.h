// Internal to the library: the generator's working state. Every chain of every table of
// every family is kept in an ordered map whose order is the output order, together with
// what each piece was built from (profile use counts, dispatch entries, tag members), so
// that a change to one endpoint rebuilds only the chains that depend on it. `Generate`
// builds the whole state once and hands out its chains; `IncrementalGenerator` keeps it.
#ifndef FIPTGEN_GENERATOR_STATE_H_
#define FIPTGEN_GENERATOR_STATE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "fiptgen/chain_factory.h"
#include "fiptgen/layout.h"
#include "fiptgen/model.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// The 8 bytes of `s` from `at` on, zero-padded past its end, as a big-endian number: keys
// that differ there order as their strings do (std::string compares bytes as unsigned), so
// a sort or a map compares one integer first and the strings only when it is equal.
inline uint64_t BigEndianWord(const std::string& s, size_t at) {
  uint64_t word = 0;
  for (size_t i = at; i < at + 8; ++i) {
    word = word << 8 | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0);
  }
  return word;
}

// Where a chain sits in its table's output: its section of the layout (layout.h), then
// `slot`, `key` and `sub`, which order the chains within a section.
struct ChainKey {
  Section section = Section::kHooked;
  int slot = 0;     // kHooked: index in the table's hooked list; kFailsafe: ChainDir;
                    // kDispatch: index of the tree's root in the table's dispatch list;
                    // kProfiles: the profile's index in model.profiles, which is in id
                    // order (profiles never change in a state): no string compares among
                    // 10,000 profile chains
  std::string key;  // kDispatch: "" for the root, else "+" and the subchain's name less
                    // DispatchTree::subchain_prefix;
                    // kEndpoints: endpoint suffix
  int sub = 0;      // kEndpoints: ChainDir; kProfiles: RuleDir
  // The key's first 8 bytes, zero-padded, as a big-endian number: it orders keys that
  // differ there (most endpoint suffixes) as their strings do, without a string compare's
  // call and memcmp at each step down a map of 50,000 chains.
  uint64_t key_head = 0;

  static ChainKey Hooked(size_t index) {
    return Make(Section::kHooked, static_cast<int>(index), {}, 0);
  }
  static ChainKey Failsafe(ChainDir dir) {
    return Make(Section::kFailsafe, static_cast<int>(dir), {}, 0);
  }
  static ChainKey Dispatch(size_t tree, std::string subchain) {
    return Make(Section::kDispatch, static_cast<int>(tree), std::move(subchain), 0);
  }
  static ChainKey EndpointChain(std::string suffix, ChainDir dir) {
    return Make(Section::kEndpoints, 0, std::move(suffix), static_cast<int>(dir));
  }
  static ChainKey ProfileChain(size_t profile_index, RuleDir dir) {
    return Make(Section::kProfiles, static_cast<int>(profile_index), {}, static_cast<int>(dir));
  }

  friend bool operator<(const ChainKey& a, const ChainKey& b) {
    if (a.section != b.section) {
      return a.section < b.section;
    }
    if (a.slot != b.slot) {
      return a.slot < b.slot;
    }
    if (a.key_head != b.key_head) {
      return a.key_head < b.key_head;
    }
    // One compare of the keys (most are empty, or differ in their first bytes).
    if (const int c = a.key.compare(b.key); c != 0) {
      return c < 0;
    }
    return a.sub < b.sub;
  }

 private:
  static ChainKey Make(Section section, int slot, std::string key, int sub) {
    const uint64_t head = BigEndianWord(key, 0);
    return {section, slot, std::move(key), sub, head};
  }
};

// A dispatch tree's entries (interface -> the endpoint chain's suffix, Namer::EndpointSuffix:
// the chain is DispatchTree::endpoint_chain_stem and the suffix, and a suffix of at most 16
// bytes needs no allocation, where the whole name would), sorted by interface. They are
// indices into a pool, so adding or removing one among 10,000 moves 4-byte indices, not
// strings.
class DispatchEntries {
 public:
  size_t size() const { return order_.size(); }
  const std::string& interface(size_t i) const { return pool_[order_[i]].first; }
  const std::string& suffix(size_t i) const { return pool_[order_[i]].second; }
  // Room for `n` entries, for building.
  void Reserve(size_t n) {
    pool_.reserve(n);
    order_.reserve(n);
  }
  // Append then Sort once, for building; Insert and Erase keep the order.
  void Append(std::string interface, std::string suffix);
  void Sort();
  void Insert(std::string interface, std::string suffix);
  void Erase(const std::string& interface);

 private:
  size_t LowerBound(const std::string& interface) const;

  std::vector<std::pair<std::string, std::string>> pool_;
  std::vector<uint32_t> order_;
  std::vector<uint32_t> free_;
};

// A dispatch chain of the layout and the prefix tree it grows into (Felix's EP-PFX chains).
struct DispatchTree {
  const DispatchRoot* layout = nullptr;  // root, direction, group, subchain base, last rule
  size_t index = 0;                      // in its table's dispatch list: its ChainKey slot
  std::string root;                      // e.g. felix-FROM-ENDPOINT
  // What the endpoint chains the tree jumps to are named before their suffix: the chain
  // prefix and the direction's stem (Namer::EndpointChain), e.g. felix-from-.
  std::string endpoint_chain_stem;
  // How long the start every subchain's name shares is: the chain prefix and the subchain
  // base (Namer::DispatchSubchain), e.g. felix-FROM-EP-PFX-.
  size_t subchain_prefix = 0;
  DispatchEntries entries;
  // chain -> its subchains, which a change needs to rebuild part of the tree: kept only
  // when the state takes changes (`tracked`).
  bool tracked = false;
  std::map<std::string, std::vector<std::string>> children;
};

// One table of one family: its layout, its chains and its dispatch trees. Put/Erase
// remember, while a change is recorded, what each touched chain was before, so the change
// can be planned from just those chains.
class TableState {
 public:
  // The chains, in output order; their map's nodes come from `nodes`.
  using ChainMap = std::pmr::map<ChainKey, Chain>;
  TableState(const TableLayout& layout, std::pmr::memory_resource* nodes)
      : layout_(&layout), chains_(nodes) {}
  const TableLayout& layout() const { return *layout_; }
  const std::vector<Hook>& hooks() const { return hooks_; }
  void set_hooks(std::vector<Hook> hooks) { hooks_ = std::move(hooks); }
  const ChainMap& chains() const { return chains_; }
  ChainMap TakeChains() { return std::move(chains_); }
  // One per entry of layout().dispatch, in its order.
  std::vector<DispatchTree>& trees() { return trees_; }

  void Put(const ChainKey& key, Chain chain);
  void Erase(const ChainKey& key);
  bool Has(const ChainKey& key) const { return chains_.count(key) > 0; }

  void StartRecording() { recording_ = true; }
  // Counts the chain at `key` as touched.
  void Touch(const ChainKey& key) { Remember(key); }
  // The chains touched since StartRecording: their old and new versions, in output order.
  void TakeRecording(Table* before, Table* after);

 private:
  void Remember(const ChainKey& key);

  const TableLayout* layout_;
  std::vector<Hook> hooks_;
  ChainMap chains_;
  std::vector<DispatchTree> trees_;
  bool recording_ = false;
  std::map<ChainKey, std::optional<Chain>> before_;
};

// What every family's chains share, made by the first family that needs it: the rules'
// family-independent text and the profile chain names. A state keeps its own for its
// families; GenerateEachFamily hands one from each family's state to the next's.
struct SharedByFamilies {
  RuleListText rule_text;
  ProfileChainNames profile_chains;
};

class GeneratorState {
 public:
  // Builds every chain and set of `model`, which must be valid (ValidateModel).
  // Borrowing the model (it must outlive the state): no changes, and so none of the
  // bookkeeping changes need (which sets each profile's chains name); with `families`
  // (each in config.families), only those families and the sets their rules name.
  // Owning the model: takes changes (IncrementalGenerator).
  // `shared` (when given) keeps the family-independent text of the rules of every profile
  // chain built, and the profile chain names; pass it on to the next family's state, which
  // copies them instead of making them again (GenerateEachFamily). It must outlive the
  // state.
  explicit GeneratorState(const Model& model);
  GeneratorState(const Model& model, std::vector<int> families, SharedByFamilies* shared = nullptr);
  explicit GeneratorState(std::unique_ptr<Model> model);
  // Not copied or moved: it points into itself (shared_).
  GeneratorState(const GeneratorState&) = delete;
  GeneratorState& operator=(const GeneratorState&) = delete;

  const Model& model() const { return *model_; }

  // The desired state, in output order. Take leaves the state empty.
  Desired Copy() const;
  Desired Take() &&;

  // Changes. Each keeps every derived piece consistent; the caller validates first.
  void AddEndpoint(Endpoint endpoint);
  void RemoveEndpoint(size_t index);
  // The endpoint at `index` becomes `endpoint` (same id). What both use stays in use, so a
  // profile only this endpoint carries is not torn down and built again.
  void ReplaceEndpoint(size_t index, Endpoint endpoint);
  // Index of the endpoint with `id` in model().endpoints, or -1. Only a state that takes
  // changes (owning the model) keeps the endpoints' ids.
  int FindEndpoint(absl::string_view id) const;

  // While recording: counts every chain that names one of `sets` (the profile chains in
  // use whose rules match them) as touched, though it is unchanged.
  void TouchChainsNamingSets(const std::set<std::string>& sets);
  // While recording: the old and new versions of the sets changed so far.
  std::pair<std::vector<IpSetSpec>, std::vector<IpSetSpec>> RecordedSets() const;

  void StartRecording();
  // Old and new versions of what changed since StartRecording.
  struct Recording {
    std::vector<Ruleset> before, after;  // one per family, touched chains only
    std::vector<IpSetSpec> sets_before, sets_after;
  };
  Recording TakeRecording();

 private:
  struct FamilyState {
    // `tracking`: the state takes changes (GeneratorState::tracking_).
    FamilyState(const Model& model, int family, bool tracking, ProfileChainNames* names);
    ChainFactory factory;
    // Where the chain maps' nodes come from. A state that takes no changes only adds chains
    // and is dropped whole: its nodes come from an arena, freed at once with the state
    // instead of one by one (70,000 nodes a family in a huge model). A state that takes
    // changes allocates and frees each node (null here).
    std::unique_ptr<std::pmr::monotonic_buffer_resource> nodes;
    std::vector<TableState> tables;  // one per layout table (Tables()), in output order
    // Sets each profile's chains name in this family (the same in every table): their
    // slots (RuleListText::SetSlot).
    absl::flat_hash_map<std::string, std::vector<uint32_t>> profile_sets;
  };

  // A profile of the model, its index in model.profiles (ChainKey::ProfileChain) and its
  // tags' numbers (tags_).
  struct ProfileRef {
    const Profile* profile;
    size_t index;
    std::vector<uint32_t> tags;
  };
  // A tag's set in each family built, and the set's members: each net of an endpoint
  // carrying the tag, with how many such endpoints have it. [family == 6].
  struct TagSets {
    std::string name[2];                            // Namer::TagSet; "" for a family not built
    std::vector<std::pair<IpNet, int>> members[2];  // sorted by net
  };
  const ProfileRef& FindProfile(const std::string& id) const { return profiles_.at(id); }
  // The numbers of the tags of every profile the endpoint carries, tracked or untracked,
  // sorted, each once: in reused room, valid until the next call.
  const std::vector<uint32_t>& EndpointTags(const Endpoint& e);
  // `table` is an index into Tables() (and every family's tables).
  void UseProfile(const std::string& id, size_t table, int delta);
  // `slot`: the set's in shared_->rule_text (RuleListText::SetSlot).
  void UseSet(uint32_t slot, int delta);
  void UseFailsafe(size_t table, int delta);
  void ChangeTagMembers(const Endpoint& e, int delta);
  // What the endpoint's policy uses: profile chains, failsafe chains, tag set members.
  // While `building`, the tag set members are left to GatherTagMembers.
  void UseEndpointPolicy(const Endpoint& e, int delta, bool building = false);
  // Build's way to fill tag set members: every endpoint's nets appended to its tags' sets,
  // then each set sorted and counted once, instead of one ordered insert per net.
  void GatherTagMembers();
  // The endpoint's own chains and its dispatch entries (the trees are rebuilt after).
  void PlaceEndpoint(const Endpoint& e, bool add, bool building);
  void RebuildTreesOf(const Endpoint& e);
  void RebuildDirtySets();
  IpSetSpec SetSpec(const std::string& name) const;
  static void RebuildTree(DispatchTree& tree, TableState& table, const ChainFactory& factory,
                          const std::string* changed);

  void Build(const std::vector<int>& families);

  std::unique_ptr<Model> owned_;  // set when the state may change
  const Model* model_;
  // Whether changes may come: then the state remembers what each profile's chains use.
  bool tracking_ = false;
  absl::flat_hash_map<std::string, size_t> endpoint_index_;      // by id; kept when tracking_
  absl::flat_hash_map<absl::string_view, ProfileRef> profiles_;  // by id (the model's keys)
  std::vector<FamilyState> families_;
  // Per layout table: per profile (its index in model.profiles), how many endpoints'
  // chains there jump to its chains; and how many host endpoints' chains there jump to
  // the failsafe chains.
  std::vector<std::vector<int>> profile_users_;
  std::vector<int> failsafe_users_;
  // Per set slot (RuleListText::SetSlot, numbered by shared_->rule_text), how many profile
  // chains name the set: an index, where a profile chain pair counts each set it names
  // (33,000 times on large).
  std::vector<int> set_use_;
  // set name -> profile id -> how many of its (family, table) chain pairs name the set
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, int>> set_profiles_;
  // Every tag of the model's profiles, numbered in the order first met; an endpoint's tags
  // are looked up as numbers, not as strings in ordered maps (for each endpoint, tag and
  // family), which were a tenth of a huge run.
  std::vector<TagSets> tags_;
  // Tag set name (tags_'s copy) -> tag number and family [family == 6].
  absl::flat_hash_map<absl::string_view, std::pair<uint32_t, int>> tag_sets_;
  std::vector<uint32_t> endpoint_tags_;  // EndpointTags's: reused room
  // Explicit set name -> its model: names made once.
  absl::flat_hash_map<std::string, const IpSetModel*> explicit_sets_;
  std::map<std::string, IpSetSpec> sets_;  // the sets in use, by name
  // What the families share: the caller's, kept across states, or the state's own, whose
  // rule text UseProfile clears for each profile (reused room).
  SharedByFamilies own_shared_;
  SharedByFamilies* shared_ = &own_shared_;
  std::vector<uint32_t> used_sets_;  // UseProfile's, per family: reused room
  std::set<std::string> dirty_sets_;
  bool recording_ = false;
  std::map<std::string, std::optional<IpSetSpec>> sets_before_;
};

}  // namespace fiptgen

#endif  // FIPTGEN_GENERATOR_STATE_H_
