//===- TimeModel.h - Bytes per resource and step time -----------*- C++ -*-===//
//
// The versioned time model. One step is (decode token n, layer l) over all
// sequences of the batch. Four resources carry bytes: HBM, DRAM, the link
// host-to-device (H2D) and device-to-host (D2H). The time of a step is the
// maximum over resources of its busy time, plus an optional fixed term; the
// total is the sum over steps. docs/model.md derives every term.
//
// Two modes:
//  * Standard ("kvopt-v1"): exclusive or inclusive hierarchy, per-resource
//    bytes as below.
//  * Paper ("seed-compat"): the seed simulator's own formula
//    (SEED-MODEL.md section 3) with its alpha, beta and write terms.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_TIMEMODEL_H
#define KVOPT_CORE_TIMEMODEL_H

#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/Workload.h"

#include "llvm/Support/Error.h"

#include <cstdint>

namespace kvopt {

/// Version string of the standard model; bump on any formula change.
constexpr const char *kTimeModelVersion = "kvopt-v1";

enum class TimeModelMode {
  Standard, ///< kvopt-v1
  Paper     ///< the seed's formulas, reproduced (including their quirks)
};

enum class Hierarchy {
  /// An entry lives in exactly one tier; a demotion copies it back.
  Exclusive,
  /// DRAM keeps a copy of every entry (write-through appends); demotions are
  /// free; reads of HBM-resident entries may be split between the tiers.
  Inclusive
};

/// What happened in one step, in entries (token x layer x sequence).
struct StepCounts {
  uint64_t reads = 0;       ///< entries read by attention
  uint64_t hits = 0;        ///< of those, resident in HBM
  uint64_t appendsHbm = 0;  ///< new entries written to HBM
  uint64_t appendsDram = 0; ///< new entries written to DRAM
  uint64_t promotions = 0;  ///< entries moved DRAM -> HBM
  uint64_t demotions = 0;   ///< entries moved HBM -> DRAM
};

/// Bytes per resource in one step.
struct ResourceBytes {
  double hbmRead = 0, hbmWrite = 0;
  double dramRead = 0, dramWrite = 0;
  double h2d = 0, d2h = 0;
  ResourceBytes &operator+=(const ResourceBytes &o);
};

/// Which resource bounds a step.
enum class Bottleneck { HBM, DRAM, H2D, D2H, Fixed };
const char *bottleneckName(Bottleneck b);

/// The outcome of one step.
struct StepTime {
  double seconds = 0;
  ResourceBytes bytes;
  /// Bytes of HBM-resident reads actually served from HBM (inclusive mode may
  /// serve part of them from DRAM); equals hits*entry in exclusive mode.
  double hitBytesFromHbm = 0;
  /// Paper mode: the seed's alpha (weight-inclusive HBM read fraction).
  double paperAlpha = 0;
  Bottleneck bottleneck = Bottleneck::HBM;
};

/// Parameters of the model (all SI units).
struct TimeModelParams {
  TimeModelMode mode = TimeModelMode::Standard;
  Hierarchy hierarchy = Hierarchy::Exclusive;
  double entryBytes = 0;
  double weightBytesPerStep = 0;
  double fixedStepSeconds = 0;
  double hbmRead = 0, hbmWrite = 0;
  double dramRead = 0, dramWrite = 0;
  double h2d = 0, d2h = 0;
  /// Paper mode only: the seed's B_ext_internal (DRAM internal bandwidth),
  /// B_ext_R/B_ext_W (interface) are h2d/d2h, B_HBM is hbmRead.
  double paperExtInternal = 0;
};

class TimeModel {
public:
  /// Build the model for a validated memory system and workload.
  static llvm::Expected<TimeModel>
  create(const MemorySystem &mem, const Workload &work, TimeModelMode mode,
         Hierarchy hierarchy, double fixedStepSeconds = 0);
  /// Build from explicit parameters (checked: positive bandwidths).
  static llvm::Expected<TimeModel> fromParams(const TimeModelParams &params);

  const TimeModelParams &params() const { return p; }

  /// The time of one step. Pure; the simulator and the solver both call it,
  /// so a schedule's time is the same wherever it is computed.
  StepTime stepTime(const StepCounts &c) const;

  /// Paper mode: the seed's best_alpha = B_HBM / (B_HBM + min(B_ext_R,
  /// B_ext_internal)); standard mode: hbmRead / (hbmRead + min(dramRead, h2d)).
  double bandwidthBalancedFraction() const;
  /// Peak aggregate read bandwidth: HBM + min(DRAM, H2D).
  double peakAggregateReadBandwidth() const;

private:
  explicit TimeModel(const TimeModelParams &params) : p(params) {}
  StepTime standardStep(const StepCounts &c) const;
  StepTime paperStep(const StepCounts &c) const;
  TimeModelParams p;
};

} // namespace kvopt

#endif // KVOPT_CORE_TIMEMODEL_H
