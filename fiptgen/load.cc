#include "fiptgen/load.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "fiptgen/append.h"
#include "fiptgen/error_path.h"
#include "fiptgen/json.h"
#include "fiptgen/protocols.h"
#include "fiptgen/validate.h"
#include "fiptgen/validate_loaded.h"
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
  // The model-wide checks of the profiles' rules, made as each rule is read
  // (validate_loaded.h).
  LoadedRuleChecks rule_checks;

  size_t error_count() const { return errors_.size(); }
  // Errors are reported in the order of the model's sections (Section), whatever the
  // document's order, and in document order within a section: the errors of the section
  // being read are tagged with it, and TakeErrors sorts them.
  enum Section { kModel, kConfig, kProfiles, kEndpoints, kIpsets };
  void set_section(Section section) { section_ = section; }
  std::vector<std::string> TakeErrors() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const Entry& a, const Entry& b) { return a.section < b.section; });
    std::vector<std::string> sorted;
    sorted.reserve(errors_.size());
    for (Entry& e : errors_) {
      sorted.push_back(std::move(e.text));
    }
    errors_.clear();
    return sorted;
  }

  // Within an object read member by member (a profile, a rule), errors are reported in
  // the order of its fields, whatever the document's order: first what is wrong with its
  // keys (repeated, unknown) in document order, then each field's errors, field by field.
  // Errors are tagged with the rank set here: `outer` for a profile's fields, `inner` for
  // a rule's (set_outer_rank starts the inner at 0), and OrderErrorsSince sorts an
  // object's errors by them when it ends.
  void set_outer_rank(int outer) {
    outer_rank_ = outer;
    inner_rank_ = 0;
  }
  void set_inner_rank(int inner) { inner_rank_ = inner; }
  void OrderErrorsSince(size_t first, bool by_outer) {
    if (errors_.size() - first < 2) {
      return;
    }
    std::stable_sort(errors_.begin() + first, errors_.end(),
                     [by_outer](const Entry& a, const Entry& b) {
                       return by_outer ? a.outer < b.outer : a.inner < b.inner;
                     });
  }
  // Whether an error since `first` is about a field (inner rank above 0), not a key.
  bool HasFieldErrorsSince(size_t first) const {
    return std::any_of(errors_.begin() + first, errors_.end(),
                       [](const Entry& e) { return e.inner > 0; });
  }
  // Forgets the errors since `first` of the given inner rank: what was said about a value
  // that a later field makes moot (both of an exclusive pair).
  void DropErrorsSince(size_t first, int inner) {
    errors_.erase(std::remove_if(errors_.begin() + first, errors_.end(),
                                 [inner](const Entry& e) { return e.inner == inner; }),
                  errors_.end());
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
    errors_.push_back({PathError(path, message), section_, outer_rank_, inner_rank_});
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
  // The check inline, the report out of line: rules read ~70,000 strings.
  bool String(const Value& v, absl::string_view parent, absl::string_view field, std::string* out) {
    if (!v.IsString()) {
      return NotAString(v, parent, field);
    }
    if (out != nullptr) {
      out->assign(v.GetString().data(), v.GetString().size());
    }
    return true;
  }
  __attribute__((noinline)) bool NotAString(const Value& v, absl::string_view parent,
                                            absl::string_view field) {
    Error(FieldPath(parent, field), absl::StrCat("expected a string, got ", TypeName(v)));
    return false;
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
    return StringList(v, path, "", out);
  }
  // The path as (parent, field), joined only for an error, as String does.
  bool StringList(const Value& v, absl::string_view parent, absl::string_view field,
                  std::vector<std::string>* out) {
    if (!v.IsArray()) {
      Error(FieldPath(parent, field),
            absl::StrCat("expected an array of strings, got ", TypeName(v)));
      return false;
    }
    bool ok = true;
    size_t i = 0;
    out->reserve(out->size() + v.Size());
    for (Value e : v.Elements()) {
      if (e.IsString()) {
        out->emplace_back(e.GetString());
      } else {
        String(e, IndexPath(FieldPath(parent, field), i), nullptr);  // reports it
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
    return NetList(v, path, "", family, out, owned);
  }
  // The path as (parent, field), joined only for an error.
  bool NetList(const Value& v, absl::string_view parent, absl::string_view field, int family,
               std::vector<IpNet>* out, bool owned) {
    if (!v.IsArray()) {
      Error(FieldPath(parent, field),
            absl::StrCat("expected an array of CIDRs, got ", TypeName(v)));
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
        Net(e, IndexPath(FieldPath(parent, field), i), family, &unused, host_bits);  // reports it
        ok = false;
      } else if (std::string problem = owned ? OwnedNetProblem(*net) : ""; !problem.empty()) {
        Error(IndexPath(FieldPath(parent, field), i), problem);
        ok = false;
      } else {
        out->push_back(*net);
      }
      ++i;
    }
    SortUnique(out);
    return ok;
  }

 private:
  struct Entry {
    std::string text;
    Section section;
    int outer, inner;  // set_outer_rank, set_inner_rank
  };
  std::vector<Entry> errors_;
  Section section_ = kModel;
  int outer_rank_ = 0, inner_rank_ = 0;
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

// The next value where a scalar is expected, read into `node`; an array or an object is
// skipped and only its type kept (for "expected a string, got an array").
Value ReadField(json::Reader& in, json::Node* node) {
  in.ReadScalar(node);
  return Value(node);
}

// ReadField for a rule's scalars, with ReadScalar inlined: the one place that reads them
// (~110,000 on a large model).
inline Value ReadRuleScalar(json::Reader& in, json::Node* node) {
  in.ReadScalarInline(node);
  return Value(node);
}

// Whether `a` and `b`, both `n` bytes, are equal: for keys of a few bytes, where a call
// to memcmp costs more than the compare. From 4 bytes on, as two words that may overlap.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  auto same = [a, b](size_t at, auto word) {
    decltype(word) x, y;
    std::memcpy(&x, a + at, sizeof(x));
    std::memcpy(&y, b + at, sizeof(y));
    return x == y;
  };
  if (n >= 8) {
    return same(0, uint64_t{}) && same(n - 8, uint64_t{}) &&
           (n <= 16 || std::memcmp(a + 8, b + 8, n - 16) == 0);
  }
  if (n >= 4) {
    return same(0, uint32_t{}) && same(n - 4, uint32_t{});
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

// Whether `s` is `word`: inline, for the few short words every rule is compared with.
inline bool IsWord(absl::string_view s, absl::string_view word) {
  return s.size() == word.size() && SameBytes(s.data(), word.data(), word.size());
}

// The index of `key` in `names`, or -1: for objects of a few fields.
int FindField(absl::string_view key, absl::Span<const absl::string_view> names) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].size() == key.size() && SameBytes(names[i].data(), key.data(), key.size())) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// An allocator whose construct() with no arguments default-initializes (`new (p) T`)
// where std::allocator value-initializes (`new (p) T()`). Every member of a PolicyRule has
// its own initializer, so value-initialization zeroed all of its bytes (288 then) and then set
// them again, for each of the 40,000 rules of a large model.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// What the loader keeps from object to object: the keys of the object being read that are
// not fields (a repeated one is a duplicate key, not a second unknown field), and room in
// which lists of unknown length grow before they are copied out at their size.
struct Scratch {
  std::vector<absl::string_view> unknown_keys;
  json::Tape tags;
  std::vector<uint32_t> port_keys;  // a port list's sort keys (ReadPorts)
  std::vector<PolicyRule, DefaultInitAllocator<PolicyRule>> rules;  // ReadRuleList's
  std::string rule_path;  // ReadRuleList's room for "<list>[<i>]"
};

