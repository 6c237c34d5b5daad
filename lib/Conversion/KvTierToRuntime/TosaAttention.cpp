//===- TosaAttention.cpp - the TOSA attention form the runtime takes ------===//
//
// Part of kv-opt. The TOSA decode attention of a TOSA export (e.g. the
// shared Qwen3 graph), per raised attention:
//   %kc' = tensor.insert_slice %k_new into %kc[0, 0, %pos, 0] [B, H, 1, D]
//   %k3  = tosa.reshape %kc' : [B, H, T, D] -> [B*H, T, D]     (same for V)
//   %kt  = tosa.transpose %k3 {perms = [0, 2, 1]}
//   %s   = tosa.matmul %q3, %kt            ([B*H, 1, D] x [B*H, D, T])
//   (tosa.reshape)* ; tosa.mul by a splat constant (the scale)
//   tosa.add of a mask [1, .., 1, T] (optional)
//   %m = tosa.reduce_max (last axis); %e = tosa.exp(tosa.sub(%x, %m))
//   %p = tosa.mul(%e, tosa.reciprocal(tosa.reduce_sum %e (last axis)))
//   (tosa.reshape)* ; %o = tosa.matmul %p, %v3   ([B*H, 1, T] x [B*H, T, D])
// with T the cache's max_tokens; for GQA (g query heads per KV head) %k3 and
// %v3 are [B*H*g, T, D], the cache broadcast over the group by tosa.tile or
// an add of zeros (cacheRead below) and Q, O are [B*H*g, 1, D]: attention reads every token of the cache
// and the mask must hide the tokens after %pos. The runtime attends exactly
// [0, %pos], so the lowered call checks the mask at run time (0 on
// [0, %pos], <= -1e9 after) and fails naming the first entry that is not.
//
//===----------------------------------------------------------------------===//

#include "RuntimeAttention.h"

#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace mlir::kvtier;
using namespace mlir::kvtier::detail;

namespace {

/// `v` through any tosa.reshape ops; each one is recorded in `seen`.
Value stripReshapes(Value v, SmallPtrSetImpl<Operation *> &seen) {
  while (auto r = v.getDefiningOp<tosa::ReshapeOp>()) {
    seen.insert(r);
    v = r.getInput1();
  }
  return v;
}

bool hasShape(Value v, ArrayRef<int64_t> shape) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.hasStaticShape() && t.getShape() == shape &&
         t.getElementType().isF32();
}

