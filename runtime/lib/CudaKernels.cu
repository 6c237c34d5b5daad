//===- CudaKernels.cu - Split-tier paged decode attention on CUDA -*- C++
//-*-===//
//
// attentionPartial: one CTA per (split, KV head, sequence); its warps take
// tokens round robin, find each token's block through the layer's block
// table, and read it from HBM or -- zero copy, over the link -- from the
// mapped DRAM pool, in the same kernel. Each warp keeps an fp32 online
// softmax state for the GQA group of query heads sharing the KV head and
// writes it as one partial; attentionCombine merges the partials
// (flash-decoding). appendKv writes the new token into whichever tier
// holds its block; fillLayer writes generated data in place.
//
// Block tables and lengths are uploaded from pinned staging buffers on the
// compute stream, only when their version changed.
//
//===----------------------------------------------------------------------===//
#include "CudaBackend.h"
#include "Numeric.h"

#include <algorithm>
#include <cstring>
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
    size_t wsFloats = size_t(c.num_seqs) * c.num_q_heads * maxSplits * kWarps *
                      (c.head_dim + 2);
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
    size_t smem = size_t(p.group) * c.head_dim * sizeof(float);
    pickPartial(p.group, c.head_dim)<<<grid, kThreads, smem, stream>>>(p);
    KVRT_CUDA_TRY(cudaGetLastError());
    dim3 combineGrid(c.num_q_heads, c.num_seqs);
    unsigned threads = std::min(256u, (c.head_dim + 31) / 32 * 32);
    attentionCombine<<<combineGrid, threads, 0, stream>>>(
        workspace, out, c.num_q_heads, c.head_dim, p.splits * kWarps);
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

  uint32_t targetSplits(uint32_t tokens) const {
    const kvrt_cache_config &c = g.config;
    uint32_t ctas = std::max<uint32_t>(1, c.num_seqs * c.num_kv_heads);
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
