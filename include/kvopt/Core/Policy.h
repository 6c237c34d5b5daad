//===- Policy.h - Online placement policies and their actions ---*- C++ -*-===//
//
// The simulator drives a policy record by record. For each (step, layer,
// seq) it: (1) applies the trace delta and counts hits on the current
// placement; (2) calls Policy::step; (3) applies the actions in the order
// demotions, placement of a newly opened block, promotions; (4) appends the
// new token; (5) checks the HBM capacity. Everything in (2)-(4) is charged to
// this step's time; moved blocks serve reads from the next step on.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_POLICY_H
#define KVOPT_CORE_POLICY_H

#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Residency.h"
#include "kvopt/Core/Trace.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kvopt {

/// What a policy sees of the run.
struct SimContext {
  const Problem &problem;
  /// The trace being simulated; oracle policies reopen() it to read ahead.
  const TraceSource &trace;
  const Residency &res;
};

/// One record's view.
struct StepInfo {
  uint32_t step = 0;  ///< decode step index i
  uint32_t token = 0; ///< absolute token n = prompt + i, appended this step
  uint32_t layer = 0;
  uint32_t seq = 0;
  const TraceRecord *record = nullptr;
  /// The block the new token goes to, and whether this token opens it (then
  /// the policy chooses its tier in StepActions::newBlockInHbm).
  BlockId newBlock = kNoBlock;
  bool opensBlock = false;
};

/// A policy's decisions for one record.
struct StepActions {
  std::vector<BlockId> demote;
  std::vector<BlockId> promote;
  bool newBlockInHbm = false;
  void clear() {
    demote.clear();
    promote.clear();
    newBlockInHbm = false;
  }
};

class Policy {
public:
  virtual ~Policy();
  virtual std::string name() const = 0;
  /// Unlimited HBM: the simulator skips the capacity check.
  virtual bool ignoresCapacity() const { return false; }
  /// The Residency bookkeeping this policy reads (default: all of it).
  virtual ResidencyFeatures features() const { return {}; }
  /// Choose the prompt blocks that start in HBM (all others start in DRAM).
  virtual llvm::Error initialize(const SimContext &ctx,
                                 std::vector<BlockId> &hbmBlocks) = 0;
  /// Decide this record's migrations and the tier of a newly opened block.
  virtual llvm::Error step(const SimContext &ctx, const StepInfo &info,
                           StepActions &actions) = 0;
};

} // namespace kvopt

#endif // KVOPT_CORE_POLICY_H
