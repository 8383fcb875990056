#include "fiptgen/simulate.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "fiptgen/model.h"
#include "fiptgen/protocols.h"
#include "fiptgen/rule_text.h"

namespace fiptgen {
namespace {

// An address as two 64-bit halves, most significant first; IPv4 uses the top 32 bits.
struct Addr {
  uint64_t hi = 0, lo = 0;
  friend bool operator==(const Addr& a, const Addr& b) { return a.hi == b.hi && a.lo == b.lo; }
  template <typename H>
  friend H AbslHashValue(H h, const Addr& a) {
    return H::combine(std::move(h), a.hi, a.lo);
  }
};

Addr ToAddr(const IpNet& net) {
  Addr a;
  for (int i = 0; i < 8; ++i) {
    a.hi = (a.hi << 8) | net.addr[i];
    a.lo = (a.lo << 8) | net.addr[8 + i];
  }
  return a;
}

Addr PrefixMask(int prefix_len) {
  Addr m;
  if (prefix_len >= 64) {
    m.hi = ~uint64_t{0};
    m.lo = prefix_len >= 128 ? ~uint64_t{0} : ~(~uint64_t{0} >> (prefix_len - 64));
  } else {
    m.hi = prefix_len == 0 ? 0 : ~(~uint64_t{0} >> prefix_len);
  }
  return m;
}

Addr And(const Addr& a, const Addr& m) { return Addr{a.hi & m.hi, a.lo & m.lo}; }

// What the packet is, in the form the rules compare with.
struct PacketView {
  const Packet* packet;
  Addr src, dst;
  bool has_ports;
};

// ---------------------------------------------------------------------------------------------
// The compiled state.

struct IfaceMatch {
  absl::string_view name;  // without a trailing '+'
  bool present = false, wildcard = false, negated = false;
};

struct NetMatch {
  Addr net, mask;
  bool present = false, negated = false;
};

enum class MatchKind : uint8_t { kMark, kCtState, kDstLocal, kSet, kPorts, kIcmp, kMac, kUnknown };

// One -m match (or one option of one). Fields by kind:
//   kMark:     a = value, b = mask
//   kCtState:  a = bit mask of CtState values
//   kSet:      a = set index; dir 1 src, 2 dst
//   kPorts:    a = first PortRange in State::ports, b = count; dir 1 src, 2 dst, 3 either;
//              proto = the protocol the module reads (0: multiport, any with ports)
//   kIcmp:     a = type (0xFF: any), b = min code << 8 | max code; proto 1 or 58
//   kMac:      mac
//   kUnknown:  a = index into State::reasons
struct CompiledMatch {
  MatchKind kind = MatchKind::kUnknown;
  bool negated = false;
  uint8_t dir = 0;
  uint8_t proto = 0;
  uint32_t a = 0, b = 0;
  std::array<uint8_t, 6> mac{};
};

struct CompiledRule {
  absl::string_view text;
  absl::string_view comment;
  IfaceMatch in, out;
  NetMatch src, dst;
  int protocol = -1;  // -1: no -p; 0: -p all
  bool protocol_negated = false;
  int fragment = -1;  // -1: no -f; 1: -f; 0: ! -f
  uint32_t first_match = 0, match_count = 0;
  TargetKind target = TargetKind::kNone;
  uint32_t target_chain = 0;               // kJump, kGoto
  uint32_t mark_value = 0, mark_mask = 0;  // kMark: mark = (mark & ~mask) ^ value
  uint32_t target_reason = 0;              // kUnknown: index into State::reasons
};

struct ChainInfo {
  std::string name;
  uint32_t first_rule = 0, rule_count = 0;
  std::string policy;  // built-in chains: "ACCEPT", "DROP"; empty for user chains
};

struct SimTable {
  std::string name;
  std::vector<ChainInfo> chains;
  std::vector<CompiledRule> rules;
  absl::flat_hash_map<std::string, uint32_t> index;  // chain name -> index
};

struct CompiledSet {
  std::string name;
  int family = 0;
  std::string unevaluable;                      // why the set cannot be evaluated, or empty
  std::vector<Addr> masks;                      // one per distinct prefix length, longest first
  std::vector<absl::flat_hash_set<Addr>> nets;  // the members' networks, per mask