/// The splat value of a constant tensor, if `v` is one.
std::optional<double> splatOf(Value v) {
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// True when `shape` is a tosa.const_shape holding `want`.
bool isConstShape(Value shape, ArrayRef<int64_t> want) {
  auto c = shape.getDefiningOp<tosa::ConstShapeOp>();
  if (!c)
    return false;
  SmallVector<int64_t> got;
  for (const APInt &x : c.getValues().getValues<APInt>())
    got.push_back(x.getSExtValue());
  return ArrayRef<int64_t>(got) == want;
}

/// The write behind a K or V operand and the GQA group `group`: `v` is
/// tosa.reshape(x) : [B*H*g, T, D] where x is the written cache [B, H, T, D]
/// (g = 1) or its broadcast to [B, H, g, T, D] (GQA: KV head h serves query
/// heads [h*g, (h+1)*g), as HF's repeat_kv) by tosa.tile of a tosa.reshape
/// to [B, H, 1, T, D], or by tosa.add of a zero splat of the larger shape.
tensor::InsertSliceOp cacheRead(Value v, CacheType type, int64_t &group,
                                SmallPtrSetImpl<Operation *> &seen) {
  int64_t B = type.getBatch(), H = type.getKvHeads(), T = type.getMaxTokens(),
          D = type.getHeadDim();
  auto r = v.getDefiningOp<tosa::ReshapeOp>();
  auto vt = dyn_cast<RankedTensorType>(v.getType());
  if (!r || !vt || !vt.hasStaticShape() || vt.getRank() != 3 ||
      vt.getDimSize(0) % (B * H) != 0 ||
      !hasShape(v, {vt.getDimSize(0), T, D}))
    return {};
  group = vt.getDimSize(0) / (B * H);
  Value x = r.getInput1();
  SmallVector<Operation *> found = {r};
  if (group != 1) {
    if (!hasShape(x, {B, H, group, T, D}))
      return {};
    Value src;
    if (auto tile = x.getDefiningOp<tosa::TileOp>()) {
      if (!isConstShape(tile.getMultiples(), {1, 1, group, 1, 1}))
        return {};
      src = tile.getInput1();
      found.push_back(tile);
    } else if (auto add = x.getDefiningOp<tosa::AddOp>()) {
      for (unsigned i = 0; i < 2 && !src; ++i)
        if (splatOf(add->getOperand(i)) == 0.0 &&
            hasShape(add->getOperand(i), {B, H, group, T, D}))
          src = add->getOperand(1 - i);
      found.push_back(add);
    }
    auto r2 = src ? src.getDefiningOp<tosa::ReshapeOp>() : tosa::ReshapeOp();
    if (!r2 || !hasShape(src, {B, H, 1, T, D}))
      return {};
    found.push_back(r2);
    x = r2.getInput1();
  }
  auto w = x.getDefiningOp<tensor::InsertSliceOp>();
  if (w)
    seen.insert(found.begin(), found.end());
  return w;
}

/// True when `reduce` reduces the last axis of `input`.
template <typename ReduceOp> bool reducesLast(ReduceOp reduce, Value input) {
  auto t = cast<RankedTensorType>(input.getType());
  return reduce && reduce.getInput() == input &&
         int64_t(reduce.getAxis()) == t.getRank() - 1;
}

/// The splat f32 value of a constant tensor, if `v` is one.
std::optional<float> splatValue(Value v) {
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !attr.getElementType().isF32())
    return std::nullopt;
  return attr.getSplatValue<float>();
}

std::string opName(Operation *op) {
  return op ? op->getName().getStringRef().str() : std::string("none");
}

} // namespace

