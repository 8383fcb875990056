// An in-memory kernel for the applier's tests (test-only): a CommandRunner that understands
// the part of iptables-save / iptables-restore and ipset save / restore that fiptgen uses,
// for both backends and both families, with sets shared by all of them as in one network
// namespace.
//
//   FakeKernel kernel;
//   kernel.Load(Backend::kNft, 4, "*filter\n-I INPUT 1 -s 192.0.2.1 -j ACCEPT\nCOMMIT\n");
//   Applier applier(config, options, &kernel);
//   ASSERT_TRUE(applier.Apply(desired).ok());
//   kernel.Save(Backend::kNft, 4);  // what iptables-nft-save prints now
//
// iptables-<backend> -t <table> -S [<chain>]: the table's (or the chain's) rules, as
// iptables-nft lists them.
// iptables-restore: "*table", ":chain policy [c]" (a user chain is created or flushed),
// -A, -I chain [n], -D chain rule|n, -R chain n, -F, -N, -X (the chain must be empty and
// unreferenced), COMMIT (each table is one transaction: all of it or none), --noflush,
// --test, --wait N. A rule's jump target must be a chain of the table or a known target,
// and a set it matches must exist. ipset restore: create, add, del, flush, swap (same type
// and family), destroy (refused while a rule of any backend names the set); it stops at the
// first error, keeping what came before, as ipset does. ipset list -terse <set>: its header,
// with the references rules hold. Errors read as the real tools'.
//
// Faults, for tests: a rule text the kernel refuses, a crash (the applier killed) after the
// Nth call that changes something, the legacy xtables lock held by another program, and nft
// transactions that never commit (a foreign writer restarting them). Time passes only as
// the tools take it: a millisecond a call, and the waits.
#ifndef FIPTGEN_TESTING_FAKE_KERNEL_H_
#define FIPTGEN_TESTING_FAKE_KERNEL_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fiptgen/apply.h"

namespace fiptgen::testing {

class FakeKernel : public CommandRunner {
 public:
  FakeKernel();

  CommandResult Run(const Command& command) override;
  absl::Time Now() override { return now_; }

  // `iptables-<backend>-restore --noflush` of `text`; fails the test setup loudly (returns the
  // tool's stderr, "" when it was accepted).
  std::string Load(Backend backend, int family, absl::string_view text);
  // `ipset restore` of `text`; "" when accepted.
  std::string LoadSets(absl::string_view text);

  // What the save tools print now.
  std::string Save(Backend backend, int family) const;
  std::string SaveSets() const;

  // `n` references to set `name` that no table of either backend shows, as a list:set or a
  // rule of a kernel this fake does not model would hold: destroy is refused and
  // `ipset list -terse` counts them.
  void HoldSet(absl::string_view name, int n) {
    for (auto& [set_name, set] : sets_) {
      if (set_name == name) {
        set.unseen_references = n;
      }
    }
  }
  // How many times a table was listed (`iptables-nft -t <table> -S`).
  int lists() const { return lists_; }

  // Every rule added or replaced whose text contains `text` is refused, as the kernel refuses
  // a rule it cannot load; with `under_test` false, only when it is applied for real (a
  // refusal --test cannot see, as nft's at COMMIT).
  void RefuseRulesContaining(std::string text, bool under_test = true) {
    refused_ = std::move(text);
    refused_under_test_ = under_test;
  }

  // Rules added or replaced from now on are kept with `from` replaced by `to`, as a kernel
  // that prints a rule back in another form than it was given.
  void PrintBack(std::string from, std::string to) {
    print_back_from_ = std::move(from);
    print_back_to_ = std::move(to);
  }

  // After the `n`th call that changes something (a restore without --test) has done its
  // work, the caller is taken as killed: every later call fails and changes nothing, until
  // Revive().
  void CrashAfterChanges(int n) { crash_after_ = n; }
  void Revive() {
    crash_after_ = -1;
    crashed_ = false;
  }
  bool crashed() const { return crashed_; }

  // Another program holds the xtables lock for `d` from now: legacy restores wait for it
  // (`--wait N`: at most N seconds, then exit 4; without a number, or 0: until it is free).
  void HoldXtablesLock(absl::Duration d) { lock_until_ = now_ + d; }
  // nft restores that change something never finish: they run until their deadline.
  void StallNftCommits(bool stall) { stall_nft_ = stall; }
  // How many times Command::on_notice was called.
  int notices() const { return notices_; }
  // Calls that changed something (restores without --test), since the start.
  int changes() const { return changes_; }
  // Every command run, as "argv joined by spaces".
  const std::vector<std::string>& calls() const { return calls_; }

 private:
  struct Chain {
    std::string policy;  // "-" for a user chain
    std::vector<std::string> rules;
  };
  struct Table {
    std::vector<std::string> builtins;    // in save order
    std::map<std::string, Chain> chains;  // builtin and user chains
  };
  using Tables = std::map<std::string, Table>;  // by table name
  struct Set {
    std::string type;
    int family = 4;
    std::set<std::string> members;
    int unseen_references = 0;  // HoldSet
  };

  CommandResult RunIptables(Backend backend, int family, const std::vector<std::string>& args,
                            const Command& command);
  // Lets the time a program waits pass; false when its deadline comes first (then it is
  // killed there, and *result says so).
  bool Wait(absl::Time until, const Command& command, CommandResult* result);
  CommandResult RunIpset(const std::vector<std::string>& args, absl::string_view input);
  std::string CheckRule(const Table& table, absl::string_view rule, bool test) const;
  // `iptables-<backend> -t <table> -S`.
  CommandResult RunList(Backend backend, int family, const std::vector<std::string>& args) const;
  // Rules of every backend that name set `name` ("--match-set <name>").
  int References(absl::string_view name) const;
  bool SetInUse(absl::string_view name) const;

  absl::Time now_;
  std::map<std::pair<Backend, int>, Tables> tables_;
  std::vector<std::pair<std::string, Set>> sets_;  // in creation order, as ipset save lists them
  std::string refused_;
  bool refused_under_test_ = true;
  std::string print_back_from_, print_back_to_;
  absl::Time lock_until_ = absl::InfinitePast();
  bool stall_nft_ = false;
  int notices_ = 0;
  int crash_after_ = -1;
  bool crashed_ = false;
  int changes_ = 0;
  mutable int lists_ = 0;
  std::vector<std::string> calls_;
};

}  // namespace fiptgen::testing

#endif  // FIPTGEN_TESTING_FAKE_KERNEL_H_