  bool Contains(const Addr& a) const {
    for (size_t i = 0; i < masks.size(); ++i) {
      if (nets[i].contains(And(a, masks[i]))) {
        return true;
      }
    }
    return false;
  }
};

constexpr uint8_t kRaw = 0;
constexpr uint8_t kFilter = 1;

}  // namespace

struct PacketSimulator::State {
  int family = 4;
  std::string text;                   // every rule's text; reserved once, never reallocated
  std::deque<std::string> unescaped;  // comments that had escapes in the text
  std::vector<SimTable> tables;       // raw, filter
  std::vector<CompiledSet> sets;
  std::vector<CompiledMatch> matches;
  std::vector<PortRange> ports;
  std::vector<std::string> reasons;
  std::vector<std::pair<std::string, size_t>> ignored;
  // The built-in chains the hooks start from.
  uint32_t raw_prerouting = 0, raw_output = 0;
  uint32_t filter_input = 0, filter_forward = 0, filter_output = 0;
};

namespace {

using State = PacketSimulator::State;

// A chain of the state being built: its rules' text, and its policy when built in.
struct ChainSource {
  std::string name;
  std::string policy;
  absl::string_view body;  // newline-terminated rules
};

struct TableSource {
  std::string name;
  std::vector<ChainSource> chains;
};

bool ParseNumber(absl::string_view text, uint32_t* out) {
  if (absl::StartsWith(text, "0x") || absl::StartsWith(text, "0X")) {
    return text.size() > 2 && absl::SimpleHexAtoi(text.substr(2), out);
  }
  return absl::SimpleAtoi(text, out);
}

// "0x1/0xff" or "0x1" (mask all ones).
bool ParseValueMask(absl::string_view text, uint32_t* value, uint32_t* mask) {
  const size_t slash = text.find('/');
  *mask = ~uint32_t{0};
  if (slash == absl::string_view::npos) {
    return ParseNumber(text, value);
  }
  return ParseNumber(text.substr(0, slash), value) && ParseNumber(text.substr(slash + 1), mask);
}

bool ParsePort(absl::string_view text, uint16_t* port) {
  uint32_t n = 0;
  if (!absl::SimpleAtoi(text, &n) || n > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(n);
  return true;
}

// "80", "1000:2000", ":2000", "1000:" as the tcp/udp/sctp matches read them.
bool ParsePortRange(absl::string_view text, PortRange* range) {
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos) {
    if (!ParsePort(text, &range->lo)) {
      return false;
    }
    range->hi = range->lo;
    return true;
  }
  absl::string_view lo = text.substr(0, colon), hi = text.substr(colon + 1);
  range->lo = 0;
  range->hi = 65535;
  return (lo.empty() || ParsePort(lo, &range->lo)) && (hi.empty() || ParsePort(hi, &range->hi)) &&
         range->lo <= range->hi;
}

// The bits of --ctstate / --state values, one per CtState.
bool ParseCtStates(absl::string_view list, uint32_t* bits) {
  *bits = 0;
  for (absl::string_view s : absl::StrSplit(list, ',')) {
    if (s == "NEW") {
      *bits |= 1u << static_cast<int>(CtState::kNew);
    } else if (s == "ESTABLISHED") {
      *bits |= 1u << static_cast<int>(CtState::kEstablished);
    } else if (s == "RELATED") {
      *bits |= 1u << static_cast<int>(CtState::kRelated);
    } else if (s == "INVALID") {
      *bits |= 1u << static_cast<int>(CtState::kInvalid);
    } else if (s == "UNTRACKED") {
      *bits |= 1u << static_cast<int>(CtState::kUntracked);
    } else {
      return false;  // SNAT, DNAT: the simulator knows nothing of NAT
    }
  }
  return true;
}

bool IsBasicOption(absl::string_view w) {
  return w == "-i" || w == "-o" || w == "-s" || w == "-d" || w == "-p" || w == "-f" ||
         w == "--in-interface" || w == "--out-interface" || w == "--source" ||
         w == "--destination" || w == "--protocol" || w == "--fragment" || w == "--src" ||
         w == "--dst";
}

bool IsModuleDelimiter(absl::string_view w) {
  return w == "-m" || w == "--match" || w == "-j" || w == "--jump" || w == "-g" || w == "--goto" ||
         IsBasicOption(w);
}

// Compiles every rule of a state. One per state: it holds what the rules' words are looked
// up in (chains, sets, protocol names).
class Compiler {
 public:
  Compiler(State* state, absl::flat_hash_map<std::string, uint32_t> set_index)
      : s_(*state), set_index_(std::move(set_index)) {
    for (int n = 1; n < 256; ++n) {
      protocols_.emplace(ProtocolSaveName(n), n);
    }
    protocols_.emplace("all", 0);
    protocols_.emplace("icmpv6", kProtoIcmpv6);
    protocols_.emplace("ipv6-icmp", kProtoIcmpv6);
  }

  // Compiles one rule of `table` (whose chain index is complete).
  absl::Status Compile(const SimTable& table, absl::string_view text, CompiledRule* rule) {
    rule->text = text;
    rule->first_match = static_cast<uint32_t>(s_.matches.size());
    table_ = &table;
    rule_ = rule;
    RuleTokenizer words(text);
    words_ = &words;
    RuleToken t;
    bool negated = false;
    absl::string_view module;  // the -m whose options come next
    bool skipping = false;     // inside the options of a match that is not simulated
    while (words.Next(&t)) {
      const absl::string_view w = t.raw;
      if (w == "!") {
        negated = !negated;
        continue;
      }
      if (skipping && !IsModuleDelimiter(w)) {
        negated = false;
        continue;
      }
      skipping = false;
      if (w == "-i" || w == "--in-interface" || w == "-o" || w == "--out-interface") {
        IfaceMatch& m = (w == "-i" || w == "--in-interface") ? rule->in : rule->out;
        if (!Value(&m.name)) {
          return absl::OkStatus();
        }
        m.present = true;
        m.negated = negated;
        if (absl::EndsWith(m.name, "+")) {
          m.wildcard = true;
          m.name.remove_suffix(1);
        }
      } else if (w == "-s" || w == "--source" || w == "--src" || w == "-d" ||
                 w == "--destination" || w == "--dst") {
        NetMatch& m = (w == "-s" || w == "--source" || w == "--src") ? rule->src : rule->dst;
        absl::string_view value;
        if (!Value(&value)) {
          return absl::OkStatus();
        }
        absl::StatusOr<IpNet> net = ParseIpNet(value, s_.family);
        if (!net.ok()) {
          Unknown(absl::StrCat("cannot read the address \"", value, "\""));
        } else {
          m.present = true;
          m.negated = negated;
          m.mask = PrefixMask(net->prefix_len);
          m.net = And(ToAddr(*net), m.mask);
        }
      } else if (w == "-p" || w == "--protocol") {
        absl::string_view value;
        if (!Value(&value)) {
          return absl::OkStatus();
        }
        auto it = protocols_.find(value);
        uint32_t number = 0;
        if (it != protocols_.end()) {
          rule->protocol = it->second;
        } else if (absl::SimpleAtoi(value, &number) && number <= 255) {
          rule->protocol = static_cast<int>(number);
        } else {
          Unknown(absl::StrCat("protocol \"", value, "\" is not known"));
        }
        rule->protocol_negated = negated;
      } else if (w == "-f" || w == "--fragment") {
        rule->fragment = negated ? 0 : 1;
      } else if (w == "-m" || w == "--match") {
        if (!Value(&module)) {
          return absl::OkStatus();
        }
        if (!KnownModule(module)) {
          Unknown(absl::StrCat("match \"-m ", module, "\" is not simulated"));
          skipping = true;
        }
      } else if (w == "-j" || w == "--jump" || w == "-g" || w == "--goto") {
        return Target(w == "-g" || w == "--goto");
      } else if (absl::StartsWith(w, "--")) {
        if (module.empty()) {
          module = ImplicitModule(rule->protocol);
        }
        if (!ModuleOption(module, w, negated)) {
          skipping = true;
        }
      } else {
        Unknown(absl::StrCat("cannot read the word \"", w, "\""));
        skipping = true;
      }
      negated = false;
    }
    rule->match_count = static_cast<uint32_t>(s_.matches.size()) - rule->first_match;
    return absl::OkStatus();
  }

 private:
  // The next word as a value; a rule that ends early is not simulated.
  bool Value(absl::string_view* value) {
    RuleToken t;
    if (!words_->Next(&t)) {
      Unknown("the rule ends where a value was expected");
      rule_->match_count = static_cast<uint32_t>(s_.matches.size()) - rule_->first_match;
      return false;
    }
    *value = Stable(t);
    return true;
  }

