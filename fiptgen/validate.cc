#include "fiptgen/validate.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "fiptgen/error_path.h"
#include "fiptgen/names.h"
#include "fiptgen/protocols.h"
#include "fiptgen/validate_loaded.h"

namespace fiptgen {
namespace {

// The JSON field a set match comes from: "src_tag", "!dst_ipset", ...
std::string SetMatchField(SetMatch::Kind kind, Side side, bool negated) {
  return absl::StrCat(negated ? "!" : "", side == Side::kSource ? "src_" : "dst_",
                      kind == SetMatch::kTag ? "tag" : "ipset");
}

// The error of a set match whose tag no profile has, or whose ipset the model lacks.
std::string SetMatchMessage(SetMatch::Kind kind, absl::string_view name) {
  return absl::StrCat(kind == SetMatch::kTag ? "no profile has tag " : "no ipset named ",
                      QuoteForMessage(name));
}

// `v`: a std::vector or an absl::Span.
template <typename List>
bool SortedUnique(const List& v) {
  return std::is_sorted(v.begin(), v.end()) && std::adjacent_find(v.begin(), v.end()) == v.end();
}
constexpr absl::string_view kNotSortedUnique =
    "must be sorted without duplicates (LoadModel does this)";

// A rule's checks that need nothing but the rule, in ModelErrors' order; its set matches
// are checked after them (Validator::CheckSetMatches). `path()` makes the rule's path,
// called only for an error. `loaded`: by LoadModel, whose reading made the format checks.
template <typename Path>
void RuleFieldErrors(const PolicyRule& r, Path& path, bool loaded,
                     std::vector<std::string>* errors) {
  auto error = [errors](absl::string_view at, absl::string_view message) {
    errors->push_back(PathError(at, message));
  };
  if (r.action == Action::kLog) {
    const absl::string_view lp = r.log_prefix;
    bool printable = std::all_of(lp.begin(), lp.end(), [](char c) {
      return c >= ' ' && c <= '~' && c != '"' && c != '\'' && c != '\\';
    });
    if (lp.empty() || lp.size() > 29 || !printable) {
      error(FieldPath(path(), "log_prefix"),
            absl::StrCat(QuoteForMessage(lp),
                         " must be 1-29 printable ASCII characters without quotes or backslash"));
    }
  }
  // A byte holds 0..255: only 0 is out of range.
  if (!loaded && r.protocol && r.protocol->value == 0) {
    error(FieldPath(path(), r.protocol->negated ? "!protocol" : "protocol"), "must be 1-255");
  }
  if (!r.ports.empty() &&
      (!r.protocol || r.protocol->negated || !ProtocolHasPorts(r.protocol->value))) {
    const char* field = !r.src_ports().empty()       ? "src_ports"
                        : !r.dst_ports().empty()     ? "dst_ports"
                        : !r.not_src_ports().empty() ? "!src_ports"
                                                     : "!dst_ports";
    error(FieldPath(path(), field), "needs protocol tcp, udp, sctp or udplite");
  }
  // Format checks: LoadModel's reading made them (and the list would be built per rule).
  if (!loaded) {
    for (const auto& [ports, field] :
         {std::pair<absl::Span<const PortRange>, const char*>{r.src_ports(), "src_ports"},
          {r.dst_ports(), "dst_ports"},
          {r.not_src_ports(), "!src_ports"},
          {r.not_dst_ports(), "!dst_ports"}}) {
      for (const PortRange& pr : ports) {
        if (pr.lo > pr.hi) {
          error(FieldPath(path(), field), "a range must have lo < hi");
        }
      }
      if (!SortedUnique(ports)) {
        error(FieldPath(path(), field), kNotSortedUnique);
      }
    }
  }
  if (r.icmp_type) {
    const char* field = r.icmp_type->negated ? "!icmp_type" : "icmp_type";
    if (!r.protocol || r.protocol->negated ||
        (r.protocol->value != kProtoIcmp && r.protocol->value != kProtoIcmpv6)) {
      error(FieldPath(path(), field), "needs protocol icmp or icmpv6");
    }
    if (r.icmp_type->value == 255) {
      error(FieldPath(path(), field), "must be 0-254 (the kernel reads type 255 as \"any type\")");
    }
  }
  // An ICMP code is a byte: every value it can hold is a code.
  if (r.icmp_code && !r.icmp_type) {
    error(FieldPath(path(), "icmp_code"), "needs icmp_type");
  }
  if (!loaded && r.ip_version && *r.ip_version != 4 && *r.ip_version != 6) {
    error(FieldPath(path(), "ip_version"), "must be 4 or 6");
  }
  // Each net tested in place, not through a list of the two: LoadModel checks every rule
  // as it reads it, and the list was built on the stack for each.
  auto negated_slash0 = [&](const std::optional<Match<IpNet>>& net, const char* field) {
    if (net && net->negated && net->value.prefix_len == 0) {
      error(FieldPath(path(), field),
            "a negated /0 matches nothing (and nft refuses it); remove the rule instead");
    }
  };
  negated_slash0(r.src_net, "!src_net");
  negated_slash0(r.dst_net, "!dst_net");
}

// Which bytes an interface name may hold (Validator::InterfaceProblem's rule).
struct InterfaceBytes {
  bool ok[256] = {};
  constexpr InterfaceBytes() {
    for (int c = '!'; c <= '~'; ++c) {
      ok[c] = c != '/' && c != ':' && c != '@' && c != '"' && c != '\'' && c != '\\';
    }
  }
};
constexpr InterfaceBytes kInterfaceByte;

// Walks a Model and collects "<path>: <message>" for everything wrong with it. Paths are
// those of the JSON the model would be loaded from (endpoints[3].interface).
//
// Its checks are of two kinds. Format checks (value ranges, lists sorted and unique,
// which nets an endpoint may own, a profile's id) are what LoadModel's reading of JSON
// already guarantees: a value it reads out of range or a net it refuses is reported and
// left out of the model, and it sorts every list. Every other check (names, references,
// cross-field rules, collisions) needs the whole model. A Validator for a model LoadModel
// filled (`loaded`) makes only the second kind, with the same messages in the same order.
class Validator {
 public:
  // `rules`: the rules' checks LoadModel made as it read them (for a loaded model).
  Validator(const Model& model, bool loaded, const LoadedRuleChecks* rules = nullptr)
      : model_(model), loaded_(loaded), rules_(rules), namer_(model.config) {}

