#include "fiptgen/load.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fiptgen/append.h"
#include "fiptgen/error_path.h"
#include "fiptgen/json.h"
#include "fiptgen/protocols.h"
#include "fiptgen/validate.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"

namespace fiptgen {
namespace {

using json::Value;

const char* TypeName(const Value& v) {
  if (v.IsNull()) {
    return "null";
  }
  if (v.IsBool()) {
    return "a boolean";
  }
  if (v.IsNumber()) {
    return "a number";
  }
  if (v.IsString()) {
    return "a string";
  }
  if (v.IsArray()) {
    return "an array";
  }
  return "an object";
}

absl::string_view StringOf(const Value& v) { return v.GetString(); }

// Collects errors while walking the JSON document. Each parse function reports what is
// wrong with the value at `path` and returns false; the caller leaves that value out.
class JsonReader {
 public:
  size_t error_count() const { return errors_.size(); }
  // Errors are reported in the order of the model's sections (Section), whatever the
  // document's order, and in document order within a section: the errors of the section
  // being read are tagged with it, and TakeErrors sorts them.
  enum Section { kModel, kConfig, kProfiles, kEndpoints, kIpsets };
  void set_section(Section section) { section_ = section; }
  std::vector<std::string> TakeErrors() {
    std::vector<size_t> order(errors_.size());
    for (size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(),
                     [this](size_t a, size_t b) { return sections_[a] < sections_[b]; });
    std::vector<std::string> sorted;
    sorted.reserve(order.size());
    for (size_t i : order) {
      sorted.push_back(std::move(errors_[i]));
    }
    errors_.clear();
    sections_.clear();
    return sorted;
  }

  // Marks everything under `path` as reported (every Error() path is): the model-wide
  // checks stay quiet about it, so one mistake is one error, and entries keep their index.
  void MarkBroken(std::string path) { broken_.push_back(std::move(path)); }
  bool IsUnderBroken(absl::string_view error) const {
    for (const std::string& b : broken_) {
      if (absl::StartsWith(error, b) && error.size() > b.size() &&
          (error[b.size()] == '.' || error[b.size()] == '[' || error[b.size()] == ':')) {
        return true;
      }
    }
    return false;
  }

  void Error(absl::string_view path, absl::string_view message) {
    errors_.push_back(PathError(path, message));
    sections_.push_back(section_);
    MarkBroken(std::string(path));
  }

  // Checks that `v` is an object whose keys are all in `allowed` and none repeats. When
  // `found` is given, found[i] is set to the value of the first member named allowed[i]
  // (what FindMember would find), so a reader looks each field up once.
  bool CheckObject(const Value& v, absl::string_view path,
                   std::initializer_list<absl::string_view> allowed,
                   std::optional<Value>* found = nullptr) {
    if (!v.IsObject()) {
      Error(path, absl::StrCat("expected an object, got ", TypeName(v)));
      return false;
    }
    // Objects here are small: scans are cheaper than a hash set.
    size_t index = 0;
    for (Value::Member m : v.Members()) {
      ++index;
      // Size and first byte before memcmp: most keys differ there.
      const auto field = std::find_if(allowed.begin(), allowed.end(), [&m](absl::string_view a) {
        return a.size() == m.key.size() && !a.empty() && a[0] == m.key[0] && a == m.key;
      });
      const size_t id = static_cast<size_t>(field - allowed.begin());
      bool repeated = false;
      if (field != allowed.end() && found != nullptr) {
        repeated = found[id].has_value();
      } else {
        size_t prev_index = 0;
        for (Value::Member prev : v.Members()) {
          if (++prev_index == index) {
            break;
          }
          if (prev.key == m.key) {
            repeated = true;
            break;
          }
        }
      }
      if (repeated) {
        Error(path, absl::StrCat("duplicate key ", QuoteForMessage(m.key)));
        continue;
      }
      if (field == allowed.end()) {
        Error(MemberPath(path, m.key), "unknown field");
      } else if (found != nullptr) {
        found[id] = m.value;
      }
    }
    return true;
  }

  // Value readers take the path as (parent, field) and join them only to report an error:
  // a large model has hundreds of thousands of fields and almost never an error.
  bool String(const Value& v, absl::string_view path, std::string* out) {
    return String(v, path, "", out);
  }
  bool String(const Value& v, absl::string_view parent, absl::string_view field, std::string* out) {
    if (!v.IsString()) {
      Error(FieldPath(parent, field), absl::StrCat("expected a string, got ", TypeName(v)));
      return false;
    }
    if (out != nullptr) {
      out->assign(v.GetString().data(), v.GetString().size());
    }
    return true;
  }

