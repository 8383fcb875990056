#include "fiptgen/generator_state.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/render.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

// Sort orders the entries as their interfaces' strings order (bytes unsigned), whatever
// the names' lengths: shorter than the 16 bytes of its keys, as long, longer and equal in
// them, sharing prefixes.
TEST(DispatchEntriesTest, SortOrdersByInterface) {
  std::vector<std::string> names = {"tap1",
                                    "tap",
                                    "tap10",
                                    "eth0",
                                    "tap0123456789abcdef1",
                                    "tap0123456789abcdef0",
                                    "tap0123456789abc",
                                    "tap0123456789abcd",
                                    "tap0123456789ab",
                                    "b\xe9",
                                    "b\x7f",
                                    "a",
                                    "tap0123456789abcdef",
                                    "tap2",
                                    "tapf",
                                    "tapF"};
  DispatchEntries entries;
  for (const std::string& name : names) {
    entries.Append(name, "to-" + name);
  }
  entries.Sort();
  std::sort(names.begin(), names.end());
  ASSERT_EQ(entries.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(entries.interface(i), names[i]) << i;
    EXPECT_EQ(entries.suffix(i), "to-" + names[i]) << i;
  }
}

TEST(ChainKeyTest, OrdersSectionsThenSlotsThenKeysThenSubs) {
  // Profile chains by the profile's index in model.profiles.
  // In output order.
  const ChainKey keys[] = {
      ChainKey::Hooked(0),
      ChainKey::Hooked(2),
      ChainKey::Failsafe(ChainDir::kFrom),
      ChainKey::Failsafe(ChainDir::kTo),
      ChainKey::Dispatch(0, ""),
      ChainKey::Dispatch(0, "felix-FROM-EP-PFX-a"),
      ChainKey::Dispatch(0, "felix-FROM-EP-PFX-b"),
      ChainKey::Dispatch(1, ""),
      ChainKey::EndpointChain("a", ChainDir::kFrom),
      ChainKey::EndpointChain("a", ChainDir::kTo),
      // Keys as their strings order, whether they differ in the first 8 bytes or after.
      ChainKey::EndpointChain("a0", ChainDir::kFrom),
      ChainKey::EndpointChain("a0123456", ChainDir::kFrom),
      ChainKey::EndpointChain("a01234567", ChainDir::kFrom),
      ChainKey::EndpointChain("a01234567", ChainDir::kTo),
      ChainKey::EndpointChain("a01234568", ChainDir::kFrom),
      ChainKey::EndpointChain("a0123457", ChainDir::kFrom),
      ChainKey::EndpointChain("b", ChainDir::kFrom),
      ChainKey::EndpointChain("b\x7f", ChainDir::kFrom),
      ChainKey::EndpointChain("b\xe9", ChainDir::kFrom),
      ChainKey::ProfileChain(0, RuleDir::kInbound),
      ChainKey::ProfileChain(0, RuleDir::kOutbound),
      ChainKey::ProfileChain(1, RuleDir::kInbound),
  };
  for (size_t i = 0; i + 1 < std::size(keys); ++i) {
    EXPECT_TRUE(keys[i] < keys[i + 1]) << "key " << i << " before key " << i + 1;
    EXPECT_FALSE(keys[i + 1] < keys[i]) << "key " << i + 1 << " not before key " << i;
    EXPECT_FALSE(keys[i] < keys[i]) << "key " << i;
  }
}

std::unique_ptr<Model> MustLoad(absl::string_view json) {
  absl::StatusOr<Model> m = LoadModel(json);
  EXPECT_TRUE(m.ok()) << m.status() << "\nin:\n" << json;
  return std::make_unique<Model>(m.ok() ? *std::move(m) : Model{});
}

// "<table>: <chain> <chain> ..." per table of the first family.
std::vector<std::string> ChainNames(const Ruleset& rs) {
  std::vector<std::string> out;
  for (const Table& t : rs.tables) {
    std::vector<std::string> names;
    for (const Chain& c : t.chains) {
      names.push_back(c.name());
    }
    out.push_back(absl::StrCat(t.name, ": ", absl::StrJoin(names, " ")));
  }
  return out;
}

