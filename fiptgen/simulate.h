// The packet simulator: what the raw and filter rules do to one packet, without a kernel.
//
//   FIPTGEN_ASSIGN_OR_RETURN(PacketSimulator sim, PacketSimulator::FromDesired(desired, 4));
//   FIPTGEN_ASSIGN_OR_RETURN(Packet p, ParsePacket("in=tapw2 out=tapw1 tcp "
//                                                  "src=198.18.1.2 dst=198.18.1.1 dport=80"));
//   FIPTGEN_ASSIGN_OR_RETURN(TraceResult r, sim.Trace(p));   // flows.h parses packets
//   // r.verdict: kAccept, kDrop, ...; r.steps: every rule the packet met, in order
//
// A state is compiled once ("loaded"): each rule is read with the rule tokenizer
// (rule_text.h) into matches and a target, chains are resolved to indices and sets to lookup
// tables, so tracing a packet reads no text. The packet walks the built-in hooks in the
// kernel's order, raw PREROUTING (arriving) or raw OUTPUT (sent by the host), then filter
// INPUT, FORWARD or OUTPUT, and every chain as netfilter runs it: `-j` pushes a return
// point, `-g` does not (a RETURN from a chain reached by goto returns to the caller of the
// chain that did the goto), the end of a user chain returns, a RETURN or the end of a
// built-in chain applies its policy. MARK changes the mark the later rules and tables see;
// NOTRACK in raw makes filter see the conntrack state UNTRACKED (before conntrack, raw sees
// every packet as INVALID, as the kernel's conntrack match does).
//
// Every match fiptgen writes is evaluated, and the common ones of other tools' rules:
// interfaces (with `+`), addresses, protocols (names and numbers), `-f`, mark, conntrack and
// state, addrtype LOCAL, set (hash:ip and hash:net), multiport, tcp/udp/sctp ports, icmp and
// icmp6 types and codes, mac, comment; targets ACCEPT, DROP, REJECT, RETURN, jumps, gotos,
// MARK, LOG, NFLOG, TRACE, NOTRACK and CT --notrack. A rule the simulator cannot decide (a
// `-m u32`, a set type it does not know, a target such as CONNMARK, a MAC match on a packet
// given no MAC) is never guessed: when nothing else in the rule already fails to match, the
// trace stops there with verdict kUnresolved and says which rule and why.
#ifndef FIPTGEN_SIMULATE_H_
#define FIPTGEN_SIMULATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fiptgen/net.h"
#include "fiptgen/observed.h"
#include "fiptgen/ruleset.h"