// Reads the members of the object that comes next (the caller checked that one does),
// checking its keys as CheckObject does: a key seen before in the object is a duplicate
// key, one `find` does not find in `names` an unknown field; both are reported with rank 0
// and their values skipped. `read(field, name)` reads every other member's value, with
// rank field + 1: so the object's errors come in the order of `names` once sorted
// (OrderErrorsSince). `inner` says which rank: inner for a rule's fields, outer for a
// profile's. `known`, if given, is `names` for json::Reader's matching of keys in place (a
// key it does not match is looked up with `find`). Returns which fields were read, a bit
// per name.
template <typename FindMember, typename ReadMember, size_t N = 1>
uint32_t ReadMembers(json::Reader& in, JsonReader& r, absl::string_view path,
                     absl::Span<const absl::string_view> names, FindMember find, bool inner,
                     Scratch& scratch, ReadMember read, const json::KnownKeys<N>* known = nullptr) {
  auto set_rank = [&r, inner](int rank) {
    inner ? r.set_inner_rank(rank) : r.set_outer_rank(rank);
  };
  uint32_t seen = 0;  // a bit per name
  const size_t unknown_before = scratch.unknown_keys.size();
  in.BeginObject();
  absl::string_view key;
  int field = -1;
  auto next_key = [&] {
    if (known != nullptr) {
      return in.NextKey(&key, *known, &field);
    }
    field = -1;
    return in.NextKey(&key);
  };
  while (next_key()) {
    if (field < 0) {
      field = find(key, names);
    }
    const bool repeated =
        field >= 0 ? (seen >> field & 1) != 0
                   : std::find(scratch.unknown_keys.begin() + unknown_before,
                               scratch.unknown_keys.end(), key) != scratch.unknown_keys.end();
    if (repeated || field < 0) {
      set_rank(0);
      if (repeated) {
        r.Error(path, absl::StrCat("duplicate key ", QuoteForMessage(key)));
      } else {
        r.Error(MemberPath(path, key), "unknown field");
        scratch.unknown_keys.push_back(key);
      }
      in.Skip();
      continue;
    }
    seen |= uint32_t{1} << field;
    set_rank(field + 1);
    read(field, names[field]);
  }
  scratch.unknown_keys.resize(unknown_before);
  return seen;
}

