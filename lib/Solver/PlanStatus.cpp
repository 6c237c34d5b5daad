//===- PlanStatus.cpp - The one status of a plan --------------------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/PlanStatus.h"

using namespace kvopt;

const char *kvopt::planStatusName(PlanStatus status) {
  switch (status) {
  case PlanStatus::Optimal:
    return "optimal";
  case PlanStatus::GapClosed:
    return "gap_closed";
  case PlanStatus::GapOpen:
    return "gap_open";
  case PlanStatus::TimeLimit:
    return "time_limit";
  }
  return "gap_open";
}

PlanStatus kvopt::classifyPlan(double gap, bool provedOptimal,
                               bool stoppedByLimit) {
  if (stoppedByLimit)
    return PlanStatus::TimeLimit;
  if (provedOptimal)
    return PlanStatus::Optimal;
  return gap <= kPlanGapTolerance ? PlanStatus::GapClosed : PlanStatus::GapOpen;
}
