//===- ProblemFromIR.cpp - build a planning problem from a module ---------===//
//
// Part of kv-opt. Caches that share one geometry (entry size, batch, block)
// are planned together as the layers of one workload, in analysis order;
// they share the HBM. A cache shorter than the longest is a sliding-window
// layer group: its layers get that window (docs/model.md, "Sliding-window
// (local) layers"), the workload the longest cache's length.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/ProblemFromIR.h"

#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/Limits.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/TraceIO.h"
#include "kvopt/Transforms/MemorySystemConversion.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace mlir::kvtier;

/// Bytes of one cache element (verified: a whole number of bytes).
static unsigned elementBytes(Type t) { return t.getIntOrFloatBitWidth() / 8; }

/// Reads the memory system from the module, a file or a preset.
static FailureOr<kvopt::MemorySystem>
resolveMemorySystem(ModuleOp module, const ProblemOptions &options,
                    bool &fromOptions) {
  auto emit = [&]() { return module.emitError(); };
  fromOptions = false;
  if (auto attr = module->getAttrOfType<MemorySystemAttr>(
          KvTierDialect::getMemorySystemAttrName()))
    return toCoreMemorySystem(attr, emit);
  fromOptions = true;
  if (!options.hardwareFile.empty()) {
    llvm::Expected<kvopt::MemorySystem> mem =
        kvopt::loadMemorySystemJSON(options.hardwareFile);
    if (!mem)
      return module.emitError() << llvm::toString(mem.takeError());
    return *mem;
  }
  llvm::Expected<kvopt::MemorySystem> mem =
      kvopt::getHardwarePreset(options.preset);
  if (!mem)
    return module.emitError() << llvm::toString(mem.takeError());
  return *mem;
}

/// Builds the model shape of the merged caches (the analysis checks they
/// share one geometry and numbers their layers).
static FailureOr<kvopt::ModelConfig> modelFromCaches(ModuleOp module,
                                                     KvCacheAnalysis &analysis) {
  if (failed(analysis.verifySharedGeometry(SharedGeometry::Planning,
                                           "planned together")))
    return failure();
  CacheInfo &first = analysis.getCaches().front();
  kvopt::ModelConfig model;
  auto modelAttr =
      module->getAttrOfType<ModelAttr>(KvTierDialect::getModelAttrName());
  model.name = modelAttr ? modelAttr.getName().str()
                         : first.op.getName().str();
  model.kvDtypeBytes = elementBytes(first.type.getElement());
  if (auto mha = dyn_cast<CacheType>(first.type)) {
    model.attention = kvopt::AttentionKind::GQA;
    model.kvHeads = model.heads = unsigned(mha.getKvHeads());
    model.headDim = unsigned(mha.getHeadDim());
  } else {
    auto mla = cast<LatentCacheType>(first.type);
    model.attention = kvopt::AttentionKind::MLA;
    model.kvLoraRank = unsigned(mla.getLatent());
    model.qkRopeHeadDim = unsigned(mla.getRope());
  }
  if (analysis.getNumRuntimeLayers() > uint64_t(kvopt::kMaxLayers))
    return first.op.emitError("the caches planned together have more than ")
           << kvopt::kMaxLayers << " layers";
  model.layers = analysis.getNumRuntimeLayers();
  // Per runtime layer: the window of its cache (0 = global).
  model.slidingWindow.assign(model.layers, 0);
  for (const CacheInfo &info : analysis.getCaches()) {
    KvCacheTypeInterface t = info.type;
    for (int64_t l = 0; l < t.getLayers(); ++l)
      model.slidingWindow[info.layerBase + unsigned(l)] =
          unsigned(analysis.getWindow(info));
  }
  return model;
}