constexpr char kWorkloadAndHost[] = R"({"config": {"families": [4]},
  "endpoints": [
    {"id": "w1", "kind": "workload", "interface": "tapw1", "profile_ids": ["web"]},
    {"id": "uplink", "kind": "host", "interface": "eth0", "profile_ids": ["base"],
     "untracked_profile_ids": ["fast"]}],
  "profiles": {"web": {}, "base": {}, "fast": {}, "unused": {}}})";

TEST(GeneratorStateTest, ChainsInLayoutOrder) {
  struct Case {
    const char* what;
    const char* json;
    std::vector<std::string> chains;
  };
  const Case cases[] = {
      {"no endpoints: hooked chains and empty dispatch chains",
       R"({"config": {"families": [4]}})",
       {"raw: felix-PREROUTING felix-OUTPUT felix-FROM-HOST-IF felix-TO-HOST-IF",
        "filter: felix-INPUT felix-OUTPUT felix-FORWARD felix-FROM-ENDPOINT felix-TO-ENDPOINT "
        "felix-FROM-HOST-IF felix-TO-HOST-IF"}},
      {"a workload and a host endpoint with both kinds of profiles",
       kWorkloadAndHost,
       {"raw: felix-PREROUTING felix-OUTPUT felix-FAILSAFE-IN felix-FAILSAFE-OUT "
        "felix-FROM-HOST-IF felix-TO-HOST-IF felix-from-eth0 felix-to-eth0 felix-p-fast-i "
        "felix-p-fast-o",
        "filter: felix-INPUT felix-OUTPUT felix-FORWARD felix-FAILSAFE-IN felix-FAILSAFE-OUT "
        "felix-FROM-ENDPOINT felix-TO-ENDPOINT felix-FROM-HOST-IF felix-TO-HOST-IF "
        "felix-from-eth0 felix-to-eth0 felix-from-w1 felix-to-w1 felix-p-base-i felix-p-base-o "
        "felix-p-web-i felix-p-web-o"}},
  };
  for (const Case& c : cases) {
    std::unique_ptr<Model> model = MustLoad(c.json);
    Desired d = GeneratorState(*model).Copy();
    ASSERT_EQ(d.rulesets.size(), 1u) << c.what;
    EXPECT_EQ(ChainNames(d.rulesets[0]), c.chains) << c.what;
  }
}

Endpoint MakeWorkload(const std::string& name, std::vector<std::string> profiles) {
  Endpoint e;
  e.id = name;
  e.kind = EndpointKind::kWorkload;
  e.interface = absl::StrCat("tap", name);
  e.profile_ids = std::move(profiles);
  return e;
}

