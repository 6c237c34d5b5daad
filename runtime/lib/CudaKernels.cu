//===- CudaKernels.cu - Split-tier paged decode attention on CUDA -*- C++
//-*-===//
//
// Two decode attention kernels, chosen per cache when it is created by the
// environment variable KVRT_CUDA_ATTENTION (legacy | tiled; unset: legacy):
//
// attentionPartial (legacy): one CTA per (split, KV head, sequence); its
// warps take tokens round robin, find each token's block through the
// layer's block table, and read it from HBM or -- zero copy, over the
// link -- from the mapped DRAM pool, in the same kernel. Each warp keeps an
// fp32 online softmax state for the GQA group of query heads sharing the
// KV head and writes it as one partial.
//
// attentionTiled: one CTA per (split, KV head, sequence) works through its
// token range in tiles. The K and V rows of the next tile are copied into
// shared memory with 16-byte cp.async while the current tile is computed
// (double buffering), so a CTA keeps a whole tile of loads in flight. Per
// tile: scores for every (query head, token) from shared memory (a few
// threads per token, one shuffle reduction per tile), one max/exp pass per
// query head and tile, then P.V with threads over (16-byte column chunk,
// query heads, token rows); the CTA writes one partial.
//
// attentionCombine merges the legacy kernel's partials (flash-decoding),
// attentionCombineWeighted the tiled kernel's (the same arithmetic with each
// partial's weight computed once).
// appendKv writes the new token into whichever tier holds its block;
// fillLayer writes generated data in place.
//
// Block tables and lengths are uploaded from pinned staging buffers on the
// compute stream, only when their version changed.
//
//===----------------------------------------------------------------------===//
#include "CudaBackend.h"
#include "Numeric.h"

#include <cuda_fp16.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace kvrt;

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
/// Fewest tokens a split is given, so partials stay worth their overhead.
constexpr uint32_t kMinTokensPerSplit = 64;

struct AttnParams {
  char *base0;
  char *base1;
  size_t slotBytes;
  const uint32_t *table;
  const uint32_t *lens;
  const float *q;
  float *ws;
  uint32_t append;
  /// Sliding window in tokens (0 = global): tokens before
  /// lens[s] - window are not read.
  uint32_t window;
  uint32_t qHeads, kvHeads, headDim, blockTokens, maxBlocks, group, splits;
  int dtype;
  float scale;
};

__device__ __forceinline__ const char *blockAddr(char *base0, char *base1,
                                                 size_t slotBytes,
                                                 const uint32_t *table,
                                                 uint32_t entryIndex) {
  uint32_t e = table[entryIndex];
  char *base = (e >> 31) ? base1 : base0;
  return base + static_cast<size_t>(e & 0x7fffffffu) * slotBytes;
}

/// Loads this lane's NPL consecutive elements [lane*NPL, lane*NPL+NPL) of
/// the row starting at element `row`. With `vec` (head_dim == 32*NPL, so
/// every lane's chunk is aligned to its size) as the widest aligned vector
/// loads, else element by element with bounds checks.
template <int NPL>
__device__ __forceinline__ void loadRow(const char *blk, size_t row,
                                        uint32_t lane, uint32_t D, int dtype,
                                        bool vec, float (&out)[NPL]) {
  if (vec) {
    const size_t first = row + size_t(lane) * NPL;
    if (dtype == 0) {
      const float *src = reinterpret_cast<const float *>(blk) + first;
      if constexpr (NPL % 4 == 0) {
#pragma unroll
        for (int i = 0; i < NPL; i += 4) {
          float4 f = reinterpret_cast<const float4 *>(src)[i / 4];
          out[i] = f.x;
          out[i + 1] = f.y;
          out[i + 2] = f.z;
          out[i + 3] = f.w;
        }
      } else if constexpr (NPL == 2) {
        float2 f = *reinterpret_cast<const float2 *>(src);
        out[0] = f.x;
        out[1] = f.y;
      } else {
        out[0] = src[0];
      }
      return;
    }
    const uint16_t *src = reinterpret_cast<const uint16_t *>(blk) + first;
    uint16_t h[NPL];
    if constexpr (NPL % 8 == 0) {
#pragma unroll
      for (int i = 0; i < NPL; i += 8) {
        uint4 u = reinterpret_cast<const uint4 *>(src)[i / 8];
        uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          h[i + 2 * j] = static_cast<uint16_t>(w[j] & 0xffffu);
          h[i + 2 * j + 1] = static_cast<uint16_t>(w[j] >> 16);
        }
      }
    } else if constexpr (NPL == 4) {
      uint2 u = *reinterpret_cast<const uint2 *>(src);
      h[0] = static_cast<uint16_t>(u.x & 0xffffu);
      h[1] = static_cast<uint16_t>(u.x >> 16);
      h[2] = static_cast<uint16_t>(u.y & 0xffffu);
      h[3] = static_cast<uint16_t>(u.y >> 16);
    } else if constexpr (NPL == 2) {
      uint32_t u = *reinterpret_cast<const uint32_t *>(src);
      h[0] = static_cast<uint16_t>(u & 0xffffu);
      h[1] = static_cast<uint16_t>(u >> 16);
    } else {
      h[0] = src[0];
    }
#pragma unroll
    for (int i = 0; i < NPL; ++i)
      out[i] = dtype == 1 ? f16ToFloat(h[i]) : bf16ToFloat(h[i]);
    return;
  }
#pragma unroll
  for (int i = 0; i < NPL; ++i) {
    uint32_t d = lane * NPL + i;
    out[i] = d < D ? loadElement(blk, row + d, dtype) : 0.0f;
  }
}

/// Folds one token (this lane's slice of its K and V rows) into the online
/// softmax states of the group's query heads.
template <int G, int NPL>
__device__ __forceinline__ void
accumulateToken(const float *sq, uint32_t group, uint32_t D, uint32_t lane,
                float scale, const float (&k)[NPL], const float (&v)[NPL],
                float (&m)[G], float (&l)[G], float (&acc)[G][NPL]) {
#pragma unroll
  for (int g = 0; g < G; ++g) {
    if (g >= static_cast<int>(group))
      break;
    float part = 0.0f;
#pragma unroll
    for (int i = 0; i < NPL; ++i) {
      uint32_t d = lane * NPL + i;
      if (d < D)
        part += sq[g * D + d] * k[i];
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2)
      part += __shfl_xor_sync(0xffffffffu, part, offset);
    float score = part * scale;
    float mNew = fmaxf(m[g], score);
    float correction = expf(m[g] - mNew);
    float w = expf(score - mNew);
    l[g] = l[g] * correction + w;
#pragma unroll
    for (int i = 0; i < NPL; ++i)
      acc[g][i] = acc[g][i] * correction + w * v[i];
    m[g] = mNew;
  }
}

