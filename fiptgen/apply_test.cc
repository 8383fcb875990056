#include "fiptgen/apply.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "fiptgen/generate.h"
#include "fiptgen/incremental.h"
#include "fiptgen/load.h"
#include "fiptgen/net.h"
#include "fiptgen/testing/fake_kernel.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

using ::fiptgen::testing::FakeKernel;

// A workload with a tag set and an explicit set, and a host endpoint with an untracked
// profile: every table, both families, sets.
constexpr char kModel[] = R"({
  "endpoints": [
    {"id": "w1", "kind": "workload", "interface": "tapw1", "mac": "02:00:00:00:00:01",
     "ipv4_nets": ["198.18.1.1/32"], "ipv6_nets": ["fd5a:f1e1::1:1/128"],
     "profile_ids": ["web"]},
    {"id": "uplink", "kind": "host", "interface": "eth0", "ipv4_nets": ["198.18.9.254/32"],
     "profile_ids": ["host-base"], "untracked_profile_ids": ["fastpath"]}],
  "profiles": {
    "web": {"tags": ["web"],
            "inbound_rules": [{"protocol": "tcp", "dst_ports": [80], "src_tag": "web"},
                              {"action": "deny", "src_ipset": "blocklist"}],
            "outbound_rules": [{}]},
    "host-base": {"inbound_rules": [{"protocol": "tcp", "dst_ports": [179]}],
                  "outbound_rules": [{}]},
    "fastpath": {"inbound_rules": [{"protocol": "udp", "dst_ports": [4789]}]}},
  "ipsets": [{"name": "blocklist", "family": 4, "type": "hash:net",
              "members": ["198.19.0.0/16"]}]})";

// kModel with `from` replaced by `to` (each pair in turn).
std::string Changed(std::vector<std::pair<absl::string_view, absl::string_view>> edits) {
  std::string json = kModel;
  for (const auto& [from, to] : edits) {
    EXPECT_TRUE(absl::StrContains(json, from)) << from;
    json = absl::StrReplaceAll(json, {{from, to}});
  }
  return json;
}

// Foreign state like a host's own firewall and kube-proxy's: must survive every apply.
constexpr char kForeignV4[] = R"(*filter
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A INPUT -s 192.0.2.1/32 -j ACCEPT
-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m udp --dport 53 -j ACCEPT
COMMIT
*raw
-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
COMMIT
)";

// The lines only in `a` ("- ") and only in `b` ("+ "), for a short failure message.
std::string LineDiff(absl::string_view a, absl::string_view b) {
  std::vector<absl::string_view> la = absl::StrSplit(a, '\n'), lb = absl::StrSplit(b, '\n');
  std::string out;
  for (absl::string_view l : la) {
    if (std::find(lb.begin(), lb.end(), l) == lb.end()) {
      absl::StrAppend(&out, "- ", l, "\n");
    }
  }
  for (absl::string_view l : lb) {
    if (std::find(la.begin(), la.end(), l) == la.end()) {
      absl::StrAppend(&out, "+ ", l, "\n");
    }
  }
  return out;
}

class ApplyTest : public ::testing::TestWithParam<Backend> {
 protected:
  struct Outcome {
    absl::Status status;
    std::vector<std::string> log;  // every line, "<level letter> <line>"
    std::string Log() const { return absl::StrJoin(log, "\n"); }
  };

  Backend backend() const { return GetParam(); }

  // The log lines other than what was run (LogLevel::kDetail), each after its level's letter.
  static ApplyLog LogInto(Outcome* outcome) {
    return [outcome](LogLevel level, absl::string_view line) {
      const char* letter[] = {"E", "W", "I", "D"};
      if (level != LogLevel::kDetail) {
        outcome->log.push_back(absl::StrCat(letter[static_cast<int>(level)], " ", line));
      }
    };
  }

  // Applies the model; the run must be over by `deadline`. The log leaves out what was run
  // (LogLevel::kDetail).
  Outcome Apply(absl::string_view json, absl::Time deadline = absl::InfiniteFuture()) {
    absl::StatusOr<Model> model = LoadModel(json);
    EXPECT_TRUE(model.ok()) << model.status();
    config_ = model->config;
    Outcome outcome;
    ApplyOptions options;
    options.backend = backend();
    options.deadline = deadline;
    options.log = LogInto(&outcome);
    Applier applier(config_, options, &kernel_);
    outcome.status = applier.Apply(Generate(*model));
    return outcome;
  }

  // What a full plan of the generator's state against the kernel would still change, a
  // line each: "" when the kernel holds exactly that state.
  std::string WhatIsLeft(const IncrementalGenerator& gen) {
    const Desired desired = gen.desired();
    ApplyOptions options;
    options.backend = backend();
    Applier applier(gen.model().config, options, &kernel_);
    absl::StatusOr<KernelState> state = applier.Observe(desired);
    if (!state.ok()) {
      return state.status().ToString();
    }
    return absl::StrJoin(applier.Plan(desired, *state).changes(), "\n");
  }

