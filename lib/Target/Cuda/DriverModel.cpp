//===- DriverModel.cpp - gather and check what a driver needs -------------===//
//
// Part of kv-opt. Every check here stands for something the runtime would
// otherwise reject at run time, or worse, execute wrongly: a plan for other
// caches, a decode step that leaves a layer without its token, an element
// type the runtime cannot store.
//
//===----------------------------------------------------------------------===//

#include "DriverModel.h"

#include "kvopt/Analysis/KvCacheAnalysis.h"
#include "kvopt/Conversion/KvTierToEmitC/KvTierToEmitC.h"

#include "kvrt/schedule.h"
#include "kvrt/status.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <cstdint>
#include <optional>

using namespace mlir;
using namespace mlir::kvtier;

/// The kvrt_dtype enumerator storing `type`, or "".
static std::string runtimeDtype(Type type) {
  if (type.isF32())
    return "KVRT_DTYPE_F32";
  if (type.isF16())
    return "KVRT_DTYPE_F16";
  if (type.isBF16())
    return "KVRT_DTYPE_BF16";
  return "";
}

/// Collects the caches in program order with their runtime layers and
/// windows (all from KvCacheAnalysis); all must be GQA caches the runtime can
/// store, of one geometry but for max_tokens: a shorter cache is a
/// sliding-window layer group, run as windowed layers of the longest shape.
static LogicalResult collectCaches(DriverModel &model) {
  KvCacheAnalysis analysis(model.module);
  for (CacheInfo &info : analysis.getCaches())
    model.caches.push_back({info.op, info.layerBase, analysis.getWindow(info)});
  model.layers = analysis.getNumRuntimeLayers();
  if (model.caches.empty())
    return emitError(
        model.module.getLoc(),
        "no kvtier.cache in the module: nothing for the CUDA driver to run");
  CacheOp first = model.caches.front().op;
  for (DriverCache &cache : model.caches) {
    auto type = dyn_cast<CacheType>(cache.op.getCache().getType());
    if (!type)
      return cache.op.emitError("latent (MLA) caches are not supported by the "
                                "kvrt runtime; the CUDA driver needs a "
                                "!kvtier.cache");
    if (runtimeDtype(type.getElement()).empty())
      return cache.op.emitError("element type ")
             << type.getElement()
             << " is not supported by the kvrt runtime (f32, f16 or bf16)";
    if (type.getHeadDim() > 256)
      return cache.op.emitError("head_dim ")
             << type.getHeadDim()
             << " exceeds the kvrt attention kernel's limit of 256";
  }
  const char *purpose = "run as one runtime cache by the CUDA driver";
  // Entry bytes, batch and block as the planner needs them (max_tokens may
  // differ), then what the runtime's one cache shape adds.
  if (failed(analysis.verifySharedGeometry(SharedGeometry::Planning, purpose)))
    return failure();
  auto firstType = cast<CacheType>(first.getCache().getType());
  for (DriverCache &cache : model.caches) {
    auto type = cast<CacheType>(cache.op.getCache().getType());
    std::string field, mine, theirs;
    auto differs = [&](StringRef name, auto a, auto b) {
      if (!field.empty() || a == b)
        return;
      field = name.str();
      llvm::raw_string_ostream(mine) << a;
      llvm::raw_string_ostream(theirs) << b;
    };
    differs("kv_heads", type.getKvHeads(), firstType.getKvHeads());
    differs("head_dim", type.getHeadDim(), firstType.getHeadDim());
    differs("element", type.getElement(), firstType.getElement());
    if (field.empty())
      continue;
    InFlightDiagnostic diag =
        cache.op.emitError("caches ")
        << purpose << " must share one geometry; this cache's " << field
        << " is " << mine << ", '" << first.getName() << "' has " << theirs
        << "; layer groups: " << analysis.describeGroups()
        << "; the runtime's layers differ only in their sliding window "
           "(max_tokens)";
    diag.attachNote(first.getLoc()) << "first cache declared here";
    return failure();
  }
  // The runtime cache has the longest cache's shape; a local layer group
  // uses its first blocks and frees them as they leave the window.
  model.geometry = firstType;
  for (DriverCache &cache : model.caches) {
    auto type = cast<CacheType>(cache.op.getCache().getType());
    if (type.getMaxTokens() > model.geometry.getMaxTokens())
      model.geometry = type;
  }
  model.windows.assign(model.layers, 0);
  for (DriverCache &cache : model.caches) {
    auto type = cast<CacheType>(cache.op.getCache().getType());
    for (int64_t l = 0; l < type.getLayers(); ++l)
      model.windows[cache.layerBase + l] = cache.window;
    model.windowed |= cache.window != 0;
  }
  model.dtype = runtimeDtype(model.geometry.getElement());
  model.blocksPerSeq = model.geometry.getBlocksPerLayer();
  model.blocksPerLayer = model.blocksPerSeq * model.geometry.getBatch();
  // The runtime and the schedule format count blocks in 32 bits.
  if (model.blocksPerLayer > INT32_MAX ||
      model.layers * model.blocksPerLayer > UINT32_MAX)
    return first.emitError("the caches have ")
           << model.layers << " layers of " << model.blocksPerLayer
           << " blocks, more than the kvrt runtime's 32-bit block indices "
              "can address";
  return success();
}

