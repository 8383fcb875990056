// Every golden case: testdata/<case>/model.json must generate exactly the checked-in
// ipsets.restore, iptables.restore and ip6tables.restore; testdata/errors/<case>.json must
// fail with exactly <case>.stderr. Regenerate with:
//   bazel run //testdata:golden_test -- --update_golden
#include "fiptgen/testing/golden.h"

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "fiptgen/generate.h"
#include "fiptgen/graph.h"
#include "fiptgen/load.h"
#include "fiptgen/render.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

using ::fiptgen::golden::ExpectEqualToGoldenFile;
using ::fiptgen::golden::ListGoldenDir;
using ::fiptgen::golden::ReadGoldenFile;

TEST(GoldenTest, Cases) {
  std::vector<std::string> cases = ListGoldenDir("testdata", /*directories=*/true);
  int checked = 0;
  for (const std::string& name : cases) {
    if (name == "errors" || name == "plans") {
      continue;
    }
    SCOPED_TRACE(name);
    std::string dir = absl::StrCat("testdata/", name, "/");
    absl::StatusOr<Model> model = LoadModel(ReadGoldenFile(dir + "model.json"));
    ASSERT_TRUE(model.ok()) << name << ": " << model.status().message();
    RestoreFiles files = RenderFiles(Generate(*model));
    ExpectEqualToGoldenFile(dir + "ipsets.restore", files.ipsets);
    ExpectEqualToGoldenFile(dir + "iptables.restore", files.iptables);
    ExpectEqualToGoldenFile(dir + "ip6tables.restore", files.ip6tables);
    ++checked;
  }
  EXPECT_GE(checked, 8) << "golden cases went missing";
}

TEST(GoldenTest, Errors) {
  std::vector<std::string> cases = ListGoldenDir("testdata/errors", false, ".json");
  for (const std::string& file : cases) {
    SCOPED_TRACE(file);
    std::string stem = file.substr(0, file.size() - 5);
    absl::StatusOr<Model> model = LoadModel(ReadGoldenFile("testdata/errors/" + file));
    ASSERT_FALSE(model.ok()) << file << " loaded, but it is an error case";
    // The CLI prints the message and a newline on stderr; tools/cli_test checks that.
    ExpectEqualToGoldenFile(absl::StrCat("testdata/errors/", stem, ".stderr"),
                            absl::StrCat(model.status().message(), "\n"));
  }
  EXPECT_GE(cases.size(), 8u) << "error cases went missing";
}

TEST(GoldenTest, OutputDoesNotDependOnInputOrder) {
  // The same model with every order-free array reversed must give byte-identical output.
  std::string json = ReadGoldenFile("testdata/order_independence/model.json");
  std::string reversed = ReadGoldenFile("testdata/order_independence/reordered.json");
  absl::StatusOr<Model> a = LoadModel(json);
  absl::StatusOr<Model> b = LoadModel(reversed);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  RestoreFiles fa = RenderFiles(Generate(*a));
  RestoreFiles fb = RenderFiles(Generate(*b));
  EXPECT_EQ(fa.ipsets, fb.ipsets);
  EXPECT_EQ(fa.iptables, fb.iptables);
  EXPECT_EQ(fa.ip6tables, fb.ip6tables);
}

// docs/chains.md shows this graph; keep the picture true.
TEST(GoldenTest, DocsChainGraph) {
  absl::StatusOr<Model> m = LoadModel(ReadGoldenFile("testdata/two_workloads_one_host/model.json"));
  ASSERT_TRUE(m.ok()) << m.status();
  std::string dot;
  RenderGraph(GenerateRuleset(*m, 4), &dot);
  ExpectEqualToGoldenFile("docs/chains-v4.dot", dot);
}

}  // namespace
}  // namespace fiptgen

int main(int argc, char** argv) {
  fiptgen::golden::ParseGoldenFlags(&argc, argv,
                                    "bazel run //testdata:golden_test -- --update_golden");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