  // Applies plans made from memory (Applier::ApplyPlans); the log as Apply's. Counts the
  // programs it ran that read the kernel (save tools, listings) in *saves.
  Outcome ApplyPlans(const Plans& plans, int* saves = nullptr, bool check_first = true) {
    Outcome outcome;
    ApplyOptions options;
    options.backend = backend();
    options.check_first = check_first;
    options.log = LogInto(&outcome);
    const size_t first_call = kernel_.calls().size();
    Applier applier(config_, options, &kernel_);
    outcome.status = applier.ApplyPlans(plans);
    if (saves != nullptr) {
      *saves = 0;
      for (size_t i = first_call; i < kernel_.calls().size(); ++i) {
        const std::string& call = kernel_.calls()[i];
        *saves += absl::StrContains(call, "save") || absl::EndsWith(call, " -S") ||
                          absl::StartsWith(call, "ipset list")
                      ? 1
                      : 0;
      }
    }
    return outcome;
  }

  // An agent's generator of kModel, whose state the kernel holds (applied with Apply).
  IncrementalGenerator AppliedGenerator() {
    EXPECT_TRUE(Apply(kModel).status.ok());
    absl::StatusOr<IncrementalGenerator> gen = IncrementalGenerator::Create(*LoadModel(kModel));
    EXPECT_TRUE(gen.ok()) << gen.status();
    return *std::move(gen);
  }

  // A second workload like w1 (so in its tag set), on `address` (and `v6`, when given).
  static Endpoint SecondWorkload(absl::string_view address, absl::string_view v6 = "") {
    Endpoint e = LoadModel(kModel)->endpoints[0];
    e.id = "w2";
    e.interface = "tapw2";
    e.ipv4_nets = {*ParseIpNet(address, 4)};
    e.ipv6_nets.clear();
    if (!v6.empty()) {
      e.ipv6_nets.push_back(*ParseIpNet(v6, 6));
    }
    return e;
  }

  // The whole state, to compare before and after.
  std::string State() const {
    return absl::StrCat(kernel_.Save(backend(), 4), "==\n", kernel_.Save(backend(), 6), "==\n",
                        kernel_.SaveSets());
  }

  // The rules that are not ours, in save order.
  std::string ForeignRules() const {
    std::string out;
    for (int family : {4, 6}) {
      for (absl::string_view line : absl::StrSplit(kernel_.Save(backend(), family), '\n')) {
        if (absl::StartsWith(line, "-A ") && !absl::StrContains(line, "felix-")) {
          absl::StrAppend(&out, line, "\n");
        }
      }
    }
    return out;
  }

  void ExpectNoChanges(absl::string_view json) {
    Outcome again = Apply(json);
    EXPECT_TRUE(again.status.ok()) << again.status;
    EXPECT_EQ(again.Log(), "I no changes");
  }

  FakeKernel kernel_;
  Config config_;
};

INSTANTIATE_TEST_SUITE_P(Backends, ApplyTest, ::testing::Values(Backend::kNft, Backend::kLegacy),
                         [](const auto& info) { return std::string(BackendName(info.param)); });

TEST_P(ApplyTest, FirstApplyThenNothingToDo) {
  ASSERT_EQ(kernel_.Load(backend(), 4, kForeignV4), "");
  const std::string foreign = ForeignRules();
  Outcome first = Apply(kModel);
  ASSERT_TRUE(first.status.ok()) << first.status << "\n" << first.Log();
  EXPECT_TRUE(absl::StrContains(first.Log(), "I v4 filter: chain felix-from-w1 created"))
      << first.Log();
  EXPECT_TRUE(absl::StrContains(kernel_.Save(backend(), 4), "-A INPUT -j felix-INPUT\n"));
  EXPECT_TRUE(absl::StrContains(kernel_.SaveSets(), "create felix-v4-web hash:ip family inet"));
  EXPECT_EQ(ForeignRules(), foreign);
  ExpectNoChanges(kModel);
  // Only the backend asked for was used.
  Backend other = backend() == Backend::kNft ? Backend::kLegacy : Backend::kNft;
  EXPECT_EQ(kernel_.Save(other, 4), "");
}