/// "2 global layers ('g.kv'), 2 local layers, window 128 tokens ('g.swa128')"
/// for the report.
static std::string describeAttention(KvCacheAnalysis &analysis) {
  std::string out;
  llvm::raw_string_ostream os(out);
  for (const CacheInfo &info : analysis.getCaches()) {
    KvCacheTypeInterface t = info.type;
    int64_t window = analysis.getWindow(info);
    os << (out.empty() ? "" : ", ") << t.getLayers()
       << (window ? " local" : " global") << " layers " << info.layerBase
       << "-" << info.layerBase + t.getLayers() - 1;
    if (window)
      os << " (window " << window << " tokens)";
    os << " in '" << CacheOp(info.op).getName() << "'";
  }
  return out;
}

/// The synthetic or file trace, checked against the workload.
static FailureOr<kvopt::TraceFactory>
makeTrace(ModuleOp module, const kvopt::Workload &work,
          const ProblemOptions &options, double sparsity,
          std::vector<std::pair<std::string, std::string>> &facts) {
  if (!options.traceFile.empty()) {
    std::string path = options.traceFile;
    llvm::Expected<std::unique_ptr<kvopt::TraceSource>> src =
        kvopt::openTrace(path);
    if (!src)
      return module.emitError("cannot use trace: ")
             << llvm::toString(src.takeError());
    if (llvm::Error err = kvopt::checkTraceMatchesWorkload((*src)->header(),
                                                           work, path))
      return module.emitError("trace does not match the module: ")
             << llvm::toString(std::move(err));
    facts.push_back({"trace", (*src)->describe()});
    return kvopt::TraceFactory([path]() { return kvopt::openTrace(path); });
  }
  kvopt::GeneratorParams params;
  llvm::Expected<kvopt::GeneratorKind> kind =
      kvopt::parseGeneratorKind(options.generator);
  if (!kind)
    return module.emitError() << llvm::toString(kind.takeError());
  params.kind = *kind;
  params.layers = work.model.layers;
  params.batch = work.batch;
  params.promptLen = work.promptLen;
  params.decodeSteps = work.decodeSteps;
  params.seed = options.seed;
  params.sparsity = sparsity;
  llvm::Expected<double> swap =
      kvopt::variationSwapFraction(options.variation);
  if (!swap)
    return module.emitError() << llvm::toString(swap.takeError());
  params.swapFraction = *swap;
  if (work.hasWindows())
    for (uint32_t l = 0; l < work.model.layers; ++l)
      params.layerWindows.push_back(work.windowOf(l));
  if (llvm::Error err = params.validate())
    return module.emitError("invalid synthetic trace: ")
           << llvm::toString(std::move(err));
  facts.push_back({"trace", params.describe()});
  return kvopt::TraceFactory([params]() { return kvopt::makeGenerator(params); });
}

