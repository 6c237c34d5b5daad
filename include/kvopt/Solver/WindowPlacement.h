//===- WindowPlacement.h - Per-window HBM sets chosen by read counts -*- C++ -*-===//
//
// A schedule planned ahead from the trace's exact per-block read counts
// (BlockAccesses). Every `period` decode steps it chooses the at most C
// blocks to hold in HBM for the next period:
//  * value of a block = its token reads over the next `horizon` steps, minus
//    the cost of promoting it when it is not in HBM yet (its entries times
//    the link cost of one entry, in units of one missed read); blocks already
//    in HBM keep their place while it is not needed (no demotion cost);
//  * the C most valuable blocks with a positive value are chosen (the first
//    placement, which costs no transfer, by read counts over its own
//    horizon alone);
//  * balance, per (step, layer) group: the step time is a max over
//    resources, so where a layer's chosen blocks would serve more hits in
//    the step than the bandwidth-balanced share of its reads (weights +
//    hits on HBM = misses on the link), its promotions are cancelled and,
//    beyond a small hysteresis, its resident blocks with the most reads
//    demoted (fewest moved entries per read shifted) until the hits are at
//    that share; both tiers stay busy.
// The policy replays the plan in the simulator: a chain's moves for step s
// are made at its own record of step s-1, demotions first, then the new
// block, then promotions while the capacity allows; a promotion that does
// not fit waits and is retried at the next records (any chain) while the
// plan still wants it. Feasible by construction; its time is what the
// simulator says. Deterministic: no clock, no threads.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_WINDOWPLACEMENT_H
#define KVOPT_SOLVER_WINDOWPLACEMENT_H

#include "kvopt/Core/Policy.h"
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/ResourceCosts.h"

#include <memory>
#include <string>
#include <vector>

namespace kvopt {
namespace solver {

struct WindowOptions {
  /// Steps of future reads that value a block (0: the whole run).
  uint32_t horizon = 16;
  /// The same for the first placement (0: `horizon`).
  uint32_t initialHorizon = 0;
  /// Steps between two choices of the HBM set (0: so that there are at most
  /// `maxPlans` choices).
  uint32_t period = 0;
  uint32_t maxPlans = 64;
  /// Promotion cost multiplier (1 = the link seconds of its entries, in
  /// units of one missed read's link seconds).
  double promoteWeight = 1.0;
  /// Leave reads on DRAM to balance HBM against the link.
  bool balance = true;
  /// Resident blocks are demoted for balance only when the chosen hits
  /// exceed the balanced share by more than this fraction (hysteresis
  /// against flip-flopping); promotions are cancelled above the share.
  double balanceSlack = 0.02;
};

/// One planned change of the HBM set: before the reads of `step`, `block`
/// should be in HBM (toHbm) or in DRAM.
struct WindowMove {
  uint32_t step;
  BlockId block;
  bool toHbm;
};

/// The plan: the blocks in HBM at the start (step 0) and the changes for
/// later steps, sorted by (step, block).
struct WindowPlan {
  std::vector<BlockId> initial;
  std::vector<WindowMove> moves;
  /// Blocks created during decode that the plan wants in HBM from their
  /// creation (indexed by block; 1 = create in HBM when there is room).
  std::vector<uint8_t> createInHbm;
};

/// Plan the HBM sets for `capacityBlocks` blocks of HBM.
WindowPlan planWindows(const BlockAccesses &accesses, const ResourceCosts &costs,
                       uint64_t capacityBlocks, const WindowOptions &options = {});

/// A policy replaying `plan` (which it owns) on the trace `accesses` was
/// built from.
std::unique_ptr<Policy> createWindowPolicy(WindowPlan plan,
                                           const BlockAccesses &accesses,
                                           std::string name = "window-placement");

/// The option sets the solver's portfolio simulates (each one candidate
/// schedule; docs/bound.md section 5 has the measurements behind them).
std::vector<WindowOptions> windowCandidates();

/// The longest run (decode steps) for which the solver simulates the
/// window candidates. Beyond it the plan re-plans every ceil(D / 64) > 32
/// steps with a 6-step horizon and lost to the balanced oracle in every
/// measured run (docs/bound.md section 5): a size rule, not a clock.
constexpr uint32_t kWindowMaxDecodeSteps = 2048;

/// Plan and wrap in one call; the name records the options.
std::unique_ptr<Policy> createWindowPlacementPolicy(
    const BlockAccesses &accesses, const ResourceCosts &costs,
    uint64_t capacityBlocks, const WindowOptions &options = {});

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_WINDOWPLACEMENT_H
