#include "fiptgen/generator_state.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fiptgen {
namespace {

// Sections of a table, in output order (SPEC §3: global, dispatch, endpoints, profiles).
constexpr int kGlobal = 0;    // sub: raw PREROUTING 0, OUTPUT 1; filter INPUT 0, OUTPUT 1,
                              // FORWARD 2
constexpr int kFailsafe = 1;  // sub: IN 0, OUT 1
// Dispatch trees: raw FROM-HOST-IF 2, TO-HOST-IF 3; filter FROM-ENDPOINT 2, TO-ENDPOINT 3,
// FROM-HOST-IF 4, TO-HOST-IF 5. Key "" is the root, then the subchains by name.
constexpr int kEndpoints = 10;  // key: endpoint suffix; sub: from 0, to 1
constexpr int kProfiles = 11;   // key: profile id; sub: -i 0, -o 1

// A dispatch chain with more interfaces than this is split into a prefix tree.
constexpr size_t kMaxDispatchRules = 32;

constexpr char kUnknownEndpointDrop[] = "-m comment --comment \"Unknown endpoint\" -j DROP";

bool IsWorkload(const Endpoint& e) { return e.kind == EndpointKind::kWorkload; }
bool HasFilterHost(const Endpoint& e) {
  return e.kind == EndpointKind::kHost && !e.profile_ids.empty();
}
bool HasRaw(const Endpoint& e) {
  return e.kind == EndpointKind::kHost && !e.untracked_profile_ids.empty();
}

// Which dispatch trees an endpoint sits in, as bits: workload dispatch, host dispatch in
// filter (tracked profiles), host dispatch in raw (untracked profiles).
int TreeMask(const Endpoint& e) {
  return (IsWorkload(e) ? 1 : 0) | (HasFilterHost(e) ? 2 : 0) | (HasRaw(e) ? 4 : 0);
}

DispatchTree MakeTree(int section, std::string root, std::string base, ChainDir dir,
                      std::string last_rule) {
  DispatchTree t;
  t.section = section;
  t.root = std::move(root);
  t.subchain_base = std::move(base);
  t.dir = dir;
  t.last_rule = std::move(last_rule);
  return t;
}

ChainKey TreeKey(const DispatchTree& tree, const std::string& name) {
  return ChainKey{tree.section, name == tree.root ? std::string() : name, 0};
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
  before->name = after->name = name_;
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

void DispatchEntries::Append(std::string interface, std::string target) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    pool_[slot] = {std::move(interface), std::move(target)};
  } else {
    slot = static_cast<uint32_t>(pool_.size());
    pool_.emplace_back(std::move(interface), std::move(target));
  }
  order_.push_back(slot);
}

void DispatchEntries::Sort() {
  std::sort(order_.begin(), order_.end(),
            [this](uint32_t a, uint32_t b) { return pool_[a].first < pool_[b].first; });
}

size_t DispatchEntries::LowerBound(const std::string& interface) const {
  return std::lower_bound(
             order_.begin(), order_.end(), interface,
             [this](uint32_t slot, const std::string& want) { return pool_[slot].first < want; }) -
         order_.begin();
}

void DispatchEntries::Insert(std::string interface, std::string target) {
  size_t at = LowerBound(interface);
  Append(std::move(interface), std::move(target));
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
  const std::string& chain_prefix = factory.namer().config().chain_prefix;
  const char* flag = tree.dir == ChainDir::kFrom ? "-i " : "-o ";
  const auto& entries = tree.entries;
  // Chains rebuilt now, subtrees kept as they are, and the subchains each rebuilt chain
  // had before: those it no longer has are erased below.
  std::set<std::string> rebuilt, kept;
  std::vector<std::string> dropped;

  auto build = [&](const std::string& name, size_t begin, size_t end, auto&& self) -> void {
    Chain c(name);
    rebuilt.insert(name);
    std::vector<std::string> kids;
    if (end - begin <= kMaxDispatchRules) {
      for (size_t i = begin; i < end; ++i) {
        c.AddRule(flag, entries.interface(i), " -g ", entries.target(i));
      }
      c.AddRule(tree.last_rule);
      table.Put(TreeKey(tree, name), std::move(c));
      std::vector<std::string>& old_kids = tree.children[name];
      dropped.insert(dropped.end(), old_kids.begin(), old_kids.end());
      old_kids.clear();
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
        c.AddRule(flag, iface, " -g ", entries.target(i));
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
        c.AddRule(flag, iface, " -g ", entries.target(i));
        i = j;
        continue;
      }
      // The key is what the group shares, less the interface prefix, shortened to fit.
      absl::string_view group = absl::string_view(iface).substr(0, common + 1);
      absl::string_view key = group;
      if (absl::StartsWith(key, iface_prefix)) {
        key.remove_prefix(iface_prefix.size());
      }
      size_t room = kMaxChainName - chain_prefix.size() - tree.subchain_base.size();
      std::string child = absl::StrCat(chain_prefix, tree.subchain_base,
                                       UniquelyShorten(key, static_cast<int>(room)));
      c.AddRule(flag, group, "+ -g ", child);
      kids.push_back(child);
      if (changed != nullptr && !absl::StartsWith(*changed, group) &&
          tree.children.count(child) > 0) {
        kept.insert(child);
      } else {
        self(child, i, j, self);
      }
      i = j;
    }
    c.AddRule(tree.last_rule);
    table.Put(TreeKey(tree, name), std::move(c));
    std::vector<std::string>& old_kids = tree.children[name];
    dropped.insert(dropped.end(), old_kids.begin(), old_kids.end());
    old_kids = std::move(kids);
  };
  build(tree.root, 0, entries.size(), build);
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
  for (const std::string& name : dropped) {
    erase(name, erase);
  }
}

