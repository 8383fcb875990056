#include "fiptgen/chain_factory.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "fiptgen/append.h"
#include "fiptgen/protocols.h"
#include "fiptgen/rule_text.h"

namespace fiptgen {
namespace {

// Multiport takes at most 15 ports, a range counting 2.
constexpr int kMultiportSlots = 15;

// Comments on the rules that do not explain themselves (fixed text, never user data).
constexpr char kCommentWrongMac[] = "-m comment --comment \"Drop if wrong source MAC\"";
constexpr char kCommentWrongIp[] = "-m comment --comment \"Drop if wrong source IP\"";
constexpr char kCommentNoProfile[] = "-m comment --comment \"Drop if no profile matched\"";
constexpr char kCommentToHost[] = "-m comment --comment \"Drop workload to host traffic\"";

std::string Hex(uint32_t v) { return absl::StrFormat("0x%x", v); }

// The matches a multiport run starts with.
constexpr absl::string_view kSourcePorts = " -m multiport --sports ";
constexpr absl::string_view kDestinationPorts = " -m multiport --dports ";
constexpr absl::string_view kNotSourcePorts = " -m multiport ! --sports ";
constexpr absl::string_view kNotDestinationPorts = " -m multiport ! --dports ";

// Writes `match` then "a,b:c" for the longest run of `ports` from `begin` that fits
// multiport's 15 slots (a range takes 2), and returns where the run ends. The text goes
// straight into `out`, room for the longest run made once.
const PortRange* AppendMultiport(const PortRange* begin, const PortRange* end,
                                 absl::string_view match, TextBuffer* out) {
  const size_t room = match.size() + kMultiportSlots * 6;
  const size_t at = out->size();
  char* const start = out->Extend(room);
  char* p = start;
  if (!match.empty()) {
    std::memcpy(p, match.data(), match.size());
    p += match.size();
  }
  int used = 0;
  const PortRange* port = begin;
  for (; port != end; ++port) {
    const int slots = port->lo == port->hi ? 1 : 2;
    if (used + slots > kMultiportSlots) {
      break;
    }
    if (used > 0) {
      *p++ = ',';
    }
    used += slots;
    p = WriteDecimal(port->lo, p);
    if (slots == 2) {
      *p++ = ':';
      p = WriteDecimal(port->hi, p);
    }
  }
  out->Truncate(at + static_cast<size_t>(p - start));
  return port;
}

// AppendMultiport over all of `ports`, as many runs as they need; `ends` (when given, with
// room for one per port) gets the end of each run's text in `out`. Returns the number of
// runs.
inline uint32_t AppendMultiports(absl::Span<const PortRange> ports, absl::string_view match,
                                 TextBuffer* out, uint32_t* ends = nullptr) {
  if (ports.empty()) {  // most lists: a test before any setup
    return 0;
  }
  uint32_t runs = 0;
  const PortRange* const end = ports.data() + ports.size();
  for (const PortRange* at = ports.data(); at != end; ++runs) {
    at = AppendMultiport(at, end, match, out);
    if (ends != nullptr) {
      ends[runs] = static_cast<uint32_t>(out->size());
    }
  }
  return runs;
}

std::string PortMatch(const FailsafePort& p, const char* flag) {
  absl::string_view name = ProtocolSaveName(p.protocol);
  return absl::StrCat("-p ", name, " -m ", name, " ", flag, " ", p.port);
}

}  // namespace

// One chain's rules, written into the factory's reused buffer and copied into the Chain at
// exactly their size: grown in place, a body is reallocated a dozen times on the way and
// keeps up to half its size spare.
//
// In the buffer each rule comes after its newline ("\n<rule>\n<rule>"), and Finish moves
// the newlines to the rules' ends. So a profile rule, made of pieces that each start with
// a space, is written straight into the buffer and its first space becomes its newline,
// in place: the pieces are not gathered elsewhere first and copied.
class ChainFactory::ChainWriter {
 public:
  explicit ChainWriter(TextBuffer* body) : body_(body) { body_->clear(); }

