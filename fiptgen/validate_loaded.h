// Internal to the loader: the part of ValidateModel (validate.h) that LoadModel (load.h)
// runs on the model it has read.
#ifndef FIPTGEN_VALIDATE_LOADED_H_
#define FIPTGEN_VALIDATE_LOADED_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "fiptgen/model.h"

namespace fiptgen {

// The hash of a tag or an ipset name, for the lookups of the rules' set matches (23,000
// on a large model): 8 bytes at a time, each mixed in by a multiply (absl's string hash is
// a call into libabsl, ~95 instructions for a short name).
struct SetNameHash {
  using is_transparent = void;  // a std::string key is found by a string_view
  size_t operator()(absl::string_view s) const {
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15u;
    uint64_t h = s.size() * kMul;
    size_t at = 0;
    for (; at + 8 <= s.size(); at += 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + at, 8);
      h = (h ^ word) * kMul;
      h ^= h >> 29;
    }
    // The last 1-7 bytes by fixed-size loads (most names are 8-15 bytes, and a loop over
    // their tail byte by byte cost ~30 instructions a lookup): the word that ends the
    // name, overlapping what was mixed in; or, in a name under 8 bytes, its first and
    // last 4 bytes, overlapping each other; under 4 bytes, byte by byte.
    uint64_t tail = 0;
    const size_t left = s.size() - at;
    if (left > 0 && s.size() >= 8) {
      std::memcpy(&tail, s.data() + s.size() - 8, 8);
    } else if (left >= 4) {
      uint32_t first, last;
      std::memcpy(&first, s.data(), 4);
      std::memcpy(&last, s.data() + s.size() - 4, 4);
      tail = uint64_t{first} << 32 | last;
    } else {
      for (; at < s.size(); ++at) {
        tail = tail << 8 | static_cast<unsigned char>(s[at]);
      }
    }
    h = (h ^ tail) * kMul;
    return static_cast<size_t>(h ^ h >> 32);
  }
};

// The checks of the profiles' rules, made by LoadModel as it reads each rule, while the rule
// is still in cache: a large model's rules are ~10 MB, and walking them again after loading
// missed the cache on nearly every rule. ModelErrorsAfterLoading reports what was found here
// where ModelErrors would, in the same order.
struct LoadedRuleChecks {
  // Checks `rules`, `profile`'s inbound or outbound rules, read at `list_path`, right
  // after the list is read (a list is a few kB; one call a list, not one a rule). Their
  // own fields are checked now. Their set matches need every profile's tags and every
  // ipset: each is kept as the index of its name among the names the rules use (a few
  // hundred, each once), whose every one is looked up once after loading.
  void Check(const Profile& profile, bool inbound, absl::Span<const PolicyRule> rules,
             absl::string_view list_path);

  // What Check kept, read by ModelErrorsAfterLoading. In the order of reading: a rule's
  // errors, then its set matches.
  struct Entry {
    size_t rule;  // the rule's index * 2, + 1 if outbound
    // An error: its index in `errors`. A set match: its name's index in `set_names`.
    uint32_t what;
    bool error;  // else a set match, of this kind, side, negation:
    SetMatch::Kind kind;
    Side side;
    bool negated;
  };
  std::vector<Entry> entries;
  std::vector<std::string> errors;  // rarely any
  // Where each profile's entries begin in entries, in the order the profiles were read.
  std::vector<std::pair<const Profile*, size_t>> profiles;
  // The names of the rules' set matches, each once, and their indexes by name: [0] tags,
  // [1] ipsets.
  std::vector<std::pair<SetMatch::Kind, std::string>> set_names;
  absl::flat_hash_map<std::string, uint32_t, SetNameHash, std::equal_to<>> set_name_index[2];
};

// ModelErrors(model) without the format checks LoadModel's reading of JSON has made
// already (value ranges, lists sorted and unique, the nets an endpoint may own, a
// profile's id): a value it reads out of range or a net it refuses is reported and left
// out of the model, and it sorts every list. What is left needs the whole model (names,
// references, cross-field rules, collisions); the rules' checks were made by `rules` as
// they were read. For a model LoadModel filled, the same errors in the same order as
// ModelErrors; for one built in code, not enough.
std::vector<std::string> ModelErrorsAfterLoading(const Model& model, const LoadedRuleChecks& rules);

}  // namespace fiptgen

#endif  // FIPTGEN_VALIDATE_LOADED_H_
