#include "fiptgen/testing/golden.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fiptgen::golden {
namespace {

bool g_update = false;
std::string g_regenerate;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string UnifiedDiff(absl::string_view expected, absl::string_view actual) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string base = absl::StrCat(dir ? dir : "/tmp", "/golden_diff_", ::getpid());
  std::ofstream(base + ".expected", std::ios::binary) << expected;
  std::ofstream(base + ".actual", std::ios::binary) << actual;
  std::string cmd = absl::StrCat("diff -u ", base, ".expected ", base, ".actual");
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
      out.append(buf, n);
    }
    pclose(p);
  }
  return out;
}

}  // namespace

void ParseGoldenFlags(int* argc, char** argv, absl::string_view regenerate_command) {
  g_regenerate = std::string(regenerate_command);
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    if (absl::string_view(argv[i]) == "--update_golden") {
      g_update = true;
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
}

bool UpdatingGoldens() { return g_update; }

std::string GoldenRoot() {
  if (g_update) {
    const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    return ws ? ws : ".";
  }
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir && workspace) {
    return absl::StrCat(srcdir, "/", workspace);
  }
  return ".";
}

std::string ReadGoldenFile(absl::string_view relative_path) {
  return Slurp(absl::StrCat(GoldenRoot(), "/", relative_path));
}

void ExpectEqualToGoldenFile(absl::string_view relative_path, absl::string_view actual) {
  std::string path = absl::StrCat(GoldenRoot(), "/", relative_path);
  if (g_update) {
    std::string current = Slurp(path);
    if (current != actual) {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
      std::printf("updated %s\n", std::string(relative_path).c_str());
    }
    return;
  }
  std::string expected = Slurp(path);
  if (expected != actual) {
    ADD_FAILURE() << relative_path << " differs from what the code produces:\n"
                  << UnifiedDiff(expected, actual) << "\nIf the new output is right, run:\n  "
                  << g_regenerate
                  << "\nand review every changed line (docs/chains.md and docs/decisions.md say "
                     "what is intended).";
  }
}

std::vector<std::string> ListGoldenDir(absl::string_view relative_dir, bool directories,
                                       absl::string_view suffix) {
  std::vector<std::string> names;
  std::error_code ec;
  std::string dir = absl::StrCat(GoldenRoot(), "/", relative_dir);
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    bool is_dir = entry.is_directory(ec);
    if (directories ? is_dir : (!is_dir && absl::EndsWith(name, suffix))) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace fiptgen::golden
