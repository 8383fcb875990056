#include "fiptgen/generate.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fiptgen/names.h"
#include "fiptgen/protocols.h"
#include "fiptgen/render.h"

namespace fiptgen {
namespace {

// Multiport takes at most 15 ports, a range counting 2.
constexpr int kMultiportSlots = 15;

// A dispatch chain with more interfaces than this is split into a prefix tree.
constexpr size_t kMaxDispatchRules = 32;

// Comments on the rules that do not explain themselves (fixed text, never user data).
constexpr char kCommentWrongMac[] = "-m comment --comment \"Drop if wrong source MAC\"";
constexpr char kCommentWrongIp[] = "-m comment --comment \"Drop if wrong source IP\"";
constexpr char kCommentNoProfile[] = "-m comment --comment \"Drop if no profile matched\"";
constexpr char kCommentUnknownEndpoint[] = "-m comment --comment \"Unknown endpoint\"";
constexpr char kCommentToHost[] = "-m comment --comment \"Drop workload to host traffic\"";

std::string Hex(uint32_t v) { return absl::StrFormat("0x%x", v); }

// Everything one table of one family needs to know while its chains are built.
class TableBuilder {
 public:
  TableBuilder(const Model& model, int family, std::set<std::string>* used_sets)
      : model_(model),
        config_(model.config),
        family_(family),
        namer_(model.config),
        used_sets_(used_sets) {
    std::string a = Hex(config_.mark_accept);
    std::string ep = Hex(config_.mark_from_endpoint);
    set_accept_ = absl::StrCat("-j MARK --set-xmark ", a, "/", a);
    clear_accept_ = absl::StrCat("-j MARK --set-xmark 0x0/", a);
    if_accept_ = absl::StrCat("-m mark --mark ", a, "/", a);
    set_endpoint_ = absl::StrCat("-j MARK --set-xmark ", ep, "/", ep);
    clear_endpoint_ = absl::StrCat("-j MARK --set-xmark 0x0/", ep);
    if_not_endpoint_ = absl::StrCat("-m mark --mark 0x0/", ep);
    wildcard_ = absl::StrCat(config_.interface_prefix, "+");
    for (const Endpoint& e : model.endpoints) sorted_endpoints_.push_back(&e);
    for (const IpSetModel& s : model.ipsets) ipsets_by_name_[s.name] = &s;
    std::sort(sorted_endpoints_.begin(), sorted_endpoints_.end(),
              [this](const Endpoint* a, const Endpoint* b) {
                return namer_.EndpointSuffix(*a) < namer_.EndpointSuffix(*b);
              });
  }

  Table Raw();
  Table Filter();

 private:
  bool HasRaw(const Endpoint& e) const {
    return e.kind == EndpointKind::kHost && !e.untracked_profile_ids.empty();
  }
  bool HasFilterHost(const Endpoint& e) const {
    return e.kind == EndpointKind::kHost && !e.profile_ids.empty();
  }

  void AddFailsafeChains(bool raw, Table* table);
  Chain HostChainHead(ChainDir dir);
  void AddHostDispatch(ChainDir dir, bool raw, Table* table);
  // A dispatch chain: `-i`/`-o <interface> -g <endpoint chain>` for each entry, then
  // `last_rule`; split into a tree of prefix chains when one chain would be long.
  void AddDispatch(const std::string& root, absl::string_view subchain_base, ChainDir dir,
                   std::vector<std::pair<std::string, std::string>> entries,
                   absl::string_view last_rule, Table* table);
  void AddDispatchNode(const std::string& name, absl::string_view subchain_base, ChainDir dir,
                       const std::vector<std::pair<std::string, std::string>>& entries,
                       size_t begin, size_t end, absl::string_view last_rule,
                       std::vector<Chain>* out);
  Chain EndpointChain(const Endpoint& e, ChainDir dir, bool raw);
  void AddProfileChains(const std::set<std::string>& ids, Table* table);
  void AddPolicyRules(const std::vector<PolicyRule>& rules, Chain* chain);
  // Fills `head` (addresses, protocol) and `matches` (module matches) for one rule, or
  // returns false when the rule has no place in this family.
  bool RuleMatches(const PolicyRule& rule, std::string* head, std::string* matches);
  void AppendSetMatch(const Match<std::string>& m, bool tag, const char* dir, std::string* out,
                      std::vector<std::string>* sets, bool* in_family);

