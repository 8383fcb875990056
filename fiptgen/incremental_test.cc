#include "fiptgen/incremental.h"

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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
  EXPECT_EQ(p.status().message(),
            "endpoint.interface: \"tapweb1\" is also the interface of endpoint \"web-1\"");
  Endpoint bad = model->endpoints[0];
  bad.profile_ids = {"ghost"};
  bad.interface = "tapweb1\n-A INPUT -j ACCEPT";
  p = gen->UpsertEndpoint(bad);
  EXPECT_FALSE(p.ok());
  // An endpoint that owns "10.10.1.11/24" would spoof its neighbours if widened to the
  // /24: refused as LoadModel refuses it.
  Endpoint wide = model->endpoints[0];
  wide.ipv4_nets = {*ParseIpNet("10.10.1.11/24", 4, HostBits::kKeep)};
  const std::string host_bits =
      "ipv4_nets[0]: \"10.10.1.11/24\" has host bits set: an endpoint owns the addresses it "
      "lists; did you mean \"10.10.1.11/32\" (the address) or \"10.10.1.0/24\" (the network)?";
  EXPECT_EQ(gen->UpsertEndpoint(wide).status().message(), absl::StrCat("endpoint.", host_bits));
  absl::StatusOr<Model> loaded = LoadModel(
      R"({"endpoints": [{"id": "w", "kind": "workload", "interface": "tapw", "ipv4_nets": )"
      R"(["10.10.1.11/24"]}]})");
  EXPECT_EQ(loaded.status().message(), absl::StrCat("endpoints[0].", host_bits));
  EXPECT_EQ(gen->RemoveEndpoint("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(gen->RemoveEndpoint("no\"body\n").status().message(),
            "endpoint \"no\\\"body\\n\": no such endpoint");
  EXPECT_EQ(Text(gen->desired()), before);
}

// A clash reads the same whether LoadModel finds it in a model or UpsertEndpoint finds it
// in a change, but for the path ("endpoints[2]." against "endpoint."), and the user's text
// (here an id with a quote and a newline) is quoted the same way in both.
TEST(IncrementalGeneratorTest, ClashesReadAsLoadModelReportsThem) {
  const std::string holders = R"({"id": "a\"b\nc", "kind": "workload", "interface": "tapeth0"},
                                  {"id": "w", "kind": "workload", "interface": "tapw"})";
  struct Case {
    std::string newcomer;
    std::string want;  // after the path prefix
  } cases[] = {
      {R"({"id": "x", "kind": "workload", "interface": "tapw"})",
       R"(interface: "tapw" is also the interface of endpoint "w")"},
      // Host eth0 and workload tapeth0 both make felix-from-eth0.
      {R"({"id": "h", "kind": "host", "interface": "eth0"})",
       R"(interface: chain name "felix-from-eth0" is also made by endpoint "a\"b\nc" )"
       R"((interface "tapeth0"))"},
      // Its own mistakes come after its clashes, in both.
      {R"({"id": "x\n", "kind": "workload", "interface": "tapw", "profile_ids": ["ghost"]})",
       "interface: \"tapw\" is also the interface of endpoint \"w\"\n"
       "{}profile_ids[0]: no profile \"ghost\""},
  };
  absl::StatusOr<Model> model = LoadModel(absl::StrCat(R"({"endpoints": [)", holders, "]}"));
  ASSERT_TRUE(model.ok()) << model.status();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.newcomer);
    absl::StatusOr<Model> loaded =
        LoadModel(absl::StrCat(R"({"endpoints": [)", holders, ", ", c.newcomer, "]}"));
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(
        loaded.status().message(),
        absl::StrCat("endpoints[2].", absl::StrReplaceAll(c.want, {{"{}", "endpoints[2]."}})));

    absl::StatusOr<IncrementalGenerator> gen = IncrementalGenerator::Create(*model);
    ASSERT_TRUE(gen.ok()) << gen.status();
    // The newcomer as a typed Endpoint: it loads alone with a profile "ghost" beside it.
    Model alone =
        *LoadModel(absl::StrCat(R"({"profiles": {"ghost": {}}, "endpoints": [)", c.newcomer, "]}"));
    absl::StatusOr<Plans> p = gen->UpsertEndpoint(alone.endpoints[0]);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().message(),
              absl::StrCat("endpoint.", absl::StrReplaceAll(c.want, {{"{}", "endpoint."}})));
  }
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
            "== iptables-restore --noflush ==\n*filter\n"
            "-R felix-from-a5 2 ! -s 198.18.99.5/32 -m comment --comment \"Drop if wrong source "
            "IP\" -j DROP\n"
            "COMMIT\nv4 filter: chain felix-from-a5 edited: 1 replaced\n");
}

}  // namespace
}  // namespace fiptgen
