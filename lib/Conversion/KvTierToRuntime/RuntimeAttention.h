//===- RuntimeAttention.h - matched attention forms (internal) --*- C++ -*-===//
//
// Part of kv-opt. The pieces of one raised attention that the runtime
// lowering replaces, shared by the rewrite (KvTierToRuntime.cpp) and the
// linalg, TOSA and fused-loop matchers (LinalgAttention.cpp,
// TosaAttention.cpp, LoopAttention.cpp). Private to this library.
//
//===----------------------------------------------------------------------===//

#ifndef KVOPT_LIB_CONVERSION_KVTIERTORUNTIME_RUNTIMEATTENTION_H
#define KVOPT_LIB_CONVERSION_KVTIERTORUNTIME_RUNTIMEATTENTION_H

#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Operation.h"

#include <string>

namespace mlir::kvtier::detail {

/// The pieces of one fused-loop attention over memrefs (LoopAttention.cpp);
/// every memref is static with the identity layout.
struct LoopAttention {
  /// The outermost loop of the attention nest (erased by the rewrite).
  Operation *nest = nullptr;
  /// [B, Hq, 1, D] query and output, [B, H, T, D] caches (written before
  /// the nest), [B, H, 1, D] new token, one row of T mask values.
  Value query, out, kCache, vCache, kNew, vNew, mask;
  /// Buffers only the nest uses (its accumulator), erased with it.
  SmallVector<Operation *> scratch;
  float scale = 1.0f;
  int64_t group = 1;
};

/// The pieces of one supported attention.
struct RuntimeAttention {
  /// The graph's writes of the new token into its K and V caches.
  tensor::InsertSliceOp kWrite, vWrite;
  /// The Q.K^T and P.V contractions (linalg or tosa.matmul); `pv`'s single
  /// result is what the runtime's output replaces.
  Operation *qk = nullptr, *pv = nullptr;
  /// The query: `batch * q_heads * head_dim` f32 in [seq][head][dim] order.
  Value query;
  /// An additive mask over the whole cache (`max_tokens` f32) when attention
  /// reads every token of the cache; null when it reads [0, position].
  Value mask;
  float scale = 1.0f;
  /// Query heads per KV head (GQA); the runtime's query heads are
  /// `kv_heads * group`.
  int64_t group = 1;
  /// Every upstream op tagged with the attention's id.
  SmallVector<Operation *> ops;
  /// Set (`loop.nest`) when the attention is the fused-loop form.
  LoopAttention loop;
};

/// The attention id an op was tagged with by the raise, or -1.
int64_t attentionId(Operation *op);

/// Why the write `op` of the new token is not [0, 0, position, 0]
/// [B, H, 1, D] into a cache of `type`'s geometry (empty when it is).
std::string checkWrite(tensor::InsertSliceOp op, CacheType type,
                       Value position);

/// Matches the linalg-on-tensors form (LinalgAttention.cpp) of `op`, whose
/// tagged ops are `m.ops`; `prev` is the op right before `op`. Returns an
/// empty string on success, else why it does not match.
std::string matchLinalgAttention(AttentionOp op, Operation *prev,
                                 RuntimeAttention &m);

/// Matches the TOSA form (tosa.matmul contractions over tosa.reshape of the
/// written caches, TOSA softmax, an optional additive mask) of `op`, whose
/// tagged ops are `m.ops`; `pv` is the tosa.matmul right before `op`.
/// Returns an empty string on success, else why it does not match.
std::string matchTosaAttention(AttentionOp op, Operation *pv,
                               RuntimeAttention &m);

/// Matches the fused-loop form over memrefs (online softmax, cache writes
/// as store loops; LoopAttention.cpp) of `op`, whose tagged ops are `ops`.
/// Returns an empty string on success, else why it does not match.
std::string matchLoopAttention(AttentionOp op, LoopAttention &m,
                               ArrayRef<Operation *> ops);

} // namespace mlir::kvtier::detail

#endif // KVOPT_LIB_CONVERSION_KVTIERTORUNTIME_RUNTIMEATTENTION_H