  bool Int(const Value& v, absl::string_view path, int64_t lo, int64_t hi, int64_t* out) {
    return Int(v, path, "", lo, hi, out);
  }
  bool Int(const Value& v, absl::string_view parent, absl::string_view field, int64_t lo,
           int64_t hi, int64_t* out) {
    if (!v.IsInt64()) {
      std::string path = FieldPath(parent, field);
      Error(path, absl::StrCat("expected an integer, got ",
                               v.IsNumber() ? "a fraction or huge number" : TypeName(v)));
      return false;
    }
    if (v.GetInt64() < lo || v.GetInt64() > hi) {
      Error(FieldPath(parent, field), absl::StrCat(v.GetInt64(), " out of range ", lo, "-", hi));
      return false;
    }
    *out = v.GetInt64();
    return true;
  }

  bool StringList(const Value& v, absl::string_view path, std::vector<std::string>* out) {
    if (!v.IsArray()) {
      Error(path, absl::StrCat("expected an array of strings, got ", TypeName(v)));
      return false;
    }
    bool ok = true;
    size_t i = 0;
    out->reserve(out->size() + v.Size());
    for (Value e : v.Elements()) {
      if (e.IsString()) {
        out->emplace_back(e.GetString());
      } else {
        String(e, IndexPath(path, i), nullptr);  // reports it
        ok = false;
      }
      ++i;
    }
    return ok;
  }

  // A CIDR; `host_bits` kKeep keeps them for the caller to refuse.
  bool Net(const Value& v, absl::string_view path, int family, IpNet* out,
           HostBits host_bits = HostBits::kClear) {
    return Net(v, path, "", family, out, host_bits);
  }
  bool Net(const Value& v, absl::string_view parent, absl::string_view field, int family,
           IpNet* out, HostBits host_bits = HostBits::kClear) {
    if (!v.IsString()) {
      return String(v, parent, field, nullptr);  // reports it
    }
    absl::string_view text = v.GetString();
    absl::StatusOr<IpNet> net = ParseIpNet(text, family, host_bits);
    if (!net.ok()) {
      Error(FieldPath(parent, field),
            absl::StrCat(QuoteForMessage(text), " is ",
                         family == 0 ? "not a CIDR" : absl::StrCat("not an IPv", family, " CIDR"),
                         " (", net.status().message(), ")"));
      return false;
    }
    *out = *net;
    return true;
  }

  // A list of CIDRs, sorted and de-duplicated. `owned`: the nets an endpoint owns, where a
  // CIDR with host bits set is an error (OwnedNetProblem), never widened; elsewhere they
  // are cleared, as iptables and ipset do.
  bool NetList(const Value& v, absl::string_view path, int family, std::vector<IpNet>* out,
               bool owned = false) {
    if (!v.IsArray()) {
      Error(path, absl::StrCat("expected an array of CIDRs, got ", TypeName(v)));
      return false;
    }
    bool ok = true;
    size_t i = 0;
    out->reserve(out->size() + v.Size());
    const HostBits host_bits = owned ? HostBits::kKeep : HostBits::kClear;
    for (Value e : v.Elements()) {
      // The element's path is made only for an error: a big set has 100,000 members.
      absl::StatusOr<IpNet> net = e.IsString() ? ParseIpNet(e.GetString(), family, host_bits)
                                               : absl::InvalidArgumentError("not a string");
      if (!net.ok()) {
        IpNet unused;
        Net(e, IndexPath(path, i), family, &unused, host_bits);  // reports it
        ok = false;
      } else if (std::string problem = owned ? OwnedNetProblem(*net) : ""; !problem.empty()) {
        Error(IndexPath(path, i), problem);
        ok = false;
      } else {
        out->push_back(*net);
      }
      ++i;
    }
    if (!std::is_sorted(out->begin(), out->end())) {
      std::sort(out->begin(), out->end());
    }
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return ok;
  }

