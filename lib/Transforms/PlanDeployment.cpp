//===- PlanDeployment.cpp - plan a tensor/pipeline-parallel deployment ----===//
//
// Part of kv-opt. A thin pass: the deployment (#kvtier.deployment or the
// options) and the model config give the distinct shards (MLIR-free,
// Core/Deployment); each shard's problem is built from the IR exactly as
// --kvtier-plan-kv-tiers builds it, with the shard's layers, KV heads and
// weights and the per-GPU memory system; the MLIR-free driver
// (Planning/DeploymentPlan) plans and combines them.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/Passes.h"

#include "kvopt/Analysis/KvCacheAnalysis.h"
#include "kvopt/Core/Deployment.h"
#include "kvopt/Core/SharedTier.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "kvopt/Planning/DeploymentPlan.h"
#include "kvopt/Planning/Report.h"
#include "kvopt/Transforms/MemorySystemConversion.h"
#include "kvopt/Transforms/ProblemFromIR.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

namespace mlir::kvtier {
#define GEN_PASS_DEF_PLANDEPLOYMENT
#include "kvopt/Transforms/Passes.h.inc"
} // namespace mlir::kvtier

using namespace mlir;
using namespace mlir::kvtier;

namespace {
struct PlanDeploymentPass
    : public kvtier::impl::PlanDeploymentBase<PlanDeploymentPass> {
  using Base::Base;
  void runOnOperation() override;

private:
  /// The machine: a multi-GPU preset, or GPUs that each own the memory
  /// system of the module, the hardware file or a single-GPU preset.
  FailureOr<kvopt::SharedTierSystem> resolveSystem(unsigned gpus,
                                                   bool &shared);
  /// Tokens/s of another deployment (for the search): planned without
  /// baselines on a synthetic trace; 0 when a shard does not fit.
  llvm::Expected<double> evaluate(const kvopt::Deployment &d,
                                  const kvopt::ModelConfig &model,
                                  const kvopt::Workload &whole,
                                  const kvopt::SharedTierSystem &system,
                                  const kvopt::GeneratorParams &trace);
};
} // namespace

FailureOr<kvopt::SharedTierSystem>
PlanDeploymentPass::resolveSystem(unsigned gpus, bool &shared) {
  ModuleOp module = getOperation();
  shared = false;
  // A single-GPU system stands for a machine of at least 8 such GPUs.
  unsigned machine = std::max(8u, gpus);
  if (auto attr = module->getAttrOfType<MemorySystemAttr>(
          KvTierDialect::getMemorySystemAttrName())) {
    FailureOr<kvopt::MemorySystem> mem =
        toCoreMemorySystem(attr, [&]() { return module.emitError(); });
    if (failed(mem))
      return failure();
    return kvopt::independentGpus(*mem, machine);
  }
  if (!hardwareFile.empty()) {
    auto buffer = llvm::MemoryBuffer::getFile(hardwareFile);
    if (!buffer)
      return module.emitError("cannot read hardware file '")
             << hardwareFile << "': " << buffer.getError().message();
    llvm::Expected<kvopt::MemorySystem> mem = kvopt::parseMemorySystemJSON(
        (*buffer)->getBuffer().str(), hardwareFile);
    if (!mem)
      return module.emitError() << llvm::toString(mem.takeError());
    return kvopt::independentGpus(*mem, machine);
  }
  llvm::Expected<kvopt::SharedTierSystem> node =
      kvopt::getSharedTierPreset(preset);
  if (node) {
    shared = true;
    return *node;
  }
  llvm::consumeError(node.takeError());
  llvm::Expected<kvopt::MemorySystem> mem = kvopt::getHardwarePreset(preset);
  if (!mem)
    return module.emitError() << llvm::toString(mem.takeError());
  return kvopt::independentGpus(*mem, machine);
}

