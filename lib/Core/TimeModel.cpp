//===- TimeModel.cpp - Bytes per resource and step time ------------------===//
//
// docs/model.md derives these formulas; the unit tests check them on
// hand-computed cases.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/TimeModel.h"
#include "kvopt/Core/Error.h"

#include <algorithm>
#include <cmath>

using namespace kvopt;

ResourceBytes &ResourceBytes::operator+=(const ResourceBytes &o) {
  hbmRead += o.hbmRead;
  hbmWrite += o.hbmWrite;
  dramRead += o.dramRead;
  dramWrite += o.dramWrite;
  h2d += o.h2d;
  d2h += o.d2h;
  return *this;
}

const char *kvopt::bottleneckName(Bottleneck b) {
  switch (b) {
  case Bottleneck::HBM:
    return "HBM";
  case Bottleneck::DRAM:
    return "DRAM";
  case Bottleneck::H2D:
    return "H2D";
  case Bottleneck::D2H:
    return "D2H";
  case Bottleneck::Fixed:
    return "fixed";
  }
  return "?";
}

llvm::Expected<TimeModel> TimeModel::fromParams(const TimeModelParams &p) {
  const char *ctx = "time model";
  auto pos = [&](double v, const char *field) -> llvm::Error {
    if (!(std::isfinite(v) && v > 0))
      return makeFieldError(ctx, field,
                            "must be positive, got " + std::to_string(v));
    return llvm::Error::success();
  };
  if (auto e = pos(p.hbmRead, "hbm_read_bandwidth"))
    return std::move(e);
  if (auto e = pos(p.hbmWrite, "hbm_write_bandwidth"))
    return std::move(e);
  if (auto e = pos(p.dramRead, "dram_read_bandwidth"))
    return std::move(e);
  if (auto e = pos(p.dramWrite, "dram_write_bandwidth"))
    return std::move(e);
  if (auto e = pos(p.h2d, "h2d_bandwidth"))
    return std::move(e);
  if (auto e = pos(p.d2h, "d2h_bandwidth"))
    return std::move(e);
  if (auto e = pos(p.entryBytes, "entry_bytes"))
    return std::move(e);
  if (!(p.weightBytesPerStep >= 0) || !std::isfinite(p.weightBytesPerStep))
    return makeFieldError(ctx, "weight_bytes", "must be >= 0");
  if (!(p.fixedStepSeconds >= 0) || !std::isfinite(p.fixedStepSeconds))
    return makeFieldError(ctx, "fixed_step_seconds", "must be >= 0");
  if (p.mode == TimeModelMode::Paper) {
    if (auto e = pos(p.paperExtInternal, "paper_ext_internal_bandwidth"))
      return std::move(e);
    if (p.hierarchy != Hierarchy::Inclusive)
      return makeFieldError(ctx, "hierarchy",
                            "paper mode reproduces the seed's inclusive "
                            "hierarchy only");
  }
  return TimeModel(p);
}

llvm::Expected<TimeModel> TimeModel::create(const MemorySystem &mem,
                                            const Workload &work,
                                            TimeModelMode mode,
                                            Hierarchy hierarchy,
                                            double fixedStepSeconds) {
  if (auto e = mem.validate())
    return std::move(e);
  TimeModelParams p;
  p.mode = mode;
  p.hierarchy = hierarchy;
  p.entryBytes = double(work.entryBytes());
  p.weightBytesPerStep = work.weightBytesPerLayerStep();
  p.fixedStepSeconds = fixedStepSeconds;
  p.hbmRead = mem.hbm().readBandwidth;
  p.hbmWrite = mem.hbm().writeBandwidth;
  p.dramRead = mem.dram().readBandwidth;
  p.dramWrite = mem.dram().writeBandwidth;
  p.h2d = mem.hostToDeviceBandwidth();
  p.d2h = mem.deviceToHostBandwidth();
  p.paperExtInternal = mem.dram().readBandwidth;
  return fromParams(p);
}

double TimeModel::bandwidthBalancedFraction() const {
  double ext = p.mode == TimeModelMode::Paper
                   ? std::min(p.h2d, p.paperExtInternal)
                   : std::min(p.dramRead, p.h2d);
  return p.hbmRead / (p.hbmRead + ext);
}

double TimeModel::peakAggregateReadBandwidth() const {
  double ext = p.mode == TimeModelMode::Paper
                   ? std::min(p.h2d, p.paperExtInternal)
                   : std::min(p.dramRead, p.h2d);
  return p.hbmRead + ext;
}

StepTime TimeModel::stepTime(const StepCounts &c) const {
  return p.mode == TimeModelMode::Paper ? paperStep(c) : standardStep(c);
}