  // A view of the token's value that outlives the tokenizer.
  absl::string_view Stable(const RuleToken& t) {
    const char* begin = s_.text.data();
    if (t.value.data() >= begin && t.value.data() + t.value.size() <= begin + s_.text.size()) {
      return t.value;
    }
    s_.unescaped.emplace_back(t.value);
    return s_.unescaped.back();
  }

  uint32_t Reason(std::string reason) {
    s_.reasons.push_back(std::move(reason));
    return static_cast<uint32_t>(s_.reasons.size() - 1);
  }

  void Unknown(std::string reason) {
    CompiledMatch m;
    m.kind = MatchKind::kUnknown;
    m.a = Reason(std::move(reason));
    s_.matches.push_back(m);
  }

  static bool KnownModule(absl::string_view m) {
    return m == "comment" || m == "mark" || m == "conntrack" || m == "state" || m == "addrtype" ||
           m == "set" || m == "multiport" || m == "tcp" || m == "udp" || m == "sctp" ||
           m == "icmp" || m == "icmp6" || m == "mac";
  }

  static absl::string_view ImplicitModule(int protocol) {
    switch (protocol) {
      case kProtoTcp:
        return "tcp";
      case kProtoUdp:
        return "udp";
      case kProtoSctp:
        return "sctp";
      case kProtoIcmp:
        return "icmp";
      case kProtoIcmpv6:
        return "icmp6";
      default:
        return "";
    }
  }

  // One option of a module; false (after recording why) when it is not simulated.
  bool ModuleOption(absl::string_view module, absl::string_view option, bool negated) {
    CompiledMatch m;
    m.negated = negated;
    absl::string_view value;
    auto unknown = [&]() {
      Unknown(absl::StrCat("\"", option, "\" of -m ", module.empty() ? "?" : module,
                           " is not simulated"));
      return false;
    };
    auto unreadable = [&]() {
      Unknown(absl::StrCat("cannot read \"", option, " ", value, "\""));
      return false;
    };
    if (module == "comment" && option == "--comment") {
      if (Value(&value)) {
        rule_->comment = value;
      }
      return true;
    }
    if (module == "mark" && option == "--mark") {
      m.kind = MatchKind::kMark;
      if (!Value(&value) || !ParseValueMask(value, &m.a, &m.b)) {
        return unreadable();
      }
      m.a &= m.b;
    } else if ((module == "conntrack" && option == "--ctstate") ||
               (module == "state" && option == "--state")) {
      m.kind = MatchKind::kCtState;
      if (!Value(&value)) {
        return false;
      }
      if (!ParseCtStates(value, &m.a)) {
        Unknown(absl::StrCat("conntrack state \"", value,
                             "\" is not simulated (only NEW, ESTABLISHED, RELATED, INVALID, "
                             "UNTRACKED)"));
        return false;
      }
    } else if (module == "addrtype" && option == "--dst-type") {
      if (!Value(&value)) {
        return false;
      }
      if (value != "LOCAL") {
        Unknown(absl::StrCat("address type \"", value, "\" is not simulated (only LOCAL)"));
        return false;
      }
      m.kind = MatchKind::kDstLocal;
    } else if (module == "set" && option == "--match-set") {
      absl::string_view name, flags;
      if (!Value(&name) || !Value(&flags)) {
        return false;
      }
      auto it = set_index_.find(name);
      if (it == set_index_.end()) {
        Unknown(absl::StrCat("set \"", name, "\" does not exist"));
        return false;
      }
      m.kind = MatchKind::kSet;
      m.a = it->second;
      const absl::string_view first = flags.substr(0, flags.find(','));
      if (first != "src" && first != "dst") {
        value = flags;
        return unreadable();
      }
      m.dir = first == "src" ? 1 : 2;
    } else if (module == "set" && negated &&
               (option == "--update-counters" || option == "--update-subcounters")) {
      return true;  // counters only
    } else if (module == "multiport" &&
               (option == "--sports" || option == "--source-ports" || option == "--dports" ||
                option == "--destination-ports" || option == "--ports")) {
      m.kind = MatchKind::kPorts;
      m.dir = (option == "--sports" || option == "--source-ports") ? 1
              : option == "--ports"                                ? 3
                                                                   : 2;
      if (!Value(&value)) {
        return false;
      }
      m.a = static_cast<uint32_t>(s_.ports.size());
      for (absl::string_view item : absl::StrSplit(value, ',')) {
        PortRange r;
        if (!ParsePortRange(item, &r)) {
          s_.ports.resize(m.a);
          return unreadable();
        }
        s_.ports.push_back(r);
      }
      m.b = static_cast<uint32_t>(s_.ports.size()) - m.a;
    } else if ((module == "tcp" || module == "udp" || module == "sctp") &&
               (option == "--sport" || option == "--source-port" || option == "--dport" ||
                option == "--destination-port")) {
      m.kind = MatchKind::kPorts;
      m.proto = module == "tcp" ? kProtoTcp : module == "udp" ? kProtoUdp : kProtoSctp;
      m.dir = (option == "--sport" || option == "--source-port") ? 1 : 2;
      PortRange r;
      if (!Value(&value) || !ParsePortRange(value, &r)) {
        return unreadable();
      }
      m.a = static_cast<uint32_t>(s_.ports.size());
      m.b = 1;
      s_.ports.push_back(r);
    } else if ((module == "icmp" && option == "--icmp-type") ||
               (module == "icmp6" && option == "--icmpv6-type")) {
      m.kind = MatchKind::kIcmp;
      m.proto = module == "icmp" ? kProtoIcmp : kProtoIcmpv6;
      if (!Value(&value)) {
        return false;
      }
      m.a = 0xFF;
      m.b = 0x00FF;
      if (value != "any") {
        const size_t slash = value.find('/');
        uint32_t type = 0, code = 0;
        if (!absl::SimpleAtoi(value.substr(0, slash), &type) || type > 255 ||
            (slash != absl::string_view::npos &&
             (!absl::SimpleAtoi(value.substr(slash + 1), &code) || code > 255))) {
          Unknown(absl::StrCat("ICMP type \"", value, "\" is not simulated (only numbers)"));
          return false;
        }
        m.a = type;
        if (slash != absl::string_view::npos) {
          m.b = code << 8 | code;
        }
      }
    } else if (module == "mac" && option == "--mac-source") {
      m.kind = MatchKind::kMac;
      absl::StatusOr<MacAddress> mac;
      if (!Value(&value) || !(mac = ParseMac(value)).ok()) {
        return unreadable();
      }
      m.mac = mac->octets;
    } else {
      return unknown();
    }
    s_.matches.push_back(m);
    return true;
  }

