//===- SeedCode.h - The seed authors' simulator code ------------*- C++ -*-===//
//
// kv-opt's paper mode (TimeModelMode::Paper) applies the seed's step-time
// equations as written to kv-opt's own policies. This is the other half of
// the seed parity work: an engine that reproduces what the authors' code
// (simulation/{simulator,memory_status,placement,migration}.py) actually
// does, record by record, including the places where the code differs from
// the equations (docs/model.md section 8 lists and measures each one):
//
//  * promotion pricing: NormalMigration/SAMigration report [0, hbm_MW, 0, 0]
//    in inclusive mode, so a promotion is charged only its HBM write;
//  * whole-layer eviction: NormalMigration's eviction loop has no break, so
//    a full HBM evicts every entry of the layer below n, including entries
//    promoted earlier in the same step (still charged);
//  * page geometry and eviction: a page is 16 tokens x all layers, moved
//    whole (8 MiB charged), evicting the lowest page found on layer 0;
//  * conditional charges: a page transfer's external read is charged only
//    when the token was also read in the current step.
//
// Each quirk can be switched off (SeedQuirks) to measure its effect on the
// same trace. The SA search of SA_simulation.py is reproduced by
// annealSeedCode with a Python-compatible random stream (SeedAnneal.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_SEEDCODE_H
#define KVOPT_CORE_SEEDCODE_H

#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Trace.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvopt {

/// Their class combinations (SEED-MODEL.md section 4).
enum class SeedPolicy {
  Static,    ///< HBMInit + PreferHBM + NoMigration
  Unlimited, ///< the same with all KV fitting (their C_HBM_max = 1000)
  Reactive,  ///< TokenLevelBestRatioInit + PreferHBM + NormalMigration
  Page,      ///< HBMInitPaged + PreferHBMPaged + PageMigration
  Lookahead  ///< TokenLevelBestRatioInit + LookAheadOnePlacement +
             ///< SAMigration(window, topk): the SA-guided policy
};

/// "static", "unlimited", "reactive", "page", "lookahead" (alias
/// "sa-guided").
llvm::Expected<SeedPolicy> parseSeedPolicy(const std::string &name);
const char *seedPolicyName(SeedPolicy p);

/// The code-vs-equation differences; true = as their code does it.
struct SeedQuirks {
  /// Reactive, SA-guided: a promotion is charged only its HBM write (false:
  /// also its external read, as the paper's equations charge migrations).
  bool promotionPricing = true;
  /// Reactive: a full HBM evicts every entry of the layer below n (false:
  /// the loop with a break, evicting only the lowest such entry).
  bool wholeLayerEviction = true;
  /// Page: a page is 16 tokens x all layers, 8 MiB per transfer, evicting
  /// the lowest page whose first token is in HBM on layer 0 (false: a page is
  /// 16 tokens of the missing layer, 256 KiB per transfer, evicting the
  /// lowest such page of that layer).
  bool pageGeometry = true;
  /// Page: the external read of a transfer is charged only when the token
  /// was also read in the current step (false: always).
  bool conditionalCharges = true;

  /// Parse a comma list of quirks to switch off: "promotion-pricing",
  /// "whole-layer-eviction", "page-geometry", "conditional-charges", or
  /// "all"; "" keeps every quirk.
  static llvm::Expected<SeedQuirks> withoutList(const std::string &list);
  std::string describe() const;
};

struct SeedCodeConfig {
  SeedPolicy policy = SeedPolicy::Static;
  /// SA-guided policy: their read_window_size and topk_ratio.
  uint32_t window = 5;
  double topk = 0.5;
  SeedQuirks quirks;
  /// Simulate decode steps [firstStep, lastStep] only, as one of
  /// SA_simulation.py's parallel splits: the split starts with N_pre = prompt
  /// + firstStep and its own initial placement. Default: the whole trace.
  uint32_t firstStep = 0;
  uint32_t lastStep = UINT32_MAX;
};

struct SeedCodeResult {
  SeedPolicy policy = SeedPolicy::Static;
  /// The total decode time in ns, summed in their order (n outer, l inner)
  /// and their units (bytes, GB/s = B/ns), as their "Total time" line.
  double totalNs = 0;
  /// Their "Average HBM hit rate": mean alpha (weight-inclusive, capped).
  double meanAlpha = 0;
  uint64_t steps = 0;
  uint64_t accesses = 0; ///< sum of read-set sizes simulated
  uint64_t hits = 0;     ///< KV entries read that were in HBM
  uint64_t promotions = 0;
  uint64_t evictions = 0;
  double hbmMigrationBytes = 0; ///< sum of hbm_MW
  double extMigrationBytes = 0; ///< sum of ext_MR
  uint64_t maxKvNum = 0;        ///< their max_KV_num (max_KV_num - 1 usable)
};

/// Run their simulator's loop on `trace` (batch 1). `problem` gives the
/// memory system and sizes; it must be in paper mode with token blocks
/// (its capacity is max_KV_num - 1 entries). Errors: batch > 1, a non-paper
/// problem, and the states where their code would loop forever (Reactive
/// with a full HBM and nothing of the layer to evict).
llvm::Expected<SeedCodeResult> simulateSeedCode(const TraceSource &trace,
                                                const Problem &problem,
                                                const SeedCodeConfig &config);

/// CPython's random module (MT19937, init_by_array seeding, random(),
/// getrandbits-based randint, uniform): with the same seed it produces the
/// same numbers as `random.seed(seed)` followed by the same calls.
class PyRandom {
public:
  explicit PyRandom(uint64_t seed);
  uint32_t genrand();
  /// random.random()
  double random();
  /// random.randint(a, b), a <= b
  int64_t randint(int64_t a, int64_t b);
  /// random.uniform(a, b)
  double uniform(double a, double b) { return a + (b - a) * random(); }

private:
  uint32_t mt[624];
  int mti = 625;
};

/// SA_simulation.py's simulated_annealing(_parallel), as they wrote it:
/// start at (5, 0.5), then `iterations` proposals window = max(1, w +
/// randint(-3, 3)), topk = clamp(r + uniform(-0.3, 0.3), 0.1, 1.0), accept if
/// better or random() < exp(-delta / T), T = 100 (ns) x 0.95 per iteration;
/// every evaluation a full simulation (split into `splits` contiguous
/// parallel parts when splits > 1, as their parallel version does).
struct SeedAnnealParams {
  uint32_t iterations = 40;
  uint32_t startWindow = 5;
  double startTopk = 0.5;
  double initialTemperature = 100.0;
  double cooling = 0.95;
  uint64_t seed = 1;
  uint32_t splits = 1;
  SeedQuirks quirks;
};

struct SeedAnnealStep {
  uint32_t window = 0;
  double topk = 0;
  double totalNs = 0;
  bool accepted = false;
};

struct SeedAnnealResult {
  uint32_t bestWindow = 0;
  double bestTopk = 0;
  double bestNs = 0;
  double bestMeanAlpha = 0;
  /// The start point first, then one entry per iteration.
  std::vector<SeedAnnealStep> history;
};

llvm::Expected<SeedAnnealResult>
annealSeedCode(const TraceSource &trace, const Problem &problem,
               const SeedAnnealParams &params = {});

} // namespace kvopt

#endif // KVOPT_CORE_SEEDCODE_H
