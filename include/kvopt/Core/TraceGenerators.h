//===- TraceGenerators.h - Seeded synthetic access traces -------*- C++ -*-===//
//
// Deterministic generators (same parameters and seed => the same trace on
// every platform: they use their own PRNG, never std:: distributions). Each
// generator is a TraceSource streaming deltas in O(changes) time and
// O(layers x batch x tokens / 8) memory.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_TRACEGENERATORS_H
#define KVOPT_CORE_TRACEGENERATORS_H

#include "kvopt/Core/Trace.h"

#include <memory>
#include <string>
#include <vector>

namespace kvopt {

enum class GeneratorKind {
  /// The seed's recency-biased sets (generate_trace_multi.py): k_n =
  /// round(r (n-1)) tokens from [floor((1-thr)(n-1)), n), each step swaps
  /// out a uniform 0..floor(swapFraction |R|) oldest tokens for random ones.
  SeedLike,
  /// Heavy hitters: each step `churn` |R| members leave (uniformly) and
  /// non-members are drawn by a Zipf(zipfExponent) law over a popularity
  /// ranking that drifts by `drift` random transpositions per step.
  Zipf,
  /// Sliding window of `window` recent tokens plus `sinks` first tokens.
  SlidingWindow,
  /// Uniform: each step `churn` |R| members are replaced by uniform picks.
  Uniform
};

struct GeneratorParams {
  GeneratorKind kind = GeneratorKind::SeedLike;
  uint32_t layers = 32;
  uint32_t batch = 1;
  uint32_t promptLen = 1024;
  uint32_t decodeSteps = 128;
  uint64_t seed = 1;
  /// Fraction of tokens NOT read (0.6 => 40% of the history read).
  double sparsity = 0.6;
  /// SeedLike: maximum swapped fraction of the read set per step (the seed
  /// uses 0.1); see variationSwapFraction().
  double swapFraction = 0.1;
  /// SeedLike: tf in thr = r + tf (1 - r); 0.95 in the seed's multi script.
  double windowTf = 0.95;
  /// Zipf / Uniform: replaced fraction per step.
  double churn = 0.05;
  double zipfExponent = 1.0;
  uint32_t drift = 16;
  /// SlidingWindow.
  uint32_t window = 4096;
  uint32_t sinks = 4;
  /// Per layer: the attention window in tokens, 0 = global (empty: every
  /// layer global). A local layer's read set is cut to the window: step i
  /// reads only tokens >= prompt + i - window (makeWindowedTrace).
  std::vector<uint32_t> layerWindows;

  llvm::Error validate() const;
  /// A one-line description used in reports and file names.
  std::string describe() const;
};

/// Parse "seed-like", "zipf", "sliding-window", "uniform".
llvm::Expected<GeneratorKind> parseGeneratorKind(const std::string &name);
const char *generatorKindName(GeneratorKind kind);

/// The seed study's variation levels: "low", "real", "high" -> the SeedLike
/// swapFraction used for them (docs/reproduction.md).
llvm::Expected<double> variationSwapFraction(const std::string &level);

llvm::Expected<std::unique_ptr<TraceSource>>
makeGenerator(const GeneratorParams &params);

/// `inner` with each local layer's read sets cut to its window: at step i a
/// layer with window w > 0 reads inner's set intersected with
/// [prompt + i - w, prompt + i); tokens leaving the window are removed from
/// the read set in the step they leave it. `windows` has one entry per layer
/// (0 = global, passed through). Errors: a size not matching the layers.
llvm::Expected<std::unique_ptr<TraceSource>>
makeWindowedTrace(std::unique_ptr<TraceSource> inner,
                  std::vector<uint32_t> windows);

} // namespace kvopt

#endif // KVOPT_CORE_TRACEGENERATORS_H