  // The target and its options, after -j or -g.
  absl::Status Target(bool is_goto) {
    CompiledRule& rule = *rule_;
    rule.match_count = static_cast<uint32_t>(s_.matches.size()) - rule.first_match;
    absl::string_view name;
    RuleToken t;
    if (!words_->Next(&t)) {
      rule.target = TargetKind::kUnknown;
      rule.target_reason = Reason("the rule ends where a target was expected");
      return absl::OkStatus();
    }
    name = t.value;
    auto chain = table_->index.find(name);
    if (is_goto || chain != table_->index.end()) {
      if (chain == table_->index.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            table_->name, ": \"", rule.text, "\" goes to the undeclared chain \"", name, "\""));
      }
      rule.target = is_goto ? TargetKind::kGoto : TargetKind::kJump;
      rule.target_chain = chain->second;
      return absl::OkStatus();
    }
    std::vector<absl::string_view> options;
    for (RuleToken o; words_->Next(&o);) {
      options.push_back(Stable(o));
    }
    auto unknown = [&](absl::string_view why) {
      rule.target = TargetKind::kUnknown;
      rule.target_reason = Reason(std::string(why));
    };
    if (name == "ACCEPT" || name == "DROP" || name == "RETURN") {
      rule.target = name == "ACCEPT" ? TargetKind::kAccept
                    : name == "DROP" ? TargetKind::kDrop
                                     : TargetKind::kReturn;
    } else if (name == "REJECT") {
      rule.target = TargetKind::kReject;
    } else if (name == "LOG" || name == "NFLOG" || name == "TRACE") {
      rule.target = TargetKind::kLog;
    } else if (name == "NOTRACK" ||
               (name == "CT" && options.size() == 1 && options[0] == "--notrack")) {
      rule.target = TargetKind::kNotrack;
    } else if (name == "MARK" && options.size() == 2) {
      uint32_t value = 0, mask = 0;
      const absl::string_view op = options[0];
      bool ok = true;
      if (op == "--set-xmark") {
        ok = ParseValueMask(options[1], &value, &mask);
      } else if (op == "--set-mark") {
        ok = ParseValueMask(options[1], &value, &mask);
        mask |= value;
      } else if (op == "--and-mark" && ParseNumber(options[1], &mask)) {
        mask = ~mask;
      } else if (op == "--or-mark" && ParseNumber(options[1], &value)) {
        mask = value;
      } else if (op == "--xor-mark" && ParseNumber(options[1], &value)) {
        mask = 0;
      } else {
        ok = false;
      }
      if (!ok) {
        unknown(absl::StrCat("cannot read \"-j MARK ", op, " ", options[1], "\""));
      } else {
        rule.target = TargetKind::kMark;
        rule.mark_value = value;
        rule.mark_mask = mask;
      }
    } else {
      unknown(
          absl::StrCat("target \"", name, options.empty() ? "" : " ...", "\" is not simulated"));
    }
    return absl::OkStatus();
  }

  State& s_;
  absl::flat_hash_map<std::string, uint32_t> set_index_;
  absl::flat_hash_map<std::string, int> protocols_;
  const SimTable* table_ = nullptr;
  CompiledRule* rule_ = nullptr;
  RuleTokenizer* words_ = nullptr;
};

void CompileSets(const std::vector<IpSetSpec>& specs, State* s,
                 absl::flat_hash_map<std::string, uint32_t>* index) {
  for (const IpSetSpec& spec : specs) {
    CompiledSet set;
    set.name = spec.name;
    set.family = spec.family;
    if (spec.type != "hash:ip" && spec.type != "hash:net") {
      set.unevaluable = absl::StrCat("set \"", spec.name, "\" is ", spec.type,
                                     " (only hash:ip and hash:net are "
                                     "simulated)");
    }
    std::vector<int> lens;
    auto add = [&set, &lens](const IpNet& net) {
      const int len = net.prefix_len;
      auto it = std::find(lens.begin(), lens.end(), len);
      size_t slot = it - lens.begin();
      if (it == lens.end()) {
        lens.push_back(len);
        set.masks.push_back(PrefixMask(len));
        set.nets.emplace_back();
      }
      set.nets[slot].insert(And(ToAddr(net), set.masks[slot]));
    };
    if (set.unevaluable.empty()) {
      for (const IpNet& net : spec.members) {
        add(net);
      }
    }
    // What `ipset save` printed that is not an address of the set's family.
    for (const std::string& member : spec.other) {
      if (!set.unevaluable.empty()) {
        break;
      }
      absl::StatusOr<IpNet> net = ParseIpNet(member, spec.family);
      if (!net.ok()) {
        set.unevaluable =
            absl::StrCat("set \"", spec.name, "\" holds \"", member, "\", which is not simulated");
        break;
      }
      add(*net);
    }
    index->emplace(spec.name, static_cast<uint32_t>(s->sets.size()));
    s->sets.push_back(std::move(set));
  }
}

// Fails when a chain can reach itself through jumps and gotos: the kernel refuses such a
// table, and a trace through it would not end.
absl::Status CheckNoLoops(const SimTable& table) {
  const size_t n = table.chains.size();
  std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the path, 2 done
  struct Frame {
    uint32_t chain;
    uint32_t next;  // next rule to look at
  };
  std::vector<Frame> stack;
  for (uint32_t start = 0; start < n; ++start) {
    if (color[start] != 0) {
      continue;
    }
    stack.push_back({start, 0});
    color[start] = 1;
    while (!stack.empty()) {
      Frame& f = stack.back();
      const ChainInfo& c = table.chains[f.chain];
      if (f.next == c.rule_count) {
        color[f.chain] = 2;
        stack.pop_back();
        continue;
      }
      const CompiledRule& r = table.rules[c.first_rule + f.next++];
      if (r.target != TargetKind::kJump && r.target != TargetKind::kGoto) {
        continue;
      }
      if (color[r.target_chain] == 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            table.name, ": chain \"", table.chains[r.target_chain].name,
            "\" reaches itself (through \"", c.name, "\"); the kernel refuses such a loop"));
      }
      if (color[r.target_chain] == 0) {
        color[r.target_chain] = 1;
        stack.push_back({r.target_chain, 0});
      }
    }
  }
  return absl::OkStatus();
}