// Sorts a port list's keys (lo << 16 | hi: PortRange's order as one number) by insertion:
// lists hold 7 ports on average, where std::sort's setup costs more than the sort. Up to 24
// keys, insertion costs fewer instructions than std::sort (measured: 16, 24 and 32); longer
// lists go to std::sort.
void SortPortKeys(uint32_t* keys, size_t n) {
  if (n > 24) {
    std::sort(keys, keys + n);
    return;
  }
  for (size_t i = 1; i < n; ++i) {
    const uint32_t key = keys[i];
    uint32_t* at = keys + i;
    if (key < keys[0]) {  // a new least: all move up, with no test of the start
      for (; at != keys; --at) {
        *at = at[-1];
      }
    } else {  // keys[0] stops the walk down
      for (; at[-1] > key; --at) {
        *at = at[-1];
      }
    }
    *at = key;
  }
}

// The PortRange of each of a range of sort keys (lo << 16 | hi), for InlinedVector::assign.
struct PortsOfKeys {
  using iterator_category = std::forward_iterator_tag;
  using value_type = PortRange;
  using difference_type = std::ptrdiff_t;
  using pointer = const PortRange*;
  using reference = PortRange;
  const uint32_t* at;
  PortRange operator*() const {
    return PortRange{static_cast<uint16_t>(*at >> 16), static_cast<uint16_t>(*at)};
  }
  PortsOfKeys& operator++() {
    ++at;
    return *this;
  }
  PortsOfKeys operator++(int) { return PortsOfKeys{at++}; }
  friend bool operator==(PortsOfKeys a, PortsOfKeys b) { return a.at == b.at; }
  friend bool operator!=(PortsOfKeys a, PortsOfKeys b) { return a.at != b.at; }
  friend difference_type operator-(PortsOfKeys a, PortsOfKeys b) { return a.at - b.at; }
};

// ReadPorts' handling of one list's elements: each kept as its sort key (lo << 16 | hi),
// the checks inline and the reports, and the elements json::Reader::ReadArray does not read
// inline, out of line (a large model has 188,000 ports).
class PortKeys {
 public:
  PortKeys(JsonReader& r, absl::string_view parent, absl::string_view field,
           std::vector<uint32_t>& keys)
      : r_(r), parent_(parent), field_(field), keys_(keys) {
    keys_.clear();
  }