TEST_P(ApplyTest, RejectedStepPutsBackTheStateFound) {
  ASSERT_TRUE(Apply(kModel).status.ok());
  ASSERT_EQ(kernel_.Load(backend(), 4, kForeignV4), "");
  // A foreign rule before a hook: the failed run must not leave the hook moved either.
  ASSERT_EQ(kernel_.Load(backend(), 4, "*filter\n-I FORWARD 1 -j ACCEPT\nCOMMIT\n"), "");
  const std::string before = State();
  // A change in raw (fastpath's port), in filter (host-base's port) and a new set member;
  // the kernel refuses the filter rule, after raw may have been committed.
  const std::string changed =
      Changed({{"4789", "4790"},
               {"179", "180"},
               {"\"198.19.0.0/16\"", "\"198.19.0.0/16\", \"198.20.0.0/16\""}});
  kernel_.RefuseRulesContaining("--dports 180");
  Outcome failed = Apply(changed);
  EXPECT_EQ(failed.status.code(), absl::StatusCode::kAborted) << failed.status;
  EXPECT_TRUE(absl::StrContains(failed.status.message(), "the previous rules are in force"))
      << failed.status;
  EXPECT_TRUE(absl::StrContains(failed.Log(), "at plan line")) << failed.Log();
  EXPECT_TRUE(State() == before) << LineDiff(before, State());
  // Refused under --test: nothing but the set was changed (one member added, by delta), and
  // only that was put back (the member deleted again).
  EXPECT_TRUE(absl::StrContains(failed.Log(), "I ipset: set felix-blocklist updated: 1 added"))
      << failed.Log();
  EXPECT_TRUE(
      absl::StrContains(failed.Log(), "I put back: ipset: set felix-blocklist updated: 1 removed"))
      << failed.Log();
  EXPECT_FALSE(absl::StrContains(failed.Log(), "raw")) << failed.Log();

  // Refused only when the filter table is committed, after raw: the log says what was made,
  // in the order it was made, never the refused change, and what was put back.
  kernel_.RefuseRulesContaining("--dports 180", /*under_test=*/false);
  failed = Apply(changed);
  EXPECT_EQ(failed.status.code(), absl::StatusCode::kAborted) << failed.status;
  EXPECT_TRUE(State() == before) << LineDiff(before, State());
  EXPECT_EQ(std::string(failed.status.message()),
            "put back 2 changes; the previous rules are in force");
  std::vector<std::string> said;
  for (const std::string& line : failed.log) {
    if (!absl::StrContains(line, "moved back")) {
      said.push_back(line.substr(0, line.find(" at plan") == std::string::npos
                                        ? std::string::npos
                                        : line.find(" at plan")));
    }
  }
  EXPECT_EQ(absl::StrJoin(said, "\n"),
            absl::StrCat("I ipset: set felix-blocklist updated: 1 added\n"
                         "I v4 raw: chain felix-p-fastpath-i edited: 1 replaced\n"
                         "E iptables-",
                         BackendName(backend()),
                         "-restore --noflush failed\n"
                         "I put back: ipset: set felix-blocklist updated: 1 removed\n"
                         "I put back: v4 raw: chain felix-p-fastpath-i edited: 1 replaced"))
      << failed.Log();
  kernel_.RefuseRulesContaining("");
  ASSERT_TRUE(Apply(changed).status.ok());
  ExpectNoChanges(changed);
}

TEST_P(ApplyTest, SetTypeChangeTakesTwoRounds) {
  ASSERT_TRUE(Apply(kModel).status.ok());
  const std::string changed = Changed({{"\"198.18.1.1/32\"", "\"198.18.1.0/28\""}});
  Outcome outcome = Apply(changed);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status << "\n" << outcome.Log();
  EXPECT_TRUE(absl::StrContains(outcome.Log(), "rebuilt as felix-tmp-v4-web")) << outcome.Log();
  EXPECT_TRUE(absl::StrContains(kernel_.SaveSets(), "create felix-v4-web hash:net family inet"));
  EXPECT_FALSE(absl::StrContains(kernel_.SaveSets(), "felix-tmp-"));
  EXPECT_TRUE(absl::StrContains(kernel_.Save(backend(), 4), "--match-set felix-v4-web src"));
  ExpectNoChanges(changed);
}

// A foreign rule inserted before our hook: the hook goes back to the top.
TEST_P(ApplyTest, HooksAreKeptFirst) {
  ASSERT_TRUE(Apply(kModel).status.ok());
  ASSERT_EQ(kernel_.Load(backend(), 4, "*filter\n-I INPUT 1 -j ACCEPT\nCOMMIT\n"), "");
  Outcome outcome = Apply(kModel);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_TRUE(absl::StrContains(outcome.Log(), "hook INPUT -> felix-INPUT moved back to the top"))
      << outcome.Log();
  EXPECT_TRUE(absl::StrContains(kernel_.Save(backend(), 4),
                                "\n-A INPUT -j felix-INPUT\n-A INPUT -j ACCEPT\n"))
      << kernel_.Save(backend(), 4);
  ExpectNoChanges(kModel);
}

// Removal is applying nothing: every hook, chain and set of ours goes, foreign ones stay.
TEST_P(ApplyTest, ApplyingNothingRemovesEverythingOfOurs) {
  ASSERT_TRUE(Apply(kModel).status.ok());
  ASSERT_EQ(kernel_.Load(backend(), 4, kForeignV4), "");
  ASSERT_EQ(kernel_.LoadSets("create KUBE-X hash:ip family inet\n"), "");
  const std::string foreign = ForeignRules();
  ApplyOptions options;
  options.backend = backend();
  Applier applier(config_, options, &kernel_);
  ASSERT_TRUE(applier.Apply(Desired()).ok());
  EXPECT_FALSE(absl::StrContains(State(), "felix-")) << State();
  EXPECT_TRUE(absl::StrContains(kernel_.SaveSets(), "create KUBE-X "));
  EXPECT_EQ(ForeignRules(), foreign);
  absl::StatusOr<KernelState> state = applier.Observe(Desired());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(applier.Plan(Desired(), *state).empty());
}

