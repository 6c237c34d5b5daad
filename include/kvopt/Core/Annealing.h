//===- Annealing.h - The seed's simulated-annealing knob search -*- C++ -*-===//
//
// SA_simulation.py searches the lookahead oracle's (window W, fraction R) by
// simulated annealing from (5, 0.5) over 40 iterations, each a full
// simulation. This reproduces that search, seeded and deterministic. The
// result is a good schedule, not a bound (MISSION.md section 2).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_ANNEALING_H
#define KVOPT_CORE_ANNEALING_H

#include "kvopt/Core/Simulator.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <vector>

namespace kvopt {

/// Most annealing iterations accepted; each one is a full simulation.
constexpr uint32_t kMaxAnnealIterations = 10000;

struct AnnealParams {
  uint32_t iterations = 40;
  uint32_t startWindow = 5;
  double startFraction = 0.5;
  uint32_t maxWindow = 64;
  /// Initial temperature as a fraction of the first evaluation's time, and
  /// the geometric cooling factor per iteration. A worse point is accepted
  /// with probability exp(-(t - t_cur) / T): with T = 0.5% of the time a 1%
  /// worse point passes about once in 7 at the start.
  double initialTemperature = 0.005;
  double cooling = 0.85;
  /// Neighbourhood: window +- 1..maxWindowStep, fraction +- multiples of
  /// fractionStep up to maxFractionSteps (the seed's W +- 3, R +- 0.3).
  uint32_t maxWindowStep = 3;
  double fractionStep = 0.05;
  uint32_t maxFractionSteps = 6;
  /// Go back to the best point after this many iterations without a new
  /// best (0: never).
  uint32_t restartAfter = 6;
  uint64_t seed = 1;
};

struct AnnealPoint {
  uint32_t window = 0;
  double fraction = 0;
  double seconds = 0;
  bool accepted = false;
};

struct AnnealResult {
  uint32_t bestWindow = 0;
  double bestFraction = 0;
  SimMetrics best;
  std::vector<AnnealPoint> history;
};

/// Evaluate (window, fraction) by a full simulation.
using LookaheadEvaluator =
    std::function<llvm::Expected<SimMetrics>(uint32_t window, double fraction)>;

llvm::Expected<AnnealResult> annealLookahead(const LookaheadEvaluator &eval,
                                             const AnnealParams &params = {});

/// Convenience: anneal by simulating `trace` (reopened per evaluation).
llvm::Expected<AnnealResult> annealLookahead(const TraceSource &trace,
                                             const Problem &problem,
                                             const AnnealParams &params = {});

} // namespace kvopt

#endif // KVOPT_CORE_ANNEALING_H
