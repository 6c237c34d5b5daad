//===- Annealing.cpp - The seed's SA search over (window, fraction) ------===//
#include "kvopt/Core/Annealing.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/Random.h"

#include <algorithm>
#include <cmath>

using namespace kvopt;

llvm::Expected<AnnealResult>
kvopt::annealLookahead(const LookaheadEvaluator &eval, const AnnealParams &p) {
  if (p.iterations == 0)
    return makeFieldError("annealing", "iterations", "must be positive");
  if (p.iterations > kMaxAnnealIterations)
    return makeFieldError(
        "annealing", "iterations",
        std::to_string(p.iterations) + " is above the limit of " +
            std::to_string(kMaxAnnealIterations) +
            " (each iteration simulates the whole trace)");
  if (p.startWindow == 0 || p.startWindow > p.maxWindow)
    return makeFieldError("annealing", "start_window",
                          "must be in 1..max_window");
  if (!(p.startFraction > 0 && p.startFraction <= 1))
    return makeFieldError("annealing", "start_fraction", "must be in (0, 1]");
  Rng rng(p.seed);
  AnnealResult r;
  uint32_t w = p.startWindow;
  double f = p.startFraction;
  auto first = eval(w, f);
  if (!first)
    return first.takeError();
  double cur = first->totalSeconds;
  r.best = *first;
  r.bestWindow = w;
  r.bestFraction = f;
  r.history.push_back({w, f, cur, true});
  double temp = p.initialTemperature * cur;
  for (uint32_t it = 1; it < p.iterations; ++it) {
    // Neighbour: window +-1..2, fraction +-0.1 (clamped to the domain).
    int dw = int(rng.below(5)) - 2;
    double df = (double(rng.below(5)) - 2.0) * 0.05;
    uint32_t nw =
        uint32_t(std::clamp<int64_t>(int64_t(w) + dw, 1, p.maxWindow));
    double nf = std::clamp(f + df, 0.05, 1.0);
    nf = std::round(nf * 100) / 100;
    auto m = eval(nw, nf);
    if (!m)
      return m.takeError();
    double t = m->totalSeconds;
    bool accept =
        t <= cur || (temp > 0 && rng.unit() < std::exp((cur - t) / temp));
    if (accept) {
      w = nw;
      f = nf;
      cur = t;
    }
    if (t < r.best.totalSeconds) {
      r.best = *m;
      r.bestWindow = nw;
      r.bestFraction = nf;
    }
    r.history.push_back({nw, nf, t, accept});
    temp *= p.cooling;
  }
  return r;
}

llvm::Expected<AnnealResult>
kvopt::annealLookahead(const TraceSource &trace, const Problem &problem,
                       const AnnealParams &params) {
  return annealLookahead(
      [&](uint32_t w, double f) -> llvm::Expected<SimMetrics> {
        auto src = trace.reopen();
        if (!src)
          return src.takeError();
        auto policy = createLookaheadPolicy(w, f);
        return simulate(**src, problem, *policy);
      },
      params);
}