llvm::Expected<double> PlanDeploymentPass::evaluate(
    const kvopt::Deployment &d, const kvopt::ModelConfig &model,
    const kvopt::Workload &whole, const kvopt::SharedTierSystem &system,
    const kvopt::GeneratorParams &trace) {
  llvm::Expected<std::vector<kvopt::Shard>> shards =
      kvopt::shardModel(model, d, whole.batch);
  if (!shards)
    return shards.takeError();
  llvm::Expected<kvopt::MemorySystem> mem = kvopt::perGpuMemorySystem(
      system, kvopt::activeGpusPerSlowTier(system, d.gpus()));
  if (!mem)
    return mem.takeError();
  kvopt::DeploymentPlan plan;
  plan.deployment = d;
  plan.batch = whole.batch;
  plan.decodeSteps = whole.decodeSteps;
  plan.stageShard.resize(d.pp);
  for (const kvopt::Shard &s : *shards) {
    llvm::Expected<kvopt::Problem> problem =
        kvopt::Problem::create(*mem, kvopt::shardWorkload(whole, s));
    if (!problem) {
      // The shard does not fit (weights above HBM, or no block left).
      llvm::consumeError(problem.takeError());
      return 0.0;
    }
    kvopt::GeneratorParams params = trace;
    params.layers = s.layers;
    for (unsigned stage : s.stages)
      plan.stageShard[stage] = unsigned(plan.shards.size());
    plan.shards.push_back(
        {s, std::move(*problem),
         kvopt::TraceFactory([params]() { return kvopt::makeGenerator(params); }),
         {}, {}, 0});
  }
  kvopt::PlanOptions options;
  options.solver = solver;
  options.timeLimitSeconds = timeLimit;
  options.baselines = false;
  if (llvm::Error err = kvopt::planDeployment(plan, options))
    return std::move(err);
  return plan.tokensPerSecond;
}

