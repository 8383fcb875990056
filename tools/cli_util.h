// What `fiptgen` and `fiptgen-apply` share on the command line: flag parsing with the same
// conventions and exit codes, the usage text made from the flag table, subcommands, and
// reading the model file.
//
//   const cli::Program program = {"fiptgen", "[--out DIR] [MODEL.json | -]", "Prints ...",
//                                 {{"--out", "DIR", "write the files into DIR"}}, kExitCodes};
//   cli::Args args;
//   if (std::optional<int> exit_code = cli::ParseArgs(program, argc, argv, &args)) {
//     return *exit_code;  // --help, --version or a usage error, already printed
//   }
//   absl::StatusOr<Model> model = cli::LoadModelFile(cli::CommandLinePath(args.positional[0]));
//   if (!model.ok()) {
//     return cli::ReportError(model.status());
//   }
#ifndef FIPTGEN_TOOLS_CLI_UTIL_H_
#define FIPTGEN_TOOLS_CLI_UTIL_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fiptgen/model.h"

namespace fiptgen {
namespace cli {

// Exit codes of both tools.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a file cannot be read or written, a tool failed
inline constexpr int kExitUsage = 2;    // a bad command line or a bad model

struct Flag {
  absl::string_view name;        // "--family"
  absl::string_view value_name;  // "4|6"; empty for a switch, which takes no value
  absl::string_view help;        // one line or more, without a trailing newline
};

// A subcommand: `fiptgen trace ...`. It has a Program of its own, named "fiptgen trace".
struct Command {
  absl::string_view name;     // "trace"
  absl::string_view summary;  // one line for the tool's --help
};

struct Program {
  absl::string_view name;              // "fiptgen", or "fiptgen trace" for a subcommand
  absl::string_view synopsis;          // what follows the name on the usage line
  absl::string_view description;       // paragraphs after the usage line
  std::vector<Flag> flags;             // without -h/--help and --version, which every program has
  absl::string_view exit_codes;        // the "Exit status" lines
  std::vector<Command> commands = {};  // subcommands, listed in --help
};

// The subcommand argv[1] names, or nullptr. A tool with commands calls this first and hands
// the command argc - 1, argv + 1: a MODEL file named like a command is given as ./trace.
const Command* FindCommand(const Program& program, int argc, char** argv);

// The --help text: usage line, description, every flag, exit codes.
std::string Usage(const Program& program);

struct Args {
  std::map<std::string, std::string> flags;  // given flags by name ("--out"); "" for a switch
  std::vector<std::string> positional;       // "-" stays "-"

  bool Has(absl::string_view flag) const { return flags.count(std::string(flag)) > 0; }
};

// Parses argv: "--flag VALUE", "--flag=VALUE", a switch alone; "--" ends the flags; "-" is a
// positional argument. Returns std::nullopt when main should go on with *args, else the code
// main exits with: -h/--help prints Usage and --version "<tool> <version>" on stdout (0);
// an unknown flag, a missing value, a value given to a switch or a flag given twice prints
// the error and a hint on stderr (kExitUsage).
std::optional<int> ParseArgs(const Program& program, int argc, char** argv, Args* args);

// Prints "<name>: <message>" and the --help hint on stderr; returns kExitUsage.
int UsageError(const Program& program, absl::string_view message);

// A path the user typed: under `bazel run` the tool runs in its runfiles tree and the shell's
// directory is BUILD_WORKING_DIRECTORY, so a relative path is taken from there when it is
// set. "-" and absolute paths are kept.
std::string CommandLinePath(absl::string_view path);

// The text of the file at `path`, or of standard input for "-". A missing or unreadable file
// and a directory are NotFound / PermissionDenied / FailedPrecondition errors naming the path
// ("PATH: is a directory, not a <what>").
absl::StatusOr<std::string> ReadInputText(const std::string& path, absl::string_view what);

// ReadInputText for a model file.
absl::StatusOr<std::string> ReadModelText(const std::string& path);

// ReadModelText, then LoadModel: its errors are InvalidArgument, one a line, each starting
// with the path of the offending value.
absl::StatusOr<Model> LoadModelFile(const std::string& path);

// Prints the message of a failed ReadModelText / LoadModelFile on stderr and returns the exit
// code: kExitUsage for a bad model (InvalidArgument), kExitFailure for a file that cannot be
// read.
int ReportError(const absl::Status& status);

}  // namespace cli
}  // namespace fiptgen

#endif  // FIPTGEN_TOOLS_CLI_UTIL_H_
