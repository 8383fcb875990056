#include "fiptgen/plan.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/net.h"
#include "fiptgen/observed.h"
#include "fiptgen/render.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

// Rulesets are written as iptables-save text: the parser is the observed path anyway, and
// the text reads as what the kernel would show.
ObservedRuleset Save(absl::string_view text, int family = 4) {
  absl::StatusOr<ObservedRuleset> seen = ParseIptablesSave(text, family, "felix-");
  EXPECT_TRUE(seen.ok()) << seen.status() << "\nin:\n" << text;
  return seen.ok() ? *std::move(seen) : ObservedRuleset{};
}

// Desired state built in code, the way the generator builds it.
Ruleset WantedRuleset() {
  Ruleset rs;
  rs.family = 4;
  Table raw{"raw", {{"PREROUTING", "felix-PREROUTING"}}, {}};
  raw.chains.emplace_back("felix-PREROUTING");
  raw.chains.back().AddRule("-j MARK --set-xmark 0x0/0x1000000");
  Table filter{"filter", {{"INPUT", "felix-INPUT"}, {"FORWARD", "felix-FORWARD"}}, {}};
  filter.chains.emplace_back("felix-INPUT");
  filter.chains.back().AddRule("-m conntrack --ctstate INVALID -j DROP");
  filter.chains.back().AddRule("-j felix-from-w1");
  filter.chains.emplace_back("felix-FORWARD");
  filter.chains.back().AddRule("-j ACCEPT");
  filter.chains.emplace_back("felix-from-w1");
  filter.chains.back().AddRule("-j DROP");
  rs.tables = {std::move(raw), std::move(filter)};
  return rs;
}

// WantedRuleset() as iptables-save prints it back.
constexpr char kDesiredSaved[] = R"(*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A PREROUTING -j felix-PREROUTING
-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-from-w1 - [0:0]
-A INPUT -j felix-INPUT
-A FORWARD -j felix-FORWARD
-A felix-FORWARD -j ACCEPT
-A felix-INPUT -m conntrack --ctstate INVALID -j DROP
-A felix-INPUT -j felix-from-w1
-A felix-from-w1 -j DROP
COMMIT
)";

TEST(PlanRestoreTest, AgainstEmptyStateIsTheFullScript) {
  std::string full;
  RenderRestore(WantedRuleset(), &full);
  for (const char* empty : {"", "*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"}) {
    ObservedRuleset seen = Save(empty);
    RestorePlan plan = PlanRestore(WantedRuleset(), seen.ours, seen.foreign);
    EXPECT_EQ(plan.text, full) << "observed: " << empty;
  }
  EXPECT_EQ(PlanRestore(WantedRuleset(), Ruleset{}).text, full);
}

TEST(PlanRestoreTest, AgainstItselfIsEmpty) {
  ObservedRuleset seen = Save(kDesiredSaved);
  RestorePlan plan = PlanRestore(WantedRuleset(), seen.ours, seen.foreign);
  EXPECT_EQ(plan.text, "");
  EXPECT_TRUE(plan.changes.empty()) << absl::StrJoin(plan.changes, "\n");
  // The same from memory: the agent passes what it applied last.
  EXPECT_EQ(PlanRestore(WantedRuleset(), WantedRuleset()).text, "");
}

TEST(PlanRestoreTest, Cases) {
  struct Case {
    const char* name;
    const char* observed;  // iptables-save text
    const char* plan;
    std::vector<std::string> changes;
  };
  const Case cases[] = {
      {"one rule missing: only it is inserted, the other rules keep their counters",
       R"(*raw
:PREROUTING ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A PREROUTING -j felix-PREROUTING
-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-from-w1 - [0:0]
-A INPUT -j felix-INPUT
-A FORWARD -j felix-FORWARD
-A felix-FORWARD -j ACCEPT
-A felix-INPUT -j felix-from-w1
-A felix-from-w1 -j DROP
COMMIT
)",
       R"(*filter
-I felix-INPUT 1 -m conntrack --ctstate INVALID -j DROP
COMMIT
)",
       {"v4 filter: chain felix-INPUT edited: 1 inserted"}},
      {"rules all different: the chain is refilled, a smaller text than the edit",
       R"(*raw
:PREROUTING ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A PREROUTING -j felix-PREROUTING
-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-from-w1 - [0:0]
-A INPUT -j felix-INPUT
-A FORWARD -j felix-FORWARD
-A felix-FORWARD -j ACCEPT
-A felix-INPUT -p tcp -j ACCEPT
-A felix-INPUT -p udp -j ACCEPT
-A felix-INPUT -p icmp -j ACCEPT
-A felix-INPUT -j DROP
-A felix-from-w1 -j DROP
COMMIT
)",
       R"(*filter
:felix-INPUT - [0:0]
-A felix-INPUT -m conntrack --ctstate INVALID -j DROP
-A felix-INPUT -j felix-from-w1
COMMIT
)",
       {"v4 filter: chain felix-INPUT refilled"}},
      {"rules deleted and replaced in place; the jump to a stale chain goes before the chain",
       R"(*raw
:PREROUTING ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A PREROUTING -j felix-PREROUTING
-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-from-w1 - [0:0]
:felix-old - [0:0]
-A INPUT -j felix-INPUT
-A FORWARD -j felix-FORWARD
-A felix-FORWARD -j DROP
-A felix-INPUT -j felix-from-w1
-A felix-INPUT -m conntrack --ctstate INVALID -j DROP
-A felix-INPUT -j felix-old
-A felix-from-w1 -j DROP
-A felix-old -j DROP
COMMIT
)",
       R"(*filter