// The dry run's private copy is loaded from save text, in which a foreign comment holding a
// newline spans lines; the copy holds that rule as one rule.
TEST_P(ApplyTest, CopyTakesARuleOverSeveralLinesAsOne) {
  KernelState state;
  state.save_text[4] =
      "*filter\n:INPUT ACCEPT [0:0]\n"
      "-A INPUT -m comment --comment \"x\n-A INPUT -j felix-INPUT\" -j ACCEPT\nCOMMIT\n";
  state.ipset_text = "create felix-a hash:ip family inet\n";
  ApplyOptions options;
  options.backend = backend();
  Applier applier(config_, options, &kernel_);
  ASSERT_TRUE(applier.LoadCopy(state).ok());
  EXPECT_TRUE(absl::StrContains(kernel_.Save(backend(), 4),
                                "\n-A INPUT -m comment --comment \"x -A INPUT -j felix-INPUT\" "
                                "-j ACCEPT\nCOMMIT"))
      << kernel_.Save(backend(), 4);
}

// Stale sets that something still uses are kept, with a word, and never stop the others
// from going: a foreign rule the plan sees, and a rule of the other backend it cannot see.
TEST_P(ApplyTest, StaleSetsInUseAreKeptAndTheOthersGo) {
  ASSERT_TRUE(Apply(kModel).status.ok());
  ASSERT_EQ(kernel_.Load(backend(), 4,
                         "*filter\n-A FORWARD -m set --match-set felix-blocklist src -j DROP\n"
                         "COMMIT\n"),
            "");
  Backend other = backend() == Backend::kNft ? Backend::kLegacy : Backend::kNft;
  ASSERT_EQ(kernel_.Load(other, 6,
                         "*filter\n-A INPUT -m set --match-set felix-v6-web src -j DROP\n"
                         "COMMIT\n"),
            "");
  const char* none = R"({"endpoints": []})";
  Outcome outcome = Apply(none);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status << "\n" << outcome.Log();
  EXPECT_TRUE(absl::StrContains(outcome.Log(),
                                "I ipset: set felix-blocklist not destroyed, kept: a foreign rule "
                                "in v4 filter chain FORWARD uses it"))
      << outcome.Log();
  EXPECT_TRUE(absl::StrContains(outcome.Log(),
                                "W ipset: line 2 (set felix-v6-web): destroy "
                                "felix-v6-web failed, the set is kept"))
      << outcome.Log();
  EXPECT_EQ(kernel_.SaveSets().find("felix-v4-web"), std::string::npos) << kernel_.SaveSets();
  EXPECT_NE(kernel_.SaveSets().find("create felix-blocklist"), std::string::npos);
  EXPECT_NE(kernel_.SaveSets().find("create felix-v6-web"), std::string::npos);
}

TEST(DetectBackendTest, OursThenHintsThenMoreRulesThenNft) {
  struct Case {
    const char* name;
    std::vector<std::tuple<Backend, int, const char*>> loads;
    absl::StatusCode code;
    Backend backend;
    const char* reason;
  };
  const char* kOurs = "*filter\n:felix-INPUT - [0:0]\n-A INPUT -j felix-INPUT\nCOMMIT\n";
  const char* kHint = "*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n";
  const char* kTwoRules = "*filter\n-A INPUT -j ACCEPT\n-A OUTPUT -j ACCEPT\nCOMMIT\n";
  const char* kOneRule = "*raw\n-A PREROUTING -j ACCEPT\nCOMMIT\n";
  const Case cases[] = {
      {"nothing anywhere",
       {},
       absl::StatusCode::kOk,
       Backend::kNft,
       "backend nft: neither backend holds a rule; nft is the default"},
      {"ours in legacy, more rules in nft",
       {{Backend::kLegacy, 6, kOurs}, {Backend::kNft, 4, kTwoRules}},
       absl::StatusCode::kOk,
       Backend::kLegacy,
       "backend legacy: our chains are there (felix-INPUT, IPv6 filter)"},
      {"ours in both",
       {{Backend::kLegacy, 4, kOurs}, {Backend::kNft, 6, kOurs}},
       absl::StatusCode::kFailedPrecondition,
       Backend::kNft,
       "our chains are in both the nft and the legacy backend (felix-INPUT, IPv6 filter; "
       "felix-INPUT, IPv4 filter)"},
      {"kubelet's hint in legacy, more rules in nft",
       {{Backend::kLegacy, 4, kHint}, {Backend::kNft, 4, kTwoRules}},
       absl::StatusCode::kOk,
       Backend::kLegacy,
       "backend legacy: kubelet's hint chain is there (KUBE-IPTABLES-HINT, IPv4 mangle)"},
      {"more rules in legacy",
       {{Backend::kLegacy, 4, kTwoRules}, {Backend::kNft, 6, kOneRule}},
       absl::StatusCode::kOk,
       Backend::kLegacy,
       "backend legacy: it holds more rules (2, nft 1)"},
      {"as many in both",
       {{Backend::kLegacy, 4, kOneRule}, {Backend::kNft, 6, kOneRule}},
       absl::StatusCode::kOk,
       Backend::kNft,
       "backend nft: both hold as many rules; nft is the default"},
  };
  for (const Case& c : cases) {
    FakeKernel kernel;
    for (const auto& [backend, family, text] : c.loads) {
      ASSERT_EQ(kernel.Load(backend, family, text), "") << c.name;
    }
    absl::StatusOr<BackendChoice> choice = DetectBackend("felix-", &kernel);
    EXPECT_EQ(choice.status().code(), c.code) << c.name << ": " << choice.status();
    if (choice.ok()) {
      EXPECT_EQ(choice->backend, c.backend) << c.name;
      EXPECT_EQ(choice->reason, c.reason) << c.name;
    } else {
      EXPECT_TRUE(absl::StartsWith(choice.status().message(), c.reason)) << choice.status();
    }
  }
}

