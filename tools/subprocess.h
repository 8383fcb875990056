// The CommandRunner that runs real programs (fiptgen/apply.h), for fiptgen-apply and for
// agents that apply with //fiptgen:apply.
//
//   SubprocessRunner runner;
//   Applier applier(config, options, &runner);
//
// Each program runs in a process group of its own, with its input written and its output
// read as it comes (so neither side can block the other), and is killed with everything it
// started when its deadline passes; on_notice is called once it has run for notice_after. If
// this process dies, the kernel kills the program too (PR_SET_PDEATHSIG): a killed applier
// leaves no iptables-restore behind. A program that stops reading its input never raises
// SIGPIPE here. Single-threaded callers only (the death signal follows the thread that
// started the program).
#ifndef FIPTGEN_TOOLS_SUBPROCESS_H_
#define FIPTGEN_TOOLS_SUBPROCESS_H_

#include "fiptgen/apply.h"

namespace fiptgen {

class SubprocessRunner : public CommandRunner {
 public:
  CommandResult Run(const Command& command) override;
  absl::Time Now() override;
};

}  // namespace fiptgen

#endif  // FIPTGEN_TOOLS_SUBPROCESS_H_
