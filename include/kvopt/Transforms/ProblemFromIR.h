//===- ProblemFromIR.h - build a planning problem from a module -*- C++ -*-===//
//
// Part of kv-opt. The thin translation from IR to the MLIR-free planning
// problem: memory system, workload (from the caches and #kvtier.model), and
// the trace to plan against.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_TRANSFORMS_PROBLEMFROMIR_H
#define KVOPT_TRANSFORMS_PROBLEMFROMIR_H

#include "kvopt/Analysis/KvCacheAnalysis.h"
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Planning/Planner.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::kvtier {

/// The options of --kvtier-plan-kv-tiers that shape the problem.
struct ProblemOptions {
  std::string preset = "gh200";
  std::string hardwareFile;
  std::string traceFile;
  std::string generator = "seed-like";
  double sparsity = 0.6;
  std::string variation = "real";
  uint64_t seed = 1;
  uint64_t promptLen = 0, decodeSteps = 0;
  bool paperMode = false;
  /// When set, applied to the memory system and the workload just before
  /// the problem is built (a deployment's shard: one GPU's share); its error
  /// is reported on the module.
  std::function<llvm::Error(kvopt::MemorySystem &, kvopt::Workload &)> adjust;
};

/// A problem with its trace and the mapping of cache layers onto the
/// problem's layers.
struct PlanningInput {
  kvopt::Problem problem;
  kvopt::TraceFactory trace;
  /// Whether the memory system came from a preset or file (so the pass
  /// writes it into the module).
  bool memorySystemFromOptions = false;
  /// Report lines describing the inputs.
  std::vector<std::pair<std::string, std::string>> facts;
};

/// Builds the problem. Every failure is reported at the op it concerns (or
/// the module) and returns failure; remarks explain defaults taken.
FailureOr<PlanningInput> buildPlanningInput(ModuleOp module,
                                            KvCacheAnalysis &analysis,
                                            const ProblemOptions &options);

} // namespace mlir::kvtier

#endif // KVOPT_TRANSFORMS_PROBLEMFROMIR_H
