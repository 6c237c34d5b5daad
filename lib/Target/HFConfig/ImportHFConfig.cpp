//===- ImportHFConfig.cpp - config.json -> kvtier decode graph ------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Target/ImportHFConfig.h"

#include "kvopt/Core/Deployment.h"
#include "kvopt/Core/Limits.h"
#include "kvopt/Core/ModelConfig.h"
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kvtier;

/// A symbol-friendly version of a model name ("Llama-3.1-8B" -> "Llama_3_1_8B").
static std::string symbolName(StringRef name) {
  std::string out;
  for (char c : name)
    out.push_back(llvm::isAlnum(c) ? c : '_');
  if (out.empty() || llvm::isDigit(out.front()))
    out.insert(out.begin(), 'm');
  return out;
}

/// The element type of `bytes`-wide KV entries.
static Type kvElementType(MLIRContext *ctx, unsigned bytes) {
  Builder b(ctx);
  switch (bytes) {
  case 1:
    return b.getType<Float8E4M3FNType>();
  case 4:
    return b.getF32Type();
  default:
    return b.getBF16Type();
  }
}

namespace {
/// Layers sharing one cache: all full-attention layers, or all layers with
/// the same sliding window.
struct LayerGroup {
  unsigned window = 0; ///< 0: full attention
  SmallVector<unsigned> layers;
};
} // namespace

/// Groups the layers by window. A window of at least `maxTokens` never drops
/// a token, so those layers join the full-attention group.
static SmallVector<LayerGroup> groupLayers(const kvopt::ModelConfig &model,
                                           int64_t maxTokens) {
  SmallVector<LayerGroup> groups;
  for (unsigned l = 0; l < model.layers; ++l) {
    unsigned window = l < model.slidingWindow.size() ? model.slidingWindow[l]
                                                      : 0;
    if (int64_t(window) >= maxTokens)
      window = 0;
    auto it = llvm::find_if(
        groups, [&](const LayerGroup &g) { return g.window == window; });
    if (it == groups.end()) {
      groups.push_back({window, {}});
      it = std::prev(groups.end());
    }
    it->layers.push_back(l);
  }
  return groups;
}

