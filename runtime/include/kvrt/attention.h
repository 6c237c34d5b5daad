/*===- kvrt/attention.h - Split-tier paged decode attention ------*- C -*-===*\
|*                                                                            *|
|* One decode step of one layer: append the new token's K/V to its block     *|
|* (in whichever tier the block lives) and attend one query token per         *|
|* sequence over the sequence's blocks, reading HBM- and DRAM-resident blocks *|
|* in the same kernel (DRAM blocks directly over the link). GQA: query head h *|
|* uses KV head h / (num_q_heads / num_kv_heads). Online softmax, fp32        *|
|* accumulation.                                                              *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_ATTENTION_H
#define KVRT_ATTENTION_H

#include "kvrt/cache.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Runs one decode step of `layer` on the compute stream.
///
/// All pointers are kvrt buffers (kvrt_buffer_alloc) of fp32:
///   q     [num_seqs][num_q_heads][head_dim]
///   k_new [num_seqs][num_kv_heads][head_dim]  (may be null together with
///   v_new [num_seqs][num_kv_heads][head_dim]   v_new: attention only)
///   out   [num_seqs][num_q_heads][head_dim]
/// With k_new/v_new, sequence s's token at position lens[s] is written first
/// and attention covers lens[s] + 1 tokens; without, lens[s] tokens (a
/// sequence of length 0 then yields zeros). Lengths do not change; call
/// kvrt_cache_advance after the step's last layer.
/// A layer with a sliding window w (kvrt_cache_set_windows) attends only
/// tokens [lens[s] - w, lens[s]) (from 0 when lens[s] <= w) plus the appended
/// one, token-exact; the counters charge only those tokens, each to its
/// block's tier. A window whose tokens lie in a dead block (freed by a
/// windowed schedule, e.g. lengths that do not follow the schedule) gives
/// KVRT_ERR_MISMATCH.
/// Waits (on the device) for the layer's in-flight migrations.
kvrt_status kvrt_attention_step(kvrt_cache *cache, uint32_t layer,
                                const float *q, const float *k_new,
                                const float *v_new, float *out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_ATTENTION_H */