constexpr absl::string_view kRawBuiltins[] = {"PREROUTING", "OUTPUT"};
constexpr absl::string_view kFilterBuiltins[] = {"INPUT", "FORWARD", "OUTPUT"};

absl::StatusOr<std::unique_ptr<State>> Build(int family, std::vector<TableSource> sources,
                                             const std::vector<IpSetSpec>& sets,
                                             std::vector<std::pair<std::string, size_t>> ignored) {
  auto state = std::make_unique<State>();
  State& s = *state;
  s.family = family;
  s.ignored = std::move(ignored);
  // raw and filter always exist, with their built-in chains (policy ACCEPT when absent).
  std::array<TableSource, 2> tables;
  tables[kRaw].name = "raw";
  tables[kFilter].name = "filter";
  for (TableSource& source : sources) {
    for (TableSource& t : tables) {
      if (t.name == source.name) {
        t.chains = std::move(source.chains);
      }
    }
  }
  size_t bytes = 0;
  for (TableSource& t : tables) {
    for (absl::string_view builtin : t.name == "raw" ? absl::MakeConstSpan(kRawBuiltins)
                                                     : absl::MakeConstSpan(kFilterBuiltins)) {
      if (std::none_of(t.chains.begin(), t.chains.end(),
                       [&](const ChainSource& c) { return c.name == builtin; })) {
        t.chains.push_back(ChainSource{std::string(builtin), "ACCEPT", ""});
      }
    }
    for (const ChainSource& c : t.chains) {
      bytes += c.body.size();
    }
  }
  s.text.reserve(bytes);  // views into it stay valid: it never grows past this

  absl::flat_hash_map<std::string, uint32_t> set_index;
  CompileSets(sets, &s, &set_index);
  Compiler compiler(&s, std::move(set_index));
  for (uint8_t ti : {kRaw, kFilter}) {
    SimTable& t = s.tables.emplace_back();
    t.name = tables[ti].name;
    // Every chain is named before any rule is read: rules jump forward too.
    for (ChainSource& c : tables[ti].chains) {
      if (!t.index.emplace(c.name, static_cast<uint32_t>(t.chains.size())).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(t.name, ": chain \"", c.name, "\" appears twice"));
      }
      ChainInfo& chain = t.chains.emplace_back();
      chain.name = c.name;
      chain.policy = c.policy;
    }
    for (size_t ci = 0; ci < t.chains.size(); ++ci) {
      ChainInfo& chain = t.chains[ci];
      chain.first_rule = static_cast<uint32_t>(t.rules.size());
      const absl::string_view source = tables[ti].chains[ci].body;
      const size_t start = s.text.size();
      s.text.append(source.data(), source.size());
      for (absl::string_view rest(s.text.data() + start, source.size()); !rest.empty();) {
        absl::string_view line = NextLine(&rest);
        CompiledRule& rule = t.rules.emplace_back();
        absl::Status status = compiler.Compile(t, line, &rule);
        if (!status.ok()) {
          return status;
        }
      }
      chain.rule_count = static_cast<uint32_t>(t.rules.size()) - chain.first_rule;
    }
    absl::Status loops = CheckNoLoops(t);
    if (!loops.ok()) {
      return loops;
    }
  }
  s.raw_prerouting = s.tables[kRaw].index.at("PREROUTING");
  s.raw_output = s.tables[kRaw].index.at("OUTPUT");
  s.filter_input = s.tables[kFilter].index.at("INPUT");
  s.filter_forward = s.tables[kFilter].index.at("FORWARD");
  s.filter_output = s.tables[kFilter].index.at("OUTPUT");
  return state;
}

// ---------------------------------------------------------------------------------------------
// Tracing.

enum class Eval : uint8_t { kFalse, kTrue, kUnknown };

struct TraceContext {
  const State& s;
  const PacketView& p;
  uint32_t mark;
  CtState ct;        // what the conntrack match sees in the current table
  std::string* why;  // set when kUnknown
};

bool InRanges(const PortRange* r, uint32_t n, uint16_t port) {
  for (uint32_t i = 0; i < n; ++i) {
    if (port >= r[i].lo && port <= r[i].hi) {
      return true;
    }
  }
  return false;
}

Eval EvalMatch(const CompiledMatch& m, TraceContext& ctx) {
  const Packet& packet = *ctx.p.packet;
  bool hit = false;
  switch (m.kind) {
    case MatchKind::kMark:
      hit = (ctx.mark & m.b) == m.a;
      break;
    case MatchKind::kCtState:
      hit = (m.a >> static_cast<int>(ctx.ct)) & 1;
      break;
    case MatchKind::kDstLocal:
      hit = packet.dst_local;
      break;
    case MatchKind::kSet: {
      const CompiledSet& set = ctx.s.sets[m.a];
      if (!set.unevaluable.empty()) {
        *ctx.why = set.unevaluable;
        return Eval::kUnknown;
      }
      if (set.family != packet.family) {
        *ctx.why = absl::StrCat("set \"", set.name, "\" is of the other family");
        return Eval::kUnknown;
      }
      hit = set.Contains(m.dir == 1 ? ctx.p.src : ctx.p.dst);
      break;
    }
    case MatchKind::kPorts: {
      if (!ctx.p.has_ports || (m.proto != 0 && m.proto != packet.protocol)) {
        *ctx.why = "a port match on a packet of another protocol (the rule lacks its -p)";
        return Eval::kUnknown;
      }
      const PortRange* r = ctx.s.ports.data() + m.a;
      hit = ((m.dir & 1) && InRanges(r, m.b, packet.src_port)) ||
            ((m.dir & 2) && InRanges(r, m.b, packet.dst_port));
      break;
    }
    case MatchKind::kIcmp:
      if (packet.protocol != m.proto) {
        *ctx.why = "an ICMP type match on a packet of another protocol (the rule lacks its -p)";
        return Eval::kUnknown;
      }
      hit = m.a == 0xFF || (static_cast<uint32_t>(packet.icmp_type) == m.a &&
                            static_cast<uint32_t>(packet.icmp_code) >= (m.b >> 8) &&
                            static_cast<uint32_t>(packet.icmp_code) <= (m.b & 0xFF));
      break;
    case MatchKind::kMac:
      if (!packet.src_mac.has_value()) {
        *ctx.why = "-m mac needs the packet's source MAC, which was not given (mac=)";
        return Eval::kUnknown;
      }
      hit = packet.src_mac->octets == m.mac;
      break;
    case MatchKind::kUnknown:
      *ctx.why = ctx.s.reasons[m.a];
      return Eval::kUnknown;
  }
  return hit != m.negated ? Eval::kTrue : Eval::kFalse;
}