/// A comma-separated list ("none" when empty).
static std::string joined(ArrayRef<std::string> items) {
  if (items.empty())
    return "none";
  std::string out;
  for (const std::string &s : items)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

/// The import summary: warnings for what the user must check, then a remark
/// with the figures and notes listing every key used, assumed and ignored.
static void emitSummary(Location loc, const kvopt::ModelConfig &model,
                        const kvopt::ConfigReadReport &report,
                        const ImportOptions &options) {
  if (model.maxPositionEmbeddings &&
      options.maxTokens > int64_t(model.maxPositionEmbeddings))
    emitWarning(loc) << "requested " << options.maxTokens
                     << " tokens per sequence exceed max_position_embeddings ("
                     << model.maxPositionEmbeddings
                     << "); the model was not trained past that length";
  for (const std::string &w : report.warningLines())
    emitWarning(loc) << w;

  std::string layout;
  for (const LayerGroup &g :
       groupLayers(model, std::numeric_limits<int64_t>::max())) {
    layout += layout.empty() ? "" : ", ";
    layout += std::to_string(g.layers.size()) +
              (g.window ? " sliding (window " + std::to_string(g.window) + ")"
                        : std::string(" full"));
  }
  auto gb = [](double bytes) {
    return llvm::formatv("{0:F0} B ({1:F2} GB)", bytes, bytes / 1e9).str();
  };
  unsigned batch = unsigned(options.batch);
  InFlightDiagnostic diag = emitRemark(loc);
  diag << "imported '" << model.name << "': " << model.layers << " layers ("
       << layout << "), " << kvopt::attentionKindName(model.attention) << ", "
       << model.kvBytesPerToken() << " B KV per token, "
       << gb(double(model.kvBytesPerSequence(uint64_t(options.maxTokens))))
       << " KV per sequence at " << options.maxTokens << " tokens, "
       << gb(model.weightBytes()) << " resident weights, "
       << gb(model.activeWeightBytesPerLayerStep(batch) * model.layers)
       << " weights read per step at batch " << batch;
  if (model.experts)
    diag << " (" << model.moeLayerCount() << " MoE layers; "
         << llvm::formatv("{0:F2}", model.expectedExpertsTouched(batch))
         << " of " << model.experts << " experts touched per MoE layer, "
         << model.expertsPerToken << " per token)";
  diag.attachNote(loc) << "used keys: " << joined(report.used);
  diag.attachNote(loc) << "assumed: " << joined(report.assumed);
  diag.attachNote(loc) << "ignored keys (no effect on KV or weight bytes): "
                       << joined(report.ignoredKnown);
}

OwningOpRef<ModuleOp>
mlir::kvtier::importHFConfig(llvm::SourceMgr &sourceMgr, MLIRContext *ctx,
                             const ImportOptions &options) {
  ctx->loadDialect<KvTierDialect, func::FuncDialect, arith::ArithDialect>();
  const llvm::MemoryBuffer *buffer =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  std::string file = buffer->getBufferIdentifier().str();
  Location loc = FileLineColLoc::get(ctx, file, 1, 1);
  kvopt::ConfigReadReport report;
  llvm::Expected<kvopt::ModelConfig> parsed =
      kvopt::parseModelConfigJSON(buffer->getBuffer().str(), file, &report);
  if (!parsed) {
    emitError(loc) << llvm::toString(parsed.takeError());
    return {};
  }
  kvopt::ModelConfig model = std::move(*parsed);
  // Configs carry no display name; the file's stem ("Llama-3.1-8B") is it.
  if (model.name.empty() || model.name == file)
    model.name = llvm::sys::path::stem(file).str();
  if (options.maxTokens <= 0 || options.batch <= 0 ||
      options.blockTokens <= 0 || options.blockTokens > options.maxTokens) {
    emitError(loc) << "import options need 0 < block (" << options.blockTokens
                   << ") <= max-tokens (" << options.maxTokens
                   << ") and batch > 0 (" << options.batch << ")";
    return {};
  }
  // The cache type holds what the planner and the runtime hold
  // (kvopt/Core/Limits.h); refuse here, naming the option, rather than
  // write a module the dialect's verifier refuses.
  if (options.maxTokens > kvopt::kMaxTokens || options.batch > kvopt::kMaxBatch) {
    bool tokens = options.maxTokens > kvopt::kMaxTokens;
    emitError(loc) << "import option '" << (tokens ? "max-tokens" : "batch")
                   << "' = " << (tokens ? options.maxTokens : options.batch)
                   << " is above the supported limit of "
                   << (tokens ? kvopt::kMaxTokens : kvopt::kMaxBatch);
    return {};
  }

  SmallVector<LayerGroup> groups = groupLayers(model, options.maxTokens);
  emitSummary(loc, model, report, options);

  OpBuilder b(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc, symbolName(model.name));
  (*module)->setAttr(
      KvTierDialect::getModelAttrName(),
      ModelAttr::get(ctx, model.name,
                     int64_t(std::llround(model.weightBytes())),
                     int64_t(std::llround(model.activeWeightBytesPerLayerStep(
                         unsigned(options.batch))))));
  kvopt::Deployment deployment{options.tp, options.pp, options.dp};
  if (!deployment.isSingleGpu()) {
    // The planner re-derives each GPU's share from the config itself.
    if (llvm::Error err = deployment.validate(model)) {
      emitError(loc) << llvm::toString(std::move(err));
      return {};
    }
    std::string config = llvm::formatv(
        "{0}", llvm::cantFail(llvm::json::parse(buffer->getBuffer())));
    (*module)->setAttr(DeploymentAttr::getAttrName(),
                       DeploymentAttr::get(ctx, options.tp, options.pp,
                                           options.dp,
                                           b.getStringAttr(config)));
  }
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, "decode_step",
                                   b.getFunctionType({b.getIndexType()}, {}));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value pos = body->getArgument(0);
  Type element = kvElementType(ctx, model.kvDtypeBytes);

  // Local layers are a cache as long as their window when global layers
  // give the sequence length; when every layer is local, the cache spans
  // the sequence and carries the window as an attribute.
  bool allLocal =
      llvm::all_of(groups, [](const LayerGroup &g) { return g.window != 0; });
  for (const LayerGroup &group : groups) {
    int64_t layers = int64_t(group.layers.size());
    int64_t maxTokens = group.window && !allLocal
                            ? std::min<int64_t>(group.window, options.maxTokens)
                            : options.maxTokens;
    int64_t block = std::min(options.blockTokens, maxTokens);
    Type cacheType;
    if (model.attention == kvopt::AttentionKind::MLA)
      cacheType = LatentCacheType::get(ctx, layers, model.kvLoraRank,
                                       model.qkRopeHeadDim, element, block,
                                       maxTokens, options.batch);
    else
      cacheType = CacheType::get(ctx, layers, model.kvHeads, model.headDim,
                                 element, block, maxTokens, options.batch);
    std::string name = model.name + (group.window ? ".swa" + std::to_string(
                                                                 group.window)
                                                  : ".kv");
    auto cache = CacheOp::create(b, loc, cacheType, name, PlacementAttr(),
                                 IntegerAttr());
    if (allLocal)
      cache.setWindowAttr(b.getI64IntegerAttr(group.window));
    for (int64_t i = 0; i < layers; ++i) {
      AppendOp::create(b, loc, cache, i, pos);
      auto attn = AttentionOp::create(b, loc, Type(), cache, i, pos, Value(),
                                      FloatAttr(), SplitAttr());
      if (options.sparsity >= 0)
        attn.setSparsityAttr(b.getF64FloatAttr(options.sparsity));
    }
  }
  func::ReturnOp::create(b, loc);
  if (failed(verify(*module)))
    return {};
  return module;
}

