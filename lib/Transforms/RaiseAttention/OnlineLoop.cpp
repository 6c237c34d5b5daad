//===- OnlineLoop.cpp - fused online-softmax loops ------------------------===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Recognises a fused (flash-decoding style) loop over the cached tokens
// with a loop-carried running maximum, a running sum of exponentials and a
// value accumulator, in affine or scf loops over memrefs or vectors.
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

/// Recognises memref/affine/vector loads and transfer reads with plain
/// indices.
std::optional<Read> asRead(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return Read{op, load.getMemRef(), llvm::to_vector(load.getIndices())};
  if (auto load = dyn_cast<vector::LoadOp>(op))
    return Read{op, load.getBase(), llvm::to_vector(load.getIndices())};
  if (auto read = dyn_cast<vector::TransferReadOp>(op))
    if (isa<BaseMemRefType>(read.getBase().getType()))
      return Read{op, read.getBase(), llvm::to_vector(read.getIndices())};
  if (auto load = dyn_cast<affine::AffineLoadOp>(op))
    if (load.getAffineMap().isIdentity())
      return Read{op, load.getMemRef(), llvm::to_vector(load.getMapOperands())};
  if (auto load = dyn_cast<affine::AffineVectorLoadOp>(op))
    if (load.getAffineMap().isIdentity())
      return Read{op, load.getMemRef(), llvm::to_vector(load.getMapOperands())};
  return std::nullopt;
}

/// Ops inside `scope` that `v` depends on (including through the regions
/// of nested ops such as inner loops).
llvm::SetVector<Operation *> backwardSlice(Value v, Operation *scope) {
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> worklist{v};
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || !scope->isProperAncestor(def) || !slice.insert(def))
      continue;
    def->walk([&](Operation *nested) {
      slice.insert(nested);
      llvm::append_range(worklist, nested->getOperands());
    });
  }
  return slice;
}

/// True when `v` is the induction variable of a loop nested in `loop`.
bool isNestedIv(Value v, Operation *loop) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg)
    return false;
  Operation *owner = arg.getOwner()->getParentOp();
  auto nested = dyn_cast<LoopLikeOpInterface>(owner);
  if (!nested || !loop->isProperAncestor(owner))
    return false;
  std::optional<SmallVector<Value>> ivs = nested.getLoopInductionVars();
  return ivs && llvm::is_contained(*ivs, v);
}

/// Finds, in `ops`, a read indexed by `iv` (if given) and by the iv of a
/// loop nested in `loop`, skipping `exclude`; returns its dims.
std::optional<std::tuple<Read, int64_t, int64_t>>
findIndexedRead(ArrayRef<Operation *> ops, Operation *loop, Value iv,
                Value exclude) {
  for (Operation *op : ops) {
    std::optional<Read> read = asRead(op);
    if (!read || read->buffer == exclude)
      continue;
    int64_t tok = -1, head = -1;
    for (auto [i, index] : llvm::enumerate(read->indices)) {
      if (iv && index == iv)
        tok = i;
      else if (isNestedIv(index, loop))
        head = i;
    }
    if (head >= 0 && (iv ? tok >= 0 : tok < 0))
      return std::make_tuple(*read, tok, head);
  }
  return std::nullopt;
}

/// Index of the loop-carried value updated as a running maximum, and the
/// score it is compared with.
std::optional<std::pair<unsigned, Value>>
findRunningMax(ArrayRef<BlockArgument> carried, ArrayRef<Value> yielded) {
  if (carried.size() != yielded.size())
    return std::nullopt;
  for (auto [i, y] : llvm::enumerate(yielded)) {
    Operation *def = y.getDefiningOp();
    Value arg = carried[i];
    if (isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(def)) {
      if (def->getOperand(0) == arg)
        return std::make_pair(unsigned(i), def->getOperand(1));
      if (def->getOperand(1) == arg)
        return std::make_pair(unsigned(i), def->getOperand(0));
    }
    auto select = dyn_cast_or_null<arith::SelectOp>(def);
    auto cmp = select ? select.getCondition().getDefiningOp<arith::CmpFOp>()
                      : arith::CmpFOp();
    if (!cmp)
      continue;
    Value t = select.getTrueValue(), f = select.getFalseValue();
    if ((t == arg) != (f == arg) && ((cmp.getLhs() == t && cmp.getRhs() == f) ||
                                     (cmp.getLhs() == f && cmp.getRhs() == t)))
      return std::make_pair(unsigned(i), t == arg ? f : t);
  }
  return std::nullopt;
}

/// True when `loop` is a candidate: loop-carried values and an exp in its
/// own body.
bool isOnlineSoftmaxCandidate(LoopLikeOpInterface loop) {
  if (loop.getRegionIterArgs().size() < 2 || !loop.getSingleInductionVar())
    return false;
  for (Region *region : loop.getLoopRegions())
    for (Operation &op : region->getOps())
      if (isa<math::ExpOp>(op))
        return true;
  return false;
}

