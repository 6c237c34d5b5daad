//===- Annealing.cpp - The seed's SA search over (window, fraction) ------===//
#include "kvopt/Core/Annealing.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/Random.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace kvopt;

// Why the search used to return its starting point (issue 15): with the
// temperature at 5% of the total time, cooling 0.9 and steps of at most
// W +- 2, R +- 0.1, a 16k-context trace whose points differ by 2-10% walked
// away from the start towards R = 1 (every worse move passed with
// probability 0.3-0.7) and 39 small steps never came back below R = 0.5,
// although (5, 0.1) is 7% better than (5, 0.5). Now: the seed's neighbourhood
// (W +- 3, R +- 0.3), a temperature of 0.5% of the time, restarts from the
// best point after a few iterations without progress, and a memo so that a
// point already simulated costs nothing.
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
  if (!(p.fractionStep > 0) || p.maxWindowStep == 0 || p.maxFractionSteps == 0)
    return makeFieldError("annealing", "neighbourhood",
                          "steps must be positive");
  Rng rng(p.seed);
  AnnealResult r;
  std::map<std::pair<uint32_t, int64_t>, SimMetrics> memo;
  auto evaluate = [&](uint32_t w, double f) -> llvm::Expected<SimMetrics> {
    auto key = std::make_pair(w, int64_t(std::llround(f * 1e6)));
    auto it = memo.find(key);
    if (it != memo.end())
      return it->second;
    auto m = eval(w, f);
    if (!m)
      return m.takeError();
    memo.emplace(key, *m);
    return *m;
  };
  uint32_t w = p.startWindow;
  double f = p.startFraction;
  auto first = evaluate(w, f);
  if (!first)
    return first.takeError();
  double cur = first->totalSeconds;
  r.best = *first;
  r.bestWindow = w;
  r.bestFraction = f;
  r.history.push_back({w, f, cur, true});
  double temp = p.initialTemperature * cur;
  uint32_t sinceBest = 0;
  const double minFraction = p.fractionStep;
  for (uint32_t it = 1; it < p.iterations; ++it) {
    if (p.restartAfter && sinceBest >= p.restartAfter) {
      w = r.bestWindow;
      f = r.bestFraction;
      cur = r.best.totalSeconds;
      sinceBest = 0;
    }
    int64_t dw =
        int64_t(rng.below(2 * p.maxWindowStep + 1)) - int64_t(p.maxWindowStep);
    double df = (double(rng.below(2 * p.maxFractionSteps + 1)) -
                 double(p.maxFractionSteps)) *
                p.fractionStep;
    uint32_t nw =
        uint32_t(std::clamp<int64_t>(int64_t(w) + dw, 1, p.maxWindow));
    double nf = std::clamp(f + df, minFraction, 1.0);
    nf = std::round(nf * 100) / 100;
    auto m = evaluate(nw, nf);
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
      sinceBest = 0;
    } else {
      ++sinceBest;
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
