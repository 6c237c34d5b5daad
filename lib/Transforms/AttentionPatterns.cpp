//===- AttentionPatterns.cpp - raise attention to kvtier ------------------===//
//
// Part of kv-opt. The public side of the attention matchers: the rewrite
// patterns, `matchAttention` and the emission of `kvtier.cache` /
// `kvtier.attention`. The matchers themselves live in RaiseAttention/
// (Matchers.h): they walk use-def chains outward from a softmax (or from a
// fused online-softmax loop) rather than matching fixed op sequences.
//
// The patterns of one `populateRaiseAttentionPatterns` call share a state:
// attention ids come from a counter (seeded once from the ids already in
// the module) and dominance is built once per run, so no match walks the
// whole module.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/AttentionPatterns.h"
#include "RaiseAttention/Matchers.h"

#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "kvopt/Dialect/KvTier/IR/KvTierTypes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <memory>
#include <optional>

using namespace mlir;
using namespace mlir::kvtier;
using namespace mlir::kvtier::raise;

namespace {

//===----------------------------------------------------------------------===//
// Emission
//===----------------------------------------------------------------------===//

/// Materialises the position operand before the attention, or returns a
/// null value when the scatter index does not dominate it.
Value materializePosition(OpBuilder &builder, Location loc,
                          const PositionSource &pos, Operation *anchor,
                          DominanceInfo &dom) {
  // The annotation goes right after the anchor: values defined before the
  // anchor dominate it.
  auto dominates = [&](Value v) {
    return v && dom.properlyDominates(v, anchor);
  };
  auto toIndex = [&](Value v) -> Value {
    if (v.getType().isIndex())
      return v;
    if (!v.getType().isSignlessInteger())
      return {};
    return arith::IndexCastOp::create(builder, loc, builder.getIndexType(), v);
  };
  switch (pos.kind) {
  case PositionSource::Kind::StaticOffset:
    return arith::ConstantIndexOp::create(builder, loc, pos.offset);
  case PositionSource::Kind::Value: {
    if (dominates(pos.value))
      return toIndex(pos.value);
    // A constant index defined where it is used (inside a scatter body).
    APInt constant;
    if (matchPattern(pos.value, m_ConstantInt(&constant)))
      return arith::ConstantIndexOp::create(builder, loc,
                                            constant.getSExtValue());
    return {};
  }
  case PositionSource::Kind::TensorElement: {
    auto type = dyn_cast<RankedTensorType>(pos.value.getType());
    if (!dominates(pos.value) || !type || !type.getElementType().isIntOrIndex())
      return {};
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    SmallVector<Value> indices(type.getRank(), zero);
    Value element = tensor::ExtractOp::create(builder, loc, pos.value, indices);
    return toIndex(element);
  }
  case PositionSource::Kind::None:
    return {};
  }
  return {};
}

/// The entry block of the closest isolated region enclosing `op`.
Block *declarationBlock(Operation *op) {
  Operation *scope = op->getParentWithTrait<OpTrait::IsIsolatedFromAbove>();
  if (!scope || scope->getNumRegions() == 0 || scope->getRegion(0).empty())
    return nullptr;
  return &scope->getRegion(0).front();
}

/// Remark describing a raised attention.
void remarkAttention(const AttentionMatch &m, int64_t id, bool positionFound) {
  const KvGeometry &g = m.geometry;
  InFlightDiagnostic diag =
      mlir::emitRemark(m.anchor->getLoc())
      << "attention " << id << " (" << stringifySoftmaxForm(m.form)
      << "): kv_heads = " << g.kvHeads << ", head_dim = " << g.headDim
      << ", tokens = " << g.tokens << ", batch = " << g.batch;
  if (m.queryHeads > 0 && m.queryHeads != g.kvHeads)
    diag << ", GQA " << m.queryHeads << "/" << g.kvHeads;
  if (!m.persistentCache)
    diag << "; K/V are activations, not a persistent KV cache";
  if (!positionFound)
    diag << "; no scatter of the new token found, position = sequence length "
         << g.tokens;
  else if (!m.position.scatter)
    diag << "; position = length of the [0, n) cache read";
}

/// State shared by the patterns of one populateRaiseAttentionPatterns call
/// (one pass run): the attention id counter and the dominance info.
struct RaiseState {
  /// Next attention id; seeded on first use with one past the largest id
  /// already in the module (a second run continues the numbering).
  std::optional<int64_t> nextId;
  /// Dominance, built once; its per-region trees are computed lazily and
  /// stay valid because the patterns add ops but never blocks.
  std::unique_ptr<DominanceInfo> dominance;
  /// Loop nests already reported as loop-form softmaxes (one remark each).
  llvm::SmallPtrSet<Operation *, 8> reportedNests;

