#include "fiptgen/error_path.h"

#include <string>
#include <vector>

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

// KeyPath writes a plain key as it is; every key must read as the parent, '[', the key
// quoted by QuoteForMessage, ']': each byte alone and between others, keys at and past the
// 64 bytes QuoteForMessage keeps.
TEST(ErrorPathTest, KeyPathIsTheQuotedKey) {
  std::vector<std::string> keys = {
      "",     std::string(64, 'k'), std::string(65, 'k'), std::string(63, 'k') + "\"", "a'b",
      "a\\b", "tab\there"};
  for (int c = 0; c < 256; ++c) {
    keys.push_back(std::string(1, static_cast<char>(c)));
    keys.push_back("ab" + std::string(1, static_cast<char>(c)) + "1f");
  }
  for (const std::string& key : keys) {
    EXPECT_EQ(KeyPath("profiles", key), "profiles[" + QuoteForMessage(key) + "]") << key;
  }
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
