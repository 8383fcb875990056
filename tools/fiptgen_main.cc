// fiptgen: prints the restore text for a model (SPEC.md §7).
//
//   fiptgen [--family 4|6] [--ipsets | --graph] [--out DIR] [MODEL.json]
//
// Exit 0 on success; 2 on bad input, with every error on stderr, one a line, and nothing
// on stdout; 1 when a file cannot be read or written.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "fiptgen/generate.h"
#include "fiptgen/graph.h"
#include "fiptgen/load.h"
#include "fiptgen/render.h"

ABSL_FLAG(int, family, 4, "Address family whose restore script to print: 4 or 6");
ABSL_FLAG(bool, ipsets, false, "Print the ipset restore script instead");
ABSL_FLAG(bool, graph, false, "Print the family's chain graph as Graphviz DOT instead");
ABSL_FLAG(std::string, out, "",
          "Write DIR/ipsets.restore, DIR/iptables.restore, DIR/ip6tables.restore instead");

namespace {

// The bundled example is the golden case testdata/example (the model of SPEC.md §2).
constexpr char kBundledExample[] = "testdata/example/model.json";

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return !in.bad();
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  return static_cast<bool>(f);
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

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fiptgen [--family 4|6] [--ipsets | --graph] [--out DIR] [MODEL.json]\n"
      "Prints iptables-restore (or ipset restore) text enforcing MODEL.json; with no\n"
      "MODEL, runs on the bundled example.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() > 2) {
    std::cerr << "fiptgen: at most one MODEL.json\n";
    return 2;
  }
  const int family = absl::GetFlag(FLAGS_family);
  if (family != 4 && family != 6) {
    std::cerr << "--family: must be 4 or 6\n";
    return 2;
  }
  std::string path = args.size() == 2 ? args[1] : ExamplePath(argv[0]);
  std::string json;
  if (!ReadFile(path, &json)) {
    std::cerr << path << ": cannot read: " << std::strerror(errno) << "\n";
    return 1;
  }
  absl::StatusOr<fiptgen::Model> model = fiptgen::LoadModel(json);
  if (!model.ok()) {
    std::cerr << model.status().message() << "\n";
    return 2;
  }
  fiptgen::Desired desired = fiptgen::Generate(*model);

  const std::string out_dir = absl::GetFlag(FLAGS_out);
  if (!out_dir.empty()) {
    fiptgen::RestoreFiles rendered = fiptgen::RenderFiles(desired);
    const std::pair<const char*, const std::string*> files[] = {
        {"ipsets.restore", &rendered.ipsets},
        {"iptables.restore", &rendered.iptables},
        {"ip6tables.restore", &rendered.ip6tables}};
    for (const auto& [name, text] : files) {
      std::string file = absl::StrCat(out_dir, "/", name);
      if (!WriteFile(file, *text)) {
        std::cerr << file << ": cannot write: " << std::strerror(errno) << "\n";
        return 1;
      }
    }
    return 0;
  }
  std::string text;
  if (absl::GetFlag(FLAGS_ipsets)) {
    fiptgen::RenderIpsetFile(desired.ipsets, &text);
  } else {
    const fiptgen::Ruleset* rs = desired.ForFamily(family);
    if (rs == nullptr) {
      std::cerr << "config.families: family " << family << " is not enabled\n";
      return 2;
    }
    if (absl::GetFlag(FLAGS_graph)) {
      fiptgen::RenderGraph(*rs, &text);
    } else {
      fiptgen::RenderRestoreFile(*rs, &text);
    }
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