// ---------------------------------------------------------------------------------------
// GeneratorState

// The one place that says where an endpoint sits: its chains' table and dispatch trees.
std::vector<GeneratorState::Place> GeneratorState::PlacesOf(FamilyState& fs, const Endpoint& e) {
  std::vector<Place> places;
  const int mask = TreeMask(e);
  if (mask & 1) {
    places.push_back({&fs.filter, false, &fs.from_endpoint, &fs.to_endpoint});
  }
  if (mask & 2) {
    places.push_back({&fs.filter, false, &fs.from_host, &fs.to_host});
  }
  if (mask & 4) {
    places.push_back({&fs.raw, true, &fs.raw_from_host, &fs.raw_to_host});
  }
  return places;
}

GeneratorState::FamilyState::FamilyState(const Model& model, int family)
    : factory(model.config, model.ipsets, family) {
  const Namer& n = factory.namer();
  raw.set_hooks({{"PREROUTING", n.Global("PREROUTING")}, {"OUTPUT", n.Global("OUTPUT")}});
  filter.set_hooks({{"INPUT", n.Global("INPUT")},
                    {"OUTPUT", n.Global("OUTPUT")},
                    {"FORWARD", n.Global("FORWARD")}});
  raw.Put({kGlobal, "", 0}, factory.RawHookChain(true));
  raw.Put({kGlobal, "", 1}, factory.RawHookChain(false));
  filter.Put({kGlobal, "", 0}, factory.FilterInput());
  filter.Put({kGlobal, "", 1}, factory.FilterOutput());
  filter.Put({kGlobal, "", 2}, factory.FilterForward());
  raw_from_host =
      MakeTree(2, n.Global("FROM-HOST-IF"), "FROM-IF-PFX-", ChainDir::kFrom, "-j RETURN");
  raw_to_host = MakeTree(3, n.Global("TO-HOST-IF"), "TO-IF-PFX-", ChainDir::kTo, "-j RETURN");
  from_endpoint =
      MakeTree(2, n.Global("FROM-ENDPOINT"), "FROM-EP-PFX-", ChainDir::kFrom, kUnknownEndpointDrop);
  to_endpoint =
      MakeTree(3, n.Global("TO-ENDPOINT"), "TO-EP-PFX-", ChainDir::kTo, kUnknownEndpointDrop);
  from_host = MakeTree(4, n.Global("FROM-HOST-IF"), "FROM-IF-PFX-", ChainDir::kFrom, "-j RETURN");
  to_host = MakeTree(5, n.Global("TO-HOST-IF"), "TO-IF-PFX-", ChainDir::kTo, "-j RETURN");
}

GeneratorState::GeneratorState(const Model& model) : model_(&model) { Build(); }

GeneratorState::GeneratorState(std::unique_ptr<Model> model)
    : owned_(std::move(model)), model_(owned_.get()) {
  Build();
}

