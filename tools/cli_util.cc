#include "tools/cli_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fiptgen/load.h"
#include "fiptgen/version.h"

namespace fiptgen {
namespace cli {
namespace {

constexpr absl::string_view kHelpFlags = "-h, --help";
constexpr absl::string_view kVersionFlag = "--version";

const Flag* FindFlag(const Program& program, absl::string_view name) {
  for (const Flag& flag : program.flags) {
    if (flag.name == name) {
      return &flag;
    }
  }
  return nullptr;
}

// "  --out DIR     help", the help in `column`, its further lines indented as far.
void AppendFlagHelp(absl::string_view names, absl::string_view help, size_t column,
                    std::string* out) {
  absl::StrAppend(out, "  ", names);
  out->append(column - 2 - names.size(), ' ');
  bool first = true;
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    if (!first) {
      out->push_back('\n');
      out->append(column, ' ');
    }
    absl::StrAppend(out, line);
    first = false;
  }
  out->push_back('\n');
}

absl::Status ReadError(const std::string& path, int error) {
  std::string message = absl::StrCat(path, ": cannot read: ", std::strerror(error));
  if (error == ENOENT) {
    return absl::NotFoundError(message);
  }
  if (error == EACCES || error == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::FailedPreconditionError(message);
}

}  // namespace

std::string Usage(const Program& program) {
  std::string out = absl::StrCat("Usage: ", program.name, " ", program.synopsis, "\n\n",
                                 program.description, "\n\nFlags:\n");
  size_t column = 0;
  std::vector<std::pair<std::string, absl::string_view>> rows;
  for (const Flag& flag : program.flags) {
    std::string names(flag.name);
    if (!flag.value_name.empty()) {
      absl::StrAppend(&names, " ", flag.value_name);
    }
    rows.emplace_back(std::move(names), flag.help);
  }
  rows.emplace_back(std::string(kHelpFlags), "print this help and exit");
  rows.emplace_back(std::string(kVersionFlag), "print the version and exit");
  for (const auto& row : rows) {
    column = std::max(column, 2 + row.first.size() + 2);
  }
  for (const auto& [names, help] : rows) {
    AppendFlagHelp(names, help, column, &out);
  }
  if (!program.commands.empty()) {
    absl::StrAppend(&out, "\nCommands (each has its own --help):\n");
    size_t width = 0;
    for (const Command& c : program.commands) {
      width = std::max(width, 2 + c.name.size() + 2);
    }
    for (const Command& c : program.commands) {
      AppendFlagHelp(c.name, c.summary, width, &out);
    }
  }
  absl::StrAppend(&out, "\nExit status:\n", program.exit_codes, "\n");
  return out;
}

const Command* FindCommand(const Program& program, int argc, char** argv) {
  if (argc < 2) {
    return nullptr;
  }
  for (const Command& c : program.commands) {
    if (c.name == argv[1]) {
      return &c;
    }
  }
  return nullptr;
}

int UsageError(const Program& program, absl::string_view message) {
  std::cerr << program.name << ": " << message << "\nTry '" << program.name
            << " --help' for the flags.\n";
  return kExitUsage;
}

std::optional<int> ParseArgs(const Program& program, int argc, char** argv, Args* args) {
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (flags_done || arg == "-" || !absl::StartsWith(arg, "-")) {
      args->positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      std::cout << Usage(program);
      std::cout.flush();
      return kExitOk;
    }
    if (arg == kVersionFlag) {
      // A subcommand's version is its tool's: "fiptgen trace" prints "fiptgen 1.2.3".
      std::cout << program.name.substr(0, program.name.find(' ')) << " " << kVersion << "\n";
      std::cout.flush();
      return kExitOk;
    }
    absl::string_view name = arg;
    std::optional<absl::string_view> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const Flag* flag = FindFlag(program, name);
    if (flag == nullptr) {
      return UsageError(program, absl::StrCat("unknown flag ", name));
    }
    if (flag->value_name.empty()) {
      if (value.has_value()) {
        return UsageError(program, absl::StrCat(name, " takes no value"));
      }
      value = "";
    } else if (!value.has_value()) {
      if (i + 1 == argc) {
        return UsageError(program, absl::StrCat(name, " needs a value: ", flag->value_name));
      }
      value = argv[++i];
    }
    if (!args->flags.emplace(std::string(name), std::string(*value)).second) {
      return UsageError(program, absl::StrCat(name, " given twice"));
    }
  }
  return std::nullopt;
}

std::string CommandLinePath(absl::string_view path) {
  const char* base = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path == "-" || absl::StartsWith(path, "/") || base == nullptr || *base == '\0') {
    return std::string(path);
  }
  return absl::StrCat(base, "/", path);
}

absl::StatusOr<std::string> ReadModelText(const std::string& path) {
  return ReadInputText(path, "model file");
}

absl::StatusOr<std::string> ReadInputText(const std::string& path, absl::string_view what) {
  const bool is_stdin = path == "-";
  const std::string name = is_stdin ? "standard input" : path;
  const int fd = is_stdin ? STDIN_FILENO : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ReadError(name, errno);
  }
  std::string text;
  int error = 0;
  bool is_dir = false;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    error = errno;
  } else if (S_ISDIR(st.st_mode)) {
    is_dir = true;  // open() takes a directory; read() would fail with EISDIR
  } else {
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      text.reserve(static_cast<size_t>(st.st_size));
    }
    char buf[65536];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n > 0) {
        text.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        error = errno;
        break;
      }
    }
  }
  if (!is_stdin) {
    close(fd);
  }
  if (is_dir) {
    return absl::FailedPreconditionError(absl::StrCat(name, ": is a directory, not a ", what));
  }
  if (error != 0) {
    return ReadError(name, error);
  }
  return text;
}

absl::StatusOr<Model> LoadModelFile(const std::string& path) {
  absl::StatusOr<std::string> json = ReadModelText(path);
  if (!json.ok()) {
    return json.status();
  }
  return LoadModel(*json);
}

int ReportError(const absl::Status& status) {
  std::cerr << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

}  // namespace cli
}  // namespace fiptgen
