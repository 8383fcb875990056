// Internal to the loader: the part of ValidateModel (validate.h) that LoadModel (load.h)
// runs on the model it has read.
#ifndef FIPTGEN_VALIDATE_LOADED_H_
#define FIPTGEN_VALIDATE_LOADED_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "fiptgen/model.h"

namespace fiptgen {

// The checks of the profiles' rules, made by LoadModel as it reads each rule, while the rule
// is still in cache: a large model's rules are ~10 MB, and walking them again after loading
// missed the cache on nearly every rule. ModelErrorsAfterLoading reports what was found here
// where ModelErrors would, in the same order.
struct LoadedRuleChecks {
  // Checks `rule`, the `index`th of `profile`'s inbound or outbound rules, read at `path`.
  // Its own fields are checked now; its set matches need every profile's tags and every
  // ipset, so they are kept and checked after loading. They are kept by the address of
  // the rule's list of sets, which stays where it is when the rule is moved into its
  // profile (a moved vector keeps its elements): the rule must not change after this.
  void Check(const Profile& profile, bool inbound, size_t index, const PolicyRule& rule,
             absl::string_view path);

  // What Check kept, read by ModelErrorsAfterLoading. In the order of reading: a rule's
  // errors, then its set matches.
  struct Entry {
    const SetMatch* sets;  // the rule's set matches, or nullptr for errors[count]
    size_t count;          // how many set matches, or which error
    size_t rule;           // the rule's index * 2, + 1 if outbound
  };
  std::vector<Entry> entries;
  std::vector<std::string> errors;  // rarely any
  // Where each profile's entries begin in entries, in the order the profiles were read.
  std::vector<std::pair<const Profile*, size_t>> profiles;
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
