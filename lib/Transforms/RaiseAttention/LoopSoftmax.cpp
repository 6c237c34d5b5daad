//===- LoopSoftmax.cpp - attention written as loops over memrefs ----------===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Attention lowered to
// loop nests over memrefs (a GPT-2 decode in affine/vector loops: a Q*K
// nest storing scores, max and exp/sum loops, a nest reading the
// probabilities and V) is recognised from the exp of its softmax. What is
// not recognised (a flash-attention kernel in scf.parallel tiles with its
// running max and sum in memory, a nest with a piece missing) is described
// in a remark at the loop nest instead of staying silent.
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

#include <algorithm>
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

Operation *outermostLoop(Operation *op) {
  Operation *outer = nullptr;
  for (Operation *p = op->getParentOp(); p && !isa<FunctionOpInterface>(p);
       p = p->getParentOp())
    if (isa<LoopLikeOpInterface>(p))
      outer = p;
  return outer;
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
describeLoopSoftmax(Operation *exp, StringRef why) {
  if (!expOfDifference(exp))
    return std::nullopt;
  // A fused online-softmax loop candidate is reported by its own pattern.
  if (auto loop = dyn_cast<LoopLikeOpInterface>(exp->getParentOp()))
    if (isOnlineSoftmaxCandidate(loop))
      return std::nullopt;
  Operation *outer = outermostLoop(exp);
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
    what += "; its running max is kept in memory, not carried by the "
            "loop (an online, flash-style softmax)";
  what += "; not raised: ";
  what += why;
  return std::make_pair(outer, what);
}

/// Index operands of a store-like op with plain indices, or none.
static std::optional<SmallVector<Value>> storeIndices(Operation *op) {
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return llvm::to_vector(store.getIndices());
  if (auto store = dyn_cast<vector::StoreOp>(op))
    return llvm::to_vector(store.getIndices());
  if (auto store = dyn_cast<affine::AffineStoreOp>(op))
    if (store.getAffineMap().isIdentity())
      return llvm::to_vector(store.getMapOperands());
  if (auto store = dyn_cast<affine::AffineVectorStoreOp>(op))
    if (store.getAffineMap().isIdentity())
      return llvm::to_vector(store.getMapOperands());
  return std::nullopt;
}

/// The loop whose induction variable is `v`, or null.
static Operation *ivLoop(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg)
    return nullptr;
  auto loop = dyn_cast<LoopLikeOpInterface>(arg.getOwner()->getParentOp());
  if (!loop)
    return nullptr;
  std::optional<SmallVector<Value>> ivs = loop.getLoopInductionVars();
  return ivs && llvm::is_contained(*ivs, v) ? loop.getOperation() : nullptr;
}

/// Token and head dims of a read of K or V: the token dim is indexed by
/// `tokenIv`; the head dim is the one a vector read covers (the last), or
/// one indexed by a loop nested in the token loop.
static std::optional<std::pair<int64_t, int64_t>> kvDims(const Read &read,
                                                         Value tokenIv) {
  int64_t tok = -1, head = -1;
  Operation *tokenLoop = ivLoop(tokenIv);
  for (auto [i, index] : llvm::enumerate(read.indices)) {
    if (index == tokenIv)
      tok = i;
    else if (tokenLoop && isNestedIv(index, tokenLoop))
      head = i;
  }
  int64_t rank = read.indices.size();
  if (isa<VectorType>(read.op->getResult(0).getType()) && tok != rank - 1)
    head = rank - 1;
  if (tok < 0 || head < 0 || tok == head)
    return std::nullopt;
  return std::make_pair(tok, head);
}

