//===- ScheduleText.h - A schedule as a small text file ---------*- C++ -*-===//
//
// A planner schedule (Schedule.h: the prompt blocks that start in HBM and,
// per record, the blocks demoted, the blocks promoted and the tier of a
// newly opened block) in a line-based text form that `kv-solve
// --write-schedule` writes and `kv-solve --replay` reads back, so that a
// schedule from anywhere (another solver, a hand edit, a brute-force run)
// can be replayed through the simulator. The file names its shape; a
// replay refuses a schedule made for another one:
//
//   kvopt-schedule 1
//   layers 2
//   sequences 1
//   prompt 1
//   steps 3
//   block-tokens 2
//   initial-hbm 0 3
//   step 0 layer 1 seq 0: demote 3 promote 0 new-block-in-hbm
//
// A workload with sliding-window layers writes version 2, which adds the
// line `windows W0 W1 ...` (one window in tokens per layer, 0 = global)
// after the shape; version 1 files are read as before.
//
// Blocks are numbered as in Residency.h: (seq * layers + layer) *
// blocksPerSeqLayer + index. Record lines come in trace order (step, layer,
// sequence); records without decisions are omitted. '#' starts a comment.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_SCHEDULETEXT_H
#define KVOPT_SOLVER_SCHEDULETEXT_H

#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Workload.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvopt {
namespace solver {

/// The shape a schedule is made for.
struct ScheduleShape {
  uint32_t layers = 0, sequences = 0, promptLen = 0, decodeSteps = 0,
           tokensPerBlock = 0;
  /// Per layer the sliding window in tokens (0 = global); empty when no
  /// layer has one (then the file is version 1, as before).
  std::vector<uint32_t> windows;
  static ScheduleShape of(const Workload &w);
};

/// Write one record's moves as " demote B..." and " promote B..." (each
/// part only when non-empty), the form of schedule files and reports.
void writeMoveLists(llvm::raw_ostream &os, llvm::ArrayRef<BlockId> demotions,
                    llvm::ArrayRef<BlockId> promotions);

/// Write `schedule` (one decision per record of `shape`) as text.
void writeScheduleText(llvm::raw_ostream &os, const ScheduleShape &shape,
                       const Schedule &schedule);

/// Parse a schedule file and check it against `expected`. Errors name the
/// file, the line and the field: unknown or repeated keys, malformed
/// numbers, records out of order or out of range, and a shape that differs
/// from `expected` (naming both values).
llvm::Expected<Schedule> readScheduleText(llvm::StringRef text,
                                          const std::string &file,
                                          const ScheduleShape &expected);

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_SCHEDULETEXT_H
