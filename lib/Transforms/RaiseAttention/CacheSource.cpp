//===- CacheSource.cpp - cache roots, scatters and the position -----------===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Follows K/V to the buffer or tensor they are read from, finds the op
// that writes the new token (memref.store/copy, tensor.insert_slice,
// select scatter generics) and where its position comes from.
//
//===----------------------------------------------------------------------===//

#include "Matchers.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace mlir::kvtier::raise {

/// Position from a scatter index value (loop-invariant, or read per element
/// from a buffer that a tensor was copied into).
PositionSource positionFromIndex(Value index, Operation *scatter) {
  PositionSource pos{PositionSource::Kind::Value, index, 0, scatter};
  Operation *def = index.getDefiningOp();
  if (isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp>(def))
    def = def->getOperand(0).getDefiningOp();
  if (auto load = dyn_cast_or_null<memref::LoadOp>(def))
    if (auto toBuffer =
            load.getMemRef().getDefiningOp<bufferization::ToBufferOp>())
      return {PositionSource::Kind::TensorElement, toBuffer.getTensor(), 0,
              scatter};
  return pos;
}

/// True when `v` is the induction variable of a loop enclosing `op`.
bool isEnclosingLoopIv(Value v, Operation *op) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg)
    return false;
  auto loop = dyn_cast<LoopLikeOpInterface>(arg.getOwner()->getParentOp());
  return loop && loop->isAncestor(op) &&
         llvm::is_contained(
             loop.getLoopInductionVars().value_or(SmallVector<Value>{}), v);
}

/// Finds a memref.store/copy writing one token into `buffer` at `tokenDim`.
PositionSource findMemrefScatter(Value buffer, int64_t tokenDim) {
  for (Operation *user : buffer.getUsers()) {
    if (auto store = dyn_cast<memref::StoreOp>(user)) {
      if (store.getMemRef() != buffer ||
          tokenDim >= static_cast<int64_t>(store.getIndices().size()))
        continue;
      Value index = store.getIndices()[tokenDim];
      if (!isEnclosingLoopIv(index, store))
        return positionFromIndex(index, store);
    }
    if (auto subview = dyn_cast<memref::SubViewOp>(user)) {
      auto copies =
          llvm::make_filter_range(subview->getUsers(), [&](Operation *u) {
            auto copy = dyn_cast<memref::CopyOp>(u);
            return copy && copy.getTarget() == subview.getResult();
          });
      if (copies.empty() ||
          static_cast<int64_t>(subview.getMixedOffsets().size()) <= tokenDim)
        continue;
      OpFoldResult offset = subview.getMixedOffsets()[tokenDim];
      if (auto value = dyn_cast<Value>(offset))
        return positionFromIndex(value, *copies.begin());
      return {PositionSource::Kind::StaticOffset,
              {},
              cast<IntegerAttr>(cast<Attribute>(offset)).getInt(),
              *copies.begin()};
    }
  }
  return {};
}

