#include "tools/subprocess.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

Command Sh(const char* script, absl::string_view input = "") {
  Command command;
  command.argv = {"sh", "-c", script};
  command.input = input;
  return command;
}

TEST(SubprocessRunnerTest, InputOutputAndExitStatus) {
  SubprocessRunner runner;
  // More input than a pipe holds, echoed back while it is written: neither side blocks.
  const std::string big(1 << 20, 'x');
  CommandResult r = runner.Run(Sh("cat; echo oops >&2; exit 3", big));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, big);
  EXPECT_EQ(r.err, "oops\n");
}

TEST(SubprocessRunnerTest, AProgramThatStopsReadingEarly) {
  SubprocessRunner runner;
  CommandResult r = runner.Run(Sh("head -c 1", std::string(1 << 20, 'y')));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "y");
}

TEST(SubprocessRunnerTest, MissingProgram) {
  SubprocessRunner runner;
  Command command;
  command.argv = {"fiptgen-no-such-program"};
  CommandResult r = runner.Run(command);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_TRUE(absl::StrContains(r.err, "cannot run fiptgen-no-such-program")) << r.err;
}

// Killed at its deadline with what it started (a background child holding the pipes open),
// and announced before that.
TEST(SubprocessRunnerTest, DeadlineKillsTheWholeGroupAndWaitsAreAnnounced) {
  SubprocessRunner runner;
  Command command = Sh("sleep 30 & sleep 30");
  int notices = 0;
  command.notice_after = absl::Milliseconds(100);
  command.on_notice = [&notices] { ++notices; };
  const absl::Time start = absl::Now();
  command.deadline = start + absl::Milliseconds(400);
  CommandResult r = runner.Run(command);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(notices, 1);
}

TEST(SubprocessRunnerTest, NoNoticeForAQuickProgram) {
  SubprocessRunner runner;
  Command command = Sh("true");
  int notices = 0;
  command.notice_after = absl::Seconds(5);
  command.on_notice = [&notices] { ++notices; };
  EXPECT_EQ(runner.Run(command).exit_code, 0);
  EXPECT_EQ(notices, 0);
}

}  // namespace
}  // namespace fiptgen
