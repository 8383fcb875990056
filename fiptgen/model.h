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
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
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

// One rule of a profile. Most rules use a few of these fields, so the rarely set ones are
// small: a huge model holds 200,000 rules (docs/decisions.md). The small numbers are the
// narrowest type that holds their range, packed at the front: a protocol, ICMP type or
// code is one byte (an ICMP code has no value a byte can hold that is wrong; a protocol 0,
// an ICMP type 255 and an ip_version other than 4 or 6 are still refused by ValidateModel).
// The lists keep their first elements in the rule: up to 4 port ranges each (most lists),
// one set match (most rules); longer lists go to the heap. Read them as absl::Span.
struct PolicyRule {
  Action action = Action::kAllow;
  std::optional<Match<uint8_t>> protocol;   // 1..255
  std::optional<Match<uint8_t>> icmp_type;  // 0..254
  std::optional<uint8_t> icmp_code;         // needs icmp_type
  std::optional<uint8_t> ip_version;        // 4 or 6
  std::string log_prefix = "calico-packet: ";
  std::optional<Match<IpNet>> src_net, dst_net;
  // Written in this order. LoadModel orders them src_tag, !src_tag, dst_tag, !dst_tag,
  // src_ipset, !src_ipset, dst_ipset, !dst_ipset.
  absl::InlinedVector<SetMatch, 1> sets;
  absl::InlinedVector<PortRange, 4> src_ports, dst_ports;          // sorted, unique
  absl::InlinedVector<PortRange, 4> not_src_ports, not_dst_ports;  // sorted, unique
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
