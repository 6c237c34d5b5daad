//===- LagrangianBound.h - A valid lower bound at any scale -----*- C++ -*-===//
//
// The Lagrangian relaxation of docs/bound.md. Two families of multipliers:
//  * mu_w, a convex combination of the four resources for every window w of
//    decode steps: step time = max_r t_r >= sum_r mu_r t_r;
//  * lambda_w >= 0, a price per HBM block per record on the capacity
//    constraints of the records in window w.
// With both fixed, the problem splits into one two-state (HBM/DRAM) path per
// block. Each path is solved exactly over compressed runs of identical steps
// (O(changes) per evaluation, never O(accesses)), and every relaxation used
// only lowers the value. Every (mu, lambda) therefore yields a lower bound on
// the total time of every schedule (weak duality); `optimize` searches for
// a large one within a time limit.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_LAGRANGIANBOUND_H
#define KVOPT_SOLVER_LAGRANGIANBOUND_H

#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/ResourceCosts.h"

#include <cstdint>
#include <vector>

namespace kvopt {
namespace solver {

/// The multipliers.
struct DualPrices {
  /// Decode steps per window (the last window may be shorter).
  uint32_t windowSteps = 1;
  /// Per window: resource weights, nonnegative, summing to 1.
  std::vector<ResourceVec> mu;
  /// Per window: seconds per HBM block per record, >= 0.
  std::vector<double> lambda;

  uint32_t windowOf(uint32_t step) const { return step / windowSteps; }
  size_t windows() const { return mu.size(); }
};

/// A per-block plan read off the relaxed solution: the tier of each block at
/// each of its reads, as switch points. Consumed by PlanPolicy.
struct BlockPlan {
  /// Per block: state (1 = HBM) at its first step (step 0 for prompt
  /// blocks, the creation step for decode blocks: the new block's tier).
  std::vector<uint8_t> firstInHbm;
  /// Per block, compressed rows: (step << 1) | inHbm for each step at which
  /// the planned state differs from the previous step's.
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> switches;
};

/// One evaluation of the dual function.
struct DualValue {
  /// The lower bound in seconds, after the floating-point safety margin.
  double bound = 0;
  /// The same before the margin.
  double raw = 0;
  /// Subgradient data of the relaxed solution, per window: seconds on each
  /// resource (weights included) and HBM occupancy in block-records.
  std::vector<ResourceVec> resourceSeconds;
  std::vector<double> occupancy;
};

struct LagrangianOptions {
  /// Target number of windows (steps per window = ceil(decode / windows)).
  uint32_t windows = 32;
  /// Wall-clock limit of `optimize` in seconds, 0 = none (the default: the
  /// iteration budget alone decides, so results do not depend on machine
  /// load). Evaluations in flight finish; the final full evaluation is
  /// always done.
  double timeLimitSeconds = 0;
  /// Maximum subgradient iterations; 0 = by problem size
  /// (LagrangianBound::defaultIterations), the same on every machine.
  uint32_t maxIterations = 0;
  /// Optimise on every `sampleStride`-th block with the capacity scaled by
  /// the same factor, then evaluate the full problem once (1 = no
  /// sampling; 0 = by problem size, LagrangianBound::defaultStride). Every
  /// evaluation on the full problem is a valid bound; sampling only
  /// chooses the multipliers.
  uint32_t sampleStride = 0;
  /// Initial step sizes of the ascent (divided by sqrt(iteration)): the
  /// exponentiated-gradient rate on mu, and the lambda step in units of
  /// the value of one fully read block per record.
  double muStep = 0.5, lambdaStep = 0.5;
  /// Before the ascent, also evaluate every window's mu at each vertex of
  /// the simplex and start from the best start point. With the budget by
  /// size (maxIterations 0) only from a budget of 20 evaluations, taken
  /// out of it.
  bool extremeStarts = true;
  /// After the ascent, rounds of a per-window bisection on the capacity
  /// price at the best mu (0 = none). With the budget by size, at most a
  /// quarter of it, taken out of it.
  uint32_t bisectionRounds = 8;
  /// Threads for an evaluation (blocks are split in a fixed number of
  /// chunks reduced in order: the value does not depend on this).
  unsigned threads = 1;
  ProgressFn progress;
};

struct LagrangianResult {
  double bound = 0;
  DualPrices prices;
  uint32_t iterations = 0;
  /// The sample stride the ascent used (1 = every block).
  uint32_t sampleStride = 1;
  /// The user's time limit stopped the ascent before its iteration budget.
  bool stoppedByTimeLimit = false;
  double seconds = 0;
  /// Bound after each iteration (on the sampled problem when sampling).
  std::vector<double> history;
};

class LagrangianBound {
public:
  LagrangianBound(const BlockAccesses &accesses, const ResourceCosts &costs,
                  uint64_t capacityBlocks);

  /// Multipliers at the bandwidth-balanced start: weight on HBM and on the
  /// slower of DRAM read / H2D so that a hit and a miss cost the same, no
  /// capacity price.
  DualPrices initialPrices(uint32_t windows) const;

  /// Evaluate the dual function. With `gradient`, also fill the subgradient
  /// data; with `plan`, write the relaxed solution's plan. `stride` > 1
  /// evaluates a sample (every stride-th block, capacity / stride): then
  /// the value is an estimate for choosing multipliers, not a bound.
  DualValue evaluate(const DualPrices &prices, bool gradient,
                     BlockPlan *plan = nullptr, uint32_t stride = 1,
                     unsigned threads = 1) const;

  /// The iteration budget when none is given: 60 on small problems, fewer
  /// (down to 8) as one evaluation's work (events + blocks x windows,
  /// divided by the sample stride) grows past 5e6, so the ascent costs
  /// about 3e8 units of work.
  uint32_t defaultIterations(uint32_t windows, uint32_t stride = 1) const;

  /// The sample stride when none is given: 1 up to 5e7 trace events, above
  /// that the stride that leaves about 2.5e7 events per ascent iteration
  /// (at most 64). A size rule: the same on every machine.
  uint32_t defaultStride() const;

  /// Subgradient ascent within the limits; returns the best full-problem
  /// bound and its multipliers, and writes the relaxed solution's plan at
  /// those multipliers into `plan` when given.
  LagrangianResult optimize(const LagrangianOptions &options,
                            BlockPlan *plan = nullptr) const;

private:
  const BlockAccesses &acc;
  ResourceCosts costs;
  uint64_t capacity;
};

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_LAGRANGIANBOUND_H