:felix-old - [0:0]
-D felix-INPUT 1
-R felix-INPUT 2 -j felix-from-w1
-R felix-FORWARD 1 -j ACCEPT
-X felix-old
COMMIT
)",
       {"v4 filter: chain felix-INPUT edited: 1 replaced, 1 deleted",
        "v4 filter: chain felix-FORWARD edited: 1 replaced", "v4 filter: chain felix-old deleted"}},
      {"hook missing: only the hook is inserted",
       R"(*raw
:PREROUTING ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-from-w1 - [0:0]
-A INPUT -j felix-INPUT
-A FORWARD -j felix-FORWARD
-A felix-FORWARD -j ACCEPT
-A felix-INPUT -m conntrack --ctstate INVALID -j DROP
-A felix-INPUT -j felix-from-w1
-A felix-from-w1 -j DROP
COMMIT
)",
       "*raw\n-I PREROUTING 1 -j felix-PREROUTING\nCOMMIT\n",
       {"v4 raw: hook PREROUTING -> felix-PREROUTING inserted"}},
      {"stale chain and its hook deleted, duplicate hook removed, foreign rules kept",
       R"(*raw
:PREROUTING ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A PREROUTING -j felix-PREROUTING
-A PREROUTING -j felix-PREROUTING
-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-OUTPUT - [0:0]
:felix-from-w1 - [0:0]
:felix-to-w1 - [0:0]
-A INPUT -j felix-INPUT
-A FORWARD -j felix-FORWARD
-A FORWARD -j DOCKER-USER
-A OUTPUT -j felix-OUTPUT
-A DOCKER-USER -j RETURN
-A felix-FORWARD -j ACCEPT
-A felix-INPUT -m conntrack --ctstate INVALID -j DROP
-A felix-INPUT -j felix-from-w1
-A felix-OUTPUT -j felix-to-w1
-A felix-from-w1 -j DROP
-A felix-to-w1 -j DROP
COMMIT
)",
       R"(*raw
-D PREROUTING -j felix-PREROUTING
COMMIT
*filter
:felix-OUTPUT - [0:0]
:felix-to-w1 - [0:0]
-D OUTPUT -j felix-OUTPUT
-X felix-OUTPUT
-X felix-to-w1
COMMIT
)",
       {"v4 raw: hook PREROUTING -> felix-PREROUTING deleted",
        "v4 filter: hook OUTPUT -> felix-OUTPUT deleted", "v4 filter: chain felix-OUTPUT deleted",
        "v4 filter: chain felix-to-w1 deleted"}},
      {"stale chain a foreign rule jumps to: flushed, kept",
       R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:DOCKER-USER - [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-empty - [0:0]
:felix-from-w1 - [0:0]
:felix-old - [0:0]
-A INPUT -j felix-INPUT
-A INPUT -i eth9 -g felix-empty
-A FORWARD -j felix-FORWARD
-A DOCKER-USER -s 10.0.0.0/8 -j felix-old
-A felix-FORWARD -j ACCEPT
-A felix-INPUT -m conntrack --ctstate INVALID -j DROP
-A felix-INPUT -j felix-from-w1
-A felix-from-w1 -j DROP
-A felix-old -j DROP
COMMIT
)",
       "*raw\n:felix-PREROUTING - [0:0]\n-I PREROUTING 1 -j felix-PREROUTING\n"
       "-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000\nCOMMIT\n"
       "*filter\n:felix-old - [0:0]\nCOMMIT\n",
       {"v4 raw: chain felix-PREROUTING created",
        "v4 raw: hook PREROUTING -> felix-PREROUTING inserted",
        "v4 filter: chain felix-old flushed, kept: foreign chain DOCKER-USER jumps to it"}},
      {"our chains in tables fiptgen does not write are left alone; a managed table no "
       "longer wanted is emptied",
       R"(*nat
:PREROUTING ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A PREROUTING -j felix-PREROUTING
-A felix-PREROUTING -j RETURN
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A PREROUTING -j felix-PREROUTING
-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-from-w1 - [0:0]
-A INPUT -j felix-INPUT
-A FORWARD -j felix-FORWARD
-A felix-FORWARD -j ACCEPT
-A felix-INPUT -m conntrack --ctstate INVALID -j DROP
-A felix-INPUT -j felix-from-w1
-A felix-from-w1 -j DROP
COMMIT
)",
       "",
       {}},
  };
  for (const Case& c : cases) {
    ObservedRuleset seen = Save(c.observed);
    RestorePlan plan = PlanRestore(WantedRuleset(), seen.ours, seen.foreign);
    EXPECT_EQ(plan.text, c.plan) << c.name;
    EXPECT_EQ(absl::StrJoin(plan.changes, "\n"), absl::StrJoin(c.changes, "\n")) << c.name;
    // The table steps cut the text and the changes into whole tables, in order.
    std::string text;
    size_t changes = 0;
    for (const RestorePlan::TableStep& step : plan.tables) {
      absl::string_view part =
          absl::string_view(plan.text).substr(step.text_begin, step.text_end - step.text_begin);
      EXPECT_TRUE(absl::StartsWith(part, absl::StrCat("*", step.table, "\n"))) << c.name;
      EXPECT_TRUE(absl::EndsWith(part, "\nCOMMIT\n")) << c.name;
      absl::StrAppend(&text, part);
      EXPECT_EQ(step.changes_begin, changes) << c.name;
      for (size_t i = step.changes_begin; i < step.changes_end; ++i) {
        EXPECT_TRUE(absl::StrContains(plan.changes[i], absl::StrCat(" ", step.table, ": ")))
            << c.name << ": " << plan.changes[i];
      }
      changes = step.changes_end;
      // `written` names every chain a rule line of the step writes, and no chain it deletes.
      std::set<std::string> ruled, declared, deleted;
      for (absl::string_view line : absl::StrSplit(part, '\n', absl::SkipEmpty())) {
        std::vector<std::string> words = absl::StrSplit(line, ' ');
        if (words[0] == "-A" || words[0] == "-I" || words[0] == "-R" || words[0] == "-D") {
          ruled.insert(words[1]);
        } else if (words[0] == "-X") {
          deleted.insert(words[1]);
        } else if (absl::StartsWith(words[0], ":")) {
          declared.insert(words[0].substr(1));
        }
      }
      const std::set<std::string> written(step.written.begin(), step.written.end());
      EXPECT_EQ(written.size(), step.written.size()) << c.name;
      EXPECT_TRUE(std::is_sorted(step.written.begin(), step.written.end())) << c.name;
      for (const std::string& chain : ruled) {
        EXPECT_TRUE(written.count(chain)) << c.name << ": " << chain << " not in written";
      }
      for (const std::string& chain : written) {
        EXPECT_TRUE(ruled.count(chain) || (declared.count(chain) && !deleted.count(chain)))
            << c.name << ": " << chain;
      }
    }
    EXPECT_EQ(text, plan.text) << c.name;
    EXPECT_EQ(changes, plan.changes.size()) << c.name;
  }
}