  std::vector<std::string> Run() {
    CheckConfig();
    CheckEndpoints();
    CheckProfiles();
    CheckIpsets();
    CheckNames();
    return std::move(errors_);
  }

 private:
  void Error(absl::string_view path, absl::string_view message) {
    errors_.push_back(PathError(path, message));
  }

  // Linux interface names: 1-15 bytes, no '/', whitespace, ':'; we also refuse '@', quotes
  // and backslash (they break restore text) and a trailing '+' (an iptables wildcard).
  static std::string InterfaceProblem(absl::string_view name, size_t max_len) {
    // Most names have no problem: found with a table lookup a byte, not eight compares (the
    // loaded model's endpoints are checked three times each).
    if (!name.empty() && name.size() <= max_len && name != "." && name != ".." &&
        name.back() != '+' && name.front() != '!' &&
        std::all_of(name.begin(), name.end(),
                    [](char c) { return kInterfaceByte.ok[static_cast<unsigned char>(c)]; })) {
      return "";
    }
    if (name.empty() || name.size() > max_len) {
      return absl::StrCat("must be 1-", max_len, " characters");
    }
    if (name == "." || name == "..") {
      return "is not a valid interface name";
    }
    for (char c : name) {
      if (c <= ' ' || c > '~' || c == '/' || c == ':' || c == '@' || c == '"' || c == '\'' ||
          c == '\\') {
        return "may not hold whitespace, control characters, '/', ':', '@', quotes or backslash";
      }
    }
    if (name.back() == '+') {
      return "may not end with '+' (an iptables wildcard)";
    }
    if (name.front() == '!') {
      return "may not start with '!' (iptables negation)";
    }
    return "";
  }

  static bool IsPrefixChars(absl::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
  }