// Time is bounded. legacy: another program holds the xtables lock; nft: a foreign writer
// keeps every transaction from committing. Waits are announced; at the limit the run stops,
// puts back what it changed, and says so; once the obstacle goes, the next run converges.
TEST_P(ApplyTest, TimeIsBoundedAndWaitsAreAnnounced) {
  ASSERT_EQ(kernel_.Load(backend(), 4, kForeignV4), "");
  const std::string before = State();
  const absl::Time start = kernel_.Now();
  if (backend() == Backend::kLegacy) {
    kernel_.HoldXtablesLock(absl::Seconds(100));
  } else {
    kernel_.StallNftCommits(true);
  }
  Outcome stuck = Apply(kModel, start + absl::Seconds(40));
  EXPECT_EQ(stuck.status.code(), absl::StatusCode::kDeadlineExceeded) << stuck.status;
  EXPECT_LE(kernel_.Now(), start + absl::Seconds(40));
  EXPECT_TRUE(absl::StrContains(stuck.status.message(), "the previous rules are in force"))
      << stuck.status;
  EXPECT_TRUE(State() == before) << LineDiff(before, State());
  if (backend() == Backend::kLegacy) {
    EXPECT_TRUE(absl::StrContains(stuck.Log(),
                                  "W waiting for the xtables lock: another program "
                                  "holds it (iptables-legacy-restore); waiting at "
                                  "most 28 s"))
        << stuck.Log();
    // A lock held for a while is waited for, and the wait announced.
    kernel_.HoldXtablesLock(absl::Seconds(3));
    Outcome waited = Apply(kModel, kernel_.Now() + absl::Seconds(40));
    EXPECT_TRUE(waited.status.ok()) << waited.status;
    EXPECT_TRUE(absl::StrContains(waited.Log(), "W waiting for the xtables lock")) << waited.Log();
  } else {
    EXPECT_TRUE(absl::StrContains(stuck.Log(), "W still waiting for iptables-nft-restore after 5s"))
        << stuck.Log();
    EXPECT_TRUE(absl::StrContains(stuck.Log(),
                                  "did not finish within the time limit (an nft "
                                  "transaction starts over"))
        << stuck.Log();
    kernel_.StallNftCommits(false);
    ASSERT_TRUE(Apply(kModel, kernel_.Now() + absl::Seconds(40)).status.ok());
  }
  ExpectNoChanges(kModel);
}

// On nft the state is read from the tables fiptgen writes only, each listed on its own; it is
// the state the whole save shows there, hooks and foreign rules included. Legacy reads the
// whole save.
TEST_P(ApplyTest, ObserveReadsTheTablesWeWrite) {
  ASSERT_EQ(kernel_.Load(backend(), 4, kForeignV4), "");
  ASSERT_TRUE(Apply(kModel).status.ok());
  // A foreign rule before our hook, and one in a table fiptgen does not write.
  ASSERT_EQ(kernel_.Load(backend(), 4, "*filter\n-I INPUT 1 -s 192.0.2.9/32 -j ACCEPT\nCOMMIT\n"),
            "");
  ASSERT_EQ(
      kernel_.Load(backend(), 4, "*mangle\n-A PREROUTING -j MARK --set-xmark 0x1/0x1\nCOMMIT\n"),
      "");
  ApplyOptions options;
  options.backend = backend();
  Applier applier(config_, options, &kernel_);
  const size_t first_call = kernel_.calls().size();
  const Desired desired = Generate(*LoadModel(kModel));
  absl::StatusOr<KernelState> state = applier.Observe(desired);
  ASSERT_TRUE(state.ok()) << state.status();
  const std::string calls =
      absl::StrJoin(kernel_.calls().begin() + first_call, kernel_.calls().end(), "\n");
  if (backend() == Backend::kNft) {
    EXPECT_EQ(calls,
              "iptables-nft -t raw -S\niptables-nft -t filter -S\nip6tables-nft -t raw -S\n"
              "ip6tables-nft -t filter -S\nipset save");
  } else {
    EXPECT_EQ(calls, "iptables-legacy-save\nip6tables-legacy-save\nipset save");
  }
  for (int family : {4, 6}) {
    SCOPED_TRACE(absl::StrCat("IPv", family));
    absl::StatusOr<ObservedRuleset> whole =
        ParseIptablesSave(kernel_.Save(backend(), family), family, config_.chain_prefix);
    ASSERT_TRUE(whole.ok());
    const ObservedRuleset* read = state->observed.ForFamily(family);
    ASSERT_NE(read, nullptr);
    for (absl::string_view table : {"raw", "filter"}) {
      auto find = [table](const std::vector<Table>& tables) -> const Table* {
        for (const Table& t : tables) {
          if (t.name == table) {
            return &t;
          }
        }
        return nullptr;
      };
      const Table *want = find(whole->ours.tables), *got = find(read->ours.tables);
      ASSERT_TRUE(want != nullptr && got != nullptr) << table;
      EXPECT_EQ(got->hooks, want->hooks) << table;
      EXPECT_EQ(got->chains, want->chains) << table;
      const Table *want_foreign = find(whole->foreign), *got_foreign = find(read->foreign);
      ASSERT_TRUE(want_foreign != nullptr && got_foreign != nullptr) << table;
      EXPECT_EQ(got_foreign->chains, want_foreign->chains) << table;
    }
    EXPECT_EQ(read->ours.tables.size(),
              backend() == Backend::kNft ? 2u : whole->ours.tables.size());
  }
  // The foreign rule before the hook is seen: the plan moves the hook back up.
  Plans plans = applier.Plan(desired, *state);
  EXPECT_EQ(absl::StrJoin(plans.changes(), "\n"),
            "v4 filter: hook INPUT -> felix-INPUT moved back to the top (a foreign rule got in "
            "front of it)");
}

