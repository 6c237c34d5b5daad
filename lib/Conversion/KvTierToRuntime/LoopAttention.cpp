//===- LoopAttention.cpp - the fused-loop attention form the runtime takes ===//
//
// Part of kv-opt. The bufferized decode attention of a graph whose
// attention was lowered to loops over memrefs before kv-opt saw it (the
// shared DeepSeek-R1-distill graph), per raised attention:
//
//   The cache writes (one for K, one for V), unit-step loop nests
//     for b < B, h < H, i < 1, d < D:
//       %x = memref.load %new[b, h, i, d]           (memref<B x H x 1 x D>)
//       %p = arith.index_cast (memref.load %idx[b, h, i, d])
//       memref.store %x, %cache[b, h, %p, d]        (memref<B x H x T x D>)
//     with %idx = bufferization.to_buffer of a linalg.generic that fills
//     every element with one value (the position, + a zero splat), the same
//     value the kvtier.attention's position is extracted from.
//   The attention, an online softmax over all T tokens of the caches
//     for b < B, h < Hq { %kh = arith.divsi h, g;  for i < 1 {
//       for d < D: %acc[d] = 0
//       %r:2 = for t < T iter_args(%m = <= -1e30, %l = 0) {
//         %dot = for d0 < D step V iter_args(0) { vector.fma(
//                  vector.load %q[b, h, i, d0], vector.load %K[b, %kh, t, d0]) }
//         %s = vector.reduction <add> %dot * scale + memref.load %mask[.., t]
//         %gt = cmpf ogt %s, %m;  %a = exp(%m - %s);  %e = exp(%s - %m)
//         %l' = select %gt, %a * %l + 1, %l + %e;  %m' = select %gt, %s, %m
//         for d < D: %acc[d] = select %gt, %acc[d] * %a + %V[b, %kh, t, d],
//                                           %e * %V[b, %kh, t, d] + %acc[d]
//       }
//       (memref.store %r#1 into a scratch buffer)
//       for d < D: %out[b, h, i, d] = %acc[d] / %r#1 }}
//
// This is softmax(q.K^T * scale + mask) . V over the whole cache; with the
// mask 0 on [0, position] and <= -1e9 after (checked by the runtime at every
// call) it is exactly the runtime's attention over [0, position] up to the
// order of floating-point sums. Every piece is checked; anything else keeps
// its computation with the reason.
//
//===----------------------------------------------------------------------===//

#include "RuntimeAttention.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::kvtier;
using namespace mlir::kvtier::detail;

