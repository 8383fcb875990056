// Every golden case's flows: testdata/<case>/flows.txt (docs/trace.md) holds flows whose
// verdicts pin the case's behaviour, and every one must hold on the model's rules. Each file
// must also cover what its model has: flows of every family it enables, an accepted and a
// dropped flow, one that says whether it is untracked when a host endpoint has untracked
// profiles, a spoofed
// source from each kind of workload it has, and a failsafe port of a host endpoint with
// profiles. //e2e:kernel_diff_test sends the same flows through the kernel.
#include "fiptgen/flows.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/simulate.h"
#include "fiptgen/testing/golden.h"
#include "fiptgen/trace_text.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

bool InNets(const std::vector<IpNet>& nets, const IpNet& addr) {
  for (const IpNet& n : nets) {
    IpNet masked = addr;
    masked.prefix_len = n.prefix_len;
    if (masked.WithoutHostBits() == n) {
      return true;
    }
  }
  return false;
}

// What a flows file of `model` must contain; returns what is missing.
std::vector<std::string> Missing(const Model& model, const std::vector<FlowExpectation>& flows) {
  auto any = [&](auto pred) {
    for (const FlowExpectation& f : flows) {
      if (pred(f)) {
        return true;
      }
    }
    return false;
  };
  std::vector<std::string> missing;
  for (int family : model.config.families) {
    if (!any([&](const FlowExpectation& f) { return f.packet.family == family; })) {
      missing.push_back(absl::StrCat("a flow of IPv", family));
    }
  }
  for (Verdict v : {Verdict::kAccept, Verdict::kDrop}) {
    if (!any([&](const FlowExpectation& f) { return f.verdict == v; })) {
      missing.push_back(absl::StrCat("a flow that must get ", VerdictName(v)));
    }
  }
  bool untracked = false, workload = false, host = false;
  for (const Endpoint& e : model.endpoints) {
    untracked = untracked || !e.untracked_profile_ids.empty();
    workload = workload || e.kind == EndpointKind::kWorkload;
    host = host || (e.kind == EndpointKind::kHost && !e.profile_ids.empty());
  }
  if (untracked && !any([](const FlowExpectation& f) { return f.untracked.has_value(); })) {
    missing.push_back("a flow that says whether it is untracked");
  }
  if (workload && !any([&](const FlowExpectation& f) {
        for (const Endpoint& e : model.endpoints) {
          const std::vector<IpNet>& nets = f.packet.family == 4 ? e.ipv4_nets : e.ipv6_nets;
          if (e.kind == EndpointKind::kWorkload && e.interface == f.packet.in_interface &&
              !InNets(nets, f.packet.src) && f.verdict == Verdict::kDrop) {
            return true;
          }
        }
        return false;
      })) {
    missing.push_back("a flow from a workload with a source address not its own, dropped");
  }
  if (host && !any([&](const FlowExpectation& f) {
        for (const Endpoint& e : model.endpoints) {
          if (e.kind != EndpointKind::kHost || e.profile_ids.empty() ||
              f.verdict != Verdict::kAccept) {
            continue;
          }
          const bool in = e.interface == f.packet.in_interface && f.packet.out_interface.empty();
          const bool out = e.interface == f.packet.out_interface && f.packet.in_interface.empty();
          for (const FailsafePort& p : in    ? model.config.failsafe_inbound
                                       : out ? model.config.failsafe_outbound
                                             : std::vector<FailsafePort>{}) {
            if (p.protocol == f.packet.protocol && p.port == f.packet.dst_port) {
              return true;
            }
          }
        }
        return false;
      })) {
    missing.push_back("a flow to a failsafe port of a host endpoint with profiles, accepted");
  }
  return missing;
}

TEST(FlowsTest, EveryGoldenCaseHasFlowsThatHold) {
  int cases = 0;
  size_t total = 0;
  for (const std::string& name : golden::ListGoldenDir("testdata", /*directories=*/true)) {
    if (name == "errors" || name == "plans") {
      continue;
    }
    SCOPED_TRACE(name);
    const std::string dir = absl::StrCat("testdata/", name, "/");
    absl::StatusOr<Model> model = LoadModel(golden::ReadGoldenFile(dir + "model.json"));
    ASSERT_TRUE(model.ok()) << model.status();
    absl::StatusOr<std::vector<FlowExpectation>> flows =
        ParseFlows(golden::ReadGoldenFile(dir + "flows.txt"), dir + "flows.txt");
    ASSERT_TRUE(flows.ok()) << flows.status();
    EXPECT_GE(flows->size(), 5u) << dir << "flows.txt: too few flows to pin the case";
    EXPECT_EQ(Missing(*model, *flows), std::vector<std::string>{}) << dir << "flows.txt lacks";
    const Desired desired = Generate(*model);
    absl::StatusOr<PacketSimulator> sims[2] = {PacketSimulator::FromDesired(desired, 4),
                                               PacketSimulator::FromDesired(desired, 6)};
    for (FlowExpectation& flow : *flows) {
      FillSourceMac(*model, &flow.packet);
      const PacketSimulator& sim = *sims[flow.packet.family == 6];
      absl::StatusOr<TraceResult> trace = sim.Trace(flow.packet);
      ASSERT_TRUE(trace.ok()) << trace.status();
      if (!FlowHolds(flow, *trace)) {
        std::string got, text;
        AppendOutcome(*trace, &got);
        AppendTraceText(sim, flow.packet, *trace, &text);
        ADD_FAILURE() << dir << "flows.txt:" << flow.line << ": " << flow.text << "\n  got " << got
                      << "\n"
                      << text;
      }
    }
    total += flows->size();
    ++cases;
  }
  EXPECT_GE(cases, 20) << "golden cases went missing";
  EXPECT_GE(total, 200u);
}

}  // namespace
}  // namespace fiptgen