/// Climbs out of the loops whose induction variables index the query, keys
/// or values (batch and head loops), so that the annotation is per step.
Operation *climbIndexLoops(Operation *loop, ArrayRef<Read> reads) {
  Operation *anchor = loop;
  while (auto parent =
             dyn_cast_or_null<LoopLikeOpInterface>(anchor->getParentOp())) {
    std::optional<Value> iv = parent.getSingleInductionVar();
    if (!iv)
      break;
    bool used = llvm::any_of(reads, [&](const Read &read) {
      return llvm::any_of(read.indices, [&](Value index) {
        if (index == *iv)
          return true;
        Operation *def = index.getDefiningOp();
        return def && llvm::is_contained(def->getOperands(), *iv);
      });
    });
    if (!used)
      break;
    anchor = parent;
  }
  return anchor;
}

/// Checks the online-softmax recurrence of `loopOp`: a running maximum, a
/// running sum of exponentials, and an exp of the difference to the carried
/// maximum (the rescale). Returns the score compared with the maximum, or
/// fails with the reason in `why`.
FailureOr<Value> matchOnlineRecurrence(Operation *loopOp,
                                       ArrayRef<BlockArgument> carried,
                                       ArrayRef<Value> yielded,
                                       std::string &why) {
  auto max = findRunningMax(carried, yielded);
  if (!max) {
    why = "no loop-carried running maximum (max or cmpf+select)";
    return failure();
  }
  auto isExp = [](Operation *op) { return isa<math::ExpOp>(op); };
  bool hasSum = false;
  for (auto [i, y] : llvm::enumerate(yielded)) {
    if (i == max->first)
      continue;
    llvm::SetVector<Operation *> slice = backwardSlice(y, loopOp);
    bool selfDependent = llvm::any_of(slice, [&](Operation *op) {
      return llvm::is_contained(op->getOperands(), carried[i]);
    });
    hasSum |= selfDependent && llvm::any_of(slice, isExp);
  }
  if (!hasSum) {
    why = "no loop-carried running sum of exponentials";
    return failure();
  }
  bool rescaled = false;
  loopOp->walk([&](math::ExpOp exp) {
    Operation *def = exp.getOperand().getDefiningOp();
    rescaled |= def && llvm::is_contained(def->getOperands(),
                                          Value(carried[max->first]));
  });
  if (!rescaled) {
    why = "no exp of the difference to the running maximum (rescale)";
    return failure();
  }
  return max->second;
}

/// Recognises a fused online-softmax loop over the cached tokens.
FailureOr<AttentionMatch> matchOnlineLoop(LoopLikeOpInterface loop,
                                          std::string &nearMiss) {
  Operation *loopOp = loop;
  Value iv = *loop.getSingleInductionVar();
  SmallVector<BlockArgument> carried =
      llvm::to_vector(loop.getRegionIterArgs());
  SmallVector<Value> yielded = llvm::to_vector(loop.getYieldedValues());
  auto fail = [&](StringRef what) {
    nearMiss = ("a loop with loop-carried values and an exp is not a fused "
                "online-softmax attention: " +
                what)
                   .str();
    return failure();
  };
  std::string why;
  FailureOr<Value> score = matchOnlineRecurrence(loopOp, carried, yielded, why);
  if (failed(score))
    return fail(why);
  SmallVector<Operation *> scoreOps =
      backwardSlice(*score, loopOp).takeVector();
  auto keyRead = findIndexedRead(scoreOps, loopOp, iv, Value());
  if (!keyRead)
    return fail("the score does not read keys indexed by the loop induction "
                "variable and an inner head-dimension loop");
  Value keys = std::get<0>(*keyRead).buffer;
  auto queryRead = findIndexedRead(scoreOps, loopOp, Value(), keys);
  SmallVector<Operation *> bodyOps;
  loopOp->walk([&](Operation *op) {
    if (op != loopOp && !llvm::is_contained(scoreOps, op))
      bodyOps.push_back(op);
  });
  auto valueRead = findIndexedRead(bodyOps, loopOp, iv, keys);
  if (!valueRead)
    return fail("no accumulator of values indexed by the loop induction "
                "variable and an inner head-dimension loop");
  AttentionMatch match;
  match.form = SoftmaxForm::OnlineLoop;
  match.ops.push_back(loopOp);
  KvTrace keyTrace{keys, std::get<1>(*keyRead), std::get<2>(*keyRead), 1, {}};
  KvTrace valueTrace{std::get<0>(*valueRead).buffer,
                     std::get<1>(*valueRead),
                     std::get<2>(*valueRead),
                     1,
                     {}};
  if (failed(fillCache(match, keyTrace, valueTrace, nearMiss)))
    return failure();
  SmallVector<Read> reads{std::get<0>(*keyRead), std::get<0>(*valueRead)};
  if (queryRead) {
    reads.push_back(std::get<0>(*queryRead));
    match.queryHeads =
        queryHeadsOf(std::get<0>(*queryRead).buffer, match.geometry.headDim,
                     match.geometry.batch, 1);
    if (failed(checkHeads(match, nearMiss)))
      return failure();
  }
  match.anchor = climbIndexLoops(loopOp, reads);
  // Without a scatter, a loop over [0, n) cached tokens gives position n.
  std::optional<OpFoldResult> lower = loop.getSingleLowerBound();
  std::optional<OpFoldResult> upper = loop.getSingleUpperBound();
  if (match.position.kind == PositionSource::Kind::None && lower && upper &&
      isConstantIntValue(*lower, 0) && !getConstantIntValue(*upper))
    match.position = {PositionSource::Kind::Value, cast<Value>(*upper), 0,
                      nullptr};
  return match;
}

} // namespace mlir::kvtier::raise
