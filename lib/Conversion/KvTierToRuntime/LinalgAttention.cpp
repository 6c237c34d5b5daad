//===- LinalgAttention.cpp - the linalg attention form the runtime takes --===//
//
// Part of kv-opt. The linalg-on-tensors decode attention, per raised
// attention:
//   %kc' = tensor.insert_slice %k_new into %kc[0, 0, %pos, 0] [B, H, 1, D]
//   %vc' = tensor.insert_slice %v_new into %vc[0, 0, %pos, 0] [B, H, 1, D]
//   %k = tensor.extract_slice %kc'[0, 0, 0, 0] [B, H, %pos + 1, D]  (same V)
//   (GQA: %k broadcast over a group dim 2 and collapsed to [B*H*g, n, D])
//   %s = contraction (b, h, i, d) x (b, h, t, d) -> (b, h, i, t)   of %q, %k
//   elementwise: multiply by a constant (the scale), the max subtraction,
//   exp, sum, divide (or linalg.softmax)
//   %o = contraction (b, h, i, t) x (b, h, t, d) -> (b, h, i, d)   of %p, %v
// (or the [B*Hq, ...] batch_matmul forms) with %kc/%vc of type
// tensor<B x H x max_tokens x D x f32> (the cache's geometry) and %q, %o of
// type tensor<B x Hq x 1 x D x f32>. This is exactly what the runtime's
// attention computes (append at %pos, attend [0, %pos]), so the
// replacement is exact up to the order of floating-point sums.
//
//===----------------------------------------------------------------------===//

#include "RuntimeAttention.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::kvtier;
using namespace mlir::kvtier::detail;

namespace {

/// True when `v` is `position + 1` (either operand order) or, for a constant
/// position, the constant position + 1.
bool isPositionPlusOne(Value v, Value position) {
  auto cst = [](Value x) -> std::optional<int64_t> {
    if (auto c = x.getDefiningOp<arith::ConstantIndexOp>())
      return c.value();
    return std::nullopt;
  };
  if (auto add = v.getDefiningOp<arith::AddIOp>()) {
    Value a = add.getLhs(), b = add.getRhs();
    if ((a == position && cst(b) == 1) || (b == position && cst(a) == 1))
      return true;
  }
  std::optional<int64_t> p = cst(position), n = cst(v);
  return p && n && *n == *p + 1;
}

/// True when the mixed value `ofr` is the position (SSA value or the same
/// constant).
bool isPosition(OpFoldResult ofr, Value position) {
  if (auto v = dyn_cast<Value>(ofr)) {
    if (v == position)
      return true;
    auto a = v.getDefiningOp<arith::ConstantIndexOp>();
    auto b = position.getDefiningOp<arith::ConstantIndexOp>();
    return a && b && a.value() == b.value();
  }
  auto b = position.getDefiningOp<arith::ConstantIndexOp>();
  auto attr = dyn_cast<IntegerAttr>(cast<Attribute>(ofr));
  return b && attr && attr.getInt() == b.value();
}

bool isStatic(OpFoldResult ofr, int64_t value) {
  std::optional<int64_t> c = getConstantIntValue(ofr);
  return c && *c == value;
}

} // namespace

/// Checks the write of the new token: [0, 0, pos, 0] [B, H, 1, D] into a
/// cache of the kvtier.cache's geometry.
std::string mlir::kvtier::detail::checkWrite(tensor::InsertSliceOp op,
                                             CacheType type, Value position) {
  auto dest = op.getDestType();
  SmallVector<int64_t> want = {type.getBatch(), type.getKvHeads(),
                               type.getMaxTokens(), type.getHeadDim()};
  if (!dest.hasStaticShape() || dest.getShape() != ArrayRef<int64_t>(want) ||
      !dest.getElementType().isF32())
    return "the cache is not a static tensor<batch x kv_heads x max_tokens x "
           "head_dim x f32>";
  SmallVector<OpFoldResult> off = op.getMixedOffsets(),
                            size = op.getMixedSizes(),
                            stride = op.getMixedStrides();
  for (unsigned i = 0; i < 4; ++i)
    if (!isStatic(stride[i], 1))
      return "the token's write into the cache is strided";
  if (!isStatic(off[0], 0) || !isStatic(off[1], 0) || !isStatic(off[3], 0) ||
      !isPosition(off[2], position))
    return "the token is not written at [0, 0, position, 0] of the cache";
  if (!isStatic(size[0], want[0]) || !isStatic(size[1], want[1]) ||
      !isStatic(size[2], 1) || !isStatic(size[3], want[3]))
    return "the token's write is not one token of every sequence and head";
  return "";
}

