// fiptgen: prints the restore text for a model (README "The CLI"; the model in docs/model.md).
//
//   fiptgen [--family 4|6] [--ipsets | --graph] [--out DIR] [MODEL.json | -]
//
// Exit 0 on success; 1 when a file cannot be read or written; 2 on a bad command line, and on
// bad input with every error on stderr, one a line, and nothing on stdout.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fiptgen/generate.h"
#include "fiptgen/graph.h"
#include "fiptgen/render.h"
#include "tools/cli_util.h"

namespace fiptgen {
namespace {

// The bundled example is the golden case testdata/example (the model of docs/model.md).
constexpr char kBundledExample[] = "testdata/example/model.json";

const cli::Program& Program() {
  static const cli::Program* program = new cli::Program{
      "fiptgen",
      "[--family 4|6] [--ipsets | --graph] [--out DIR] [MODEL.json | -]",
      "Prints the iptables-restore text (raw then filter table) that enforces MODEL.json for\n"
      "one address family, or its ipset restore text. With no MODEL it runs on the bundled\n"
      "example; \"-\" reads the model from standard input. Under `bazel run`, relative MODEL\n"
      "and DIR paths are taken from the directory bazel was run in (BUILD_WORKING_DIRECTORY).\n"
      "\n"
      "The scripts are the model's full state, for a host with none of its chains and sets:\n"
      "load them with `ipset restore` and `iptables-restore --noflush` (a plain\n"
      "iptables-restore wipes every other rule of the raw and filter tables, and a second\n"
      "load doubles the hooks). fiptgen-apply brings a live host to the model's state.",
      {
          {"--family", "4|6", "the address family whose script to print (default 4)"},
          {"--ipsets", "", "print the ipset restore script instead"},
          {"--graph", "", "print the family's chain graph as Graphviz DOT instead"},
          {"--out", "DIR",
           "write DIR/ipsets.restore, DIR/iptables.restore and DIR/ip6tables.restore\n"
           "instead of printing (a family the model does not enable gets an empty file)"},
      },
      "  0  success\n"
      "  1  a file cannot be read (missing, unreadable, a directory) or written\n"
      "  2  a bad command line; or a bad model, with every error on stderr, one a line,\n"
      "     each starting with the path of the offending value, and nothing on stdout"};
  return *program;
}

// A file written with write(2) straight from the renderer's buffer, which hands the text
// over a piece at a time: no copy of a whole script is made.
class OutputFile {
 public:
  explicit OutputFile(std::string path) : path_(std::move(path)) {
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    error_ = fd_ < 0 ? errno : 0;
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }

  bool ok() const { return error_ == 0; }
  void Write(absl::string_view text) {
    while (!text.empty() && error_ == 0) {
      ssize_t n = write(fd_, text.data(), text.size());
      if (n > 0) {
        text.remove_prefix(static_cast<size_t>(n));
      } else if (errno != EINTR) {
        error_ = errno;
      }
    }
  }
  // True when every write and the close succeeded; else prints why and returns false.
  bool Close() {
    if (fd_ >= 0 && close(fd_) != 0 && error_ == 0) {
      error_ = errno;
    }
    fd_ = -1;
    if (error_ != 0) {
      std::cerr << path_ << ": cannot write: " << std::strerror(error_) << "\n";
    }
    return error_ == 0;
  }