bool IfaceHolds(const IfaceMatch& m, absl::string_view iface) {
  const bool eq = m.wildcard ? absl::StartsWith(iface, m.name) : iface == m.name;
  return eq != m.negated;
}

bool NetHolds(const NetMatch& m, const Addr& a) { return (And(a, m.mask) == m.net) != m.negated; }

Eval EvalRule(const CompiledRule& r, TraceContext& ctx) {
  const Packet& packet = *ctx.p.packet;
  if ((r.in.present && !IfaceHolds(r.in, packet.in_interface)) ||
      (r.out.present && !IfaceHolds(r.out, packet.out_interface)) ||
      (r.src.present && !NetHolds(r.src, ctx.p.src)) ||
      (r.dst.present && !NetHolds(r.dst, ctx.p.dst)) ||
      (r.protocol > 0 && (packet.protocol == r.protocol) == r.protocol_negated) ||
      (r.protocol == 0 && r.protocol_negated) || r.fragment == 1) {
    return Eval::kFalse;
  }
  // Every match must hold; one that cannot be decided matters only if none fails.
  Eval result = Eval::kTrue;
  std::string* const why = ctx.why;
  std::string first_why;
  const CompiledMatch* m = ctx.s.matches.data() + r.first_match;
  for (uint32_t i = 0; i < r.match_count; ++i) {
    const Eval e = EvalMatch(m[i], ctx);
    if (e == Eval::kFalse) {
      return Eval::kFalse;
    }
    if (e == Eval::kUnknown && result == Eval::kTrue) {
      result = Eval::kUnknown;
      first_why = *why;
    }
  }
  if (result == Eval::kUnknown) {
    *why = std::move(first_why);
    return result;
  }
  if (r.target == TargetKind::kUnknown) {
    *why = ctx.s.reasons[r.target_reason];
    return Eval::kUnknown;
  }
  return Eval::kTrue;
}

Verdict PolicyVerdict(const ChainInfo& c) {
  return c.policy == "DROP" ? Verdict::kDrop : Verdict::kAccept;
}

// Runs one built-in chain of a table and everything it calls; returns its verdict.
Verdict RunHook(uint8_t table_index, uint32_t builtin, TraceContext& ctx, TraceResult* out,
                bool* notrack) {
  const SimTable& table = ctx.s.tables[table_index];
  struct Frame {
    uint32_t chain, next;
  };
  Frame stack[64];
  std::vector<Frame> deep;  // jump depths past 64, which the kernel allows, spill here
  size_t depth = 0;
  auto push = [&](Frame f) {
    if (depth < 64) {
      stack[depth] = f;
    } else {
      deep.push_back(f);
    }
    ++depth;
  };
  auto pop = [&]() {
    --depth;
    if (depth < 64) {
      return stack[depth];
    }
    Frame f = deep.back();
    deep.pop_back();
    return f;
  };
  HookTrace& hook = out->hooks.emplace_back();
  hook.table = table_index;
  hook.chain = builtin;
  hook.first_step = out->steps.size();
  auto step = [&](TraceStep::Kind kind, uint32_t chain, uint32_t rule, bool matched) {
    TraceStep& st = out->steps.emplace_back();
    st.kind = kind;
    st.matched = matched;
    st.table = table_index;
    st.chain = chain;
    st.rule = rule;
    st.mark = ctx.mark;
  };
  auto decide = [&](Verdict v) {
    hook.verdict = v;
    hook.decisive_step = out->steps.size() - 1;
    return v;
  };
  auto policy = [&]() {
    step(TraceStep::Kind::kPolicy, builtin, 0, true);
    return decide(PolicyVerdict(table.chains[builtin]));
  };
  uint32_t chain = builtin, next = 0;
  for (;;) {
    const ChainInfo& c = table.chains[chain];
    if (next == c.rule_count) {
      if (chain == builtin) {
        return policy();
      }
      step(TraceStep::Kind::kChainEnd, chain, c.rule_count, false);
      if (depth == 0) {
        return policy();  // reached by goto from the built-in chain
      }
      Frame f = pop();
      chain = f.chain;
      next = f.next;
      continue;
    }
    const CompiledRule& r = table.rules[c.first_rule + next];
    const Eval e = EvalRule(r, ctx);
    if (e == Eval::kUnknown) {
      step(TraceStep::Kind::kRule, chain, next, false);
      out->unresolved = std::move(*ctx.why);
      return decide(Verdict::kUnresolved);
    }
    if (e == Eval::kFalse) {
      step(TraceStep::Kind::kRule, chain, next, false);
      ++next;
      continue;
    }
    switch (r.target) {
      case TargetKind::kMark:
        ctx.mark = (ctx.mark & ~r.mark_mask) ^ r.mark_value;
        break;
      case TargetKind::kNotrack:
        *notrack = true;
        ctx.ct = CtState::kUntracked;
        break;
      default:
        break;
    }
    step(TraceStep::Kind::kRule, chain, next, true);
    switch (r.target) {
      case TargetKind::kAccept:
        return decide(Verdict::kAccept);
      case TargetKind::kDrop:
        return decide(Verdict::kDrop);
      case TargetKind::kReject:
        return decide(Verdict::kReject);
      case TargetKind::kReturn:
        if (chain == builtin || depth == 0) {
          return policy();
        }
        {
          Frame f = pop();
          chain = f.chain;
          next = f.next;
        }
        break;
      case TargetKind::kJump:
        push({chain, next + 1});
        chain = r.target_chain;
        next = 0;
        break;
      case TargetKind::kGoto:
        chain = r.target_chain;
        next = 0;
        break;
      default:  // kNone, kMark, kLog, kNotrack go on; kUnknown never matches (EvalRule)
        ++next;
        break;
    }
  }
}

bool IsIcmpNoTrack6(int type) { return (type >= 130 && type <= 136) || type == 143; }

}  // namespace

absl::string_view CtStateName(CtState state) {
  switch (state) {
    case CtState::kNew:
      return "NEW";
    case CtState::kEstablished:
      return "ESTABLISHED";
    case CtState::kRelated:
      return "RELATED";
    case CtState::kInvalid:
      return "INVALID";
    case CtState::kUntracked:
      return "UNTRACKED";
  }
  return "?";
}

