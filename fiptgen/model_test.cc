#include "fiptgen/model.h"

#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace fiptgen {
namespace {

using Lists = std::vector<std::vector<PortRange>>;

Lists Read(const RulePorts& p) {
  Lists out;
  for (RulePorts::List l :
       {RulePorts::kSrc, RulePorts::kDst, RulePorts::kNotSrc, RulePorts::kNotDst}) {
    out.emplace_back(p[l].begin(), p[l].end());
  }
  return out;
}

std::vector<PortRange> Ports(int first, int n) {
  std::vector<PortRange> v;
  for (int i = 0; i < n; ++i) {
    v.push_back({static_cast<uint16_t>(first + i), static_cast<uint16_t>(first + i)});
  }
  return v;
}

// Every way of setting the four lists in turn, with lengths that keep them in the rule
// (4 in all) and that move them to the heap and back: each list reads back as it was set,
// after copies and moves as well.
TEST(RulePortsTest, ListsReadBackAcrossInlineAndHeap) {
  const int lengths[] = {0, 1, 2, 3, 5};
  for (int step = 0; step < 4 * 4 * 5; ++step) {
    RulePorts p;
    Lists want(4);
    for (int k = 0; k < 6; ++k) {  // six Sets, each list at a length from the table
      const int l = (step + k * 3) % 4;
      const int n = lengths[(step / 4 + k) % 5];
      want[l] = Ports(100 * (l + 1) + k, n);
      p.Set(static_cast<RulePorts::List>(l), want[l]);
      ASSERT_EQ(Read(p), want) << "step " << step << " set " << k;
      const RulePorts copy = p;
      ASSERT_EQ(Read(copy), want);
      RulePorts from = copy;
      RulePorts moved = std::move(from);
      ASSERT_EQ(Read(moved), want);
      EXPECT_TRUE(from.empty());  // NOLINT(bugprone-use-after-move): a move leaves it empty
      RulePorts assigned;
      assigned.Set(RulePorts::kDst, Ports(1, 6));
      assigned = moved;
      ASSERT_EQ(Read(assigned), want);
      assigned = std::move(moved);
      ASSERT_EQ(Read(assigned), want);
      EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)
    }
    EXPECT_EQ(p.empty(), want[0].empty() && want[1].empty() && want[2].empty() && want[3].empty());
  }
}

TEST(RulePortsTest, SetFromItsOwnList) {
  RulePorts p;
  p.Set(RulePorts::kSrc, Ports(1, 3));
  p.Set(RulePorts::kNotDst, p[RulePorts::kSrc]);  // grows past 4: the source moves
  EXPECT_EQ(Read(p), (Lists{Ports(1, 3), {}, {}, Ports(1, 3)}));
  p.Set(RulePorts::kSrc, {});
  EXPECT_EQ(Read(p), (Lists{{}, {}, {}, Ports(1, 3)}));
}

// What a rule costs the loader, which writes 200,000 of them for a huge model (model.h).
TEST(PolicyRuleTest, Size) { EXPECT_EQ(sizeof(PolicyRule), 168u); }

TEST(PolicyRuleTest, PortListsAreRulePorts) {
  PolicyRule r;
  r.ports.Set(RulePorts::kDst, {{80, 80}, {8000, 8080}});
  EXPECT_TRUE(r.src_ports().empty());
  ASSERT_EQ(r.dst_ports().size(), 2u);
  EXPECT_EQ(r.dst_ports()[1], (PortRange{8000, 8080}));
  EXPECT_TRUE(r.not_src_ports().empty());
  EXPECT_TRUE(r.not_dst_ports().empty());
}

TEST(PolicyRuleTest, LogPrefix) {
  PolicyRule r;
  EXPECT_EQ(absl::string_view(r.log_prefix), "calico-packet: ");
  r.log_prefix = "db-denied: ";
  PolicyRule copy = r;
  r.log_prefix = "x";
  EXPECT_EQ(copy.log_prefix.view(), "db-denied: ");
  EXPECT_EQ(r.log_prefix.view(), "x");
  copy = PolicyRule();
  EXPECT_EQ(copy.log_prefix.view(), "calico-packet: ");
  PolicyRule moved = std::move(r);
  EXPECT_EQ(moved.log_prefix.view(), "x");
}

}  // namespace
}  // namespace fiptgen
