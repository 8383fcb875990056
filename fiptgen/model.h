// The validated input model: what `LoadModel` produces from JSON and what `Generate` reads.
//
// Values are typed and canonical (nets with host bits cleared, ports sorted, MACs parsed).
// LoadModel (load.h) fills it from JSON and runs ValidateModel (validate.h), which checks
// everything the types cannot: names, references, cross-field rules, collisions. An agent
// that builds a Model in code runs ValidateModel itself. The generator trusts the result.
// docs/model.md describes every field.
#ifndef FIPTGEN_MODEL_H_
#define FIPTGEN_MODEL_H_

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "fiptgen/net.h"

namespace fiptgen {

enum class EndpointToHostAction { kDrop, kReturn, kAccept };

// "tcp:22": protocol (6, 17 or 132) and port.
struct FailsafePort {
  int protocol = 6;
  uint16_t port = 0;
  friend bool operator<(const FailsafePort& a, const FailsafePort& b) {
    return a.protocol != b.protocol ? a.protocol < b.protocol : a.port < b.port;
  }
  friend bool operator==(const FailsafePort& a, const FailsafePort& b) {
    return a.protocol == b.protocol && a.port == b.port;
  }
};

struct MetadataConfig {
  IpNet addr;  // an IPv4 /32
  uint16_t port = 8775;
};

struct Config {
  std::string interface_prefix = "tap";
  std::string chain_prefix = "felix-";
  std::string ipset_prefix = "felix-";
  uint32_t mark_accept = 0x1000000;
  uint32_t mark_from_endpoint = 0x4000000;
  std::optional<MetadataConfig> metadata;  // set by default to 127.0.0.1:8775
  EndpointToHostAction endpoint_to_host_action = EndpointToHostAction::kDrop;
  std::vector<FailsafePort> failsafe_inbound;   // sorted, unique
  std::vector<FailsafePort> failsafe_outbound;  // sorted, unique
  std::vector<int> families = {4, 6};           // sorted, unique
};

// The configuration with every default a model's "config" may leave out (docs/model.md).
Config DefaultConfig();

// A port or an inclusive range (lo < hi); a single port has lo == hi.
struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 0;
  friend bool operator<(const PortRange& a, const PortRange& b) {
    return a.lo != b.lo ? a.lo < b.lo : a.hi < b.hi;
  }
  friend bool operator==(const PortRange& a, const PortRange& b) {
    return a.lo == b.lo && a.hi == b.hi;
  }
};

// A rule's four port lists (src_ports, dst_ports, !src_ports, !dst_ports) in one block of 32
// bytes: up to 4 ranges in all are kept in the block itself (on large, 82 % of the rules:
// most have one short list), more in one allocation for the four. Read a list with
// PolicyRule's src_ports() ... not_dst_ports(); set one whole, as
//   rule.ports.Set(RulePorts::kDst, {{80, 80}, {8000, 8080}});
class RulePorts {
 public:
  enum List { kSrc, kDst, kNotSrc, kNotDst };

  RulePorts() : heap_(nullptr) {}
  RulePorts(const RulePorts& other);
  RulePorts(RulePorts&& other) noexcept : end_{}, heap_(nullptr) { Take(other); }
  RulePorts& operator=(const RulePorts& other);
  RulePorts& operator=(RulePorts&& other) noexcept {
    if (this != &other) {
      Free();
      Take(other);
    }
    return *this;
  }
  ~RulePorts() { Free(); }

  absl::Span<const PortRange> operator[](List list) const {
    const uint32_t begin = Begin(list);
    return absl::Span<const PortRange>(data() + begin, end_[list] - begin);
  }
  // True when all four lists are empty.
  bool empty() const { return end_[kNotDst] == 0; }
  // Replaces `list` with `ranges` (sorted, unique: ValidateModel checks).
  void Set(List list, absl::Span<const PortRange> ranges);
  // Makes `list` `n` ranges long and returns them for the caller to write (LoadModel,
  // which writes each list once, in place). They are uninitialized: the caller writes all
  // n. To set a list from ranges you have, use Set.
  PortRange* Resize(List list, uint32_t n) {
    // Most rules: an empty list after every list in use, and all of them fit in the rule
    // (the loader writes one list, or lists in the fields' order).
    const uint32_t total = end_[kNotDst];
    if (end_[list] == total && Begin(list) == total && total + n <= kInline) {
      for (int i = list; i <= kNotDst; ++i) {
        end_[i] = total + n;
      }
      return inline_ + total;
    }
    return ResizeMoving(list, n);
  }

 private:
  static constexpr uint32_t kInline = 4;
  uint32_t Begin(List list) const { return list == kSrc ? 0 : end_[list - 1]; }
  bool on_heap() const { return end_[kNotDst] > kInline; }
  const PortRange* data() const { return on_heap() ? heap_ : inline_; }
  PortRange* ResizeMoving(List list, uint32_t n);
  static PortRange* Allocate(uint32_t n) {  // uninitialized: each range is written after
    return static_cast<PortRange*>(::operator new(n * sizeof(PortRange)));
  }
  void Free() {
    if (on_heap()) {
      ::operator delete(heap_);
    }
  }
  // Takes other's ranges, leaving it empty (this holds none).
  void Take(RulePorts& other) {
    std::memcpy(end_, other.end_, sizeof(end_));
    std::memcpy(static_cast<void*>(inline_), other.inline_, sizeof(inline_));
    std::memset(other.end_, 0, sizeof(other.end_));
  }

