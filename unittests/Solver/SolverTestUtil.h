//===- SolverTestUtil.h - Random small placement problems -------*- C++ -*-===//
//
// Seeded random instances for the property tests: capacities, bandwidths
// (whole bytes/s from a small set so the exact model's scale stays small),
// traces with persistent read sets, granularities and batches.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_UNITTESTS_SOLVER_SOLVERTESTUTIL_H
#define KVOPT_UNITTESTS_SOLVER_SOLVERTESTUTIL_H

#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Random.h"
#include "kvopt/Core/Trace.h"
#include "kvopt/Core/TraceGenerators.h"

#include <memory>

namespace kvopt {
namespace testing {

struct Instance {
  Problem problem;
  std::unique_ptr<MemoryTrace> trace;
};

/// Seed-like generator parameters for workload `w`: its layers, batch,
/// prompt, decode steps and, when any layer has one, its windows.
inline GeneratorParams generatorFor(const Workload &w, double sparsity,
                                    double swapFraction, uint64_t seed) {
  GeneratorParams g;
  g.layers = w.model.layers;
  g.batch = w.batch;
  g.promptLen = w.promptLen;
  g.decodeSteps = w.decodeSteps;
  g.sparsity = sparsity;
  g.swapFraction = swapFraction;
  g.seed = seed;
  if (w.hasWindows())
    g.layerWindows.assign(w.model.slidingWindow.begin(),
                          w.model.slidingWindow.end());
  return g;
}

/// Sizes of a random instance.
struct InstanceShape {
  uint32_t layers, batch, prompt, decode, tokensPerBlock;
};

inline MemorySystem randomMemory(Rng &rng) {
  static const double gb[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 20};
  auto pick = [&] { return gb[rng.below(10)] * 1e9; };
  MemorySystem m;
  m.name = "random";
  double hbm = pick() * (1 + double(rng.below(4)));
  m.tiers.push_back(
      {"hbm", TierKind::HBM, 1e12, hbm, rng.below(2) ? hbm : pick()});
  m.tiers.push_back({"dram", TierKind::DRAM, 1e12, pick(), pick()});
  m.links.push_back({"dram", "hbm", pick(), pick()});
  return m;
}

/// A trace whose read sets persist: each step every token of the previous
/// set stays with probability `keep`, others join with probability `join`.
inline std::unique_ptr<MemoryTrace> randomTrace(Rng &rng,
                                                const TraceHeader &h) {
  double keep = 0.3 + 0.7 * rng.unit(), join = 0.1 + 0.6 * rng.unit();
  std::vector<std::vector<std::vector<uint32_t>>> sets(h.decodeSteps);
  std::vector<std::vector<uint8_t>> cur(uint64_t(h.layers) * h.batch);
  for (uint32_t i = 0; i < h.decodeSteps; ++i) {
    sets[i].resize(cur.size());
    for (size_t k = 0; k < cur.size(); ++k) {
      cur[k].resize(h.promptLen + i, 0);
      for (uint32_t t = 0; t < h.promptLen + i; ++t) {
        bool in = cur[k][t] ? rng.unit() < keep : rng.unit() < join;
        cur[k][t] = in;
        if (in)
          sets[i][k].push_back(t);
      }
    }
  }
  auto tr = MemoryTrace::fromFullSets(h, sets);
  if (!tr) {
    llvm::consumeError(tr.takeError());
    return nullptr;
  }
  return std::move(*tr);
}

inline std::unique_ptr<Instance> randomInstance(Rng &rng,
                                                const InstanceShape &s) {
  Workload w = makePaperWorkload(s.prompt, s.decode);
  w.model.layers = s.layers;
  w.model.slidingWindow.assign(s.layers, 0);
  w.batch = s.batch;
  w.tokensPerBlock = s.tokensPerBlock;
  static const uint64_t entries[] = {1024, 4096, 16384};
  w.entryBytesOverride = entries[rng.below(3)];
  static const double weights[] = {0, 1e5, 1e6, 4e6};
  w.weightBytesPerLayerStepOverride = weights[rng.below(4)];
  w.residentWeightBytesOverride = 0;
  auto p = Problem::create(randomMemory(rng), w);
  if (!p) {
    llvm::consumeError(p.takeError());
    return nullptr;
  }
  uint64_t all = uint64_t(s.batch) * s.layers * w.blocksPerSeqLayer();
  uint64_t cap = 1 + rng.below(all);
  auto inst =
      std::make_unique<Instance>(Instance{p->withCapacityBlocks(cap), nullptr});
  inst->trace = randomTrace(rng, {s.layers, s.batch, s.prompt, s.decode});
  if (!inst->trace)
    return nullptr;
  return inst;
}

} // namespace testing
} // namespace kvopt

#endif // KVOPT_UNITTESTS_SOLVER_SOLVERTESTUTIL_H
