#include "tools/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fiptgen {
namespace {

void CloseFd(int* fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

// Milliseconds from now until `deadline`, for poll(): -1 for no deadline, 0 once passed.
int PollTimeout(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    return -1;
  }
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    return 0;
  }
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), 1 << 30));
}

// write(), with SIGPIPE held back: a program that stops reading makes it fail with EPIPE
// instead of killing the caller, whatever the caller does with SIGPIPE.
ssize_t WriteNoSigpipe(int fd, absl::string_view data) {
  sigset_t pipe_signal, pending, old;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t n = write(fd, data.data(), data.size());
  const int error = errno;
  if (n < 0 && error == EPIPE && !was_pending) {
    const timespec now = {0, 0};
    while (sigtimedwait(&pipe_signal, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = error;
  return n;
}

// In the child, between vfork and exec: it runs in the parent's memory, on its stack, while
// the parent waits, so only async-signal-safe calls that write nothing the parent reads (a
// fork would copy the parent's page tables first: 37 ms for an agent holding 600 MB, on
// every program run; vfork takes under a millisecond whatever the size).
// The parent blocks every signal around vfork, so no handler of its can run here on its
// stack; the child drops the handlers (its table is its own) and takes back `mask` just
// before exec, as glibc's posix_spawn does.
[[noreturn]] void ExecChild(char* const* argv, pid_t parent, int in, int out, int err, int status,
                            const sigset_t* mask) {
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction action;
    if (sigaction(sig, nullptr, &action) == 0 && action.sa_handler != SIG_DFL &&
        action.sa_handler != SIG_IGN) {
      action.sa_handler = SIG_DFL;
      action.sa_flags = 0;
      sigaction(sig, &action, nullptr);
    }
  }
  setpgid(0, 0);
  // Dies with the applier; and if the applier is already gone, do not start at all.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) {
    _exit(127);
  }
  signal(SIGPIPE, SIG_DFL);  // the applier ignores it; the program should not inherit that
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  sigprocmask(SIG_SETMASK, mask, nullptr);
  execvp(argv[0], argv);
  int error = errno;
  ssize_t ignored = write(status, &error, sizeof(error));
  (void)ignored;
  _exit(127);
}

}  // namespace

absl::Time SubprocessRunner::Now() { return absl::Now(); }

CommandResult SubprocessRunner::Run(const Command& command) {
  CommandResult result;
  if (command.argv.empty()) {
    result.err = "no program to run";
    return result;
  }
  int in[2], out[2], err[2], status[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
      pipe2(status, O_CLOEXEC) != 0) {
    result.err = absl::StrCat("pipe: ", std::strerror(errno));
    return result;
  }
  std::vector<char*> args;
  for (const std::string& a : command.argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const pid_t parent = getpid();
  sigset_t all, mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &mask);
  const pid_t pid = vfork();
  if (pid == 0) {
    ExecChild(args.data(), parent, in[0], out[1], err[1], status[1], &mask);
  }
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(status[1]);
  if (pid < 0) {
    result.err = absl::StrCat("vfork: ", std::strerror(errno));
    close(in[1]);
    close(out[0]);
    close(err[0]);
    close(status[0]);
    return result;
  }
  setpgid(pid, pid);  // also here, so a kill of the group cannot come before the child's own
  int exec_error = 0;
  ssize_t n;
  while ((n = read(status[0], &exec_error, sizeof(exec_error))) < 0 && errno == EINTR) {
  }
  close(status[0]);
  if (n == static_cast<ssize_t>(sizeof(exec_error))) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    result.err = absl::StrCat("cannot run ", command.argv[0], ": ", std::strerror(exec_error));
    return result;
  }

  absl::string_view input = command.input;
  int in_fd = in[1], out_fd = out[0], err_fd = err[0];
  fcntl(in_fd, F_SETFL, O_NONBLOCK);
  if (input.empty()) {
    CloseFd(&in_fd);
  }
  char buf[65536];
  const bool notice = command.on_notice && command.notice_after != absl::InfiniteDuration();
  absl::Time notice_at = notice ? absl::Now() + command.notice_after : absl::InfiniteFuture();
  while (in_fd >= 0 || out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3] = {{in_fd, POLLOUT, 0}, {out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    if (PollTimeout(command.deadline) == 0) {
      result.timed_out = true;
      break;
    }
    if (notice_at != absl::InfiniteFuture() && PollTimeout(notice_at) == 0) {
      notice_at = absl::InfiniteFuture();
      command.on_notice();
    }
    const int timeout = PollTimeout(std::min(command.deadline, notice_at));
    int ready = poll(fds, 3, timeout);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    if (ready == 0) {
      continue;  // the deadline is looked at again above
    }
    if (in_fd >= 0 && fds[0].revents != 0) {
      ssize_t w = WriteNoSigpipe(in_fd, input);
      if (w > 0) {
        input.remove_prefix(static_cast<size_t>(w));
      }
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || input.empty()) {
        CloseFd(&in_fd);  // the program stopped reading (EPIPE) or has everything
      }
    }
    for (auto [fd, text, index] :
         {std::tuple{&out_fd, &result.out, 1}, std::tuple{&err_fd, &result.err, 2}}) {
      if (*fd < 0 || fds[index].revents == 0) {
        continue;
      }
      ssize_t r = read(*fd, buf, sizeof(buf));
      if (r > 0) {
        text->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        CloseFd(fd);
      }
    }
  }
  if (result.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  CloseFd(&in_fd);
  CloseFd(&out_fd);
  CloseFd(&err_fd);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = !result.timed_out && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return result;
}

}  // namespace fiptgen