namespace {

/// A loop from 0 to a constant bound with a constant step.
struct Loop {
  Operation *op = nullptr;
  Value iv;
  int64_t upper = 0, step = 0;
  Block *body = nullptr;
  /// The body's ops, terminator excluded.
  SmallVector<Operation *> ops;
};

std::optional<Loop> asLoop(Operation *op) {
  Loop l;
  l.op = op;
  if (auto f = dyn_cast_or_null<affine::AffineForOp>(op)) {
    if (!f.hasConstantLowerBound() || f.getConstantLowerBound() != 0 ||
        !f.hasConstantUpperBound())
      return std::nullopt;
    l.iv = f.getInductionVar();
    l.upper = f.getConstantUpperBound();
    l.step = f.getStepAsInt();
    l.body = f.getBody();
  } else if (auto f = dyn_cast_or_null<scf::ForOp>(op)) {
    std::optional<int64_t> lb = getConstantIntValue(f.getLowerBound()),
                           ub = getConstantIntValue(f.getUpperBound()),
                           st = getConstantIntValue(f.getStep());
    if (!lb || *lb != 0 || !ub || !st)
      return std::nullopt;
    l.iv = f.getInductionVar();
    l.upper = *ub;
    l.step = *st;
    l.body = f.getBody();
  } else {
    return std::nullopt;
  }
  for (Operation &o : l.body->without_terminator())
    l.ops.push_back(&o);
  return l;
}

/// The loop that is the only op of `outer`'s body, with `upper` and step 1.
std::optional<Loop> onlyInner(const Loop &outer, int64_t upper) {
  if (outer.ops.size() != 1)
    return std::nullopt;
  std::optional<Loop> l = asLoop(outer.ops[0]);
  if (!l || l->upper != upper || l->step != 1)
    return std::nullopt;
  return l;
}

bool isIdentityF32(Value v, ArrayRef<int64_t> shape) {
  auto t = dyn_cast<MemRefType>(v.getType());
  return t && t.hasStaticShape() && t.getLayout().isIdentity() &&
         t.getShape() == shape && t.getElementType().isF32();
}

bool indicesAre(ValueRange got, ArrayRef<Value> want) {
  return got.size() == want.size() &&
         llvm::all_of(llvm::zip(got, want),
                      [](auto p) { return std::get<0>(p) == std::get<1>(p); });
}

std::optional<double> constFloat(Value v) {
  FloatAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  return attr.getValueAsDouble();
}

/// True when the two operands of `op` are {a, b} in either order.
bool operandsAre(Operation *op, Value a, Value b) {
  return op && op->getNumOperands() == 2 &&
         ((op->getOperand(0) == a && op->getOperand(1) == b) ||
          (op->getOperand(0) == b && op->getOperand(1) == a));
}

template <typename OpTy> OpTy def(Value v) {
  return v ? v.getDefiningOp<OpTy>() : OpTy();
}

/// Strips tensor reshapes.
Value stripReshapes(Value v) {
  while (true) {
    if (auto e = v.getDefiningOp<tensor::ExpandShapeOp>())
      v = e.getSrc();
    else if (auto c = v.getDefiningOp<tensor::CollapseShapeOp>())
      v = c.getSrc();
    else
      return v;
  }
}

/// The one-element tensor every element of the integer tensor `t` equals:
/// `t` is a linalg.generic broadcasting a one-element input (optionally plus
/// a zero splat). Null when `t` is not of that form.
Value uniformSource(Value t) {
  auto g = def<linalg::GenericOp>(t);
  if (!g || g.getNumDpsInits() != 1 || g.getNumLoops() != g.getNumParallelLoops())
    return {};
  Block &body = g.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto oneElement = [](Value v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    return type && type.hasStaticShape() && type.getNumElements() == 1;
  };
  Value y = yield.getValues()[0];
  unsigned in = 0;
  if (g.getNumDpsInputs() == 1 && body.getOperations().size() == 1 &&
      y == body.getArgument(0)) {
    in = 0;
  } else if (auto add = def<arith::AddIOp>(y);
             add && g.getNumDpsInputs() == 2 &&
             body.getOperations().size() == 2 &&
             operandsAre(add, body.getArgument(0), body.getArgument(1))) {
    DenseIntElementsAttr zero;
    bool found = false;
    for (unsigned i = 0; i < 2 && !found; ++i)
      if (matchPattern(g.getDpsInputOperand(1 - i)->get(), m_Constant(&zero)) &&
          zero.isSplat() && zero.getSplatValue<APInt>().isZero() &&
          oneElement(g.getDpsInputOperand(i)->get()))
        in = i, found = true;
    if (!found)
      return {};
  } else {
    return {};
  }
  Value src = g.getDpsInputOperand(in)->get();
  return oneElement(src) ? stripReshapes(src) : Value();
}

/// The cache write of one new token (see the file comment).
struct CacheWrite {
  Value cache, source, root;
  Operation *nest = nullptr;
};

std::string matchWrite(memref::StoreOp store, CacheType type,
                       CacheWrite &w) {
  int64_t B = type.getBatch(), H = type.getKvHeads(),
          T = type.getMaxTokens(), D = type.getHeadDim();
  const std::string bad =
      "the cache write is not the unit-step loop nest over [batch, kv_heads, "
      "1, head_dim] storing memref.load %new[b, h, i, d] at [b, h, "
      "index_cast(memref.load %index[b, h, i, d]), d] of the cache";
  std::optional<Loop> ld = asLoop(store->getParentOp());
  if (!ld || ld->upper != D || ld->step != 1 || ld->ops.size() != 4)
    return bad;
  std::optional<Loop> li = asLoop(ld->op->getParentOp());
  std::optional<Loop> lh = li ? asLoop(li->op->getParentOp()) : std::nullopt;
  std::optional<Loop> lb = lh ? asLoop(lh->op->getParentOp()) : std::nullopt;
  if (!lb || !onlyInner(*lb, H) || !onlyInner(*lh, 1) || !onlyInner(*li, D) ||
      lb->upper != B || lb->step != 1)
    return bad;
  SmallVector<Value> ivs = {lb->iv, lh->iv, li->iv, ld->iv};
  auto cast = def<arith::IndexCastOp>(store.getIndices()[2]);
  auto idxLoad = cast ? def<memref::LoadOp>(cast.getIn()) : memref::LoadOp();
  auto valLoad = def<memref::LoadOp>(store.getValueToStore());
  if (!cast || !idxLoad || !valLoad ||
      !indicesAre(idxLoad.getIndices(), ivs) ||
      !indicesAre(valLoad.getIndices(), ivs) ||
      store.getIndices()[0] != ivs[0] || store.getIndices()[1] != ivs[1] ||
      store.getIndices()[3] != ivs[3] || cast->getBlock() != ld->body ||
      idxLoad->getBlock() != ld->body || valLoad->getBlock() != ld->body)
    return bad;
  if (!isIdentityF32(store.getMemRef(), {B, H, T, D}))
    return "the written cache is not a memref<batch x kv_heads x max_tokens "
           "x head_dim x f32> with the identity layout";
  if (!isIdentityF32(valLoad.getMemRef(), {B, H, 1, D}))
    return "the new token is not a memref<batch x kv_heads x 1 x head_dim x "
           "f32> with the identity layout";
  auto toBuffer = def<bufferization::ToBufferOp>(idxLoad.getMemRef());
  w.root = toBuffer ? uniformSource(toBuffer.getTensor()) : Value();
  if (!w.root)
    return "the token index of the cache write is not one value for every "
           "head and dim (a linalg.generic broadcasting the position)";
  w.cache = store.getMemRef();
  w.source = valLoad.getMemRef();
  w.nest = lb->op;
  return "";
}

} // namespace

