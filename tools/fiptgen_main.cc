// fiptgen: prints the restore text for a model (README "The CLI"; the model in docs/model.md),
// and follows packets through a model's rules or a host's saved ones (docs/trace.md).
//
//   fiptgen [--family 4|6] [--ipsets | --graph] [--out DIR] [MODEL.json | -]
//   fiptgen trace [--json] (MODEL.json | --iptables-save FILE ...) PACKET...
//   fiptgen check-flows (MODEL.json | --iptables-save FILE ...) FLOWS
//
// Exit 0 on success; 1 when a file cannot be read or written; 2 on a bad command line, and on
// bad input with every error on stderr, one a line, and nothing on stdout; check-flows exits 3
// when a flow does not hold.
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fiptgen/flows.h"
#include "fiptgen/generate.h"
#include "fiptgen/graph.h"
#include "fiptgen/observed.h"
#include "fiptgen/render.h"
#include "fiptgen/simulate.h"
#include "fiptgen/trace_text.h"
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
      "     each starting with the path of the offending value, and nothing on stdout",
      {
          {"trace", "follow one packet through a model's rules or a host's saved ones"},
          {"check-flows", "check that every flow of a flows file gets its verdict"},
      }};
  return *program;
}

// The flags both trace and check-flows take to read a host's rules instead of a model.
const std::vector<cli::Flag>& SavedStateFlags() {
  static const auto* flags = new std::vector<cli::Flag>{
      {"--iptables-save", "FILE",
       "the host's IPv4 rules: iptables-save's output (\"-\": stdin),\n"
       "instead of a model's"},
      {"--ip6tables-save", "FILE", "the host's IPv6 rules: ip6tables-save's output"},
      {"--ipset-save", "FILE", "the sets those rules name: ipset save's output"},
  };
  return *flags;
}

constexpr char kStateHelp[] =
    "The rules are a model's (MODEL.json, \"-\" for stdin), as they run on a host that\n"
    "holds nothing else, or a host's own, saved with iptables-save / ip6tables-save and\n"
    "ipset save (the flags below; then no MODEL). A packet is words like\n"
    "  in=tapw2 out=tapw1 tcp src=198.18.1.2 dst=198.18.1.1 dport=80\n"
    "(docs/trace.md): in= the interface it arrives on, out= the one it leaves by (no\n"
    "out: for the host; no in: sent by the host), a protocol, src=, dst=, and as needed\n"
    "sport=, dport=, type=, code=, mac=, ctstate=, mark=. A packet from a workload's\n"
    "interface has the model's MAC of that workload unless mac= says otherwise.";

const cli::Program& TraceProgram() {
  static const cli::Program* program = [] {
    static const std::string* description = new std::string(absl::StrCat(
        "Follows one packet through the raw and filter rules, as the kernel would, and\n"
        "prints its verdict, why (the chains to the rule that decided), and every rule it\n"
        "met, with the mark after each. A rule the simulator cannot decide (a -m u32, an\n"
        "unknown target) is never guessed: the verdict is UNRESOLVED and says which rule.\n\n",
        kStateHelp));
    auto* p = new cli::Program{
        "fiptgen trace",
        "[--json] [--iptables-save FILE] [--ip6tables-save FILE] [--ipset-save FILE] "
        "[MODEL.json | -] PACKET...",
        *description,
        {{"--json", "", "print the trace as one JSON object (docs/trace.md)"}},
        "  0  the packet was traced (whatever its verdict)\n"
        "  1  a file cannot be read\n"
        "  2  a bad command line or packet; or a bad model or saved state, with every error\n"
        "     on stderr and nothing on stdout"};
    p->flags.insert(p->flags.end(), SavedStateFlags().begin(), SavedStateFlags().end());
    return p;
  }();
  return *program;
}

const cli::Program& CheckFlowsProgram() {
  static const cli::Program* program = [] {
    static const std::string* description = new std::string(absl::StrCat(
        "Traces every flow of FLOWS, one a line: a packet, \"=>\", the verdict it must get\n"
        "(accept, drop, reject) and optionally \"untracked\" or \"tracked\"; \"#\" starts a\n"
        "comment. Prints each flow that does not hold with its trace, then a count.\n\n",
        kStateHelp));
    auto* p = new cli::Program{
        "fiptgen check-flows",
        "[--iptables-save FILE] [--ip6tables-save FILE] [--ipset-save FILE] "
        "[MODEL.json | -] FLOWS",
        *description,
        {},
        "  0  every flow holds\n"
        "  1  a file cannot be read\n"
        "  2  a bad command line, flows file, model or saved state, with every error on\n"
        "     stderr and nothing on stdout\n"
        "  3  a flow does not hold (each is printed with its trace)"};
    p->flags.insert(p->flags.end(), SavedStateFlags().begin(), SavedStateFlags().end());
    return p;
  }();
  return *program;
}