// Our hooks are kept first: a foreign rule in front of one moves it back to the top, in the
// same transaction (HookMode::kFirst); --hooks append only makes sure each is there.
TEST(PlanRestoreTest, HooksFirstOrAppended) {
  constexpr char kForeignInFront[] = R"(*raw
:PREROUTING ACCEPT [0:0]
:felix-PREROUTING - [0:0]
-A PREROUTING -j felix-PREROUTING
-A felix-PREROUTING -j MARK --set-xmark 0x0/0x1000000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:felix-FORWARD - [0:0]
:felix-INPUT - [0:0]
:felix-OLD - [0:0]
:felix-from-w1 - [0:0]
-A INPUT -s 192.0.2.1/32 -j ACCEPT
-A INPUT -j felix-INPUT
-A INPUT -j felix-OLD
-A felix-FORWARD -j ACCEPT
-A felix-INPUT -m conntrack --ctstate INVALID -j DROP
-A felix-INPUT -j felix-from-w1
-A felix-from-w1 -j DROP
COMMIT
)";
  ObservedRuleset seen = Save(kForeignInFront);
  RestorePlan first = PlanRestore(WantedRuleset(), seen.ours, seen.foreign, HookMode::kFirst);
  EXPECT_EQ(first.text,
            "*filter\n:felix-OLD - [0:0]\n"
            "-D INPUT -j felix-INPUT\n-D INPUT -j felix-OLD\n"
            "-I INPUT 1 -j felix-INPUT\n-I FORWARD 1 -j felix-FORWARD\n"
            "-X felix-OLD\nCOMMIT\n");
  EXPECT_EQ(absl::StrJoin(first.changes, "\n"),
            "v4 filter: hook INPUT -> felix-INPUT moved back to the top (a foreign rule got in "
            "front of it)\n"
            "v4 filter: hook FORWARD -> felix-FORWARD inserted\n"
            "v4 filter: hook INPUT -> felix-OLD deleted\n"
            "v4 filter: chain felix-OLD deleted");
  RestorePlan append = PlanRestore(WantedRuleset(), seen.ours, seen.foreign, HookMode::kAppend);
  EXPECT_EQ(append.text,
            "*filter\n:felix-OLD - [0:0]\n-D INPUT -j felix-OLD\n"
            "-A FORWARD -j felix-FORWARD\n-X felix-OLD\nCOMMIT\n");
  // Only foreign rules count: our own hooks before another of ours are in place.
  ObservedRuleset placed = Save(kDesiredSaved);
  EXPECT_EQ(PlanRestore(WantedRuleset(), placed.ours, placed.foreign).text, "");
}

TEST(PlanRestoreTest, FamilyNoLongerWantedLosesEverythingOfOurs) {
  ObservedRuleset seen = Save(kDesiredSaved, 6);
  Ruleset nothing;
  nothing.family = 6;
  RestorePlan plan = PlanRestore(nothing, seen.ours, seen.foreign);
  EXPECT_EQ(plan.text,
            "*raw\n:felix-PREROUTING - [0:0]\n-D PREROUTING -j felix-PREROUTING\n"
            "-X felix-PREROUTING\nCOMMIT\n"
            "*filter\n:felix-FORWARD - [0:0]\n:felix-INPUT - [0:0]\n:felix-from-w1 - [0:0]\n"
            "-D FORWARD -j felix-FORWARD\n-D INPUT -j felix-INPUT\n"
            "-X felix-FORWARD\n-X felix-INPUT\n-X felix-from-w1\nCOMMIT\n");
}