  int64_t takeId(Operation *op) {
    if (!nextId) {
      Operation *top = op;
      while (Operation *parent = top->getParentOp())
        top = parent;
      int64_t next = 0;
      top->walk([&](AttentionOp attention) {
        if (auto id =
                attention->getAttrOfType<IntegerAttr>(kAttentionIdAttrName))
          next = std::max(next, id.getInt() + 1);
      });
      nextId = next;
    }
    return (*nextId)++;
  }

  DominanceInfo &dominanceFor(Operation *op) {
    if (!dominance)
      dominance = std::make_unique<DominanceInfo>(op);
    return *dominance;
  }
};

/// Block of a cache of `tokens` tokens: `requested`, or, for a cache shorter
/// than that, the largest power of two that divides `tokens` (whole blocks,
/// no partial one).
int64_t blockFor(int64_t tokens, int64_t requested) {
  if (tokens >= requested)
    return requested;
  return tokens & -tokens;
}

/// Reports a near miss as a remark (when enabled) and counts it.
void reportNearMiss(Operation *root, StringRef what,
                    const RaiseAttentionConfig &config) {
  if (config.counters)
    ++config.counters->nearMisses;
  // At the op's location, naming it: the op itself (a loop nest, a whole
  // layer) is never printed.
  if (config.emitRemarks)
    mlir::emitRemark(root->getLoc())
        << "'" << root->getName() << "' not raised as attention: " << what;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Raises attention around a tensor softmax (any op: exp or linalg.softmax).
struct RaiseSoftmaxAttention : RewritePattern {
  RaiseSoftmaxAttention(MLIRContext *ctx, RaiseAttentionConfig config,
                        std::shared_ptr<RaiseState> state)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx),
        config(config), state(std::move(state)) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (op->hasAttr(kAttentionIdAttrName) ||
        !isa<linalg::SoftmaxOp, linalg::GenericOp, linalg::ExpOp, math::ExpOp,
             tosa::ExpOp>(op))
      return failure();
    std::string nearMiss;
    FailureOr<AttentionMatch> match = matchAttention(op, nearMiss);
    if (failed(match)) {
      if (!nearMiss.empty())
        reportNearMiss(op, nearMiss, config);
      else if (isa<math::ExpOp>(op))
        return raiseLoopNests(op, rewriter);
      return failure();
    }
    return emitAttention(rewriter, *match, config, state->takeId(op),
                         &state->dominanceFor(op));
  }

  /// A scalar/vector exp in a loop nest: attention written as loop nests
  /// over memrefs, raised or reported once per nest.
  LogicalResult raiseLoopNests(Operation *exp,
                               PatternRewriter &rewriter) const {
    // Exps of a fused online-softmax loop are matched from the loop.
    if (auto loop = dyn_cast<LoopLikeOpInterface>(exp->getParentOp()))
      if (isOnlineSoftmaxCandidate(loop))
        return failure();
    Operation *nest = outermostLoop(exp);
    if (!nest || nest->hasAttr(kAttentionIdAttrName) ||
        !state->reportedNests.insert(nest).second)
      return failure();
    std::string why;
    FailureOr<AttentionMatch> match = matchLoopNestAttention(nest, why);
    if (succeeded(match))
      return emitAttention(rewriter, *match, config, state->takeId(exp),
                           &state->dominanceFor(exp));
    if (auto loopSoftmax = describeLoopSoftmax(exp, why))
      reportNearMiss(loopSoftmax->first, loopSoftmax->second, config);
    return failure();
  }

  RaiseAttentionConfig config;
  std::shared_ptr<RaiseState> state;
};

/// Raises a fused online-softmax loop (affine.for / scf.for).
struct RaiseOnlineSoftmaxLoop : OpInterfaceRewritePattern<LoopLikeOpInterface> {
  RaiseOnlineSoftmaxLoop(MLIRContext *ctx, RaiseAttentionConfig config,
                         std::shared_ptr<RaiseState> state)
      : OpInterfaceRewritePattern(ctx), config(config),
        state(std::move(state)) {}

  LogicalResult matchAndRewrite(LoopLikeOpInterface loop,
                                PatternRewriter &rewriter) const override {
    if (loop->hasAttr(kAttentionIdAttrName))
      return failure();
    std::string nearMiss;
    FailureOr<AttentionMatch> match = matchAttention(loop, nearMiss);
    if (failed(match)) {
      if (!nearMiss.empty())
        reportNearMiss(loop, nearMiss, config);
      return failure();
    }
    return emitAttention(rewriter, *match, config, state->takeId(loop),
                         &state->dominanceFor(loop));
  }

  RaiseAttentionConfig config;
  std::shared_ptr<RaiseState> state;
};

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