// The rules packets are traced through: a model's desired state, or a host's saved state.
// Each family's simulator is built the first time a packet of that family needs it.
class Rules {
 public:
  // Reads the model (the first positional argument, taken off *positional) or the saved
  // state the flags name. On failure prints the error and sets *exit_code.
  static std::optional<Rules> Load(const cli::Program& program, const cli::Args& args,
                                   std::vector<std::string>* positional, int* exit_code) {
    Rules rules;
    const bool saved = args.Has("--iptables-save") || args.Has("--ip6tables-save");
    int stdin_users = 0;
    for (const auto& [flag, value] : args.flags) {
      stdin_users += value == "-" ? 1 : 0;
    }
    for (const std::string& p : *positional) {
      stdin_users += p == "-" ? 1 : 0;
    }
    if (stdin_users > 1) {
      *exit_code = cli::UsageError(program, "only one input can be standard input (-)");
      return std::nullopt;
    }
    if (args.Has("--ipset-save") && !saved) {
      *exit_code = cli::UsageError(program, "--ipset-save: give the iptables-save output too");
      return std::nullopt;
    }
    if (!saved) {
      if (positional->empty()) {
        *exit_code = cli::UsageError(program, "no MODEL.json (or --iptables-save FILE)");
        return std::nullopt;
      }
      const std::string path = cli::CommandLinePath(positional->front());
      positional->erase(positional->begin());
      absl::StatusOr<Model> model = cli::LoadModelFile(path);
      if (!model.ok()) {
        *exit_code = cli::ReportError(model.status());
        return std::nullopt;
      }
      rules.desired_ = Generate(*model);
      rules.model_ = *std::move(model);
      return rules;
    }
    auto read = [&](const char* flag, absl::string_view what) -> std::optional<std::string> {
      absl::StatusOr<std::string> text =
          cli::ReadInputText(cli::CommandLinePath(args.flags.at(flag)), what);
      if (!text.ok()) {
        *exit_code = cli::ReportError(text.status());
        return std::nullopt;
      }
      return *std::move(text);
    };
    for (int family : {4, 6}) {
      const char* flag = family == 4 ? "--iptables-save" : "--ip6tables-save";
      if (!args.Has(flag)) {
        continue;
      }
      std::optional<std::string> text =
          read(flag, family == 4 ? "iptables-save output" : "ip6tables-save output");
      if (!text.has_value()) {
        return std::nullopt;
      }
      absl::StatusOr<ObservedRuleset> parsed = ParseIptablesSaveWhole(*text, family);
      if (!parsed.ok()) {
        *exit_code = cli::ReportError(absl::InvalidArgumentError(
            absl::StrCat(args.flags.at(flag), ": ", parsed.status().message())));
        return std::nullopt;
      }
      rules.saved_[family == 6] = *std::move(parsed);
    }
    if (args.Has("--ipset-save")) {
      std::optional<std::string> text = read("--ipset-save", "ipset save output");
      if (!text.has_value()) {
        return std::nullopt;
      }
      absl::StatusOr<std::vector<IpSetSpec>> sets = ParseIpsetSave(*text, "");
      if (!sets.ok()) {
        *exit_code = cli::ReportError(absl::InvalidArgumentError(
            absl::StrCat(args.flags.at("--ipset-save"), ": ", sets.status().message())));
        return std::nullopt;
      }
      rules.sets_ = *std::move(sets);
    }
    return rules;
  }

  // The simulator of `family`; an error names what is missing or wrong.
  absl::StatusOr<const PacketSimulator*> For(int family) {
    std::optional<PacketSimulator>& sim = sims_[family == 6];
    if (!sim.has_value()) {
      absl::StatusOr<PacketSimulator> built = Build(family);
      if (!built.ok()) {
        return built.status();
      }
      sim = *std::move(built);
    }
    return &*sim;
  }

  // A packet from a workload interface comes with the model's MAC (flows.h).
  void Complete(Packet* packet) const {
    if (model_.has_value()) {
      FillSourceMac(*model_, packet);
    }
  }

 private:
  absl::StatusOr<PacketSimulator> Build(int family) {
    if (model_.has_value()) {
      return PacketSimulator::FromDesired(desired_, family);
    }
    const std::optional<ObservedRuleset>& saved = saved_[family == 6];
    if (!saved.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("an IPv", family, " packet: give ",
                       family == 4 ? "--iptables-save" : "--ip6tables-save", " FILE"));
    }
    return PacketSimulator::FromSaved(*saved, sets_);
  }

  std::optional<Model> model_;
  Desired desired_;
  std::optional<ObservedRuleset> saved_[2];
  std::vector<IpSetSpec> sets_;
  std::optional<PacketSimulator> sims_[2];
};