// After applying, what was written is read back to check that nothing is left to do: on nft
// just the chains written (and the sets), on legacy the whole state. A rule the kernel
// prints back differently is warned about either way.
TEST_P(ApplyTest, ReadsBackWhatItWrote) {
  ASSERT_TRUE(Apply(kModel).status.ok());
  const std::string changed = Changed({{"179", "180"}});
  size_t first_call = kernel_.calls().size();
  Outcome outcome = Apply(changed);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status << "\n" << outcome.Log();
  std::vector<std::string> calls(kernel_.calls().begin() + first_call, kernel_.calls().end());
  std::vector<std::string> after_restores;
  for (size_t i = calls.size(); i > 0 && !absl::StrContains(calls[i - 1], "restore"); --i) {
    after_restores.insert(after_restores.begin(), calls[i - 1]);
  }
  EXPECT_EQ(absl::StrJoin(after_restores, "\n"),
            backend() == Backend::kNft
                ? "iptables-nft -t filter -S felix-p-host-base-i\n"
                  "ip6tables-nft -t filter -S felix-p-host-base-i\nipset save"
                : "iptables-legacy-save\nip6tables-legacy-save\nipset save")
      << absl::StrJoin(calls, "\n");
  ExpectNoChanges(changed);

  kernel_.PrintBack("--dports 181", "--dports 0181");
  const std::string printed_back = Changed({{"179", "181"}});
  outcome = Apply(printed_back);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_TRUE(absl::StrContains(outcome.Log(),
                                "W the kernel prints this back differently, the next run will "
                                "repeat it: v4 filter: chain felix-p-host-base-i edited"))
      << outcome.Log();
}

// A wanted set held with another type that no rule read names is made again at once, unless
// something not read uses it (the kernel counts its references): then it is left alone
// under its name, kept with a note, and the rules use the temporary set.
TEST_P(ApplyTest, SetsSomethingUnreadUsesAreNotDestroyed) {
  ASSERT_EQ(kernel_.LoadSets("create felix-v4-web hash:net family inet\n"), "");
  kernel_.HoldSet("felix-v4-web", 1);
  Outcome outcome = Apply(kModel);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status << "\n" << outcome.Log();
  EXPECT_TRUE(absl::StrContains(outcome.Log(),
                                "I ipset: set felix-v4-web not destroyed, kept: something not read "
                                "(a rule in another table or backend, or a list:set; the kernel "
                                "counts 1 reference) uses it"))
      << outcome.Log();
  EXPECT_TRUE(absl::StrContains(kernel_.Save(backend(), 4), "--match-set felix-tmp-v4-web src"));
  EXPECT_TRUE(absl::StrContains(kernel_.SaveSets(), "create felix-v4-web hash:net"));
  // Once nothing else holds it, the next run moves the rules back to it.
  kernel_.HoldSet("felix-v4-web", 0);
  ASSERT_TRUE(Apply(kModel).status.ok());
  EXPECT_TRUE(absl::StrContains(kernel_.SaveSets(), "create felix-v4-web hash:ip"));
  EXPECT_FALSE(absl::StrContains(kernel_.SaveSets(), "felix-tmp-"));
  ExpectNoChanges(kModel);
}

