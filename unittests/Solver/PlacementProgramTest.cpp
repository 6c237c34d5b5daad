//===- PlacementProgramTest.cpp - The exact model on hand-computed cases --===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Solver/PlacementProgram.h"
#include "kvopt/Solver/Solver.h"
#include "kvopt/Solver/Z3Backend.h"

#include "gtest/gtest.h"

using namespace kvopt;
using namespace kvopt::solver;

namespace {

/// One layer, one sequence, prompt 1 (token 0, read at step 0), one decode
/// step appending token 1. Entry 1000 B; HBM 4000 B/s, DRAM 1000 B/s, link
/// 500 B/s host-to-device, 1000 B/s back; no weights; room for one block.
/// By hand (seconds): keep token 0 in HBM and append to DRAM: max(0.25 HBM,
/// 1.0 DRAM write, 1.0 D2H) = 1.0; token 0 in DRAM: the miss alone takes
/// 1000/500 = 2.0 on H2D. Optimum 1.0 s = 4000 units of 1/4000 s.
Problem tinyProblem(double hbmRead = 4000) {
  MemorySystem m;
  m.name = "tiny";
  m.tiers.push_back({"hbm", TierKind::HBM, 1e6, hbmRead, 4000});
  m.tiers.push_back({"dram", TierKind::DRAM, 1e6, 1000, 1000});
  m.links.push_back({"dram", "hbm", 500, 1000});
  Workload w = makePaperWorkload(1, 1);
  w.model.layers = 1;
  w.model.slidingWindow.assign(1, 0);
  w.entryBytesOverride = 1000;
  w.weightBytesPerLayerStepOverride = 0;
  w.residentWeightBytesOverride = 0;
  auto p = Problem::create(m, w);
  EXPECT_TRUE(bool(p)) << errorToString(p.takeError());
  return p->withCapacityBlocks(1);
}

std::unique_ptr<MemoryTrace> tinyTrace() {
  auto t = MemoryTrace::fromFullSets({1, 1, 1, 1}, {{{0}}});
  EXPECT_TRUE(bool(t));
  return std::move(*t);
}

TEST(PlacementProgram, HandComputedOptimum) {
  Problem p = tinyProblem();
  auto trace = tinyTrace();
  auto prog = buildPlacementProgram(p, *trace);
  ASSERT_TRUE(bool(prog)) << errorToString(prog.takeError());
  EXPECT_EQ(prog->unitsPerSecond, 4000);
  auto ex = solveWithZ3(*prog, false, 10);
  ASSERT_TRUE(bool(ex));
  ASSERT_EQ(ex->status, Z3Solution::Status::Optimal);
  EXPECT_EQ(ex->objectiveExact, "4000");
  EXPECT_DOUBLE_EQ(prog->toSeconds(ex->objectiveUnits), 1.0);
  // The decision form that the SMT-LIB export states.
  auto sat = decideWithZ3(*prog, "4000", 10);
  ASSERT_TRUE(bool(sat));
  EXPECT_TRUE(*sat);
  auto unsat = decideWithZ3(*prog, "3999", 10);
  ASSERT_TRUE(bool(unsat));
  EXPECT_FALSE(*unsat);
  // The schedule replays to the optimum.
  Schedule s = prog->toSchedule(ex->values);
  auto pol = createSchedulePolicy(s);
  auto src = trace->reopen();
  ASSERT_TRUE(bool(src));
  auto m = simulate(**src, p, *pol);
  ASSERT_TRUE(bool(m)) << errorToString(m.takeError());
  EXPECT_DOUBLE_EQ(m->totalSeconds, 1.0);
  // The LP relaxation is a bound.
  auto lp = solveWithZ3(*prog, true, 10);
  ASSERT_TRUE(bool(lp));
  EXPECT_LE(lp->objectiveUnits, 4000);
}

TEST(PlacementProgram, SolverReportsOptimalWithZeroGap) {
  Problem p = tinyProblem();
  auto trace = tinyTrace();
  auto r = solvePlacement(p, *trace);
  ASSERT_TRUE(bool(r)) << errorToString(r.takeError());
  EXPECT_TRUE(r->provedOptimal);
  EXPECT_FALSE(r->stoppedByTimeLimit);
  EXPECT_DOUBLE_EQ(r->scheduleSeconds, 1.0);
  EXPECT_NEAR(r->boundSeconds, 1.0, 1e-11);
  EXPECT_LE(r->boundSeconds, r->scheduleSeconds);
  EXPECT_LE(r->lagrangianBound, 1.0);
  EXPECT_NEAR((r->scheduleSeconds - r->boundSeconds) / r->scheduleSeconds, 0,
              1e-11);
}

TEST(PlacementProgram, NonIntegerBandwidthIsExplained) {
  Problem p = tinyProblem(4000.5);
  auto trace = tinyTrace();
  auto prog = buildPlacementProgram(p, *trace);
  ASSERT_FALSE(bool(prog));
  std::string msg = errorToString(prog.takeError());
  EXPECT_NE(msg.find("hbm_read_bandwidth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("whole number"), std::string::npos) << msg;
}

TEST(PlacementProgram, TooLargeIsRefusedWithTheSize) {
  Problem p = tinyProblem();
  auto trace = tinyTrace();
  ProgramLimits lim;
  lim.maxVariables = 3;
  auto prog = buildPlacementProgram(p, *trace, lim);
  ASSERT_FALSE(bool(prog));
  EXPECT_NE(errorToString(prog.takeError()).find("Lagrangian"),
            std::string::npos);
}

} // namespace