// A command's start: its flags parsed into *args, its rules loaded. Without rules, main is
// done and returns *exit_code (help, version, or an error already printed).
std::optional<Rules> StartCommand(const cli::Program& program, int argc, char** argv,
                                  cli::Args* args, int* exit_code) {
  if (std::optional<int> code = cli::ParseArgs(program, argc, argv, args)) {
    *exit_code = *code;
    return std::nullopt;
  }
  return Rules::Load(program, *args, &args->positional, exit_code);
}

int TraceMain(int argc, char** argv) {
  const cli::Program& program = TraceProgram();
  cli::Args args;
  int exit_code = 0;
  std::optional<Rules> rules = StartCommand(program, argc, argv, &args, &exit_code);
  if (!rules.has_value()) {
    return exit_code;
  }
  if (args.positional.empty()) {
    return cli::UsageError(program,
                           "no PACKET (e.g. in=eth0 tcp src=198.18.9.2 "
                           "dst=198.18.9.254 dport=22)");
  }
  absl::StatusOr<Packet> packet = ParsePacket(absl::StrJoin(args.positional, " "));
  if (!packet.ok()) {
    return cli::UsageError(program, absl::StrCat("PACKET: ", packet.status().message()));
  }
  rules->Complete(&*packet);
  absl::StatusOr<const PacketSimulator*> sim = rules->For(packet->family);
  if (!sim.ok()) {
    return cli::ReportError(sim.status());
  }
  absl::StatusOr<TraceResult> trace = (*sim)->Trace(*packet);
  if (!trace.ok()) {
    return cli::UsageError(program, absl::StrCat("PACKET: ", trace.status().message()));
  }
  std::string text;
  if (args.Has("--json")) {
    AppendTraceJson(**sim, *packet, *trace, &text);
    text.push_back('\n');
  } else {
    AppendTraceText(**sim, *packet, *trace, &text);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? cli::kExitOk : cli::kExitFailure;
}

constexpr int kExitFlowsFail = 3;

int CheckFlowsMain(int argc, char** argv) {
  const cli::Program& program = CheckFlowsProgram();
  cli::Args args;
  int exit_code = 0;
  std::optional<Rules> rules = StartCommand(program, argc, argv, &args, &exit_code);
  if (!rules.has_value()) {
    return exit_code;
  }
  if (args.positional.size() != 1) {
    return cli::UsageError(program, args.positional.empty() ? "no FLOWS file" : "one FLOWS file");
  }
  const std::string flows_path = cli::CommandLinePath(args.positional[0]);
  absl::StatusOr<std::string> text = cli::ReadInputText(flows_path, "flows file");
  if (!text.ok()) {
    return cli::ReportError(text.status());
  }
  absl::StatusOr<std::vector<FlowExpectation>> flows =
      ParseFlows(*text, flows_path == "-" ? "standard input" : args.positional[0]);
  if (!flows.ok()) {
    return cli::ReportError(flows.status());
  }
  std::string out;
  int failed = 0;
  for (FlowExpectation& flow : *flows) {
    rules->Complete(&flow.packet);
    absl::StatusOr<const PacketSimulator*> sim = rules->For(flow.packet.family);
    if (!sim.ok()) {
      return cli::ReportError(absl::InvalidArgumentError(
          absl::StrCat(args.positional[0], ":", flow.line, ": ", sim.status().message())));
    }
    absl::StatusOr<TraceResult> trace = (*sim)->Trace(flow.packet);
    if (!trace.ok()) {
      return cli::ReportError(absl::InvalidArgumentError(
          absl::StrCat(args.positional[0], ":", flow.line, ": ", trace.status().message())));
    }
    if (FlowHolds(flow, *trace)) {
      continue;
    }
    ++failed;
    absl::StrAppend(&out, args.positional[0], ":", flow.line, ": ", flow.text, "\n  got ");
    AppendOutcome(*trace, &out);
    absl::StrAppend(&out, "\n");
    std::string trace_text;
    AppendTraceText(**sim, flow.packet, *trace, &trace_text);
    for (absl::string_view line : absl::StrSplit(trace_text, '\n', absl::SkipEmpty())) {
      absl::StrAppend(&out, "    ", line, "\n");
    }
    out.push_back('\n');
  }
  absl::StrAppend(&out, flows->size(), " flows: ", flows->size() - failed, " hold, ", failed,
                  failed == 1 ? " does not\n" : " do not\n");
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) {
    return cli::kExitFailure;
  }
  return failed == 0 ? cli::kExitOk : kExitFlowsFail;
}

