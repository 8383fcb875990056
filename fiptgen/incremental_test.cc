#include "fiptgen/incremental.h"

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/observed.h"
#include "fiptgen/plan.h"
#include "fiptgen/render.h"
#include "fiptgen/testing/golden.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

std::string Text(const Desired& d) {
  RestoreFiles f = RenderFiles(d);
  return absl::StrCat(f.ipsets, "\n==\n", f.iptables, "\n==\n", f.ip6tables);
}

std::string Text(const Plans& p) {
  std::string out;
  RenderPlans(p, &out);
  for (const std::string& c : p.changes()) {
    absl::StrAppend(&out, c, "\n");
  }
  return out;
}

// The incremental generator must give exactly what full generation and planning give:
// after every change, desired() == Generate(model()), and the change's plans ==
// PlanState(Generate(after), RememberedState(Generate(before))).
TEST(IncrementalGeneratorTest, MatchesFullGenerationAndPlanning) {
  for (const char* name :
       {"example", "tags", "host_endpoints", "untracked", "dispatch_tree", "two_workloads_one_host",
        "explicit_ipsets", "workload_antispoof", "order_independence", "long_names"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<Model> model =
        LoadModel(golden::ReadGoldenFile(absl::StrCat("testdata/", name, "/model.json")));
    ASSERT_TRUE(model.ok()) << model.status();
    absl::StatusOr<IncrementalGenerator> gen = IncrementalGenerator::Create(*model);
    ASSERT_TRUE(gen.ok()) << gen.status();
    ASSERT_EQ(Text(gen->desired()), Text(Generate(*model)));
    std::vector<std::string> profile_ids;
    for (const auto& [id, p] : model->profiles) {
      profile_ids.push_back(id);
    }
    std::mt19937 rng(42);
    int applied = 0;
    for (int step = 0; step < 60 && !gen->model().endpoints.empty(); ++step) {
      Desired before = Generate(gen->model());
      const std::vector<Endpoint>& eps = gen->model().endpoints;
      Endpoint e = eps[rng() % eps.size()];
      std::string what;
      absl::StatusOr<Plans> plans;
      int op = rng() % 5;
      if (op == 0 && eps.size() < 3) {
        op = 4;  // keep something to change
      }
      switch (op) {
        case 0:
          what = absl::StrCat("remove ", e.id);
          plans = gen->RemoveEndpoint(e.id);
          break;
        case 1:  // same endpoint, another interface (moves in the dispatch tree)
          e.interface = absl::StrCat(e.interface.substr(0, 11), "x", step % 10);
          what = absl::StrCat("rename ", e.id, " to ", e.interface);
          plans = gen->UpsertEndpoint(e);
          break;
        case 2:  // other profiles (profile chains and sets come into and out of use)
          if (!profile_ids.empty() && e.kind == EndpointKind::kWorkload) {
            e.profile_ids = {profile_ids[rng() % profile_ids.size()]};
          }
          what = absl::StrCat("profiles of ", e.id);
          plans = gen->UpsertEndpoint(e);
          break;
        case 3:  // another net (tag sets change members, maybe type)
          e.ipv4_nets.push_back(*ParseIpNet(step % 2 ? "198.19.7.0/24" : "198.19.8.8", 4));
          std::sort(e.ipv4_nets.begin(), e.ipv4_nets.end());
          e.ipv4_nets.erase(std::unique(e.ipv4_nets.begin(), e.ipv4_nets.end()), e.ipv4_nets.end());
          what = absl::StrCat("nets of ", e.id);
          plans = gen->UpsertEndpoint(e);
          break;
        default:  // a new endpoint like this one
          e.id = absl::StrCat("new", step);
          e.interface = absl::StrCat(e.interface.substr(0, 10), "n", step);
          what = absl::StrCat("add ", e.id);
          plans = gen->UpsertEndpoint(e);
          break;
      }
      SCOPED_TRACE(absl::StrCat("step ", step, ": ", what));
      if (!plans.ok()) {
        std::printf("%s: step %d: %s: %s\n", name, step, what.c_str(),
                    std::string(plans.status().message()).c_str());
        continue;
      }
      ++applied;
      Desired after = Generate(gen->model());
      ASSERT_EQ(Text(gen->desired()), Text(after));
      ASSERT_EQ(Text(*plans), Text(PlanState(after, RememberedState(before), gen->model().config)));
    }
    EXPECT_GE(applied, 20) << "too few changes were applied to mean anything";
  }
}

TEST(IncrementalGeneratorTest, RejectsBadChangesAndChangesNothing) {
  absl::StatusOr<Model> model =
      LoadModel(golden::ReadGoldenFile("testdata/two_workloads_one_host/model.json"));
  ASSERT_TRUE(model.ok());
  absl::StatusOr<IncrementalGenerator> gen = IncrementalGenerator::Create(*model);
  ASSERT_TRUE(gen.ok());
  std::string before = Text(gen->desired());
  Endpoint clash = model->endpoints[0];
  clash.id = "other";
  absl::StatusOr<Plans> p = gen->UpsertEndpoint(clash);
  EXPECT_EQ(p.status().message(), "endpoint.interface: \"tapweb1\" is also endpoint \"web-1\"'s");
  Endpoint bad = model->endpoints[0];
  bad.profile_ids = {"ghost"};
  bad.interface = "tapweb1\n-A INPUT -j ACCEPT";
  p = gen->UpsertEndpoint(bad);
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(gen->RemoveEndpoint("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Text(gen->desired()), before);
}

TEST(IncrementalGeneratorTest, EndpointChangeTouchesOnlyItsChainsAndDispatch) {
  absl::StatusOr<Model> model =
      LoadModel(golden::ReadGoldenFile("testdata/dispatch_tree/model.json"));
  ASSERT_TRUE(model.ok());
  absl::StatusOr<IncrementalGenerator> gen = IncrementalGenerator::Create(*model);
  ASSERT_TRUE(gen.ok());
  Endpoint e = model->endpoints[5];  // tapa5, a lone entry in felix-FROM-EP-PFX-a
  e.ipv4_nets = {*ParseIpNet("198.18.99.5", 4)};
  absl::StatusOr<Plans> p = gen->UpsertEndpoint(e);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Text(*p),
            "== iptables-restore --noflush ==\n*filter\n:felix-from-a5 - [0:0]\n"
            "-A felix-from-a5 -j MARK --set-xmark 0x0/0x1000000\n"
            "-A felix-from-a5 ! -s 198.18.99.5/32 -m comment --comment \"Drop if wrong source "
            "IP\" -j DROP\n"
            "-A felix-from-a5 -j felix-p-p-o\n"
            "-A felix-from-a5 -m mark --mark 0x1000000/0x1000000 -j RETURN\n"
            "-A felix-from-a5 -m comment --comment \"Drop if no profile matched\" -j DROP\n"
            "COMMIT\nv4 filter: chain felix-from-a5 refilled\n");
}

}  // namespace
}  // namespace fiptgen
