#include "fiptgen/error_path.h"

#include <string>

#include "gtest/gtest.h"

namespace fiptgen {
namespace {

TEST(ErrorPathTest, Paths) {
  EXPECT_EQ(IndexPath(FieldPath("endpoints[3]", "ipv4_nets"), 1), "endpoints[3].ipv4_nets[1]");
  EXPECT_EQ(FieldPath("", "config"), "config");
  EXPECT_EQ(FieldPath("config", ""), "config");
  EXPECT_EQ(KeyPath("profiles", "web"), "profiles[\"web\"]");
  EXPECT_EQ(MemberPath("rule", "!src_net"), "rule.!src_net");
  EXPECT_EQ(MemberPath("rule", "a.b"), "rule[\"a.b\"]");
  EXPECT_EQ(MemberPath("rule", ""), "rule[\"\"]");
}

TEST(ErrorPathTest, QuoteForMessageKeepsAnErrorOnOneLine) {
  struct Case {
    std::string in;
    std::string want;
  } cases[] = {
      {"web", "\"web\""},
      {"a\"b", "\"a\\\"b\""},
      {"x\n-A INPUT -j ACCEPT", "\"x\\n-A INPUT -j ACCEPT\""},
      {std::string("nul\0", 4), "\"nul\\x00\""},
      {std::string(70, 'x'), "\"" + std::string(64, 'x') + "...\""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(QuoteForMessage(c.in), c.want) << c.in;
  }
}

TEST(ErrorPathTest, ErrorsToStatus) {
  EXPECT_TRUE(ErrorsToStatus({}).ok());
  absl::Status s = ErrorsToStatus({PathError("a", "x"), PathError("b[1]", "y")});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "a: x\nb[1]: y");
}

}  // namespace
}  // namespace fiptgen