  // A port list: integers and "lo:hi" strings. Errors name the field and the port, as in
  // `profiles["web"].inbound_rules[2].dst_ports: port 70000 out of range`.
  bool Ports(const Value& v, absl::string_view parent, absl::string_view field,
             std::vector<PortRange>* out) {
    std::string path;  // made at the first error only
    auto error = [&](absl::string_view message) {
      if (path.empty()) {
        path = FieldPath(parent, field);
      }
      Error(path, message);
    };
    if (!v.IsArray() || v.Empty()) {
      error("expected a non-empty array of ports and \"lo:hi\" ranges");
      return false;
    }
    bool ok = true;
    out->reserve(v.Size());
    for (Value p : v.Elements()) {
      if (p.IsInt64()) {
        if (p.GetInt64() < 0 || p.GetInt64() > 65535) {
          error(absl::StrCat("port ", p.GetInt64(), " out of range"));
          ok = false;
        } else {
          uint16_t port = static_cast<uint16_t>(p.GetInt64());
          out->push_back({port, port});
        }
        continue;
      }
      if (!p.IsString()) {
        error(absl::StrCat("expected a port or \"lo:hi\", got ", TypeName(p)));
        ok = false;
        continue;
      }
      absl::string_view text = StringOf(p);
      // "lo:hi": exactly one ':', each side 1-5 digits.
      const size_t colon = text.find(':');
      const bool one_colon =
          colon != absl::string_view::npos && text.find(':', colon + 1) == absl::string_view::npos;
      int64_t lo = -1, hi = -1;
      auto number = [](absl::string_view s, int64_t* n) {
        if (s.empty() || s.size() > 5) {
          return false;
        }
        *n = 0;
        for (char c : s) {
          if (c < '0' || c > '9') {
            return false;
          }
          *n = *n * 10 + (c - '0');
        }
        return true;
      };
      if (!one_colon || !number(text.substr(0, colon), &lo) ||
          !number(text.substr(colon + 1), &hi)) {
        error(absl::StrCat(QuoteForMessage(text), " is not a port range \"lo:hi\""));
        ok = false;
      } else if (lo > 65535 || hi > 65535) {
        error(absl::StrCat("port ", std::max(lo, hi), " out of range"));
        ok = false;
      } else if (lo >= hi) {
        error(absl::StrCat("range ", QuoteForMessage(text),
                           " must have lo < hi (the kernel refuses it)"));
        ok = false;
      } else {
        out->push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
      }
    }
    if (!std::is_sorted(out->begin(), out->end())) {
      std::sort(out->begin(), out->end());
    }
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return ok;
  }