namespace {

/// GQA: `v` = tensor.collapse_shape [[0, 1, 2], [3], [4]] of the 4-D read
/// [B, H, T, D] broadcast over a group dim 2 to [B, H, g, T, D] (HF's
/// repeat_kv order: KV head h serves query heads [h*g, (h+1)*g)), by
/// linalg.broadcast {dimensions = [2]} or by tensor.expand_shape to
/// [B, H, 1, T, D] and a copy generic broadcasting dim 2. Returns the 4-D
/// read and sets `group` (the broadcast ops go to `ops`), or returns `v`
/// unchanged with group 1.
Value stripGroupBroadcast(Value v, int64_t &group,
                          SmallVectorImpl<Operation *> &ops) {
  group = 1;
  auto collapse = v.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse || collapse.getSrcType().getRank() != 5 ||
      collapse.getReassociationIndices() !=
          SmallVector<ReassociationIndices>{{0, 1, 2}, {3}, {4}})
    return v;
  Value wide = collapse.getSrc(), read;
  SmallVector<Operation *> found = {collapse};
  if (auto b = wide.getDefiningOp<linalg::BroadcastOp>()) {
    if (b.getDimensions() != ArrayRef<int64_t>{2})
      return v;
    read = b.getInput();
    found.push_back(b);
  } else if (auto g = wide.getDefiningOp<linalg::GenericOp>()) {
    Block &body = g.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    if (g.getNumDpsInputs() != 1 || body.getOperations().size() != 1 ||
        yield.getValues().size() != 1 ||
        yield.getValues()[0] != body.getArgument(0))
      return v;
    MLIRContext *ctx = g.getContext();
    AffineMap in = g.getIndexingMapsArray()[0],
              out = g.getIndexingMapsArray()[1];
    AffineMap id = AffineMap::getMultiDimIdentityMap(5, ctx);
    SmallVector<AffineExpr> bc = {getAffineDimExpr(0, ctx),
                                  getAffineDimExpr(1, ctx),
                                  getAffineConstantExpr(0, ctx),
                                  getAffineDimExpr(3, ctx),
                                  getAffineDimExpr(4, ctx)};
    if (out != id || in != AffineMap::get(5, 0, bc, ctx))
      return v;
    auto expand = g.getDpsInputOperand(0)->get()
                      .getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand || expand.getReassociationIndices() !=
                       SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}})
      return v;
    read = expand.getSrc();
    found.append({g, expand});
  } else {
    return v;
  }
  auto wideType = cast<RankedTensorType>(wide.getType());
  auto readType = cast<RankedTensorType>(read.getType());
  if (readType.getRank() != 4 || wideType.getDimSize(0) != readType.getDimSize(0) ||
      wideType.getDimSize(1) != readType.getDimSize(1) ||
      ShapedType::isDynamic(wideType.getDimSize(2)))
    return v;
  group = wideType.getDimSize(2);
  ops.append(found.begin(), found.end());
  return read;
}

/// The write behind a contraction operand: a tensor.extract_slice reading
/// tokens [0, position] of a tagged tensor.insert_slice (through a GQA
/// broadcast: `group`, the ops in `ops`).
tensor::InsertSliceOp readOfWrite(Value operand, Value position,
                                  std::string &why, int64_t &group,
                                  SmallVectorImpl<Operation *> &ops) {
  operand = stripGroupBroadcast(operand, group, ops);
  auto read = operand.getDefiningOp<tensor::ExtractSliceOp>();
  if (!read)
    return {};
  auto write = read.getSource().getDefiningOp<tensor::InsertSliceOp>();
  if (!write)
    return {};
  auto src = read.getSourceType();
  SmallVector<OpFoldResult> off = read.getMixedOffsets(),
                            size = read.getMixedSizes(),
                            stride = read.getMixedStrides();
  bool ok = src.getRank() == 4 && read.getResultType().getRank() == 4;
  for (unsigned i = 0; ok && i < 4; ++i)
    ok = isStatic(off[i], 0) && isStatic(stride[i], 1);
  ok = ok && isStatic(size[0], src.getDimSize(0)) &&
       isStatic(size[1], src.getDimSize(1)) &&
       isStatic(size[3], src.getDimSize(3));
  Value n = dyn_cast<Value>(size[2]);
  bool tokens = n ? isPositionPlusOne(n, position)
                  : (position.getDefiningOp<arith::ConstantIndexOp>() &&
                     isStatic(size[2], position.getDefiningOp<
                                           arith::ConstantIndexOp>()
                                               .value() +
                                           1));
  if (!ok || !tokens) {
    why = "attention does not read exactly the cache's tokens [0, position] "
          "(a masked or full-length read needs the mask, which the runtime "
          "does not apply)";
    return {};
  }
  return write;
}