namespace fiptgen {

// The conntrack state the packet has when it reaches the filter table (absent NOTRACK).
enum class CtState : uint8_t { kNew, kEstablished, kRelated, kInvalid, kUntracked };

// "NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED": as --ctstate writes them.
absl::string_view CtStateName(CtState state);

struct Packet {
  int family = 4;
  // The interface the packet arrives on; empty for a packet the host itself sends.
  std::string in_interface;
  // The interface it leaves by; empty for a packet to the host itself.
  std::string out_interface;
  IpNet src, dst;                       // addresses (host nets) of `family`
  int protocol = 6;                     // 1..255
  uint16_t src_port = 0, dst_port = 0;  // tcp, udp, sctp, udplite
  int icmp_type = 0, icmp_code = 0;     // icmp (v4), ipv6-icmp (v6)
  std::optional<MacAddress> src_mac;    // the Ethernet source of an arriving packet
  CtState ct_state = CtState::kNew;
  // The destination is one of the host's addresses (-m addrtype --dst-type LOCAL). The
  // kernel delivers to INPUT only what is local and forwards only what is not, so it must be
  // true for an arriving packet without out_interface and false for one with it.
  bool dst_local = false;
  uint32_t mark = 0;  // the mark the packet arrives with
};

// What the packet's interfaces say it is: to the host (INPUT), routed through it (FORWARD),
// or sent by it (OUTPUT).
enum class PacketPath : uint8_t { kInput, kForward, kOutput };
PacketPath PathOf(const Packet& packet);

// Checks that the packet is one the kernel can see: addresses of its family, an interface
// to arrive or leave by, dst_local as the path needs, ports only for protocols with ports,
// and a conntrack state its ICMP type can have (conntrack never tracks ICMPv6 neighbour and
// router discovery and multicast listener messages, types 130-136 and 143: they are
// UNTRACKED; an ICMP reply or error is never NEW). Errors name the field: "ct_state: ...".
absl::Status ValidatePacket(const Packet& packet);

enum class Verdict : uint8_t { kAccept, kDrop, kReject, kUnresolved };

// "ACCEPT", "DROP", "REJECT", "UNRESOLVED".
absl::string_view VerdictName(Verdict verdict);

// One thing the packet met: a rule (matched or not), the end of a user chain (an implicit
// RETURN), or a built-in chain's policy.
struct TraceStep {
  enum class Kind : uint8_t { kRule, kChainEnd, kPolicy };
  Kind kind = Kind::kRule;
  bool matched = false;  // kRule: every match held, so the target ran
  uint8_t table = 0;     // PacketSimulator::table_name(table)
  uint32_t chain = 0;    // PacketSimulator::chain_name(table, chain)
  uint32_t rule = 0;     // kRule: 0-based index in its chain
  uint32_t mark = 0;     // the packet's mark after this step
};

// One built-in chain the packet went through, and what it decided there.
struct HookTrace {
  uint8_t table = 0;
  uint32_t chain = 0;  // the built-in chain (PREROUTING, INPUT, ...)
  Verdict verdict = Verdict::kAccept;
  size_t first_step = 0;     // into TraceResult::steps
  size_t decisive_step = 0;  // the ACCEPT/DROP/REJECT rule, the policy, or the unresolved rule
};

struct TraceResult {
  Verdict verdict = Verdict::kAccept;
  // NOTRACK ran in raw, or the packet came untracked: it has no conntrack entry.
  bool untracked = false;
  CtState filter_ct_state = CtState::kNew;  // the conntrack state the filter table saw
  uint32_t mark = 0;                        // the mark at the end
  std::vector<TraceStep> steps;             // in order
  std::vector<HookTrace> hooks;             // raw, then filter (unless raw decided)
  // When verdict is kUnresolved: why the last step's rule cannot be decided.
  std::string unresolved;
};

// What a rule does when it matches, for showing a trace.
enum class TargetKind : uint8_t {
  kNone,  // no target: the rule only counts
  kAccept,
  kDrop,
  kReject,
  kReturn,
  kJump,     // -j <chain>
  kGoto,     // -g <chain>
  kMark,     // MARK: changes the mark, goes on
  kLog,      // LOG, NFLOG, TRACE: goes on
  kNotrack,  // NOTRACK, CT --notrack: goes on
  kUnknown,  // a target the simulator does not run
};

class PacketSimulator {
 public:
  // The desired state of `family` as it runs on a host that holds nothing else: the built-in
  // chains hold only fiptgen's hooks and have policy ACCEPT. A family the state does not
  // enable has empty tables: nothing of ours filters it.
  static absl::StatusOr<PacketSimulator> FromDesired(const Desired& desired, int family);

  // A state read from a host: `saved` from ParseIptablesSaveWhole, `sets` from
  // ParseIpsetSave(text, "") (every set). Tables other than raw and filter are listed in
  // ignored_tables(), not run. A ParseIptablesSave result whose hooks were taken out of
  // their built-in chains is refused: their place among the other rules is lost.
  static absl::StatusOr<PacketSimulator> FromSaved(const ObservedRuleset& saved,
                                                   const std::vector<IpSetSpec>& sets);

  PacketSimulator(PacketSimulator&&) noexcept;
  PacketSimulator& operator=(PacketSimulator&&) noexcept;
  ~PacketSimulator();

  int family() const;

  // Follows `packet` through the hooks. Errors are ValidatePacket's.
  absl::StatusOr<TraceResult> Trace(const Packet& packet) const;
  // The same into *result, reusing its buffers (for many packets).
  absl::Status Trace(const Packet& packet, TraceResult* result) const;

  // Names and text, for showing a trace.
  absl::string_view table_name(uint8_t table) const;
  absl::string_view chain_name(uint8_t table, uint32_t chain) const;
  size_t rule_count(uint8_t table, uint32_t chain) const;
  // The policy of a built-in chain ("ACCEPT"); empty for a user chain.
  absl::string_view chain_policy(uint8_t table, uint32_t chain) const;
  // The rule as iptables-save prints it, without "-A <chain> ".
  absl::string_view rule_text(uint8_t table, uint32_t chain, uint32_t rule) const;
  // Its -m comment, or empty.
  absl::string_view rule_comment(uint8_t table, uint32_t chain, uint32_t rule) const;
  TargetKind rule_target(uint8_t table, uint32_t chain, uint32_t rule) const;
  // The chain a kJump/kGoto rule goes to.
  uint32_t rule_target_chain(uint8_t table, uint32_t chain, uint32_t rule) const;

  // Every rule a packet could reach and not be decided at, as "filter KUBE-FW #3: match
  // \"-m u32\" is not simulated", in table and chain order. A state fiptgen generated has none.
  std::vector<std::string> UnsimulatedRules() const;

  // Tables of the saved state that are not simulated, with their rule counts ("nat", 12).
  const std::vector<std::pair<std::string, size_t>>& ignored_tables() const;

  struct State;  // the compiled state (simulate.cc)

 private:
  explicit PacketSimulator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace fiptgen

#endif  // FIPTGEN_SIMULATE_H_