StringRef mlir::kvtier::stringifySoftmaxForm(SoftmaxForm form) {
  switch (form) {
  case SoftmaxForm::LinalgSoftmax:
    return "linalg.softmax";
  case SoftmaxForm::ExpSumDiv:
    return "exp/sum/div softmax";
  case SoftmaxForm::LogSumExp:
    return "log-sum-exp softmax";
  case SoftmaxForm::OnlineLoop:
    return "fused online-softmax loop";
  case SoftmaxForm::LoopNests:
    return "softmax in loop nests over memrefs";
  }
  return "unknown";
}

FailureOr<AttentionMatch> mlir::kvtier::matchAttention(Operation *root,
                                                       std::string &nearMiss) {
  nearMiss.clear();
  if (auto loop = dyn_cast<LoopLikeOpInterface>(root)) {
    if (!isOnlineSoftmaxCandidate(loop))
      return failure();
    return matchOnlineLoop(loop, nearMiss);
  }
  std::optional<SoftmaxInfo> softmax = matchSoftmax(root);
  if (!softmax) {
    nearMiss = describeSoftmaxNearMiss(root);
    return failure();
  }
  FailureOr<AttentionMatch> match = matchTensorAttention(*softmax, nearMiss);
  if (failed(match))
    nearMiss =
        (stringifySoftmaxForm(softmax->form) + " found, but " + nearMiss).str();
  return match;
}

LogicalResult mlir::kvtier::emitAttention(RewriterBase &rewriter,
                                          const AttentionMatch &match,
                                          const RaiseAttentionConfig &config,
                                          int64_t id,
                                          DominanceInfo *dominance) {
  const KvGeometry &g = match.geometry;
  Operation *anchor = match.anchor;
  Block *declBlock = declarationBlock(anchor);
  if (!declBlock)
    return failure();
  if (g.kvHeads <= 0 || g.headDim <= 0 || g.batch <= 0 || g.tokens <= 0 ||
      !g.element || !g.element.isIntOrFloat() ||
      g.element.getIntOrFloatBitWidth() % 8 != 0) {
    reportNearMiss(anchor,
                   "the keys/values have an empty dimension or an element "
                   "type that is not a whole number of bytes",
                   config);
    return failure();
  }
  int64_t block = blockFor(g.tokens, config.blockTokens);
  if (block != config.blockTokens)
    mlir::emitWarning(anchor->getLoc())
        << "attention cache of " << g.tokens
        << " tokens is shorter than one block of " << config.blockTokens
        << " tokens; using block = " << block
        << " (the largest power of two dividing " << g.tokens << ")";
  MLIRContext *ctx = rewriter.getContext();
  auto cacheType = CacheType::get(ctx, 1, g.kvHeads, g.headDim, g.element,
                                  block, g.tokens, g.batch);
  OpBuilder::InsertionGuard guard(rewriter);
  auto firstNonCache = llvm::find_if(
      *declBlock, [](Operation &op) { return !isa<CacheOp>(op); });
  rewriter.setInsertionPoint(declBlock, firstNonCache);
  auto cache = CacheOp::create(
      rewriter, anchor->getLoc(), cacheType,
      rewriter.getStringAttr("attn" + std::to_string(id) + ".kv"), nullptr,
      nullptr);
  rewriter.setInsertionPointAfter(anchor);
  Location loc = anchor->getLoc();
  std::optional<DominanceInfo> localDominance;
  if (!dominance)
    dominance = &localDominance.emplace(anchor);
  Value position = materializePosition(rewriter, loc, match.position, anchor,
                                       *dominance);
  bool positionFound = static_cast<bool>(position);
  if (!position)
    position = arith::ConstantIndexOp::create(rewriter, loc, g.tokens);
  auto attention = AttentionOp::create(rewriter, loc, Type(), cache,
                                       rewriter.getI64IntegerAttr(0), position,
                                       Value(), nullptr, nullptr);
  IntegerAttr idAttr = rewriter.getI64IntegerAttr(id);
  attention->setAttr(kAttentionIdAttrName, idAttr);
  llvm::SmallPtrSet<Operation *, 16> tagged;
  for (Operation *op : match.ops)
    if (tagged.insert(op).second)
      rewriter.modifyOpInPlace(
          op, [&] { op->setAttr(kAttentionIdAttrName, idAttr); });
  if (config.counters)
    ++config.counters->attention;
  if (config.emitRemarks)
    remarkAttention(match, id, positionFound);
  return success();
}

void mlir::kvtier::populateRaiseAttentionPatterns(
    RewritePatternSet &patterns, const RaiseAttentionConfig &config) {
  auto state = std::make_shared<RaiseState>();
  patterns.add<RaiseSoftmaxAttention, RaiseOnlineSoftmaxLoop>(
      patterns.getContext(), config, state);
}

void mlir::kvtier::populateRaiseAttentionPatterns(RewritePatternSet &patterns) {
  populateRaiseAttentionPatterns(patterns, RaiseAttentionConfig());
}