template <int G, int NPL>
__global__ void __launch_bounds__(kThreads) attentionPartial(AttnParams p) {
  extern __shared__ float sq[]; // [group][headDim]
  const uint32_t split = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
  const uint32_t warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const uint32_t D = p.headDim, group = p.group;
  for (uint32_t i = threadIdx.x; i < group * D; i += blockDim.x)
    sq[i] = p.q[(static_cast<size_t>(s) * p.qHeads + h * group) * D + i];
  __syncthreads();

  const uint32_t len = p.lens[s];
  const uint32_t first = p.window && len > p.window ? len - p.window : 0;
  const uint32_t n = len + p.append - first;
  const uint32_t chunk = (n + p.splits - 1) / p.splits;
  const uint32_t t0 = first + min(n, split * chunk);
  const uint32_t t1 = first + min(n, split * chunk + chunk);
  const bool vec = D == 32u * NPL;
  float m[G], l[G], acc[G][NPL];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.0f;
#pragma unroll
    for (int i = 0; i < NPL; ++i)
      acc[g][i] = 0.0f;
  }
  const size_t kHead = static_cast<size_t>(h) * p.blockTokens * D;
  const size_t vOffset = static_cast<size_t>(p.kvHeads) * p.blockTokens * D;
  auto rowOf = [&](uint32_t t) {
    return kHead + static_cast<size_t>(t % p.blockTokens) * D;
  };
  auto blockOf = [&](uint32_t t) {
    return blockAddr(p.base0, p.base1, p.slotBytes, p.table,
                     s * p.maxBlocks + t / p.blockTokens);
  };
  // Two tokens per warp per iteration: all four row loads are issued before
  // the first is used, doubling the bytes in flight per warp.
  for (uint32_t t = t0 + warp; t < t1; t += 2 * kWarps) {
    const uint32_t t2 = t + kWarps;
    const bool second = t2 < t1;
    float k0[NPL], v0[NPL], k1[NPL], v1[NPL];
    const char *b0 = blockOf(t);
    loadRow<NPL>(b0, rowOf(t), lane, D, p.dtype, vec, k0);
    loadRow<NPL>(b0, vOffset + rowOf(t), lane, D, p.dtype, vec, v0);
    if (second) {
      const char *b1 = blockOf(t2);
      loadRow<NPL>(b1, rowOf(t2), lane, D, p.dtype, vec, k1);
      loadRow<NPL>(b1, vOffset + rowOf(t2), lane, D, p.dtype, vec, v1);
    }
    accumulateToken<G, NPL>(sq, group, D, lane, p.scale, k0, v0, m, l, acc);
    if (second)
      accumulateToken<G, NPL>(sq, group, D, lane, p.scale, k1, v1, m, l, acc);
  }
  const uint32_t parts = p.splits * kWarps, part = split * kWarps + warp;
#pragma unroll
  for (int g = 0; g < G; ++g) {
    if (g >= static_cast<int>(group))
      break;
    float *out =
        p.ws +
        ((static_cast<size_t>(s) * p.qHeads + h * group + g) * parts + part) *
            (D + 2);
    if (lane == 0) {
      out[0] = m[g];
      out[1] = l[g];
    }
#pragma unroll
    for (int i = 0; i < NPL; ++i) {
      uint32_t d = lane * NPL + i;
      if (d < D)
        out[2 + d] = acc[g][i];
    }
  }
}

//===----------------------------------------------------------------------===//
// The tiled kernel (KVRT_CUDA_ATTENTION=tiled).
//===----------------------------------------------------------------------===//

constexpr uint32_t kTiledThreads = 128;
constexpr uint32_t kTiledWarps = kTiledThreads / 32;
/// Shared memory for the K and V rows of both stages of a tile; the tile
/// length is the largest power of two in 8..64 that fits.
constexpr uint32_t kTiledStagingBudget = 36864;
/// Most splits per (sequence, KV head) of the tiled kernel.
constexpr uint32_t kMaxTiledSplits = 4096;

/// Division by a divisor fixed at launch, for dividends below 2^31: a
/// multiply-high and a shift (round-up method; exact in that range).
struct FastDiv {
  uint32_t divisor = 1, mul = 0, shift = 0;
};

FastDiv makeFastDiv(uint32_t d) {
  FastDiv f;
  f.divisor = d;
  if (d > 1) {
    uint32_t log2 = 0;
    while ((1ull << log2) < d)
      ++log2;
    const uint32_t p = 31 + log2;
    f.mul = static_cast<uint32_t>(((1ull << p) + d - 1) / d);
    f.shift = p - 32;
  }
  return f;
}

__device__ __forceinline__ uint32_t fastDiv(uint32_t n, const FastDiv &f) {
  return f.divisor == 1 ? n : __umulhi(n, f.mul) >> f.shift;
}

/// Per-cache geometry of the tiled kernel (host and device agree on it).
struct TiledLayout {
  /// Tokens per tile (8..64, a power of two) and log2(tile / 4), the tokens
  /// of one warp in the score phase.
  uint32_t tile = 0, tokensPerWarpLog2 = 0;
  /// 16-byte chunks per K/V row (the last one zero padded past head_dim).
  uint32_t chunks = 0;
  /// Bytes between rows in shared memory: an odd number of chunks, so the
  /// eight threads of a 128-byte shared memory phase, which read eight
  /// consecutive rows, hit distinct banks.
  uint32_t rowStride = 0;
  /// Token rows of the P.V thread grid (chunks x head groups x rows).
  uint32_t pvRows = 0;
  /// Bytes of the staging region (both stages, K then V rows each) -- the
  /// final cross-row reduction reuses it, so it is sized for both.
  uint32_t regionBytes = 0;
  uint32_t smemBytes = 0;
  /// head_dim * element size is a multiple of 16: rows are copied with
  /// cp.async; otherwise element by element.
  uint32_t aligned = 0;
  FastDiv chunkDiv, blockDiv;
};

