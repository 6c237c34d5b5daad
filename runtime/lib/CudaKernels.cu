//===- CudaKernels.cu - Split-tier paged decode attention on CUDA -*- C++ -*-===//
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

template <int G, int NPL>
__global__ void __launch_bounds__(kThreads)
    attentionPartial(AttnParams p) {
  extern __shared__ float sq[]; // [group][headDim]
  const uint32_t split = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
  const uint32_t warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const uint32_t D = p.headDim, group = p.group;
  for (uint32_t i = threadIdx.x; i < group * D; i += blockDim.x)
    sq[i] = p.q[(static_cast<size_t>(s) * p.qHeads + h * group) * D + i];
  __syncthreads();

  const uint32_t n = p.lens[s] + p.append;
  const uint32_t chunk = (n + p.splits - 1) / p.splits;
  const uint32_t t0 = split * chunk, t1 = min(n, t0 + chunk);
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
  for (uint32_t t = t0 + warp; t < t1; t += kWarps) {
    const char *blk =
        blockAddr(p.base0, p.base1, p.slotBytes, p.table,
                  s * p.maxBlocks + t / p.blockTokens);
    const size_t row = kHead + static_cast<size_t>(t % p.blockTokens) * D;
    float k[NPL], v[NPL];
#pragma unroll
    for (int i = 0; i < NPL; ++i) {
      uint32_t d = lane * NPL + i;
      k[i] = d < D ? loadElement(blk, row + d, p.dtype) : 0.0f;
      v[i] = d < D ? loadElement(blk, vOffset + row + d, p.dtype) : 0.0f;
    }
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
      float score = part * p.scale;
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
  const uint32_t parts = p.splits * kWarps, part = split * kWarps + warp;
#pragma unroll
  for (int g = 0; g < G; ++g) {
    if (g >= static_cast<int>(group))
      break;
    float *out = p.ws + ((static_cast<size_t>(s) * p.qHeads + h * group + g) *
                             parts + part) * (D + 2);
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
  char *blk = const_cast<char *>(blockAddr(base0, base1, slotBytes, table,
                                           s * maxBlocks + pos / bs));
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
                                int dtype) {
  const uint32_t b = blockIdx.x, s = b / maxBlocks, j = b % maxBlocks;
  char *blk =
      const_cast<char *>(blockAddr(base0, base1, slotBytes, table, b));
  const uint32_t len = lens[s];
  const uint32_t n = 2 * kvHeads * bs * D;
  for (uint32_t i = threadIdx.x; i < n; i += blockDim.x) {
    uint32_t e = i % D, r = i / D;
    uint32_t off = r % bs;
    r /= bs;
    uint32_t h = r % kvHeads, kv = r / kvHeads;
    uint32_t pos = j * bs + off;
    float value = pos < len ? genValue(kvs, kvGenIndex(layer, s, pos, kv, h, e,
                                                       numSeqs, maxTokens,
                                                       kvHeads, D))
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
    size_t tableEntries = size_t(c.num_layers) * g.blocksPerLayer;
    KVRT_CUDA_TRY(cudaMalloc(&dTables, tableEntries * sizeof(uint32_t)));
    KVRT_CUDA_TRY(cudaMalloc(&dLens, c.num_seqs * sizeof(uint32_t)));
    // Staging: one table region per layer, then the lengths.
    KVRT_CUDA_TRY(cudaHostAlloc(
        reinterpret_cast<void **>(&staging),
        (tableEntries + c.num_seqs) * sizeof(uint32_t), cudaHostAllocDefault));
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
    KVRT_TRY(upload(in));
    if (kNew) {
      appendKv<<<c.num_seqs, 256, 0, stream>>>(
          g.base[0], g.base[1], g.slotBytes, table(in.layer), dLens, kNew,
          vNew, c.num_kv_heads, c.head_dim, c.block_tokens,
          c.max_blocks_per_seq, static_cast<int>(c.dtype));
      KVRT_CUDA_TRY(cudaGetLastError());
    }
    uint32_t maxN = 0;
    for (uint32_t s = 0; s < c.num_seqs; ++s)
      maxN = std::max(maxN, in.lens[s] + (kNew ? 1u : 0u));
    AttnParams p;
    p.base0 = g.base[0];
    p.base1 = g.base[1];
    p.slotBytes = g.slotBytes;
    p.table = table(in.layer);
    p.lens = dLens;
    p.q = q;
    p.ws = workspace;
    p.append = kNew ? 1 : 0;
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
    fillLayerKernel<<<g.blocksPerLayer, 256, 0, stream>>>(
        g.base[0], g.base[1], g.slotBytes, table(in.layer), dLens, in.layer,
        kvSeed(seed), c.num_seqs, g.maxTokens, c.num_kv_heads, c.head_dim,
        c.block_tokens, c.max_blocks_per_seq, static_cast<int>(c.dtype));
    KVRT_CUDA_TRY(cudaGetLastError());
    return KVRT_OK;
  }

  kvrt_status readSlot(kvrt_tier tier, uint32_t slot, void *dst) override {
    KVRT_CUDA_TRY(cudaStreamSynchronize(stream));
    size_t offset = size_t(slot) * g.slotBytes;
    if (g.hostBase[tier]) {
      std::memcpy(dst, g.hostBase[tier] + offset, g.slotBytes);
      return KVRT_OK;
    }
    KVRT_CUDA_TRY(cudaMemcpy(dst, g.base[tier] + offset, g.slotBytes,
                             cudaMemcpyDefault));
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
    KVRT_CUDA_TRY(cudaMemcpy(g.base[tier] + offset, src, g.slotBytes,
                             cudaMemcpyDefault));
    return KVRT_OK;
  }

private:
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