  const Model& model_;
  const Config& config_;
  const int family_;
  Namer namer_;
  std::set<std::string>* used_sets_;
  std::vector<const Endpoint*> sorted_endpoints_;
  absl::flat_hash_map<std::string, const IpSetModel*> ipsets_by_name_;
  std::string set_accept_, clear_accept_, if_accept_;
  std::string set_endpoint_, clear_endpoint_, if_not_endpoint_;
  std::string wildcard_;
};

// Splits sorted port ranges into multiport argument lists of at most 15 slots.
std::vector<std::string> MultiportChunks(const std::vector<PortRange>& ports) {
  std::vector<std::string> chunks;
  std::string current;
  int used = 0;
  for (const PortRange& p : ports) {
    int slots = p.lo == p.hi ? 1 : 2;
    if (used + slots > kMultiportSlots) {
      chunks.push_back(std::move(current));
      current.clear();
      used = 0;
    }
    if (!current.empty()) current.push_back(',');
    if (p.lo == p.hi) {
      absl::StrAppend(&current, p.lo);
    } else {
      absl::StrAppend(&current, p.lo, ":", p.hi);
    }
    used += slots;
  }
  if (!current.empty()) chunks.push_back(std::move(current));
  return chunks;
}

void TableBuilder::AppendSetMatch(const Match<std::string>& m, bool tag, const char* dir,
                                  std::string* out, std::vector<std::string>* sets,
                                  bool* in_family) {
  std::string name;
  if (tag) {
    name = namer_.TagSet(m.value, family_);
  } else {
    const IpSetModel& set = *ipsets_by_name_.at(m.value);
    if (set.family != family_) {
      // "In a set of the other family" is never true; "not in it" always is.
      if (!m.negated) *in_family = false;
      return;
    }
    name = namer_.ExplicitSet(m.value);
  }
  absl::StrAppend(out, " -m set", m.negated ? " !" : "", " --match-set ", name, " ", dir);
  sets->push_back(std::move(name));
}

bool TableBuilder::RuleMatches(const PolicyRule& r, std::string* head, std::string* matches) {
  if (r.ip_version && *r.ip_version != family_) return false;
  bool in_family = true;
  // Addresses: a positive net of the other family leaves the rule out; a negated one only
  // its match. A positive /0 matches everything and iptables-save prints nothing for it.
  for (const auto& [net, flag] : {std::pair<const std::optional<Match<IpNet>>*, const char*>{
                                      &r.src_net, "-s"},
                                  {&r.dst_net, "-d"}}) {
    if (!*net) continue;
    const Match<IpNet>& m = **net;
    if (m.value.family != family_) {
      in_family = in_family && m.negated;
      continue;
    }
    if (!m.negated && m.value.prefix_len == 0) continue;
    absl::StrAppend(head, m.negated ? " ! " : " ", flag, " ", m.value.ToString());
  }
  if (r.protocol) {
    int p = r.protocol->value;
    bool other_family_icmp =
        (p == kProtoIcmp && family_ == 6) || (p == kProtoIcmpv6 && family_ == 4);
    if (other_family_icmp) {
      in_family = in_family && r.protocol->negated;
    } else {
      absl::StrAppend(head, r.protocol->negated ? " ! -p " : " -p ", ProtocolSaveName(p));
    }
  }
  if (!in_family) return false;
  if (r.icmp_type) {
    const bool v4 = family_ == 4;
    absl::StrAppend(matches, v4 ? " -m icmp" : " -m icmp6", r.icmp_type->negated ? " !" : "",
                    v4 ? " --icmp-type " : " --icmpv6-type ", r.icmp_type->value);
    if (r.icmp_code) absl::StrAppend(matches, "/", *r.icmp_code);
  }
  std::vector<std::string> sets;
  for (const auto& m : r.src_tags) AppendSetMatch(m, true, "src", matches, &sets, &in_family);
  for (const auto& m : r.dst_tags) AppendSetMatch(m, true, "dst", matches, &sets, &in_family);
  for (const auto& m : r.src_ipsets) AppendSetMatch(m, false, "src", matches, &sets, &in_family);
  for (const auto& m : r.dst_ipsets) AppendSetMatch(m, false, "dst", matches, &sets, &in_family);
  if (!in_family) return false;
  // Only sets named by a rule that is written are used.
  used_sets_->insert(sets.begin(), sets.end());
  return true;
}

void TableBuilder::AddPolicyRules(const std::vector<PolicyRule>& rules, Chain* chain) {
  for (const PolicyRule& r : rules) {
    std::string head, matches;
    if (!RuleMatches(r, &head, &matches)) continue;
    std::string negated_ports;
    for (const std::string& chunk : MultiportChunks(r.not_src_ports)) {
      absl::StrAppend(&negated_ports, " -m multiport ! --sports ", chunk);
    }
    for (const std::string& chunk : MultiportChunks(r.not_dst_ports)) {
      absl::StrAppend(&negated_ports, " -m multiport ! --dports ", chunk);
    }
    std::vector<std::string> src_chunks = MultiportChunks(r.src_ports);
    std::vector<std::string> dst_chunks = MultiportChunks(r.dst_ports);
    if (src_chunks.empty()) src_chunks.push_back("");
    if (dst_chunks.empty()) dst_chunks.push_back("");
    std::string target;
    switch (r.action) {
      case Action::kAllow:
        target = set_accept_;
        break;
      case Action::kDeny:
        target = "-j DROP";
        break;
      case Action::kLog:
        target = "-j LOG --log-prefix";
        AppendQuotedArg(r.log_prefix, &target);
        absl::StrAppend(&target, " --log-level 5");
        break;
    }
    for (const std::string& src : src_chunks) {
      for (const std::string& dst : dst_chunks) {
        std::string match = head;
        absl::StrAppend(&match, matches);
        if (!src.empty()) absl::StrAppend(&match, " -m multiport --sports ", src);
        if (!dst.empty()) absl::StrAppend(&match, " -m multiport --dports ", dst);
        absl::StrAppend(&match, negated_ports);
        absl::string_view m = match;
        if (!m.empty()) m.remove_prefix(1);  // every piece starts with a space
        chain->AddRule2(m, target);
      }
    }
    if (r.action == Action::kAllow) {
      chain->AddRule(if_accept_, " -j RETURN");
    }
  }
}

void TableBuilder::AddProfileChains(const std::set<std::string>& ids, Table* table) {
  for (const std::string& id : ids) {
    const Profile& profile = model_.profiles.at(id);
    Chain in(namer_.ProfileChain(id, RuleDir::kInbound));
    AddPolicyRules(profile.inbound_rules, &in);
    table->chains.push_back(std::move(in));
    Chain out(namer_.ProfileChain(id, RuleDir::kOutbound));
    AddPolicyRules(profile.outbound_rules, &out);
    table->chains.push_back(std::move(out));
  }
}

std::string PortMatch(const FailsafePort& p, const char* flag) {
  std::string name = ProtocolSaveName(p.protocol);
  return absl::StrCat("-p ", name, " -m ", name, " ", flag, " ", p.port);
}

void TableBuilder::AddFailsafeChains(bool raw, Table* table) {
  for (ChainDir dir : {ChainDir::kFrom, ChainDir::kTo}) {
    const bool in = dir == ChainDir::kFrom;
    Chain c(namer_.Global(in ? "FAILSAFE-IN" : "FAILSAFE-OUT"));
    for (const FailsafePort& p : in ? config_.failsafe_inbound : config_.failsafe_outbound) {
      c.AddRule(PortMatch(p, "--dport"), " -j ACCEPT");
    }
    if (raw) {
      // Before conntrack, replies must pass too: the reply of an SSH session to the host
      // leaves with source port 22.
      for (const FailsafePort& p : in ? config_.failsafe_outbound : config_.failsafe_inbound) {
        c.AddRule(PortMatch(p, "--sport"), " -j ACCEPT");
      }
    }
    if (family_ == 6) {
      for (int type = 130; type <= 136; ++type) {
        c.AddRule("-p ipv6-icmp -m icmp6 --icmpv6-type ", type, " -j ACCEPT");
      }
    }
    table->chains.push_back(std::move(c));
  }
}

void TableBuilder::AddHostDispatch(ChainDir dir, bool raw, Table* table) {
  const bool from = dir == ChainDir::kFrom;
  std::vector<std::pair<std::string, std::string>> entries;
  for (const Endpoint* e : sorted_endpoints_) {
    if (raw ? HasRaw(*e) : HasFilterHost(*e)) {
      entries.emplace_back(e->interface, namer_.EndpointChain(dir, *e));
    }
  }
  AddDispatch(namer_.Global(from ? "FROM-HOST-IF" : "TO-HOST-IF"),
              from ? "FROM-IF-PFX-" : "TO-IF-PFX-", dir, std::move(entries), "-j RETURN",
              table);
}

void TableBuilder::AddDispatch(const std::string& root, absl::string_view subchain_base,
                               ChainDir dir,
                               std::vector<std::pair<std::string, std::string>> entries,
                               absl::string_view last_rule, Table* table) {
  std::sort(entries.begin(), entries.end());
  std::vector<Chain> chains;
  AddDispatchNode(root, subchain_base, dir, entries, 0, entries.size(), last_rule, &chains);
  for (Chain& c : chains) table->chains.push_back(std::move(c));
}

// Felix 1.4 split long dispatch chains by the character after the interfaces' longest
// common prefix (felix-FROM-EP-PFX-<c>), with a direct rule for a lone interface. We do
// the same, recursively, so that with 10,000 endpoints a packet crosses a few dozen
// dispatch rules instead of thousands. Every chain of the tree ends with the root's last
// rule: they are reached by goto, so a RETURN there returns from the root.
void TableBuilder::AddDispatchNode(
    const std::string& name, absl::string_view subchain_base, ChainDir dir,
    const std::vector<std::pair<std::string, std::string>>& entries, size_t begin, size_t end,
    absl::string_view last_rule, std::vector<Chain>* out) {
  const char* flag = dir == ChainDir::kFrom ? "-i " : "-o ";
  size_t index = out->size();
  out->emplace_back(name);
  if (end - begin <= kMaxDispatchRules) {
    for (size_t i = begin; i < end; ++i) {
      (*out)[index].AddRule(flag, entries[i].first, " -g ", entries[i].second);
    }
    (*out)[index].AddRule(last_rule);
    return;
  }
  // Entries are sorted, so the common prefix of the first and last is everyone's.
  const std::string& first = entries[begin].first;
  const std::string& last = entries[end - 1].first;
  size_t common = 0;
  while (common < first.size() && common < last.size() && first[common] == last[common]) {
    ++common;
  }
  std::vector<Chain> children;
  for (size_t i = begin; i < end;) {
    const std::string& iface = entries[i].first;
    if (iface.size() == common) {  // the prefix itself is an interface: sorts first
      (*out)[index].AddRule(flag, iface, " -g ", entries[i].second);
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < end && entries[j].first.size() > common &&
           entries[j].first[common] == iface[common]) {
      ++j;
    }
    if (j - i == 1) {
      (*out)[index].AddRule(flag, iface, " -g ", entries[i].second);
    } else {
      // The key is what the group shares, less the interface prefix, shortened to fit.
      absl::string_view key = absl::string_view(iface).substr(0, common + 1);
      if (absl::StartsWith(key, config_.interface_prefix)) {
        key.remove_prefix(config_.interface_prefix.size());
      }
      size_t room = kMaxChainName - config_.chain_prefix.size() - subchain_base.size();
      std::string child = absl::StrCat(config_.chain_prefix, subchain_base,
                                       UniquelyShorten(key, static_cast<int>(room)));
      (*out)[index].AddRule(flag, iface.substr(0, common + 1), "+ -g ", child);
      AddDispatchNode(child, subchain_base, dir, entries, i, j, last_rule, &children);
    }
    i = j;
  }
  (*out)[index].AddRule(last_rule);
  for (Chain& c : children) out->push_back(std::move(c));
}

Chain TableBuilder::EndpointChain(const Endpoint& e, ChainDir dir, bool raw) {
  const bool from = dir == ChainDir::kFrom;
  const bool host = e.kind == EndpointKind::kHost;
  Chain c(namer_.EndpointChain(dir, e));
  if (host) c.AddRule("-j ", namer_.Global(from ? "FAILSAFE-IN" : "FAILSAFE-OUT"));
  c.AddRule(clear_accept_);
  if (!host && from) {
    if (e.mac) {
      c.AddRule("-m mac ! --mac-source ", e.mac->ToString(), " ", kCommentWrongMac, " -j DROP");
    }
    // Anti-spoofing: only the endpoint's own addresses may be sources. One net is one
    // negated match; several borrow the accept bit, which is clear here and cleared again.
    const std::vector<IpNet>& nets = family_ == 4 ? e.ipv4_nets : e.ipv6_nets;
    if (nets.size() == 1) {
      c.AddRule("! -s ", nets[0].ToString(), " ", kCommentWrongIp, " -j DROP");
    } else {
      for (const IpNet& n : nets) c.AddRule("-s ", n.ToString(), " ", set_accept_);
      c.AddRule(absl::StrCat("-m mark --mark 0x0/", Hex(config_.mark_accept)), " ",
                kCommentWrongIp, " -j DROP");
      if (!nets.empty()) c.AddRule(clear_accept_);
    }
  }
  // Workloads: traffic from the workload is its outbound policy. Host endpoints: traffic
  // from the interface is the host's inbound policy (SPEC.md §2).
  const bool inbound = host ? from : !from;
  for (const std::string& id : raw ? e.untracked_profile_ids : e.profile_ids) {
    c.AddRule("-j ", namer_.ProfileChain(id, inbound ? RuleDir::kInbound : RuleDir::kOutbound));
    c.AddRule(if_accept_, " -j RETURN");
  }
  // Untracked policy has no final DROP: what it does not accept meets the tracked policy.
  if (!raw) c.AddRule(kCommentNoProfile, " -j DROP");
  return c;
}

Table TableBuilder::Raw() {
  Table t{"raw", {}, {}};
  t.hooks = {{"PREROUTING", namer_.Global("PREROUTING")}, {"OUTPUT", namer_.Global("OUTPUT")}};
  for (bool pre : {true, false}) {
    Chain c(namer_.Global(pre ? "PREROUTING" : "OUTPUT"));
    c.AddRule(clear_accept_);
    c.AddRule(clear_endpoint_);
    c.AddRule(pre ? "-i " : "-o ", wildcard_, " ", set_endpoint_);
    c.AddRule(if_not_endpoint_, " -j ", namer_.Global(pre ? "FROM-HOST-IF" : "TO-HOST-IF"));
    // Only traffic to or from the host itself is untracked: forwarded traffic's replies
    // come from a workload, where no untracked policy could match them.
    c.AddRule(if_accept_, pre ? " -m addrtype --dst-type LOCAL" : "", " -j NOTRACK");
    t.chains.push_back(std::move(c));
  }
  std::set<std::string> profiles;
  bool any = false;
  for (const Endpoint* e : sorted_endpoints_) {
    if (!HasRaw(*e)) continue;
    any = true;
    profiles.insert(e->untracked_profile_ids.begin(), e->untracked_profile_ids.end());
  }
  if (any) AddFailsafeChains(/*raw=*/true, &t);
  AddHostDispatch(ChainDir::kFrom, /*raw=*/true, &t);
  AddHostDispatch(ChainDir::kTo, /*raw=*/true, &t);
  for (const Endpoint* e : sorted_endpoints_) {
    if (!HasRaw(*e)) continue;
    t.chains.push_back(EndpointChain(*e, ChainDir::kFrom, /*raw=*/true));
    t.chains.push_back(EndpointChain(*e, ChainDir::kTo, /*raw=*/true));
  }
  AddProfileChains(profiles, &t);
  return t;
}

// felix-INPUT (kFrom) and felix-OUTPUT (kTo) start alike: let through what raw accepted
// untracked, settle conntrack, then send everything not to or from a workload to the host
// endpoint dispatch, by goto (host traffic never comes back).
Chain TableBuilder::HostChainHead(ChainDir dir) {
  const bool in = dir == ChainDir::kFrom;
  Chain c(namer_.Global(in ? "INPUT" : "OUTPUT"));
  c.AddRule(if_accept_, " -j ACCEPT");
  c.AddRule("-m conntrack --ctstate INVALID -j DROP");
  c.AddRule("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
  c.AddRule(clear_endpoint_);
  c.AddRule(in ? "-i " : "-o ", wildcard_, " ", set_endpoint_);
  c.AddRule(if_not_endpoint_, " -g ", namer_.Global(in ? "FROM-HOST-IF" : "TO-HOST-IF"));
  return c;
}

Table TableBuilder::Filter() {
  Table t{"filter", {}, {}};
  t.hooks = {{"INPUT", namer_.Global("INPUT")},
             {"OUTPUT", namer_.Global("OUTPUT")},
             {"FORWARD", namer_.Global("FORWARD")}};
  const std::string from_endpoint = namer_.Global("FROM-ENDPOINT");
  const std::string to_endpoint = namer_.Global("TO-ENDPOINT");
  {
    Chain c = HostChainHead(ChainDir::kFrom);
    // What is left came from a workload.
    if (family_ == 6) {
      for (int type : {130, 131, 132, 133, 135, 136}) {
        c.AddRule("-p ipv6-icmp -m icmp6 --icmpv6-type ", type, " -j ACCEPT");
      }
    }
    if (family_ == 4 && config_.metadata) {
      c.AddRule("-d ", config_.metadata->addr.ToString(), " -p tcp -m tcp --dport ",
                config_.metadata->port, " -j ACCEPT");
    }
    if (family_ == 4) {
      c.AddRule("-p udp -m udp --sport 68 --dport 67 -j ACCEPT");
    } else {
      c.AddRule("-p udp -m udp --sport 546 --dport 547 -j ACCEPT");
    }
    c.AddRule("-p udp -m udp --dport 53 -j ACCEPT");
    switch (config_.endpoint_to_host_action) {
      case EndpointToHostAction::kDrop:
        c.AddRule(kCommentToHost, " -j DROP");
        break;
      case EndpointToHostAction::kReturn:
        c.AddRule("-j ", from_endpoint);
        break;
      case EndpointToHostAction::kAccept:
        c.AddRule("-j ", from_endpoint);
        c.AddRule("-j ACCEPT");
        break;
    }
    t.chains.push_back(std::move(c));
  }
  {
    t.chains.push_back(HostChainHead(ChainDir::kTo));
  }
  {
    Chain c(namer_.Global("FORWARD"));
    c.AddRule(if_accept_, " -m conntrack --ctstate UNTRACKED -j ACCEPT");
    c.AddRule("-m conntrack --ctstate INVALID -j DROP");
    c.AddRule("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
    c.AddRule("-i ", wildcard_, " -j ", from_endpoint);
    c.AddRule("-o ", wildcard_, " -j ", to_endpoint);
    c.AddRule("-i ", wildcard_, " -j ACCEPT");
    c.AddRule("-o ", wildcard_, " -j ACCEPT");
    c.AddRule("-j ", namer_.Global("FROM-HOST-IF"));
    c.AddRule("-j ", namer_.Global("TO-HOST-IF"));
    t.chains.push_back(std::move(c));
  }
  std::set<std::string> profiles;
  bool any_host = false;
  for (const Endpoint* e : sorted_endpoints_) {
    if (e->kind == EndpointKind::kWorkload || HasFilterHost(*e)) {
      profiles.insert(e->profile_ids.begin(), e->profile_ids.end());
    }
    any_host = any_host || HasFilterHost(*e);
  }
  if (any_host) AddFailsafeChains(/*raw=*/false, &t);
  for (ChainDir dir : {ChainDir::kFrom, ChainDir::kTo}) {
    const bool from = dir == ChainDir::kFrom;
    std::vector<std::pair<std::string, std::string>> entries;
    for (const Endpoint* e : sorted_endpoints_) {
      if (e->kind != EndpointKind::kWorkload) continue;
      entries.emplace_back(e->interface, namer_.EndpointChain(dir, *e));
    }
    AddDispatch(from ? from_endpoint : to_endpoint, from ? "FROM-EP-PFX-" : "TO-EP-PFX-", dir,
                std::move(entries), absl::StrCat(kCommentUnknownEndpoint, " -j DROP"), &t);
  }
  AddHostDispatch(ChainDir::kFrom, /*raw=*/false, &t);
  AddHostDispatch(ChainDir::kTo, /*raw=*/false, &t);
  for (const Endpoint* e : sorted_endpoints_) {
    if (e->kind != EndpointKind::kWorkload && !HasFilterHost(*e)) continue;
    t.chains.push_back(EndpointChain(*e, ChainDir::kFrom, /*raw=*/false));
    t.chains.push_back(EndpointChain(*e, ChainDir::kTo, /*raw=*/false));
  }
  AddProfileChains(profiles, &t);
  return t;
}

Ruleset BuildRuleset(const Model& model, int family, std::set<std::string>* used_sets) {
  TableBuilder builder(model, family, used_sets);
  Ruleset rs;
  rs.family = family;
  rs.tables.push_back(builder.Raw());
  rs.tables.push_back(builder.Filter());
  return rs;
}

// A tag's set holds the nets of every endpoint with a profile carrying the tag.
IpSetSpec TagSetSpec(const Model& model, const std::string& tag, int family,
                     const std::string& name) {
  std::vector<IpNet> members;
  for (const Endpoint& e : model.endpoints) {
    bool tagged = false;
    for (const auto* ids : {&e.profile_ids, &e.untracked_profile_ids}) {
      for (const std::string& id : *ids) {
        const std::vector<std::string>& tags = model.profiles.at(id).tags;
        tagged = tagged || std::binary_search(tags.begin(), tags.end(), tag);
      }
    }
    if (!tagged) continue;
    const std::vector<IpNet>& nets = family == 4 ? e.ipv4_nets : e.ipv6_nets;
    members.insert(members.end(), nets.begin(), nets.end());
  }
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  IpSetSpec spec;
  spec.name = name;
  spec.family = family;
  bool all_hosts = std::all_of(members.begin(), members.end(),
                               [](const IpNet& n) { return n.is_host(); });
  spec.type = all_hosts ? "hash:ip" : "hash:net";
  spec.members.reserve(members.size());
  for (const IpNet& n : members) spec.members.push_back(n.ToMemberString());
  return spec;
}

}  // namespace

const Ruleset* Desired::ForFamily(int family) const {
  for (const Ruleset& rs : rulesets) {
    if (rs.family == family) return &rs;
  }
  return nullptr;
}

Ruleset GenerateRuleset(const Model& model, int family) {
  std::set<std::string> used_sets;
  return BuildRuleset(model, family, &used_sets);
}

Desired Generate(const Model& model) {
  Desired desired;
  std::set<std::string> used_sets;
  for (int family : model.config.families) {
    desired.rulesets.push_back(BuildRuleset(model, family, &used_sets));
  }
  // Every set a written rule names, and no other.
  Namer namer(model.config);
  std::map<std::string, std::pair<std::string, int>> tag_sets;  // set name -> tag, family
  for (const auto& [id, profile] : model.profiles) {
    for (const std::string& tag : profile.tags) {
      for (int family : {4, 6}) tag_sets[namer.TagSet(tag, family)] = {tag, family};
    }
  }
  for (const std::string& name : used_sets) {
    if (auto it = tag_sets.find(name); it != tag_sets.end()) {
      desired.ipsets.push_back(TagSetSpec(model, it->second.first, it->second.second, name));
      continue;
    }
    for (const IpSetModel& s : model.ipsets) {
      if (namer.ExplicitSet(s.name) != name) continue;
      IpSetSpec spec;
      spec.name = name;
      spec.type = s.type;
      spec.family = s.family;
      spec.members.reserve(s.members.size());
      for (const IpNet& n : s.members) spec.members.push_back(n.ToMemberString());
      desired.ipsets.push_back(std::move(spec));
    }
  }
  return desired;
}

}  // namespace fiptgen