/// The single body op of an elementwise/reduction generic, or null.
Operation *singleBodyOp(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 2)
    return nullptr;
  return &body.front();
}

/// Checks a softmax-chain op; multiplies `scale` by a scaling constant.
std::string checkSoftmaxOp(Operation *op, float &scale) {
  if (isa<linalg::SoftmaxOp, linalg::FillOp>(op))
    return "";
  auto generic = dyn_cast<linalg::GenericOp>(op);
  Operation *body = generic ? singleBodyOp(generic) : nullptr;
  if (!body)
    return "the scores pass through '" + op->getName().getStringRef().str() +
           "', which the runtime's attention does not compute";
  if (isa<math::ExpOp, arith::SubFOp, arith::DivFOp, arith::MaximumFOp,
          arith::MaxNumFOp, arith::AddFOp>(body)) {
    // An add of two block arguments is the sum reduction; an add of anything
    // else (a mask) is not softmax.
    if (isa<arith::AddFOp>(body) &&
        !llvm::all_of(body->getOperands(),
                      [](Value v) { return isa<BlockArgument>(v); }))
      return "the scores get an additive term (a mask), which the runtime's "
             "attention does not apply";
    return "";
  }
  if (auto mul = dyn_cast<arith::MulFOp>(body)) {
    for (unsigned i = 0; i < 2; ++i) {
      auto c = mul.getOperand(i).getDefiningOp<arith::ConstantFloatOp>();
      if (c && isa<BlockArgument>(mul.getOperand(1 - i))) {
        scale *= float(c.value().convertToDouble());
        return "";
      }
    }
  }
  return "the scores pass through '" +
         body->getName().getStringRef().str() +
         "', which the runtime's attention does not compute";
}

/// Checks an indexing-map layout: Q (b, h, i, d), K (b, h, t, d) -> S
/// (b, h, i, t) for Q.K^T, and P (b, h, i, t), V (b, h, t, d) -> O (b, h, i, d)
/// for P.V, as dimension positions of the loop space.
bool sameDims(AffineMap a, ArrayRef<unsigned> ra, AffineMap b,
              ArrayRef<unsigned> rb) {
  for (auto [i, j] : llvm::zip(ra, rb))
    if (a.getResult(i) != b.getResult(j))
      return false;
  return true;
}

} // namespace