absl::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAccept:
      return "ACCEPT";
    case Verdict::kDrop:
      return "DROP";
    case Verdict::kReject:
      return "REJECT";
    case Verdict::kUnresolved:
      return "UNRESOLVED";
  }
  return "?";
}

PacketPath PathOf(const Packet& packet) {
  if (packet.in_interface.empty()) {
    return PacketPath::kOutput;
  }
  return packet.out_interface.empty() ? PacketPath::kInput : PacketPath::kForward;
}

absl::Status ValidatePacket(const Packet& p) {
  auto error = [](absl::string_view field, absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
  };
  if (p.family != 4 && p.family != 6) {
    return error("family", absl::StrCat("must be 4 or 6, not ", p.family));
  }
  for (const auto& [field, net] : {std::pair<const char*, const IpNet*>("src", &p.src),
                                   std::pair<const char*, const IpNet*>("dst", &p.dst)}) {
    if (net->family != p.family || !net->is_host()) {
      return error(field, absl::StrCat(net->ToString(), " is not an IPv", p.family, " address"));
    }
  }
  for (const auto& [field, name] :
       {std::pair<const char*, const std::string*>("in_interface", &p.in_interface),
        std::pair<const char*, const std::string*>("out_interface", &p.out_interface)}) {
    if (name->size() > 15 || name->find_first_of(" \t\n/+") != std::string::npos) {
      return error(field, absl::StrCat("\"", *name, "\" is not an interface name"));
    }
  }
  if (p.in_interface.empty() && p.out_interface.empty()) {
    return error("interfaces",
                 "a packet arrives on an interface (in), leaves by one (out), or both");
  }
  const PacketPath path = PathOf(p);
  if (path == PacketPath::kInput && !p.dst_local) {
    return error("dst_local", "a packet with no out interface is for the host: it is local");
  }
  if (path == PacketPath::kForward && p.dst_local) {
    return error("dst_local", "the kernel does not forward a packet to one of its own addresses");
  }
  if (path == PacketPath::kOutput && p.src_mac.has_value()) {
    return error("src_mac", "a packet the host sends has no source MAC in the hooks");
  }
  if (p.protocol < 1 || p.protocol > 255) {
    return error("protocol", absl::StrCat("must be 1..255, not ", p.protocol));
  }
  if (!ProtocolHasPorts(p.protocol) && (p.src_port != 0 || p.dst_port != 0)) {
    return error(p.src_port != 0 ? "src_port" : "dst_port",
                 absl::StrCat("protocol ", ProtocolSaveName(p.protocol), " has no ports"));
  }
  if ((p.protocol == kProtoIcmp && p.family == 6) ||
      (p.protocol == kProtoIcmpv6 && p.family == 4)) {
    return error("protocol", absl::StrCat(ProtocolSaveName(p.protocol), " in an IPv", p.family,
                                          " packet (icmp is IPv4's, ipv6-icmp IPv6's)"));
  }
  const bool icmp = p.protocol == (p.family == 4 ? kProtoIcmp : kProtoIcmpv6);
  if (!icmp && (p.icmp_type != 0 || p.icmp_code != 0)) {
    return error("icmp_type", "only an ICMP packet has a type and code");
  }
  if (p.icmp_type < 0 || p.icmp_type > 255 || p.icmp_code < 0 || p.icmp_code > 255) {
    return error("icmp_type", "type and code are 0..255");
  }
  if (icmp) {
    const int t = p.icmp_type;
    const bool error_type =
        p.family == 4 ? (t == 3 || t == 4 || t == 5 || t == 11 || t == 12) : (t >= 1 && t <= 4);
    const bool can_be_new =
        p.family == 4 ? (t == 8 || t == 13 || t == 15 || t == 17) : (t == 128 || t == 139);
    if (p.family == 6 && IsIcmpNoTrack6(t) && p.ct_state != CtState::kUntracked) {
      return error("ct_state", absl::StrCat("conntrack never tracks ICMPv6 type ", t,
                                            " (neighbour, router and multicast listener "
                                            "messages): it is UNTRACKED"));
    }
    if (p.ct_state == CtState::kNew && !can_be_new) {
      return error("ct_state", absl::StrCat("an ICMP", p.family == 6 ? "v6" : "", " type ", t,
                                            " packet is never NEW (only requests are)"));
    }
    if (error_type && p.ct_state == CtState::kEstablished) {
      return error("ct_state", absl::StrCat("an ICMP error (type ", t,
                                            ") is RELATED to a connection, or INVALID"));
    }
  }
  return absl::OkStatus();
}

PacketSimulator::PacketSimulator(std::unique_ptr<State> state) : state_(std::move(state)) {}
PacketSimulator::PacketSimulator(PacketSimulator&&) noexcept = default;
PacketSimulator& PacketSimulator::operator=(PacketSimulator&&) noexcept = default;
PacketSimulator::~PacketSimulator() = default;

absl::StatusOr<PacketSimulator> PacketSimulator::FromDesired(const Desired& desired, int family) {
  std::vector<TableSource> sources;
  std::deque<std::string> hook_bodies;  // the built-in chains' bodies: the hooks
  const Ruleset* rs = desired.ForFamily(family);
  if (rs != nullptr) {
    for (const Table& t : rs->tables) {
      TableSource& table = sources.emplace_back();
      table.name = t.name;
      // Each hook is inserted at the top of its built-in chain (-I <builtin> 1), in order.
      std::vector<std::pair<std::string, std::string*>> builtins;
      for (const Hook& h : t.hooks) {
        auto it = std::find_if(builtins.begin(), builtins.end(),
                               [&](const auto& b) { return b.first == h.builtin; });
        if (it == builtins.end()) {
          builtins.emplace_back(h.builtin, &hook_bodies.emplace_back());
          it = builtins.end() - 1;
        }
        it->second->insert(0, absl::StrCat("-j ", h.target, "\n"));
      }
      for (const auto& [name, body] : builtins) {
        table.chains.push_back(ChainSource{name, "ACCEPT", *body});
      }
      for (const Chain& c : t.chains) {
        table.chains.push_back(ChainSource{c.name(), "", c.body()});
      }
    }
  }
  absl::StatusOr<std::unique_ptr<State>> state =
      Build(family, std::move(sources), desired.ipsets, {});
  if (!state.ok()) {
    return state.status();
  }
  return PacketSimulator(std::move(*state));
}

