// Golden files for tests (after XLS's golden_files.h). Test-only, for the project's tests.
//
//   golden::ExpectEqualToGoldenFile("testdata/example/iptables.restore", text);
//
// Paths are relative to the workspace root. A mismatch fails the test with a unified diff
// and the command that regenerates the goldens; run with --update_golden (through
// `bazel run`) to rewrite them in the source tree instead.
#ifndef FIPTGEN_TESTING_GOLDEN_H_
#define FIPTGEN_TESTING_GOLDEN_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fiptgen::golden {

// Call from main() before InitGoogleTest: takes --update_golden out of argv.
void ParseGoldenFlags(int* argc, char** argv, absl::string_view regenerate_command);

bool UpdatingGoldens();

// Where the goldens are read from: the runfiles tree under `bazel test`, the source tree
// under `bazel run ... --update_golden`.
std::string GoldenRoot();

void ExpectEqualToGoldenFile(absl::string_view relative_path, absl::string_view actual);

// The sorted names of the subdirectories (or files ending in `suffix`) of a golden folder.
std::vector<std::string> ListGoldenDir(absl::string_view relative_dir, bool directories,
                                       absl::string_view suffix = "");

std::string ReadGoldenFile(absl::string_view relative_path);

}  // namespace fiptgen::golden

#endif  // FIPTGEN_TESTING_GOLDEN_H_