__host__ __device__ constexpr uint32_t paddedGroup(uint32_t group) {
  return group <= 1 ? 1 : group <= 2 ? 2 : group <= 4 ? 4 : group <= 8 ? 8 : 16;
}

/// Query heads of one P.V thread: at most 32 accumulators per thread.
__host__ __device__ constexpr uint32_t pvHeadsPerThread(uint32_t paddedGroup,
                                                        uint32_t vec) {
  return paddedGroup < 32 / vec ? paddedGroup : 32 / vec;
}

TiledLayout makeTiledLayout(uint32_t group, uint32_t headDim, int dtype,
                            uint32_t blockTokens) {
  TiledLayout l;
  const uint32_t es = dtype == 0 ? 4 : 2, vec = 16 / es;
  const uint32_t g = paddedGroup(group);
  const uint32_t headGroups = g / pvHeadsPerThread(g, vec);
  l.chunks = (headDim * es + 15) / 16;
  l.aligned = headDim * es % 16 == 0;
  l.rowStride = l.chunks % 2 ? l.chunks * 16 : l.chunks * 16 + 16;
  l.tile = 64;
  while (l.tile > 8 && 4 * l.tile * l.rowStride > kTiledStagingBudget)
    l.tile /= 2;
  l.tokensPerWarpLog2 = 0;
  while ((1u << l.tokensPerWarpLog2) < l.tile / kTiledWarps)
    ++l.tokensPerWarpLog2;
  // chunks <= 64 (head_dim <= 256) and headGroups * chunks <= 128.
  l.pvRows = kTiledThreads / (l.chunks * headGroups);
  const uint32_t dq = l.chunks * vec;
  const uint32_t staging = 4 * l.tile * l.rowStride;
  const uint32_t reduction = l.pvRows * g * dq * 4;
  l.regionBytes = std::max(staging, reduction);
  l.smemBytes = l.regionBytes + g * dq * 4 + g * l.tile * 4 + 3 * g * 4;
  l.chunkDiv = makeFastDiv(l.chunks);
  l.blockDiv = makeFastDiv(blockTokens);
  return l;
}

__device__ __forceinline__ void cpAsync16(void *dst, const void *src) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s),
               "l"(__cvta_generic_to_global(src))
               : "memory");
#else
  *reinterpret_cast<uint4 *>(dst) = *reinterpret_cast<const uint4 *>(src);
#endif
}

__device__ __forceinline__ void cpAsyncCommit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

/// Waits until at most N of this thread's cp.async groups are pending.
template <int N> __device__ __forceinline__ void cpAsyncWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

/// One 16-byte chunk of a row in shared memory as floats (exact widening).
template <int DT>
__device__ __forceinline__ void loadChunk(const unsigned char *p,
                                          float (&out)[DT == 0 ? 4 : 8]) {
  const uint4 u = *reinterpret_cast<const uint4 *>(p);
  const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if constexpr (DT == 0) {
      out[i] = __uint_as_float(w[i]);
    } else if constexpr (DT == 2) {
      out[2 * i] = __uint_as_float(w[i] << 16);
      out[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    } else {
      out[2 * i] = __half2float(
          __ushort_as_half(static_cast<unsigned short>(w[i] & 0xffffu)));
      out[2 * i + 1] = __half2float(
          __ushort_as_half(static_cast<unsigned short>(w[i] >> 16)));
    }
  }
}

/// One 16-byte chunk (chunk c) of the row at element `elem` of a block, for
/// rows that are not whole chunks: element by element, zero padded.
template <int DT>
__device__ __forceinline__ void copyChunkElements(unsigned char *dst,
                                                  const char *base, size_t elem,
                                                  uint32_t c, uint32_t D) {
  uint32_t w[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if constexpr (DT == 0) {
      const uint32_t d = c * 4 + i;
      w[i] = d < D ? reinterpret_cast<const uint32_t *>(base)[elem + d] : 0u;
    } else {
      const uint32_t d = c * 8 + 2 * i;
      const uint16_t *src = reinterpret_cast<const uint16_t *>(base) + elem;
      const uint32_t lo = d < D ? src[d] : 0u;
      const uint32_t hi = d + 1 < D ? src[d + 1] : 0u;
      w[i] = lo | hi << 16;
    }
  }
  *reinterpret_cast<uint4 *>(dst) = make_uint4(w[0], w[1], w[2], w[3]);
}

/// Copies the K and V rows of tokens [tb, tb + n) of KV head h of sequence
/// s into a stage: K rows first, then V rows, `rowStride` apart. A thread
/// copies chunk c of a token's K row and of its V row (one block lookup
/// for both). Aligned rows go by cp.async (the caller commits); others
/// element by element, zero padded to whole chunks.
template <int DT>
__device__ __forceinline__ void
stageTile(const AttnParams &p, const TiledLayout &l, unsigned char *stage,
          uint32_t s, uint32_t h, uint32_t tb, uint32_t n) {
  constexpr uint32_t es = DT == 0 ? 4 : 2;
  const uint32_t D = p.headDim;
  const size_t kHead = static_cast<size_t>(h) * p.blockTokens * D;
  const size_t vOffset = static_cast<size_t>(p.kvHeads) * p.blockTokens * D;
  const size_t vStage = static_cast<size_t>(l.tile) * l.rowStride;
  const uint32_t jobs = n * l.chunks;
  // Job idx: chunk c of token t's rows; returns the block and the K row's
  // first element.
  auto locate = [&](uint32_t idx, uint32_t &t, uint32_t &c, size_t &kElem) {
    t = fastDiv(idx, l.chunkDiv);
    c = idx - t * l.chunks;
    const uint32_t tok = tb + t;
    const uint32_t blk = fastDiv(tok, l.blockDiv);
    const uint32_t off = tok - blk * p.blockTokens;
    kElem = kHead + static_cast<size_t>(off) * D;
    return blockAddr(p.base0, p.base1, p.slotBytes, p.table,
                     s * p.maxBlocks + blk);
  };
  if (l.aligned) {
#pragma unroll 4
    for (uint32_t idx = threadIdx.x; idx < jobs; idx += kTiledThreads) {
      uint32_t t, c;
      size_t kElem;
      const char *base = locate(idx, t, c, kElem);
      const char *src = base + kElem * es + c * 16;
      unsigned char *dst =
          stage + static_cast<size_t>(t) * l.rowStride + c * 16;
      cpAsync16(dst, src);
      cpAsync16(dst + vStage, src + vOffset * es);
    }
    return;
  }
  for (uint32_t idx = threadIdx.x; idx < jobs; idx += kTiledThreads) {
    uint32_t t, c;
    size_t kElem;
    const char *base = locate(idx, t, c, kElem);
    unsigned char *dst = stage + static_cast<size_t>(t) * l.rowStride + c * 16;
    copyChunkElements<DT>(dst, base, kElem, c, D);
    copyChunkElements<DT>(dst + vStage, base, vOffset + kElem, c, D);
  }
}

