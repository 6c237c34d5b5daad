//===- PlanKvTiers.cpp - plan KV placement and annotate the IR ------------===//
//
// Part of kv-opt. The pass is a thin layer: IR -> problem (ProblemFromIR),
// the MLIR-free planner (bound, schedule, baselines), then the plan written
// back as attributes, the schedule side file and the reports.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/Passes.h"

#include "kvopt/Analysis/KvCacheAnalysis.h"
#include "kvopt/Core/AtomicOutput.h"
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "kvopt/Planning/Planner.h"
#include "kvopt/Planning/Report.h"
#include "kvopt/Planning/ScheduleExport.h"
#include "kvopt/Transforms/MemorySystemConversion.h"
#include "kvopt/Transforms/ProblemFromIR.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace mlir::kvtier {
#define GEN_PASS_DEF_PLANKVTIERS
#include "kvopt/Transforms/Passes.h.inc"
} // namespace mlir::kvtier

using namespace mlir;
using namespace mlir::kvtier;

namespace {
struct PlanKvTiersPass : public kvtier::impl::PlanKvTiersBase<PlanKvTiersPass> {
  using Base::Base;
  void runOnOperation() override;

private:
  LogicalResult reblock(KvCacheAnalysis &analysis);
  void annotate(const PlanningInput &input, const kvopt::PlanResult &result,
                KvCacheAnalysis &analysis, StringRef scheduleFile);
  LogicalResult writeReports(const PlanningInput &input,
                             const kvopt::PlanResult &result,
                             kvopt::OutputSet &outputs);
};
} // namespace

/// Applies the `block` option: re-types every cache with the new block size
/// (all users see the new type through the SSA value).
/// The attribute's status for the planner's (the same cases).
static kvtier::PlanStatus toAttrStatus(kvopt::PlanStatus status) {
  switch (status) {
  case kvopt::PlanStatus::Optimal:
    return kvtier::PlanStatus::optimal;
  case kvopt::PlanStatus::GapClosed:
    return kvtier::PlanStatus::gap_closed;
  case kvopt::PlanStatus::GapOpen:
    return kvtier::PlanStatus::gap_open;
  case kvopt::PlanStatus::TimeLimit:
    return kvtier::PlanStatus::time_limit;
  }
  return kvtier::PlanStatus::gap_open;
}

LogicalResult PlanKvTiersPass::reblock(KvCacheAnalysis &analysis) {
  if (blockTokens == 0)
    return success();
  for (CacheInfo &info : analysis.getCaches()) {
    KvCacheTypeInterface t = info.type;
    int64_t block = int64_t(blockTokens.getValue());
    if (block > t.getMaxTokens())
      return info.op.emitError("block option (")
             << block << " tokens) is larger than the cache (max_tokens = "
             << t.getMaxTokens() << ")";
    Type newType;
    if (auto mha = dyn_cast<CacheType>(t))
      newType = CacheType::get(&getContext(), mha.getLayers(),
                               mha.getKvHeads(), mha.getHeadDim(),
                               mha.getElement(), block, mha.getMaxTokens(),
                               mha.getBatch());
    else {
      auto mla = cast<LatentCacheType>(t);
      newType = LatentCacheType::get(&getContext(), mla.getLayers(),
                                     mla.getLatent(), mla.getRope(),
                                     mla.getElement(), block,
                                     mla.getMaxTokens(), mla.getBatch());
    }
    Value(info.op.getCache()).setType(newType);
    info.type = cast<KvCacheTypeInterface>(newType);
  }
  return success();
}

