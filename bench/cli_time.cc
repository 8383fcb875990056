// cli_time: the whole `fiptgen --out DIR MODEL` process, timed as a user runs it: RUNS fresh
// processes pinned to one CPU, each timed from fork to exit (wall clock, user and system
// CPU, peak RSS from wait4), on a scale model written to a temporary file first.
//
//   bazel build -c opt //bench:cli_time //tools:fiptgen
//   bazel-out/k8-opt/bin/bench/cli_time --size large --runs 5 --cpu 1
//       --fiptgen bazel-out/k8-opt/bin/tools/fiptgen   (one command line)
//   (or: bazel run -c opt //bench:cli_time -- --size large)
//
// Prints each run, then the minimum and median wall time, the output rate (the three files'
// bytes over the median wall time) and the peak RSS against the output size.
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "bench/scale_model.h"

ABSL_FLAG(std::string, size, "large", "Model size: small, large or huge");
ABSL_FLAG(int, runs, 5, "Fresh processes to time");
ABSL_FLAG(int, cpu, 1, "CPU to pin each run to (-1: no pinning)");
ABSL_FLAG(std::string, fiptgen, "tools/fiptgen", "The fiptgen binary (default: in the runfiles)");

namespace {

struct Run {
  double wall_ms = 0;
  double user_ms = 0;
  double sys_ms = 0;
  long max_rss_kb = 0;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "cli_time: %s\n", message.c_str());
  return 1;
}

double Ms(const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; }

// One `fiptgen --out dir model`, from fork to exit.
bool TimeOnce(const std::string& fiptgen, const std::string& dir, const std::string& model, int cpu,
              Run* run) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    return false;
  }
  if (pid == 0) {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof(set), &set);
    }
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execl(fiptgen.c_str(), fiptgen.c_str(), "--out", dir.c_str(), model.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) != pid) {
    return false;
  }
  const auto end = std::chrono::steady_clock::now();
  run->wall_ms = std::chrono::duration<double, std::milli>(end - start).count();
  run->user_ms = Ms(usage.ru_utime);
  run->sys_ms = Ms(usage.ru_stime);
  run->max_rss_kb = usage.ru_maxrss;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Times fresh `fiptgen --out` processes on a scale model.");
  absl::ParseCommandLine(argc, argv);
  auto size = fiptgen::bench::ParseScaleSize(absl::GetFlag(FLAGS_size));
  if (!size) {
    return Fail("--size must be small, large or huge");
  }
  const int runs = absl::GetFlag(FLAGS_runs);
  const std::string fiptgen = absl::GetFlag(FLAGS_fiptgen);
  if (runs < 1 || access(fiptgen.c_str(), X_OK) != 0) {
    return Fail(absl::StrCat("need --runs >= 1 and an executable --fiptgen (", fiptgen, ")"));
  }

  const char* tmp = std::getenv("TEST_TMPDIR");
  if (tmp == nullptr) {
    tmp = std::getenv("TMPDIR");
  }
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/cli_time.XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return Fail("cannot make a temporary directory");
  }
  const std::string model = dir + "/model.json";
  {
    const std::string json =
        fiptgen::bench::MakeScaleModelJson(fiptgen::bench::ScaleSpecFor(*size));
    FILE* f = std::fopen(model.c_str(), "wb");
    if (f == nullptr || std::fwrite(json.data(), 1, json.size(), f) != json.size() ||
        std::fclose(f) != 0) {
      return Fail("cannot write " + model);
    }
  }

  std::vector<Run> done;
  for (int i = 0; i < runs; ++i) {
    Run run;
    if (!TimeOnce(fiptgen, dir, model, absl::GetFlag(FLAGS_cpu), &run)) {
      return Fail(absl::StrCat(fiptgen, " --out ", dir, " ", model, " failed"));
    }
    std::printf("run %d: %8.1f ms wall %8.1f ms user %7.1f ms sys %8.1f MB max RSS\n", i + 1,
                run.wall_ms, run.user_ms, run.sys_ms, run.max_rss_kb / 1e3);
    done.push_back(run);
  }
  double out_bytes = 0;
  for (const char* name : {"ipsets.restore", "iptables.restore", "ip6tables.restore"}) {
    struct stat st;
    const std::string path = dir + "/" + name;
    if (stat(path.c_str(), &st) == 0) {
      out_bytes += static_cast<double>(st.st_size);
    }
    unlink(path.c_str());
  }
  struct stat model_stat;
  stat(model.c_str(), &model_stat);
  unlink(model.c_str());
  rmdir(dir.c_str());

  std::vector<double> wall, user, sys;
  long rss = 0;
  for (const Run& r : done) {
    wall.push_back(r.wall_ms);
    user.push_back(r.user_ms);
    sys.push_back(r.sys_ms);
    rss = std::max(rss, r.max_rss_kb);
  }
  const double median = Median(wall);
  std::printf(
      "%s: model %.1f MB JSON, output %.2f MB; %d runs on cpu %d\n"
      "wall min %.1f ms, median %.1f ms (user %.1f, sys %.1f) = %.0f MB/s of output\n"
      "max RSS %.1f MB = %.2f x output\n",
      absl::GetFlag(FLAGS_size).c_str(), model_stat.st_size / 1e6, out_bytes / 1e6, runs,
      absl::GetFlag(FLAGS_cpu), *std::min_element(wall.begin(), wall.end()), median, Median(user),
      Median(sys), out_bytes / 1e6 / (median / 1e3), rss / 1e3, rss * 1e3 / out_bytes);
  return 0;
}