// A set as `ipset save` would give it, members in the order listed: an address of the
// family is a member, anything else goes to `other`.
IpSetSpec Set(const char* name, const char* type, int family,
              const std::vector<std::string>& members) {
  IpSetSpec set{name, type, family, {}, {}};
  for (const std::string& m : members) {
    absl::StatusOr<IpNet> net = ParseIpNet(m, family);
    if (net.ok()) {
      set.members.push_back(*net);
    } else {
      set.other.push_back(m);
    }
  }
  return set;
}

TEST(PlanIpsetsTest, Cases) {
  const Config config;  // ipset_prefix "felix-"
  struct Case {
    const char* name;
    std::vector<IpSetSpec> desired, observed;
    const char* before;
    const char* after;
    std::vector<std::string> changes;
    std::vector<std::pair<std::string, std::string>> renamed;
  };
  const Case cases[] = {
      {"nothing to do",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"})},
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"})},
       "",
       "",
       {},
       {}},
      {"new set",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1", "198.18.1.2"})},
       {},
       "create felix-v4-web hash:ip family inet\nadd felix-v4-web 198.18.1.1\n"
       "add felix-v4-web 198.18.1.2\n",
       "",
       {"ipset: set felix-v4-web created (2 members)"},
       {}},
      {"member added: one add line",
       {Set("felix-v6-web", "hash:ip", 6, {"fd5a::1", "fd5a::2"})},
       {Set("felix-v6-web", "hash:ip", 6, {"fd5a::1"})},
       "add felix-v6-web fd5a::2\n",
       "",
       {"ipset: set felix-v6-web updated: 1 added"},
       {}},
      {"member removed: one del line",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1", "198.18.1.3"})},
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1", "198.18.1.2", "198.18.1.3"})},
       "del felix-v4-web 198.18.1.2\n",
       "",
       {"ipset: set felix-v4-web updated: 1 removed"},
       {}},
      {"members added and removed: deletions first, so the set never holds more than before "
       "or after",
       {Set("felix-v4-web", "hash:net", 4, {"198.18.1.0/24", "198.18.3.0/24", "198.18.4.0/24"})},
       {Set("felix-v4-web", "hash:net", 4, {"198.18.1.0/24", "198.18.2.0/24", "198.18.4.0/24"})},
       "del felix-v4-web 198.18.2.0/24\nadd felix-v4-web 198.18.3.0/24\n",
       "",
       {"ipset: set felix-v4-web updated: 1 added, 1 removed"},
       {}},
      {"difference as large as the set: still a delta",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.3", "198.18.1.4"})},
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.3", "198.18.1.5"})},
       "del felix-v4-web 198.18.1.5\nadd felix-v4-web 198.18.1.4\n",
       "",
       {"ipset: set felix-v4-web updated: 1 added, 1 removed"},
       {}},
      {"difference larger than the set: rebuilt and swapped",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.9"})},
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1", "198.18.1.2"})},
       "create felix-tmp-v4-web hash:ip family inet\nadd felix-tmp-v4-web 198.18.1.9\n"
       "swap felix-tmp-v4-web felix-v4-web\ndestroy felix-tmp-v4-web\n",
       "",
       {"ipset: set felix-v4-web swapped (1 members; the difference is larger: 1 added, 2 "
        "removed)"},
       {}},
      {"a member that is not an address (added by hand with an option) is deleted by its text",
       {Set("felix-v4-web", "hash:net", 4, {"198.18.0.0/16", "198.20.0.0/16"})},
       {Set("felix-v4-web", "hash:net", 4, {"198.18.0.0/16", "10.0.0.0/8 nomatch"})},
       "del felix-v4-web 10.0.0.0/8 nomatch\nadd felix-v4-web 198.20.0.0/16\n",
       "",
       {"ipset: set felix-v4-web updated: 1 added, 1 removed"},
       {}},
      {"the same members in another order: nothing to do",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1", "198.18.1.2"})},
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.2", "198.18.1.1"})},
       "",
       "",
       {},
       {}},
      {"leftover temporary set of a failed run, the set emptied: the leftover is destroyed "
       "first and the set swapped, not destroyed again after",
       {Set("felix-v4-web", "hash:ip", 4, {})},
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"}),
        Set("felix-tmp-v4-web", "hash:ip", 4, {"198.18.1.1"})},
       "destroy felix-tmp-v4-web\ncreate felix-tmp-v4-web hash:ip family inet\n"
       "swap felix-tmp-v4-web felix-v4-web\ndestroy felix-tmp-v4-web\n",
       "",
       {"ipset: set felix-v4-web swapped (0 members; the difference is larger: 1 removed)"},
       {}},
      {"leftover temporary set of a failed run and a small difference: the delta goes to the "
       "set, the leftover is stale and destroyed after",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1", "198.18.1.2"})},
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"}),
        Set("felix-tmp-v4-web", "hash:ip", 4, {"198.18.1.1"})},
       "add felix-v4-web 198.18.1.2\n",
       "destroy felix-tmp-v4-web\n",
       {"ipset: set felix-v4-web updated: 1 added", "ipset: set felix-tmp-v4-web destroyed"},
       {}},
      {"stale sets destroyed after, by name, including leftover temporaries",
       {},
       {Set("felix-v4-old", "hash:net", 4, {"10.0.0.0/8"}),
        Set("felix-tmp-v4-web", "hash:ip", 4, {})},
       "",
       "destroy felix-tmp-v4-web\ndestroy felix-v4-old\n",
       {"ipset: set felix-tmp-v4-web destroyed", "ipset: set felix-v4-old destroyed"},
       {}},
      {"type changed: built under the temporary name, old one destroyed after",
       {Set("felix-v4-web", "hash:net", 4, {"198.18.0.0/16"})},
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"})},
       "create felix-tmp-v4-web hash:net family inet\nadd felix-tmp-v4-web 198.18.0.0/16\n",
       "destroy felix-v4-web\n",
       {"ipset: set felix-v4-web rebuilt as felix-tmp-v4-web (hash:ip family 4 -> hash:net "
        "family 4 cannot be swapped; a second round renames it back)"},
       {{"felix-v4-web", "felix-tmp-v4-web"}}},
      {"second round of a type change: real name created, temporary destroyed",
       {Set("felix-v4-web", "hash:net", 4, {"198.18.0.0/16"})},
       {Set("felix-tmp-v4-web", "hash:net", 4, {"198.18.0.0/16"})},
       "create felix-v4-web hash:net family inet\nadd felix-v4-web 198.18.0.0/16\n",
       "destroy felix-tmp-v4-web\n",
       {"ipset: set felix-v4-web created (1 members)", "ipset: set felix-tmp-v4-web destroyed"},
       {}},
  };
  for (const Case& c : cases) {
    IpsetPlan plan = PlanIpsets(c.desired, c.observed, config);
    EXPECT_EQ(plan.before, c.before) << c.name;
    EXPECT_EQ(plan.after, c.after) << c.name;
    EXPECT_EQ(absl::StrJoin(plan.changes, "\n"), absl::StrJoin(c.changes, "\n")) << c.name;
    EXPECT_EQ(plan.renamed, c.renamed) << c.name;
  }
}