  void Port(int64_t n) {
    if (n < 0 || n > 65535) {
      OutOfRange(n);
      return;
    }
    keys_.push_back(static_cast<uint32_t>(n) << 16 | static_cast<uint32_t>(n));
  }
  void Range(uint32_t lo, uint32_t hi, absl::string_view text) {
    if (lo > 65535 || hi > 65535 || lo >= hi) {
      BadRange(lo, hi, text);
      return;
    }
    keys_.push_back(lo << 16 | hi);
  }
  // Any element but an integer and an inline "lo:hi".
  __attribute__((noinline)) void Other(const json::Node& element) {
    if (element.type == json::Type::kInt) {
      Port(element.int_value);
      return;
    }
    const Value p(&element);
    if (!p.IsString()) {
      Error(absl::StrCat("expected a port or \"lo:hi\", got ", TypeName(p)));
      return;
    }
    // "lo:hi": 1-5 digits, ':', 1-5 digits (near the end of the text, or with an error).
    const absl::string_view text = StringOf(p);
    size_t at = 0;
    auto number = [&text, &at](uint32_t* n) {
      const size_t start = at;
      *n = 0;
      while (at < text.size() && at - start < 6 && text[at] >= '0' && text[at] <= '9') {
        *n = *n * 10 + static_cast<uint32_t>(text[at++] - '0');
      }
      return at > start && at - start <= 5;
    };
    uint32_t lo = 0, hi = 0;
    if (!number(&lo) || at == text.size() || text[at++] != ':' || !number(&hi) ||
        at != text.size()) {
      Error(absl::StrCat(QuoteForMessage(text), " is not a port range \"lo:hi\""));
      return;
    }
    Range(lo, hi, text);
  }

  // Whether no element was read: each one either adds a key or reports an error (which
  // makes the path). So no flag is set per element.
  bool NoElement() const { return keys_.empty() && path_.empty(); }

  void Error(absl::string_view message) {
    if (path_.empty()) {
      path_ = FieldPath(parent_, field_);
    }
    r_.Error(path_, message);
  }

 private:
  __attribute__((noinline)) void OutOfRange(int64_t n) {
    Error(absl::StrCat("port ", n, " out of range"));
  }
  __attribute__((noinline)) void BadRange(uint32_t lo, uint32_t hi, absl::string_view text) {
    if (lo > 65535 || hi > 65535) {
      OutOfRange(std::max(lo, hi));
    } else {
      Error(absl::StrCat("range ", QuoteForMessage(text),
                         " must have lo < hi (the kernel refuses it)"));
    }
  }

  JsonReader& r_;
  absl::string_view parent_, field_;
  std::vector<uint32_t>& keys_;
  std::string path_;  // made at the first error only
};

// A port list: integers and "lo:hi" strings. Errors name the field and the port, as in
// `profiles["web"].inbound_rules[2].dst_ports: port 70000 out of range`.
void ReadPorts(json::Reader& in, JsonReader& r, absl::string_view parent, absl::string_view field,
               std::vector<uint32_t>& keys, RulePorts* out, RulePorts::List which) {
  PortKeys list(r, parent, field, keys);
  constexpr absl::string_view kNotAList =
      "expected a non-empty array of ports and \"lo:hi\" ranges";
  json::Node node;
  if (!in.NextIs('[')) {
    ReadField(in, &node);
    list.Error(kNotAList);
    return;
  }
  // The whole array in one loop (json::Reader::ReadArray), which reads a port of a few
  // digits and a "lo:hi" inline.
  in.ReadArray(
      &node,
      [&](const json::Node& element) {
        if (element.type == json::Type::kInt) {
          list.Port(element.int_value);
        } else {
          list.Other(element);
        }
      },
      [&](uint32_t lo, uint32_t hi, absl::string_view text) { list.Range(lo, hi, text); });
  if (list.NoElement()) {
    list.Error(kNotAList);
    return;
  }
  SortPortKeys(keys.data(), keys.size());
  // Written in place, each range once: up to 4 in all in the rule itself, more in one
  // allocation for the rule's lists.
  const size_t count = static_cast<size_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
  std::copy(PortsOfKeys{keys.data()}, PortsOfKeys{keys.data() + count},
            out->Resize(which, static_cast<uint32_t>(count)));
}