void mlir::kvtier::registerImportHFConfigTranslation() {
  static llvm::cl::opt<int64_t> maxTokens(
      "max-tokens",
      llvm::cl::desc("import-hf-config: tokens per sequence the cache holds "
                     "(prompt + decode; default: the seed's 31299 + 10239)"),
      llvm::cl::init(31299 + 10239));
  static llvm::cl::opt<int64_t> batch(
      "batch", llvm::cl::desc("import-hf-config: sequences per cache"),
      llvm::cl::init(1));
  static llvm::cl::opt<int64_t> block(
      "block", llvm::cl::desc("import-hf-config: tokens per cache block"),
      llvm::cl::init(16));
  static llvm::cl::opt<double> sparsity(
      "sparsity",
      llvm::cl::desc("import-hf-config: sparsity hint on every attention "
                     "(negative: none)"),
      llvm::cl::init(0.6));
  static llvm::cl::opt<unsigned> tp(
      "tp", llvm::cl::desc("import-hf-config: tensor-parallel GPUs per "
                           "stage (docs/deployment.md)"),
      llvm::cl::init(1));
  static llvm::cl::opt<unsigned> pp(
      "pp", llvm::cl::desc("import-hf-config: pipeline stages"),
      llvm::cl::init(1));
  static llvm::cl::opt<unsigned> dp(
      "dp", llvm::cl::desc("import-hf-config: data-parallel replicas"),
      llvm::cl::init(1));
  TranslateToMLIRRegistration registration(
      "import-hf-config",
      "Import a Hugging Face config.json as a kvtier decode step",
      [](llvm::SourceMgr &sourceMgr, MLIRContext *ctx) {
        ImportOptions options;
        options.maxTokens = maxTokens;
        options.batch = batch;
        options.blockTokens = block;
        options.sparsity = sparsity;
        options.tp = tp;
        options.pp = pp;
        options.dp = dp;
        return importHFConfig(sourceMgr, ctx, options);
      },
      [](DialectRegistry &registry) {
        registry.insert<KvTierDialect, func::FuncDialect,
                        arith::ArithDialect>();
      });
}