/// G: the GQA group padded to a power of two; DT: 0 f32, 1 f16, 2 bf16.
template <int G, int DT>
__global__ void __launch_bounds__(kTiledThreads)
    attentionTiled(AttnParams p, TiledLayout l) {
  constexpr uint32_t vec = DT == 0 ? 4 : 8;
  constexpr uint32_t gh = pvHeadsPerThread(G, vec);
  constexpr uint32_t headGroups = G / gh;
  extern __shared__ __align__(16) unsigned char smem[];
  const uint32_t split = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
  const uint32_t tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const uint32_t D = p.headDim, group = p.group, tile = l.tile;
  const uint32_t dq = l.chunks * vec;
  const uint32_t stageBytes = 2 * tile * l.rowStride;
  float *sq = reinterpret_cast<float *>(smem + l.regionBytes); // [G][dq]
  float *sS = sq + G * dq;                                     // [G][tile]
  float *sM = sS + G * tile;                                   // [G]
  float *sL = sM + G;                                          // [G]
  float *sCorr = sL + G;                                       // [G]

  for (uint32_t i = tid; i < G * dq; i += kTiledThreads) {
    const uint32_t g = i / dq, d = i - g * dq;
    sq[i] =
        g < group && d < D
            ? p.q[(static_cast<size_t>(s) * p.qHeads + h * group + g) * D + d]
            : 0.0f;
  }
  if (tid < G) {
    sM[tid] = -INFINITY;
    sL[tid] = 0.0f;
    sCorr[tid] = 1.0f;
  }

  const uint32_t len = p.lens[s];
  const uint32_t first = p.window && len > p.window ? len - p.window : 0;
  const uint32_t total = len + p.append - first;
  const uint32_t chunk = (total + p.splits - 1) / p.splits;
  const uint32_t t0 = first + min(total, split * chunk);
  const uint32_t t1 = first + min(total, split * chunk + chunk);
  const uint32_t numTiles = (t1 - t0 + tile - 1) / tile;

  // Score phase: tile / 4 tokens per warp, lane = j * tokensPerWarp + tl.
  const uint32_t tpw = 1u << l.tokensPerWarpLog2;
  const uint32_t qkTok = warp * tpw + (lane & (tpw - 1));
  const uint32_t qkLane = lane >> l.tokensPerWarpLog2;
  const uint32_t qkStep = 32 >> l.tokensPerWarpLog2;
  // P.V phase: tid = c + chunks * (headGroup + headGroups * row).
  const uint32_t pvU = fastDiv(tid, l.chunkDiv);
  const uint32_t pvC = tid - pvU * l.chunks;
  const uint32_t pvHg = pvU % headGroups, pvR = pvU / headGroups;
  const bool pvActive = pvR < l.pvRows;
  float acc[gh][vec];
#pragma unroll
  for (uint32_t g = 0; g < gh; ++g)
#pragma unroll
    for (uint32_t i = 0; i < vec; ++i)
      acc[g][i] = 0.0f;

  if (numTiles > 0) {
    stageTile<DT>(p, l, smem, s, h, t0, min(tile, t1 - t0));
    cpAsyncCommit();
  }
  for (uint32_t it = 0; it < numTiles; ++it) {
    const uint32_t tb = t0 + it * tile;
    const uint32_t n = min(tile, t1 - tb);
    if (it + 1 < numTiles) {
      stageTile<DT>(p, l, smem + ((it + 1) & 1) * stageBytes, s, h, tb + tile,
                    min(tile, t1 - tb - tile));
      cpAsyncCommit();
      cpAsyncWait<1>();
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    const unsigned char *kS = smem + (it & 1) * stageBytes;
    const unsigned char *vS = kS + tile * l.rowStride;

    // Scores of all G heads for token qkTok; rows past n hold stale data
    // and get -inf.
    {
      float part[G];
#pragma unroll
      for (int g = 0; g < G; ++g)
        part[g] = 0.0f;
      for (uint32_t c = qkLane; c < l.chunks; c += qkStep) {
        float k[vec];
        loadChunk<DT>(kS + qkTok * l.rowStride + c * 16, k);
#pragma unroll
        for (int g = 0; g < G; ++g) {
          const float4 *qv =
              reinterpret_cast<const float4 *>(sq + g * dq + c * vec);
#pragma unroll
          for (uint32_t i = 0; i < vec / 4; ++i) {
            const float4 qq = qv[i];
            part[g] += qq.x * k[4 * i] + qq.y * k[4 * i + 1] +
                       qq.z * k[4 * i + 2] + qq.w * k[4 * i + 3];
          }
        }
      }
#pragma unroll
      for (int g = 0; g < G; ++g)
        for (uint32_t off = tpw; off < 32; off <<= 1)
          part[g] += __shfl_xor_sync(0xffffffffu, part[g], off);
      if (qkLane == 0)
#pragma unroll
        for (int g = 0; g < G; ++g)
          sS[g * tile + qkTok] = qkTok < n ? part[g] * p.scale : -INFINITY;
    }
    __syncthreads();

    // One max/exp pass per head: the warp w takes heads w, w + 4, ...
    for (uint32_t g = warp; g < G; g += kTiledWarps) {
      const float mOld = sM[g], lOld = sL[g];
      float mx = -INFINITY;
      for (uint32_t t = lane; t < n; t += 32)
        mx = fmaxf(mx, sS[g * tile + t]);
#pragma unroll
      for (int off = 16; off > 0; off /= 2)
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float mNew = fmaxf(mOld, mx);
      float sum = 0.0f;
      for (uint32_t t = lane; t < tile; t += 32) {
        const float e = t < n ? expf(sS[g * tile + t] - mNew) : 0.0f;
        sS[g * tile + t] = e;
        sum += e;
      }
#pragma unroll
      for (int off = 16; off > 0; off /= 2)
        sum += __shfl_xor_sync(0xffffffffu, sum, off);
      const float corr = expf(mOld - mNew);
      __syncwarp();
      if (lane == 0) {
        sM[g] = mNew;
        sL[g] = lOld * corr + sum;
        sCorr[g] = corr;
      }
    }
    __syncthreads();

    // P.V: this thread's chunk of the V rows pvR, pvR + pvRows, ... for
    // its gh heads.
    if (pvActive) {
#pragma unroll
      for (uint32_t g = 0; g < gh; ++g) {
        // The same for the whole CTA; 1 (the max did not grow) is common.
        const float corr = sCorr[pvHg * gh + g];
        if (corr != 1.0f)
#pragma unroll
          for (uint32_t i = 0; i < vec; ++i)
            acc[g][i] *= corr;
      }
      for (uint32_t t = pvR; t < n; t += l.pvRows) {
        float v[vec];
        loadChunk<DT>(vS + t * l.rowStride + pvC * 16, v);
#pragma unroll
        for (uint32_t g = 0; g < gh; ++g) {
          const float w = sS[(pvHg * gh + g) * tile + t];
#pragma unroll
          for (uint32_t i = 0; i < vec; ++i)
            acc[g][i] += w * v[i];
        }
      }
    }
    __syncthreads();
  }

  // Sum the rows' accumulators in a fixed order (deterministic) through
  // the staging region, which no copy uses any more.
  float *red = reinterpret_cast<float *>(smem); // [pvRows][G][dq]
  if (pvActive)
#pragma unroll
    for (uint32_t g = 0; g < gh; ++g)
#pragma unroll
      for (uint32_t i = 0; i < vec; ++i)
        red[(pvR * G + pvHg * gh + g) * dq + pvC * vec + i] = acc[g][i];
  __syncthreads();
  const uint32_t parts = p.splits;
  auto partialOf = [&](uint32_t g) {
    return p.ws + ((static_cast<size_t>(s) * p.qHeads + h * group + g) * parts +
                   split) *
                      (D + 2);
  };
  for (uint32_t i = tid; i < group * D; i += kTiledThreads) {
    const uint32_t g = i / D, d = i - g * D;
    float a = 0.0f;
    for (uint32_t r = 0; r < l.pvRows; ++r)
      a += red[(r * G + g) * dq + d];
    partialOf(g)[2 + d] = a;
  }
  if (tid < group) {
    partialOf(tid)[0] = sM[tid];
    partialOf(tid)[1] = sL[tid];
  }
}

using TiledKernel = void (*)(AttnParams, TiledLayout);

template <int G> TiledKernel pickTiledDtype(int dtype) {
  switch (dtype) {
  case 0:
    return attentionTiled<G, 0>;
  case 1:
    return attentionTiled<G, 1>;
  default:
    return attentionTiled<G, 2>;
  }
}

TiledKernel pickTiled(uint32_t group, int dtype) {
  switch (paddedGroup(group)) {
  case 1:
    return pickTiledDtype<1>(dtype);
  case 2:
    return pickTiledDtype<2>(dtype);
  case 4:
    return pickTiledDtype<4>(dtype);
  case 8:
    return pickTiledDtype<8>(dtype);
  default:
    return pickTiledDtype<16>(dtype);
  }
}

__global__ void attentionCombine(const float *ws, float *out, uint32_t qHeads,
                                 uint32_t D, uint32_t parts) {
  const uint32_t qh = blockIdx.x, s = blockIdx.y;
  const float *base =
      ws + (static_cast<size_t>(s) * qHeads + qh) * parts * (D + 2);
  float mMax = -INFINITY;
  for (uint32_t i = 0; i < parts; ++i)
    mMax = fmaxf(mMax, base[i * (D + 2)]);
  float sum = 0.0f;
  if (mMax != -INFINITY)
    for (uint32_t i = 0; i < parts; ++i) {
      float m = base[i * (D + 2)];
      if (m != -INFINITY)
        sum += base[i * (D + 2) + 1] * expf(m - mMax);
    }
  for (uint32_t d = threadIdx.x; d < D; d += blockDim.x) {
    float a = 0.0f;
    if (mMax != -INFINITY)
      for (uint32_t i = 0; i < parts; ++i) {
        float m = base[i * (D + 2)];
        if (m != -INFINITY)
          a += base[i * (D + 2) + 2 + d] * expf(m - mMax);
      }
    out[(static_cast<size_t>(s) * qHeads + qh) * D + d] =
        sum > 0.0f ? a / sum : 0.0f;
  }
}

/// Reduces v over the CTA (blockDim.x a multiple of 32): every thread gets
/// the result, combined in the same fixed order (deterministic). scratch
/// holds 32 floats; every thread must call it.
template <bool Max>
__device__ __forceinline__ float blockReduce(float v, float *scratch) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    const float o = __shfl_xor_sync(0xffffffffu, v, off);
    v = Max ? fmaxf(v, o) : v + o;
  }
  if (threadIdx.x % 32 == 0)
    scratch[threadIdx.x / 32] = v;
  __syncthreads();
  float r = scratch[0];
  for (uint32_t w = 1; w < blockDim.x / 32; ++w)
    r = Max ? fmaxf(r, scratch[w]) : r + scratch[w];
  __syncthreads();
  return r;
}

