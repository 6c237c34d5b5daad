//===- Problem.h - One placement problem: hardware + workload ---*- C++ -*-===//
//
// Bundles what every policy, the simulator and the solver share: the memory
// system, the workload, the time model and the HBM capacity left for KV
// blocks after the resident weights.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_PROBLEM_H
#define KVOPT_CORE_PROBLEM_H

#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/TimeModel.h"
#include "kvopt/Core/Workload.h"

#include "llvm/Support/Error.h"

namespace kvopt {

struct Problem {
  MemorySystem mem;
  Workload work;
  TimeModel model;
  /// HBM blocks available to KV. Standard mode:
  ///   floor((hbm capacity - resident weights) / block bytes).
  /// Paper mode reproduces the seed: capacity read as GiB (capacity/1e9 x
  /// 2^30), weights as decimal bytes, and max_KV_num - 1 entries usable:
  ///   floor((floor((C - W) / entry) - 1) / tokensPerBlock).
  uint64_t capacityBlocks = 0;

  /// Validate everything and compute the capacity. Errors: invalid memory
  /// system or workload, or a capacity below one block.
  static llvm::Expected<Problem>
  create(const MemorySystem &mem, const Workload &work,
         TimeModelMode mode = TimeModelMode::Standard,
         Hierarchy hierarchy = Hierarchy::Exclusive,
         double fixedStepSeconds = 0);

  /// Same problem with a different capacity (0 < blocks), for sweeps and
  /// the Unlimited baseline.
  Problem withCapacityBlocks(uint64_t blocks) const;
};

} // namespace kvopt

#endif // KVOPT_CORE_PROBLEM_H