 private:
  std::string path_;
  int fd_ = -1;
  int error_ = 0;
};

// `fiptgen --out DIR`: each family is generated, written and freed before the next, so the
// process holds the model and one family's chains, never both families and three scripts.
// The sets of the two families are disjoint (a rule names only sets of its family), so the
// ipset script is the two families' sets merged by name, as Generate(model) orders them.
int WriteFiles(const Model& model, const std::string& dir) {
  OutputFile ipsets(absl::StrCat(dir, "/ipsets.restore"));
  OutputFile iptables(absl::StrCat(dir, "/iptables.restore"));
  OutputFile ip6tables(absl::StrCat(dir, "/ip6tables.restore"));
  for (OutputFile* file : {&ipsets, &iptables, &ip6tables}) {
    if (!file->ok()) {
      file->Close();  // says why
      return cli::kExitFailure;
    }
  }
  std::vector<IpSetSpec> sets;
  for (auto [family, file] : {std::pair<int, OutputFile*>{4, &iptables}, {6, &ip6tables}}) {
    const std::vector<int>& enabled = model.config.families;
    if (std::find(enabled.begin(), enabled.end(), family) != enabled.end()) {
      Desired desired = Generate(model, {family});
      RenderRestoreFile(desired.rulesets[0], [file](absl::string_view text) { file->Write(text); });
      const size_t merged = sets.size();
      std::move(desired.ipsets.begin(), desired.ipsets.end(), std::back_inserter(sets));
      std::inplace_merge(sets.begin(), sets.begin() + merged, sets.end(),
                         [](const IpSetSpec& a, const IpSetSpec& b) { return a.name < b.name; });
    }
  }
  RenderIpsetFile(sets, [&ipsets](absl::string_view text) { ipsets.Write(text); });
  for (OutputFile* file : {&ipsets, &iptables, &ip6tables}) {
    if (!file->Close()) {
      return cli::kExitFailure;
    }
  }
  return cli::kExitOk;
}

// The bundled example, found next to the binary in Bazel's runfiles or from the source root.
std::string ExamplePath(const char* argv0) {
  std::vector<std::string> candidates;
  if (const char* dir = std::getenv("RUNFILES_DIR")) {
    candidates.push_back(absl::StrCat(dir, "/fiptgen/", kBundledExample));
  }
  candidates.push_back(absl::StrCat(argv0, ".runfiles/fiptgen/", kBundledExample));
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    candidates.push_back(absl::StrCat(ws, "/", kBundledExample));
  }
  candidates.push_back(kBundledExample);
  for (const std::string& c : candidates) {
    if (std::ifstream(c).good()) {
      return c;
    }
  }
  return kBundledExample;
}

int Main(int argc, char** argv) {
  const cli::Program& program = Program();
  cli::Args args;
  if (std::optional<int> exit_code = cli::ParseArgs(program, argc, argv, &args)) {
    return *exit_code;
  }
  if (args.positional.size() > 1) {
    return cli::UsageError(program, "at most one MODEL.json");
  }
  int family = 4;
  if (args.Has("--family")) {
    const std::string& value = args.flags.at("--family");
    if (value != "4" && value != "6") {
      return cli::UsageError(program,
                             absl::StrCat("--family: must be 4 or 6, not \"", value, "\""));
    }
    family = value == "6" ? 6 : 4;
  }
  const bool ipsets = args.Has("--ipsets");
  const bool graph = args.Has("--graph");
  if (ipsets && graph) {
    return cli::UsageError(program, "--ipsets and --graph: choose one");
  }
  if (args.Has("--out")) {
    for (const char* flag : {"--family", "--ipsets", "--graph"}) {
      if (args.Has(flag)) {
        return cli::UsageError(
            program, absl::StrCat("--out writes every script; ", flag, " does not apply"));
      }
    }
    if (args.flags.at("--out").empty()) {
      return cli::UsageError(program, "--out: needs a directory");
    }
  }

  const std::string path =
      args.positional.empty() ? ExamplePath(argv[0]) : cli::CommandLinePath(args.positional[0]);
  absl::StatusOr<Model> model = cli::LoadModelFile(path);
  if (!model.ok()) {
    return cli::ReportError(model.status());
  }
  if (args.Has("--out")) {
    // The model is left for the process's exit to free: the kernel takes the pages back at
    // once, where destroying the model's objects one by one was 7% of a huge run.
    const Model* kept = new Model(*std::move(model));
    return WriteFiles(*kept, cli::CommandLinePath(args.flags.at("--out")));
  }
  Desired desired = Generate(*model);
  std::string text;
  if (ipsets) {
    RenderIpsetFile(desired.ipsets, &text);
  } else {
    const Ruleset* rs = desired.ForFamily(family);
    if (rs == nullptr) {
      std::cerr << "config.families: family " << family << " is not enabled\n";
      return cli::kExitUsage;
    }
    if (graph) {
      RenderGraph(*rs, &text);
    } else {
      RenderRestoreFile(*rs, &text);
    }
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? cli::kExitOk : cli::kExitFailure;
}

}  // namespace
}  // namespace fiptgen

int main(int argc, char** argv) { return fiptgen::Main(argc, argv); }