/// attentionCombine for the tiled kernel's partials (one per split): each
/// partial's weight exp(m - max) is computed once, into shared memory
/// ([parts] weights, then 32 floats of reduction scratch), instead of once
/// per output element; empty partials (m = -inf) weigh 0.
__global__ void attentionCombineWeighted(const float *ws, float *out,
                                         uint32_t qHeads, uint32_t D,
                                         uint32_t parts) {
  extern __shared__ float sw[];
  float *scratch = sw + parts;
  const uint32_t qh = blockIdx.x, s = blockIdx.y;
  const float *base =
      ws + (static_cast<size_t>(s) * qHeads + qh) * parts * (D + 2);
  float mLocal = -INFINITY;
  for (uint32_t i = threadIdx.x; i < parts; i += blockDim.x) {
    const float m = base[i * (D + 2)];
    sw[i] = m;
    mLocal = fmaxf(mLocal, m);
  }
  const float mMax = blockReduce<true>(mLocal, scratch);
  float sLocal = 0.0f;
  for (uint32_t i = threadIdx.x; i < parts; i += blockDim.x) {
    const float m = sw[i];
    const float w = m == -INFINITY ? 0.0f : expf(m - mMax);
    sw[i] = w;
    if (w != 0.0f)
      sLocal += w * base[i * (D + 2) + 1];
  }
  // blockReduce's barriers also publish the weights.
  const float sum = blockReduce<false>(sLocal, scratch);
  for (uint32_t d = threadIdx.x; d < D; d += blockDim.x) {
    float a = 0.0f;
#pragma unroll 4
    for (uint32_t i = 0; i < parts; ++i) {
      const float w = sw[i];
      if (w != 0.0f)
        a += w * base[i * (D + 2) + 2 + d];
    }
    out[(static_cast<size_t>(s) * qHeads + qh) * D + d] =
        sum > 0.0f ? a / sum : 0.0f;
  }
}