void PlanKvTiersPass::annotate(const PlanningInput &input,
                               const kvopt::PlanResult &result,
                               KvCacheAnalysis &analysis,
                               StringRef scheduleFile) {
  MLIRContext *ctx = &getContext();
  ModuleOp module = getOperation();
  if (input.memorySystemFromOptions)
    module->setAttr(KvTierDialect::getMemorySystemAttrName(),
                    fromCoreMemorySystem(ctx, input.problem.mem));
  const kvopt::PolicyRun &plan = result.plan;
  double balanced = input.problem.model.bandwidthBalancedFraction();
  MutableArrayRef<CacheInfo> caches = analysis.getCaches();
  for (CacheInfo &info : caches) {
    unsigned offset = info.layerBase;
    int64_t layers = info.type.getLayers();
    int64_t initial = 0, peak = 0, promotions = 0, demotions = 0;
    for (int64_t l = 0; l < layers; ++l) {
      initial += int64_t(plan.layerInitialHbm[offset + l]);
      peak += int64_t(plan.layerPeakHbm[offset + l]);
      promotions += int64_t(plan.layerPromotions[offset + l]);
      demotions += int64_t(plan.layerDemotions[offset + l]);
    }
    int64_t total =
        layers * info.type.getBatch() * info.type.getBlocksPerLayer();
    // The sum of per-layer peaks bounds the cache's peak from above; it is
    // capped by the cache size. Only a local-window cache (max_tokens = its
    // window) can exceed it: a window that does not start on a block
    // boundary spans one block more than window / block. That is said, not
    // hidden.
    peak = std::max(peak, initial);
    if (peak > total)
      info.op.emitRemark("the per-layer HBM peaks of this cache's live "
                         "blocks add up to ")
          << peak << ", more than its " << total
          << " blocks: a sliding window that does not "
          << "start on a block boundary spans one block more per layer and "
          << "sequence; the placement summary is capped at " << total;
    info.op.setPlacementAttr(PlacementAttr::get(
        ctx, std::min(initial, total), std::min(peak, total), total,
        promotions, demotions));
    for (AttentionOp attn : info.attention) {
      unsigned layer = offset + unsigned(attn.getLayer());
      uint64_t reads = plan.layerReads[layer];
      double hbm = reads ? double(plan.layerHits[layer]) / double(reads) : 0;
      attn.setSplitAttr(
          SplitAttr::get(ctx, llvm::APFloat(hbm), llvm::APFloat(balanced)));
    }
    numAttention += info.attention.size();
  }
  numCaches += caches.size();
  numMigrations += result.schedule.totalMoves();
  // getChecked: a plan that breaks the attribute's invariants (a bound above
  // the schedule, say) is reported, never written.
  PlanAttr planAttr = PlanAttr::getChecked(
      [&]() { return module.emitError(); }, ctx, StringRef(result.planner),
      toAttrStatus(result.status), llvm::APFloat(result.boundSeconds),
      llvm::APFloat(result.scheduleSeconds), llvm::APFloat(result.gap),
      scheduleFile, int64_t(result.schedule.totalMoves()));
  if (!planAttr)
    return signalPassFailure();
  module->setAttr(KvTierDialect::getPlanAttrName(), planAttr);
}

LogicalResult
PlanKvTiersPass::writeReports(const PlanningInput &input,
                              const kvopt::PlanResult &result,
                              kvopt::OutputSet &outputs) {
  kvopt::ReportContext ctx;
  ModuleOp module = getOperation();
  ctx.title = module.getName() ? module.getName()->str()
                               : input.problem.work.model.name;
  ctx.facts = input.facts;
  auto emit = [&](const std::string &path, const char *option,
                  void (*render)(llvm::raw_ostream &, const kvopt::Problem &,
                                 const kvopt::PlanResult &,
                                 const kvopt::ReportContext &))
      -> LogicalResult {
    if (path.empty())
      return success();
    if (path == "-") {
      render(llvm::errs(), input.problem, result, ctx);
      return success();
    }
    if (llvm::Error err = outputs.write(
            path,
            [&](llvm::raw_ostream &os) {
              render(os, input.problem, result, ctx);
            },
            option))
      return module.emitError() << llvm::toString(std::move(err));
    return success();
  };
  if (failed(emit(reportFile, "report", kvopt::writeTextReport)) ||
      failed(emit(jsonFile, "json", kvopt::writeJsonReport)) ||
      failed(emit(htmlFile, "html", kvopt::writeHtmlReport)))
    return failure();
  return success();
}