// A rule's fields, in the order their errors are reported (each field's rank is its
// index + 1).
enum RuleField {
  kAction,
  kLogPrefix,
  kProtocol,
  kNotProtocol,
  kSrcNet,
  kNotSrcNet,
  kDstNet,
  kNotDstNet,
  kSrcTag,
  kNotSrcTag,
  kDstTag,
  kNotDstTag,
  kSrcIpset,
  kNotSrcIpset,
  kDstIpset,
  kNotDstIpset,
  kSrcPorts,
  kDstPorts,
  kNotSrcPorts,
  kNotDstPorts,
  kIcmpType,
  kNotIcmpType,
  kIcmpCode,
  kIpVersion,
  kRuleFieldCount
};
constexpr absl::string_view kRuleFields[kRuleFieldCount] = {
    "action",     "log_prefix", "protocol",  "!protocol",  "src_net",   "!src_net",
    "dst_net",    "!dst_net",   "src_tag",   "!src_tag",   "dst_tag",   "!dst_tag",
    "src_ipset",  "!src_ipset", "dst_ipset", "!dst_ipset", "src_ports", "dst_ports",
    "!src_ports", "!dst_ports", "icmp_type", "!icmp_type", "icmp_code", "ip_version"};

// The rule fields for json::Reader's matching of keys in place: a rule has a few keys and
// a large model 40,000 rules. (The multiplier was found by trying; the assert checks it.)
constexpr json::KnownKeys<kRuleFieldCount> kRuleKeys(kRuleFields, 0xc6ef372fe94f82a1u);
static_assert(kRuleKeys.ok(), "each rule field needs a slot of its own");

