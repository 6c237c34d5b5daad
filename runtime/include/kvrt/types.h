/*===- kvrt/types.h - Enumerations and plain types shared by the API -*- C
-*-===*\
|*                                                                            *|
|* Tiers, element types, directions, backends and the cache shape.            *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_TYPES_H
#define KVRT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A memory tier. Block tables store one of these per logical block.
typedef enum kvrt_tier {
  /// GPU HBM (host backend: a malloc'd pool standing in for it).
  KVRT_TIER_HBM = 0,
  /// Off-package DRAM: GH200 LPDDR5X or PCIe host DRAM, read by the attention
  /// kernel directly over the link (zero copy).
  KVRT_TIER_DRAM = 1,
  /// Forces a 32-bit enum so any int read from C is a valid value in C++.
  KVRT_TIER_MAX_ENUM = 0x7fffffff
} kvrt_tier;

#define KVRT_NUM_TIERS 2

/// Direction of a migration.
typedef enum kvrt_direction {
  /// DRAM -> HBM (host-to-device over the link).
  KVRT_PROMOTE = 0,
  /// HBM -> DRAM (device-to-host over the link).
  KVRT_DEMOTE = 1,
  KVRT_DIRECTION_MAX_ENUM = 0x7fffffff
} kvrt_direction;

/// Storage element type of the cache. Queries, new K/V values and outputs
/// are always fp32; accumulation is always fp32.
typedef enum kvrt_dtype {
  KVRT_DTYPE_F32 = 0,
  KVRT_DTYPE_F16 = 1,
  KVRT_DTYPE_BF16 = 2,
  KVRT_DTYPE_MAX_ENUM = 0x7fffffff
} kvrt_dtype;

/// Which implementation executes copies and kernels.
typedef enum kvrt_backend {
  /// Plain C++ on the CPU; copies run on worker threads.
  KVRT_BACKEND_HOST = 0,
  /// CUDA: cudaMalloc'd HBM pool, mapped host DRAM pool, copy streams.
  KVRT_BACKEND_CUDA = 1,
  KVRT_BACKEND_MAX_ENUM = 0x7fffffff
} kvrt_backend;

/// Passed as `layer` to apply every layer's migrations of a step.
#define KVRT_ALL_LAYERS 0xffffffffu

/// Completion handle of an asynchronous migration. 0 is "nothing pending".
typedef uint64_t kvrt_handle;

/// Shape and capacity of a paged KV cache.
///
/// Logical blocks are numbered per layer: block `b` of layer `l` holds tokens
/// [j*block_tokens, (j+1)*block_tokens) of sequence b / max_blocks_per_seq,
/// j = b % max_blocks_per_seq, for all KV heads, K and V. A block lives in
/// exactly one slot of one tier at a time; slots are shared by all layers.
typedef struct kvrt_cache_config {
  uint32_t num_layers;
  uint32_t num_kv_heads;
  /// Query heads; a multiple of num_kv_heads (GQA group = q / kv, <= 16).
  uint32_t num_q_heads;
  /// Elements per head, 1..256.
  uint32_t head_dim;
  /// Tokens per block.
  uint32_t block_tokens;
  /// Sequences decoded together (one query token per sequence per step).
  uint32_t num_seqs;
  /// Logical blocks per sequence; max tokens = this * block_tokens.
  uint32_t max_blocks_per_seq;
  kvrt_dtype dtype;
  /// Slots in each tier, counted in blocks, shared by all layers.
  uint32_t hbm_capacity_blocks;
  uint32_t dram_capacity_blocks;
  /// Softmax scale; 0 means 1/sqrt(head_dim).
  float scale;
} kvrt_cache_config;

/// Bytes of one block (K and V of all KV heads), 0 for an invalid config.
size_t kvrt_block_bytes(const kvrt_cache_config *config);

/// Size in bytes of one element of `dtype` (0 for an unknown value).
size_t kvrt_dtype_size(kvrt_dtype dtype);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_TYPES_H */