  void CheckConfig() {
    const Config& c = model_.config;
    if (std::string p = InterfaceProblem(c.interface_prefix, 14); !p.empty()) {
      Error("config.interface_prefix", absl::StrCat(QuoteForMessage(c.interface_prefix), " ", p));
    }
    // Longest chain: P + "from-" + 16 characters must fit iptables' 28.
    if (c.chain_prefix.empty() || c.chain_prefix.size() > 7 || !IsPrefixChars(c.chain_prefix)) {
      Error("config.chain_prefix", absl::StrCat(QuoteForMessage(c.chain_prefix),
                                                " must be 1-7 characters of [A-Za-z0-9_-]"));
    }
    // Longest set: P + "tmp-v4-" + 16 characters must fit ipset's 31.
    if (c.ipset_prefix.empty() || c.ipset_prefix.size() > 8 || !IsPrefixChars(c.ipset_prefix)) {
      Error("config.ipset_prefix", absl::StrCat(QuoteForMessage(c.ipset_prefix),
                                                " must be 1-8 characters of [A-Za-z0-9_-]"));
    }
    for (auto [name, mark] : {std::pair<const char*, uint32_t>{"mark_accept", c.mark_accept},
                              {"mark_from_endpoint", c.mark_from_endpoint}}) {
      if (mark == 0 || (mark & (mark - 1)) != 0) {
        Error(FieldPath("config", name), "must be a single bit");
      }
    }
    if (c.mark_accept == c.mark_from_endpoint) {
      Error("config.mark_from_endpoint", "must differ from config.mark_accept");
    }
    if (c.metadata && (c.metadata->addr.family != 4 || !c.metadata->addr.is_host())) {
      Error("config.metadata.addr", "must be one IPv4 address");
    }
    if (c.families.empty() ||
        std::any_of(c.families.begin(), c.families.end(), [](int f) { return f != 4 && f != 6; }) ||
        !std::is_sorted(c.families.begin(), c.families.end()) ||
        std::adjacent_find(c.families.begin(), c.families.end()) != c.families.end()) {
      Error("config.families", "must be [4], [6] or [4, 6]");
    }
  }

  // `parent` and `field` make the path only when there is an error to report.
  template <typename T>
  void CheckSortedUnique(const std::vector<T>& v, absl::string_view parent,
                         absl::string_view field) {
    if (!SortedUnique(v)) {
      Error(FieldPath(parent, field), kNotSortedUnique);
    }
  }

  void CheckEndpoints() {
    absl::flat_hash_map<absl::string_view, size_t> ids;
    ids.reserve(model_.endpoints.size());  // no rehash as they grow
    EndpointNameIndex names(model_.config);
    names.Reserve(model_.endpoints.size());
    // "endpoints[<i>]" in one string, its index rewritten per endpoint: IndexPath's own
    // string would be allocated (17 bytes reserved) and freed for each.
    std::string path = "endpoints[";
    const size_t index_at = path.size();
    for (size_t i = 0; i < model_.endpoints.size(); ++i) {
      const Endpoint& e = model_.endpoints[i];
      path.resize(index_at);
      AppendPieces(&path, i, "]");
      if (!e.id.empty()) {
        if (auto [it, fresh] = ids.emplace(e.id, i); !fresh) {
          Error(FieldPath(path, "id"),
                absl::StrCat(QuoteForMessage(e.id), " is also endpoints[", it->second, "].id"));
        }
      }
      // CheckEndpointAmong, then Add, with the chain suffix both compare made once.
      const bool named = InterfaceProblem(e.interface, 15).empty();
      std::string chain_suffix = named ? names.ChainSuffix(e) : std::string();
      if (named) {
        names.CheckClashes(e, chain_suffix, path, &errors_);
      }
      CheckEndpoint(e, path);
      if (named) {
        names.Add(e, std::move(chain_suffix));
      }
    }
  }

 public:
  // One endpoint among others: its clashes with them, then its own checks.
  void CheckEndpointAmong(const Endpoint& e, const std::string& path,
                          const EndpointNameIndex& others) {
    // An interface with a problem of its own was reported; its names mean nothing.
    if (InterfaceProblem(e.interface, 15).empty()) {
      others.CheckClashes(e, path, &errors_);
    }
    CheckEndpoint(e, path);
  }