TEST(GeneratorStateTest, AChangeTouchesOnlyWhatDependsOnIt) {
  struct Case {
    const char* what;
    std::function<void(GeneratorState&)> change;
    std::vector<std::string> before;  // the touched chains as they were
    std::vector<std::string> after;   // and as they are
  };
  const Case cases[] = {
      {"a workload with a profile in use: its chains and the dispatch chains",
       [](GeneratorState& s) { s.AddEndpoint(MakeWorkload("w2", {"web"})); },
       {"raw: ", "filter: felix-FROM-ENDPOINT felix-TO-ENDPOINT"},
       {"raw: ", "filter: felix-FROM-ENDPOINT felix-TO-ENDPOINT felix-from-w2 felix-to-w2"}},
      {"a workload with a profile not in use: the profile's chains too",
       [](GeneratorState& s) { s.AddEndpoint(MakeWorkload("w2", {"unused"})); },
       {"raw: ", "filter: felix-FROM-ENDPOINT felix-TO-ENDPOINT"},
       {"raw: ",
        "filter: felix-FROM-ENDPOINT felix-TO-ENDPOINT felix-from-w2 felix-to-w2 "
        "felix-p-unused-i felix-p-unused-o"}},
      {"the last host endpoint goes: failsafe chains go with it, in both tables",
       [](GeneratorState& s) { s.RemoveEndpoint(s.FindEndpoint("uplink")); },
       {"raw: felix-FAILSAFE-IN felix-FAILSAFE-OUT felix-FROM-HOST-IF felix-TO-HOST-IF "
        "felix-from-eth0 felix-to-eth0 felix-p-fast-i felix-p-fast-o",
        "filter: felix-FAILSAFE-IN felix-FAILSAFE-OUT felix-FROM-HOST-IF felix-TO-HOST-IF "
        "felix-from-eth0 felix-to-eth0 felix-p-base-i felix-p-base-o"},
       {"raw: felix-FROM-HOST-IF felix-TO-HOST-IF", "filter: felix-FROM-HOST-IF felix-TO-HOST-IF"}},
      {"a workload replaced by itself with another profile: its chains and the profiles'",
       [](GeneratorState& s) {
         s.ReplaceEndpoint(s.FindEndpoint("w1"), MakeWorkload("w1", {"unused"}));
       },
       {"raw: ", "filter: felix-from-w1 felix-to-w1 felix-p-web-i felix-p-web-o"},
       {"raw: ", "filter: felix-from-w1 felix-to-w1 felix-p-unused-i felix-p-unused-o"}},
  };
  for (const Case& c : cases) {
    GeneratorState state(MustLoad(kWorkloadAndHost));
    state.StartRecording();
    c.change(state);
    GeneratorState::Recording rec = state.TakeRecording();
    ASSERT_EQ(rec.before.size(), 1u) << c.what;
    EXPECT_EQ(ChainNames(rec.before[0]), c.before) << c.what;
    EXPECT_EQ(ChainNames(rec.after[0]), c.after) << c.what;
    // The changed state is what generating the changed model from scratch gives.
    std::string got, want;
    RenderRestore(state.Copy().rulesets[0], &got);
    RenderRestore(Generate(state.model()).rulesets[0], &want);
    EXPECT_EQ(got, want) << c.what;
  }
}

TEST(GeneratorStateTest, DispatchChainsSplitIntoATreeAndMergeBack) {
  // 32 workloads fit one dispatch chain; the 33rd splits it by the character after the
  // interfaces' common prefix ("tapa..." and "tapb...").
  std::string endpoints;
  for (int i = 0; i < 32; ++i) {
    absl::StrAppend(&endpoints, i > 0 ? "," : "", R"({"id": "e)", i,
                    R"(", "kind": "workload", "interface": "tap)", i < 16 ? "a" : "b", i,
                    R"(", "profile_ids": ["p"]})");
  }
  GeneratorState state(MustLoad(absl::StrCat(R"({"config": {"families": [4]}, "endpoints": [)",
                                             endpoints, R"(], "profiles": {"p": {}}})")));
  auto dispatch = [&state]() {
    std::vector<std::string> names;
    const Desired desired = state.Copy();
    for (const Chain& c : desired.rulesets[0].tables[1].chains) {
      if (absl::StrContains(c.name(), "-ENDPOINT") || absl::StrContains(c.name(), "-EP-")) {
        names.push_back(absl::StrCat(c.name(), " ", c.rule_count()));
      }
    }
    return absl::StrJoin(names, ", ");
  };
  EXPECT_EQ(dispatch(), "felix-FROM-ENDPOINT 33, felix-TO-ENDPOINT 33") << "32 workloads";
  state.AddEndpoint(MakeWorkload("b99", {"p"}));
  EXPECT_EQ(dispatch(),
            "felix-FROM-ENDPOINT 3, felix-FROM-EP-PFX-a 17, felix-FROM-EP-PFX-b 18, "
            "felix-TO-ENDPOINT 3, felix-TO-EP-PFX-a 17, felix-TO-EP-PFX-b 18")
      << "33 workloads";
  state.RemoveEndpoint(state.FindEndpoint("b99"));
  EXPECT_EQ(dispatch(), "felix-FROM-ENDPOINT 33, felix-TO-ENDPOINT 33") << "back to 32";
}

}  // namespace
}  // namespace fiptgen
