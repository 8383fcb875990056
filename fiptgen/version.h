// The version of fiptgen: one constant for the library, `fiptgen --version` and
// `fiptgen-apply --version`. An agent that links the library reads it the same way:
//
//   std::cout << "built with fiptgen " << fiptgen::kVersion << "\n";
//
// When it changes: in the commit that changes what a user of a release sees, in the
// semantic-versioning way. Patch (0.7.x) for fixes that leave the model format, the output
// for an unchanged model and the tools' flags as they were; minor (0.x.0) for anything added
// or changed in those (a new model field or flag, a different rule or header line in the
// output, a renamed chain); major once there is a 1.0 to stay compatible with.
#ifndef FIPTGEN_VERSION_H_
#define FIPTGEN_VERSION_H_

namespace fiptgen {

inline constexpr char kVersion[] = "0.7.0";

}  // namespace fiptgen

#endif  // FIPTGEN_VERSION_H_