// One member more costs one line whatever the set's size, until the set would outgrow the
// maxelem it was created with: then it is rebuilt with a larger one.
TEST(PlanIpsetsTest, LargeSetsGetDeltasUntilTheyOutgrowTheirMaxelem) {
  auto members = [](int n) {
    std::vector<std::string> m;
    for (int i = 0; i < n; ++i) {
      m.push_back(absl::StrCat("10.", i >> 16, ".", (i >> 8) & 255, ".", i & 255));
    }
    return m;
  };
  struct Case {
    int have, want;
    bool swapped;
    const char* before;  // all of it, or its first line when swapped
    const char* change;
  };
  const Case cases[] = {
      {100000, 100001, false, "add felix-big 10.1.134.160\n",
       "ipset: set felix-big updated: 1 added"},
      {100001, 100000, false, "del felix-big 10.1.134.160\n",
       "ipset: set felix-big updated: 1 removed"},
      {65535, 65536, false, "add felix-big 10.0.255.255\n",
       "ipset: set felix-big updated: 1 added"},
      {65536, 65537, true, "create felix-tmp-big hash:ip family inet maxelem 131072\n",
       "ipset: set felix-big swapped (65537 members; more than its maxelem, 65536)"},
      {131072, 131073, true, "create felix-tmp-big hash:ip family inet maxelem 262144\n",
       "ipset: set felix-big swapped (131073 members; more than its maxelem, 131072)"},
  };
  for (const Case& c : cases) {
    IpsetPlan plan = PlanIpsets({Set("felix-big", "hash:ip", 4, members(c.want))},
                                {Set("felix-big", "hash:ip", 4, members(c.have))}, Config());
    const std::string name = absl::StrCat(c.have, " -> ", c.want, " members");
    if (c.swapped) {
      EXPECT_TRUE(absl::StartsWith(plan.before, c.before)) << name;
      EXPECT_TRUE(
          absl::EndsWith(plan.before, "swap felix-tmp-big felix-big\ndestroy felix-tmp-big\n"))
          << name;
    } else {
      EXPECT_EQ(plan.before, c.before) << name;
    }
    EXPECT_EQ(absl::StrJoin(plan.changes, "\n"), c.change) << name;
  }
}