std::string mlir::kvtier::detail::matchTosaAttention(AttentionOp op,
                                                     Operation *pvOp,
                                                     RuntimeAttention &m) {
  auto type = cast<CacheType>(op.getCache().getType());
  int64_t bh = type.getBatch() * type.getKvHeads(), T = type.getMaxTokens(),
          D = type.getHeadDim();
  int64_t id = attentionId(op);
  SmallPtrSet<Operation *, 16> seen;
  auto pv = cast<tosa::MatMulOp>(pvOp);
  m.pv = pv;
  seen.insert(pv);
  int64_t vGroup = 1, kGroup = 1;
  m.vWrite = cacheRead(pv.getB(), type, vGroup, seen);
  if (!m.vWrite)
    return "the P.V tosa.matmul does not read the written value cache "
           "reshaped to [batch * kv_heads * group, max_tokens, head_dim] f32 "
           "(directly, or broadcast over the group by tosa.tile or an add "
           "of zeros)";
  m.group = vGroup;
  if (!hasShape(pv.getOutput(), {bh * m.group, 1, D}))
    return "the P.V tosa.matmul's result is not [batch * q_heads, 1, "
           "head_dim] f32";

  // The softmax, backwards from P.
  Value p = stripReshapes(pv.getA(), seen);
  auto norm = p.getDefiningOp<tosa::MulOp>();
  if (!norm)
    return "P is computed by '" + opName(p.getDefiningOp()) +
           "', not the softmax's tosa.mul by the reciprocal of the sum";
  tosa::ReciprocalOp recip;
  Value e;
  for (unsigned i = 0; i < 2 && !recip; ++i)
    if ((recip = norm->getOperand(i).getDefiningOp<tosa::ReciprocalOp>()))
      e = norm->getOperand(1 - i);
  auto sum = recip ? recip.getInput1().getDefiningOp<tosa::ReduceSumOp>()
                   : tosa::ReduceSumOp();
  auto exp = e ? e.getDefiningOp<tosa::ExpOp>() : tosa::ExpOp();
  auto sub = exp ? exp.getInput1().getDefiningOp<tosa::SubOp>() : tosa::SubOp();
  auto max = sub ? sub.getInput2().getDefiningOp<tosa::ReduceMaxOp>()
                 : tosa::ReduceMaxOp();
  if (!sum || !exp || !reducesLast(sum, e) || !sub || !max ||
      !reducesLast(max, sub.getInput1()))
    return "the scores' softmax is not tosa.reduce_max, tosa.sub, tosa.exp, "
           "tosa.reduce_sum, tosa.reciprocal and tosa.mul over the last axis";
  seen.insert({norm, recip, sum, exp, sub, max});
  Value x = sub.getInput1();
  if (cast<RankedTensorType>(x.getType()).getShape().back() != T)
    return "the softmax does not run over the cache's max_tokens";

  // An additive mask: the operand that is not the scores.
  if (auto add = x.getDefiningOp<tosa::AddOp>()) {
    seen.insert(add);
    bool first = attentionId(add.getInput1().getDefiningOp()) == id;
    x = first ? add.getInput1() : add.getInput2();
    m.mask = first ? add.getInput2() : add.getInput1();
    auto mt = dyn_cast<RankedTensorType>(m.mask.getType());
    if (!mt || !mt.hasStaticShape() || !mt.getElementType().isF32() ||
        mt.getShape().back() != T || mt.getNumElements() != T)
      return "the mask added to the scores is not one f32 row of the "
             "cache's max_tokens broadcast over batch and heads";
  }
  // The scale: a tosa.mul by a splat constant.
  x = stripReshapes(x, seen);
  if (auto mul = x.getDefiningOp<tosa::MulOp>()) {
    std::optional<float> c;
    for (unsigned i = 0; i < 2 && !c; ++i)
      if ((c = splatValue(mul->getOperand(i))))
        x = mul->getOperand(1 - i);
    if (!c)
      return "the scores are multiplied by a tensor that is not a splat "
             "constant (the runtime takes one scale)";
    m.scale = *c;
    seen.insert(mul);
  }
  x = stripReshapes(x, seen);
  auto qk = x.getDefiningOp<tosa::MatMulOp>();
  if (!qk || attentionId(qk) != id)
    return "the scores come from '" + opName(x.getDefiningOp()) +
           "', not a tosa.matmul of Q and K^T";
  m.qk = qk;
  seen.insert(qk);
  auto tr = qk.getB().getDefiningOp<tosa::TransposeOp>();
  if (!tr || tr.getPerms() != ArrayRef<int32_t>{0, 2, 1})
    return "the Q.K^T tosa.matmul's second operand is not a tosa.transpose "
           "{perms = [0, 2, 1]} of the key cache";
  seen.insert(tr);
  m.kWrite = cacheRead(tr.getInput1(), type, kGroup, seen);
  if (!m.kWrite)
    return "the Q.K^T tosa.matmul does not read the written key cache "
           "reshaped to [batch * kv_heads * group, max_tokens, head_dim] f32 "
           "(directly, or broadcast over the group by tosa.tile or an add "
           "of zeros)";
  if (kGroup != vGroup)
    return "K and V are broadcast to different query head counts";
  m.query = qk.getA();
  if (!hasShape(m.query, {bh * m.group, 1, D}))
    return "the query is not [batch * q_heads, 1, head_dim] f32";
  if (!m.mask)
    return "attention reads all max_tokens tokens of the cache with no mask, "
           "so it attends tokens after the position, which the runtime does "
           "not";
  seen.insert({m.kWrite, m.vWrite});
  for (tensor::InsertSliceOp w : {m.kWrite, m.vWrite}) {
    std::string why = checkWrite(w, type, op.getPosition());
    if (!why.empty())
      return why;
  }
  // Nothing else may be part of the attention.
  for (Operation *o : m.ops)
    if (!seen.contains(o) && !isa<tosa::ConstShapeOp, tosa::ConstOp>(o))
      return "the attention's '" + opName(o) +
             "' is not part of the TOSA form the runtime computes";
  return "";
}