  // Everything about one endpoint that does not depend on the other endpoints.
  void CheckEndpoint(const Endpoint& e, const std::string& path) {
    const Config& c = model_.config;
    if (e.id.empty()) {
      Error(FieldPath(path, "id"), "must not be empty");
    }
    if (std::string p = InterfaceProblem(e.interface, 15); !p.empty()) {
      Error(FieldPath(path, "interface"), absl::StrCat(QuoteForMessage(e.interface), " ", p));
    } else if (e.kind == EndpointKind::kWorkload) {
      if (!absl::StartsWith(e.interface, c.interface_prefix) ||
          e.interface.size() == c.interface_prefix.size()) {
        Error(FieldPath(path, "interface"),
              absl::StrCat("a workload interface must be interface_prefix ",
                           QuoteForMessage(c.interface_prefix), " and more, not ",
                           QuoteForMessage(e.interface)));
      }
    } else if (absl::StartsWith(e.interface, c.interface_prefix)) {
      Error(FieldPath(path, "interface"),
            absl::StrCat("a host interface must not start with interface_prefix ",
                         QuoteForMessage(c.interface_prefix)));
    }
    if (e.mac && e.kind == EndpointKind::kHost) {
      Error(FieldPath(path, "mac"), "only workloads have a MAC check");
    }
    if (!e.untracked_profile_ids.empty() && e.kind == EndpointKind::kWorkload) {
      Error(FieldPath(path, "untracked_profile_ids"), "only host endpoints have untracked policy");
    }
    if (!loaded_) {
      CheckEndpointNets(e, path);
    }
    CheckProfileRefs(e.profile_ids, path, "profile_ids");
    CheckProfileRefs(e.untracked_profile_ids, path, "untracked_profile_ids");
  }

  std::vector<std::string> TakeErrors() { return std::move(errors_); }

 private:
  // Format checks (LoadModel's reading makes them) of an endpoint's nets.
  void CheckEndpointNets(const Endpoint& e, const std::string& path) {
    for (const IpNet& n : e.ipv4_nets) {
      if (n.family != 4) {
        Error(FieldPath(path, "ipv4_nets"), "holds a non-IPv4 net");
      }
    }
    for (const IpNet& n : e.ipv6_nets) {
      if (n.family != 6) {
        Error(FieldPath(path, "ipv6_nets"), "holds a non-IPv6 net");
      }
    }
    for (const auto& [nets, field] :
         {std::pair<const std::vector<IpNet>*, const char*>{&e.ipv4_nets, "ipv4_nets"},
          {&e.ipv6_nets, "ipv6_nets"}}) {
      for (size_t i = 0; i < nets->size(); ++i) {
        if (std::string p = OwnedNetProblem((*nets)[i]); !p.empty()) {
          Error(IndexPath(FieldPath(path, field), i), p);
        }
      }
    }
    CheckSortedUnique(e.ipv4_nets, path, "ipv4_nets");
    CheckSortedUnique(e.ipv6_nets, path, "ipv6_nets");
  }

  // `parent` and `field` make the path only for an error. An endpoint lists a few
  // profiles: a repeat is found by looking back (a set for long lists), not by hashing.
  void CheckProfileRefs(const std::vector<std::string>& ids, const std::string& parent,
                        const char* field) {
    constexpr size_t kLookBack = 16;
    absl::flat_hash_set<absl::string_view> seen;  // only past kLookBack ids
    for (size_t i = 0; i < ids.size(); ++i) {
      if (model_.profiles.count(ids[i]) == 0) {
        Error(IndexPath(FieldPath(parent, field), i),
              absl::StrCat("no profile ", QuoteForMessage(ids[i])));
        continue;
      }
      bool repeated;
      if (ids.size() <= kLookBack) {
        // Earlier ids that name no profile were reported as such, never as repeats:
        // the first listing of a known id is the one a set would hold.
        repeated = std::find(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(i), ids[i]) !=
                   ids.begin() + static_cast<std::ptrdiff_t>(i);
      } else {
        repeated = !seen.insert(ids[i]).second;
      }
      if (repeated) {
        Error(IndexPath(FieldPath(parent, field), i),
              absl::StrCat("profile ", QuoteForMessage(ids[i]), " is listed twice"));
      }
    }
  }

  using NameSet = absl::flat_hash_set<absl::string_view, SetNameHash>;

  // A path made the first time an error needs it: a large model has thousands of profiles,
  // tens of thousands of rules, and almost never an error.
  template <typename Make>
  class LazyPath {
   public:
    explicit LazyPath(Make make) : make_(std::move(make)) {}
    const std::string& operator()() {
      if (path_.empty()) {
        path_ = make_();
      }
      return path_;
    }

   private:
    Make make_;
    std::string path_;
  };