void PlanKvTiersPass::runOnOperation() {
  ModuleOp module = getOperation();
  KvCacheAnalysis &analysis = getAnalysis<KvCacheAnalysis>();
  if (failed(reblock(analysis)))
    return signalPassFailure();

  ProblemOptions options;
  options.preset = preset;
  options.hardwareFile = hardwareFile;
  options.traceFile = traceFile;
  options.generator = generator;
  options.sparsity = sparsity;
  options.variation = variation;
  options.seed = seed;
  options.promptLen = promptLen;
  options.decodeSteps = decodeSteps;
  options.paperMode = paperMode;
  if (!(std::isfinite(timeLimit) && timeLimit >= 0)) {
    module.emitError("time-limit option must be a finite number of seconds "
                     ">= 0 (0: none), got ")
        << timeLimit.getValue();
    return signalPassFailure();
  }
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    module.emitError("sparsity option must be in [0, 1), got ")
        << sparsity.getValue();
    return signalPassFailure();
  }
  // Every output is declared (and checked for writability) before a
  // possibly long solve; they are written only when everything succeeded:
  // with the tool's OutputSet when kv-opt runs the pass, else with our own.
  kvopt::OutputSet ownOutputs;
  kvopt::OutputSet &outputs =
      kvopt::OutputSet::current() ? *kvopt::OutputSet::current() : ownOutputs;
  std::pair<std::string, const char *> sideFiles[] = {
      {reportFile.getValue(), "report"},
      {jsonFile.getValue(), "json"},
      {htmlFile.getValue(), "html"},
      {scheduleFile.getValue(), "schedule"}};
  for (auto &[path, option] : sideFiles) {
    if (path.empty() || (path == "-" && StringRef(option) != "schedule"))
      continue;
    if (llvm::Error err = outputs.declare(path, option)) {
      module.emitError() << llvm::toString(std::move(err));
      return signalPassFailure();
    }
  }
  FailureOr<PlanningInput> input =
      buildPlanningInput(module, analysis, options);
  if (failed(input))
    return signalPassFailure();
  kvopt::PlanOptions planOptions;
  planOptions.solver = solver;
  planOptions.timeLimitSeconds = timeLimit;
  planOptions.threads = threads;
  planOptions.baselines = baselines;
  planOptions.progress = [](const std::string &line) {
    llvm::errs() << "kv-opt: " << line << "\n";
  };
  llvm::Expected<kvopt::PlanResult> result =
      kvopt::planPlacement(input->problem, input->trace, planOptions);
  if (!result) {
    module.emitError("planning failed: ")
        << llvm::toString(result.takeError());
    return signalPassFailure();
  }
  kvopt::scheduleLayerStats(input->problem, result->schedule, result->plan);

  std::string schedulePath = scheduleFile;
  if (!schedulePath.empty()) {
    llvm::Expected<std::string> temp =
        outputs.temporaryFor(schedulePath, "schedule");
    if (!temp) {
      module.emitError() << llvm::toString(temp.takeError());
      return signalPassFailure();
    }
    if (llvm::Error err =
            kvopt::writeScheduleFile(input->problem, result->schedule, *temp)) {
      std::string msg = llvm::toString(std::move(err));
      // Name the user's file, not the temporary.
      for (size_t at; (at = msg.find(*temp)) != std::string::npos;)
        msg.replace(at, temp->size(), schedulePath);
      module.emitError("cannot write the schedule: ") << msg;
      return signalPassFailure();
    }
  }
  annotate(*input, *result, analysis, schedulePath);
  if (failed(writeReports(*input, *result, outputs)))
    return signalPassFailure();
  if (&outputs == &ownOutputs)
    if (llvm::Error err = ownOutputs.commit()) {
      module.emitError() << llvm::toString(std::move(err));
      return signalPassFailure();
    }
  markAnalysesPreserved<KvCacheAnalysis>();
}
