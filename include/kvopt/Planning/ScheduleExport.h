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
/// step. The file assumes the plan's HBM capacity: the runtime executes a
/// step's moves in an order whose occupancy never exceeds the larger of the
/// step's start and end occupancy (kvrt/schedule.h), whatever record
/// decided them. Errors: the runtime's validation message, or an I/O
/// error, naming path.
llvm::Error writeScheduleFile(const Problem &problem, const Schedule &schedule,
                              const std::string &path);

} // namespace kvopt

#endif // KVOPT_PLANNING_SCHEDULEEXPORT_H