 private:
  std::vector<std::string> errors_;
  std::vector<Section> sections_;  // of each error
  Section section_ = kModel;
  std::vector<std::string> broken_;
};

bool ParseMark(JsonReader& r, const Value& v, absl::string_view path, uint32_t* out) {
  std::string text;
  if (!r.String(v, path, &text)) {
    return false;
  }
  uint64_t value = 0;
  absl::string_view digits = text;
  bool hex = absl::ConsumePrefix(&digits, "0x") && !digits.empty() && digits.size() <= 8 &&
             digits.find_first_not_of("0123456789abcdefABCDEF") == absl::string_view::npos &&
             absl::SimpleHexAtoi(digits, &value);
  if (!hex || value == 0 || (value & (value - 1)) != 0) {
    r.Error(path, absl::StrCat(QuoteForMessage(text),
                               " is not a single-bit mark in hex (e.g. \"0x1000000\")"));
    return false;
  }
  *out = static_cast<uint32_t>(value);
  return true;
}

bool ParseFailsafe(JsonReader& r, const Value& v, absl::string_view path,
                   std::vector<FailsafePort>* out) {
  std::vector<std::string> entries;
  if (!r.StringList(v, path, &entries)) {
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < entries.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> pp =
        absl::StrSplit(entries[i], absl::MaxSplits(':', 1));
    int64_t port = -1;
    std::optional<int> proto = ParseProtocolName(pp.first);
    bool port_ok = !pp.second.empty() && pp.second.size() <= 5 &&
                   pp.second.find_first_not_of("0123456789") == absl::string_view::npos &&
                   absl::SimpleAtoi(pp.second, &port) && port <= 65535;
    if (!proto || (*proto != kProtoTcp && *proto != kProtoUdp && *proto != kProtoSctp) ||
        !port_ok) {
      r.Error(IndexPath(path, i),
              absl::StrCat(QuoteForMessage(entries[i]),
                           " is not \"tcp:PORT\", \"udp:PORT\" or \"sctp:PORT\""));
      ok = false;
      continue;
    }
    out->push_back({*proto, static_cast<uint16_t>(port)});
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return ok;
}

void ParseConfig(JsonReader& r, const Value& v, Config* config) {
  const std::string path = "config";
  if (!r.CheckObject(v, path,
                     {"interface_prefix", "chain_prefix", "ipset_prefix", "mark_accept",
                      "mark_from_endpoint", "metadata", "endpoint_to_host_action",
                      "failsafe_inbound", "failsafe_outbound", "families"})) {
    return;
  }
  for (Value::Member m : v.Members()) {
    absl::string_view key = m.key;
    std::string p = FieldPath(path, key);
    const Value& f = m.value;
    if (key == "interface_prefix") {
      r.String(f, p, &config->interface_prefix);
    } else if (key == "chain_prefix") {
      r.String(f, p, &config->chain_prefix);
    } else if (key == "ipset_prefix") {
      r.String(f, p, &config->ipset_prefix);
    } else if (key == "mark_accept") {
      ParseMark(r, f, p, &config->mark_accept);
    } else if (key == "mark_from_endpoint") {
      ParseMark(r, f, p, &config->mark_from_endpoint);
    } else if (key == "metadata") {
      if (f.IsNull()) {
        config->metadata.reset();
        continue;
      }
      if (!r.CheckObject(f, p, {"addr", "port"})) {
        continue;
      }
      MetadataConfig md = *DefaultConfig().metadata;
      if (std::optional<Value> a = f.Find("addr")) {
        IpNet addr;
        if (r.Net(*a, FieldPath(p, "addr"), 4, &addr)) {
          if (addr.is_host()) {
            md.addr = addr;
          } else {
            r.Error(FieldPath(p, "addr"), "must be one IPv4 address");
          }
        }
      }
      if (std::optional<Value> port = f.Find("port")) {
        int64_t n = 0;
        if (r.Int(*port, FieldPath(p, "port"), 1, 65535, &n)) {
          md.port = static_cast<uint16_t>(n);
        }
      }
      config->metadata = md;
    } else if (key == "endpoint_to_host_action") {
      std::string action;
      if (!r.String(f, p, &action)) {
        continue;
      }
      if (action == "DROP") {
        config->endpoint_to_host_action = EndpointToHostAction::kDrop;
      } else if (action == "RETURN") {
        config->endpoint_to_host_action = EndpointToHostAction::kReturn;
      } else if (action == "ACCEPT") {
        config->endpoint_to_host_action = EndpointToHostAction::kAccept;
      } else {
        r.Error(p, absl::StrCat(QuoteForMessage(action),
                                " is not one of \"DROP\", \"RETURN\", \"ACCEPT\""));
      }
    } else if (key == "failsafe_inbound") {
      config->failsafe_inbound.clear();
      ParseFailsafe(r, f, p, &config->failsafe_inbound);
    } else if (key == "failsafe_outbound") {
      config->failsafe_outbound.clear();
      ParseFailsafe(r, f, p, &config->failsafe_outbound);
    } else if (key == "families") {
      if (!f.IsArray() || f.Empty()) {
        r.Error(p, "expected a non-empty array holding 4, 6 or both");
        continue;
      }
      std::vector<int> families;
      size_t i = 0;
      for (Value e : f.Elements()) {
        int64_t n = 0;
        const size_t at = i++;
        if (!r.Int(e, IndexPath(p, at), 4, 6, &n)) {
          continue;
        }
        if (n == 5) {
          r.Error(IndexPath(p, at), "family must be 4 or 6");
          continue;
        }
        families.push_back(static_cast<int>(n));
      }
      std::sort(families.begin(), families.end());
      families.erase(std::unique(families.begin(), families.end()), families.end());
      if (!families.empty()) {
        config->families = families;
      }
    }
  }
}

// A rule's fields, in the order of kRuleFields.
enum RuleField {
  kAction,
  kLogPrefix,
  kProtocol,
  kNotProtocol,
  kSrcNet,
  kDstNet,
  kNotSrcNet,
  kNotDstNet,
  kSrcTag,
  kDstTag,
  kNotSrcTag,
  kNotDstTag,
  kSrcIpset,
  kDstIpset,
  kNotSrcIpset,
  kNotDstIpset,
  kSrcPorts,
  kDstPorts,
  kNotSrcPorts,
  kNotDstPorts,
  kIcmpType,
  kIcmpCode,
  kNotIcmpType,
  kIpVersion,
  kRuleFieldCount
};
constexpr std::initializer_list<absl::string_view> kRuleFields = {
    "action",     "log_prefix", "protocol",   "!protocol",  "src_net",    "dst_net",
    "!src_net",   "!dst_net",   "src_tag",    "dst_tag",    "!src_tag",   "!dst_tag",
    "src_ipset",  "dst_ipset",  "!src_ipset", "!dst_ipset", "src_ports",  "dst_ports",
    "!src_ports", "!dst_ports", "icmp_type",  "icmp_code",  "!icmp_type", "ip_version"};

// A "name" / "!name" pair of fields holding one string each.
void ParseNamedMatch(JsonReader& r, const std::optional<Value>* fields, absl::string_view path,
                     RuleField field, RuleField negated_field, SetMatch::Kind kind, Side side,
                     std::vector<SetMatch>* out, bool* ok) {
  for (bool negated : {false, true}) {
    const RuleField key = negated ? negated_field : field;
    if (!fields[key]) {
      continue;
    }
    std::string name;
    if (r.String(*fields[key], path, kRuleFields.begin()[key], &name)) {
      out->push_back({kind, side, negated, std::move(name)});
    } else {
      *ok = false;
    }
  }
}

// Returns false when the rule has an error (the caller leaves it out of the model).
bool ParseRule(JsonReader& r, const Value& v, const std::string& path, PolicyRule* rule) {
  std::optional<Value> fields[kRuleFieldCount];
  if (!r.CheckObject(v, path, kRuleFields, fields)) {
    return false;
  }
  const size_t errors_before = r.error_count();
  bool ok = true;
  if (const std::optional<Value>& f = fields[kAction]) {
    absl::string_view action = f->IsString() ? f->GetString() : "";
    if (r.String(*f, path, "action", nullptr)) {
      if (action == "allow") {
        rule->action = Action::kAllow;
      } else if (action == "deny") {
        rule->action = Action::kDeny;
      } else if (action == "log") {
        rule->action = Action::kLog;
      } else {
        r.Error(
            FieldPath(path, "action"),
            absl::StrCat(QuoteForMessage(action), " is not one of \"allow\", \"deny\", \"log\""));
      }
    }
  }
  if (const std::optional<Value>& f = fields[kLogPrefix]) {
    if (r.String(*f, path, "log_prefix", &rule->log_prefix) && rule->action != Action::kLog) {
      r.Error(FieldPath(path, "log_prefix"), "only allowed with action \"log\"");
    }
  }
  // One of "x" / "!x", exclusive: iptables takes a single -p / -s / -d / --icmp-type.
  // `parse` gets the value, the field's name and whether it is the negated one.
  auto exclusive = [&](RuleField field, RuleField negated_field, auto parse) {
    const std::optional<Value>& pos = fields[field];
    const std::optional<Value>& neg = fields[negated_field];
    const absl::string_view name = kRuleFields.begin()[field];
    const absl::string_view negated_name = kRuleFields.begin()[negated_field];
    if (pos && neg) {
      r.Error(FieldPath(path, name),
              absl::StrCat("cannot be combined with ", QuoteForMessage(negated_name)));
      return;
    }
    if (pos) {
      parse(*pos, name, false);
    }
    if (neg) {
      parse(*neg, negated_name, true);
    }
  };
  exclusive(kProtocol, kNotProtocol, [&](const Value& f, absl::string_view field, bool negated) {
    if (f.IsString()) {
      std::optional<int> proto = ParseProtocolName(StringOf(f));
      if (!proto) {
        r.Error(FieldPath(path, field),
                absl::StrCat(QuoteForMessage(StringOf(f)),
                             " is not tcp, udp, icmp, icmpv6, sctp, udplite or 1-255"));
        return;
      }
      rule->protocol = Match<int>{*proto, negated};
      return;
    }
    int64_t n = 0;
    if (f.IsInt64() || f.IsNumber()) {
      if (r.Int(f, path, field, 1, 255, &n)) {
        rule->protocol = Match<int>{static_cast<int>(n), negated};
      }
      return;
    }
    r.Error(FieldPath(path, field),
            absl::StrCat("expected a protocol name or number, got ", TypeName(f)));
  });
  for (RuleField dir : {kSrcNet, kDstNet}) {
    std::optional<Match<IpNet>>& slot = dir == kSrcNet ? rule->src_net : rule->dst_net;
    exclusive(dir, dir == kSrcNet ? kNotSrcNet : kNotDstNet,
              [&](const Value& f, absl::string_view field, bool negated) {
                IpNet net;
                if (r.Net(f, path, field, 0, &net)) {
                  slot = Match<IpNet>{net, negated};
                }
              });
  }
  ParseNamedMatch(r, fields, path, kSrcTag, kNotSrcTag, SetMatch::kTag, Side::kSource, &rule->sets,
                  &ok);
  ParseNamedMatch(r, fields, path, kDstTag, kNotDstTag, SetMatch::kTag, Side::kDestination,
                  &rule->sets, &ok);
  ParseNamedMatch(r, fields, path, kSrcIpset, kNotSrcIpset, SetMatch::kIpset, Side::kSource,
                  &rule->sets, &ok);
  ParseNamedMatch(r, fields, path, kDstIpset, kNotDstIpset, SetMatch::kIpset, Side::kDestination,
                  &rule->sets, &ok);
  for (auto [field, out] :
       {std::pair<RuleField, std::vector<PortRange>*>{kSrcPorts, &rule->src_ports},
        {kDstPorts, &rule->dst_ports},
        {kNotSrcPorts, &rule->not_src_ports},
        {kNotDstPorts, &rule->not_dst_ports}}) {
    if (fields[field]) {
      r.Ports(*fields[field], path, kRuleFields.begin()[field], out);
    }
  }
  exclusive(kIcmpType, kNotIcmpType, [&](const Value& f, absl::string_view field, bool negated) {
    int64_t n = 0;
    if (r.Int(f, path, field, 0, 255, &n)) {
      rule->icmp_type = Match<int>{static_cast<int>(n), negated};
    }
  });
  if (const std::optional<Value>& f = fields[kIcmpCode]) {
    int64_t n = 0;
    if (r.Int(*f, path, "icmp_code", 0, 255, &n)) {
      rule->icmp_code = static_cast<int>(n);
    }
  }
  if (const std::optional<Value>& f = fields[kIpVersion]) {
    int64_t n = 0;
    if (r.Int(*f, path, "ip_version", 4, 6, &n)) {
      if (n == 5) {
        r.Error(FieldPath(path, "ip_version"), "must be 4 or 6");
      } else {
        rule->ip_version = static_cast<int>(n);
      }
    }
  }
  return ok && r.error_count() == errors_before;
}

void ParseRuleList(JsonReader& r, const Value& v, const std::string& path,
                   std::vector<PolicyRule>* out) {
  if (!v.IsArray()) {
    r.Error(path, absl::StrCat("expected an array of rules, got ", TypeName(v)));
    return;
  }
  // Sized once: a PolicyRule is over 300 bytes, and a growing vector would keep up to half
  // of its room spare.
  out->reserve(out->size() + v.Size());
  // One path per rule, "<path>[<i>]": only the index is rewritten, in a reused string.
  std::string rule_path = path + "[";
  const size_t index_at = rule_path.size();
  char digits[24];
  size_t i = 0;
  for (Value e : v.Elements()) {
    rule_path.resize(index_at);
    rule_path.append(digits, std::to_chars(digits, digits + sizeof(digits), i++).ptr);
    rule_path.push_back(']');
    PolicyRule& rule = out->emplace_back();
    if (!ParseRule(r, e, rule_path, &rule)) {
      r.MarkBroken(rule_path);
    }
  }
}

// One member of "profiles".
void ParseProfile(JsonReader& r, absl::string_view key, const Value& p, Model* model) {
  std::string id(key);
  if (model->profiles.count(id) > 0) {
    r.Error("profiles", absl::StrCat("duplicate key ", QuoteForMessage(id)));
    return;
  }
  std::string path = KeyPath("profiles", id);
  Profile& profile = model->profiles[id];
  profile.id = std::move(id);
  enum { kTags, kInbound, kOutbound, kCount };
  std::optional<Value> fields[kCount];
  if (!r.CheckObject(p, path, {"tags", "inbound_rules", "outbound_rules"}, fields)) {
    return;
  }
  if (fields[kTags]) {
    r.StringList(*fields[kTags], FieldPath(path, "tags"), &profile.tags);
    std::sort(profile.tags.begin(), profile.tags.end());
    profile.tags.erase(std::unique(profile.tags.begin(), profile.tags.end()), profile.tags.end());
  }
  if (fields[kInbound]) {
    ParseRuleList(r, *fields[kInbound], FieldPath(path, "inbound_rules"), &profile.inbound_rules);
  }
  if (fields[kOutbound]) {
    ParseRuleList(r, *fields[kOutbound], FieldPath(path, "outbound_rules"),
                  &profile.outbound_rules);
  }
}

// One element of "endpoints", at `index`.
void ParseEndpoint(JsonReader& r, size_t index, const Value& e, Model* model) {
  std::string path = IndexPath("endpoints", index);
  if (!r.CheckObject(e, path,
                     {"id", "kind", "interface", "mac", "ipv4_nets", "ipv6_nets", "profile_ids",
                      "untracked_profile_ids"})) {
    r.MarkBroken(path);
    model->endpoints.emplace_back();
    return;
  }
  Endpoint& ep = model->endpoints.emplace_back();
  for (const char* required : {"id", "kind", "interface"}) {
    if (!e.Find(required)) {
      r.Error(FieldPath(path, required), "missing");
    }
  }
  std::string p;
  for (Value::Member m : e.Members()) {
    absl::string_view key = m.key;
    p.assign(path);
    AppendPieces(&p, ".", key);
    const Value& f = m.value;
    if (key == "id") {
      r.String(f, p, &ep.id);
    } else if (key == "kind") {
      std::string kind;
      if (!r.String(f, p, &kind)) {
        continue;
      }
      if (kind == "workload") {
        ep.kind = EndpointKind::kWorkload;
      } else if (kind == "host") {
        ep.kind = EndpointKind::kHost;
      } else {
        r.Error(p, absl::StrCat(QuoteForMessage(kind), " is not \"workload\" or \"host\""));
      }
    } else if (key == "interface") {
      r.String(f, p, &ep.interface);
    } else if (key == "mac") {
      std::string text;
      if (!r.String(f, p, &text)) {
        continue;
      }
      absl::StatusOr<MacAddress> mac = ParseMac(text);
      if (mac.ok()) {
        ep.mac = *mac;
      } else {
        r.Error(p, absl::StrCat(QuoteForMessage(text), " is not a MAC address"));
      }
    } else if (key == "ipv4_nets") {
      r.NetList(f, p, 4, &ep.ipv4_nets, /*owned=*/true);
    } else if (key == "ipv6_nets") {
      r.NetList(f, p, 6, &ep.ipv6_nets, /*owned=*/true);
    } else if (key == "profile_ids") {
      r.StringList(f, p, &ep.profile_ids);
    } else if (key == "untracked_profile_ids") {
      r.StringList(f, p, &ep.untracked_profile_ids);
    }
  }
}

// One element of "ipsets", at `index`.
void ParseIpset(JsonReader& r, size_t index, const Value& s, Model* model) {
  std::string path = IndexPath("ipsets", index);
  enum { kName, kFamily, kType, kMembers, kCount };
  std::optional<Value> fields[kCount];
  if (!r.CheckObject(s, path, {"name", "family", "type", "members"}, fields)) {
    r.MarkBroken(path);
    model->ipsets.emplace_back();
    return;
  }
  IpSetModel& set = model->ipsets.emplace_back();
  for (auto [field, name] : {std::pair<int, const char*>{kName, "name"}, {kFamily, "family"}}) {
    if (!fields[field]) {
      r.Error(FieldPath(path, name), "missing");
    }
  }
  if (fields[kName]) {
    r.String(*fields[kName], FieldPath(path, "name"), &set.name);
  }
  if (fields[kFamily]) {
    int64_t n = 0;
    if (r.Int(*fields[kFamily], FieldPath(path, "family"), 4, 6, &n)) {
      if (n == 5) {
        r.Error(FieldPath(path, "family"), "must be 4 or 6");
      }
      set.family = static_cast<int>(n);
    }
  }
  if (fields[kType]) {
    r.String(*fields[kType], FieldPath(path, "type"), &set.type);
  }
  if (fields[kMembers]) {
    // Members are parsed once the family is known; a family error was reported above.
    r.NetList(*fields[kMembers], FieldPath(path, "members"), set.family == 6 ? 6 : 4, &set.members);
  }
}

// The message of invalid JSON, as RapidJSON (iterative, validating UTF-8) words it, with its
// line and column; nullopt if RapidJSON finds the text valid.
std::optional<std::string> SyntaxError(absl::string_view json) {
  rapidjson::Reader reader;
  rapidjson::BaseReaderHandler<> ignore;
  rapidjson::MemoryStream memory(json.data(), json.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(memory);
  rapidjson::ParseResult result =
      reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(in,
                                                                                           ignore);
  if (!result.IsError()) {
    return std::nullopt;
  }
  size_t offset = std::min(result.Offset(), json.size());
  absl::string_view before = json.substr(0, offset);
  size_t line = 1 + std::count(before.begin(), before.end(), '\n');
  size_t last_newline = before.rfind('\n');
  size_t column = offset - (last_newline == absl::string_view::npos ? 0 : last_newline + 1) + 1;
  return absl::StrCat("line ", line, ", column ", column,
                      ": invalid JSON: ", rapidjson::GetParseError_En(result.Code()));
}

// Reads the document front to back (json.h): the top level and each section member by
// member, each entry (the config, one profile, one endpoint, one ipset) whole into a reused
// Tape. Ends with in.failed() if the text is not JSON.
void ReadSections(json::Reader& in, JsonReader& r, Model* model) {
  json::Tape entry;
  if (in.PeekType() != json::Type::kObject) {
    if (in.ReadValue(&entry) && in.Finish()) {
      r.Error("model", absl::StrCat("expected an object, got ", TypeName(entry.root())));
    }
    return;
  }
  constexpr absl::string_view kSections[] = {"config", "profiles", "endpoints", "ipsets"};
  std::vector<std::string> keys;  // every key of the top level so far
  in.BeginObject();
  absl::string_view key;
  while (in.NextKey(&key)) {
    // CheckObject's checks, member by member: a repeated key, then an unknown one.
    r.set_section(JsonReader::kModel);
    const bool repeated = std::find(keys.begin(), keys.end(), key) != keys.end();
    keys.emplace_back(key);
    const auto* section = std::find(std::begin(kSections), std::end(kSections), key);
    if (repeated || section == std::end(kSections)) {
      if (repeated) {
        r.Error("model", absl::StrCat("duplicate key ", QuoteForMessage(key)));
      } else {
        r.Error(MemberPath("model", key), "unknown field");
      }
      in.ReadValue(&entry);  // read, so that its syntax is checked, and left out
      continue;
    }
    if (key == "config") {
      r.set_section(JsonReader::kConfig);
      if (in.ReadValue(&entry)) {
        ParseConfig(r, entry.root(), &model->config);
      }
    } else if (key == "profiles") {
      r.set_section(JsonReader::kProfiles);
      if (in.PeekType() != json::Type::kObject) {
        if (in.ReadValue(&entry)) {
          r.Error("profiles",
                  absl::StrCat("expected an object of profiles, got ", TypeName(entry.root())));
        }
        continue;
      }
      in.BeginObject();
      std::string id;
      while (in.NextKey(&key)) {
        id.assign(key.data(), key.size());
        if (in.ReadValue(&entry)) {
          ParseProfile(r, id, entry.root(), model);
        }
      }
    } else {
      const bool endpoints = key == "endpoints";
      r.set_section(endpoints ? JsonReader::kEndpoints : JsonReader::kIpsets);
      if (in.PeekType() != json::Type::kArray) {
        if (in.ReadValue(&entry)) {
          r.Error(std::string(endpoints ? "endpoints" : "ipsets"),
                  absl::StrCat("expected an array of ", endpoints ? "endpoints" : "ipsets",
                               ", got ", TypeName(entry.root())));
        }
        continue;
      }
      in.BeginArray();
      for (size_t i = 0; in.NextElement(); ++i) {
        if (!in.ReadValue(&entry)) {
          break;
        }
        if (endpoints) {
          ParseEndpoint(r, i, entry.root(), model);
        } else {
          ParseIpset(r, i, entry.root(), model);
        }
      }
    }
  }
  in.Finish();
}

// Returns false if `text` is not JSON.
bool ReadModel(absl::string_view text, JsonReader& r, Model* model) {
  json::Reader in(text);
  ReadSections(in, r, model);
  if (in.failed()) {
    return false;
  }
  // UTF-8, a \u escape or a number that json.h leaves to RapidJSON to judge.
  return !in.needs_check() || !SyntaxError(text);
}

}  // namespace

absl::StatusOr<Model> LoadModel(absl::string_view json) {
  JsonReader r;
  Model model;
  if (!ReadModel(json, r, &model)) {
    std::optional<std::string> syntax = SyntaxError(json);
    return absl::InvalidArgumentError(
        syntax ? *syntax : "invalid JSON");  // json.h accepts what RapidJSON accepts
  }
  std::vector<std::string> errors = r.TakeErrors();
  for (std::string& e : ModelErrors(model)) {
    if (!r.IsUnderBroken(e)) {
      errors.push_back(std::move(e));
    }
  }
  if (!errors.empty()) {
    return ErrorsToStatus(errors);
  }
  return model;
}

}  // namespace fiptgen
