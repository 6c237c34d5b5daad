//===- Simulator.h - Exact streaming simulation of a policy -----*- C++ -*-===//
//
// Streams a trace through a policy under the time model. The cost is
// O(trace changes + policy actions), never O(accesses): hits are maintained
// incrementally from the deltas and from residency changes.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_SIMULATOR_H
#define KVOPT_CORE_SIMULATOR_H

#include "kvopt/Core/Policy.h"
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/TimeModel.h"
#include "kvopt/Core/Trace.h"

#include "llvm/Support/Error.h"

#include <array>
#include <functional>
#include <string>

namespace kvopt {

/// One step's outcome, for the optional per-step stream.
struct StepResult {
  uint32_t step = 0;
  uint32_t layer = 0;
  StepCounts counts;
  StepTime time;
  uint64_t hbmBlocks = 0; ///< HBM occupancy after the step
};

struct SimMetrics {
  std::string policy;
  uint64_t steps = 0;         ///< (step, layer) pairs
  uint64_t decodedTokens = 0; ///< decode steps x batch
  double totalSeconds = 0;
  double tokensPerSecond = 0;
  uint64_t reads = 0, hits = 0;
  /// KV-only HBM hit rate: hits / reads (resident at read time).
  double kvHitRate = 0;
  /// Fraction of all read bytes (weights + KV) served from HBM.
  double byteHitRate = 0;
  /// Paper mode: mean of the seed's alpha over steps (their "Average HBM
  /// hit rate", weight-inclusive, capped at best_alpha).
  double paperAlphaMean = 0;
  ResourceBytes bytes;
  /// Bytes attention and weights consumed (weights + KV reads).
  double servedBytes = 0;
  /// servedBytes / (totalSeconds x peak aggregate read bandwidth).
  double aggregateUtilisation = 0;
  uint64_t peakHbmBlocks = 0;
  double peakHbmBytes = 0; ///< KV only
  uint64_t capacityBlocks = 0;
  uint64_t promotedBlocks = 0, demotedBlocks = 0;
  uint64_t promotedEntries = 0, demotedEntries = 0;
  uint64_t appendsHbm = 0, appendsDram = 0;
  /// Steps bound by each resource (indexed by Bottleneck).
  std::array<uint64_t, 5> bottleneckSteps{};
};

struct SimOptions {
  /// Called after every (step, layer) with its outcome.
  std::function<void(const StepResult &)> onStep;
};

/// Run `policy` over `trace`. Errors: header not matching the workload
/// (layers, batch, prompt, decode), invalid deltas, a policy action that is
/// invalid (moving a block that does not exist or is already there) or
/// exceeds the HBM capacity, all naming the step, layer and block.
llvm::Expected<SimMetrics> simulate(TraceSource &trace, const Problem &problem,
                                    Policy &policy,
                                    const SimOptions &options = {});

/// Check that a trace matches a workload (same layers, batch, lengths).
llvm::Error checkTraceMatchesWorkload(const TraceHeader &h, const Workload &w,
                                      const std::string &traceName);

} // namespace kvopt

#endif // KVOPT_CORE_SIMULATOR_H