  void CheckProfiles() {
    NameSet tags;
    for (const auto& [id, profile] : model_.profiles) {
      for (const std::string& tag : profile.tags) {
        tags.insert(tag);
      }
    }
    NameSet ipset_names;
    for (const IpSetModel& s : model_.ipsets) {
      ipset_names.insert(s.name);
    }
    // Where each profile's rule checks are in rules_ (profiles are read in the document's
    // order, reported in their ids').
    absl::flat_hash_map<const Profile*, std::pair<size_t, size_t>> loaded_ranges;
    std::vector<bool> missing;  // by the index of a name in rules_->set_names
    if (rules_ != nullptr) {
      for (const auto& [kind, name] : rules_->set_names) {
        missing.push_back(!(kind == SetMatch::kTag ? tags : ipset_names).contains(name));
      }
      const auto& starts = rules_->profiles;
      for (size_t i = 0; i < starts.size(); ++i) {
        loaded_ranges[starts[i].first] = {starts[i].second, i + 1 < starts.size()
                                                                ? starts[i + 1].second
                                                                : rules_->entries.size()};
      }
    }
    for (const auto& [id, profile] : model_.profiles) {
      LazyPath path([&id = id] { return KeyPath("profiles", id); });
      if (id.empty()) {
        Error(path(), "profile id must not be empty");
      }
      if (!loaded_ && id != profile.id) {
        Error(path(), "Profile.id differs from its key");
      }
      for (const std::string& tag : profile.tags) {
        if (tag.empty()) {
          Error(FieldPath(path(), "tags"), "a tag must not be empty");
        }
      }
      if (!loaded_ && !SortedUnique(profile.tags)) {
        CheckSortedUnique(profile.tags, path(), "tags");
      }
      if (rules_ != nullptr) {
        ReportLoadedRules(profile, path, missing, loaded_ranges);
        continue;
      }
      for (RuleDir dir : {RuleDir::kInbound, RuleDir::kOutbound}) {
        const bool in = dir == RuleDir::kInbound;
        const std::vector<PolicyRule>& rules = in ? profile.inbound_rules : profile.outbound_rules;
        for (size_t i = 0; i < rules.size(); ++i) {
          LazyPath rule_path([&path, in, i] {
            return IndexPath(FieldPath(path(), in ? "inbound_rules" : "outbound_rules"), i);
          });
          RuleFieldErrors(rules[i], rule_path, loaded_, &errors_);
          CheckSetMatches(rules[i].sets, rule_path, tags, ipset_names);
        }
      }
    }
  }

  // A rule's set matches: each names a tag some profile has, or an ipset of the model.
  template <typename Path>
  void CheckSetMatches(absl::Span<const SetMatch> sets, Path& path, const NameSet& tags,
                       const NameSet& ipset_names) {
    for (const SetMatch& m : sets) {
      if (!(m.kind == SetMatch::kTag ? tags : ipset_names).contains(m.name)) {
        Error(FieldPath(path(), SetMatchField(m.kind, m.side, m.negated)),
              SetMatchMessage(m.kind, m.name));
      }
    }
  }

  // The rules' checks LoadModel made as it read them (rules_), reported for `profile` in
  // the order CheckProfiles would make them: inbound rules first, each rule's own errors
  // before its set matches.
  template <typename Path>
  void ReportLoadedRules(
      const Profile& profile, Path& profile_path, const std::vector<bool>& missing,
      const absl::flat_hash_map<const Profile*, std::pair<size_t, size_t>>& ranges) {
    const auto range = ranges.find(&profile);
    if (range == ranges.end()) {
      return;
    }
    using Entry = LoadedRuleChecks::Entry;
    absl::Span<const Entry> entries(rules_->entries.data() + range->second.first,
                                    range->second.second - range->second.first);
    // The document may give "outbound_rules" before "inbound_rules".
    const auto inbound = [](const Entry& e) { return e.rule % 2 == 0; };
    std::vector<Entry> sorted;
    if (!std::is_partitioned(entries.begin(), entries.end(), inbound)) {
      sorted.assign(entries.begin(), entries.end());
      std::stable_partition(sorted.begin(), sorted.end(), inbound);
      entries = sorted;
    }
    for (const Entry& e : entries) {
      if (e.error) {
        errors_.push_back(rules_->errors[e.what]);
      } else if (missing[e.what]) {
        Error(FieldPath(IndexPath(FieldPath(profile_path(),
                                            inbound(e) ? "inbound_rules" : "outbound_rules"),
                                  e.rule / 2),
                        SetMatchField(e.kind, e.side, e.negated)),
              SetMatchMessage(e.kind, rules_->set_names[e.what].second));
      }
    }
  }