/// The function holding the attention ops: exactly one, and every kvtier op
/// of the step in its entry block.
static LogicalResult findDecodeFunction(DriverModel &model) {
  WalkResult walk = model.module.walk([&](Operation *op) {
    if (!isa<AppendOp, AttentionOp, MigrateOp, WaitOp>(op))
      return WalkResult::advance();
    auto func = op->getParentOfType<func::FuncOp>();
    if (!func) {
      op->emitError("the CUDA driver lowers kvtier ops inside a func.func");
      return WalkResult::interrupt();
    }
    if (model.decode && model.decode != func) {
      InFlightDiagnostic diag = op->emitError(
          "kvtier ops in two functions; the CUDA driver runs one decode "
          "function per step");
      diag.attachNote(model.decode.getLoc()) << "first decode function";
      return WalkResult::interrupt();
    }
    model.decode = func;
    if (op->getBlock() != &func.getBody().front()) {
      op->emitError("kvtier op inside a nested region: the CUDA driver "
                    "lowers straight-line decode steps only");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (!model.decode)
    return emitError(model.module.getLoc(),
                     "no kvtier.attention in the module: nothing for the CUDA "
                     "driver to run");
  return success();
}

/// Name and layer count of the cache behind `value`, or failure (with an
/// error at `user`) when it is not a kvtier.cache result.
static FailureOr<CacheOp> cacheOf(Operation *user, Value value) {
  if (auto cache = value.getDefiningOp<CacheOp>())
    return cache;
  return user->emitError("the cache operand is not defined by kvtier.cache; "
                         "the CUDA driver cannot tell which runtime layers "
                         "it names");
}

namespace {
/// The ops of one cache layer within a step.
struct LayerOps {
  AppendOp append;
  AttentionOp attention;
};
} // namespace

/// Checks a migrate: a cache from kvtier.cache, an HBM <-> DRAM move.
static LogicalResult checkMigrate(MigrateOp op) {
  if (failed(cacheOf(op, op.getCache())))
    return failure();
  if (getRuntimeDirection(op).empty())
    return op.emitError("the kvrt runtime migrates between one HBM and one "
                        "DRAM tier; \"")
           << op.getFrom() << "\" -> \"" << op.getTo() << "\" is not such a move";
  return success();
}

/// Every layer of every cache gets exactly one append, then one attention,
/// per step: the runtime writes the token inside kvrt_attention_step and
/// advances all layers' lengths together at the end of the step.
static LogicalResult checkStepOps(DriverModel &model) {
  AttentionOp sparse;
  double sparseHint = 0;
  llvm::DenseMap<std::pair<Operation *, int64_t>, LayerOps> layers;
  for (Operation &op : model.decode.getBody().front()) {
    if (auto migrate = dyn_cast<MigrateOp>(op)) {
      if (failed(checkMigrate(migrate)))
        return failure();
      ++model.irMigrations;
      continue;
    }
    if (auto wait = dyn_cast<WaitOp>(op)) {
      if (!wait.getHandle().getDefiningOp<MigrateOp>())
        return wait.emitError("the handle is not a kvtier.migrate result of "
                              "this decode step");
      continue;
    }
    auto append = dyn_cast<AppendOp>(op);
    auto attention = dyn_cast<AttentionOp>(op);
    if (!append && !attention)
      continue;
    Value cacheValue = append ? append.getCache() : attention.getCache();
    int64_t layer = append ? append.getLayer() : attention.getLayer();
    FailureOr<CacheOp> cache = cacheOf(&op, cacheValue);
    if (failed(cache))
      return failure();
    LayerOps &ops = layers[{cache->getOperation(), layer}];
    Operation *previous = append ? ops.append.getOperation()
                                 : ops.attention.getOperation();
    if (previous) {
      InFlightDiagnostic diag = op.emitError("layer ")
                                << layer << " of cache '" << cache->getName()
                                << "' is " << (append ? "appended" : "attended")
                                << " twice in one decode step";
      diag.attachNote(previous->getLoc()) << "first here";
      return failure();
    }
    if (append) {
      ops.append = append;
      continue;
    }
    if (!ops.append)
      return op.emitError("attention on layer ")
             << layer << " of cache '" << cache->getName()
             << "' has no kvtier.append of that layer before it; the runtime "
                "writes the step's token inside kvrt_attention_step";
    ops.attention = attention;
    if (std::optional<llvm::APFloat> hint = attention.getSparsity())
      if (hint->convertToDouble() > 0 && !sparse) {
        sparse = attention;
        sparseHint = hint->convertToDouble();
      }
  }
  // The runtime attends every cached token: a plan made for sparse attention
  // predicted fewer bytes than the driver will read. Said, not hidden.
  if (sparse)
    sparse.emitWarning("the plan was made for attention that skips ")
        << int64_t(sparseHint * 100 + 0.5)
        << "% of past tokens (sparsity hint), but the emitted runtime "
           "attends every cached token: the plan's predicted times do not "
           "apply to this driver; plan with sparsity hints of 0 to match it";
  for (DriverCache &cache : model.caches) {
    auto type = cast<CacheType>(cache.op.getCache().getType());
    for (int64_t l = 0; l < type.getLayers(); ++l)
      if (!layers.lookup({cache.op.getOperation(), l}).attention)
        return cache.op.emitError("layer ")
               << l << " of cache '" << cache.op.getName()
               << "' has no kvtier.append + kvtier.attention in the decode "
                  "step; the runtime advances every layer each step";
  }
  return success();
}

/// Query heads: the attention ops' query tensors (`[..., heads, head_dim]`)
/// if they carry one, the group option, or one query head per KV head.
static LogicalResult resolveQueryHeads(DriverModel &model,
                                       const EmitCudaOptions &options) {
  int64_t kvHeads = model.geometry.getKvHeads();
  std::optional<int64_t> fromIR;
  AttentionOp source;
  WalkResult walk = model.decode.walk([&](AttentionOp op) {
    auto query = op.getQuery()
                     ? dyn_cast<RankedTensorType>(op.getQuery().getType())
                     : RankedTensorType();
    if (!query || query.getRank() < 2 || !query.hasStaticShape() ||
        query.getShape().back() != model.geometry.getHeadDim())
      return WalkResult::advance();
    int64_t heads = query.getShape()[query.getRank() - 2];
    if (fromIR && *fromIR != heads) {
      op.emitError("query tensor has ")
          << heads << " heads, another attention's has " << *fromIR;
      return WalkResult::interrupt();
    }
    fromIR = heads;
    source = op;
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (options.gqaGroup > 0) {
    model.qHeads = kvHeads * options.gqaGroup;
    if (fromIR && *fromIR != model.qHeads)
      return source.emitError("query tensor has ")
             << *fromIR << " heads but --kvtier-cuda-gqa-group="
             << options.gqaGroup << " asks for " << model.qHeads;
  } else {
    model.qHeads = fromIR ? *fromIR : kvHeads;
  }
  if (model.qHeads % kvHeads != 0 || model.qHeads / kvHeads > 16)
    return (source ? source.getOperation() : model.caches.front().op)
               ->emitError("query heads (")
           << model.qHeads << ") must be a multiple of kv_heads (" << kvHeads
           << ") with a group of at most 16 (kvrt GQA limit)";
  return success();
}

/// HBM blocks left for KV by the memory system after the resident weights,
/// as the planner computes them.
static LogicalResult computeHbmBlocks(DriverModel &model) {
  MemorySystemAttr system = lookupMemorySystem(model.module);
  TierAttr hbm = system ? system.getHbmTier() : TierAttr();
  if (!hbm)
    return emitError(
        model.module.getLoc(),
        "no kvtier.memory_system with an HBM tier on the module; the CUDA "
        "driver sizes the HBM pool from it");
  int64_t weights = 0;
  if (auto m = model.module->getAttrOfType<ModelAttr>(
          KvTierDialect::getModelAttrName()))
    weights = m.getResidentWeightBytes();
  int64_t blockBytes = model.geometry.getBlockBytes();
  model.hbmPlanBlocks = (hbm.getCapacityBytes() - weights) / blockBytes;
  if (model.hbmPlanBlocks <= 0)
    return emitError(model.module.getLoc(), "HBM tier '")
           << hbm.getName() << "' leaves no room for one " << blockBytes
           << " B block after " << weights << " B of resident weights";
  model.hbmSlots =
      std::min(model.hbmPlanBlocks, model.layers * model.blocksPerLayer);
  return success();
}

namespace {
/// Owns a schedule read from a file.
struct ScheduleHolder {
  kvrt_schedule *schedule = nullptr;
  ~ScheduleHolder() { kvrt_schedule_destroy(schedule); }
};
} // namespace

/// Reads the schedule side file and matches it against the caches.
static LogicalResult checkSchedule(DriverModel &model,
                                   const EmitCudaOptions &options) {
  model.schedulePath = options.schedulePath.empty()
                           ? model.plan.getFile().str()
                           : options.schedulePath;
  if (model.schedulePath.empty())
    return emitError(
        model.module.getLoc(),
        "#kvtier.plan names no schedule file; re-plan with schedule-file= or "
        "pass --kvtier-cuda-schedule");
  ScheduleHolder holder;
  if (kvrt_schedule_read(model.schedulePath.c_str(), &holder.schedule))
    return emitError(model.module.getLoc(),
                     "cannot use the plan's schedule file '")
           << model.schedulePath << "': " << kvrt_last_error();
  const kvrt_schedule *s = holder.schedule;
  auto mismatch = [&]() {
    InFlightDiagnostic diag =
        emitError(model.module.getLoc(), "schedule file '")
        << model.schedulePath << "' does not match the module: ";
    diag.attachNote(model.caches.front().op.getLoc())
        << "the module's caches have " << model.layers << " layers of "
        << model.blocksPerLayer << " blocks (" << model.geometry.getBatch()
        << " sequences x " << model.blocksPerSeq << " blocks of "
        << model.geometry.getBlock() << " tokens)";
    return diag;
  };
  if (int64_t(kvrt_schedule_num_layers(s)) != model.layers)
    return mismatch() << "it plans " << kvrt_schedule_num_layers(s)
                      << " layers, the caches have " << model.layers;
  if (int64_t(kvrt_schedule_blocks_per_layer(s)) != model.blocksPerLayer)
    return mismatch() << "it plans " << kvrt_schedule_blocks_per_layer(s)
                      << " blocks per layer, the caches have "
                      << model.blocksPerLayer;
  uint32_t blockTokens = kvrt_schedule_block_tokens(s);
  if (blockTokens && int64_t(blockTokens) != model.geometry.getBlock())
    return mismatch() << "it was planned with blocks of " << blockTokens
                      << " tokens, the caches have blocks of "
                      << model.geometry.getBlock() << " tokens";
  model.decodeSteps = kvrt_schedule_num_steps(s);
  model.scheduleMigrations = int64_t(kvrt_schedule_num_migrations(s));
  int64_t maxTokens = model.geometry.getMaxTokens();
  model.promptTokens = options.promptTokens > 0
                           ? options.promptTokens
                           : maxTokens - model.decodeSteps;
  // Sliding windows: the schedule frees a local layer's blocks when they
  // leave the window, so it must have been planned with the module's
  // windows, prompt and blocks per sequence.
  if (model.windowed != bool(kvrt_schedule_has_windows(s)))
    return mismatch() << (model.windowed
                              ? "it has no sliding windows (format version "
                                "1), the module has local layer groups"
                              : "it has sliding windows, the module's caches "
                                "are all global");
  if (model.windowed) {
    for (DriverCache &cache : model.caches) {
      auto type = cast<CacheType>(cache.op.getCache().getType());
      for (int64_t l = 0; l < type.getLayers(); ++l) {
        uint32_t planned = kvrt_schedule_window(s, cache.layerBase + l);
        if (int64_t(planned) != cache.window)
          return mismatch()
                 << "its window of runtime layer " << cache.layerBase + l
                 << " is " << planned << " tokens, layer " << l << " of cache '"
                 << cache.op.getName() << "' has "
                 << (cache.window ? std::to_string(cache.window) + " tokens"
                                  : std::string("none (global)"));
      }
    }
    if (int64_t(kvrt_schedule_blocks_per_seq(s)) != model.blocksPerSeq)
      return mismatch() << "its windows count "
                        << kvrt_schedule_blocks_per_seq(s)
                        << " blocks per sequence, the caches have "
                        << model.blocksPerSeq;
    int64_t planned = kvrt_schedule_prompt_tokens(s);
    if (options.promptTokens > 0 && options.promptTokens != planned)
      return mismatch() << "it was planned for a prompt of " << planned
                        << " tokens (its windows free blocks by step), "
                           "--kvtier-cuda-prompt asks for "
                        << options.promptTokens;
    model.promptTokens = planned;
  }
  if (model.decodeSteps < 1 || model.promptTokens < 1 ||
      model.promptTokens + model.decodeSteps > maxTokens)
    return mismatch() << "a prompt of " << model.promptTokens << " tokens and "
                      << model.decodeSteps
                      << " decode steps do not fit max_tokens = " << maxTokens;
  return success();
}

FailureOr<DriverModel>
mlir::kvtier::buildDriverModel(ModuleOp module,
                               const EmitCudaOptions &options) {
  DriverModel model;
  model.module = module;
  model.seed = options.seed;
  model.plan = module->getAttrOfType<PlanAttr>(KvTierDialect::getPlanAttrName());
  if (!model.plan)
    return emitError(module.getLoc(),
                     "no #kvtier.plan on the module: run kv-opt "
                     "--kvtier-plan-kv-tiers first; the CUDA driver "
                     "executes a plan");
  if (failed(collectCaches(model)) || failed(findDecodeFunction(model)) ||
      failed(checkStepOps(model)) || failed(resolveQueryHeads(model, options)) ||
      failed(computeHbmBlocks(model)) || failed(checkSchedule(model, options)))
    return failure();
  return model;
}
