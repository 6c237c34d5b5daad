//===- TensorAttention.cpp - tensor-form attention ------------------------===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Q*K^T -> softmax -> *V on tensors: ties a softmax to its two
// contractions and fills in the cache geometry and position.
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

/// Query tokens of a Q*K^T contraction: the product of the output dims that
/// come from Q alone (not the key-token dim `keyDim`, not a dim shared with
/// K); 0 when one of them is dynamic.
int64_t queryTokensOf(const Contraction &c, int64_t keyDim, Value keyOperand) {
  int keySide = c.operands[0] == keyOperand ? 0 : 1;
  ArrayRef<int64_t> shape = shapeOf(c.op->getResult(0));
  int64_t tokens = 1;
  for (auto [i, expr] : llvm::enumerate(c.outMap.getResults())) {
    auto d = dyn_cast<AffineDimExpr>(expr);
    if (!d || static_cast<int64_t>(i) == keyDim ||
        loopPosition(c.maps[keySide], d.getPosition()))
      continue;
    if (ShapedType::isDynamic(shape[i]))
      return 0;
    tokens *= shape[i];
  }
  return tokens;
}

/// Attention around a tensor softmax: Q*K^T -> softmax -> *V.
FailureOr<AttentionMatch> matchTensorAttention(const SoftmaxInfo &softmax,
                                               std::string &nearMiss) {
  AttentionMatch match;
  match.form = softmax.form;
  match.ops.append(softmax.ops.begin(), softmax.ops.end());
  DenseSet<std::pair<Value, int64_t>> seen;
  auto qk = traceScoresUp(softmax.scores, softmax.dim, match.ops, seen);
  if (!qk) {
    nearMiss = "its scores are not produced by a Q*K^T contraction "
               "(matmul/batch_matmul/contraction generic/tosa.matmul) with "
               "the softmax dimension as a free dimension";
    return failure();
  }
  std::optional<ContractionSide> key = keySide(qk->first, qk->second);
  if (!key) {
    nearMiss = "the softmax dimension is not a key-token dimension of the "
               "Q*K^T contraction";
    return failure();
  }
  auto pv = traceProbsDown(softmax.probs, softmax.dim, match.ops);
  if (!pv) {
    nearMiss = "its probabilities do not reach a *V contraction over the "
               "softmax dimension";
    return failure();
  }
  match.ops.append({qk->first.op, pv->first.op});
  match.anchor = pv->first.op;
  KvTrace keyTrace = traceKvUp(key->operand, key->tokenDim, key->headDim);
  KvTrace valueTrace =
      traceKvUp(pv->second.operand, pv->second.tokenDim, pv->second.headDim);
  if (failed(fillCache(match, keyTrace, valueTrace, nearMiss)))
    return failure();
  match.queryHeads =
      queryHeadsOf(key->other, match.geometry.headDim, match.geometry.batch,
                   queryTokensOf(qk->first, qk->second, key->operand));
  if (failed(checkHeads(match, nearMiss)))
    return failure();
  return match;
}

} // namespace mlir::kvtier::raise