absl::StatusOr<PacketSimulator> PacketSimulator::FromSaved(const ObservedRuleset& saved,
                                                           const std::vector<IpSetSpec>& sets) {
  for (const Table& t : saved.ours.tables) {
    if (!t.hooks.empty()) {
      return absl::InvalidArgumentError(
          "the saved state was split (ParseIptablesSave): give ParseIptablesSaveWhole's "
          "result, which keeps the hooks in place");
    }
  }
  std::vector<TableSource> sources;
  std::vector<std::pair<std::string, size_t>> ignored;
  for (size_t i = 0; i < saved.foreign.size(); ++i) {
    const Table& t = saved.foreign[i];
    if (t.name != "raw" && t.name != "filter") {
      size_t rules = 0;
      for (const Chain& c : t.chains) {
        rules += c.rule_count();
      }
      ignored.emplace_back(t.name, rules);
      continue;
    }
    TableSource& table = sources.emplace_back();
    table.name = t.name;
    for (const Chain& c : t.chains) {
      std::string policy;
      for (const ChainPolicy& p : saved.policies) {
        if (p.table == t.name && p.chain == c.name()) {
          policy = p.policy;
        }
      }
      table.chains.push_back(ChainSource{c.name(), policy, c.body()});
    }
    if (i < saved.ours.tables.size()) {
      for (const Chain& c : saved.ours.tables[i].chains) {
        table.chains.push_back(ChainSource{c.name(), "", c.body()});
      }
    }
  }
  absl::StatusOr<std::unique_ptr<State>> state =
      Build(saved.ours.family, std::move(sources), sets, std::move(ignored));
  if (!state.ok()) {
    return state.status();
  }
  return PacketSimulator(std::move(*state));
}

int PacketSimulator::family() const { return state_->family; }

absl::StatusOr<TraceResult> PacketSimulator::Trace(const Packet& packet) const {
  TraceResult result;
  absl::Status status = Trace(packet, &result);
  if (!status.ok()) {
    return status;
  }
  return result;
}

absl::Status PacketSimulator::Trace(const Packet& packet, TraceResult* result) const {
  absl::Status valid = ValidatePacket(packet);
  if (!valid.ok()) {
    return valid;
  }
  if (packet.family != state_->family) {
    return absl::InvalidArgumentError(absl::StrCat(
        "family: an IPv", packet.family, " packet, but the rules are IPv", state_->family, "'s"));
  }
  const State& s = *state_;
  result->steps.clear();
  result->hooks.clear();
  result->unresolved.clear();
  PacketView view{&packet, ToAddr(packet.src), ToAddr(packet.dst),
                  ProtocolHasPorts(packet.protocol)};
  std::string why;
  // Before conntrack (raw), the conntrack match sees no entry: INVALID.
  TraceContext ctx{s, view, packet.mark, CtState::kInvalid, &why};
  bool notrack = false;
  const PacketPath path = PathOf(packet);
  Verdict v = RunHook(kRaw, path == PacketPath::kOutput ? s.raw_output : s.raw_prerouting, ctx,
                      result, &notrack);
  const bool untracked = notrack || packet.ct_state == CtState::kUntracked;
  result->filter_ct_state = untracked ? CtState::kUntracked : packet.ct_state;
  if (v == Verdict::kAccept) {
    ctx.ct = result->filter_ct_state;
    const uint32_t chain = path == PacketPath::kInput     ? s.filter_input
                           : path == PacketPath::kForward ? s.filter_forward
                                                          : s.filter_output;
    v = RunHook(kFilter, chain, ctx, result, &notrack);
  }
  result->verdict = v;
  result->untracked = untracked;
  result->mark = ctx.mark;
  return absl::OkStatus();
}

absl::string_view PacketSimulator::table_name(uint8_t table) const {
  return state_->tables[table].name;
}

absl::string_view PacketSimulator::chain_name(uint8_t table, uint32_t chain) const {
  return state_->tables[table].chains[chain].name;
}

size_t PacketSimulator::rule_count(uint8_t table, uint32_t chain) const {
  return state_->tables[table].chains[chain].rule_count;
}

absl::string_view PacketSimulator::chain_policy(uint8_t table, uint32_t chain) const {
  return state_->tables[table].chains[chain].policy;
}

absl::string_view PacketSimulator::rule_text(uint8_t table, uint32_t chain, uint32_t rule) const {
  const SimTable& t = state_->tables[table];
  return t.rules[t.chains[chain].first_rule + rule].text;
}

absl::string_view PacketSimulator::rule_comment(uint8_t table, uint32_t chain,
                                                uint32_t rule) const {
  const SimTable& t = state_->tables[table];
  return t.rules[t.chains[chain].first_rule + rule].comment;
}

TargetKind PacketSimulator::rule_target(uint8_t table, uint32_t chain, uint32_t rule) const {
  const SimTable& t = state_->tables[table];
  return t.rules[t.chains[chain].first_rule + rule].target;
}

uint32_t PacketSimulator::rule_target_chain(uint8_t table, uint32_t chain, uint32_t rule) const {
  const SimTable& t = state_->tables[table];
  return t.rules[t.chains[chain].first_rule + rule].target_chain;
}

std::vector<std::string> PacketSimulator::UnsimulatedRules() const {
  const State& s = *state_;
  std::vector<std::string> out;
  for (const SimTable& t : s.tables) {
    for (const ChainInfo& c : t.chains) {
      for (uint32_t i = 0; i < c.rule_count; ++i) {
        const CompiledRule& r = t.rules[c.first_rule + i];
        auto add = [&](absl::string_view why) {
          out.push_back(absl::StrCat(t.name, " ", c.name, " #", i + 1, ": ", why));
        };
        for (uint32_t m = 0; m < r.match_count; ++m) {
          const CompiledMatch& match = s.matches[r.first_match + m];
          if (match.kind == MatchKind::kUnknown) {
            add(s.reasons[match.a]);
          } else if (match.kind == MatchKind::kSet && !s.sets[match.a].unevaluable.empty()) {
            add(s.sets[match.a].unevaluable);
          } else if (match.kind == MatchKind::kSet && s.sets[match.a].family != s.family) {
            add(absl::StrCat("set \"", s.sets[match.a].name, "\" is of the other family"));
          }
        }
        if (r.target == TargetKind::kUnknown) {
          add(s.reasons[r.target_reason]);
        }
      }
    }
  }
  return out;
}

const std::vector<std::pair<std::string, size_t>>& PacketSimulator::ignored_tables() const {
  return state_->ignored;
}

}  // namespace fiptgen