  uint32_t end_[4] = {};  // where each list ends, counted from the first range of kSrc
  union {
    PortRange* heap_;            // when there are more than kInline ranges in all
    PortRange inline_[kInline];  // else
  };
};

enum class Action : uint8_t { kAllow, kDeny, kLog };

// A match that may be negated ("!src_net").
template <typename T>
struct Match {
  T value;
  bool negated = false;
};

// Which address of a packet a match looks at.
enum class Side : uint8_t { kSource, kDestination };

// A rule's match against a set of addresses: a tag's set (the addresses of every endpoint
// whose profiles carry the tag) or an ipset of the model. "!dst_ipset": "blocklist" is
//   SetMatch{SetMatch::kIpset, Side::kDestination, /*negated=*/true, "blocklist"}
struct SetMatch {
  enum Kind : uint8_t { kTag, kIpset };
  Kind kind = kTag;
  Side side = Side::kSource;
  bool negated = false;
  std::string name;  // the tag or the ipset's name, as the user gave it
};

// A log rule's prefix, "calico-packet: " unless set. Few rules log (2,760 of large's
// 40,000), so a rule holds one pointer for it, not a 32-byte string. Set it from text and
// read it as text:
//   rule.log_prefix = "db-denied: ";
//   absl::string_view prefix = rule.log_prefix;
class LogPrefix {
 public:
  static constexpr absl::string_view kDefault = "calico-packet: ";

  LogPrefix() = default;
  LogPrefix(const LogPrefix& other) { *this = other; }
  LogPrefix(LogPrefix&&) noexcept = default;
  LogPrefix& operator=(const LogPrefix& other) {
    text_ = other.text_ == nullptr ? nullptr : std::make_unique<std::string>(*other.text_);
    return *this;
  }
  LogPrefix& operator=(LogPrefix&&) noexcept = default;
  LogPrefix& operator=(absl::string_view text) {
    text_ = std::make_unique<std::string>(text);
    return *this;
  }

  absl::string_view view() const { return text_ == nullptr ? kDefault : *text_; }
  operator absl::string_view() const { return view(); }  // NOLINT: reads as its text

 private:
  std::unique_ptr<std::string> text_;  // null: kDefault
};

// One rule of a profile, 168 bytes. Most rules use a few of these fields, so the rarely
// set ones are small: a huge model holds 200,000 rules (docs/decisions.md). The small
// numbers are the narrowest type that holds their range, packed at the front: a protocol,
// ICMP type or code is one byte (an ICMP code has no value a byte can hold that is wrong;
// a protocol 0, an ICMP type 255 and an ip_version other than 4 or 6 are still refused by
// ValidateModel).
// The lists keep their first elements in the rule: up to 4 port ranges in all (RulePorts),
// one set match (most rules); longer lists go to the heap.
struct PolicyRule {
  Action action = Action::kAllow;
  std::optional<Match<uint8_t>> protocol;   // 1..255
  std::optional<Match<uint8_t>> icmp_type;  // 0..254
  std::optional<uint8_t> icmp_code;         // needs icmp_type
  std::optional<uint8_t> ip_version;        // 4 or 6
  LogPrefix log_prefix;                     // with Action::kLog
  std::optional<Match<IpNet>> src_net, dst_net;
  // Written in this order. LoadModel orders them src_tag, !src_tag, dst_tag, !dst_tag,
  // src_ipset, !src_ipset, dst_ipset, !dst_ipset.
  absl::InlinedVector<SetMatch, 1> sets;
  RulePorts ports;  // each list sorted, unique

  absl::Span<const PortRange> src_ports() const { return ports[RulePorts::kSrc]; }
  absl::Span<const PortRange> dst_ports() const { return ports[RulePorts::kDst]; }
  absl::Span<const PortRange> not_src_ports() const { return ports[RulePorts::kNotSrc]; }
  absl::Span<const PortRange> not_dst_ports() const { return ports[RulePorts::kNotDst]; }
};

struct Profile {
  std::string id;
  std::vector<std::string> tags;  // sorted, unique
  std::vector<PolicyRule> inbound_rules;
  std::vector<PolicyRule> outbound_rules;
};

enum class EndpointKind { kWorkload, kHost };

struct Endpoint {
  std::string id;
  EndpointKind kind = EndpointKind::kWorkload;
  std::string interface;
  std::optional<MacAddress> mac;
  std::vector<IpNet> ipv4_nets;  // sorted, unique
  std::vector<IpNet> ipv6_nets;  // sorted, unique
  std::vector<std::string> profile_ids;
  std::vector<std::string> untracked_profile_ids;
};

struct IpSetModel {
  std::string name;
  int family = 4;
  std::string type = "hash:net";  // "hash:ip" or "hash:net"
  std::vector<IpNet> members;     // sorted, unique
};

struct Model {
  Config config = DefaultConfig();
  std::vector<Endpoint> endpoints;          // in input order (errors name the index)
  std::map<std::string, Profile> profiles;  // by id
  std::vector<IpSetModel> ipsets;           // in input order
};

}  // namespace fiptgen

#endif  // FIPTGEN_MODEL_H_