// Reads one rule (the element of a rule list at `path`) into `rule`; returns false when it
// is not an object or a field has an error (the caller marks the rule broken).
bool ReadRule(json::Reader& in, JsonReader& r, absl::string_view path, Scratch& scratch,
              PolicyRule* rule) {
  const size_t first_error = r.error_count();
  r.set_inner_rank(0);
  json::Node node;
  if (!in.NextIs('{')) {
    const Value v = ReadField(in, &node);
    if (!in.failed()) {
      r.Error(path, absl::StrCat("expected an object, got ", TypeName(v)));
    }
    return false;
  }
  bool log_prefix_read = false;
  const uint32_t seen = ReadMembers(
      in, r, path, kRuleFields, FindField, /*inner=*/true, scratch,
      [&](int field, absl::string_view name) {
        if (field >= kSrcPorts && field <= kNotDstPorts) {
          // RulePorts' lists are in the fields' order.
          ReadPorts(in, r, path, name, scratch.port_keys, &rule->ports,
                    static_cast<RulePorts::List>(field - kSrcPorts));
          return;
        }
        // Every other field is a scalar: read here, at one place (ReadScalar inline).
        const Value f = ReadRuleScalar(in, &node);
        switch (field) {
          case kAction: {
            if (r.String(f, path, name, nullptr)) {
              const absl::string_view action = f.GetString();
              if (IsWord(action, "allow")) {
                rule->action = Action::kAllow;
              } else if (IsWord(action, "deny")) {
                rule->action = Action::kDeny;
              } else if (IsWord(action, "log")) {
                rule->action = Action::kLog;
              } else {
                r.Error(FieldPath(path, name),
                        absl::StrCat(QuoteForMessage(action),
                                     " is not one of \"allow\", \"deny\", \"log\""));
              }
            }
            break;
          }
          case kLogPrefix:
            log_prefix_read = r.String(f, path, name, nullptr);
            if (log_prefix_read) {
              rule->log_prefix = f.GetString();
            }
            break;
          case kProtocol:
          case kNotProtocol: {
            const bool negated = field == kNotProtocol;
            if (f.IsString()) {
              const std::optional<int> proto = ParseProtocolName(StringOf(f));
              if (!proto) {
                r.Error(FieldPath(path, name),
                        absl::StrCat(QuoteForMessage(StringOf(f)),
                                     " is not tcp, udp, icmp, icmpv6, sctp, udplite or 1-255"));
              } else {
                rule->protocol = Match<uint8_t>{static_cast<uint8_t>(*proto), negated};
              }
            } else if (f.IsNumber()) {
              int64_t n = 0;
              if (r.Int(f, path, name, 1, 255, &n)) {
                rule->protocol = Match<uint8_t>{static_cast<uint8_t>(n), negated};
              }
            } else {
              r.Error(FieldPath(path, name),
                      absl::StrCat("expected a protocol name or number, got ", TypeName(f)));
            }
            break;
          }
          case kSrcNet:
          case kNotSrcNet:
          case kDstNet:
          case kNotDstNet: {
            IpNet net;
            if (r.Net(f, path, name, 0, &net)) {
              (field <= kNotSrcNet ? rule->src_net : rule->dst_net) =
                  Match<IpNet>{net, field == kNotSrcNet || field == kNotDstNet};
            }
            break;
          }
          case kSrcTag:
          case kNotSrcTag:
          case kDstTag:
          case kNotDstTag:
          case kSrcIpset:
          case kNotSrcIpset:
          case kDstIpset:
          case kNotDstIpset: {
            if (r.String(f, path, name, nullptr)) {
              // The fields' order is the list's (model.h): src_tag, !src_tag, dst_tag, ...
              const int order = field - kSrcTag;
              auto at = rule->sets.begin();
              while (at != rule->sets.end() &&
                     (at->kind * 4 + static_cast<int>(at->side) * 2 + at->negated) < order) {
                ++at;
              }
              // Made in its place (no temporary to move), its name written there; mostly
              // at the end (emplace_back: no elements to shift).
              SetMatch& match =
                  at == rule->sets.end() ? rule->sets.emplace_back() : *rule->sets.emplace(at);
              match.kind = order >= 4 ? SetMatch::kIpset : SetMatch::kTag;
              match.side = order % 4 >= 2 ? Side::kDestination : Side::kSource;
              match.negated = order % 2 == 1;
              // The name is new, so empty: append is an assign, and libstdc++'s append
              // costs less than its assign (_M_replace), 22,800 times on a large model.
              match.name.append(f.GetString().data(), f.GetString().size());
            }
            break;
          }
          case kIcmpType:
          case kNotIcmpType: {
            int64_t n = 0;
            if (r.Int(f, path, name, 0, 255, &n)) {
              rule->icmp_type = Match<uint8_t>{static_cast<uint8_t>(n), field == kNotIcmpType};
            }
            break;
          }
          case kIcmpCode: {
            int64_t n = 0;
            if (r.Int(f, path, name, 0, 255, &n)) {
              rule->icmp_code = static_cast<uint8_t>(n);
            }
            break;
          }
          case kIpVersion: {
            int64_t n = 0;
            if (r.Int(f, path, name, 4, 6, &n)) {
              if (n == 5) {
                r.Error(FieldPath(path, name), "must be 4 or 6");
              } else {
                rule->ip_version = static_cast<uint8_t>(n);
              }
            }
            break;
          }
        }
      },
      &kRuleKeys);
  // One of "x" / "!x", exclusive: iptables takes a single -p / -s / -d / --icmp-type.
  // With both, neither is read: what was said about their values is taken back.
  // (Most rules have no such pair: one test of the fields seen says so.)
  constexpr uint32_t kPairs = 1u << kProtocol | 1u << kSrcNet | 1u << kDstNet | 1u << kIcmpType;
  if ((seen & seen >> 1 & kPairs) != 0) {
    for (int field : {kProtocol, kSrcNet, kDstNet, kIcmpType}) {
      const int negated = field + 1;
      if ((seen >> field & 1) == 0 || (seen >> negated & 1) == 0) {
        continue;
      }
      r.DropErrorsSince(first_error, field + 1);
      r.DropErrorsSince(first_error, negated + 1);
      switch (field) {
        case kProtocol:
          rule->protocol.reset();
          break;
        case kSrcNet:
          rule->src_net.reset();
          break;
        case kDstNet:
          rule->dst_net.reset();
          break;
        default:
          rule->icmp_type.reset();
          break;
      }
      r.set_inner_rank(field + 1);
      r.Error(FieldPath(path, kRuleFields[field]),
              absl::StrCat("cannot be combined with ", QuoteForMessage(kRuleFields[negated])));
    }
  }
  if (log_prefix_read && rule->action != Action::kLog) {
    r.set_inner_rank(kLogPrefix + 1);
    r.Error(FieldPath(path, "log_prefix"), "only allowed with action \"log\"");
  }
  if (r.error_count() == first_error) {
    return true;
  }
  r.OrderErrorsSince(first_error, /*by_outer=*/false);
  // Only a field's error breaks the rule: after a repeated or unknown key alone, the
  // model-wide checks still look at it.
  return !r.HasFieldErrorsSince(first_error);
}