// What an interrupted type change leaves, planned with which rules use which set.
TEST(PlanIpsetsTest, SetsRulesUseAreNeverDestroyedFirst) {
  const Config config;
  const IpSetSpec want = Set("felix-v4-web", "hash:net", 4, {"198.18.0.0/16"});
  struct Case {
    const char* name;
    std::vector<IpSetSpec> observed;
    std::vector<std::string> used;  // sets the rules name now
    const char* before;
    const char* after;
    std::vector<std::pair<std::string, std::string>> renamed;
    bool another_round;
  };
  const Case cases[] = {
      {"killed after the rules moved to the temporary set: the old set, unused, is recreated "
       "under its name at once and the temporary one goes after the rules move back",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"}),
        Set("felix-tmp-v4-web", "hash:net", 4, {"198.18.0.0/16"})},
       {"felix-tmp-v4-web"},
       "destroy felix-v4-web\ncreate felix-v4-web hash:net family inet\n"
       "add felix-v4-web 198.18.0.0/16\n",
       "destroy felix-tmp-v4-web\n",
       {},
       false},
      {"killed between the tables: both in use, the temporary one has the new type and is the "
       "live set, brought to the members in place",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"}),
        Set("felix-tmp-v4-web", "hash:net", 4, {"198.18.0.0/16", "198.19.0.0/16"})},
       {"felix-v4-web", "felix-tmp-v4-web"},
       "del felix-tmp-v4-web 198.19.0.0/16\n",
       "destroy felix-v4-web\n",
       {{"felix-v4-web", "felix-tmp-v4-web"}},
       true},
      {"killed before the rules moved: the unused temporary set is rebuilt",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"}),
        Set("felix-tmp-v4-web", "hash:net", 4, {"198.18.0.0/16"})},
       {"felix-v4-web"},
       "destroy felix-tmp-v4-web\ncreate felix-tmp-v4-web hash:net family inet\n"
       "add felix-tmp-v4-web 198.18.0.0/16\n",
       "destroy felix-v4-web\n",
       {{"felix-v4-web", "felix-tmp-v4-web"}},
       true},
      {"both in use and neither of the new type: one round on the old set frees the other",
       {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"}),
        Set("felix-tmp-v4-web", "hash:ip", 4, {"198.18.1.1"})},
       {"felix-v4-web", "felix-tmp-v4-web"},
       "",
       "destroy felix-tmp-v4-web\n",
       {},
       true},
  };
  for (const Case& c : cases) {
    SetUsers users;
    for (const std::string& set : c.used) {
      users.now.emplace(set, "v4 filter chain felix-p-web-i");
    }
    IpsetPlan plan = PlanIpsets({want}, c.observed, config, users);
    EXPECT_EQ(plan.before, c.before) << c.name;
    EXPECT_EQ(plan.after, c.after) << c.name;
    EXPECT_EQ(plan.renamed, c.renamed) << c.name;
    EXPECT_EQ(plan.another_round, c.another_round) << c.name;
  }
  // A member change whose temporary name rules use: changed in place, even when the
  // difference is larger than the set, since the temporary name is not free to swap through.
  SetUsers users;
  users.now.emplace("felix-v4-web", "");
  users.now.emplace("felix-tmp-v4-web", "");
  IpsetPlan plan = PlanIpsets({want},
                              {Set("felix-v4-web", "hash:net", 4, {"198.17.0.0/16"}),
                               Set("felix-tmp-v4-web", "hash:ip", 4, {})},
                              config, users);
  EXPECT_EQ(plan.before, "del felix-v4-web 198.17.0.0/16\nadd felix-v4-web 198.18.0.0/16\n");
  EXPECT_EQ(absl::StrJoin(plan.changes, "\n"),
            "ipset: set felix-v4-web updated: 1 added, 1 removed (in place: felix-tmp-v4-web is "
            "in use)\n"
            "ipset: set felix-tmp-v4-web destroyed");
  EXPECT_EQ(plan.after, "destroy felix-tmp-v4-web\n");
}

