//===- KvTierToRuntime.cpp - raised attention -> kvrt calls ---------------===//
//
// Part of kv-opt. The pattern replacing a raised attention by one call of
// the kvrt runtime on memrefs (docs/lowering.md). The forms it takes are
// matched by LinalgAttention.cpp (linalg on tensors, GQA included) and
// TosaAttention.cpp (TOSA with a decode mask, GQA included); this file
// holds the checks shared by both (a written cache, f32), hands a fused
// loop over memrefs to LoopAttention.cpp, and does the rewrites.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Conversion/KvTierToRuntime/KvTierToRuntime.h"
#include "RuntimeAttention.h"
#include "kvopt/Analysis/KvCacheAnalysis.h"
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "kvopt/Transforms/AttentionPatterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kvtier;
using namespace mlir::kvtier::detail;

int64_t mlir::kvtier::detail::attentionId(Operation *op) {
  auto id = op ? op->getAttrOfType<IntegerAttr>(kAttentionIdAttrName)
               : IntegerAttr();
  return id ? id.getInt() : -1;
}

namespace {

/// True when `op` writes a value into a tensor or buffer (the graph's write
/// of the new token into its cache, in any form the raise tags).
bool writesNewToken(Operation *op) {
  if (isa<tensor::InsertSliceOp, tensor::InsertOp>(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  return effects && effects.hasEffect<MemoryEffects::Write>();
}

FailureOr<RuntimeAttention> matchRuntimeAttention(AttentionOp op,
                                                  std::string &why) {
  RuntimeAttention m;
  int64_t id = attentionId(op);
  auto type = dyn_cast<CacheType>(op.getCache().getType());
  if (!type)
    return why = "a latent (MLA) cache is not stored by the kvrt runtime",
           failure();
  if (id >= 0)
    op->getParentOfType<FunctionOpInterface>()->walk([&](Operation *o) {
      if (o != op && attentionId(o) == id)
        m.ops.push_back(o);
    });
  if (id >= 0 && !llvm::any_of(m.ops, writesNewToken))
    return why = "nothing to lower: no op of the attention writes the new "
                 "token into a cache (K/V are activations or a read-only "
                 "input), so there is no KV cache for the runtime to hold",
           failure();
  if (!type.getElement().isF32())
    return why = "element type " +
                 [&] {
                   std::string s;
                   llvm::raw_string_ostream os(s);
                   os << type.getElement();
                   return s;
                 }() +
                 " is not lowered to the kvrt runtime (f32 only)",
           failure();
  if (id < 0)
    return why = "not raised from upstream ops (no kvtier.attention_id)",
           failure();
  if (llvm::any_of(m.ops, [](Operation *o) {
        return isa<LoopLikeOpInterface>(o) ||
               llvm::any_of(o->getResultTypes(), llvm::IsaPred<BaseMemRefType>);
      })) {
    why = matchLoopAttention(op, m.loop, m.ops);
    if (!why.empty())
      return why = "the attention is a fused loop (online softmax) over "
                   "memrefs not of the form lowered: " +
                   why,
             failure();
    return m;
  }
  Operation *prev = op->getPrevNode();
  if (isa_and_nonnull<tosa::MatMulOp>(prev) && attentionId(prev) == id) {
    why = matchTosaAttention(op, prev, m);
    if (!why.empty())
      return failure();
    return m;
  }
  why = matchLinalgAttention(op, prev, m);
  if (!why.empty())
    return failure();
  return m;
}

/// `value` (a static tensor) flattened to memref<?xT> for the call.
Value toDynamicBuffer(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  auto flatType =
      RankedTensorType::get({type.getNumElements()}, type.getElementType());
  Value flat = tensor::CollapseShapeOp::create(b, loc, flatType, value,
                                               ArrayRef<ReassociationIndices>{all});
  auto buffer = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(flatType.getShape(), type.getElementType()),
      flat, /*readOnly=*/true);
  return memref::CastOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, type.getElementType()),
      buffer);
}