void GeneratorState::Build() {
  Namer namer(model_->config);
  for (const auto& [id, profile] : model_->profiles) {
    for (const std::string& tag : profile.tags) {
      for (int family : {4, 6}) {
        tag_sets_[namer.TagSet(tag, family)] = {tag, family};
      }
    }
  }
  families_.reserve(model_->config.families.size());
  for (int family : model_->config.families) {
    families_.emplace_back(*model_, family);
  }
  // Every endpoint's pieces, with the dispatch trees built once at the end.
  for (size_t i = 0; i < model_->endpoints.size(); ++i) {
    endpoint_index_[model_->endpoints[i].id] = i;
    UseEndpointPolicy(model_->endpoints[i], +1);
    PlaceEndpoint(model_->endpoints[i], /*add=*/true, /*building=*/true);
  }
  for (FamilyState& fs : families_) {
    for (auto [tree, table] : {std::pair<DispatchTree*, TableState*>{&fs.raw_from_host, &fs.raw},
                               {&fs.raw_to_host, &fs.raw},
                               {&fs.from_endpoint, &fs.filter},
                               {&fs.to_endpoint, &fs.filter},
                               {&fs.from_host, &fs.filter},
                               {&fs.to_host, &fs.filter}}) {
      tree->entries.Sort();
      RebuildTree(*tree, *table, fs.factory, nullptr);
    }
  }
  RebuildDirtySets();
}

int GeneratorState::FindEndpoint(absl::string_view id) const {
  auto it = endpoint_index_.find(id);
  return it == endpoint_index_.end() ? -1 : static_cast<int>(it->second);
}

std::set<std::string> GeneratorState::EndpointTags(const Endpoint& e) const {
  std::set<std::string> tags;
  for (const auto* ids : {&e.profile_ids, &e.untracked_profile_ids}) {
    for (const std::string& id : *ids) {
      const std::vector<std::string>& t = model_->profiles.at(id).tags;
      tags.insert(t.begin(), t.end());
    }
  }
  return tags;
}

void GeneratorState::UseSet(const std::string& name, int delta) {
  int& use = set_use_[name];
  const int before = use;
  use += delta;
  if ((before == 0) == (use == 0)) {
    return;
  }
  if (recording_ && sets_before_.count(name) == 0) {
    auto it = sets_.find(name);
    sets_before_[name] = it == sets_.end() ? std::nullopt : std::optional<IpSetSpec>(it->second);
  }
  if (use == 0) {
    set_use_.erase(name);
    sets_.erase(name);
  } else {
    dirty_sets_.insert(name);
    sets_[name].name = name;  // filled by RebuildDirtySets
  }
}