// An agent's change applied from memory: no save tool runs, each change is logged, and a full
// apply afterwards finds the kernel as planned.
TEST_P(ApplyTest, PlansFromMemoryApplyWithoutReadingTheKernel) {
  IncrementalGenerator gen = AppliedGenerator();
  const std::string foreign_free = State();
  int saves = -1;
  for (const char* address : {"198.18.1.2/32", "198.18.1.3/32"}) {
    absl::StatusOr<Plans> plans = gen.UpsertEndpoint(SecondWorkload(address));
    ASSERT_TRUE(plans.ok()) << plans.status();
    Outcome outcome = ApplyPlans(*plans, &saves);
    ASSERT_TRUE(outcome.status.ok()) << outcome.status << "\n" << outcome.Log();
    EXPECT_EQ(saves, 0) << absl::StrJoin(kernel_.calls(), "\n");
    EXPECT_TRUE(absl::StrContains(outcome.Log(), "I ipset: set felix-v4-web updated: 1 added"))
        << outcome.Log();
    EXPECT_TRUE(absl::StrContains(outcome.Log(), "I applied: ")) << outcome.Log();
  }
  EXPECT_EQ(WhatIsLeft(gen), "");
  // Removing it again takes the kernel back to where it was, from memory too.
  absl::StatusOr<Plans> removed = gen.RemoveEndpoint("w2");
  ASSERT_TRUE(removed.ok());
  ASSERT_TRUE(ApplyPlans(*removed, &saves).status.ok());
  EXPECT_EQ(saves, 0);
  EXPECT_TRUE(State() == foreign_free) << LineDiff(foreign_free, State());
  // Nothing to do is nothing run.
  const size_t calls = kernel_.calls().size();
  EXPECT_EQ(ApplyPlans(Plans()).Log(), "I no changes");
  EXPECT_EQ(kernel_.calls().size(), calls);
}

// A step refused after the set delta and the raw table went in: the kernel is read and the
// part of the state the plans change is put back, the set's delta reversed.
TEST_P(ApplyTest, PlansFromMemoryPutBackTheKnownStateOnFailure) {
  IncrementalGenerator gen = AppliedGenerator();
  ASSERT_EQ(kernel_.Load(backend(), 4, kForeignV4), "");
  const std::string before = State();
  absl::StatusOr<Plans> plans = gen.UpsertEndpoint(SecondWorkload("198.18.1.2/32"));
  ASSERT_TRUE(plans.ok());
  kernel_.RefuseRulesContaining("-g felix-to-w2", /*under_test=*/false);
  int saves = 0;
  Outcome failed = ApplyPlans(*plans, &saves);
  EXPECT_EQ(failed.status.code(), absl::StatusCode::kAborted) << failed.status;
  EXPECT_TRUE(State() == before) << LineDiff(before, State());
  EXPECT_GT(saves, 0);
  EXPECT_TRUE(absl::StrContains(failed.Log(), "I ipset: set felix-v4-web updated: 1 added"))
      << failed.Log();
  EXPECT_TRUE(
      absl::StrContains(failed.Log(), "I put back: ipset: set felix-v4-web updated: 1 removed"))
      << failed.Log();
  EXPECT_TRUE(absl::StrContains(failed.status.message(), "the previous rules are in force"))
      << failed.status;
  // The foreign rules were never part of it.
  EXPECT_TRUE(absl::StrContains(State(), "-A INPUT -s 192.0.2.1/32 -j ACCEPT"));
}

// Without the --test pass, a table the kernel refuses after another family's went in is put
// back like any failed step; nothing is checked beforehand.
TEST_P(ApplyTest, WithoutCheckingFirstARefusedTableIsPutBack) {
  IncrementalGenerator gen = AppliedGenerator();
  const std::string before = State();
  absl::StatusOr<Plans> plans =
      gen.UpsertEndpoint(SecondWorkload("198.18.1.2/32", "fd5a:f1e1::1:2/128"));
  ASSERT_TRUE(plans.ok());
  // Refused in v6 only, under --test too: with the check it never reaches v4.
  kernel_.RefuseRulesContaining("fd5a:f1e1::1:2/128");
  const size_t first_call = kernel_.calls().size();
  Outcome failed = ApplyPlans(*plans, nullptr, /*check_first=*/false);
  EXPECT_EQ(failed.status.code(), absl::StatusCode::kAborted) << failed.status;
  EXPECT_TRUE(State() == before) << LineDiff(before, State());
  std::vector<std::string> calls(kernel_.calls().begin() + first_call, kernel_.calls().end());
  EXPECT_FALSE(absl::StrContains(absl::StrJoin(calls, "\n"), "--test"))
      << absl::StrJoin(calls, "\n");
  EXPECT_TRUE(absl::StrContains(failed.Log(), "I v4 filter: chain felix-from-w2 created"))
      << failed.Log();
  EXPECT_TRUE(absl::StrContains(failed.Log(), "I put back: v4 filter: chain felix-from-w2 deleted"))
      << failed.Log();
  // With it, the refusal comes before any table changed.
  Outcome checked = ApplyPlans(*plans);
  EXPECT_EQ(checked.status.code(), absl::StatusCode::kAborted) << checked.status;
  EXPECT_FALSE(absl::StrContains(checked.Log(), "I v4 filter")) << checked.Log();
  EXPECT_TRUE(State() == before) << LineDiff(before, State());
}

