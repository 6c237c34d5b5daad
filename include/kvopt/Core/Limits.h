//===- Limits.h - Largest model and workload shapes accepted ----*- C++ -*-===//
//
// Part of kv-opt. The planner and the runtime hold layer, head, batch and
// token counts in 32-bit fields; these limits (far above any published
// model) are checked wherever such a count enters (IR types, configs,
// options) so that nothing is truncated or allocated without bound.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_LIMITS_H
#define KVOPT_CORE_LIMITS_H

#include <cstdint>

namespace kvopt {

constexpr int64_t kMaxLayers = 65536;
constexpr int64_t kMaxHeads = 65536;
constexpr int64_t kMaxHeadDim = 65536;
/// MLA latent and rope sizes.
constexpr int64_t kMaxLatent = int64_t(1) << 20;
constexpr int64_t kMaxBatch = 65536;
/// Tokens per sequence (prompt + decode); fits a signed 32-bit index.
constexpr int64_t kMaxTokens = (int64_t(1) << 31) - 1;

} // namespace kvopt

#endif // KVOPT_CORE_LIMITS_H
