#include "fiptgen/append.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

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

// Every value below 100,000 (each a count of digits placed its own way), and the longer
// ones at each count of digits.
TEST(AppendTest, WriteDecimalAsToString) {
  std::vector<uint32_t> values;
  for (uint32_t v = 0; v < 100000; ++v) {
    values.push_back(v);
  }
  for (uint32_t v : {100000u, 100001u, 999999u, 1000000u, 1234567u, 9999999u, 10000000u, 87654321u,
                     99999999u, 100000000u, 999999999u, 1000000000u, 4294967295u}) {
    values.push_back(v);
  }
  char buf[12];
  for (uint32_t v : values) {
    char* end = WriteDecimal(v, buf);
    ASSERT_EQ(std::string(buf, static_cast<size_t>(end - buf)), std::to_string(v));
  }
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

TEST(AppendTest, BufferWritesIntoAStringAfterItsText) {
  std::string target = "kept\n";  // no room reserved: the string reallocates as it grows
  std::string want = target;
  {
    TextBuffer b(&target);
    for (int i = 0; i < 3000; ++i) {
      AppendPieces(&b, i, ",");
      want += std::to_string(i) + ",";
    }
    const size_t written = b.size();
    std::memset(b.Extend(5000), 'x', 5000);  // more than a step at once, then given back
    b.Truncate(written);
    b.Append('\n');
    want += "\n";
    EXPECT_EQ(b.view(), want);
    b.Finish();
    EXPECT_EQ(target, want);
    b.Append("more");  // after Finish the string grows again
    want += "more";
  }  // the destructor cuts the string to what was written
  EXPECT_EQ(target, want);
}

// Reserve may move the string; clear() drops only what the buffer wrote.
TEST(AppendTest, BufferIntoAStringReservesAndClearsItsOwnText) {
  std::string target = "keep:";
  {
    TextBuffer b(&target);
    b.Append("x");
    b.Reserve(100000);
    b.Append("hello");
    EXPECT_EQ(b.view(), "keep:xhello");
    b.clear();
    EXPECT_EQ(b.view(), "keep:");
    b.Append("new");
  }
  EXPECT_EQ(target, "keep:new");
}

}  // namespace
}  // namespace fiptgen