// A rule list ("inbound_rules", "outbound_rules") of `profile` at `path`.
void ReadRuleList(json::Reader& in, JsonReader& r, absl::string_view parent,
                  absl::string_view field, Scratch& scratch, const Profile& profile, bool inbound,
                  std::vector<PolicyRule>* out) {
  json::Node node;
  if (!in.NextIs('[')) {
    const Value v = ReadField(in, &node);
    if (!in.failed()) {
      r.Error(FieldPath(parent, field),
              absl::StrCat("expected an array of rules, got ", TypeName(v)));
    }
    return;
  }
  // The rules are read into reused room and moved out at their number: a PolicyRule is
  // 168 bytes, and a growing vector would keep up to half of its room spare.
  auto& rules = scratch.rules;
  rules.clear();
  // One path per rule, "<parent>.<field>[<i>]": only the index and ']' are written, in
  // place, into room reused from list to list (no string operation per rule).
  std::string& room = scratch.rule_path;
  room.assign(parent.data(), parent.size());
  AppendPieces(&room, ".", field, "[");
  const size_t index_at = room.size();
  room.resize(index_at + 24);  // any index and ']'
  in.BeginArray();
  for (size_t i = 0; in.NextElement(); ++i) {
    char* end = std::to_chars(&room[index_at], &room[index_at] + 20, i).ptr;
    *end++ = ']';
    const absl::string_view rule_path(room.data(), static_cast<size_t>(end - room.data()));
    PolicyRule& rule = rules.emplace_back();
    if (!ReadRule(in, r, rule_path, scratch, &rule)) {
      r.MarkBroken(std::string(rule_path));
    }
  }
  // While the list is in cache: "<parent>.<field>", what room holds before its '['.
  r.rule_checks.Check(profile, inbound, rules, absl::string_view(room.data(), index_at - 1));
  out->reserve(out->size() + rules.size());
  out->insert(out->end(), std::make_move_iterator(rules.begin()),
              std::make_move_iterator(rules.end()));  // one pass, no test of room per rule
  rules.clear();
}

// One member of "profiles", the one named `id`.
void ReadProfile(json::Reader& in, JsonReader& r, std::string id, Scratch& scratch, Model* model) {
  // Profiles mostly come in the order of their ids: a hint at the end finds their place
  // with one compare. A key already there leaves the size as it was.
  const size_t before = model->profiles.size();
  const auto at = model->profiles.try_emplace(model->profiles.end(), id);
  if (model->profiles.size() == before) {
    if (in.Skip()) {
      r.Error("profiles", absl::StrCat("duplicate key ", QuoteForMessage(id)));
    }
    return;
  }
  const std::string path = KeyPath("profiles", id);
  Profile& profile = at->second;
  profile.id = std::move(id);
  json::Node node;
  const size_t first_error = r.error_count();
  r.set_outer_rank(0);
  if (!in.NextIs('{')) {
    const Value v = ReadField(in, &node);
    if (!in.failed()) {
      r.Error(path, absl::StrCat("expected an object, got ", TypeName(v)));
    }
    return;
  }
  enum { kTags, kInbound, kOutbound };
  constexpr absl::string_view kFields[] = {"tags", "inbound_rules", "outbound_rules"};
  ReadMembers(in, r, path, kFields, FindField, /*inner=*/false, scratch,
              [&](int field, absl::string_view name) {
                if (field != kTags) {
                  ReadRuleList(
                      in, r, path, name, scratch, profile, field == kInbound,
                      field == kInbound ? &profile.inbound_rules : &profile.outbound_rules);
                  return;
                }
                json::Tape& tags = scratch.tags;
                if (in.ReadValue(&tags)) {
                  r.StringList(tags.root(), path, name, &profile.tags);
                  std::sort(profile.tags.begin(), profile.tags.end());
                  profile.tags.erase(std::unique(profile.tags.begin(), profile.tags.end()),
                                     profile.tags.end());
                }
              });
  r.OrderErrorsSince(first_error, /*by_outer=*/true);
}

