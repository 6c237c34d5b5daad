//===- LoopSoftmax.cpp - softmaxes written as loops over memrefs ----------===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Describes a softmax
// written as loops over memrefs (scalar or vector exp of a max-subtracted
// score in affine/scf loops, as a GPT-2 decode lowered to affine/vector
// loops, or a flash-attention kernel in scf.parallel tiles with its running
// max and sum in memory): such loop-form attention is not raised, and the
// pass says so at the loop nest instead of staying silent.
//
//===----------------------------------------------------------------------===//

#include "Matchers.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include "llvm/ADT/STLExtras.h"

#include <string>

using namespace mlir;

namespace mlir::kvtier::raise {

/// The memref a load-like op reads, or null.
static Value readMemref(Operation *op) {
  if (!op)
    return {};
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return load.getMemRef();
  if (auto load = dyn_cast<affine::AffineLoadOp>(op))
    return load.getMemRef();
  if (auto load = dyn_cast<vector::LoadOp>(op))
    return load.getBase();
  if (auto load = dyn_cast<affine::AffineVectorLoadOp>(op))
    return load.getMemRef();
  if (auto read = dyn_cast<vector::TransferReadOp>(op))
    return read.getBase();
  return {};
}

/// The memref a store-like op writes and the value it stores, or nulls.
static std::pair<Value, Value> writtenMemref(Operation *op) {
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return {store.getMemRef(), store.getValueToStore()};
  if (auto store = dyn_cast<affine::AffineStoreOp>(op))
    return {store.getMemRef(), store.getValueToStore()};
  if (auto store = dyn_cast<vector::StoreOp>(op))
    return {store.getBase(), store.getValueToStore()};
  if (auto store = dyn_cast<affine::AffineVectorStoreOp>(op))
    return {store.getMemRef(), store.getValueToStore()};
  if (auto write = dyn_cast<vector::TransferWriteOp>(op))
    return {write.getBase(), write.getVector()};
  return {};
}

/// Looks through float casts and vector broadcasts/splats of a scalar.
static Value strip(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::ExtFOp, arith::TruncFOp, vector::BroadcastOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// True when `v` is a running maximum: a loop-carried value, a value read
/// from a memref that `nest` stores a max into, or the max of one of those.
static bool isRunningMax(Value v, Operation *nest, bool throughMax = true) {
  v = strip(v);
  if (auto arg = dyn_cast<BlockArgument>(v))
    if (auto loop =
            dyn_cast<LoopLikeOpInterface>(arg.getOwner()->getParentOp()))
      return loop.getTiedLoopInit(arg) != nullptr;
  Operation *def = v.getDefiningOp();
  if (throughMax && isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(def))
    return llvm::any_of(def->getOperands(), [&](Value operand) {
      return isRunningMax(operand, nest, /*throughMax=*/false);
    });
  Value buffer = readMemref(def);
  if (!buffer)
    return false;
  bool found = false;
  nest->walk([&](Operation *op) {
    auto [target, stored] = writtenMemref(op);
    found |= target == buffer && stored &&
             isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(
                 stored.getDefiningOp());
  });
  return found;
}

/// `exp(a - b)` when `op` is a scalar or vector math.exp of a difference
/// outside linalg bodies; null otherwise.
static arith::SubFOp expOfDifference(Operation *op) {
  if (!isa<math::ExpOp>(op) || isa<TensorType>(op->getResult(0).getType()) ||
      op->getParentOfType<linalg::LinalgOp>())
    return {};
  return strip(op->getOperand(0)).getDefiningOp<arith::SubFOp>();
}

std::optional<std::pair<Operation *, std::string>>
describeLoopSoftmax(Operation *exp) {
  if (!expOfDifference(exp))
    return std::nullopt;
  // A fused online-softmax loop candidate is reported by its own pattern.
  if (auto loop = dyn_cast<LoopLikeOpInterface>(exp->getParentOp()))
    if (isOnlineSoftmaxCandidate(loop))
      return std::nullopt;
  Operation *outer = nullptr;
  for (Operation *p = exp->getParentOp(); p && !isa<FunctionOpInterface>(p);
       p = p->getParentOp())
    if (isa<LoopLikeOpInterface>(p))
      outer = p;
  if (!outer)
    return std::nullopt;
  // Describe the nest as a whole: the exp of a score (its left side is not
  // itself a running max), a rescale exp(m_old - m_new), a running max.
  arith::SubFOp score, rescale;
  bool running = false;
  outer->walk([&](Operation *op) {
    arith::SubFOp sub = expOfDifference(op);
    if (!sub)
      return;
    running |= isRunningMax(sub.getRhs(), outer);
    if (isRunningMax(sub.getLhs(), outer))
      rescale = rescale ? rescale : sub;
    else
      score = score ? score : sub;
  });
  std::string what = "a softmax written as loops over memrefs found (exp of "
                     "a score minus ";
  what += running ? "a running maximum" : "a maximum";
  if (Value scores =
          score ? readMemref(strip(score.getLhs()).getDefiningOp()) : Value()) {
    std::string type;
    llvm::raw_string_ostream os(type);
    os << scores.getType();
    what += ", the scores read from a " + type;
  }
  if (rescale)
    what += ", a rescale by exp(m_old - m_new)";
  what += ")";
  if (running)
    what += "; its running max and sum are kept in memory, not carried by "
            "the loop (an online, flash-style softmax)";
  what += "; loop-form attention over memrefs is not raised: the pass "
          "recognises tensor softmax forms (linalg, tosa) and fused "
          "online-softmax loops with a loop-carried max, sum and value "
          "accumulator";
  return std::make_pair(outer, what);
}

} // namespace mlir::kvtier::raise