static FailureOr<AttentionMatch> matchLoopAttention(Operation *exp,
                                                   std::string &why) {
  arith::SubFOp sub = expOfDifference(exp);
  Operation *expNest = outermostLoop(exp);
  std::optional<Read> scoreRead =
      sub ? asRead(strip(sub.getLhs()).getDefiningOp()) : std::nullopt;
  if (!expNest || !scoreRead) {
    why = "the score is not read from a memref";
    return failure();
  }
  // The token index of the scores: the index of the innermost loop
  // enclosing the exp among those indexing the read.
  int64_t scoreTok = -1;
  Operation *innermost = nullptr;
  for (auto [i, index] : llvm::enumerate(scoreRead->indices)) {
    Operation *loop = ivLoop(index);
    if (loop && loop->isAncestor(exp) &&
        (!innermost || innermost->isProperAncestor(loop))) {
      innermost = loop;
      scoreTok = i;
    }
  }
  if (scoreTok < 0) {
    why = "the scores are not read at a loop's token index";
    return failure();
  }
  Value scores = scoreRead->buffer;
  // Q*K: a nest that stores into the scores a value computed from a read of
  // K at the stored token index (and Q, read without it).
  std::optional<Read> keyRead, queryRead;
  std::pair<int64_t, int64_t> keyDims;
  Operation *qkNest = nullptr;
  for (Operation *user : scores.getUsers()) {
    auto [target, stored] = writtenMemref(user);
    std::optional<SmallVector<Value>> indices = storeIndices(user);
    Operation *nest = outermostLoop(user);
    // The last such nest before the softmax (a buffer reused by every
    // layer is written by each layer's Q*K nest).
    if (target != scores || !indices || !nest || nest == expNest ||
        nest->getBlock() != expNest->getBlock() ||
        !nest->isBeforeInBlock(expNest) ||
        (qkNest && nest->isBeforeInBlock(qkNest)) ||
        static_cast<int64_t>(indices->size()) <= scoreTok)
      continue;
    Value tokenIv = (*indices)[scoreTok];
    std::optional<Read> key, query;
    std::pair<int64_t, int64_t> dimsFound;
    for (Operation *op : backwardSlice(stored, nest)) {
      std::optional<Read> read = asRead(op);
      if (!read || read->buffer == scores)
        continue;
      if (auto dims = kvDims(*read, tokenIv)) {
        key = read;
        dimsFound = *dims;
      } else if (!llvm::is_contained(read->indices, tokenIv)) {
        query = read;
      }
    }
    if (key) {
      keyRead = key;
      keyDims = dimsFound;
      queryRead = query;
      qkNest = nest;
    }
  }
  if (!keyRead) {
    why = "no loop nest stores the scores from a read of keys at the token "
          "index (Q*K)";
    return failure();
  }
  // The probabilities: where the exp (or a value computed from it) is
  // stored, and the token index it is stored at.
  Value tokenIv = scoreRead->indices[scoreTok];
  // Buffers the probabilities are stored to, with the dim of their token.
  SmallVector<std::pair<Value, int64_t>> probBuffers;
  SmallVector<Value> worklist{exp->getResult(0)};
  for (int step = 0; !worklist.empty() && step < kMaxDepth; ++step) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      auto [target, stored] = writtenMemref(user);
      std::optional<SmallVector<Value>> indices = storeIndices(user);
      const Value *tokenPos =
          indices ? llvm::find(*indices, tokenIv) : nullptr;
      if (target && stored == v && indices && tokenPos != indices->end())
        probBuffers.push_back({target, tokenPos - indices->begin()});
      else if (user->getNumResults() == 1 && user->getBlock() == exp->getBlock())
        worklist.push_back(user->getResult(0));
    }
  }
  // *V: a nest that reads the probabilities and, at the same token index,
  // V of the keys' type.
  std::optional<Read> valueRead;
  std::pair<int64_t, int64_t> valueDims;
  Operation *pvNest = nullptr;
  for (const auto &entry : probBuffers) {
    Value probs = entry.first;
    int64_t probTok = entry.second;
    for (Operation *user : probs.getUsers()) {
      std::optional<Read> probRead = asRead(user);
      Operation *nest = outermostLoop(user);
      // The first such nest after the softmax.
      if (!probRead || !nest || nest == expNest || nest == qkNest ||
          nest->getBlock() != expNest->getBlock() ||
          !expNest->isBeforeInBlock(nest) ||
          (pvNest && pvNest->isBeforeInBlock(nest)) ||
          static_cast<int64_t>(probRead->indices.size()) <= probTok)
        continue;
      Value index = probRead->indices[probTok];
      std::optional<Read> value;
      std::pair<int64_t, int64_t> dimsFound;
      if (ivLoop(index)) {
        nest->walk([&](Operation *op) {
          std::optional<Read> read = asRead(op);
          if (value || !read || read->buffer == keyRead->buffer ||
              read->buffer == probs ||
              read->buffer.getType() != keyRead->buffer.getType())
            return;
          if (auto dims = kvDims(*read, index)) {
            value = read;
            dimsFound = *dims;
          }
        });
      }
      if (value) {
        valueRead = value;
        valueDims = dimsFound;
        pvNest = nest;
      }
    }
  }
  if (!valueRead) {
    why = "no loop nest reads the probabilities and values at the same token "
          "index (*V)";
    return failure();
  }
  AttentionMatch match;
  match.form = SoftmaxForm::LoopNests;
  match.ops = {qkNest, expNest, pvNest};
  match.anchor = pvNest;
  KvTrace keyTrace{keyRead->buffer, keyDims.first, keyDims.second, 1, {}};
  KvTrace valueTrace{valueRead->buffer, valueDims.first, valueDims.second, 1,
                     {}};
  if (failed(fillCache(match, keyTrace, valueTrace, why)))
    return failure();
  if (queryRead)
    match.queryHeads = queryHeadsOf(queryRead->buffer, match.geometry.headDim,
                                    match.geometry.batch, 1);
  if (failed(checkHeads(match, why)))
    return failure();
  return match;
}

/// True when the loop directly around `exp` is a fused online-softmax
/// candidate (matched by its own pattern).
static bool inOnlineCandidate(Operation *exp) {
  auto loop = dyn_cast<LoopLikeOpInterface>(exp->getParentOp());
  return loop && isOnlineSoftmaxCandidate(loop);
}

FailureOr<AttentionMatch> matchLoopNestAttention(Operation *nest,
                                                 std::string &why) {
  // The exps of a difference in the nest, the exps of a score (not of a
  // running max: a rescale) first.
  SmallVector<Operation *> exps;
  nest->walk([&](Operation *op) {
    if (expOfDifference(op) && !inOnlineCandidate(op))
      exps.push_back(op);
  });
  std::stable_partition(exps.begin(), exps.end(), [&](Operation *exp) {
    return !isRunningMax(expOfDifference(exp).getLhs(), nest);
  });
  why.clear();
  for (Operation *exp : exps) {
    std::string reason;
    FailureOr<AttentionMatch> match = matchLoopAttention(exp, reason);
    if (succeeded(match))
      return match;
    if (why.empty())
      why = reason;
  }
  if (why.empty())
    why = "no exp of a difference in the nest";
  return failure();
}

} // namespace mlir::kvtier::raise