// The kernel is not in the state planned against (someone added the member by hand): the
// delta's add fails loudly, nothing after it runs, and the known state is put back over the
// part the plans change.
TEST_P(ApplyTest, PlansFromMemoryFailLoudlyWhenTheKernelDrifted) {
  IncrementalGenerator gen = AppliedGenerator();
  const std::string known = State();
  ASSERT_EQ(kernel_.LoadSets("add felix-v4-web 198.18.1.2\n"), "");
  absl::StatusOr<Plans> plans = gen.UpsertEndpoint(SecondWorkload("198.18.1.2/32"));
  ASSERT_TRUE(plans.ok());
  ASSERT_TRUE(absl::StrContains(plans->ipsets.before, "add felix-v4-web 198.18.1.2\n"));
  Outcome failed = ApplyPlans(*plans);
  EXPECT_EQ(failed.status.code(), absl::StatusCode::kAborted) << failed.status;
  EXPECT_TRUE(absl::StrContains(failed.Log(), "it's already added")) << failed.Log();
  EXPECT_FALSE(absl::StrContains(failed.Log(), "I v4 filter")) << failed.Log();
  EXPECT_TRUE(State() == known) << LineDiff(known, State());
}

// A set that changes type takes a second round, planned against the kernel over the part
// of the state the change is about; afterwards the kernel is as planned.
TEST_P(ApplyTest, PlansFromMemoryFinishASetTypeChange) {
  IncrementalGenerator gen = AppliedGenerator();
  absl::StatusOr<Plans> plans = gen.UpsertEndpoint(SecondWorkload("198.18.1.16/28"));
  ASSERT_TRUE(plans.ok());
  ASSERT_TRUE(plans->needs_another_round());
  Outcome outcome = ApplyPlans(*plans);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status << "\n" << outcome.Log();
  EXPECT_TRUE(absl::StrContains(kernel_.SaveSets(), "create felix-v4-web hash:net family inet"));
  EXPECT_FALSE(absl::StrContains(kernel_.SaveSets(), "felix-tmp-"));
  EXPECT_FALSE(absl::StrContains(kernel_.Save(backend(), 4), "felix-tmp-"));
  EXPECT_EQ(WhatIsLeft(gen), "");
}

// Plans that do not say what they change from cannot be put back: refused, nothing run.
TEST_P(ApplyTest, PlansFromMemoryNeedWhatTheyChangeFrom) {
  IncrementalGenerator gen = AppliedGenerator();
  absl::StatusOr<Plans> plans = gen.UpsertEndpoint(SecondWorkload("198.18.1.2/32"));
  ASSERT_TRUE(plans.ok());
  Plans bare = *plans;
  bare.from = Desired();
  bare.to = Desired();
  const size_t calls = kernel_.calls().size();
  EXPECT_EQ(ApplyPlans(bare).status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kernel_.calls().size(), calls);
}

// The applier killed right after each step that changes something, in each kind of run: the
// next run converges to what an uninterrupted run gives, the run after it changes nothing,
// and foreign rules stay as they were.
TEST_P(ApplyTest, ConvergesAfterAKillAtEveryStep) {
  const std::string changed = Changed({{"4789", "4790"}, {"179", "180"}, {"tapw1", "tapw2"}});
  const std::string type_changed = Changed({{"\"198.18.1.1/32\"", "\"198.18.1.0/28\""}});
  struct Scenario {
    const char* name;
    const char* before;  // nullptr: an empty kernel
    std::string after;
  };
  const Scenario scenarios[] = {{"first apply", nullptr, kModel},
                                {"ordinary change", kModel, changed},
                                {"set-type change", kModel, type_changed}};
  for (const Scenario& s : scenarios) {
    SCOPED_TRACE(s.name);
    auto start = [&] {
      kernel_ = FakeKernel();
      ASSERT_EQ(kernel_.Load(backend(), 4, kForeignV4), "");
      if (s.before != nullptr) {
        ASSERT_TRUE(Apply(s.before).status.ok());
      }
    };
    start();
    const std::string foreign = ForeignRules();
    const int first_change = kernel_.changes();
    ASSERT_TRUE(Apply(s.after).status.ok());
    const int steps = kernel_.changes() - first_change;
    const std::string converged = State();
    ASSERT_GE(steps, 2);
    for (int n = 1; n <= steps; ++n) {
      SCOPED_TRACE(absl::StrCat("killed after change ", n, " of ", steps));
      start();
      kernel_.CrashAfterChanges(kernel_.changes() + n);
      Apply(s.after);
      ASSERT_TRUE(kernel_.crashed());
      kernel_.Revive();
      Outcome next = Apply(s.after);
      ASSERT_TRUE(next.status.ok()) << next.status << "\n" << next.Log();
      EXPECT_TRUE(State() == converged) << LineDiff(converged, State());
      ExpectNoChanges(s.after);
      EXPECT_EQ(ForeignRules(), foreign);
    }
  }
}

}  // namespace
}  // namespace fiptgen
