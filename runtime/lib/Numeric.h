//===- Numeric.h - Element conversions and the data generator ---*- C++ -*-===//
//
// Shared by the host code and the CUDA kernels so that both round and
// generate bit-identical values: fp16/bf16 conversions with round to nearest
// even, and the position-keyed pseudo-random generator behind
// kvrt_cache_fill_random and the reference attention.
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_NUMERIC_H
#define KVRT_LIB_NUMERIC_H

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define KVRT_HD __host__ __device__ __forceinline__
#else
#define KVRT_HD inline
#endif

namespace kvrt {

KVRT_HD uint32_t floatToBits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
#endif
}

KVRT_HD float bitsToFloat(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
#endif
}

/// float -> bf16 bits, round to nearest even, NaN stays NaN.
KVRT_HD uint16_t floatToBf16(float f) {
  uint32_t u = floatToBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

KVRT_HD float bf16ToFloat(uint16_t h) {
  return bitsToFloat(static_cast<uint32_t>(h) << 16);
}

/// float -> IEEE fp16 bits, round to nearest even, overflow to infinity.
KVRT_HD uint16_t floatToF16(float f) {
  uint32_t x = floatToBits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) // Inf or NaN.
    return static_cast<uint16_t>(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (x >= 0x477ff000u) // >= 65520 rounds to infinity.
    return static_cast<uint16_t>(sign | 0x7c00u);
  if (x < 0x38800000u) { // Below the smallest normal half: subnormal or 0.
    if (x < 0x33000000u)
      return static_cast<uint16_t>(sign);
    uint32_t e = x >> 23;
    uint32_t m = (x & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e;
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u)))
      ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t h = (x >> 13) - (112u << 10);
  uint32_t rem = x & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
    ++h;
  return static_cast<uint16_t>(sign | h);
}

KVRT_HD float f16ToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu;
  uint32_t m = h & 0x3ffu;
  if (e == 0) {
    float v = static_cast<float>(m) * 5.9604644775390625e-8f; // m * 2^-24
    return sign ? -v : v;
  }
  if (e == 31)
    return bitsToFloat(sign | 0x7f800000u | (m << 13));
  return bitsToFloat(sign | ((e + 112u) << 23) | (m << 13));
}

/// Rounds `f` to the storage precision of dtype (0 f32, 1 f16, 2 bf16).
KVRT_HD float roundToDtype(float f, int dtype) {
  if (dtype == 1)
    return f16ToFloat(floatToF16(f));
  if (dtype == 2)
    return bf16ToFloat(floatToBf16(f));
  return f;
}

/// Loads element `i` of a pool buffer of the given dtype as float.
KVRT_HD float loadElement(const void *base, uint64_t i, int dtype) {
  if (dtype == 1)
    return f16ToFloat(static_cast<const uint16_t *>(base)[i]);
  if (dtype == 2)
    return bf16ToFloat(static_cast<const uint16_t *>(base)[i]);
  return static_cast<const float *>(base)[i];
}

/// Stores `f` as element `i` of a pool buffer of the given dtype.
KVRT_HD void storeElement(void *base, uint64_t i, float f, int dtype) {
  if (dtype == 1)
    static_cast<uint16_t *>(base)[i] = floatToF16(f);
  else if (dtype == 2)
    static_cast<uint16_t *>(base)[i] = floatToBf16(f);
  else
    static_cast<float *>(base)[i] = f;
}

/// SplitMix64 finaliser.
KVRT_HD uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// A value in [-1, 1) with 24 random bits, exact in fp32.
KVRT_HD float genValue(uint64_t seed, uint64_t index) {
  uint64_t h = mix64(seed ^ mix64(index));
  return static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

/// Domains keep K/V and query streams independent for one seed.
constexpr uint64_t kKvDomain = 0x4b56ull;
constexpr uint64_t kQueryDomain = 0x5152ull;

/// Linear index of element (kv, head, dim) of token `pos` of sequence `seq`
/// in layer `layer`, for generation only (not a memory layout).
KVRT_HD uint64_t kvGenIndex(uint32_t layer, uint32_t seq, uint32_t pos,
                            uint32_t kv, uint32_t head, uint32_t dim,
                            uint32_t numSeqs, uint32_t maxTokens,
                            uint32_t kvHeads, uint32_t headDim) {
  uint64_t i = static_cast<uint64_t>(layer) * numSeqs + seq;
  i = i * maxTokens + pos;
  i = i * 2 + kv;
  i = i * kvHeads + head;
  return i * headDim + dim;
}

KVRT_HD uint64_t kvSeed(uint64_t seed) { return mix64(seed ^ kKvDomain); }
KVRT_HD uint64_t querySeed(uint64_t seed) { return mix64(seed ^ kQueryDomain); }

} // namespace kvrt

#endif // KVRT_LIB_NUMERIC_H
