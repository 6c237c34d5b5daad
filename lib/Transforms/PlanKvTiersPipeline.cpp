//===- PlanKvTiersPipeline.cpp - the `plan-kv-tiers` pipeline -------------===//
//
// Part of kv-opt. What users type: `kv-opt --plan-kv-tiers model.mlir`.
// Raises attention in upstream graphs, then plans. Raising is a no-op on a
// module already in the kvtier dialect (it only adds caches for attention it
// finds in upstream ops).
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::kvtier;

namespace {
/// The planner's options (mirroring --kvtier-plan-kv-tiers) plus `raise`.
struct PlanKvTiersPipelineOptions
    : public PassPipelineOptions<PlanKvTiersPipelineOptions> {
  PassOptions::Option<std::string> preset{
      *this, "preset",
      llvm::cl::desc("Hardware preset (paper, gh200, gh200-144g, gh200-measured, gb200, h100-pcie, h200-pcie, h200-pcie-measured); ignored when the module has a kvtier.memory_system or hardware-file is given"),
      llvm::cl::init("gh200")};
  PassOptions::Option<std::string> hardwareFile{
      *this, "hardware-file",
      llvm::cl::desc("JSON memory-system description (see docs/hardware.md)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> traceFile{
      *this, "trace",
      llvm::cl::desc("Access trace (binary .kvtrace, text, or the seed's CSV); when empty a synthetic trace is generated"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> generator{
      *this, "generator",
      llvm::cl::desc("Synthetic trace generator: seed-like, zipf, sliding-window, uniform"),
      llvm::cl::init("seed-like")};
  PassOptions::Option<double> sparsity{
      *this, "sparsity",
      llvm::cl::desc("Fraction of past tokens NOT read per step (synthetic traces; overridden by a kvtier.attention sparsity hint)"),
      llvm::cl::init(0.6)};
  PassOptions::Option<std::string> variation{
      *this, "variation",
      llvm::cl::desc("Step-to-step variation of the seed generator: low, real, high"),
      llvm::cl::init("real")};
  PassOptions::Option<uint64_t> seed{
      *this, "seed",
      llvm::cl::desc("Random seed of the synthetic trace"),
      llvm::cl::init(1)};
  PassOptions::Option<uint64_t> promptLen{
      *this, "prompt",
      llvm::cl::desc("Prompt tokens (0: derived from the cache length)"),
      llvm::cl::init(0)};
  PassOptions::Option<uint64_t> decodeSteps{
      *this, "decode",
      llvm::cl::desc("Decode steps (0: derived from the cache length)"),
      llvm::cl::init(0)};
  PassOptions::Option<uint64_t> blockTokens{
      *this, "block",
      llvm::cl::desc("Placement granularity in tokens (0: the cache type's block)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> solver{
      *this, "solver",
      llvm::cl::desc("auto | lagrangian | z3 (exact, small instances only)"),
      llvm::cl::init("auto")};
  PassOptions::Option<double> timeLimit{
      *this, "time-limit",
      llvm::cl::desc("Solver time limit in seconds (0: none; the result is then repeatable and the exact model alone stops after 60 s); on timeout the best valid bound is kept and the gap is reported open"),
      llvm::cl::init(0.0)};
  PassOptions::Option<unsigned> threads{
      *this, "threads",
      llvm::cl::desc("Threads for the bound and the baselines (0: one per core); results do not depend on it"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> paperMode{
      *this, "paper-mode",
      llvm::cl::desc("Use the seed paper's time model and entry sizes"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> reportFile{
      *this, "report",
      llvm::cl::desc("Text report destination ('-' = stderr, '' = none)"),
      llvm::cl::init("-")};
  PassOptions::Option<std::string> jsonFile{
      *this, "json",
      llvm::cl::desc("Write the report as JSON here"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> htmlFile{
      *this, "html",
      llvm::cl::desc("Write an HTML page with SVG plots here"),
      llvm::cl::init("")};
  PassOptions::Option<bool> baselines{
      *this, "baselines",
      llvm::cl::desc("Simulate the baseline policies for the comparison table"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> scheduleFile{
      *this, "schedule-file",
      llvm::cl::desc("Write the schedule side file here"),
      llvm::cl::init("")};
  PassOptions::Option<bool> raise{
      *this, "raise",
      llvm::cl::desc("Raise attention from upstream ops first"),
      llvm::cl::init(true)};
};
} // namespace

void mlir::kvtier::registerPlanKvTiersPipeline() {
  PassPipelineRegistration<PlanKvTiersPipelineOptions>(
      "plan-kv-tiers",
      "Raise attention (upstream graphs), then plan KV-cache placement "
      "across memory tiers: bound, schedule, annotations and report",
      [](OpPassManager &pm, const PlanKvTiersPipelineOptions &options) {
        if (options.raise) {
          // The raised caches take the planner's block size when one is
          // given (small graphs need block <= their sequence length).
          RaiseAttentionOptions raise;
          if (options.blockTokens != 0)
            raise.blockTokens = int64_t(options.blockTokens);
          pm.addPass(createRaiseAttention(raise));
        }
        PlanKvTiersOptions plan;
        plan.preset = options.preset;
        plan.hardwareFile = options.hardwareFile;
        plan.traceFile = options.traceFile;
        plan.generator = options.generator;
        plan.sparsity = options.sparsity;
        plan.variation = options.variation;
        plan.seed = options.seed;
        plan.promptLen = options.promptLen;
        plan.decodeSteps = options.decodeSteps;
        plan.blockTokens = options.blockTokens;
        plan.solver = options.solver;
        plan.timeLimit = options.timeLimit;
        plan.threads = options.threads;
        plan.paperMode = options.paperMode;
        plan.reportFile = options.reportFile;
        plan.jsonFile = options.jsonFile;
        plan.htmlFile = options.htmlFile;
        plan.baselines = options.baselines;
        plan.scheduleFile = options.scheduleFile;
        pm.addPass(createPlanKvTiers(plan));
      });
}