  template <typename... Parts>
  void AddRule(const Parts&... parts) {
    AppendPieces(body_, '\n', parts...);
    ++rules_;
  }
  // One rule, whole, after its newline (ChainFactory::return_if_accepted_).
  void AddLine(absl::string_view newline_and_rule) {
    body_->Append(newline_and_rule);
    ++rules_;
  }

  // Counts a rule written into buffer() with its newline.
  void CountLine() { ++rules_; }

  // A rule written as pieces that each start with a space: SpacedRuleStart, then the
  // pieces appended to buffer(), then EndSpacedRule with where it started.
  size_t SpacedRuleStart() const { return body_->size(); }
  TextBuffer* buffer() { return body_; }
  // Appends the `size` bytes at `from` in the buffer (a rule's matches, again).
  void AppendCopy(size_t from, size_t size) {
    char* const to = body_->Extend(size);  // first: it may move the buffer
    std::memcpy(to, body_->view().data() + from, size);
  }
  void EndSpacedRule(size_t start) {
    body_->at(start) = '\n';
    ++rules_;
  }

  Chain Finish(std::string name) {
    Chain chain(std::move(name));
    if (rules_ > 0) {
      body_->Append('\n');
      chain.SetBody(std::string(body_->view().substr(1)), rules_);
    }
    return chain;
  }