void GeneratorState::UseProfile(const std::string& id, bool raw, int delta) {
  absl::flat_hash_map<std::string, int>& uses = raw ? raw_use_ : filter_use_;
  int& use = uses[id];
  const int before = use;
  use += delta;
  if ((before == 0) == (use == 0)) {
    return;
  }
  if (use == 0) {
    uses.erase(id);
  }
  const Profile& profile = model_->profiles.at(id);
  for (FamilyState& fs : families_) {
    TableState& table = raw ? fs.raw : fs.filter;
    std::vector<std::string> sets;
    if (delta > 0) {
      table.Put({kProfiles, id, 0}, fs.factory.ProfileChain(profile, RuleDir::kInbound, &sets));
      table.Put({kProfiles, id, 1}, fs.factory.ProfileChain(profile, RuleDir::kOutbound, &sets));
      fs.profile_sets[id] = sets;
    } else {
      table.Erase({kProfiles, id, 0});
      table.Erase({kProfiles, id, 1});
      sets = fs.profile_sets[id];
    }
    for (const std::string& s : sets) {
      UseSet(s, delta);
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

void GeneratorState::UseFailsafe(bool raw, int delta) {
  int& users = raw ? raw_failsafe_users_ : filter_failsafe_users_;
  const int before = users;
  users += delta;
  if ((before == 0) == (users == 0)) {
    return;
  }
  for (FamilyState& fs : families_) {
    TableState& table = raw ? fs.raw : fs.filter;
    if (users > 0) {
      table.Put({kFailsafe, "", 0}, fs.factory.Failsafe(ChainDir::kFrom, raw));
      table.Put({kFailsafe, "", 1}, fs.factory.Failsafe(ChainDir::kTo, raw));
    } else {
      table.Erase({kFailsafe, "", 0});
      table.Erase({kFailsafe, "", 1});
    }
  }
}

void GeneratorState::ChangeTagMembers(const Endpoint& e, int delta) {
  Namer namer(model_->config);
  for (const std::string& tag : EndpointTags(e)) {
    for (int family : model_->config.families) {
      const std::vector<IpNet>& nets = family == 4 ? e.ipv4_nets : e.ipv6_nets;
      if (nets.empty()) {
        continue;
      }
      std::map<IpNet, int>& members = tag_members_[{family, tag}];
      for (const IpNet& n : nets) {
        if ((members[n] += delta) == 0) {
          members.erase(n);
        }
      }
      std::string set = namer.TagSet(tag, family);
      if (sets_.count(set) > 0) {
        dirty_sets_.insert(set);
      }
    }
  }
}

void GeneratorState::UseEndpointPolicy(const Endpoint& e, int delta) {
  if (IsWorkload(e) || HasFilterHost(e)) {
    for (const std::string& id : e.profile_ids) {
      UseProfile(id, /*raw=*/false, delta);
    }
  }
  if (HasRaw(e)) {
    for (const std::string& id : e.untracked_profile_ids) {
      UseProfile(id, /*raw=*/true, delta);
    }
  }
  if (HasFilterHost(e)) {
    UseFailsafe(/*raw=*/false, delta);
  }
  if (HasRaw(e)) {
    UseFailsafe(/*raw=*/true, delta);
  }
  ChangeTagMembers(e, delta);
}

void GeneratorState::PlaceEndpoint(const Endpoint& e, bool add, bool building) {
  for (FamilyState& fs : families_) {
    const std::string suffix = fs.factory.namer().EndpointSuffix(e);
    for (const Place& place : PlacesOf(fs, e)) {
      for (auto [dir, tree] : {std::pair<ChainDir, DispatchTree*>{ChainDir::kFrom, place.from},
                               {ChainDir::kTo, place.to}}) {
        ChainKey key{kEndpoints, suffix, dir == ChainDir::kFrom ? 0 : 1};
        if (add) {
          place.table->Put(key, fs.factory.EndpointChain(e, dir, place.raw));
          std::string target = fs.factory.namer().EndpointChain(dir, e);
          if (building) {
            tree->entries.Append(e.interface, std::move(target));
          } else {
            tree->entries.Insert(e.interface, std::move(target));
          }
        } else {
          place.table->Erase(key);
          tree->entries.Erase(e.interface);
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
    for (const Place& place : PlacesOf(fs, e)) {
      RebuildTree(*place.from, *place.table, fs.factory, &e.interface);
      RebuildTree(*place.to, *place.table, fs.factory, &e.interface);
    }
  }
}

IpSetSpec GeneratorState::SetSpec(const std::string& name) const {
  IpSetSpec spec;
  spec.name = name;
  if (auto it = tag_sets_.find(name); it != tag_sets_.end()) {
    spec.family = it->second.second;
    bool all_hosts = true;
    if (auto m = tag_members_.find({spec.family, it->second.first}); m != tag_members_.end()) {
      spec.members.reserve(m->second.size());
      for (const auto& [net, count] : m->second) {
        all_hosts = all_hosts && net.is_host();
        spec.members.push_back(net.ToMemberString());
      }
    }
    spec.type = all_hosts ? "hash:ip" : "hash:net";
    return spec;
  }
  Namer namer(model_->config);
  for (const IpSetModel& s : model_->ipsets) {
    if (namer.ExplicitSet(s.name) != name) {
      continue;
    }
    spec.type = s.type;
    spec.family = s.family;
    spec.members.reserve(s.members.size());
    for (const IpNet& n : s.members) {
      spec.members.push_back(n.ToMemberString());
    }
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
      for (FamilyState& fs : families_) {
        for (auto [table, uses] :
             {std::pair<TableState*, const absl::flat_hash_map<std::string, int>*>{&fs.raw,
                                                                                   &raw_use_},
              {&fs.filter, &filter_use_}}) {
          if (uses->count(id) == 0) {
            continue;
          }
          table->Touch({kProfiles, id, 0});
          table->Touch({kProfiles, id, 1});
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
    fs.raw.StartRecording();
    fs.filter.StartRecording();
  }
}

GeneratorState::Recording GeneratorState::TakeRecording() {
  Recording r;
  for (FamilyState& fs : families_) {
    Ruleset before, after;
    before.family = after.family = fs.factory.family();
    for (TableState* t : {&fs.raw, &fs.filter}) {
      before.tables.emplace_back();
      after.tables.emplace_back();
      t->TakeRecording(&before.tables.back(), &after.tables.back());
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
    for (const TableState* t : {&fs.raw, &fs.filter}) {
      Table table{t->name(), t->hooks(), {}};
      table.chains.reserve(t->chains().size());
      for (const auto& [key, chain] : t->chains()) {
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
    for (TableState* t : {&fs.raw, &fs.filter}) {
      Table table{t->name(), t->hooks(), {}};
      table.chains.reserve(t->chains().size());
      for (auto& [key, chain] : t->TakeChains()) {
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
