#include "fiptgen/append.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace fiptgen {
namespace {

TEST(AppendTest, PiecesIntoStringAndBufferAgree) {
  std::string s;
  TextBuffer b;
  const std::string name = "felix-v4-web";
  AppendPieces(&s, "-p tcp --dport ", 22, " ", name, " x ", -7, " ", uint16_t{65535});
  AppendPieces(&b, "-p tcp --dport ", 22, " ", name, ' ', 'x', ' ', -7, " ", uint16_t{65535});
  EXPECT_EQ(s, "-p tcp --dport 22 felix-v4-web x -7 65535");
  EXPECT_EQ(b.view(), s);
}

TEST(AppendTest, DecimalLimits) {
  struct Case {
    int64_t value;
    const char* want;
  } cases[] = {
      {0, "0"},
      {9, "9"},
      {10, "10"},
      {-1, "-1"},
      {std::numeric_limits<int64_t>::max(), "9223372036854775807"},
      {std::numeric_limits<int64_t>::min(), "-9223372036854775808"},
  };
  for (const Case& c : cases) {
    TextBuffer b;
    AppendPieces(&b, c.value);
    EXPECT_EQ(b.view(), c.want) << c.value;
  }
  TextBuffer b;
  b.AppendDecimal(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(b.view(), "18446744073709551615");
}

// Growth keeps what was written; clear and Truncate keep the capacity for reuse.
TEST(AppendTest, BufferGrowsAndIsReused) {
  TextBuffer b;
  std::string want;
  for (int i = 0; i < 10000; ++i) {
    AppendPieces(&b, i, ",");
    want += std::to_string(i) + ",";
  }
  EXPECT_EQ(b.view(), want);
  b.Truncate(3);
  EXPECT_EQ(b.view(), "0,1");
  b.clear();
  EXPECT_TRUE(b.empty());
  b.Append('x');
  EXPECT_EQ(b.view(), "x");
  TextBuffer moved = std::move(b);
  EXPECT_EQ(moved.view(), "x");
}

}  // namespace
}  // namespace fiptgen
