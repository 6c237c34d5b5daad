//===- CoreBench.cpp - Google Benchmark microbenchmarks of the core ------===//
//
// Seed-scale shapes (32 layers, 31,299-token prompt, 16 KiB entries, paper
// Table I) with the decode length as the benchmark argument; items = token
// accesses simulated. The full-scale run (10,239 steps) is the
// BM_SimulateFullScale benchmark, registered only when KVOPT_FULL_SCALE=1.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/SeedCode.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Core/TraceIO.h"

#include "benchmark/benchmark.h"

#include "llvm/Support/FileSystem.h"

#include <cstdio>
#include <cstdlib>

using namespace kvopt;

namespace {
GeneratorParams seedParams(uint32_t decode) {
  GeneratorParams g;
  g.layers = 32;
  g.promptLen = 31299;
  g.decodeSteps = decode;
  g.sparsity = 0.6;
  g.seed = 1;
  return g;
}

Problem paperProblem(uint32_t decode, uint32_t block = 1) {
  Workload w = makePaperWorkload(31299, decode);
  w.tokensPerBlock = block;
  MemorySystem m = cantFail(getHardwarePreset("paper"));
  return cantFail(
      Problem::create(m, w, TimeModelMode::Paper, Hierarchy::Inclusive));
}

void BM_GenerateSeedLike(benchmark::State &state) {
  uint64_t changes = 0;
  for (auto _ : state) {
    auto src = cantFail(makeGenerator(seedParams(uint32_t(state.range(0)))));
    TraceRecord r;
    while (cantFail(src->next(r)))
      changes += r.added.size() + r.removed.size();
  }
  state.SetItemsProcessed(int64_t(changes));
}
BENCHMARK(BM_GenerateSeedLike)
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond);

void simulatePolicy(benchmark::State &state, const std::string &name,
                    uint32_t block) {
  uint32_t decode = uint32_t(state.range(0));
  Problem p = paperProblem(decode, block);
  uint64_t accesses = 0;
  double seconds = 0;
  for (auto _ : state) {
    auto src = cantFail(makeGenerator(seedParams(decode)));
    auto pol = cantFail(createPolicyByName(name));
    SimMetrics m = cantFail(simulate(*src, p, *pol));
    accesses += m.reads;
    seconds = m.totalSeconds;
  }
  state.SetItemsProcessed(int64_t(accesses));
  state.counters["sim_s"] = seconds;
}

void BM_SimulateStatic(benchmark::State &s) { simulatePolicy(s, "static", 1); }
void BM_SimulateReactive(benchmark::State &s) {
  simulatePolicy(s, "reactive", 1);
}
void BM_SimulatePage16(benchmark::State &s) { simulatePolicy(s, "page", 16); }
void BM_SimulateLookahead(benchmark::State &s) {
  simulatePolicy(s, "lookahead", 1);
}
void BM_SimulateBelady(benchmark::State &s) { simulatePolicy(s, "belady", 1); }
BENCHMARK(BM_SimulateStatic)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulateReactive)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulatePage16)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulateLookahead)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulateBelady)->Arg(256)->Unit(benchmark::kMillisecond);

void BM_BinaryTraceRead(benchmark::State &state) {
  uint32_t decode = uint32_t(state.range(0));
  auto gen = cantFail(makeGenerator(seedParams(decode)));
  std::string bin = cantFail(encodeBinaryTrace(*gen));
  uint64_t records = 0;
  for (auto _ : state) {
    auto src = cantFail(openBinaryTraceBuffer(bin, "bench"));
    TraceRecord r;
    while (cantFail(src->next(r)))
      ++records;
  }
  state.SetBytesProcessed(int64_t(bin.size()) * state.iterations());
  state.counters["bytes_per_step_layer"] =
      double(bin.size()) / (double(decode) * 32);
}
BENCHMARK(BM_BinaryTraceRead)->Arg(256)->Unit(benchmark::kMillisecond);

void BM_StepTime(benchmark::State &state) {
  Problem p = paperProblem(16);
  StepCounts c;
  c.reads = 12519;
  c.hits = 9000;
  c.appendsHbm = 1;
  c.promotions = 30;
  double sum = 0;
  for (auto _ : state) {
    c.hits = (c.hits + 1) % 12519;
    sum += p.model.stepTime(c).seconds;
  }
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_StepTime);

/// The seed-code mode end to end: parse the seed's CSV and replay their
/// simulator (args: policy as SeedPolicy, prompt, decode steps). The trace
/// is the seed-like generator's, written once as CSV; the KV budget is 40%
/// of the final KV (as the shared reference run). Items = token accesses;
/// Reactive and SA-guided parse the CSV twice (their initial placement reads
/// the future).
void BM_SeedCodeCsv(benchmark::State &state) {
  auto policy = SeedPolicy(state.range(0));
  uint32_t prompt = uint32_t(state.range(1)), decode = uint32_t(state.range(2));
  GeneratorParams g = seedParams(decode);
  g.promptLen = prompt;
  llvm::SmallString<128> csv;
  if (llvm::sys::fs::createTemporaryFile("kvcore-seed", "csv", csv)) {
    state.SkipWithError("no temporary file");
    return;
  }
  {
    auto gen = cantFail(makeGenerator(g));
    cantFail(writeSeedCsvTrace(*gen, std::string(csv)));
  }
  Workload w = makePaperWorkload(prompt, decode);
  MemorySystem m = cantFail(getHardwarePreset("paper"));
  Problem p = cantFail(
      Problem::create(m, w, TimeModelMode::Paper, Hierarchy::Inclusive));
  p = p.withCapacityBlocks(uint64_t(0.4 * 32 * (prompt + decode)) - 1);
  SeedCodeConfig c;
  c.policy = policy;
  uint64_t accesses = 0;
  double ns = 0;
  for (auto _ : state) {
    auto src = cantFail(openTrace(std::string(csv)));
    SeedCodeResult r = cantFail(simulateSeedCode(*src, p, c));
    accesses += r.accesses;
    ns = r.totalNs;
  }
  llvm::sys::fs::remove(csv);
  state.SetItemsProcessed(int64_t(accesses));
  state.counters["sim_ns"] = ns;
  state.SetLabel(seedPolicyName(policy));
}
BENCHMARK(BM_SeedCodeCsv)
    ->Apply([](benchmark::internal::Benchmark *b) {
      for (SeedPolicy p : {SeedPolicy::Static, SeedPolicy::Reactive,
                           SeedPolicy::Page, SeedPolicy::Lookahead}) {
        b->Args({int64_t(p), 1024, 256});
        b->Args({int64_t(p), 16384, 64});
      }
    })
    ->Unit(benchmark::kMillisecond);

void BM_SimulateFullScale(benchmark::State &s) {
  simulatePolicy(s, "static", 1);
}
} // namespace

int main(int argc, char **argv) {
  const char *full = std::getenv("KVOPT_FULL_SCALE");
  if (full && std::string(full) == "1")
    benchmark::RegisterBenchmark("BM_SimulateFullScale/static",
                                 BM_SimulateFullScale)
        ->Arg(10239)
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