  void CheckIpsets() {
    absl::flat_hash_map<absl::string_view, size_t> names;
    for (size_t i = 0; i < model_.ipsets.size(); ++i) {
      const IpSetModel& s = model_.ipsets[i];
      std::string path = IndexPath("ipsets", i);
      if (s.name.empty()) {
        Error(FieldPath(path, "name"), "must not be empty");
      } else if (auto [it, fresh] = names.emplace(s.name, i); !fresh) {
        Error(FieldPath(path, "name"),
              absl::StrCat(QuoteForMessage(s.name), " is also ipsets[", it->second, "].name"));
      }
      if (s.family != 4 && s.family != 6) {
        Error(FieldPath(path, "family"), "must be 4 or 6");
      }
      if (s.type != "hash:ip" && s.type != "hash:net") {
        Error(FieldPath(path, "type"),
              absl::StrCat(QuoteForMessage(s.type), " is not \"hash:ip\" or \"hash:net\""));
      }
      // Compared once, not per member (a huge model's sets hold 100,000).
      const bool hash_ip = s.type == "hash:ip";
      for (size_t j = 0; j < s.members.size(); ++j) {
        const IpNet& m = s.members[j];
        if (m.family != s.family) {
          Error(IndexPath(FieldPath(path, "members"), j),
                absl::StrCat("not an IPv", s.family, " address"));
        } else if (hash_ip && !m.is_host()) {
          Error(IndexPath(FieldPath(path, "members"), j),
                absl::StrCat(QuoteForMessage(m.ToString()),
                             " is a network; a hash:ip set holds addresses"));
        }
      }
      if (!loaded_) {
        CheckSortedUnique(s.members, path, "members");
      }
    }
  }

  // Two inputs that map to one chain or set name are an error, never a silent merge.
  // Endpoint chains are EndpointNameIndex's: their names cannot meet a profile chain's
  // ("from-"/"to-" against "p-") and always fit (the chain_prefix check sees to it).
  //
  // What made a name is kept as a Maker, and its text ("profiles[\"web\"]", "tag \"db\"",
  // "ipsets[2].name") made only for an error: a large model claims thousands of names and
  // almost never twice.
  struct Maker {
    enum Kind { kProfile, kTag, kIpset } kind;
    absl::string_view name;  // the profile's id, the tag
    size_t index = 0;        // the ipset's
    bool operator==(const Maker& o) const {
      return kind == o.kind && name == o.name && index == o.index;
    }
  };
  static std::string MakerText(const Maker& m) {
    switch (m.kind) {
      case Maker::kProfile:
        return KeyPath("profiles", m.name);
      case Maker::kTag:
        return absl::StrCat("tag ", QuoteForMessage(m.name));
      default:
        return FieldPath(IndexPath("ipsets", m.index), "name");
    }
  }
  void CheckNames() {
    std::set<absl::string_view> tags;
    for (const auto& [id, profile] : model_.profiles) {
      tags.insert(profile.tags.begin(), profile.tags.end());
    }
    // Every name claimed, kept here (room made once: the views below stay valid).
    std::vector<std::string> names;
    names.reserve(model_.profiles.size() + 4 * tags.size() + 2 * model_.ipsets.size());
    absl::flat_hash_map<absl::string_view, Maker> chains, sets;  // name -> what made it
    auto claim = [this, &names](absl::flat_hash_map<absl::string_view, Maker>& used,
                                std::string name, const Maker& maker, size_t max_len,
                                const char* kind) {
      if (name.size() > max_len) {
        Error(MakerText(maker), absl::StrCat(kind, " name ", QuoteForMessage(name),
                                             " is longer than ", max_len, " characters"));
      }
      names.push_back(std::move(name));
      auto [it, fresh] = used.emplace(names.back(), maker);
      if (fresh || it->second == maker) {
        return;
      }
      // One report per pair of inputs, though they may collide on several names.
      std::string what = MakerText(maker);
      std::string other = MakerText(it->second);
      if (reported_.insert({what, other}).second) {
        Error(what, absl::StrCat(kind, " name ", QuoteForMessage(names.back()), " is also made by ",
                                 other));
      }
    };
    // A profile's chain name is its id between a fixed head and tail, the id shortened only
    // when it is not a short plain name (UniquelyShorten); shortened, it is "_" and 15 hex
    // digits, which no id kept whole can be. So an id kept whole makes a name no other
    // profile makes (ids are unique), and its name needs making only when it is too long:
    // only the shortened ids (142 of 1,000 on a large model) are claimed, for the rare
    // collision of two hashes. (The outbound chain differs only in its last letter.)
    const size_t profile_chain_head = namer_.ProfileChain("", RuleDir::kInbound).size();
    for (const auto& [id, profile] : model_.profiles) {
      if (id.size() <= static_cast<size_t>(kNameComponentWidth) &&
          profile_chain_head + id.size() <= kMaxChainName &&
          UniquelyShorten(id, kNameComponentWidth) == id) {
        continue;
      }
      claim(chains, namer_.ProfileChain(id, RuleDir::kInbound), Maker{Maker::kProfile, id},
            kMaxChainName, "chain");
    }
    for (absl::string_view tag : tags) {
      for (int family : {4, 6}) {
        std::string name = namer_.TagSet(tag, family);
        std::string temporary = namer_.TemporarySet(name);
        claim(sets, std::move(name), Maker{Maker::kTag, tag}, kMaxSetName, "ipset");
        claim(sets, std::move(temporary), Maker{Maker::kTag, tag}, kMaxSetName, "ipset");
      }
    }
    std::set<absl::string_view> ipset_names;
    for (size_t i = 0; i < model_.ipsets.size(); ++i) {
      // A repeated name was reported by CheckIpsets already.
      if (!ipset_names.insert(model_.ipsets[i].name).second) {
        continue;
      }
      std::string name = namer_.ExplicitSet(model_.ipsets[i].name);
      std::string temporary = namer_.TemporarySet(name);
      claim(sets, std::move(name), Maker{Maker::kIpset, {}, i}, kMaxSetName, "ipset");
      claim(sets, std::move(temporary), Maker{Maker::kIpset, {}, i}, kMaxSetName, "ipset");
    }
  }