__global__ void appendKv(char *base0, char *base1, size_t slotBytes,
                         const uint32_t *table, const uint32_t *lens,
                         const float *k, const float *v, uint32_t kvHeads,
                         uint32_t D, uint32_t bs, uint32_t maxBlocks,
                         int dtype) {
  const uint32_t s = blockIdx.x, pos = lens[s];
  char *blk = const_cast<char *>(
      blockAddr(base0, base1, slotBytes, table, s * maxBlocks + pos / bs));
  const uint32_t off = pos % bs;
  const size_t vOffset = static_cast<size_t>(kvHeads) * bs * D;
  for (uint32_t i = threadIdx.x; i < kvHeads * D; i += blockDim.x) {
    uint32_t h = i / D, e = i % D;
    size_t idx = (static_cast<size_t>(h) * bs + off) * D + e;
    size_t src = static_cast<size_t>(s) * kvHeads * D + i;
    storeElement(blk, idx, k[src], dtype);
    storeElement(blk, vOffset + idx, v[src], dtype);
  }
}

__global__ void fillLayerKernel(char *base0, char *base1, size_t slotBytes,
                                const uint32_t *table, const uint32_t *lens,
                                uint32_t layer, uint64_t kvs, uint32_t numSeqs,
                                uint32_t maxTokens, uint32_t kvHeads,
                                uint32_t D, uint32_t bs, uint32_t maxBlocks,
                                int dtype, uint32_t firstBlock) {
  const uint32_t b = firstBlock + blockIdx.x, s = b / maxBlocks,
                 j = b % maxBlocks;
  char *blk = const_cast<char *>(blockAddr(base0, base1, slotBytes, table, b));
  const uint32_t len = lens[s];
  const uint32_t n = 2 * kvHeads * bs * D;
  for (uint32_t i = threadIdx.x; i < n; i += blockDim.x) {
    uint32_t e = i % D, r = i / D;
    uint32_t off = r % bs;
    r /= bs;
    uint32_t h = r % kvHeads, kv = r / kvHeads;
    uint32_t pos = j * bs + off;
    float value =
        pos < len ? genValue(kvs, kvGenIndex(layer, s, pos, kv, h, e, numSeqs,
                                             maxTokens, kvHeads, D))
                  : 0.0f;
    storeElement(blk, i, value, dtype);
  }
}

using PartialKernel = void (*)(AttnParams);

template <int G> PartialKernel pickNpl(uint32_t npl) {
  switch (npl) {
  case 1:
    return attentionPartial<G, 1>;
  case 2:
    return attentionPartial<G, 2>;
  case 4:
    return attentionPartial<G, 4>;
  default:
    return attentionPartial<G, 8>;
  }
}

PartialKernel pickPartial(uint32_t group, uint32_t headDim) {
  uint32_t npl = (headDim + 31) / 32;
  npl = npl <= 1 ? 1 : npl <= 2 ? 2 : npl <= 4 ? 4 : 8;
  if (group <= 1)
    return pickNpl<1>(npl);
  if (group <= 2)
    return pickNpl<2>(npl);
  if (group <= 4)
    return pickNpl<4>(npl);
  if (group <= 8)
    return pickNpl<8>(npl);
  return pickNpl<16>(npl);
}

class CudaKernels final : public CacheKernels {
public:
  CudaKernels(const CacheGeometry &geometry, cudaStream_t stream, int numSMs)
      : g(geometry), stream(stream), numSMs(numSMs) {}

  ~CudaKernels() override {
    cudaStreamSynchronize(stream);
    cudaFree(dTables);
    cudaFree(dLens);
    cudaFree(workspace);
    cudaFreeHost(staging);
    for (cudaEvent_t e : stagingEvents)
      cudaEventDestroy(e);
  }

  kvrt_status init() {
    const kvrt_cache_config &c = g.config;
    KVRT_TRY(chooseKernel());
    int device = 0, pageable = 0;
    KVRT_CUDA_TRY(cudaGetDevice(&device));
    KVRT_CUDA_TRY(cudaDeviceGetAttribute(
        &pageable, cudaDevAttrPageableMemoryAccess, device));
    pageableAccess = pageable != 0;
    size_t tableEntries = size_t(c.num_layers) * g.blocksPerLayer;
    KVRT_CUDA_TRY(cudaMalloc(&dTables, tableEntries * sizeof(uint32_t)));
    KVRT_CUDA_TRY(cudaMalloc(&dLens, c.num_seqs * sizeof(uint32_t)));
    // Staging: one table region per layer, then the lengths.
    KVRT_CUDA_TRY(cudaHostAlloc(reinterpret_cast<void **>(&staging),
                                (tableEntries + c.num_seqs) * sizeof(uint32_t),
                                cudaHostAllocDefault));
    stagingEvents.resize(c.num_layers + 1, nullptr);
    for (cudaEvent_t &e : stagingEvents) {
      KVRT_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
      KVRT_CUDA_TRY(cudaEventRecord(e, stream));
    }
    uploadedTable.assign(c.num_layers, 0);
    maxSplits = targetSplits(g.maxTokens);
    size_t partsPerSplit = tiled ? 1 : kWarps;
    size_t wsFloats = size_t(c.num_seqs) * c.num_q_heads * maxSplits *
                      partsPerSplit * (c.head_dim + 2);
    KVRT_CUDA_TRY(cudaMalloc(&workspace, wsFloats * sizeof(float)));
    return KVRT_OK;
  }

