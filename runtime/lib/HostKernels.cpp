//===- HostKernels.cpp - CPU attention, appends and fills -------*- C++ -*-===//
//
// Split-tier paged decode attention on the CPU. Each block is addressed
// through the layer's block table, whatever its tier, exactly as the CUDA
// kernel does; the arithmetic (fp32 online softmax) matches it too. A
// sliding-window layer reads only the tokens of its window (windowStart).
//
//===----------------------------------------------------------------------===//
#include "HostKernels.h"
#include "Numeric.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace kvrt;

namespace {

class HostKernels final : public CacheKernels {
public:
  explicit HostKernels(const CacheGeometry &geometry) : g(geometry) {}

  kvrt_status attention(const KernelInputs &in, const float *q,
                        const float *kNew, const float *vNew,
                        float *out) override {
    const kvrt_cache_config &c = g.config;
    const uint32_t d = c.head_dim, bs = c.block_tokens, kvh = c.num_kv_heads;
    const uint32_t group = c.num_q_heads / kvh;
    const int dtype = static_cast<int>(c.dtype);
    std::vector<float> acc(d);
    for (uint32_t s = 0; s < c.num_seqs; ++s) {
      uint32_t n = in.lens[s];
      // Sliding window: the tokens before `first` are not read at all.
      const uint32_t first = windowStart(in.window, n);
      if (kNew) {
        char *block = blockPtr(in, s, n / bs);
        uint32_t off = n % bs;
        for (uint32_t h = 0; h < kvh; ++h)
          for (uint32_t e = 0; e < d; ++e) {
            size_t src = (static_cast<size_t>(s) * kvh + h) * d + e;
            storeElement(block, elemIndex(0, h, off, e), kNew[src], dtype);
            storeElement(block, elemIndex(1, h, off, e), vNew[src], dtype);
          }
        ++n;
      }
      for (uint32_t qh = 0; qh < c.num_q_heads; ++qh) {
        const float *qv = q + (static_cast<size_t>(s) * c.num_q_heads + qh) * d;
        float *ov = out + (static_cast<size_t>(s) * c.num_q_heads + qh) * d;
        uint32_t h = qh / group;
        float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (uint32_t p = first; p < n; ++p) {
          const char *block = blockPtr(in, s, p / bs);
          uint32_t off = p % bs;
          float score = 0.0f;
          for (uint32_t e = 0; e < d; ++e)
            score += qv[e] * loadElement(block, elemIndex(0, h, off, e), dtype);
          score *= g.scale;
          float mNew = std::max(m, score);
          float correction = std::exp(m - mNew);
          float w = std::exp(score - mNew);
          l = l * correction + w;
          for (uint32_t e = 0; e < d; ++e)
            acc[e] = acc[e] * correction +
                     w * loadElement(block, elemIndex(1, h, off, e), dtype);
          m = mNew;
        }
        for (uint32_t e = 0; e < d; ++e)
          ov[e] = n > first ? acc[e] / l : 0.0f;
      }
    }
    return KVRT_OK;
  }

  kvrt_status fillLayer(const KernelInputs &in, uint64_t seed) override {
    const kvrt_cache_config &c = g.config;
    const uint32_t d = c.head_dim, bs = c.block_tokens, kvh = c.num_kv_heads;
    const int dtype = static_cast<int>(c.dtype);
    uint64_t kvs = kvSeed(seed);
    for (uint32_t b = 0; b < g.blocksPerLayer; ++b) {
      // A dead block's old slot may hold another block now.
      if (in.dead && in.dead[b])
        continue;
      uint32_t s = b / c.max_blocks_per_seq, j = b % c.max_blocks_per_seq;
      char *block = blockPtr(in, s, j);
      for (uint32_t kv = 0; kv < 2; ++kv)
        for (uint32_t h = 0; h < kvh; ++h)
          for (uint32_t off = 0; off < bs; ++off) {
            uint32_t pos = j * bs + off;
            for (uint32_t e = 0; e < d; ++e) {
              float v = 0.0f;
              if (pos < in.lens[s])
                v = genValue(kvs, kvGenIndex(in.layer, s, pos, kv, h, e,
                                             c.num_seqs, g.maxTokens, kvh, d));
              storeElement(block, elemIndex(kv, h, off, e), v, dtype);
            }
          }
    }
    return KVRT_OK;
  }

  kvrt_status readSlot(kvrt_tier tier, uint32_t slot, void *dst) override {
    std::memcpy(dst, g.hostBase[tier] + slot * g.slotBytes, g.slotBytes);
    return KVRT_OK;
  }

  kvrt_status writeSlot(kvrt_tier tier, uint32_t slot,
                        const void *src) override {
    std::memcpy(g.hostBase[tier] + slot * g.slotBytes, src, g.slotBytes);
    return KVRT_OK;
  }

private:
  char *blockPtr(const KernelInputs &in, uint32_t seq, uint32_t j) const {
    uint32_t entry =
        in.table[static_cast<size_t>(seq) * g.config.max_blocks_per_seq + j];
    return g.base[entryTier(entry)] + entrySlot(entry) * g.slotBytes;
  }

  size_t elemIndex(uint32_t kv, uint32_t h, uint32_t off, uint32_t e) const {
    const kvrt_cache_config &c = g.config;
    return ((static_cast<size_t>(kv) * c.num_kv_heads + h) * c.block_tokens +
            off) *
               c.head_dim +
           e;
  }

  CacheGeometry g;
};

} // namespace

std::unique_ptr<CacheKernels>
kvrt::makeHostKernels(const CacheGeometry &geometry) {
  return std::make_unique<HostKernels>(geometry);
}