std::string mlir::kvtier::detail::matchLoopAttention(AttentionOp op,
                                                     LoopAttention &m,
                                                     ArrayRef<Operation *> ops) {
  auto type = cast<CacheType>(op.getCache().getType());
  int64_t B = type.getBatch(), H = type.getKvHeads(),
          T = type.getMaxTokens(), D = type.getHeadDim();
  // The two cache writes and the token loop.
  SmallVector<memref::StoreOp> stores;
  Operation *tokenLoop = nullptr;
  for (Operation *o : ops) {
    if (auto s = dyn_cast<memref::StoreOp>(o))
      stores.push_back(s);
    else if (isa<LoopLikeOpInterface>(o) && !tokenLoop)
      tokenLoop = o;
    else
      return "the attention's '" + o->getName().getStringRef().str() +
             "' is not part of the fused-loop form the runtime computes";
  }
  if (stores.size() != 2 || !tokenLoop)
    return "the fused loop does not come with exactly one memref.store "
           "loop nest writing the new token into each of a K and a V cache";
  CacheWrite w0, w1;
  for (auto [s, w] : llvm::zip(stores, std::array<CacheWrite *, 2>{&w0, &w1})) {
    std::string why = matchWrite(s, type, *w);
    if (!why.empty())
      return why;
  }
  if (w0.cache == w1.cache)
    return "both cache writes store into the same buffer";

  // The attention nest: b < B, h < Hq, i < 1 around the token loop.
  std::optional<Loop> lt = asLoop(tokenLoop);
  std::optional<Loop> li = lt ? asLoop(tokenLoop->getParentOp()) : std::nullopt;
  std::optional<Loop> lh = li ? asLoop(li->op->getParentOp()) : std::nullopt;
  std::optional<Loop> lb = lh ? asLoop(lh->op->getParentOp()) : std::nullopt;
  const std::string nestWhy =
      "the fused loop is not nested as batch, query-head and one-query loops "
      "(unit steps) around one loop over all max_tokens tokens";
  if (!lb || isa<LoopLikeOpInterface>(lb->op->getParentOp()) ||
      lb->upper != B || lb->step != 1 || lh->step != 1 || li->upper != 1 ||
      li->step != 1 || lt->upper != T || lt->step != 1 ||
      !onlyInner(*lb, lh->upper))
    return nestWhy;
  int64_t hq = lh->upper;
  if (hq % H != 0)
    return "the query head count " + std::to_string(hq) +
           " is not a multiple of the cache's kv_heads " + std::to_string(H);
  m.group = hq / H;
  // The head mapping: h / group (HF's repeat_kv order), or h itself.
  Value kvHead = lh->iv;
  if (lh->ops.size() == 2) {
    auto div = dyn_cast<arith::DivSIOp>(lh->ops[0]);
    std::optional<int64_t> g =
        div ? getConstantIntValue(div.getRhs()) : std::nullopt;
    if (!div || div.getLhs() != lh->iv || !g || *g != m.group)
      return "the KV head of query head h is not h / " +
             std::to_string(m.group) +
             " (arith.divsi by the GQA group; HF's repeat_kv order)";
    kvHead = div;
  } else if (lh->ops.size() != 1 || m.group != 1) {
    return "the KV head of query head h is not h / " +
           std::to_string(m.group) +
           " (arith.divsi by the GQA group; HF's repeat_kv order)";
  }
  if (lh->ops.back() != li->op)
    return nestWhy;

  // The one-query loop: zero the accumulator, the token loop, (store of the
  // sum), normalise into the output.
  const std::string bodyWhy =
      "the one-query loop is not: zero a head_dim accumulator, the token "
      "loop, (store the sum), write accumulator / sum to the output";
  if (li->ops.size() != 3 && li->ops.size() != 4)
    return bodyWhy;
  std::optional<Loop> zero = asLoop(li->ops[0]);
  std::optional<Loop> fin = asLoop(li->ops.back());
  if (!zero || !fin || li->ops[1] != tokenLoop || zero->upper != D ||
      zero->step != 1 || zero->ops.size() != 1 || fin->upper != D ||
      fin->step != 1 || fin->ops.size() != 3)
    return bodyWhy;
  auto zeroStore = dyn_cast<memref::StoreOp>(zero->ops[0]);
  if (!zeroStore || constFloat(zeroStore.getValueToStore()) != 0.0 ||
      !indicesAre(zeroStore.getIndices(), {zero->iv}) ||
      !isIdentityF32(zeroStore.getMemRef(), {D}))
    return bodyWhy;
  Value acc = zeroStore.getMemRef();
  auto tl = cast<LoopLikeOpInterface>(tokenLoop);
  if (tl.getRegionIterArgs().size() != 2 || tokenLoop->getNumResults() != 2)
    return "the token loop does not carry exactly a running maximum and a "
           "running sum";
  Value sum = tokenLoop->getResult(1);
  if (li->ops.size() == 4) {
    auto s = dyn_cast<memref::StoreOp>(li->ops[2]);
    if (!s || s.getValueToStore() != sum || !def<memref::AllocOp>(s.getMemRef()))
      return bodyWhy;
    m.scratch.push_back(s.getMemRef().getDefiningOp());
  }
  auto finLoad = dyn_cast<memref::LoadOp>(fin->ops[0]);
  auto finDiv = dyn_cast<arith::DivFOp>(fin->ops[1]);
  auto finStore = dyn_cast<memref::StoreOp>(fin->ops[2]);
  if (!finLoad || !finDiv || !finStore || finLoad.getMemRef() != acc ||
      !indicesAre(finLoad.getIndices(), {fin->iv}) ||
      finDiv.getLhs() != finLoad || finDiv.getRhs() != sum ||
      finStore.getValueToStore() != finDiv ||
      !indicesAre(finStore.getIndices(), {lb->iv, lh->iv, li->iv, fin->iv}))
    return bodyWhy;
  m.out = finStore.getMemRef();
  if (!isIdentityF32(m.out, {B, hq, 1, D}))
    return "the output is not a memref<batch x q_heads x 1 x head_dim x f32> "
           "with the identity layout";
  if (!def<memref::AllocOp>(acc))
    return "the accumulator is not a memref.alloc";
  m.scratch.push_back(acc.getDefiningOp());

  // The token loop's initial values and recurrence.
  ValueRange inits = tl.getInits();
  std::optional<double> m0 = constFloat(inits[0]), l0 = constFloat(inits[1]);
  if (!m0 || *m0 > -1e30 || l0 != 0.0)
    return "the running maximum does not start at <= -1e30 and the running "
           "sum at 0";
  Value mPrev = tl.getRegionIterArgs()[0], lPrev = tl.getRegionIterArgs()[1];
  Value t = lt->iv;
  SmallVector<Value> yielded = llvm::to_vector(tl.getYieldedValues());
  const std::string recWhy =
      "the token loop is not the online softmax of docs/lowering.md (max by "
      "cmpf ogt + select, sum and accumulator rescaled by exp(m - s) or "
      "weighted by exp(s - m))";
  if (lt->ops.size() != 16)
    return recWhy;
  auto newMax = def<arith::SelectOp>(yielded[0]);
  auto gt = newMax ? def<arith::CmpFOp>(newMax.getCondition()) : arith::CmpFOp();
  if (!gt || gt.getPredicate() != arith::CmpFPredicate::OGT ||
      gt.getRhs() != mPrev || newMax.getFalseValue() != mPrev ||
      newMax.getTrueValue() != gt.getLhs())
    return recWhy;
  Value s = gt.getLhs();
  auto newSum = def<arith::SelectOp>(yielded[1]);
  auto sumGt = newSum ? def<arith::AddFOp>(newSum.getTrueValue()) : arith::AddFOp();
  auto sumLe = newSum ? def<arith::AddFOp>(newSum.getFalseValue()) : arith::AddFOp();
  if (!newSum || newSum.getCondition() != gt || !sumGt || !sumLe)
    return recWhy;
  // sumGt = exp(m - s) * l + 1; sumLe = l + exp(s - m).
  Value aMul;
  for (unsigned i = 0; i < 2; ++i)
    if (constFloat(sumGt->getOperand(i)) == 1.0)
      aMul = sumGt->getOperand(1 - i);
  auto mulA = def<arith::MulFOp>(aMul);
  math::ExpOp expA, expE;
  for (unsigned i = 0; mulA && i < 2; ++i)
    if (mulA->getOperand(1 - i) == lPrev)
      expA = def<math::ExpOp>(mulA->getOperand(i));
  for (unsigned i = 0; i < 2; ++i)
    if (sumLe->getOperand(1 - i) == lPrev)
      expE = def<math::ExpOp>(sumLe->getOperand(i));
  auto subA = expA ? def<arith::SubFOp>(expA.getOperand()) : arith::SubFOp();
  auto subE = expE ? def<arith::SubFOp>(expE.getOperand()) : arith::SubFOp();
  if (!subA || !subE || subA.getLhs() != mPrev || subA.getRhs() != s ||
      subE.getLhs() != s || subE.getRhs() != mPrev)
    return recWhy;
  // The score: reduction(dot) * scale + mask[.., t].
  auto addMask = def<arith::AddFOp>(s);
  if (!addMask)
    return "the score is not (q . k) * scale + an additive mask";
  memref::LoadOp maskLoad;
  Value scaled;
  for (unsigned i = 0; i < 2 && !maskLoad; ++i)
    if ((maskLoad = def<memref::LoadOp>(addMask->getOperand(i))))
      scaled = addMask->getOperand(1 - i);
  auto mulScale = def<arith::MulFOp>(scaled);
  std::optional<double> scale;
  vector::ReductionOp red;
  for (unsigned i = 0; mulScale && i < 2 && !scale; ++i)
    if ((scale = constFloat(mulScale->getOperand(i))))
      red = def<vector::ReductionOp>(mulScale->getOperand(1 - i));
  if (!maskLoad || !scale || !red ||
      red.getKind() != vector::CombiningKind::ADD || red.getAcc())
    return "the score is not vector.reduction <add> of the q . k products, "
           "times a constant scale, plus an additive mask loaded per token";
  m.scale = float(*scale);
  auto maskType = dyn_cast<MemRefType>(maskLoad.getMemRef().getType());
  if (!maskType || !maskType.hasStaticShape() ||
      !maskType.getLayout().isIdentity() ||
      !maskType.getElementType().isF32() || maskType.getNumElements() != T ||
      maskType.getShape().back() != T || maskLoad.getIndices().back() != t)
    return "the mask is not one f32 row of the cache's max_tokens (identity "
           "layout) read at the token loop's index";
  m.mask = maskLoad.getMemRef();
  // The q . k dot: vector.fma of q[b, h, i, d0] and K[b, kh, t, d0].
  std::optional<Loop> dot = asLoop(red.getVector().getDefiningOp());
  auto dotLoop = dot ? cast<LoopLikeOpInterface>(dot->op)
                     : LoopLikeOpInterface();
  auto vecType = dyn_cast<VectorType>(red.getVector().getType());
  const std::string dotWhy =
      "the q . k product is not a loop over head_dim in vector steps of "
      "vector.fma(vector.load %q[b, h, i, d], vector.load %K[b, kv_head, t, "
      "d]) from zero";
  if (!dot || !vecType || vecType.getRank() != 1 ||
      dot->step != vecType.getDimSize(0) || dot->upper != D ||
      D % dot->step != 0 || dot->ops.size() != 3 ||
      dotLoop.getRegionIterArgs().size() != 1)
    return dotWhy;
  DenseFPElementsAttr zeroVec;
  if (!matchPattern(dotLoop.getInits()[0], m_Constant(&zeroVec)) ||
      !zeroVec.isSplat() || !zeroVec.getSplatValue<APFloat>().isZero())
    return dotWhy;
  auto fma = def<vector::FMAOp>(dotLoop.getYieldedValues()[0]);
  if (!fma || fma.getAcc() != dotLoop.getRegionIterArgs()[0])
    return dotWhy;
  auto qLoad = def<vector::LoadOp>(fma.getLhs());
  auto kLoad = def<vector::LoadOp>(fma.getRhs());
  if (qLoad && kLoad && kLoad.getBase() != w0.cache &&
      kLoad.getBase() != w1.cache)
    std::swap(qLoad, kLoad);
  if (!qLoad || !kLoad ||
      !indicesAre(qLoad.getIndices(), {lb->iv, lh->iv, li->iv, dot->iv}) ||
      !indicesAre(kLoad.getIndices(), {lb->iv, kvHead, t, dot->iv}))
    return dotWhy;
  // The value accumulation.
  std::optional<Loop> accLoop = asLoop(lt->ops[lt->ops.size() - 1]);
  const std::string accWhy =
      "the accumulator update is not acc[d] = select(gt, acc[d] * exp(m - s) "
      "+ V[b, kv_head, t, d], exp(s - m) * V[b, kv_head, t, d] + acc[d])";
  if (!accLoop || accLoop->upper != D || accLoop->step != 1 ||
      accLoop->ops.size() != 8)
    return accWhy;
  memref::StoreOp accStore;
  for (Operation *o : accLoop->ops)
    if (auto st = dyn_cast<memref::StoreOp>(o))
      accStore = st;
  auto sel = accStore ? def<arith::SelectOp>(accStore.getValueToStore())
                      : arith::SelectOp();
  if (!accStore || accStore.getMemRef() != acc ||
      !indicesAre(accStore.getIndices(), {accLoop->iv}) || !sel ||
      sel.getCondition() != gt)
    return accWhy;
  auto x2 = def<arith::AddFOp>(sel.getTrueValue());
  auto y2 = def<arith::AddFOp>(sel.getFalseValue());
  memref::LoadOp vLoad, accLoad;
  arith::MulFOp x1, y1;
  for (unsigned i = 0; x2 && !x1 && i < 2; ++i)
    if ((x1 = def<arith::MulFOp>(x2->getOperand(i))))
      vLoad = def<memref::LoadOp>(x2->getOperand(1 - i));
  for (unsigned i = 0; x1 && i < 2; ++i)
    if (x1->getOperand(1 - i) == expA.getResult())
      accLoad = def<memref::LoadOp>(x1->getOperand(i));
  if (!vLoad || !accLoad || accLoad.getMemRef() != acc ||
      !indicesAre(accLoad.getIndices(), {accLoop->iv}) ||
      !indicesAre(vLoad.getIndices(), {lb->iv, kvHead, t, accLoop->iv}) || !y2)
    return accWhy;
  for (unsigned i = 0; i < 2 && !y1; ++i)
    if (y2->getOperand(1 - i) == accLoad.getResult())
      y1 = def<arith::MulFOp>(y2->getOperand(i));
  if (!y1 || !operandsAre(y1, expE, vLoad))
    return accWhy;

  // Which cache is K and which V, and that they are the ones written.
  CacheWrite *kw = kLoad.getBase() == w0.cache   ? &w0
                   : kLoad.getBase() == w1.cache ? &w1
                                                 : nullptr;
  CacheWrite *vw = kw == &w0 ? &w1 : &w0;
  if (!kw)
    return "the keys the fused loop reads are not a cache the attention "
           "writes the new token into";
  if (vLoad.getMemRef() != vw->cache)
    return "the values the fused loop reads are not the other cache the "
           "attention writes the new token into";
  if (!isIdentityF32(qLoad.getBase(), {B, hq, 1, D}))
    return "the query is not a memref<batch x q_heads x 1 x head_dim x f32> "
           "with the identity layout";
  // The writes come before the attention, in the same block.
  Block *block = lb->op->getBlock();
  for (CacheWrite *w : {kw, vw})
    if (w->nest->getBlock() != block || !w->nest->isBeforeInBlock(lb->op))
      return "a cache write is not before the fused loop in the same block";
  // The position: the value both writes' index buffers hold.
  auto posCast = def<arith::IndexCastOp>(op.getPosition());
  auto posExtract =
      posCast ? def<tensor::ExtractOp>(posCast.getIn()) : tensor::ExtractOp();
  Value posRoot = posExtract ? uniformSource(posExtract.getTensor()) : Value();
  if (!posRoot || posRoot != kw->root || posRoot != vw->root)
    return "the attention's position is not the token index both cache "
           "writes use";
  // Scratch buffers only live inside the attention.
  for (Operation *scratch : m.scratch)
    for (Operation *user : scratch->getUsers())
      if (!lb->op->isAncestor(user))
        return "a scratch buffer of the fused loop ('" +
               user->getName().getStringRef().str() +
               "') is used outside it";
  // The call reads its buffers at the kvtier.attention, after the nest:
  // nothing in between may write memory, and no later op may take over the
  // buffer of a tensor the nest read through bufferization.to_buffer.
  for (Operation *o = lb->op->getNextNode(); o && o != op; o = o->getNextNode())
    if (!isMemoryEffectFree(o))
      return "'" + o->getName().getStringRef().str() +
             "' between the fused loop and its kvtier.attention has memory "
             "effects";
  for (Value read : SmallVector<Value>{qLoad.getBase(), kw->source, vw->source,
                     maskLoad.getMemRef()}) {
    auto toBuffer = def<bufferization::ToBufferOp>(read);
    if (!toBuffer)
      continue;
    for (Operation *user : toBuffer.getTensor().getUsers())
      if (user != toBuffer &&
          (user->getBlock() != block || !user->isBeforeInBlock(toBuffer)))
        return "a tensor the fused loop reads through "
               "bufferization.to_buffer has a later user ('" +
               user->getName().getStringRef().str() +
               "'), which may take over its buffer before the runtime "
               "reads it";
  }
  m.nest = lb->op;
  m.query = qLoad.getBase();
  m.kCache = kw->cache;
  m.vCache = vw->cache;
  m.kNew = kw->source;
  m.vNew = vw->source;
  return "";
}