/// The NUL-terminated schedule path as a private constant global.
Value schedulePathBuffer(OpBuilder &b, Location loc, ModuleOp module,
                         StringRef path) {
  SmallVector<int8_t> bytes(path.begin(), path.end());
  bytes.push_back(0);
  auto type = MemRefType::get({int64_t(bytes.size())}, b.getI8Type());
  std::string name = "__kvrt_schedule_path";
  SymbolTable table(module);
  memref::GlobalOp global;
  for (int i = 0;; ++i) {
    std::string candidate = i ? name + "_" + std::to_string(i) : name;
    auto existing = table.lookup<memref::GlobalOp>(candidate);
    if (!existing) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      auto tensorType = RankedTensorType::get(type.getShape(), b.getI8Type());
      global = memref::GlobalOp::create(
          b, loc, candidate, b.getStringAttr("private"), type,
          DenseElementsAttr::get(tensorType, ArrayRef<int8_t>(bytes)),
          /*constant=*/true, /*alignment=*/nullptr);
      break;
    }
    if (existing.getType() == type && existing.getInitialValue() &&
        *existing.getInitialValue() ==
            DenseElementsAttr::get(
                RankedTensorType::get(type.getShape(), b.getI8Type()),
                ArrayRef<int8_t>(bytes))) {
      global = existing;
      break;
    }
  }
  Value got = memref::GetGlobalOp::create(b, loc, type, global.getSymName());
  return memref::CastOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), got);
}

/// The static identity-layout memref `value` flattened to memref<?xT>.
Value flattenBuffer(OpBuilder &b, Location loc, Value value) {
  auto type = cast<MemRefType>(value.getType());
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  Value flat = value;
  if (type.getRank() != 1)
    flat = memref::CollapseShapeOp::create(b, loc, value,
                                           ArrayRef<ReassociationIndices>{all});
  return memref::CastOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, type.getElementType()),
      flat);
}

/// Declares `kvrt_mlir_attention` (C interface) in `module` once, or with
/// `masked` its variant taking the additive mask over the cache's tokens.
func::FuncOp declareRuntime(OpBuilder &b, ModuleOp module, bool masked) {
  StringRef name = masked ? kRuntimeMaskedAttentionFn : kRuntimeAttentionFn;
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  Type i64 = b.getI64Type(), f32 = b.getF32Type(), idx = b.getIndexType();
  Type bytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  Type floats = MemRefType::get({ShapedType::kDynamic}, f32);
  SmallVector<Type> args = {bytes, i64, i64, i64, i64,   i64,    i64,   i64,
                            f32,   i64, idx, floats, floats, floats, floats,
                            floats, floats};
  if (masked)
    args.push_back(floats);
  auto type = b.getFunctionType(args, {});
  auto f = func::FuncOp::create(b, module.getLoc(), name, type);
  f.setPrivate();
  f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return f;
}

