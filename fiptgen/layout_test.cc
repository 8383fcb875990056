#include "fiptgen/layout.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

Endpoint MakeEndpoint(EndpointKind kind, std::vector<std::string> profiles,
                      std::vector<std::string> untracked) {
  Endpoint e;
  e.kind = kind;
  e.profile_ids = std::move(profiles);
  e.untracked_profile_ids = std::move(untracked);
  return e;
}

TEST(LayoutTest, WhichTablesAnEndpointHasChainsIn) {
  struct Case {
    const char* what;
    Endpoint endpoint;
    const char* tables;
  };
  const Case cases[] = {
      {"workload", MakeEndpoint(EndpointKind::kWorkload, {"p"}, {}), "filter"},
      {"workload without profiles", MakeEndpoint(EndpointKind::kWorkload, {}, {}), "filter"},
      {"host with profiles", MakeEndpoint(EndpointKind::kHost, {"p"}, {}), "filter"},
      {"host with untracked profiles", MakeEndpoint(EndpointKind::kHost, {}, {"u"}), "raw"},
      {"host with both", MakeEndpoint(EndpointKind::kHost, {"p"}, {"u"}), "raw filter"},
      {"host with neither", MakeEndpoint(EndpointKind::kHost, {}, {}), ""},
  };
  for (const Case& c : cases) {
    std::vector<absl::string_view> tables;
    for (const TableLayout& table : Tables()) {
      if (HasChainsIn(c.endpoint, table)) {
        tables.push_back(table.name);
      }
    }
    EXPECT_EQ(absl::StrJoin(tables, " "), c.tables) << c.what;
  }
}

TEST(LayoutTest, EachTableIsConsistent) {
  ASSERT_EQ(Tables().size(), 2u);
  EXPECT_EQ(Tables()[0].name, "raw");
  EXPECT_TRUE(Tables()[0].untracked);
  EXPECT_EQ(Tables()[1].name, "filter");
  EXPECT_FALSE(Tables()[1].untracked);
  for (const TableLayout& table : Tables()) {
    // One name, one chain, in each table.
    std::set<absl::string_view> names = {FixedChainName(FailsafeChain(ChainDir::kFrom)),
                                         FixedChainName(FailsafeChain(ChainDir::kTo))};
    std::set<absl::string_view> builtins;
    for (const HookedChain& hooked : table.hooked) {
      EXPECT_TRUE(names.insert(FixedChainName(hooked.chain)).second)
          << table.name << ": " << FixedChainName(hooked.chain) << " twice";
      EXPECT_TRUE(builtins.insert(hooked.builtin).second)
          << table.name << ": " << hooked.builtin << " hooked twice";
    }
    // Every endpoint group has one tree each way, so its endpoints get a from and a to chain.
    std::map<EndpointGroup, std::set<ChainDir>> dirs;
    for (const DispatchRoot& root : table.dispatch) {
      EXPECT_TRUE(names.insert(FixedChainName(root.root)).second)
          << table.name << ": " << FixedChainName(root.root) << " twice";
      EXPECT_TRUE(dirs[root.group].insert(root.dir).second)
          << table.name << ": " << FixedChainName(root.root);
      EXPECT_FALSE(root.subchain_base.empty()) << table.name << ": " << FixedChainName(root.root);
      EXPECT_FALSE(root.last_rule.empty()) << table.name << ": " << FixedChainName(root.root);
    }
    for (const auto& [group, group_dirs] : dirs) {
      EXPECT_EQ(group_dirs.size(), 2u) << table.name << ": group " << static_cast<int>(group);
    }
  }
}

}  // namespace
}  // namespace fiptgen