TEST(FindSetUsersTest, OursForeignAndKept) {
  ObservedState seen;
  seen.rulesets.push_back(Save(R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:felix-p-web-i - [0:0]
-A FORWARD -m set --match-set felix-a src -j DROP
-A felix-p-web-i -m set --match-set felix-b src -m set ! --match-set felix-c dst -j DROP
-A felix-p-web-i -m comment --comment "--match-set felix-d" -j DROP
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:felix-x - [0:0]
-A felix-x -m set --match-set felix-e src -j MARK --set-xmark 0x1/0x1
COMMIT
)"));
  SetUsers users = FindSetUsers(seen);
  EXPECT_EQ(users.now,
            (std::map<std::string, std::string>{{"felix-a", "v4 filter chain FORWARD"},
                                                {"felix-b", "v4 filter chain felix-p-web-i"},
                                                {"felix-c", "v4 filter chain felix-p-web-i"},
                                                {"felix-e", "v4 mangle chain felix-x"}}));
  // Our rules in filter are replaced by the plan; the foreign rule and ours in mangle stay.
  EXPECT_EQ(users.kept, (std::map<std::string, std::string>{
                            {"felix-a", "a foreign rule in v4 filter chain FORWARD"},
                            {"felix-e",
                             "our rule in v4 mangle chain felix-x, a table fiptgen does not "
                             "manage,"}}));
}

// A set no longer wanted that a foreign rule uses is kept, with a note, and the other stale
// sets still go; the same for the old set of a type change.
TEST(PlanIpsetsTest, SetsForeignRulesUseAreKept) {
  SetUsers users;
  users.now = {{"felix-b", "v4 filter chain FORWARD"}, {"felix-v4-web", "v4 filter chain X"}};
  users.kept = {{"felix-b", "a foreign rule in v4 filter chain FORWARD"},
                {"felix-v4-web", "a foreign rule in v4 filter chain X"}};
  IpsetPlan plan =
      PlanIpsets({Set("felix-v4-web", "hash:net", 4, {})},
                 {Set("felix-a", "hash:ip", 4, {}), Set("felix-b", "hash:ip", 4, {}),
                  Set("felix-c", "hash:ip", 4, {}), Set("felix-v4-web", "hash:ip", 4, {})},
                 Config(), users);
  EXPECT_EQ(plan.after, "destroy felix-a\ndestroy felix-c\n");
  EXPECT_EQ(absl::StrJoin(plan.notes, "\n"),
            "ipset: set felix-v4-web not destroyed, kept: a foreign rule in v4 filter chain X "
            "uses it\n"
            "ipset: set felix-b not destroyed, kept: a foreign rule in v4 filter chain FORWARD "
            "uses it");
  EXPECT_EQ(
      plan.renamed,
      (std::vector<std::pair<std::string, std::string>>{{"felix-v4-web", "felix-tmp-v4-web"}}));
}

TEST(PlanIpsetsTest, AgainstNoSetsIsTheFullScript) {
  std::vector<IpSetSpec> sets = {Set("felix-a", "hash:net", 4, {"10.0.0.0/8"}),
                                 Set("felix-v6-b", "hash:ip", 6, {"fd5a::1"})};
  std::string full;
  RenderIpsetRestore(sets, &full);
  IpsetPlan plan = PlanIpsets(sets, {}, Config());
  EXPECT_EQ(plan.before, full);
  EXPECT_EQ(plan.after, "");
}

TEST(PlanStateTest, FamiliesSetsAndRenames) {
  Desired desired;
  desired.rulesets.push_back(WantedRuleset());
  desired.rulesets[0].tables[1].chains[2].AddRule("-m set --match-set felix-v4-web src -j DROP");
  desired.ipsets = {Set("felix-v4-web", "hash:net", 4, {"198.18.0.0/16"})};
  // The kernel holds the set with another type, which a rule uses, and our chains in v6, a
  // family no longer wanted.
  ObservedState seen;
  seen.rulesets.push_back(Save(absl::StrReplaceAll(
      kDesiredSaved, {{"-A felix-from-w1 -j DROP\n",
                       "-A felix-from-w1 -j DROP\n"
                       "-A felix-from-w1 -m set --match-set felix-v4-web src -j DROP\n"}})));
  seen.rulesets.push_back(
      Save("*filter\n:INPUT ACCEPT [0:0]\n:felix-INPUT - [0:0]\n"
           "-A INPUT -j felix-INPUT\nCOMMIT\n",
           6));
  seen.ipsets = {Set("felix-v4-web", "hash:ip", 4, {"198.18.1.1"})};
  Plans plans = PlanState(desired, seen, Config());
  std::string text;
  RenderPlans(plans, &text);
  EXPECT_EQ(text,
            "== ipset restore (before) ==\n"
            "create felix-tmp-v4-web hash:net family inet\n"
            "add felix-tmp-v4-web 198.18.0.0/16\n"
            "== iptables-restore --noflush ==\n"
            "*filter\n"
            "-R felix-from-w1 2 -m set --match-set felix-tmp-v4-web src -j DROP\n"
            "COMMIT\n"
            "== ip6tables-restore --noflush ==\n"
            "*filter\n:felix-INPUT - [0:0]\n-D INPUT -j felix-INPUT\n-X felix-INPUT\nCOMMIT\n"
            "== ipset restore (after) ==\n"
            "destroy felix-v4-web\n");
  EXPECT_FALSE(plans.empty());
  EXPECT_EQ(plans.changes().size(), 4u) << absl::StrJoin(plans.changes(), "\n");

  // Planned from memory against what it just applied: nothing to do.
  Plans again = PlanState(desired, RememberedState(desired), Config());
  EXPECT_TRUE(again.empty());
  text.clear();
  RenderPlans(again, &text);
  EXPECT_EQ(text, "");
}

TEST(RenameSetsTest, RewritesOnlyMatchSetArguments) {
  struct Case {
    const char* rule;
    const char* want;
  };
  const Case cases[] = {
      {"-m set --match-set felix-v4-web src -j DROP",
       "-m set --match-set felix-tmp-v4-web src -j DROP"},
      {"-m set ! --match-set felix-v4-web dst -m comment --comment \"felix-v4-web  x\"",
       "-m set ! --match-set felix-tmp-v4-web dst -m comment --comment \"felix-v4-web  x\""},
      {"-m set --match-set felix-v4-webby src -j DROP",
       "-m set --match-set felix-v4-webby src -j DROP"},
      // Inside a quoted argument "--match-set" is text, not an option.
      {"-j LOG --log-prefix \"x --match-set felix-v4-web y\" --log-level 5",
       "-j LOG --log-prefix \"x --match-set felix-v4-web y\" --log-level 5"},
      {"-m comment --comment \"a \\\" --match-set felix-v4-web\" -j DROP",
       "-m comment --comment \"a \\\" --match-set felix-v4-web\" -j DROP"},
      {"-m set --match-set felix-v4-web src -m set --match-set felix-v4-web dst -j DROP",
       "-m set --match-set felix-tmp-v4-web src -m set --match-set felix-tmp-v4-web dst -j DROP"},
  };
  for (const Case& c : cases) {
    Ruleset rs;
    rs.tables.push_back(Table{"filter", {}, {}});
    Chain& chain = rs.tables[0].chains.emplace_back("felix-p-web-i");
    chain.AddRule(c.rule);
    chain.AddRule("-j RETURN");
    RenameSets({{"felix-v4-web", "felix-tmp-v4-web"}}, &rs);
    EXPECT_EQ(rs.tables[0].chains[0].body(), absl::StrCat(c.want, "\n-j RETURN\n")) << c.rule;
    EXPECT_EQ(rs.tables[0].chains[0].rule_count(), 2u) << c.rule;
  }
}

// A set whose type changes is renamed in the rules that match it, and only there: a log
// prefix that reads like a set match is the user's text and stays as it is.
TEST(PlanStateTest, SetTypeChangeLeavesLogPrefixAlone) {
  absl::StatusOr<Model> model = LoadModel(R"({"config": {"families": [4]},
    "endpoints": [{"id": "w1", "kind": "workload", "interface": "tapw1",
                   "ipv4_nets": ["198.18.1.1/32"], "profile_ids": ["web"]}],
    "profiles": {"web": {"tags": ["web"], "inbound_rules": [
      {"action": "log", "log_prefix": "x --match-set felix-v4-web y", "src_tag": "web"}]}}})");
  ASSERT_TRUE(model.ok()) << model.status();
  Desired desired = Generate(*model);
  // The rules use the set, which the kernel holds with another type.
  ObservedState seen = RememberedState(desired);
  seen.ipsets = {Set("felix-v4-web", "hash:net", 4, {"198.18.0.0/16"})};
  Plans plans = PlanState(desired, seen, model->config);
  ASSERT_EQ(plans.ipsets.renamed.size(), 1u);
  ASSERT_EQ(plans.rulesets.size(), 1u);
  EXPECT_TRUE(absl::StrContains(
      plans.rulesets[0].text,
      "-R felix-p-web-i 1 -m set --match-set felix-tmp-v4-web src -j LOG --log-prefix "
      "\"x --match-set felix-v4-web y\" --log-level 5\n"))
      << plans.rulesets[0].text;
}

