//===- CapacityBound.cpp - Per-step capacity lower bound ------------------===//
//
// Part of kv-opt. docs/bound.md, "capacity bound", proves each step.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/CapacityBound.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

/// max_r of the affine functions f_r(h, a) = c_r + h dh_r + a da_r.
struct AffineMax {
  ResourceVec c{}, dh{}, da{};
  double at(double h, double a) const {
    double m = -std::numeric_limits<double>::infinity();
    for (unsigned r = 0; r < kNumResources; ++r)
      m = std::max(m, c[r] + h * dh[r] + a * da[r]);
    return m;
  }
};

} // namespace

double kvopt::solver::cheapestStepSeconds(const ResourceCosts &costs,
                                          double groups, double reads,
                                          double maxHits, double appends) {
  AffineMax f;
  for (unsigned r = 0; r < kNumResources; ++r) {
    f.c[r] = groups * costs.weights[r] + reads * costs.miss[r] +
             appends * costs.appendDram[r];
    f.dh[r] = costs.hit[r] - costs.miss[r];
    f.da[r] = costs.appendHbm[r] - costs.appendDram[r];
  }
  const double H = std::max(0.0, std::min(maxHits, reads));
  const double A = std::max(0.0, appends);
  // The minimum of a convex piecewise-linear function over the box is at a
  // vertex of its linearity cells: a corner, a point of an edge where two
  // pieces are equal, or an interior point where three are.
  double best = std::numeric_limits<double>::infinity();
  auto offer = [&](double h, double a) {
    if (!std::isfinite(h) || !std::isfinite(a))
      return;
    best = std::min(best, f.at(std::clamp(h, 0.0, H), std::clamp(a, 0.0, A)));
  };
  for (double h : {0.0, H})
    for (double a : {0.0, A})
      offer(h, a);
  for (unsigned r = 0; r < kNumResources; ++r) {
    for (unsigned s = r + 1; s < kNumResources; ++s) {
      double dc = f.c[s] - f.c[r], ddh = f.dh[r] - f.dh[s],
             dda = f.da[r] - f.da[s];
      // Edges a = 0 and a = A: solve for h; edges h = 0 and h = H: for a.
      if (ddh != 0)
        for (double a : {0.0, A})
          offer((dc - a * dda) / ddh, a);
      if (dda != 0)
        for (double h : {0.0, H})
          offer(h, (dc - h * ddh) / dda);
      for (unsigned t = s + 1; t < kNumResources; ++t) {
        // f_r = f_s and f_r = f_t: a 2x2 system in (h, a).
        double dc2 = f.c[t] - f.c[r], ddh2 = f.dh[r] - f.dh[t],
               dda2 = f.da[r] - f.da[t];
        double det = ddh * dda2 - dda * ddh2;
        if (det != 0)
          offer((dc * dda2 - dda * dc2) / det, (ddh * dc2 - dc * ddh2) / det);
      }
    }
  }
  return best + groups * costs.fixedStepSeconds;
}

CapacityBoundResult kvopt::solver::capacityStepBound(const BlockAccesses &acc,
                                                     const ResourceCosts &costs,
                                                     uint64_t capacityBlocks) {
  const uint32_t D = acc.decodeSteps(), T = acc.tokensPerBlock();
  const uint64_t bins = uint64_t(T) + 1;
  // diff[i * bins + c]: change at step i of the number of blocks whose
  // read count is c (c >= 1), from every block's runs of constant count.
  std::vector<int64_t> diff(uint64_t(D + 1) * bins, 0);
  for (uint64_t j = 0, n = acc.totalBlocks(); j < n; ++j) {
    uint32_t c = 0, from = 0;
    for (uint32_t ev : acc.blockEvents(BlockId(j))) {
      uint32_t s = BlockAccesses::eventStep(ev);
      if (s != from) {
        if (c > 0) {
          diff[uint64_t(from) * bins + c] += 1;
          diff[uint64_t(s) * bins + c] -= 1;
        }
        from = s;
      }
      c += BlockAccesses::eventIsAdd(ev) ? 1 : uint32_t(-1);
    }
    if (c > 0 && from < D) {
      diff[uint64_t(from) * bins + c] += 1;
      diff[uint64_t(D) * bins + c] -= 1;
    }
  }
  CapacityBoundResult out;
  out.maxHits.resize(D);
  out.stepSeconds.resize(D);
  std::vector<int64_t> count(bins, 0);
  const double groups = acc.layers();
  const double appends = double(acc.layers()) * acc.batch();
  long double total = 0;
  for (uint32_t i = 0; i < D; ++i) {
    for (uint64_t c = 1; c < bins; ++c)
      count[c] += diff[uint64_t(i) * bins + c];
    uint64_t left = capacityBlocks, hits = 0;
    for (uint64_t c = bins - 1; c >= 1 && left > 0; --c) {
      uint64_t take = std::min<uint64_t>(left, uint64_t(count[c]));
      hits += take * c;
      left -= take;
    }
    double reads = double(acc.stepAccesses(i));
    out.maxHits[i] = hits;
    out.stepSeconds[i] =
        cheapestStepSeconds(costs, groups, reads, double(hits), appends);
    total += out.stepSeconds[i];
  }
  // Floating-point safety (bound.md, "rounding"): the same relative margin
  // as the Lagrangian bound, far above the error of these sums.
  out.bound = double(total * (1 - 1e-9L));
  return out;
}