/// kvtier.attention (+ the upstream attention it annotates) -> one call.
struct AttentionToRuntime : OpRewritePattern<AttentionOp> {
  AttentionToRuntime(MLIRContext *ctx, const KvTierToRuntimeOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    std::string why;
    FailureOr<RuntimeAttention> m = matchRuntimeAttention(op, why);
    if (failed(m))
      return rewriter.notifyMatchFailure(op, why);
    FailureOr<unsigned> layer = options.analysis->getRuntimeLayer(
        op, op.getCache(), op.getLayer());
    if (failed(layer))
      return failure();
    auto type = cast<CacheType>(op.getCache().getType());
    auto module = op->getParentOfType<ModuleOp>();
    Location loc = op.getLoc();
    auto i64 = [&](int64_t v) -> Value {
      return arith::ConstantIntOp::create(rewriter, loc, v, 64);
    };
    if (const LoopAttention &l = m->loop; l.nest) {
      // The fused loop: the call at the kvtier.attention (after the cache
      // writes, which stay, and the nest), writing the nest's output buffer.
      func::FuncOp callee = declareRuntime(rewriter, module, /*masked=*/true);
      rewriter.setInsertionPoint(op);
      Value path =
          schedulePathBuffer(rewriter, loc, module, options.schedulePath);
      Value scale = arith::ConstantFloatOp::create(
          rewriter, loc, rewriter.getF32Type(), llvm::APFloat(l.scale));
      SmallVector<Value> args = {
          path,
          i64(options.analysis->getNumRuntimeLayers()),
          i64(type.getKvHeads()),
          i64(type.getKvHeads() * l.group),
          i64(type.getHeadDim()),
          i64(type.getBlock()),
          i64(type.getBatch()),
          i64(type.getMaxTokens()),
          scale,
          i64(*layer),
          op.getPosition()};
      for (Value v : {l.query, l.kNew, l.vNew, l.kCache, l.vCache, l.out,
                      l.mask})
        args.push_back(flattenBuffer(rewriter, loc, v));
      func::CallOp::create(rewriter, loc, callee, args);
      rewriter.eraseOp(op);
      rewriter.eraseOp(l.nest);
      for (Operation *scratch : l.scratch)
        rewriter.eraseOp(scratch);
      return success();
    }
    func::FuncOp callee = declareRuntime(rewriter, module, bool(m->mask));

    rewriter.setInsertionPointAfter(m->pv);
    Value path =
        schedulePathBuffer(rewriter, loc, module, options.schedulePath);
    Value q = toDynamicBuffer(rewriter, loc, m->query);
    Value k = toDynamicBuffer(rewriter, loc, m->kWrite.getSource());
    Value v = toDynamicBuffer(rewriter, loc, m->vWrite.getSource());
    Value kc = toDynamicBuffer(rewriter, loc, m->kWrite.getResult());
    Value vc = toDynamicBuffer(rewriter, loc, m->vWrite.getResult());
    auto oType = cast<RankedTensorType>(m->pv->getResult(0).getType());
    auto flatType = MemRefType::get({oType.getNumElements()},
                                    oType.getElementType());
    Value out = memref::AllocOp::create(rewriter, loc, flatType);
    Value outDyn = memref::CastOp::create(
        rewriter, loc,
        MemRefType::get({ShapedType::kDynamic}, oType.getElementType()), out);
    Value scale = arith::ConstantFloatOp::create(
        rewriter, loc, rewriter.getF32Type(), llvm::APFloat(m->scale));
    SmallVector<Value> args = {
        path,          i64(options.analysis->getNumRuntimeLayers()),
        i64(type.getKvHeads()), i64(type.getKvHeads() * m->group),
        i64(type.getHeadDim()), i64(type.getBlock()),
        i64(type.getBatch()),   i64(type.getMaxTokens()),
        scale,         i64(*layer),
        op.getPosition(), q, k, v, kc, vc, outDyn};
    if (m->mask)
      args.push_back(toDynamicBuffer(rewriter, loc, m->mask));
    func::CallOp::create(rewriter, loc, callee, args);
    Value result = bufferization::ToTensorOp::create(
        rewriter, loc,
        RankedTensorType::get(flatType.getShape(), oType.getElementType()),
        out, /*restrict=*/true, /*writable=*/true);
    ReassociationIndices all;
    for (int64_t i = 0; i < oType.getRank(); ++i)
      all.push_back(i);
    Value shaped = tensor::ExpandShapeOp::create(
        rewriter, loc, oType, result, ArrayRef<ReassociationIndices>{all});
    rewriter.replaceAllUsesWith(m->pv->getResult(0), shaped);
    rewriter.eraseOp(op);
    // The upstream attention is dead now: erase it, consumers first.
    // Untagged shape and scale constants (tosa) only the attention used go
    // with it.
    llvm::SetVector<Operation *> feeding;
    for (Operation *o : llvm::reverse(m->ops)) {
      if (!o->use_empty() || isa<tensor::InsertSliceOp>(o))
        continue;
      for (Value operand : o->getOperands())
        if (Operation *d = operand.getDefiningOp())
          if (isa<tosa::ConstShapeOp, tosa::ConstOp>(d) && attentionId(d) < 0)
            feeding.insert(d);
      rewriter.eraseOp(o);
    }
    for (Operation *d : feeding)
      if (d->use_empty())
        rewriter.eraseOp(d);
    return success();
  }

  const KvTierToRuntimeOptions &options;
};

} // namespace

std::string mlir::kvtier::checkRuntimeLowering(AttentionOp op) {
  std::string why;
  (void)matchRuntimeAttention(op, why);
  return why;
}

void mlir::kvtier::populateKvTierToRuntimePatterns(
    RewritePatternSet &patterns, const KvTierToRuntimeOptions &options) {
  patterns.add<AttentionToRuntime>(patterns.getContext(), options);
}