FailureOr<PlanningInput>
mlir::kvtier::buildPlanningInput(ModuleOp module, KvCacheAnalysis &analysis,
                                 const ProblemOptions &options) {
  if (!analysis.getUnresolvedAttention().empty())
    return AttentionOp(analysis.getUnresolvedAttention().front()).emitError(
        "attention reads a cache that is not declared by kvtier.cache; the "
        "planner cannot size it");
  MutableArrayRef<CacheInfo> caches = analysis.getCaches();
  if (caches.empty())
    return module.emitError(
        "no KV cache to plan: the module declares no kvtier.cache; run "
        "--kvtier-raise-attention on an upstream graph or import a model "
        "with kv-translate --import-hf-config");
  if (analysis.getNumAttention() == 0)
    return module.emitError("no kvtier.attention reads the declared caches: "
                            "nothing to plan");

  bool memorySystemFromOptions = false;
  std::vector<std::pair<std::string, std::string>> facts;
  FailureOr<kvopt::MemorySystem> mem =
      resolveMemorySystem(module, options, memorySystemFromOptions);
  if (failed(mem))
    return failure();
  FailureOr<kvopt::ModelConfig> model =
      modelFromCaches(module, analysis);
  if (failed(model))
    return failure();

  KvCacheTypeInterface type = caches.front().type;
  kvopt::Workload work;
  work.model = *model;
  work.batch = uint32_t(type.getBatch());
  work.tokensPerBlock = uint32_t(type.getBlock());
  uint64_t maxTokens = uint64_t(analysis.getMaxTokens());
  uint64_t decode = options.decodeSteps ? options.decodeSteps
                                        : std::max<uint64_t>(1, maxTokens / 4);
  uint64_t prompt = options.promptLen ? options.promptLen
                                      : (maxTokens > decode ? maxTokens - decode
                                                            : 0);
  CacheOp longest = caches.front().op;
  for (CacheInfo &info : caches)
    if (analysis.getWindow(info) == 0) {
      longest = info.op;
      break;
    }
  if (prompt == 0 || prompt + decode > maxTokens)
    return longest.emitError("prompt (")
           << prompt << ") + decode (" << decode
           << ") tokens must be positive and fit the cache's max_tokens ("
           << maxTokens << ")";
  work.promptLen = uint32_t(prompt);
  work.decodeSteps = uint32_t(decode);
  auto modelAttr =
      module->getAttrOfType<ModelAttr>(KvTierDialect::getModelAttrName());
  if (options.paperMode) {
    work.entryBytesOverride = kvopt::kPaperEntryBytes;
    work.weightBytesPerLayerStepOverride = kvopt::kPaperWeightBytesPerLayerStep;
    work.residentWeightBytesOverride = kvopt::kPaperResidentWeightBytes;
  } else if (modelAttr) {
    work.weightBytesPerLayerStepOverride =
        double(modelAttr.getWeightBytesPerLayerStep());
    work.residentWeightBytesOverride = double(modelAttr.getResidentWeightBytes());
  } else {
    work.weightBytesPerLayerStepOverride = 0;
    work.residentWeightBytesOverride = 0;
    module.emitRemark("no #kvtier.model on the module: planning without "
                      "weight traffic or resident weights");
  }

  if (options.adjust)
    if (llvm::Error err = options.adjust(*mem, work))
      return module.emitError() << llvm::toString(std::move(err));
  llvm::Expected<kvopt::Problem> problem = kvopt::Problem::create(
      *mem, work,
      options.paperMode ? kvopt::TimeModelMode::Paper
                        : kvopt::TimeModelMode::Standard);
  if (!problem)
    return module.emitError("cannot plan: ")
           << llvm::toString(problem.takeError());
  const kvopt::Problem &p = *problem;

  AttentionOp conflict;
  std::optional<double> hint = analysis.getSparsityHint(&conflict);
  if (conflict)
    return conflict.emitError("attention ops disagree on the sparsity hint; "
                              "the planner needs one value");
  double sparsity = hint ? *hint : options.sparsity;

  const kvopt::ModelConfig &m = p.work.model;
  facts.push_back(
      {"model", m.name + " (" + std::to_string(m.layers) + " layers, " +
                    kvopt::attentionKindName(m.attention) + ", " +
                    std::to_string(p.work.entryBytes()) +
                    " B per token per layer)"});
  facts.push_back(
      {"workload", "prompt " + std::to_string(work.promptLen) + ", decode " +
                       std::to_string(work.decodeSteps) + ", batch " +
                       std::to_string(work.batch) + ", block " +
                       std::to_string(work.tokensPerBlock) + " tokens"});
  facts.push_back({"attention", describeAttention(analysis)});
  facts.push_back({"time model", options.paperMode
                                           ? "seed-compatible (paper mode)"
                                           : kvopt::kTimeModelVersion});
  FailureOr<kvopt::TraceFactory> trace =
      makeTrace(module, p.work, options, sparsity, facts);
  if (failed(trace))
    return failure();
  return PlanningInput{std::move(*problem), std::move(*trace),
                       memorySystemFromOptions,
                       std::move(facts)};
}