TEST(FailedLineTest, WhatTheToolsPrint) {
  // Messages measured with iptables 1.8.9 (nft and legacy) and ipset 7.17.
  struct Case {
    const char* stderr_text;
    int line;
  };
  const Case cases[] = {
      {"iptables-nft-restore v1.8.9 (nf_tables): Chain 'felix-NOPE' does not exist\n"
       "Error occurred at line: 9\nTry `iptables-nft-restore -h' or 'iptables-nft-restore "
       "--help' for more information.\n",
       9},
      {"iptables-restore: line 3 failed\n", 3},
      {"iptables-nft-restore v1.8.9 (nf_tables): \nline 3: CHAIN_DEL failed (Device or resource "
       "busy): chain felix-B\n",
       3},
      {"ipset v7.17: Error in line 2: Set cannot be created: set with the same name already "
       "exists\n",
       2},
      {"iptables-restore v1.8.9 (legacy): Couldn't load target `felix-line':No such file\n\n"
       "Error occurred at line: 12\n",
       12},
      {"something else entirely\n", 0},
      {"", 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FailedLine(c.stderr_text), c.line) << c.stderr_text;
  }
}

TEST(DescribePlanLineTest, NamesTableAndChain) {
  constexpr char kPlan[] =
      "*raw\n:felix-PREROUTING - [0:0]\n-I PREROUTING 1 -j felix-PREROUTING\nCOMMIT\n"
      "*filter\n-D OUTPUT -j felix-OUTPUT\n-A felix-from-w1 -j DROP\n-X felix-old\nCOMMIT\n"
      "*raw\n-D felix-to-w1 3\n-I felix-from-w1 1 -j felix-p-web-o\n"
      "-R felix-p-web-i 12 -m comment --comment \"a b\" -j DROP\n-I INPUT 1 -j felix-INPUT\n"
      "COMMIT\n";
  constexpr char kIpset[] =
      "create felix-tmp-v4-web hash:ip family inet\nswap a b\ndel felix-v4-web 198.18.1.1\n";
  struct Case {
    const char* plan;
    int line;
    const char* description;
  };
  const Case cases[] = {
      {kPlan, 1, "line 1 (table raw): *raw"},
      {kPlan, 2, "line 2 (table raw, chain felix-PREROUTING): :felix-PREROUTING - [0:0]"},
      {kPlan, 3,
       "line 3 (table raw, hook PREROUTING -> felix-PREROUTING): -I PREROUTING 1 -j "
       "felix-PREROUTING"},
      {kPlan, 4, "line 4 (table raw, COMMIT: the table's changes as a whole): COMMIT"},
      {kPlan, 6, "line 6 (table filter, hook OUTPUT -> felix-OUTPUT): -D OUTPUT -j felix-OUTPUT"},
      {kPlan, 7, "line 7 (table filter, chain felix-from-w1): -A felix-from-w1 -j DROP"},
      {kPlan, 8, "line 8 (table filter, chain felix-old): -X felix-old"},
      {kPlan, 11, "line 11 (table raw, chain felix-to-w1, rule 3): -D felix-to-w1 3"},
      {kPlan, 12,
       "line 12 (table raw, chain felix-from-w1, rule 1): -I felix-from-w1 1 -j felix-p-web-o"},
      {kPlan, 13,
       "line 13 (table raw, chain felix-p-web-i, rule 12): -R felix-p-web-i 12 -m comment "
       "--comment \"a b\" -j DROP"},
      {kPlan, 14, "line 14 (table raw, hook INPUT -> felix-INPUT): -I INPUT 1 -j felix-INPUT"},
      {kPlan, 16, "line 16 (past the end of the plan)"},
      {kPlan, 0, "line 0 (past the end of the plan)"},
      {kIpset, 1, "line 1 (set felix-tmp-v4-web): create felix-tmp-v4-web hash:ip family inet"},
      {kIpset, 2, "line 2 (set a): swap a b"},
      {kIpset, 3, "line 3 (set felix-v4-web): del felix-v4-web 198.18.1.1"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DescribePlanLine(c.plan, c.line), c.description) << "line " << c.line;
  }
}

}  // namespace
}  // namespace fiptgen