StepTime TimeModel::standardStep(const StepCounts &c) const {
  const double e = p.entryBytes;
  const double misses = double(c.reads - c.hits) * e;
  const double hitBytes = double(c.hits) * e;
  const double prom = double(c.promotions) * e;
  const double aH = double(c.appendsHbm) * e, aD = double(c.appendsDram) * e;
  StepTime t;
  ResourceBytes &b = t.bytes;
  double tHbm, tDram, tH2d, tD2h;
  if (p.hierarchy == Hierarchy::Exclusive) {
    const double dem = double(c.demotions) * e;
    b.hbmRead = p.weightBytesPerStep + hitBytes + dem;
    b.hbmWrite = aH + prom;
    b.dramRead = misses + prom;
    b.dramWrite = aD + dem;
    b.h2d = misses + prom;
    b.d2h = aD + dem;
    t.hitBytesFromHbm = hitBytes;
  } else {
    // Inclusive: every entry also lives in DRAM. Appends write through to
    // DRAM; demotions only drop the HBM copy. x bytes of the resident reads
    // come from HBM, the rest over the link; choose x minimising the max.
    const double all = aH + aD;
    const double hbmW = (aH + prom) / p.hbmWrite;
    const double a = p.weightBytesPerStep / p.hbmRead + hbmW; // HBM at x=0
    const double cDram =
        (misses + hitBytes + prom) / p.dramRead + all / p.dramWrite;
    const double cH2d = (misses + hitBytes + prom) / p.h2d;
    // HBM(x) = a + x/hbmRead rises; DRAM(x), H2D(x) fall with slopes
    // 1/dramRead, 1/h2d. The max of the falling lines meets the rising one
    // at the largest of the pairwise crossings.
    double xDram = (cDram - a) / (1 / p.hbmRead + 1 / p.dramRead);
    double xH2d = (cH2d - a) / (1 / p.hbmRead + 1 / p.h2d);
    double x = std::clamp(std::max(xDram, xH2d), 0.0, hitBytes);
    b.hbmRead = p.weightBytesPerStep + x;
    b.hbmWrite = aH + prom;
    b.dramRead = misses + (hitBytes - x) + prom;
    b.dramWrite = all;
    b.h2d = misses + (hitBytes - x) + prom;
    b.d2h = all;
    t.hitBytesFromHbm = x;
  }
  tHbm = b.hbmRead / p.hbmRead + b.hbmWrite / p.hbmWrite;
  tDram = b.dramRead / p.dramRead + b.dramWrite / p.dramWrite;
  tH2d = b.h2d / p.h2d;
  tD2h = b.d2h / p.d2h;
  double best = tHbm;
  t.bottleneck = Bottleneck::HBM;
  if (tDram > best) {
    best = tDram;
    t.bottleneck = Bottleneck::DRAM;
  }
  if (tH2d > best) {
    best = tH2d;
    t.bottleneck = Bottleneck::H2D;
  }
  if (tD2h > best) {
    best = tD2h;
    t.bottleneck = Bottleneck::D2H;
  }
  if (best == 0 && p.fixedStepSeconds > 0)
    t.bottleneck = Bottleneck::Fixed;
  t.seconds = best + p.fixedStepSeconds;
  double readAll = p.weightBytesPerStep + double(c.reads) * e;
  t.paperAlpha =
      readAll > 0 ? (p.weightBytesPerStep + t.hitBytesFromHbm) / readAll : 1.0;
  return t;
}

StepTime TimeModel::paperStep(const StepCounts &c) const {
  // SEED-MODEL.md section 3, inclusive mode, in bytes and bytes/s.
  const double e = p.entryBytes;
  const double bHbm = p.hbmRead, bR = p.h2d, bW = p.d2h,
               bInt = p.paperExtInternal;
  const double dR = p.weightBytesPerStep + double(c.reads) * e;
  const double dW = double(c.appendsHbm + c.appendsDram) * e;
  const double betaDW = double(c.appendsHbm) * e;
  const double hbmMW = double(c.promotions) * e;
  const double extMR = double(c.promotions) * e;
  const double maxAlpha =
      dR > 0 ? (p.weightBytesPerStep + double(c.hits) * e) / dR : 1.0;
  const double alpha = std::min(bandwidthBalancedFraction(), maxAlpha);
  const double tHbm = (alpha * dR + betaDW + hbmMW) / bHbm;
  const double extRead = ((1 - alpha) * dR + extMR) / std::min(bR, bInt);
  const double extWrite = std::max({dW / bW, extMR / bR, (extMR + dW) / bInt});
  const double tExt = extRead + extWrite;
  StepTime t;
  t.paperAlpha = alpha;
  t.hitBytesFromHbm = std::max(0.0, alpha * dR - p.weightBytesPerStep);
  ResourceBytes &b = t.bytes;
  b.hbmRead = alpha * dR;
  b.hbmWrite = betaDW + hbmMW;
  b.dramRead = (1 - alpha) * dR + extMR;
  b.dramWrite = dW;
  b.h2d = (1 - alpha) * dR + extMR;
  b.d2h = dW;
  if (tHbm >= tExt) {
    t.seconds = tHbm;
    t.bottleneck = Bottleneck::HBM;
  } else {
    t.seconds = tExt;
    t.bottleneck = bR <= bInt ? Bottleneck::H2D : Bottleneck::DRAM;
  }
  t.seconds += p.fixedStepSeconds;
  return t;
}