  kvrt_status attention(const KernelInputs &in, const float *q,
                        const float *kNew, const float *vNew,
                        float *out) override {
    const kvrt_cache_config &c = g.config;
    KVRT_TRY(checkPointer(q, "q", 0));
    KVRT_TRY(checkPointer(kNew, "k_new", 1));
    KVRT_TRY(checkPointer(vNew, "v_new", 2));
    KVRT_TRY(checkPointer(out, "out", 3));
    KVRT_TRY(upload(in));
    if (kNew) {
      appendKv<<<c.num_seqs, 256, 0, stream>>>(
          g.base[0], g.base[1], g.slotBytes, table(in.layer), dLens, kNew, vNew,
          c.num_kv_heads, c.head_dim, c.block_tokens, c.max_blocks_per_seq,
          static_cast<int>(c.dtype));
      KVRT_CUDA_TRY(cudaGetLastError());
    }
    uint32_t maxN = 0;
    for (uint32_t s = 0; s < c.num_seqs; ++s)
      maxN = std::max(maxN, in.lens[s] + (kNew ? 1u : 0u) -
                                windowStart(in.window, in.lens[s]));
    AttnParams p;
    p.base0 = g.base[0];
    p.base1 = g.base[1];
    p.slotBytes = g.slotBytes;
    p.table = table(in.layer);
    p.lens = dLens;
    p.q = q;
    p.ws = workspace;
    p.append = kNew ? 1 : 0;
    p.window = in.window;
    p.qHeads = c.num_q_heads;
    p.kvHeads = c.num_kv_heads;
    p.headDim = c.head_dim;
    p.blockTokens = c.block_tokens;
    p.maxBlocks = c.max_blocks_per_seq;
    p.group = c.num_q_heads / c.num_kv_heads;
    p.splits = std::min(maxSplits, targetSplits(maxN));
    p.dtype = static_cast<int>(c.dtype);
    p.scale = g.scale;
    dim3 grid(p.splits, c.num_kv_heads, c.num_seqs);
    uint32_t parts = p.splits;
    if (tiled) {
      tiledKernel<<<grid, kTiledThreads, layout.smemBytes, stream>>>(p, layout);
    } else {
      size_t smem = size_t(p.group) * c.head_dim * sizeof(float);
      pickPartial(p.group, c.head_dim)<<<grid, kThreads, smem, stream>>>(p);
      parts *= kWarps;
    }
    KVRT_CUDA_TRY(cudaGetLastError());
    dim3 combineGrid(c.num_q_heads, c.num_seqs);
    unsigned threads = std::min(256u, (c.head_dim + 31) / 32 * 32);
    if (tiled)
      attentionCombineWeighted<<<combineGrid, threads,
                                 (parts + 32) * sizeof(float), stream>>>(
          workspace, out, c.num_q_heads, c.head_dim, parts);
    else
      attentionCombine<<<combineGrid, threads, 0, stream>>>(
          workspace, out, c.num_q_heads, c.head_dim, parts);
    KVRT_CUDA_TRY(cudaGetLastError());
    return KVRT_OK;
  }

  kvrt_status fillLayer(const KernelInputs &in, uint64_t seed) override {
    const kvrt_cache_config &c = g.config;
    KVRT_TRY(upload(in));
    // One launch per run of live blocks: a dead block's old slot may hold
    // another block now.
    for (uint32_t b = 0; b < g.blocksPerLayer;) {
      if (in.dead && in.dead[b]) {
        ++b;
        continue;
      }
      uint32_t end = b + 1;
      while (end < g.blocksPerLayer && !(in.dead && in.dead[end]))
        ++end;
      fillLayerKernel<<<end - b, 256, 0, stream>>>(
          g.base[0], g.base[1], g.slotBytes, table(in.layer), dLens, in.layer,
          kvSeed(seed), c.num_seqs, g.maxTokens, c.num_kv_heads, c.head_dim,
          c.block_tokens, c.max_blocks_per_seq, static_cast<int>(c.dtype), b);
      KVRT_CUDA_TRY(cudaGetLastError());
      b = end;
    }
    return KVRT_OK;
  }

  kvrt_status readSlot(kvrt_tier tier, uint32_t slot, void *dst) override {
    KVRT_CUDA_TRY(cudaStreamSynchronize(stream));
    size_t offset = size_t(slot) * g.slotBytes;
    if (g.hostBase[tier]) {
      std::memcpy(dst, g.hostBase[tier] + offset, g.slotBytes);
      return KVRT_OK;
    }
    KVRT_CUDA_TRY(
        cudaMemcpy(dst, g.base[tier] + offset, g.slotBytes, cudaMemcpyDefault));
    return KVRT_OK;
  }

