// Every plan case under testdata/plans (see BUILD.bazel): planning after.json against the
// observed state (observed.txt, else before.json from memory, else nothing) must give exactly
// plan.txt. tools/apply_kernel_test.sh checks the same plan.txt against a real kernel.
// Regenerate with:
//   bazel run //testdata/plans:plan_golden_test -- --update_golden
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/observed.h"
#include "fiptgen/plan.h"
#include "fiptgen/render.h"
#include "fiptgen/testing/golden.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

using ::fiptgen::golden::ExpectEqualToGoldenFile;
using ::fiptgen::golden::ListGoldenDir;
using ::fiptgen::golden::ReadGoldenFile;

constexpr char kRoot[] = "testdata/plans/";

Model Load(const std::string& path) {
  absl::StatusOr<Model> model = LoadModel(ReadGoldenFile(path));
  EXPECT_TRUE(model.ok()) << path << ": " << model.status();
  return model.ok() ? *std::move(model) : Model();
}

bool Exists(const std::string& dir, absl::string_view file) {
  std::vector<std::string> files = ListGoldenDir(dir, /*directories=*/false, file);
  return std::find(files.begin(), files.end(), file) != files.end();
}

// The "== <title> ==" section of a record, up to the next section.
std::string Section(absl::string_view record, absl::string_view title) {
  std::string header = absl::StrCat("== ", title, " ==\n");
  size_t start = record.find(header);
  if (start == absl::string_view::npos) {
    return "";
  }
  start += header.size();
  size_t end = record.find("\n== ", start - 1);
  return std::string(record.substr(
      start, end == absl::string_view::npos ? record.size() - start : end + 1 - start));
}

ObservedState Parse(absl::string_view record, const Config& config, const std::string& name) {
  ObservedState state;
  for (auto [family, title] : {std::pair{4, "iptables-save"}, std::pair{6, "ip6tables-save"}}) {
    absl::StatusOr<ObservedRuleset> rs =
        ParseIptablesSave(Section(record, title), family, config.chain_prefix);
    EXPECT_TRUE(rs.ok()) << name << ": " << rs.status();
    if (rs.ok()) {
      state.rulesets.push_back(*std::move(rs));
    }
  }
  absl::StatusOr<std::vector<IpSetSpec>> sets =
      ParseIpsetSave(Section(record, "ipset save"), config.ipset_prefix);
  EXPECT_TRUE(sets.ok()) << name << ": " << sets.status();
  if (sets.ok()) {
    state.ipsets = *std::move(sets);
  }
  return state;
}

// Every line of a plan acts on our chains and sets only.
void ExpectOnlyOurs(const std::string& text, const Config& config, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "== ") || absl::StartsWith(line, "*") || line == "COMMIT") {
      continue;
    }
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ');
    absl::string_view target = words.size() > 1 ? words[1] : "";
    if (absl::StartsWith(line, ":")) {
      target = words[0].substr(1);
    }
    // A hook ("-I INPUT 1 -j felix-INPUT", "-D INPUT -j felix-INPUT") is ours by its target;
    // every other line names our chain second ("-D felix-x 3", "-I felix-x 2 <rule>").
    const bool builtin = target == "PREROUTING" || target == "INPUT" || target == "FORWARD" ||
                         target == "OUTPUT" || target == "POSTROUTING";
    if (builtin && (absl::StartsWith(line, "-I ") || absl::StartsWith(line, "-D "))) {
      target = words.back();
    }
    const std::string& prefix = absl::StartsWith(line, "-") || absl::StartsWith(line, ":")
                                    ? config.chain_prefix
                                    : config.ipset_prefix;
    EXPECT_TRUE(absl::StartsWith(target, prefix)) << name << ": touches what is not ours: " << line;
  }
}

TEST(PlanGoldenTest, Cases) {
  std::vector<std::string> cases = ListGoldenDir(kRoot, /*directories=*/true);
  for (const std::string& name : cases) {
    SCOPED_TRACE(name);
    std::string dir = absl::StrCat(kRoot, name, "/");
    Model after = Load(dir + "after.json");
    Desired desired = Generate(after);
    ObservedState observed;
    if (Exists(dir, "observed.txt")) {
      observed = Parse(ReadGoldenFile(dir + "observed.txt"), after.config, name);
    } else if (Exists(dir, "before.json")) {
      observed = RememberedState(Generate(Load(dir + "before.json")));
    }
    Plans plans = PlanState(desired, observed, after.config);
    std::string record;
    RenderPlans(plans, &record);
    ExpectOnlyOurs(record, after.config, name);
    absl::StrAppend(&record, "== changes ==\n");
    for (const std::string& change : plans.changes()) {
      absl::StrAppend(&record, change, "\n");
    }
    ExpectEqualToGoldenFile(dir + "plan.txt", record);
    // Once applied, there is nothing left to do.
    EXPECT_TRUE(PlanState(desired, RememberedState(desired), after.config).empty()) << name;
  }
  EXPECT_GE(cases.size(), 14u) << "plan cases went missing";
}

TEST(PlanGoldenTest, FromEmptyIsTheFullScript) {
  Model model = Load(absl::StrCat(kRoot, "from_empty/after.json"));
  Desired desired = Generate(model);
  Plans plans = PlanState(desired, ObservedState(), model.config);
  // The scripts `fiptgen` writes, without the load note on top (RenderFiles adds it; a plan
  // is for the state it was planned against, not for an empty one).
  std::string ipsets, v4, v6;
  RenderIpsetRestore(desired.ipsets, &ipsets);
  ASSERT_NE(desired.ForFamily(4), nullptr);
  ASSERT_NE(desired.ForFamily(6), nullptr);
  RenderRestore(*desired.ForFamily(4), &v4);
  RenderRestore(*desired.ForFamily(6), &v6);
  EXPECT_EQ(plans.ipsets.before, ipsets);
  EXPECT_EQ(plans.ipsets.after, "");
  ASSERT_EQ(plans.rulesets.size(), 2u);
  EXPECT_EQ(plans.rulesets[0].text, v4);
  EXPECT_EQ(plans.rulesets[1].text, v6);
}

}  // namespace
}  // namespace fiptgen

int main(int argc, char** argv) {
  fiptgen::golden::ParseGoldenFlags(
      &argc, argv, "bazel run //testdata/plans:plan_golden_test -- --update_golden");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
