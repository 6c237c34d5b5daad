//===- Schedule.h - Precomputed placement + migration schedules -*- C++ -*-===//
//
// A schedule fixes every decision in advance: the prompt blocks that start
// in HBM, and per record (step, layer, seq) the blocks demoted, the blocks
// promoted and the tier of a newly opened block. The solver (issue 4) emits
// schedules; the simulator replays them through SchedulePolicy and returns
// exactly the time TimeModel::stepTime gives for the same counts, summed in
// trace order (step outer, layer inner) in double precision - a solver that
// sums in the same order gets a bit-identical total. Storage is
// compressed-row: memory grows with the number of moves, not of steps.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_SCHEDULE_H
#define KVOPT_CORE_SCHEDULE_H

#include "kvopt/Core/Policy.h"

#include "llvm/ADT/ArrayRef.h"

#include <memory>
#include <vector>

namespace kvopt {

class Schedule {
public:
  Schedule() { offsets.push_back(0); }

  std::vector<BlockId> initialHbm;

  /// Append the decisions of the next record (records in trace order).
  void addRecord(llvm::ArrayRef<BlockId> demote,
                 llvm::ArrayRef<BlockId> promote, bool newBlockInHbm);

  uint64_t records() const { return newInHbm.size(); }
  llvm::ArrayRef<BlockId> demotions(uint64_t rec) const;
  llvm::ArrayRef<BlockId> promotions(uint64_t rec) const;
  bool newBlockInHbm(uint64_t rec) const { return newInHbm[rec] != 0; }
  uint64_t totalMoves() const { return moves.size(); }

private:
  /// Per record r: moves[offsets[2r]..offsets[2r+1]) are demotions,
  /// moves[offsets[2r+1]..offsets[2r+2]) promotions.
  std::vector<uint64_t> offsets;
  std::vector<BlockId> moves;
  std::vector<uint8_t> newInHbm;
};

/// Replays a schedule. Errors if the trace has more records than the
/// schedule.
std::unique_ptr<Policy> createSchedulePolicy(const Schedule &schedule,
                                             std::string name = "schedule");

/// Wraps a policy and records its decisions into `out` (to turn any online
/// policy into a schedule, e.g. as a solver's warm start).
std::unique_ptr<Policy> createRecordingPolicy(Policy &inner, Schedule &out);

} // namespace kvopt

#endif // KVOPT_CORE_SCHEDULE_H