// One element of "endpoints", at `index`.
void ParseEndpoint(JsonReader& r, size_t index, const Value& e, Model* model) {
  std::string path = IndexPath("endpoints", index);
  enum { kId, kKind, kInterface, kMac, kIpv4Nets, kIpv6Nets, kProfileIds, kUntracked, kCount };
  static constexpr absl::string_view kFields[kCount] = {
      "id",        "kind",      "interface",   "mac",
      "ipv4_nets", "ipv6_nets", "profile_ids", "untracked_profile_ids"};
  std::optional<Value> fields[kCount];  // the first of each (what Find finds)
  if (!r.CheckObject(e, path,
                     {kFields[0], kFields[1], kFields[2], kFields[3], kFields[4], kFields[5],
                      kFields[6], kFields[7]},
                     fields)) {
    r.MarkBroken(path);
    model->endpoints.emplace_back();
    return;
  }
  Endpoint& ep = model->endpoints.emplace_back();
  for (int required : {kId, kKind, kInterface}) {
    if (!fields[required]) {
      r.Error(FieldPath(path, kFields[required]), "missing");
    }
  }
  // Every member in order, a repeated one too (its duplicate key was reported); unknown
  // ones were reported and are left out. Paths are (path, key), joined only for an error.
  for (Value::Member m : e.Members()) {
    const absl::string_view key = m.key;
    const Value& f = m.value;
    const int field = FindField(key, kFields);
    if (field < 0) {
      continue;
    }
    switch (field) {
      case kId:
        r.String(f, path, key, &ep.id);
        break;
      case kKind: {
        if (!r.String(f, path, key, nullptr)) {
          break;
        }
        const absl::string_view kind = f.GetString();
        if (kind == "workload") {
          ep.kind = EndpointKind::kWorkload;
        } else if (kind == "host") {
          ep.kind = EndpointKind::kHost;
        } else {
          r.Error(FieldPath(path, key),
                  absl::StrCat(QuoteForMessage(kind), " is not \"workload\" or \"host\""));
        }
        break;
      }
      case kInterface:
        r.String(f, path, key, &ep.interface);
        break;
      case kMac: {
        if (!r.String(f, path, key, nullptr)) {
          break;
        }
        const absl::string_view text = f.GetString();
        absl::StatusOr<MacAddress> mac = ParseMac(text);
        if (mac.ok()) {
          ep.mac = *mac;
        } else {
          r.Error(FieldPath(path, key),
                  absl::StrCat(QuoteForMessage(text), " is not a MAC address"));
        }
        break;
      }
      case kIpv4Nets:
        r.NetList(f, path, key, 4, &ep.ipv4_nets, /*owned=*/true);
        break;
      case kIpv6Nets:
        r.NetList(f, path, key, 6, &ep.ipv6_nets, /*owned=*/true);
        break;
      case kProfileIds:
        r.StringList(f, path, key, &ep.profile_ids);
        break;
      default:
        r.StringList(f, path, key, &ep.untracked_profile_ids);
        break;
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
// member; profiles field by field into the model, the other entries (the config, one
// endpoint, one ipset) each whole into a reused Tape first. Ends with in.failed() if the
// text is not JSON.
void ReadSections(json::Reader& in, JsonReader& r, Model* model) {
  json::Tape entry;
  Scratch scratch;
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
      while (in.NextKey(&key)) {
        ReadProfile(in, r, std::string(key), scratch, model);
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
  for (std::string& e : ModelErrorsAfterLoading(model, r.rule_checks)) {
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