/// Looks through integer casts of an index (index_cast, extsi, extui).
static Value stripIndexCast(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
             arith::ExtUIOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// Position of a linalg.generic that writes `new` where
/// `linalg.index tokenDim == pos` and keeps the cache elsewhere.
PositionSource positionOfSelectScatter(linalg::GenericOp generic,
                                       int64_t tokenDim) {
  PositionSource none;
  // The old cache, the new token and possibly the position.
  if (generic.getNumDpsInputs() < 2 || generic.getNumDpsInputs() > 3 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return none;
  generic.getRegion().walk([&](arith::CmpIOp cmp) {
    if (cmp.getPredicate() != arith::CmpIPredicate::eq)
      return WalkResult::advance();
    for (auto [a, b] : {std::pair(cmp.getLhs(), cmp.getRhs()),
                        std::pair(cmp.getRhs(), cmp.getLhs())}) {
      // linalg.index, possibly cast to an integer type (index_cast to i64,
      // compared with an i64 position).
      auto index = stripIndexCast(a).getDefiningOp<linalg::IndexOp>();
      if (!index || static_cast<int64_t>(index.getDim()) != tokenDim)
        continue;
      // The position read per element from an input of the generic: that
      // input tensor (element 0 holds the position).
      if (auto arg = dyn_cast<BlockArgument>(stripIndexCast(b));
          arg && arg.getOwner() == generic.getBody() &&
          arg.getArgNumber() < generic.getNumDpsInputs()) {
        Value input = generic.getDpsInputs()[arg.getArgNumber()];
        auto type = dyn_cast<RankedTensorType>(input.getType());
        if (!type || !type.getElementType().isIntOrIndex())
          continue;
        none = {PositionSource::Kind::TensorElement, input, 0, generic};
        return WalkResult::interrupt();
      }
      Operation *def = b.getDefiningOp();
      if (def && generic->isProperAncestor(def) &&
          !matchPattern(b, m_Constant()))
        continue;
      none = positionFromIndex(b, generic);
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return none;
}

/// Position of a `tensor.insert_slice` of the new token: its offset in the
/// token dim.
PositionSource positionOfInsert(tensor::InsertSliceOp insert,
                                int64_t tokenDim) {
  OpFoldResult offset = insert.getMixedOffsets()[tokenDim];
  if (auto value = dyn_cast<Value>(offset))
    return positionFromIndex(value, insert);
  return {PositionSource::Kind::StaticOffset,
          {},
          cast<IntegerAttr>(cast<Attribute>(offset)).getInt(),
          insert};
}

/// The old cache a select-scatter generic updates: its input shaped like
/// its result (null when there is none).
Value oldCacheOf(linalg::GenericOp generic) {
  if (generic->getNumResults() != 1)
    return {};
  Type type = generic->getResult(0).getType();
  for (Value input : generic.getDpsInputs())
    if (input.getType() == type)
      return input;
  return {};
}

/// The root buffer or tensor a cache value comes from (through to_tensor,
/// to_buffer, inserts and select scatters), collecting the scatter found.
std::pair<Value, PositionSource> findCacheRoot(Value v, int64_t tokenDim) {
  PositionSource pos;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (auto toTensor = v.getDefiningOp<bufferization::ToTensorOp>()) {
      v = toTensor.getBuffer();
      continue;
    }
    if (isa<BaseMemRefType>(v.getType()) &&
        pos.kind == PositionSource::Kind::None)
      pos = findMemrefScatter(v, tokenDim);
    if (auto toBuffer = v.getDefiningOp<bufferization::ToBufferOp>()) {
      v = toBuffer.getTensor();
      continue;
    }
    if (auto insert = v.getDefiningOp<tensor::InsertSliceOp>()) {
      if (pos.kind == PositionSource::Kind::None)
        pos = positionOfInsert(insert, tokenDim);
      v = insert.getDest();
      continue;
    }
    // A cache carried through a loop (over layers or steps): its init.
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      auto loop = dyn_cast<LoopLikeOpInterface>(arg.getOwner()->getParentOp());
      OpOperand *init = loop ? loop.getTiedLoopInit(arg) : nullptr;
      if (!init)
        break;
      v = init->get();
      continue;
    }
    if (auto generic = v.getDefiningOp<linalg::GenericOp>()) {
      PositionSource scatter = positionOfSelectScatter(generic, tokenDim);
      Value old = oldCacheOf(generic);
      if (scatter.kind != PositionSource::Kind::None && old) {
        if (pos.kind == PositionSource::Kind::None)
          pos = scatter;
        v = old;
        continue;
      }
    }
    break;
  }
  return {v, pos};
}

/// True when `root` is a function argument (a cache handed to the step).
bool isFunctionArgument(Value root) {
  auto arg = dyn_cast<BlockArgument>(root);
  return arg && arg.getOwner()->isEntryBlock() &&
         isa<FunctionOpInterface>(arg.getOwner()->getParentOp());
}

/// Fills the cache part of a match (sources, geometry, persistence,
/// position) from the K and V traces; sets `nearMiss` on inconsistency.
LogicalResult fillCache(AttentionMatch &match, const KvTrace &key,
                        const KvTrace &value, std::string &nearMiss) {
  // Constant keys or values are weights (e.g. a router matrix), not a
  // sequence being attended to.
  if (matchPattern(key.source, m_Constant()) ||
      matchPattern(value.source, m_Constant())) {
    nearMiss = "the keys or values are constants, not a token sequence";
    return failure();
  }
  std::optional<KvGeometry> kg = geometryOf(key), vg = geometryOf(value);
  if (!kg || !vg) {
    nearMiss = "the keys or values have a dynamic shape";
    return failure();
  }
  if (kg->tokens != vg->tokens || kg->kvHeads != vg->kvHeads ||
      kg->headDim != vg->headDim || kg->batch != vg->batch ||
      kg->element != vg->element) {
    nearMiss = "keys and values disagree on tokens, heads, head dim, batch "
               "or element type";
    return failure();
  }
  match.geometry = *kg;
  match.keySource = key.source;
  match.valueSource = value.source;
  auto [keyRoot, keyPos] = findCacheRoot(key.source, key.tokenDim);
  auto [valueRoot, valuePos] = findCacheRoot(value.source, value.tokenDim);
  match.position =
      keyPos.kind != PositionSource::Kind::None ? keyPos : valuePos;
  // Without a scatter, a `[0, n)` read of the cache gives the position n.
  if (match.position.kind == PositionSource::Kind::None && key.readLength)
    match.position = {PositionSource::Kind::Value, key.readLength, 0, nullptr};
  match.persistentCache =
      match.position.kind != PositionSource::Kind::None ||
      (isFunctionArgument(keyRoot) && isFunctionArgument(valueRoot));
  for (const PositionSource &p : {keyPos, valuePos})
    if (p.scatter)
      match.ops.push_back(p.scatter);
  match.ops.append(key.ops.begin(), key.ops.end());
  match.ops.append(value.ops.begin(), value.ops.end());
  return success();
}

LogicalResult checkHeads(const AttentionMatch &match, std::string &nearMiss) {
  int64_t q = match.queryHeads, kv = match.geometry.kvHeads;
  if (q <= 0 || kv <= 0 || q % kv == 0)
    return success();
  nearMiss = "the query has " + std::to_string(q) +
             " heads, not a multiple of the " + std::to_string(kv) +
             " K/V heads read from the cache: the head count is ambiguous";
  return failure();
}

/// Query heads from the query operand: all of its elements divided by the
/// head dim, the query tokens and the batch.
int64_t queryHeadsOf(Value query, int64_t headDim, int64_t batch,
                     int64_t queryTokens) {
  auto type = dyn_cast<ShapedType>(query.getType());
  if (!type || !type.hasStaticShape() || headDim <= 0 || batch <= 0 ||
      queryTokens <= 0)
    return 0;
  return type.getNumElements() / headDim / batch / queryTokens;
}

} // namespace mlir::kvtier::raise
