#include "fiptgen/generator_state.h"

#include <algorithm>
#include <deque>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"

namespace fiptgen {
namespace {

// A dispatch chain with more interfaces than this is split into a prefix tree.
constexpr size_t kMaxDispatchRules = 32;

// Which dispatch trees of the layout an endpoint sits in, one bit per tree.
uint32_t TreeMask(const Endpoint& e) {
  uint32_t mask = 0, bit = 1;
  for (const TableLayout& table : Tables()) {
    for (const DispatchRoot& root : table.dispatch) {
      mask |= InGroup(e, root.group) ? bit : 0;
      bit <<= 1;
    }
  }
  return mask;
}

// A dispatch chain's key in its tree's slot: "" for the root; for a subchain, "+" and its
// name less what every subchain of the tree starts with (DispatchTree::subchain_prefix), so
// keys order as the names do and differ in their first 8 bytes (ChainKey::key_head), where
// the whole names, which share their first ~18, would be compared as strings at each step
// down the chain map (1,700 instructions a Put on huge). The "+" keeps a subchain whose
// name is only that prefix apart from the root.
ChainKey TreeKey(const DispatchTree& tree, const std::string& name) {
  if (name == tree.root) {
    return ChainKey::Dispatch(tree.index, std::string());
  }
  std::string key = "+";
  key.append(name, tree.subchain_prefix, std::string::npos);
  return ChainKey::Dispatch(tree.index, std::move(key));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// TableState

void TableState::Remember(const ChainKey& key) {
  if (!recording_ || before_.count(key) > 0) {
    return;
  }
  auto it = chains_.find(key);
  before_[key] = it == chains_.end() ? std::nullopt : std::optional<Chain>(it->second);
}

void TableState::Put(const ChainKey& key, Chain chain) {
  Remember(key);
  chains_.insert_or_assign(key, std::move(chain));
}

void TableState::Erase(const ChainKey& key) {
  Remember(key);
  chains_.erase(key);
}

void TableState::TakeRecording(Table* before, Table* after) {
  before->name = after->name = std::string(layout_->name);
  before->hooks = after->hooks = hooks_;
  for (auto& [key, old] : before_) {
    if (old) {
      before->chains.push_back(std::move(*old));
    }
    if (auto it = chains_.find(key); it != chains_.end()) {
      after->chains.push_back(it->second);
    }
  }
  before_.clear();
  recording_ = false;
}

// ---------------------------------------------------------------------------------------
// Dispatch trees

void DispatchEntries::Append(std::string interface, std::string suffix) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    pool_[slot] = {std::move(interface), std::move(suffix)};
  } else {
    slot = static_cast<uint32_t>(pool_.size());
    pool_.emplace_back(std::move(interface), std::move(suffix));
  }
  order_.push_back(slot);
}

void DispatchEntries::Sort() {
  // Sorted by a key made once per entry: the interface's first 16 bytes, zero-padded, as
  // two big-endian numbers (a Linux name has at most 15), so a compare is one or two
  // integer compares instead of a string compare's call; longer names that share those
  // bytes are compared whole. 10,000 interfaces a tree in a huge model.
  struct Key {
    uint64_t high, low;
    uint32_t slot;
  };
  std::vector<Key> keys;
  keys.reserve(order_.size());
  for (uint32_t slot : order_) {
    const std::string& name = pool_[slot].first;
    keys.push_back({BigEndianWord(name, 0), BigEndianWord(name, 8), slot});
  }
  std::sort(keys.begin(), keys.end(), [this](const Key& a, const Key& b) {
    if (a.high != b.high) {
      return a.high < b.high;
    }
    if (a.low != b.low) {
      return a.low < b.low;
    }
    return pool_[a.slot].first < pool_[b.slot].first;
  });
  for (size_t i = 0; i < keys.size(); ++i) {
    order_[i] = keys[i].slot;
  }
}

size_t DispatchEntries::LowerBound(const std::string& interface) const {
  return std::lower_bound(
             order_.begin(), order_.end(), interface,
             [this](uint32_t slot, const std::string& want) { return pool_[slot].first < want; }) -
         order_.begin();
}

void DispatchEntries::Insert(std::string interface, std::string suffix) {
  size_t at = LowerBound(interface);
  Append(std::move(interface), std::move(suffix));
  std::rotate(order_.begin() + at, order_.end() - 1, order_.end());
}

void DispatchEntries::Erase(const std::string& interface) {
  size_t at = LowerBound(interface);
  if (at == order_.size() || pool_[order_[at]].first != interface) {
    return;
  }
  free_.push_back(order_[at]);
  pool_[order_[at]] = {};
  order_.erase(order_.begin() + at);
}

// Felix 1.4 split long dispatch chains by the character after the interfaces' longest
// common prefix (felix-FROM-EP-PFX-<c>), with a direct rule for a lone interface. We do the
// same, recursively, so that with 10,000 endpoints a packet crosses a few dozen dispatch
// rules instead of thousands. Every chain of the tree ends with the root's last rule: they
// are reached by goto, so a RETURN there returns from the root.
//
// A subchain's rules depend only on the interfaces under its prefix. So when `changed`
// names the one interface that was added, removed or re-targeted, only the chains whose
// prefix it has are rebuilt; the others are kept as they are.
void GeneratorState::RebuildTree(DispatchTree& tree, TableState& table, const ChainFactory& factory,
                                 const std::string* changed) {
  const std::string& iface_prefix = factory.namer().config().interface_prefix;
  const DispatchRoot& layout = *tree.layout;
  const char* flag = layout.dir == ChainDir::kFrom ? "-i " : "-o ";
  const auto& entries = tree.entries;
  // Chains rebuilt now, subtrees kept as they are, and the subchains each rebuilt chain
  // had before: those it no longer has are erased below. In a tree built for the first
  // time (Build: 10,000 interfaces a tree in a huge model) every chain is rebuilt now, so
  // none is erased and no record is kept (nor in a tree that takes no changes).
  const bool fresh = tree.children.empty();
  std::set<std::string> rebuilt, kept;
  std::vector<std::string> dropped;

  // Each chain's rules are written into the buffer of its depth in the tree (a parent's
  // stays open while its subchains are built) and copied into the chain at their size: a
  // body grown rule by rule in its string is reallocated on the way.
  std::deque<TextBuffer> bodies;
  auto build = [&](const std::string& name, size_t begin, size_t end, size_t depth,
                   auto&& self) -> void {
    if (depth == bodies.size()) {
      bodies.emplace_back();
    }
    TextBuffer& body = bodies[depth];
    body.clear();
    size_t rules = 0;
    auto add_rule = [&body, &rules](const auto&... parts) {
      AppendPieces(&body, parts..., '\n');
      ++rules;
    };
    auto put = [&] {
      Chain c(name);
      c.SetBody(std::string(body.view()), rules);
      table.Put(TreeKey(tree, name), std::move(c));
    };
    if (!fresh) {
      rebuilt.insert(name);
    }
    std::vector<std::string> kids;
    if (end - begin <= kMaxDispatchRules) {
      for (size_t i = begin; i < end; ++i) {
        add_rule(flag, entries.interface(i), " -g ", tree.endpoint_chain_stem, entries.suffix(i));
      }
      add_rule(layout.last_rule);
      put();
      if (tree.tracked) {
        std::vector<std::string>& old_kids = tree.children[name];
        dropped.insert(dropped.end(), old_kids.begin(), old_kids.end());
        old_kids.clear();
      }
      return;
    }
    // Entries are sorted, so the common prefix of the first and last is everyone's.
    const std::string& first = entries.interface(begin);
    const std::string& last = entries.interface(end - 1);
    size_t common = 0;
    while (common < first.size() && common < last.size() && first[common] == last[common]) {
      ++common;
    }
    for (size_t i = begin; i < end;) {
      const std::string& iface = entries.interface(i);
      if (iface.size() == common) {  // the prefix itself is an interface: sorts first
        add_rule(flag, iface, " -g ", tree.endpoint_chain_stem, entries.suffix(i));
        ++i;
        continue;
      }
      // The group sharing the next character is contiguous: find its end by bisection,
      // so a chain over 10,000 interfaces costs its groups, not its interfaces.
      const char next = iface[common];
      size_t lo = i + 1, hi = end;
      while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const std::string& m = entries.interface(mid);
        if (m.size() > common && m[common] == next) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      const size_t j = lo;
      if (j - i == 1) {
        add_rule(flag, iface, " -g ", tree.endpoint_chain_stem, entries.suffix(i));
        i = j;
        continue;
      }
      // The key is what the group shares, less the interface prefix, shortened to fit.
      absl::string_view group = absl::string_view(iface).substr(0, common + 1);
      absl::string_view key = group;
      if (absl::StartsWith(key, iface_prefix)) {
        key.remove_prefix(iface_prefix.size());
      }
      std::string child = factory.namer().DispatchSubchain(layout, key);
      add_rule(flag, group, "+ -g ", child);
      if (tree.tracked) {
        kids.push_back(child);
      }
      if (changed != nullptr && !absl::StartsWith(*changed, group) &&
          tree.children.count(child) > 0) {
        kept.insert(child);
      } else {
        self(child, i, j, depth + 1, self);
      }
      i = j;
    }
    add_rule(layout.last_rule);
    put();
    if (tree.tracked) {
      std::vector<std::string>& old_kids = tree.children[name];
      dropped.insert(dropped.end(), old_kids.begin(), old_kids.end());
      old_kids = std::move(kids);
    }
  };
  build(tree.root, 0, entries.size(), 0, build);
  // Erase what fell out of the tree: former subchains of rebuilt chains, with their
  // subtrees, stopping at any chain that is still in the tree.
  auto erase = [&](const std::string& name, auto&& self) -> void {
    if (rebuilt.count(name) > 0 || kept.count(name) > 0) {
      return;
    }
    auto it = tree.children.find(name);
    if (it == tree.children.end()) {
      return;
    }
    std::vector<std::string> kids = std::move(it->second);
    tree.children.erase(it);
    table.Erase(TreeKey(tree, name));
    for (const std::string& kid : kids) {
      self(kid, self);
    }
  };
  if (fresh) {
    return;
  }
  for (const std::string& name : dropped) {
    erase(name, erase);
  }
}

// ---------------------------------------------------------------------------------------
// GeneratorState

// Every table of the layout: hooked chains (with their hooks) and empty dispatch trees.
GeneratorState::FamilyState::FamilyState(const Model& model, int family, bool tracking,
                                         ProfileChainNames* names)
    : factory(model.config, model.ipsets, family, names),
      nodes(tracking ? nullptr : std::make_unique<std::pmr::monotonic_buffer_resource>()) {
  const Namer& n = factory.namer();
  tables.reserve(Tables().size());
  for (const TableLayout& layout : Tables()) {
    TableState& table = tables.emplace_back(
        layout, nodes != nullptr ? nodes.get() : std::pmr::new_delete_resource());
    std::vector<Hook> hooks;
    for (size_t i = 0; i < layout.hooked.size(); ++i) {
      const HookedChain& hooked = layout.hooked[i];
      hooks.push_back(Hook{std::string(hooked.builtin), n.Fixed(hooked.chain)});
      table.Put(ChainKey::Hooked(i), factory.HookedChain(hooked.chain, layout.untracked));
    }
    table.set_hooks(std::move(hooks));
    for (size_t i = 0; i < layout.dispatch.size(); ++i) {
      DispatchTree& tree = table.trees().emplace_back();
      tree.layout = &layout.dispatch[i];
      tree.index = i;
      tree.root = n.Fixed(layout.dispatch[i].root);
      // The Namer's own names with nothing after them: the part every name of the kind shares.
      tree.endpoint_chain_stem = n.EndpointChain(layout.dispatch[i].dir, absl::string_view());
      tree.subchain_prefix = n.DispatchSubchain(layout.dispatch[i], absl::string_view()).size();
      tree.tracked = tracking;
    }
  }
}

GeneratorState::GeneratorState(const Model& model) : model_(&model) {
  Build(model.config.families);
}

GeneratorState::GeneratorState(const Model& model, std::vector<int> families,
                               SharedByFamilies* shared)
    : model_(&model) {
  if (shared != nullptr) {
    shared_ = shared;
  }
  Build(families);
}

GeneratorState::GeneratorState(std::unique_ptr<Model> model)
    : owned_(std::move(model)), model_(owned_.get()), tracking_(true) {
  Build(model_->config.families);
}

void GeneratorState::Build(const std::vector<int>& families) {
  Namer namer(model_->config);
  // Tags numbered as first met, their sets named once, for the families built only.
  absl::flat_hash_map<absl::string_view, uint32_t> tag_numbers;
  profiles_.reserve(model_->profiles.size());
  for (const auto& [id, profile] : model_->profiles) {
    ProfileRef ref{&profile, profiles_.size(), {}};
    ref.tags.reserve(profile.tags.size());
    for (const std::string& tag : profile.tags) {
      auto [it, fresh] = tag_numbers.try_emplace(tag, static_cast<uint32_t>(tags_.size()));
      if (fresh) {
        TagSets& sets = tags_.emplace_back();
        for (int family : families) {
          sets.name[family == 6] = namer.TagSet(tag, family);
        }
      }
      ref.tags.push_back(it->second);
    }
    profiles_.try_emplace(id, std::move(ref));
  }
  // tags_ is complete: its names stay where they are.
  for (uint32_t tag = 0; tag < tags_.size(); ++tag) {
    for (int family : families) {
      tag_sets_.try_emplace(tags_[tag].name[family == 6], tag, family);
    }
  }
  for (const IpSetModel& s : model_->ipsets) {
    explicit_sets_.try_emplace(namer.ExplicitSet(s.name), &s);
  }
  profile_users_.assign(Tables().size(), std::vector<int>(profiles_.size()));
  failsafe_users_.resize(Tables().size());
  families_.reserve(families.size());
  for (int family : families) {
    families_.emplace_back(*model_, family, tracking_, &shared_->profile_chains);
  }
  // Every endpoint's pieces, with the dispatch trees built once at the end. Each tree's
  // entries get room for its group's endpoints at once: grown by doubling, 20,000 entries
  // of two strings each were moved a dozen times over on huge.
  size_t in_group[3] = {};
  for (const Endpoint& e : model_->endpoints) {
    for (EndpointGroup group : {EndpointGroup::kWorkloads, EndpointGroup::kTrackedHosts,
                                EndpointGroup::kUntrackedHosts}) {
      in_group[static_cast<int>(group)] += InGroup(e, group) ? 1 : 0;
    }
  }
  for (FamilyState& fs : families_) {
    for (TableState& table : fs.tables) {
      for (DispatchTree& tree : table.trees()) {
        tree.entries.Reserve(in_group[static_cast<int>(tree.layout->group)]);
      }
    }
  }
  for (size_t i = 0; i < model_->endpoints.size(); ++i) {
    if (tracking_) {  // only changes look endpoints up
      endpoint_index_[model_->endpoints[i].id] = i;
    }
    UseEndpointPolicy(model_->endpoints[i], +1, /*building=*/true);
    PlaceEndpoint(model_->endpoints[i], /*add=*/true, /*building=*/true);
  }
  GatherTagMembers();
  for (FamilyState& fs : families_) {
    for (TableState& table : fs.tables) {
      for (DispatchTree& tree : table.trees()) {
        tree.entries.Sort();
        RebuildTree(tree, table, fs.factory, nullptr);
      }
    }
  }
  RebuildDirtySets();
}

int GeneratorState::FindEndpoint(absl::string_view id) const {
  auto it = endpoint_index_.find(id);
  return it == endpoint_index_.end() ? -1 : static_cast<int>(it->second);
}

const std::vector<uint32_t>& GeneratorState::EndpointTags(const Endpoint& e) {
  std::vector<uint32_t>& tags = endpoint_tags_;
  tags.clear();
  for (const auto* ids : {&e.profile_ids, &e.untracked_profile_ids}) {
    for (const std::string& id : *ids) {
      const std::vector<uint32_t>& t = FindProfile(id).tags;
      tags.insert(tags.end(), t.begin(), t.end());
    }
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

void GeneratorState::UseSet(uint32_t slot, int delta) {
  if (slot >= set_use_.size()) {
    set_use_.resize(shared_->rule_text.set_slots(), 0);
  }
  int& use = set_use_[slot];
  const int before = use;
  use += delta;
  if ((before == 0) == (use == 0)) {
    return;
  }
  const std::string& name = shared_->rule_text.set_name(slot);
  if (recording_ && sets_before_.count(name) == 0) {
    auto it = sets_.find(name);
    sets_before_[name] = it == sets_.end() ? std::nullopt : std::optional<IpSetSpec>(it->second);
  }
  if (use == 0) {
    sets_.erase(name);
  } else {
    dirty_sets_.insert(name);
    sets_[name].name = name;  // filled by RebuildDirtySets
  }
}

void GeneratorState::UseProfile(const std::string& id, size_t table_index, int delta) {
  const ProfileRef& ref = FindProfile(id);
  int& use = profile_users_[table_index][ref.index];
  const int before = use;
  use += delta;
  if ((before == 0) == (use == 0)) {
    return;
  }
  const Profile& profile = *ref.profile;
  // The rules' text that is the same in every family, written by the first. The state's
  // own holds only this profile's: every family's chains of it are built now.
  if (shared_ == &own_shared_) {
    own_shared_.rule_text.Clear();
  }
  for (FamilyState& fs : families_) {
    TableState& table = fs.tables[table_index];
    // The sets' slots (ChainFactory::ProfileChain).
    std::vector<uint32_t>& sets = used_sets_;
    sets.clear();
    if (delta > 0) {
      for (RuleDir dir : {RuleDir::kInbound, RuleDir::kOutbound}) {
        table.Put(ChainKey::ProfileChain(ref.index, dir),
                  fs.factory.ProfileChain(profile, dir, &sets, &shared_->rule_text));
      }
      if (tracking_) {
        fs.profile_sets[id] = sets;
      }
    } else {
      for (RuleDir dir : {RuleDir::kInbound, RuleDir::kOutbound}) {
        table.Erase(ChainKey::ProfileChain(ref.index, dir));
      }
      sets = fs.profile_sets[id];
    }
    for (uint32_t set : sets) {
      UseSet(set, delta);
      if (!tracking_) {
        continue;
      }
      const std::string& s = shared_->rule_text.set_name(set);
      absl::flat_hash_map<std::string, int>& users = set_profiles_[s];
      if ((users[id] += delta) == 0) {
        users.erase(id);
      }
      if (users.empty()) {
        set_profiles_.erase(s);
      }
    }
  }
}

void GeneratorState::UseFailsafe(size_t table_index, int delta) {
  int& users = failsafe_users_[table_index];
  const int before = users;
  users += delta;
  if ((before == 0) == (users == 0)) {
    return;
  }
  for (FamilyState& fs : families_) {
    TableState& table = fs.tables[table_index];
    for (ChainDir dir : {ChainDir::kFrom, ChainDir::kTo}) {
      if (users > 0) {
        table.Put(ChainKey::Failsafe(dir), fs.factory.Failsafe(dir, table.layout().untracked));
      } else {
        table.Erase(ChainKey::Failsafe(dir));
      }
    }
  }
}

void GeneratorState::ChangeTagMembers(const Endpoint& e, int delta) {
  for (uint32_t tag : EndpointTags(e)) {
    TagSets& sets = tags_[tag];
    for (const FamilyState& fs : families_) {
      const bool v6 = fs.factory.family() == 6;
      const std::vector<IpNet>& nets = v6 ? e.ipv6_nets : e.ipv4_nets;
      if (nets.empty()) {
        continue;
      }
      std::vector<std::pair<IpNet, int>>& members = sets.members[v6];
      for (const IpNet& n : nets) {
        auto it = std::lower_bound(
            members.begin(), members.end(), n,
            [](const std::pair<IpNet, int>& m, const IpNet& want) { return m.first < want; });
        if (it == members.end() || !(it->first == n)) {
          it = members.insert(it, {n, 0});
        }
        if ((it->second += delta) == 0) {
          members.erase(it);
        }
      }
      if (sets_.count(sets.name[v6]) > 0) {
        dirty_sets_.insert(sets.name[v6]);
      }
    }
  }
}

void GeneratorState::GatherTagMembers() {
  for (const Endpoint& e : model_->endpoints) {
    for (uint32_t tag : EndpointTags(e)) {
      for (const FamilyState& fs : families_) {
        const bool v6 = fs.factory.family() == 6;
        for (const IpNet& n : v6 ? e.ipv6_nets : e.ipv4_nets) {
          tags_[tag].members[v6].emplace_back(n, 1);
        }
      }
    }
  }
  for (TagSets& sets : tags_) {
    for (std::vector<std::pair<IpNet, int>>& members : sets.members) {
      std::sort(members.begin(), members.end(),
                [](const std::pair<IpNet, int>& a, const std::pair<IpNet, int>& b) {
                  return a.first < b.first;
                });
      // A net several endpoints have is one member, counted that many times.
      size_t kept = 0;
      for (size_t i = 0; i < members.size(); ++i) {
        if (kept > 0 && members[kept - 1].first == members[i].first) {
          members[kept - 1].second += members[i].second;
        } else {
          members[kept++] = members[i];
        }
      }
      members.resize(kept);
    }
  }
  // Every set in use is rebuilt after (UseSet marked it), with these members.
}

void GeneratorState::UseEndpointPolicy(const Endpoint& e, int delta, bool building) {
  // In each table where the endpoint has chains, they jump to its profiles' chains and,
  // for a host endpoint, to the failsafe chains.
  const absl::Span<const TableLayout> tables = Tables();
  for (size_t t = 0; t < tables.size(); ++t) {
    if (!HasChainsIn(e, tables[t])) {
      continue;
    }
    for (const std::string& id : tables[t].untracked ? e.untracked_profile_ids : e.profile_ids) {
      UseProfile(id, t, delta);
    }
    if (e.kind == EndpointKind::kHost) {
      UseFailsafe(t, delta);
    }
  }
  if (!building) {
    ChangeTagMembers(e, delta);
  }
}

// The endpoint's chains in each table where it sits in dispatch trees, and its entries in
// those trees (which are rebuilt after).
void GeneratorState::PlaceEndpoint(const Endpoint& e, bool add, bool building) {
  for (FamilyState& fs : families_) {
    const std::string suffix = fs.factory.namer().EndpointSuffix(e);
    for (TableState& table : fs.tables) {
      for (DispatchTree& tree : table.trees()) {
        if (!InGroup(e, tree.layout->group)) {
          continue;
        }
        const ChainDir dir = tree.layout->dir;
        ChainKey key = ChainKey::EndpointChain(suffix, dir);
        if (!add) {
          table.Erase(key);
          tree.entries.Erase(e.interface);
          continue;
        }
        table.Put(key, fs.factory.EndpointChain(e, dir, table.layout().untracked, &suffix));
        if (building) {
          tree.entries.Append(e.interface, suffix);
        } else {
          tree.entries.Insert(e.interface, suffix);
        }
      }
    }
  }
}

void GeneratorState::AddEndpoint(Endpoint endpoint) {
  std::vector<Endpoint>& endpoints = owned_->endpoints;
  endpoint_index_[endpoint.id] = endpoints.size();
  endpoints.push_back(std::move(endpoint));
  const Endpoint& e = endpoints.back();
  UseEndpointPolicy(e, +1);
  PlaceEndpoint(e, /*add=*/true, /*building=*/false);
  RebuildTreesOf(e);
  RebuildDirtySets();
}

void GeneratorState::RemoveEndpoint(size_t index) {
  std::vector<Endpoint>& endpoints = owned_->endpoints;
  Endpoint e = std::move(endpoints[index]);
  if (index + 1 != endpoints.size()) {
    endpoints[index] = std::move(endpoints.back());
    endpoint_index_[endpoints[index].id] = index;
  }
  endpoints.pop_back();
  endpoint_index_.erase(e.id);
  PlaceEndpoint(e, /*add=*/false, /*building=*/false);
  UseEndpointPolicy(e, -1);
  RebuildTreesOf(e);
  RebuildDirtySets();
}

void GeneratorState::ReplaceEndpoint(size_t index, Endpoint endpoint) {
  Endpoint& slot = owned_->endpoints[index];
  UseEndpointPolicy(endpoint, +1);
  PlaceEndpoint(slot, /*add=*/false, /*building=*/false);
  UseEndpointPolicy(slot, -1);
  Endpoint old = std::exchange(slot, std::move(endpoint));
  PlaceEndpoint(slot, /*add=*/true, /*building=*/false);
  // Same interface in the same trees: the entries are as they were, so are the trees.
  if (old.interface != slot.interface || TreeMask(old) != TreeMask(slot)) {
    RebuildTreesOf(old);
    RebuildTreesOf(slot);
  }
  RebuildDirtySets();
}

// Rebuilds the dispatch trees the endpoint sits in, along its interface's prefix path.
void GeneratorState::RebuildTreesOf(const Endpoint& e) {
  for (FamilyState& fs : families_) {
    for (TableState& table : fs.tables) {
      for (DispatchTree& tree : table.trees()) {
        if (InGroup(e, tree.layout->group)) {
          RebuildTree(tree, table, fs.factory, &e.interface);
        }
      }
    }
  }
}

IpSetSpec GeneratorState::SetSpec(const std::string& name) const {
  IpSetSpec spec;
  spec.name = name;
  if (auto it = tag_sets_.find(name); it != tag_sets_.end()) {
    const auto [tag, family] = it->second;
    spec.family = family;
    bool all_hosts = true;
    const std::vector<std::pair<IpNet, int>>& members = tags_[tag].members[family == 6];
    spec.members.reserve(members.size());
    for (const auto& [net, count] : members) {
      all_hosts = all_hosts && net.is_host();
      spec.members.push_back(net);
    }
    spec.type = all_hosts ? "hash:ip" : "hash:net";
    return spec;
  }
  if (auto it = explicit_sets_.find(name); it != explicit_sets_.end()) {
    const IpSetModel& s = *it->second;
    spec.type = s.type;
    spec.family = s.family;
    spec.members = s.members;
  }
  return spec;
}

void GeneratorState::RebuildDirtySets() {
  for (const std::string& name : dirty_sets_) {
    auto it = sets_.find(name);
    if (it == sets_.end()) {
      continue;
    }
    if (recording_ && sets_before_.count(name) == 0) {
      sets_before_[name] = it->second;
    }
    it->second = SetSpec(name);
  }
  dirty_sets_.clear();
}

void GeneratorState::TouchChainsNamingSets(const std::set<std::string>& sets) {
  for (const std::string& set : sets) {
    auto users = set_profiles_.find(set);
    if (users == set_profiles_.end()) {
      continue;
    }
    for (const auto& [id, count] : users->second) {
      const size_t index = FindProfile(id).index;
      for (FamilyState& fs : families_) {
        for (size_t t = 0; t < fs.tables.size(); ++t) {
          if (profile_users_[t][index] == 0) {
            continue;
          }
          for (RuleDir dir : {RuleDir::kInbound, RuleDir::kOutbound}) {
            fs.tables[t].Touch(ChainKey::ProfileChain(index, dir));
          }
        }
      }
    }
  }
}

std::pair<std::vector<IpSetSpec>, std::vector<IpSetSpec>> GeneratorState::RecordedSets() const {
  std::pair<std::vector<IpSetSpec>, std::vector<IpSetSpec>> r;
  for (const auto& [name, old] : sets_before_) {
    if (old) {
      r.first.push_back(*old);
    }
    if (auto it = sets_.find(name); it != sets_.end()) {
      r.second.push_back(it->second);
    }
  }
  return r;
}

void GeneratorState::StartRecording() {
  recording_ = true;
  for (FamilyState& fs : families_) {
    for (TableState& table : fs.tables) {
      table.StartRecording();
    }
  }
}

GeneratorState::Recording GeneratorState::TakeRecording() {
  Recording r;
  for (FamilyState& fs : families_) {
    Ruleset before, after;
    before.family = after.family = fs.factory.family();
    for (TableState& table : fs.tables) {
      before.tables.emplace_back();
      after.tables.emplace_back();
      table.TakeRecording(&before.tables.back(), &after.tables.back());
    }
    r.before.push_back(std::move(before));
    r.after.push_back(std::move(after));
  }
  std::tie(r.sets_before, r.sets_after) = RecordedSets();
  sets_before_.clear();
  recording_ = false;
  return r;
}

Desired GeneratorState::Copy() const {
  Desired d;
  for (const FamilyState& fs : families_) {
    Ruleset rs;
    rs.family = fs.factory.family();
    for (const TableState& t : fs.tables) {
      Table table{std::string(t.layout().name), t.hooks(), {}};
      table.chains.reserve(t.chains().size());
      for (const auto& [key, chain] : t.chains()) {
        table.chains.push_back(chain);
      }
      rs.tables.push_back(std::move(table));
    }
    d.rulesets.push_back(std::move(rs));
  }
  for (const auto& [name, spec] : sets_) {
    d.ipsets.push_back(spec);
  }
  return d;
}

Desired GeneratorState::Take() && {
  Desired d;
  for (FamilyState& fs : families_) {
    Ruleset rs;
    rs.family = fs.factory.family();
    for (TableState& t : fs.tables) {
      Table table{std::string(t.layout().name), t.hooks(), {}};
      table.chains.reserve(t.chains().size());
      for (auto& [key, chain] : t.TakeChains()) {
        table.chains.push_back(std::move(chain));
      }
      rs.tables.push_back(std::move(table));
    }
    d.rulesets.push_back(std::move(rs));
  }
  for (auto& [name, spec] : sets_) {
    d.ipsets.push_back(std::move(spec));
  }
  return d;
}

}  // namespace fiptgen