void PlanDeploymentPass::runOnOperation() {
  ModuleOp module = getOperation();
  KvCacheAnalysis &analysis = getAnalysis<KvCacheAnalysis>();

  // The deployment: options over the attribute over 1/1/1.
  kvopt::Deployment d;
  std::optional<kvopt::ModelConfig> model;
  auto attr =
      module->getAttrOfType<DeploymentAttr>(DeploymentAttr::getAttrName());
  if (attr) {
    d = {unsigned(attr.getTp()), unsigned(attr.getPp()),
         unsigned(attr.getDp())};
    if (StringAttr config = attr.getConfig()) {
      llvm::Expected<kvopt::ModelConfig> parsed = kvopt::parseModelConfigJSON(
          config.str(), "kvtier.deployment config");
      if (!parsed) {
        module.emitError() << llvm::toString(parsed.takeError());
        return signalPassFailure();
      }
      model = std::move(*parsed);
      // The config carries no name; the module's model has it.
      if (auto named = module->getAttrOfType<ModelAttr>(
              KvTierDialect::getModelAttrName()))
        model->name = named.getName().str();
      else if (module.getName())
        model->name = module.getName()->str();
    }
  }
  if (tp)
    d.tp = tp;
  if (pp)
    d.pp = pp;
  if (dp)
    d.dp = dp;
  if (!model && (!d.isSingleGpu() || targetTps > 0)) {
    module.emitError("deployment ")
        << d.str()
        << (targetTps > 0 ? " (and the target-tps search)" : "")
        << " needs the model's config to split heads, layers and weights: "
           "import it with kv-translate --import-hf-config --tp=N (it writes "
           "#kvtier.deployment with the config)";
    return signalPassFailure();
  }
  if (model) {
    if (llvm::Error err = d.validate(*model)) {
      module.emitError() << llvm::toString(std::move(err));
      return signalPassFailure();
    }
  }
  if (!(targetTps >= 0.0)) {
    module.emitError("target-tps option must be non-negative, got ")
        << targetTps.getValue();
    return signalPassFailure();
  }
  for (const std::string &path : {reportFile.getValue(), jsonFile.getValue(),
                                   shardReport.getValue()}) {
    if (path.empty() || path == "-")
      continue;
    StringRef dir = llvm::sys::path::parent_path(path);
    if (!dir.empty() && !llvm::sys::fs::is_directory(dir)) {
      module.emitError("cannot write '")
          << path << "': directory '" << dir << "' does not exist";
      return signalPassFailure();
    }
  }

  bool shared = false;
  FailureOr<kvopt::SharedTierSystem> system = resolveSystem(d.gpus(), shared);
  if (failed(system))
    return signalPassFailure();
  if (d.gpus() > system->gpus) {
    module.emitError("deployment ")
        << d.str() << " uses " << d.gpus() << " GPUs; '" << system->name
        << "' has " << system->gpus;
    return signalPassFailure();
  }
  unsigned active = kvopt::activeGpusPerSlowTier(*system, d.gpus());
  llvm::Expected<kvopt::MemorySystem> perGpu =
      kvopt::perGpuMemorySystem(*system, active);
  if (!perGpu) {
    module.emitError() << llvm::toString(perGpu.takeError());
    return signalPassFailure();
  }

  // The distinct shards; a single GPU without a config is the module as is.
  std::vector<kvopt::Shard> shards;
  if (model) {
    // The weights read per step depend on the batch (MoE experts touched).
    unsigned batch =
        analysis.getCaches().empty()
            ? 1
            : unsigned(analysis.getCaches().front().type.getBatch());
    llvm::Expected<std::vector<kvopt::Shard>> s =
        kvopt::shardModel(*model, d, batch);
    if (!s) {
      module.emitError() << llvm::toString(s.takeError());
      return signalPassFailure();
    }
    shards = std::move(*s);
  }
  bool identity = d.isSingleGpu() && !shared;

  ProblemOptions base;
  base.preset = preset;
  base.hardwareFile = hardwareFile;
  base.traceFile = traceFile;
  base.generator = generator;
  base.sparsity = sparsity;
  base.variation = variation;
  base.seed = seed;
  base.promptLen = promptLen;
  base.decodeSteps = decodeSteps;
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    module.emitError("sparsity option must be in [0, 1), got ")
        << sparsity.getValue();
    return signalPassFailure();
  }

  kvopt::DeploymentPlan plan;
  plan.deployment = d;
  plan.system = system->name;
  plan.systemGpus = system->gpus;
  plan.gpusPerSlowTier = system->gpusPerSlowTier;
  plan.activePerSlowTier = active;
  plan.stageShard.resize(d.pp);
  std::optional<kvopt::Workload> whole;
  size_t count = shards.empty() ? 1 : shards.size();
  for (size_t i = 0; i < count; ++i) {
    ProblemOptions options = base;
    const kvopt::Shard *shard = shards.empty() ? nullptr : &shards[i];
    options.adjust = [&](kvopt::MemorySystem &mem,
                         kvopt::Workload &work) -> llvm::Error {
      if (!whole)
        whole = work;
      if (model) {
        if (work.model.layers != model->layers)
          return llvm::createStringError(
              "the module's caches have " + std::to_string(work.model.layers) +
              " layers, its deployment config " +
              std::to_string(model->layers));
        if (model->attention != kvopt::AttentionKind::MLA &&
            work.model.kvHeads != model->kvHeads)
          return llvm::createStringError(
              "the module's caches have " + std::to_string(work.model.kvHeads) +
              " KV heads, its deployment config " +
              std::to_string(model->kvHeads));
      }
      if (identity)
        return llvm::Error::success();
      mem = *perGpu;
      if (shard)
        work = kvopt::shardWorkload(work, *shard);
      return llvm::Error::success();
    };
    FailureOr<PlanningInput> input =
        buildPlanningInput(module, analysis, options);
    if (failed(input))
      return signalPassFailure();
    kvopt::ShardPlan sp{kvopt::Shard(), std::move(input->problem),
                        std::move(input->trace), std::move(input->facts), {},
                        0};
    if (shard) {
      sp.shard = *shard;
    } else {
      // No config: the module's own numbers, one GPU.
      const kvopt::Workload &w = sp.problem.work;
      sp.shard.stages = {0};
      sp.shard.layers = w.model.layers;
      sp.shard.kvHeads = w.model.kvHeads;
      sp.shard.kvBytesPerTokenPerLayer = w.entryBytes();
      sp.shard.residentWeightBytes = w.residentWeightBytes();
      sp.shard.weightBytesPerLayerStep = w.weightBytesPerLayerStep();
      sp.shard.embedding = sp.shard.lmHead = true;
      sp.shard.multiplicity = 1;
    }
    for (unsigned stage : sp.shard.stages)
      plan.stageShard[stage] = unsigned(plan.shards.size());
    plan.shards.push_back(std::move(sp));
  }
  const kvopt::Workload &w0 = plan.shards.front().problem.work;
  plan.model = w0.model.name;
  plan.batch = w0.batch;
  plan.decodeSteps = w0.decodeSteps;
  plan.targetTokens =
      targetTokens ? uint64_t(targetTokens)
                   : uint64_t(analysis.getCaches().front().type.getMaxTokens());

  kvopt::PlanOptions planOptions;
  planOptions.solver = solver;
  planOptions.timeLimitSeconds = timeLimit;
  planOptions.baselines = baselines;
  planOptions.progress = [](const std::string &line) {
    llvm::errs() << "kv-opt: " << line << "\n";
  };
  if (llvm::Error err = kvopt::planDeployment(plan, planOptions)) {
    module.emitError("planning failed: ") << llvm::toString(std::move(err));
    return signalPassFailure();
  }

  if (targetTps > 0) {
    if (!traceFile.empty()) {
      module.emitError("target-tps searches other deployments on synthetic "
                       "traces; it cannot be combined with trace=");
      return signalPassFailure();
    }
    kvopt::GeneratorParams params;
    llvm::Expected<kvopt::GeneratorKind> kind =
        kvopt::parseGeneratorKind(generator);
    llvm::Expected<double> swap = kvopt::variationSwapFraction(variation);
    if (!kind || !swap) {
      module.emitError() << (kind ? llvm::toString(swap.takeError())
                                  : llvm::toString(kind.takeError()));
      if (!swap)
        llvm::consumeError(swap.takeError());
      return signalPassFailure();
    }
    std::optional<double> hint = analysis.getSparsityHint();
    params.kind = *kind;
    params.batch = whole->batch;
    params.promptLen = whole->promptLen;
    params.decodeSteps = whole->decodeSteps;
    params.seed = seed;
    params.sparsity = hint ? *hint : double(sparsity);
    params.swapFraction = *swap;
    unsigned limit = maxGpus ? unsigned(maxGpus) : system->gpus;
    if (limit > system->gpus) {
      module.emitError("max-gpus option (")
          << limit << ") exceeds the " << system->gpus << " GPUs of '"
          << system->name << "'";
      return signalPassFailure();
    }
    llvm::Expected<kvopt::DeploymentSearch> search =
        kvopt::findSmallestDeployment(
            *model, limit, targetTps,
            [&](const kvopt::Deployment &c) -> llvm::Expected<double> {
              if (c.tp == d.tp && c.pp == d.pp && c.dp == d.dp)
                return plan.tokensPerSecond;
              return evaluate(c, *model, *whole, *system, params);
            });
    if (!search) {
      module.emitError("deployment search failed: ")
          << llvm::toString(search.takeError());
      return signalPassFailure();
    }
    plan.searchTarget = targetTps;
    plan.search = std::move(*search);
  }

  // Reports.
  auto emit = [&](const std::string &path,
                  const std::function<void(llvm::raw_ostream &)> &render)
      -> LogicalResult {
    if (path.empty())
      return success();
    if (path == "-") {
      render(llvm::errs());
      return success();
    }
    if (llvm::Error err = kvopt::writeFile(path, render))
      return module.emitError() << llvm::toString(std::move(err));
    return success();
  };
  if (failed(emit(reportFile,
                  [&](llvm::raw_ostream &os) {
                    kvopt::writeDeploymentTextReport(os, plan);
                  })) ||
      failed(emit(jsonFile, [&](llvm::raw_ostream &os) {
        kvopt::writeDeploymentJsonReport(os, plan);
      })))
    return signalPassFailure();
  for (size_t i = 0; i < plan.shards.size(); ++i) {
    const kvopt::ShardPlan &sp = plan.shards[i];
    kvopt::ReportContext ctx;
    ctx.title = module.getName() ? module.getName()->str()
                                 : sp.problem.work.model.name;
    ctx.facts = sp.facts;
    std::string path = shardReport;
    if (plan.shards.size() > 1 && path != "-" && !path.empty())
      path += "." + std::to_string(i);
    if (failed(emit(path, [&](llvm::raw_ostream &os) {
          kvopt::writeTextReport(os, sp.problem, sp.result, ctx);
        })))
      return signalPassFailure();
  }

  Builder b(&getContext());
  module->setAttr(
      "kvtier.deployment_plan",
      b.getDictionaryAttr({
          b.getNamedAttr("gpus", b.getI64IntegerAttr(d.gpus())),
          b.getNamedAttr("shards", b.getI64IntegerAttr(plan.shards.size())),
          b.getNamedAttr("bound_seconds", b.getF64FloatAttr(plan.bound.seconds)),
          b.getNamedAttr("schedule_seconds",
                         b.getF64FloatAttr(plan.schedule.seconds)),
          b.getNamedAttr("tokens_per_second",
                         b.getF64FloatAttr(plan.tokensPerSecond)),
          b.getNamedAttr("hbm_bytes_needed_per_gpu",
                         b.getF64FloatAttr(plan.hbmNeededPerGpu)),
      }));
  markAllAnalysesPreserved();
}