std::string mlir::kvtier::detail::matchLinalgAttention(AttentionOp op,
                                                       Operation *prev,
                                                       RuntimeAttention &m) {
  auto type = cast<CacheType>(op.getCache().getType());
  int64_t id = attentionId(op);
  auto pv = dyn_cast_or_null<linalg::LinalgOp>(prev);
  linalg::LinalgOp qk;
  if (!pv || attentionId(pv) != id ||
      !linalg::isaContractionOpInterface(pv) || pv->getNumResults() != 1)
    return "the op before kvtier.attention ('" +
                 (prev ? prev->getName().getStringRef().str()
                       : std::string("none")) +
                 "') is not the linalg contraction of P and V (only the "
                 "linalg-on-tensors and TOSA forms of docs/lowering.md are "
                 "lowered; fused-loop attention is not)";
  for (Operation *o : m.ops) {
    auto l = dyn_cast<linalg::LinalgOp>(o);
    if (!l || l == pv || !linalg::isaContractionOpInterface(l))
      continue;
    if (qk)
      return "more than two contractions in the attention";
    qk = l;
  }
  if (!qk)
    return "no Q.K^T linalg contraction found";
  Value position = op.getPosition();
  // K: the Q.K^T operand read from a cache write; Q: the other one.
  SmallVector<Operation *> readOps;
  int64_t kGroup = 1, vGroup = 1;
  for (unsigned i = 0; i < 2; ++i) {
    std::string readWhy;
    int64_t g = 1;
    SmallVector<Operation *> ops;
    tensor::InsertSliceOp w = readOfWrite(
        qk.getDpsInputOperand(i)->get(), position, readWhy, g, ops);
    if (w && !m.kWrite) {
      kGroup = g;
      readOps.append(ops.begin(), ops.end());
    }
    if (!readWhy.empty())
      return readWhy;
    if (w && !m.kWrite) {
      m.kWrite = w;
      m.query = qk.getDpsInputOperand(1 - i)->get();
      if (i != 1)
        return "Q.K^T has the keys as its first operand";
    }
  }
  std::string readWhy;
  m.vWrite = readOfWrite(pv.getDpsInputOperand(1)->get(), position,
                         readWhy, vGroup, readOps);
  if (!readWhy.empty())
    return readWhy;
  if (!m.kWrite || !m.vWrite)
    return "K or V is not read from a tensor.insert_slice of the new "
                 "token into a cache";
  for (tensor::InsertSliceOp w : {m.kWrite, m.vWrite}) {
    std::string w_why = checkWrite(w, type, position);
    if (!w_why.empty())
      return w_why;
  }
  if (kGroup != vGroup)
    return "K and V are broadcast to different query head counts";
  m.group = kGroup;
  // Q and O: tensor<B x Hq x 1 x D x f32> or, flattened, tensor<B*Hq x 1 x
  // D x f32> (Hq = kv_heads * group), the runtime's [seq][head][dim].
  int64_t hq = type.getKvHeads() * m.group;
  SmallVector<int64_t> qShape4 = {type.getBatch(), hq, 1, type.getHeadDim()};
  SmallVector<int64_t> qShape3 = {type.getBatch() * hq, 1, type.getHeadDim()};
  auto qType = dyn_cast<RankedTensorType>(m.query.getType());
  auto oType = dyn_cast<RankedTensorType>(pv->getResult(0).getType());
  auto layoutOk = [&](RankedTensorType t) {
    return t && t.getElementType().isF32() &&
           (t.getShape() == ArrayRef<int64_t>(qShape4) ||
            t.getShape() == ArrayRef<int64_t>(qShape3));
  };
  if (!layoutOk(qType) || !layoutOk(oType) ||
      qType.getRank() != oType.getRank())
    return "the query and output are not tensor<batch x q_heads x 1 x "
                 "head_dim x f32> or tensor<batch * q_heads x 1 x head_dim x "
                 "f32> (q_heads = kv_heads * the GQA group)";
  // Loop-space layouts of the two contractions: leading batch dims, then
  // (i, d) x (t, d) -> (i, t) and (i, t) x (t, d) -> (i, d).
  SmallVector<AffineMap> qkMaps = qk.getIndexingMapsArray();
  SmallVector<AffineMap> pvMaps = pv.getIndexingMapsArray();
  unsigned r = qType.getRank();
  SmallVector<unsigned> batch;
  for (unsigned i = 0; i + 2 < r; ++i)
    batch.push_back(i);
  auto with = [&](unsigned a) {
    SmallVector<unsigned> v = batch;
    v.push_back(a);
    return v;
  };
  bool ranks = llvm::all_of(llvm::concat<AffineMap>(qkMaps, pvMaps),
                            [&](AffineMap m) { return m.getNumResults() == r; });
  if (!ranks || !sameDims(qkMaps[0], with(r - 1), qkMaps[1], with(r - 1)) ||
      !sameDims(qkMaps[0], with(r - 2), qkMaps[2], with(r - 2)) ||
      !sameDims(qkMaps[1], {r - 2}, qkMaps[2], {r - 1}) ||
      !sameDims(pvMaps[0], with(r - 2), pvMaps[2], with(r - 2)) ||
      !sameDims(pvMaps[0], {r - 1}, pvMaps[1], {r - 2}) ||
      !sameDims(pvMaps[1], with(r - 1), pvMaps[2], with(r - 1)))
    return "the contractions are not q[b,h,i,d] k[b,h,t,d] -> "
                 "s[b,h,i,t] and p[b,h,i,t] v[b,h,t,d] -> o[b,h,i,d] (or "
                 "their [b*h, ...] batch_matmul forms)";
  m.pv = pv;
  m.qk = qk;
  // Everything else on the way is softmax (and the scale).
  for (Operation *o : m.ops) {
    if (o == qk || o == pv || o == m.kWrite || o == m.vWrite ||
        isa<tensor::ExtractSliceOp>(o) || llvm::is_contained(readOps, o))
      continue;
    std::string s = checkSoftmaxOp(o, m.scale);
    if (!s.empty())
      return s;
  }
  return "";
}