  const Model& model_;
  const bool loaded_;              // by LoadModel: its format checks are made
  const LoadedRuleChecks* rules_;  // by LoadModel: its rules are checked, or nullptr
  Namer namer_;
  std::vector<std::string> errors_;
  std::set<std::pair<std::string, std::string>> reported_;
};

}  // namespace

std::string OwnedNetProblem(const IpNet& net) {
  if (!net.has_host_bits()) {
    return "";
  }
  IpNet address = net;
  address.prefix_len = net.max_prefix();
  return absl::StrCat(QuoteForMessage(net.ToString()),
                      " has host bits set: an endpoint owns the addresses it lists; did you mean ",
                      QuoteForMessage(address.ToString()), " (the address) or ",
                      QuoteForMessage(net.WithoutHostBits().ToString()), " (the network)?");
}

EndpointNameIndex::EndpointNameIndex(const Config& config) : config_(config) {}

std::string EndpointNameIndex::ChainSuffix(const Endpoint& endpoint) const {
  return Namer(config_).EndpointSuffix(endpoint);
}

bool EndpointNameIndex::InterfaceClash(const Endpoint& endpoint, absl::string_view path,
                                       std::vector<std::string>* errors) const {
  auto it = interface_holder_.find(endpoint.interface);
  if (it == interface_holder_.end() || it->second == endpoint.id) {
    return false;
  }
  errors->push_back(
      PathError(FieldPath(path, "interface"),
                absl::StrCat(QuoteForMessage(endpoint.interface),
                             " is also the interface of endpoint ", QuoteForMessage(it->second))));
  return true;
}

void EndpointNameIndex::SuffixClash(const Endpoint& endpoint, absl::string_view chain_suffix,
                                    absl::string_view path,
                                    std::vector<std::string>* errors) const {
  if (auto it = suffix_holder_.find(chain_suffix);
      it != suffix_holder_.end() && it->second.id != endpoint.id) {
    errors->push_back(PathError(
        FieldPath(path, "interface"),
        absl::StrCat("chain name ",
                     QuoteForMessage(Namer(config_).EndpointChain(ChainDir::kFrom, endpoint)),
                     " is also made by endpoint ", QuoteForMessage(it->second.id), " (interface ",
                     QuoteForMessage(it->second.interface), ")")));
  }
}

// The same interface makes the same chain names: one clash, one error, so the chain suffix
// is looked up (and, here, made) only when the interface is the endpoint's own.
void EndpointNameIndex::CheckClashes(const Endpoint& endpoint, absl::string_view path,
                                     std::vector<std::string>* errors) const {
  if (!InterfaceClash(endpoint, path, errors)) {
    SuffixClash(endpoint, ChainSuffix(endpoint), path, errors);
  }
}

void EndpointNameIndex::CheckClashes(const Endpoint& endpoint, absl::string_view chain_suffix,
                                     absl::string_view path,
                                     std::vector<std::string>* errors) const {
  if (!InterfaceClash(endpoint, path, errors)) {
    assert(chain_suffix == ChainSuffix(endpoint));
    SuffixClash(endpoint, chain_suffix, path, errors);
  }
}

void EndpointNameIndex::Add(const Endpoint& endpoint) { Add(endpoint, ChainSuffix(endpoint)); }

void EndpointNameIndex::Add(const Endpoint& endpoint, std::string chain_suffix) {
  assert(chain_suffix == ChainSuffix(endpoint));
  interface_holder_.emplace(endpoint.interface, endpoint.id);
  suffix_holder_.emplace(std::move(chain_suffix), Holder{endpoint.id, endpoint.interface});
}

void EndpointNameIndex::Remove(const Endpoint& endpoint) {
  if (auto it = interface_holder_.find(endpoint.interface);
      it != interface_holder_.end() && it->second == endpoint.id) {
    interface_holder_.erase(it);
  }
  if (auto it = suffix_holder_.find(ChainSuffix(endpoint));
      it != suffix_holder_.end() && it->second.id == endpoint.id) {
    suffix_holder_.erase(it);
  }
}

std::vector<std::string> ModelErrors(const Model& model) {
  return Validator(model, /*loaded=*/false).Run();
}

void LoadedRuleChecks::Check(const Profile& profile, bool inbound,
                             absl::Span<const PolicyRule> rules, absl::string_view list_path) {
  if (rules.empty()) {
    return;  // no entry: a profile is listed only once it has a rule
  }
  if (profiles.empty() || profiles.back().first != &profile) {
    profiles.emplace_back(&profile, entries.size());
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    const PolicyRule& rule = rules[i];
    const size_t at = i * 2 + (inbound ? 0 : 1);
    std::string path;  // "<list_path>[<i>]", made only for an error
    auto rule_path = [&path, list_path, i]() -> absl::string_view {
      if (path.empty()) {
        path = IndexPath(list_path, i);
      }
      return path;
    };
    const size_t first_error = errors.size();
    RuleFieldErrors(rule, rule_path, /*loaded=*/true, &errors);
    for (size_t e = first_error; e < errors.size(); ++e) {
      entries.push_back({at, static_cast<uint32_t>(e), /*error=*/true, {}, {}, {}});
    }
    for (const SetMatch& m : rule.sets) {
      auto& index = set_name_index[m.kind == SetMatch::kTag ? 0 : 1];
      auto name = index.find(m.name);
      if (name == index.end()) {
        name = index.emplace(m.name, static_cast<uint32_t>(set_names.size())).first;
        set_names.emplace_back(m.kind, m.name);
      }
      entries.push_back({at, name->second, /*error=*/false, m.kind, m.side, m.negated});
    }
  }
}

std::vector<std::string> ModelErrorsAfterLoading(const Model& model,
                                                 const LoadedRuleChecks& rules) {
  return Validator(model, /*loaded=*/true, &rules).Run();
}

absl::Status ValidateModel(const Model& model) { return ErrorsToStatus(ModelErrors(model)); }

absl::Status ValidateEndpoint(const Model& model, const Endpoint& endpoint) {
  Validator v(model, /*loaded=*/false);
  v.CheckEndpoint(endpoint, "endpoint");
  return ErrorsToStatus(v.TakeErrors());
}

absl::Status ValidateEndpoint(const Model& model, const Endpoint& endpoint,
                              const EndpointNameIndex& others) {
  Validator v(model, /*loaded=*/false);
  v.CheckEndpointAmong(endpoint, "endpoint", others);
  return ErrorsToStatus(v.TakeErrors());
}

}  // namespace fiptgen
