// Tracing packets (fiptgen/simulate.h) through a scale model's loaded state.
// items = packets traced; counter steps = rules (and chain ends, policies) a packet meets on
// average. BM_Trace* time one packet; BM_LoadSimulator times compiling one family's state.
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/fixtures.h"
#include "fiptgen/flows.h"
#include "fiptgen/simulate.h"

namespace fiptgen {
namespace bench {
namespace {

const IpNet* FirstNet(const Endpoint& e, int family) {
  const std::vector<IpNet>& nets = family == 4 ? e.ipv4_nets : e.ipv6_nets;
  return nets.empty() ? nullptr : &nets.front();
}

// Packets spread over the model, deterministically: between workloads (each meets both
// endpoints' dispatch trees, endpoint chains and profiles), workload to host, from a host
// endpoint to the host, and from the host out of a host endpoint.
std::vector<Packet> Packets(const Model& m, int family) {
  std::vector<const Endpoint*> workloads, hosts;
  for (const Endpoint& e : m.endpoints) {
    if (FirstNet(e, family) == nullptr) {
      continue;
    }
    (e.kind == EndpointKind::kWorkload ? workloads : hosts).push_back(&e);
  }
  const std::string host = family == 4 ? "198.18.0.254" : "fd5a:f1e1::fe";
  const char* ports[] = {"22", "53", "80", "443", "5432", "8080", "9000"};
  std::vector<Packet> packets;
  for (size_t i = 0; packets.size() < 256; ++i) {
    const Endpoint& a = *workloads[(i * 7919) % workloads.size()];
    const Endpoint& b = *workloads[(i * 104729 + 1) % workloads.size()];
    const Endpoint& h = *hosts[i % hosts.size()];
    const std::string port = ports[i % 7];
    const std::string proto = i % 3 == 0 ? "udp" : "tcp";
    std::string spec;
    switch (i % 4) {
      case 0:
      case 1:
        spec = "in=" + a.interface + " out=" + b.interface + " " + proto +
               " src=" + FirstNet(a, family)->ToMemberString() +
               " dst=" + FirstNet(b, family)->ToMemberString() + " dport=" + port;
        break;
      case 2:
        spec = "in=" + a.interface + " " + proto + " src=" + FirstNet(a, family)->ToMemberString() +
               " dst=" + host + " dport=" + port;
        break;
      case 3:
        spec = (i % 8 == 3 ? "in=" + h.interface : "out=" + h.interface) + " " + proto +
               " src=" + (i % 8 == 3 ? FirstNet(b, family)->ToMemberString() : host) + " dst=" +
               (i % 8 == 3 ? FirstNet(h, family)->ToMemberString()
                           : FirstNet(b, family)->ToMemberString()) +
               " dport=" + port;
        break;
    }
    absl::StatusOr<Packet> p = ParsePacket(spec);
    if (!p.ok()) {
      continue;  // e.g. a workload sending to itself
    }
    FillSourceMac(m, &*p);
    packets.push_back(*p);
  }
  return packets;
}

void Trace(benchmark::State& state, ScaleSize size, int family) {
  const ScaleFixture& f = GetScaleFixture(size);
  absl::StatusOr<PacketSimulator> sim = PacketSimulator::FromDesired(f.desired, family);
  if (!sim.ok()) {
    state.SkipWithError(std::string(sim.status().message()).c_str());
    return;
  }
  const std::vector<Packet> packets = Packets(f.model, family);
  TraceResult result;
  size_t i = 0, steps = 0, traced = 0;
  for (auto _ : state) {
    const Packet& p = packets[i++ % packets.size()];
    if (!sim->Trace(p, &result).ok() || result.verdict == Verdict::kUnresolved) {
      state.SkipWithError("a packet could not be traced");
      return;
    }
    steps += result.steps.size();
    ++traced;
    benchmark::DoNotOptimize(result);
  }
  state.counters["steps"] = traced == 0 ? 0.0 : static_cast<double>(steps) / traced;
  SetThroughput(state, 0, 1);
}

void BM_TraceV4(benchmark::State& state, ScaleSize size) { Trace(state, size, 4); }
void BM_TraceV6(benchmark::State& state, ScaleSize size) { Trace(state, size, 6); }

void BM_LoadSimulator(benchmark::State& state, ScaleSize size) {
  const ScaleFixture& f = GetScaleFixture(size);
  for (auto _ : state) {
    absl::StatusOr<PacketSimulator> sim = PacketSimulator::FromDesired(f.desired, 4);
    benchmark::DoNotOptimize(sim);
  }
  SetThroughput(state, f.files.iptables.size(), 1);
}

#define FIPTGEN_TRACE_BENCHMARK(fn, unit)                                                       \
  BENCHMARK_CAPTURE(fn, small, ScaleSize::kSmall)->Unit(unit)->ComputeStatistics("min", MinOf); \
  BENCHMARK_CAPTURE(fn, large, ScaleSize::kLarge)->Unit(unit)->ComputeStatistics("min", MinOf); \
  BENCHMARK_CAPTURE(fn, huge, ScaleSize::kHuge)->Unit(unit)->ComputeStatistics("min", MinOf)

FIPTGEN_TRACE_BENCHMARK(BM_TraceV4, benchmark::kMicrosecond);
FIPTGEN_TRACE_BENCHMARK(BM_TraceV6, benchmark::kMicrosecond);
FIPTGEN_TRACE_BENCHMARK(BM_LoadSimulator, benchmark::kMillisecond);

}  // namespace
}  // namespace bench
}  // namespace fiptgen

BENCHMARK_MAIN();