  kvrt_status writeSlot(kvrt_tier tier, uint32_t slot,
                        const void *src) override {
    KVRT_CUDA_TRY(cudaStreamSynchronize(stream));
    size_t offset = size_t(slot) * g.slotBytes;
    if (g.hostBase[tier]) {
      std::memcpy(g.hostBase[tier] + offset, src, g.slotBytes);
      return KVRT_OK;
    }
    KVRT_CUDA_TRY(
        cudaMemcpy(g.base[tier] + offset, src, g.slotBytes, cudaMemcpyDefault));
    return KVRT_OK;
  }

private:
  /// Rejects pointers a kernel cannot dereference (e.g. plain host memory
  /// on a PCIe machine) instead of faulting. The last pointer accepted per
  /// argument is remembered, so a decode loop pays for this once.
  kvrt_status checkPointer(const void *ptr, const char *name, int arg) {
    if (!ptr || ptr == accepted[arg])
      return KVRT_OK;
    cudaPointerAttributes attr;
    cudaError_t err = cudaPointerGetAttributes(&attr, ptr);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return fail(KVRT_ERR_INVALID_ARGUMENT, "%s: cannot query pointer %p: %s",
                  name, ptr, cudaGetErrorString(err));
    }
    bool usable = attr.type == cudaMemoryTypeDevice ||
                  attr.type == cudaMemoryTypeManaged ||
                  (attr.type == cudaMemoryTypeHost && attr.devicePointer) ||
                  pageableAccess;
    if (!usable)
      return fail(KVRT_ERR_INVALID_ARGUMENT,
                  "%s (%p) is not device-accessible memory; allocate it with "
                  "kvrt_buffer_alloc",
                  name, ptr);
    accepted[arg] = ptr;
    return KVRT_OK;
  }

  /// Reads KVRT_CUDA_ATTENTION (legacy | tiled; unset or empty: legacy)
  /// and prepares the tiled kernel's layout, shared memory and occupancy.
  kvrt_status chooseKernel() {
    const kvrt_cache_config &c = g.config;
    const char *env = std::getenv("KVRT_CUDA_ATTENTION");
    std::string name = env ? env : "";
    if (name == "tiled")
      tiled = true;
    else if (!name.empty() && name != "legacy")
      return fail(KVRT_ERR_INVALID_ARGUMENT,
                  "KVRT_CUDA_ATTENTION is '%s'; it must be 'legacy' or "
                  "'tiled' (or unset: legacy)",
                  name.c_str());
    if (!tiled)
      return KVRT_OK;
    uint32_t group = c.num_q_heads / c.num_kv_heads;
    int dtype = static_cast<int>(c.dtype);
    layout = makeTiledLayout(group, c.head_dim, dtype, c.block_tokens);
    tiledKernel = pickTiled(group, dtype);
    KVRT_CUDA_TRY(cudaFuncSetAttribute(
        tiledKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
        static_cast<int>(layout.smemBytes)));
    // Shared memory over L1 (the K/V copies bypass L1): as many CTAs per SM
    // as the shared memory allows.
    KVRT_CUDA_TRY(cudaFuncSetAttribute(
        tiledKernel, cudaFuncAttributePreferredSharedMemoryCarveout,
        cudaSharedmemCarveoutMaxShared));
    int perSM = 0;
    KVRT_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &perSM, tiledKernel, kTiledThreads, layout.smemBytes));
    if (perSM < 1)
      return fail(KVRT_ERR_UNSUPPORTED,
                  "the tiled attention kernel does not fit on this device "
                  "(%u bytes of shared memory per CTA)",
                  layout.smemBytes);
    tiledSlots = static_cast<uint32_t>(perSM) * numSMs;
    return KVRT_OK;
  }

  uint32_t targetSplits(uint32_t tokens) const {
    const kvrt_cache_config &c = g.config;
    uint32_t ctas = std::max<uint32_t>(1, c.num_seqs * c.num_kv_heads);
    if (tiled) {
      // One wave: as many CTAs as fit on the device at once (splits of
      // equal length finish together), each at least two tiles long.
      // (At most kMaxTiledSplits: the combine keeps a weight per split in
      // shared memory.)
      uint32_t target =
          std::clamp<uint32_t>(tiledSlots / ctas, 1, kMaxTiledSplits);
      uint32_t minTokens = 2 * layout.tile;
      uint32_t byTokens =
          std::max<uint32_t>(1, (tokens + minTokens - 1) / minTokens);
      return std::min(target, byTokens);
    }
    uint32_t target = std::max<uint32_t>(1, (4u * numSMs + ctas - 1) / ctas);
    uint32_t byTokens = std::max<uint32_t>(
        1, (tokens + kMinTokensPerSplit - 1) / kMinTokensPerSplit);
    return std::min(target, byTokens);
  }

  const uint32_t *table(uint32_t layer) const {
    return dTables + size_t(layer) * g.blocksPerLayer;
  }

  /// Uploads the layer's table and the lengths if they changed. The
  /// staging region is rewritten only after its previous upload finished.
  kvrt_status upload(const KernelInputs &in) {
    const kvrt_cache_config &c = g.config;
    if (uploadedTable[in.layer] != in.tableVersion) {
      uint32_t *stage = staging + size_t(in.layer) * g.blocksPerLayer;
      KVRT_CUDA_TRY(cudaEventSynchronize(stagingEvents[in.layer]));
      std::memcpy(stage, in.table, g.blocksPerLayer * sizeof(uint32_t));
      KVRT_CUDA_TRY(cudaMemcpyAsync(const_cast<uint32_t *>(table(in.layer)),
                                    stage, g.blocksPerLayer * sizeof(uint32_t),
                                    cudaMemcpyHostToDevice, stream));
      KVRT_CUDA_TRY(cudaEventRecord(stagingEvents[in.layer], stream));
      uploadedTable[in.layer] = in.tableVersion;
    }
    if (uploadedLens != in.lensVersion) {
      uint32_t *stage = staging + size_t(c.num_layers) * g.blocksPerLayer;
      KVRT_CUDA_TRY(cudaEventSynchronize(stagingEvents.back()));
      std::memcpy(stage, in.lens, c.num_seqs * sizeof(uint32_t));
      KVRT_CUDA_TRY(cudaMemcpyAsync(dLens, stage, c.num_seqs * sizeof(uint32_t),
                                    cudaMemcpyHostToDevice, stream));
      KVRT_CUDA_TRY(cudaEventRecord(stagingEvents.back(), stream));
      uploadedLens = in.lensVersion;
    }
    return KVRT_OK;
  }

  CacheGeometry g;
  cudaStream_t stream;
  int numSMs;
  /// KVRT_CUDA_ATTENTION=tiled: attentionTiled with `layout`, else
  /// attentionPartial.
  bool tiled = false;
  TiledLayout layout;
  TiledKernel tiledKernel = nullptr;
  /// CTAs of the tiled kernel resident on the device at once.
  uint32_t tiledSlots = 1;
  uint32_t maxSplits = 1;
  uint32_t *dTables = nullptr;
  uint32_t *dLens = nullptr;
  float *workspace = nullptr;
  uint32_t *staging = nullptr;
  std::vector<cudaEvent_t> stagingEvents;
  std::vector<uint64_t> uploadedTable;
  uint64_t uploadedLens = 0;
  const void *accepted[4] = {nullptr, nullptr, nullptr, nullptr};
  bool pageableAccess = false;
};

} // namespace

kvrt_status kvrt::makeCudaKernels(const CacheGeometry &geometry,
                                  cudaStream_t compute, int numSMs,
                                  std::unique_ptr<CacheKernels> &out) {
  auto kernels = std::make_unique<CudaKernels>(geometry, compute, numSMs);
  KVRT_TRY(kernels->init());
  out = std::move(kernels);
  return KVRT_OK;
}