 private:
  TextBuffer* body_;
  size_t rules_ = 0;
};

ChainFactory::ChainFactory(const Config& config, const std::vector<IpSetModel>& ipsets, int family,
                           ProfileChainNames* profile_chains)
    : config_(config), family_(family), namer_(config), profile_chains_(profile_chains) {
  if (profile_chains_ == nullptr) {
    own_profile_chains_ = std::make_unique<ProfileChainNames>();
    profile_chains_ = own_profile_chains_.get();
  }
  accept_mask_ = Hex(config_.mark_accept);
  const std::string& a = accept_mask_;
  std::string ep = Hex(config_.mark_from_endpoint);
  set_accept_ = absl::StrCat("-j MARK --set-xmark ", a, "/", a);
  spaced_set_accept_ = absl::StrCat(" ", set_accept_);
  clear_accept_ = absl::StrCat("-j MARK --set-xmark 0x0/", a);
  if_accept_ = absl::StrCat("-m mark --mark ", a, "/", a);
  return_if_accepted_ = absl::StrCat("\n", if_accept_, " -j RETURN");
  allow_end_ = absl::StrCat(spaced_set_accept_, return_if_accepted_);
  set_endpoint_ = absl::StrCat("-j MARK --set-xmark ", ep, "/", ep);
  clear_endpoint_ = absl::StrCat("-j MARK --set-xmark 0x0/", ep);
  if_not_endpoint_ = absl::StrCat("-m mark --mark 0x0/", ep);
  wildcard_ = absl::StrCat(config_.interface_prefix, "+");
  for (int p = 0; p < 256; ++p) {
    const std::string match = absl::StrCat(" -p ", ProtocolSaveName(p));
    ProtocolMatch& m = protocol_matches_[p];
    // Every name fits (the longest is 15 bytes; protocols_test holds every name to the room).
    m.size = std::min(match.size(), sizeof(m.text));
    std::memcpy(m.text, match.data(), m.size);
  }
  for (const IpSetModel& s : ipsets) {
    ipsets_by_name_.try_emplace(s.name, ExplicitSet{&s, namer_.ExplicitSet(s.name)});
  }
}

Chain ChainFactory::HookedChain(FixedChain chain, bool untracked) const {
  switch (chain) {
    case FixedChain::kPrerouting:
      return RawHookChain(chain, ChainDir::kFrom);
    case FixedChain::kOutput:
      return untracked ? RawHookChain(chain, ChainDir::kTo) : HostChainHead(chain, ChainDir::kTo);
    case FixedChain::kInput:
      return FilterInput();
    case FixedChain::kForward:
      return FilterForward();
    case FixedChain::kFailsafeIn:
    case FixedChain::kFailsafeOut:
    case FixedChain::kFromHostIf:
    case FixedChain::kToHostIf:
    case FixedChain::kFromEndpoint:
    case FixedChain::kToEndpoint:
      break;  // not hooked: Failsafe() and the dispatch trees build these
  }
  return Chain(namer_.Fixed(chain));
}

// raw P PREROUTING (kFrom) and P OUTPUT (kTo).
Chain ChainFactory::RawHookChain(FixedChain chain, ChainDir dir) const {
  const bool in = dir == ChainDir::kFrom;
  Chain c(namer_.Fixed(chain));
  c.AddRule(clear_accept_);
  c.AddRule(clear_endpoint_);
  c.AddRule(in ? "-i " : "-o ", wildcard_, " ", set_endpoint_);
  c.AddRule(if_not_endpoint_, " -j ",
            namer_.Fixed(in ? FixedChain::kFromHostIf : FixedChain::kToHostIf));
  // Only traffic to or from the host itself is untracked: forwarded traffic's replies
  // come from a workload, where no untracked policy could match them.
  c.AddRule(if_accept_, in ? " -m addrtype --dst-type LOCAL" : "", " -j NOTRACK");
  return c;
}

// The head of filter P INPUT (kFrom) and all of P OUTPUT (kTo).
Chain ChainFactory::HostChainHead(FixedChain chain, ChainDir dir) const {
  const bool in = dir == ChainDir::kFrom;
  Chain c(namer_.Fixed(chain));
  c.AddRule(if_accept_, " -j ACCEPT");
  c.AddRule("-m conntrack --ctstate INVALID -j DROP");
  c.AddRule("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
  c.AddRule(clear_endpoint_);
  c.AddRule(in ? "-i " : "-o ", wildcard_, " ", set_endpoint_);
  c.AddRule(if_not_endpoint_, " -g ",
            namer_.Fixed(in ? FixedChain::kFromHostIf : FixedChain::kToHostIf));
  return c;
}

Chain ChainFactory::FilterInput() const {
  Chain c = HostChainHead(FixedChain::kInput, ChainDir::kFrom);
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
      c.AddRule("-j ", namer_.Fixed(FixedChain::kFromEndpoint));
      break;
    case EndpointToHostAction::kAccept:
      c.AddRule("-j ", namer_.Fixed(FixedChain::kFromEndpoint));
      c.AddRule("-j ACCEPT");
      break;
  }
  return c;
}

Chain ChainFactory::FilterForward() const {
  const std::string from_endpoint = namer_.Fixed(FixedChain::kFromEndpoint);
  const std::string to_endpoint = namer_.Fixed(FixedChain::kToEndpoint);
  Chain c(namer_.Fixed(FixedChain::kForward));
  c.AddRule(if_accept_, " -m conntrack --ctstate UNTRACKED -j ACCEPT");
  c.AddRule("-m conntrack --ctstate INVALID -j DROP");
  c.AddRule("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
  c.AddRule("-i ", wildcard_, " -j ", from_endpoint);
  c.AddRule("-o ", wildcard_, " -j ", to_endpoint);
  c.AddRule("-i ", wildcard_, " -j ACCEPT");
  c.AddRule("-o ", wildcard_, " -j ACCEPT");
  c.AddRule("-j ", namer_.Fixed(FixedChain::kFromHostIf));
  c.AddRule("-j ", namer_.Fixed(FixedChain::kToHostIf));
  return c;
}

Chain ChainFactory::Failsafe(ChainDir dir, bool untracked) const {
  const bool in = dir == ChainDir::kFrom;
  Chain c(namer_.Fixed(FailsafeChain(dir)));
  for (const FailsafePort& p : in ? config_.failsafe_inbound : config_.failsafe_outbound) {
    c.AddRule(PortMatch(p, "--dport"), " -j ACCEPT");
  }
  if (untracked) {
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
  return c;
}

Chain ChainFactory::EndpointChain(const Endpoint& e, ChainDir dir, bool untracked,
                                  const std::string* suffix) const {
  const bool from = dir == ChainDir::kFrom;
  const bool host = e.kind == EndpointKind::kHost;
  ChainWriter c(&body_);
  if (host) {
    c.AddRule("-j ", namer_.Fixed(FailsafeChain(dir)));
  }
  c.AddRule(clear_accept_);
  if (!host && from) {
    // Addresses are written into a local buffer, not a string of their own each.
    char text[std::max(IpNet::kMaxText, MacAddress::kTextSize)];
    auto written = [&text](char* end) {
      return absl::string_view(text, static_cast<size_t>(end - text));
    };
    if (e.mac) {
      c.AddRule("-m mac ! --mac-source ", written(e.mac->WriteText(text)), " ", kCommentWrongMac,
                " -j DROP");
    }
    // Anti-spoofing: only the endpoint's own addresses may be sources. One net is one
    // negated match; several borrow the accept bit, which is clear here and cleared again.
    const std::vector<IpNet>& nets = family_ == 4 ? e.ipv4_nets : e.ipv6_nets;
    if (nets.size() == 1) {
      c.AddRule("! -s ", written(nets[0].WriteText(text)), " ", kCommentWrongIp, " -j DROP");
    } else {
      for (const IpNet& n : nets) {
        c.AddRule("-s ", written(n.WriteText(text)), " ", set_accept_);
      }
      c.AddRule("-m mark --mark 0x0/", accept_mask_, " ", kCommentWrongIp, " -j DROP");
      if (!nets.empty()) {
        c.AddRule(clear_accept_);
      }
    }
  }
  // Workloads: traffic from the workload is its outbound policy. Host endpoints: traffic
  // from the interface is the host's inbound policy (docs/model.md).
  const bool inbound = host ? from : !from;
  for (const std::string& id : untracked ? e.untracked_profile_ids : e.profile_ids) {
    c.AddRule("-j ", ProfileChainName(id, inbound ? RuleDir::kInbound : RuleDir::kOutbound));
    c.AddLine(return_if_accepted_);
  }
  // Untracked policy has no final DROP: what it does not accept meets the tracked policy.
  if (!untracked) {
    c.AddRule(kCommentNoProfile, " -j DROP");
  }
  return c.Finish(suffix != nullptr ? namer_.EndpointChain(dir, *suffix)
                                    : namer_.EndpointChain(dir, e));
}

const std::string& ChainFactory::ProfileChainName(const std::string& id, RuleDir dir) const {
  // Made once per profile: shortening a long id costs a SHA-256.
  auto [it, fresh] = profile_chains_->try_emplace(id);
  if (fresh) {
    it->second = namer_.ProfileChains(id);
  }
  return dir == RuleDir::kInbound ? it->second.first : it->second.second;
}

uint32_t ChainFactory::SetNumber(const SetMatch& m, RuleListText* shared) const {
  auto [it, fresh] =
      shared->set_numbers_[m.kind].try_emplace(m.name, static_cast<uint32_t>(shared->sets_.size()));
  if (fresh) {  // named once, for every family (a long name costs a SHA-256)
    RuleListText::Set& set = shared->sets_.emplace_back();
    if (m.kind == SetMatch::kTag) {
      set.name[0] = namer_.TagSet(m.name, 4);
      set.name[1] = namer_.TagSet(m.name, 6);
    } else {
      const ExplicitSet& s = ipsets_by_name_.at(m.name);
      set.family = s.model->family;
      set.name[s.model->family == 6] = s.name;
    }
  }
  return it->second;
}

Chain ChainFactory::ProfileChain(const Profile& profile, RuleDir dir,
                                 std::vector<uint32_t>* used_sets, RuleListText* shared) const {
  ChainWriter c(&body_);
  rule_sets_.clear();
  AddPolicyRules(dir == RuleDir::kInbound ? profile.inbound_rules : profile.outbound_rules, &c,
                 &rule_sets_, shared);
  // A chain names few distinct sets, each in many rules: each once, marked by the chain's
  // serial number in its slot.
  if (++chains_made_ == 0) {  // wrapped: no mark may look current
    std::fill(set_seen_.begin(), set_seen_.end(), 0);
    chains_made_ = 1;
  }
  if (set_seen_.size() < shared->set_slots()) {
    set_seen_.resize(shared->set_slots(), 0);
  }
  for (uint32_t slot : rule_sets_) {
    if (set_seen_[slot] != chains_made_) {
      set_seen_[slot] = chains_made_;
      used_sets->push_back(slot);
    }
  }
  return c.Finish(ProfileChainName(profile.id, dir));
}

// Always inlined into AddPolicyRules, its one caller: the call's argument setup, spills and
// frame cost ~50 instructions a rule and family, more than the body's own branches.
__attribute__((always_inline)) inline bool ChainFactory::RuleMatches(
    const PolicyRule& r, const uint32_t* set_numbers, const RuleListText& shared, TextBuffer* out,
    std::vector<uint32_t>* used_sets) const {
  bool in_family = true;
  // The pieces are written at a pointer, each of a fixed size where it can be (a copy the
  // compiler inlines), not appended as strings of a size chosen at run time (a call each).
  // Addresses: a positive net of the other family leaves the rule out; a negated one only
  // its match. A positive /0 matches everything and iptables-save prints nothing for it.
  auto net_match = [&](const std::optional<Match<IpNet>>& net, const char* flag) {
    if (!net) {
      return;
    }
    const Match<IpNet>& m = *net;
    if (m.value.family != family_) {
      in_family = in_family && m.negated;
      return;
    }
    if (!m.negated && m.value.prefix_len == 0) {
      return;
    }
    const size_t at = out->size();
    char* const start = out->Extend(6 + IpNet::kMaxText);
    char* p = start;
    if (m.negated) {
      std::memcpy(p, " !", 2);
      p += 2;
    }
    std::memcpy(p, flag, 4);  // " -s " or " -d "
    p = m.value.WriteText(p + 4);
    out->Truncate(at + static_cast<size_t>(p - start));
  };
  net_match(r.src_net, " -s ");
  net_match(r.dst_net, " -d ");
  if (r.protocol) {
    const uint8_t p = r.protocol->value;
    bool other_family_icmp =
        (p == kProtoIcmp && family_ == 6) || (p == kProtoIcmpv6 && family_ == 4);
    if (other_family_icmp) {
      in_family = in_family && r.protocol->negated;
    } else {
      // " !" and the match as fixed-size copies (ProtocolMatch), in room made once.
      const ProtocolMatch& m = protocol_matches_[p];
      const size_t at = out->size();
      char* const start = out->Extend(2 + sizeof(m.text));
      char* q = start;
      if (r.protocol->negated) {
        std::memcpy(q, " !", 2);
        q += 2;
      }
      std::memcpy(q, m.text, sizeof(m.text));
      out->Truncate(at + static_cast<size_t>(q - start) + m.size);
    }
  }
  if (!in_family) {
    return false;
  }
  if (r.icmp_type) {
    const bool v4 = family_ == 4;
    AppendPieces(out, v4 ? " -m icmp" : " -m icmp6", r.icmp_type->negated ? " !" : "",
                 v4 ? " --icmp-type " : " --icmpv6-type ", int{r.icmp_type->value});
    if (r.icmp_code) {
      AppendPieces(out, "/", int{*r.icmp_code});
    }
  }
  // The sets are used only if the rule is written: forget them if it is not.
  const size_t sets_before = used_sets->size();
  const bool v6 = family_ == 6;
  for (size_t i = 0; i < r.sets.size(); ++i) {
    const SetMatch& m = r.sets[i];
    const RuleListText::Set& set = shared.sets_[set_numbers[i]];
    if (set.family != 0 && set.family != family_) {
      // "In a set of the other family" is never true; "not in it" always is.
      in_family = in_family && m.negated;
      continue;
    }
    const std::string& name = set.name[v6];
    const size_t at = out->size();
    // " -m set", " !", " --match-set ", the name, " src": the most it writes.
    constexpr size_t kMostAroundName = 7 + 2 + 13 + 4;
    char* const start = out->Extend(kMostAroundName + name.size());
    char* p = start;
    std::memcpy(p, " -m set", 7);
    p += 7;
    if (m.negated) {
      std::memcpy(p, " !", 2);
      p += 2;
    }
    std::memcpy(p, " --match-set ", 13);
    p += 13;
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    std::memcpy(p, m.side == Side::kSource ? " src" : " dst", 4);
    out->Truncate(at + static_cast<size_t>(p + 4 - start));
    used_sets->push_back(RuleListText::SetSlot(set_numbers[i], family_));
  }
  if (!in_family) {
    used_sets->resize(sets_before);
    return false;
  }
  return true;
}

uint32_t ChainFactory::WriteSharedText(const PolicyRule& r, size_t slot,
                                       RuleListText* shared) const {
  TextBuffer& text = shared->text_;
  RuleListText::Words& ends = shared->ends_;
  const uint32_t entry = static_cast<uint32_t>(ends.size());
  shared->entry_[slot] = entry;
  // The run counts, the sets' numbers, then the ends, written in place: room for the most
  // the entry can take (a run per port), cut to what it took after.
  const size_t sets = r.sets.size();
  uint32_t* const e = ends.Extend(3 + sets + r.src_ports().size() + r.dst_ports().size());
  for (size_t i = 0; i < sets; ++i) {
    e[2 + i] = SetNumber(r.sets[i], shared);
  }
  // The positive runs' ports only (AddPolicyRules writes their match before each): a rule
  // is written once per pair of runs, and the text is kept until the next family's state.
  uint32_t* at = e + 2 + sets;
  e[0] = AppendMultiports(r.src_ports(), {}, &text, at);
  at += e[0];
  e[1] = AppendMultiports(r.dst_ports(), {}, &text, at);
  at += e[1];
  // What comes after the positive port matches: the negated ones, then a log rule's target
  // (AddPolicyRules adds the others: the same text for every rule, not kept per rule).
  AppendMultiports(r.not_src_ports(), kNotSourcePorts, &text);
  AppendMultiports(r.not_dst_ports(), kNotDestinationPorts, &text);
  if (r.action == Action::kLog) {
    text.Append(" -j LOG --log-prefix");
    const size_t quoted_at = text.size();
    char* const to = text.Extend(QuotedArgRoom(r.log_prefix));
    text.Truncate(quoted_at + static_cast<size_t>(WriteQuotedArg(r.log_prefix, to) - to));
    text.Append(" --log-level 5");
  }
  *at++ = static_cast<uint32_t>(text.size());
  ends.Truncate(entry + static_cast<size_t>(at - e));
  return entry;
}

void ChainFactory::AddPolicyRules(const std::vector<PolicyRule>& rules, ChainWriter* chain,
                                  std::vector<uint32_t>* used_sets, RuleListText* shared) const {
  std::vector<uint32_t>& entries = shared->entry_;
  auto [list, fresh] = shared->lists_.try_emplace(&rules, static_cast<uint32_t>(entries.size()));
  if (fresh) {  // the first family to write the list
    entries.resize(entries.size() + rules.size(), RuleListText::kNone);
  }
  const size_t first_slot = list->second;
  TextBuffer* const body = chain->buffer();
  for (size_t i = 0; i < rules.size(); ++i) {
    const PolicyRule& r = rules[i];
    if (r.ip_version && *r.ip_version != family_) {
      continue;
    }
    // The shared entry first: it holds the numbers of the rule's sets.
    uint32_t entry = entries[first_slot + i];
    if (entry == RuleListText::kNone) {
      entry = WriteSharedText(r, first_slot + i, shared);
    }
    const uint32_t* const e = shared->ends_.data() + entry;
    const uint32_t* const set_numbers = e + 2;
    // The matches go straight into the chain, as its next rule's first pieces.
    const size_t start = chain->SpacedRuleStart();
    if (!RuleMatches(r, set_numbers, *shared, body, used_sets)) {
      body->Truncate(start);
      continue;
    }
    const size_t matches_size = body->size() - start;
    // The rule's text starts where the entry written before it ends (with its tail).
    const uint32_t text_start = entry == 0 ? 0 : shared->ends_[entry - 1];
    // The text from `from` to `to`, offsets this factory wrote: not checked again as
    // string_view::substr would (a compare and a branch to a throw, 3-4 a line).
    const char* const text = shared->text_.view().data();
    auto piece = [text](uint32_t from, uint32_t to) {
      return absl::string_view(text + from, to - from);
    };
    const uint32_t src_runs = e[0], dst_runs = e[1];
    const uint32_t* const src_ends = set_numbers + r.sets.size();
    const uint32_t* const dst_ends = src_ends + src_runs;
    const uint32_t tail_start = dst_runs > 0   ? dst_ends[dst_runs - 1]
                                : src_runs > 0 ? src_ends[src_runs - 1]
                                               : text_start;
    const absl::string_view tail = piece(tail_start, dst_ends[dst_runs]);
    const bool allow = r.action == Action::kAllow;
    const absl::string_view target = allow ? absl::string_view(spaced_set_accept_)
                                     : r.action == Action::kDeny
                                         ? absl::string_view(" -j DROP")
                                         : absl::string_view();  // in the tail
    // The last rule's target: an allow rule's comes with the RETURN line after it.
    const absl::string_view last_target = allow ? absl::string_view(allow_end_) : target;
    const uint32_t last_s = std::max(src_runs, 1u) - 1, last_d = std::max(dst_runs, 1u) - 1;
    // One rule per pair of a source and a destination multiport run (none: one empty run);
    // the first has its matches written already, the others copy them.
    size_t line = start;
    uint32_t src_at = text_start;
    for (uint32_t s = 0; s < std::max(src_runs, 1u); ++s) {
      uint32_t dst_at = src_runs == 0 ? text_start : src_ends[src_runs - 1];
      for (uint32_t d = 0; d < std::max(dst_runs, 1u); ++d) {
        if (line != start) {
          line = chain->SpacedRuleStart();
          chain->AppendCopy(start, matches_size);
        }
        // Every piece starts with a space (the runs follow their match); EndSpacedRule
        // turns the rule's first space into its newline.
        if (src_runs > 0) {
          body->Append(kSourcePorts);
          body->Append(piece(src_at, src_ends[s]));
        }
        if (dst_runs > 0) {
          body->Append(kDestinationPorts);
          body->Append(piece(dst_at, dst_ends[d]));
          dst_at = dst_ends[d];
        }
        body->Append(tail);
        body->Append(s == last_s && d == last_d ? last_target : target);
        chain->EndSpacedRule(line);
        line = SIZE_MAX;  // the next, if any, is a copy
      }
      if (src_runs > 0) {
        src_at = src_ends[s];
      }
    }
    if (allow) {
      chain->CountLine();  // the RETURN line, in last_target
    }
  }
}

}  // namespace fiptgen
