//===- ScheduleExport.h - write a schedule as a runtime side file -*- C++ -*-===//
//
// Part of kv-opt. Converts the planner's schedule (blocks numbered over
// sequences and layers, decisions per record) into the runtime's schedule
// file (docs/schedule-format.md): per layer an initial HBM mask and a list
// of block-range migrations per decode step.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_PLANNING_SCHEDULEEXPORT_H
#define KVOPT_PLANNING_SCHEDULEEXPORT_H

#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Schedule.h"

#include "llvm/Support/Error.h"

#include <string>

namespace kvopt {

/// Writes `schedule` for `problem` to `path`. A block opened in HBM by a
/// decode step appears as a promotion of that (still empty) block at that
/// step. The runtime issues a step's moves layer by layer (the layer of the
/// moved block), demotions before promotions within a layer, while the
/// planner orders them by the record that decided them; a move decided in
/// one layer's record for another layer's block can therefore make the HBM
/// occupancy peak above the plan's inside a step. The file assumes the
/// larger of the two capacities; the returned value is the excess in
/// blocks (0 when the runtime order fits the plan's capacity).
/// Errors: the runtime's validation message, or an I/O error, naming path.
llvm::Expected<uint64_t> writeScheduleFile(const Problem &problem,
                                           const Schedule &schedule,
                                           const std::string &path);

} // namespace kvopt

#endif // KVOPT_PLANNING_SCHEDULEEXPORT_H