// A file written straight from the renderer's buffer, which hands the text over a piece at
// a time: no copy of a whole script is made.
//
// A regular file that exists is written over in place and cut to its new length at the
// end, not truncated when opened. Truncating a file whose pages are cached frees them and
// their blocks (waiting for any still being written back), and makes ext4 write the whole
// new file out from close(2) (auto_da_alloc): measured on huge, sys time ~100-117 ms with
// O_TRUNC against ~52-84 written over. Until Close, the file starts with kIncomplete, a
// line that iptables-restore, ip6tables-restore and ipset restore reject as their first
// (checked with each), so a file left half-written (a failed write, a killed process) loads
// nothing, where a truncated one loaded its tables up to the cut; the first bytes of the
// text are written last. (The first piece the renderer hands over is a whole file or 256
// KiB, so all of kIncomplete is there; a shorter one would leave as much of it as it
// covers.)
class OutputFile {
 public:
  explicit OutputFile(std::string path) : path_(std::move(path)) {
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    error_ = fd_ < 0 ? errno : 0;
    struct stat st;
    if (fd_ >= 0 && fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode)) {
      regular_ = false;  // a pipe or a device: written in order, as it comes
    }
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
    if (regular_ && offset_ == 0 && !text.empty()) {
      const size_t held = std::min(text.size(), kIncomplete.size());
      first_.assign(text.data(), held);
      WriteAt(kIncomplete.substr(0, held), 0);
      text.remove_prefix(held);
      offset_ = held;
    }
    WriteAt(text, offset_);
    offset_ += text.size();
  }
  // True when every write and the close succeeded; else prints why and returns false.
  bool Close() {
    if (fd_ >= 0 && regular_ && error_ == 0) {
      if (ftruncate(fd_, offset_) != 0) {
        error_ = errno;
      }
      WriteAt(first_, 0);
    }
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
  static constexpr absl::string_view kIncomplete =
      "fiptgen: incomplete: this file is being written, or its writing failed\n";

  void WriteAt(absl::string_view text, off_t at) {
    while (!text.empty() && error_ == 0) {
      const ssize_t n = regular_ ? pwrite(fd_, text.data(), text.size(), at)
                                 : write(fd_, text.data(), text.size());
      if (n > 0) {
        text.remove_prefix(static_cast<size_t>(n));
        at += n;
      } else if (errno != EINTR) {
        error_ = errno;
      }
    }
  }

  std::string path_;
  int fd_ = -1;
  int error_ = 0;
  bool regular_ = true;
  off_t offset_ = 0;   // where the next piece goes
  std::string first_;  // the text's first bytes, where kIncomplete is until Close
};

// `fiptgen --out DIR`: each family is generated, written and freed before the next, so the
// process holds the model and one family's chains, never both families and three scripts
// (and, between them, the rules' text they share: GenerateEachFamily).
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
  GenerateEachFamily(model, [&](Desired desired) {
    OutputFile* file = desired.rulesets[0].family == 6 ? &ip6tables : &iptables;
    RenderRestoreFile(desired.rulesets[0], [file](absl::string_view text) { file->Write(text); });
    const size_t merged = sets.size();
    std::move(desired.ipsets.begin(), desired.ipsets.end(), std::back_inserter(sets));
    std::inplace_merge(sets.begin(), sets.begin() + merged, sets.end(),
                       [](const IpSetSpec& a, const IpSetSpec& b) { return a.name < b.name; });
  });
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
  // Memory freed stays in the heap for what is allocated next (the second family's
  // chains reuse the first's), instead of going back to the kernel and being faulted in
  // again: large blocks come from the heap, not from mmap of their own, and the heap's top
  // is never given back. A huge --out run takes 10,800 page faults instead of 14,300, at
  // the same peak RSS. The process is short-lived; the kernel takes everything at exit.
  // The heap grows 8 MiB past each request, not 128 KiB: a huge run calls brk 18 times
  // instead of 552, and takes ~1,250 fewer faults (each growth left a tail too short for the
  // kernel's 16 KiB folios, filled a 4 KiB page a fault). Pages the heap reserves but never
  // touches cost nothing: peak RSS is the same.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_TOP_PAD, 8 << 20);
  const cli::Program& program = Program();
  if (const cli::Command* command = cli::FindCommand(program, argc, argv)) {
    return command->name == "trace" ? TraceMain(argc - 1, argv + 1)
                                    : CheckFlowsMain(argc - 1, argv + 1);
  }
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
