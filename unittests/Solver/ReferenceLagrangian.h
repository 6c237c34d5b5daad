//===- ReferenceLagrangian.h - The bound's evaluation as first written -*- C++ -*-===//
//
// A verbatim copy of LagrangianBound::evaluate and its per-block dynamic
// program (BlockSolver, LagrangianBound.cpp) as they were before the
// value-only kernel (main at 8c11908). LagrangianTest runs it next to the
// library's evaluation on random small problems and random multipliers and
// requires every number (bound, raw value, subgradient data, plan) to be
// the same bit for bit.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_UNITTESTS_SOLVER_REFERENCELAGRANGIAN_H
#define KVOPT_UNITTESTS_SOLVER_REFERENCELAGRANGIAN_H

#include "kvopt/Solver/LagrangianBound.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace kvopt {
namespace solver {
namespace reference {

namespace lagrangian_detail {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Blocks of an evaluation are cut into this many chunks (fewer for tiny
/// problems) whatever the thread count.
constexpr uint64_t kChunks = 256;
enum : unsigned { H = 0, D = 1 };

/// Multiplier-weighted per-entry costs of one window.
struct WinCost {
  double hit, miss, prom, dem, appH, appD, lambda;
};

/// Attribution of the relaxed solution to windows (subgradient data).
struct Accum {
  std::vector<ResourceVec> sec;
  std::vector<double> occ;
  explicit Accum(size_t w) : sec(w, ResourceVec{}), occ(w, 0) {}
  void add(uint32_t w, const ResourceVec &v, double times) {
    for (unsigned r = 0; r < kNumResources; ++r)
      sec[w][r] += v[r] * times;
  }
};

/// A transition between consecutive steps i -> i+1 of one block.
struct Transition {
  double cost[2][2];
  bool hhRoundTrip;  ///< HH priced as demote + promote
  bool hdAppendHbm;  ///< HD append charged as the HBM append
  uint32_t demWin, promWin, wi, wn;
};

/// One run of identical steps.
struct Run {
  uint32_t start, len, c, w;
  double ent;
  bool append, creation;
  bool intRoundTrip;
  /// For end state b: start state a | shape << 1.
  uint8_t rChoice[2];
  /// For start state a: previous run's end state.
  uint8_t xChoice[2];
  Transition x; ///< the transition into this run (unused for the first)
};

struct Ctx {
  const BlockAccesses &acc;
  const ResourceCosts &costs;
  std::vector<WinCost> win;
  uint32_t windowSteps;
  uint32_t L, B, P, D, T;
  /// Window of each step 0..D (a table: the division was a visible share
  /// of the per-run work).
  std::vector<uint32_t> stepWindow;
};

class BlockSolver {
public:
  explicit BlockSolver(const Ctx &ctx) : ctx(ctx) {}

  /// Minimum relaxed cost of block j; optionally attribute and plan.
  double solve(BlockId j, Accum *accum, BlockPlan *plan);

private:
  uint32_t winOf(uint32_t step) const { return ctx.stepWindow[step]; }
  Transition transition(uint32_t i, double ent, bool appendStep,
                        uint32_t l, uint32_t b) const;
  void runMatrix(const Run &r, double out[2][2], uint8_t shape[2][2]) const;
  void backtrack(BlockId j, unsigned endState, double termAppendMin,
                 Accum *accum, BlockPlan *plan);
  void attributeRun(const Run &r, unsigned a, unsigned b, unsigned shape,
                    Accum &accum) const;
  void attributeTransition(const Transition &t, unsigned s, unsigned a,
                           double ent, bool appendStep, uint32_t l,
                           uint32_t b, Accum &accum) const;

  const Ctx &ctx;
  std::vector<Run> runs;
  std::vector<uint8_t> stateScratch;
  double v[2];
};

inline Transition BlockSolver::transition(uint32_t i, double ent, bool appendStep,
                                   uint32_t l, uint32_t b) const {
  Transition t;
  t.wi = winOf(i);
  t.wn = winOf(i + 1);
  const WinCost &a = ctx.win[t.wi], &n = ctx.win[t.wn];
  // A move between the reads of steps i and i+1 can happen at any record
  // in between, i.e. in a group of window wi or wn: take the cheaper.
  t.demWin = n.dem < a.dem ? t.wn : t.wi;
  t.promWin = n.prom < a.prom ? t.wn : t.wi;
  double dem = ent * std::min(a.dem, n.dem);
  double prom = ent * std::min(a.prom, n.prom);
  // Records from this block's record in step i up to (excluding) its
  // record in step i+1: (L-l)B - b in step i, lB + b in step i+1.
  double resid = a.lambda * double((ctx.L - l) * ctx.B - b) +
                 n.lambda * double(l * ctx.B + b);
  t.hhRoundTrip = dem + prom < resid;
  t.cost[H][H] = t.hhRoundTrip ? dem + prom : resid;
  t.cost[H][D] = dem;
  t.cost[D][H] = prom;
  t.cost[D][D] = 0;
  t.hdAppendHbm = true;
  if (appendStep) {
    // The new token goes to the block's tier after this record's
    // demotions and before its promotions (Policy.h).
    t.cost[H][H] += a.appH;
    t.hdAppendHbm = a.appH <= a.appD;
    t.cost[H][D] += std::min(a.appH, a.appD);
    t.cost[D][H] += a.appD;
    t.cost[D][D] += a.appD;
  }
  return t;
}

/// Shapes (bound.md, "runs"): for (a, b) = HH: 0 all H, 1 H D..D H;
/// DD: 0 all D, 1 D H..H D; HD: 0 H D..D, 1 H..H D; DH: 0 D H..H, 1 D..D H.
inline void BlockSolver::runMatrix(const Run &r, double out[2][2],
                            uint8_t shape[2][2]) const {
  const WinCost &w = ctx.win[r.w];
  double k = r.len;
  double hH, hD;
  if (r.creation) {
    hH = w.appH;
    hD = w.appD;
  } else {
    hH = double(r.c) * w.hit;
    hD = double(r.c) * w.miss;
  }
  shape[0][0] = shape[0][1] = shape[1][0] = shape[1][1] = 0;
  if (r.len == 1) {
    out[H][H] = hH;
    out[D][D] = hD;
    out[H][D] = out[D][H] = kInf;
    return;
  }
  double dem = r.ent * w.dem, prom = r.ent * w.prom;
  double resid = w.lambda * double(ctx.L * ctx.B);
  double tHH = std::min(resid, dem + prom);
  double allH = k * hH + (k - 1) * tHH;
  double allD = k * hD;
  out[H][H] = allH;
  out[D][D] = allD;
  if (r.len >= 3) {
    double hdh = 2 * hH + (k - 2) * hD + dem + prom;
    if (hdh < allH) {
      out[H][H] = hdh;
      shape[H][H] = 1;
    }
    double dhd = 2 * hD + (k - 2) * hH + (k - 3) * tHH + prom + dem;
    if (dhd < allD) {
      out[D][D] = dhd;
      shape[D][D] = 1;
    }
  }
  double hd0 = hH + dem + (k - 1) * hD;
  double hd1 = (k - 1) * hH + (k - 2) * tHH + dem + hD;
  out[H][D] = std::min(hd0, hd1);
  shape[H][D] = hd1 < hd0;
  double dh0 = hD + prom + (k - 1) * hH + (k - 2) * tHH;
  double dh1 = (k - 1) * hD + prom + hH;
  out[D][H] = std::min(dh0, dh1);
  shape[D][H] = dh1 < dh0;
}

inline double BlockSolver::solve(BlockId j, Accum *accum, BlockPlan *plan) {
  const BlockAccesses &acc = ctx.acc;
  const uint32_t l = acc.layerOf(j), b = acc.seqOf(j);
  const uint32_t f = acc.firstToken(j);
  const uint32_t P = ctx.P, nSteps = ctx.D, T = ctx.T;
  const bool created = f >= P;
  const uint32_t s0 = created ? f - P : 0;
  // Steps at which a token is appended to this block: [appBeg, appEnd).
  const uint32_t appBeg = created ? s0 : 0;
  const uint32_t appEnd =
      uint32_t(std::min<uint64_t>(nSteps, std::max<int64_t>(0, int64_t(f) + T - P)));
  auto entries = [&](uint32_t i) {
    uint64_t n = std::min<uint64_t>(T, uint64_t(P) + i - f);
    return double(std::max<uint64_t>(1, n));
  };
  llvm::ArrayRef<uint32_t> ev = acc.blockEvents(j);
  size_t evPos = 0;
  uint32_t c = 0;
  // The runs are kept only for the backtrack; the bound alone needs the
  // dynamic program's two values and the previous run (one pass, the same
  // operations in the same order as over a stored list).
  const bool keep = accum || plan;
  runs.clear();
  Run prev;
  bool first = true;
  double m[2][2];
  uint8_t shape[2][2];
  // A block of a local layer ends at its death step: no reads, moves or
  // occupancy after it (bound.md section 3c).
  const uint32_t stop = std::min(nSteps, acc.deathStep(j));
  for (uint32_t i = s0; i < stop;) {
    while (evPos < ev.size() && BlockAccesses::eventStep(ev[evPos]) <= i) {
      c += BlockAccesses::eventIsAdd(ev[evPos]) ? 1 : uint32_t(-1);
      ++evPos;
    }
    Run r;
    r.start = i;
    r.c = c;
    r.w = winOf(i);
    r.creation = created && i == s0;
    r.append = i >= appBeg && i < appEnd;
    r.ent = entries(i);
    uint32_t end;
    if (r.append) {
      end = i + 1;
    } else {
      end = std::min<uint32_t>(stop, (r.w + 1) * ctx.windowSteps);
      if (evPos < ev.size())
        end = std::min(end, BlockAccesses::eventStep(ev[evPos]));
      if (i < appBeg)
        end = std::min(end, appBeg);
    }
    r.len = end - i;
    i = end;
    // Forward DP over runs.
    double in[2];
    if (first) {
      // Prompt blocks choose their initial tier freely (initialisation);
      // a created block's tier is its creation state (run cost).
      in[H] = in[D] = 0;
      r.xChoice[H] = r.xChoice[D] = 0;
    } else {
      const Run &p = prev;
      uint32_t last = p.start + p.len - 1;
      r.x = transition(last, p.ent, p.append && !p.creation, l, b);
      for (unsigned a = 0; a < 2; ++a) {
        double viaH = v[H] + r.x.cost[H][a], viaD = v[D] + r.x.cost[D][a];
        in[a] = std::min(viaH, viaD);
        r.xChoice[a] = viaD < viaH ? D : H;
      }
    }
    runMatrix(r, m, shape);
    r.intRoundTrip = false;
    if (keep && r.len > 1) {
      const WinCost &w = ctx.win[r.w];
      r.intRoundTrip =
          r.ent * (w.dem + w.prom) < w.lambda * double(ctx.L * ctx.B);
    }
    double nv[2];
    for (unsigned bb = 0; bb < 2; ++bb) {
      double fromH = in[H] + m[H][bb], fromD = in[D] + m[D][bb];
      unsigned a = fromD < fromH ? D : H;
      nv[bb] = std::min(fromH, fromD);
      r.rChoice[bb] = uint8_t(a | (shape[a][bb] << 1));
    }
    v[H] = nv[H];
    v[D] = nv[D];
    if (keep)
      runs.push_back(r);
    prev = r;
    first = false;
  }
  if (first)
    return 0;
  // Terminal: an append in the last step (not the creation) goes to DRAM
  // when the block is demoted at that record, so H pays the cheaper one.
  const Run &lastRun = prev;
  double termH = 0, termD = 0, termAppMin = 0;
  if (lastRun.append && !lastRun.creation) {
    const WinCost &w = ctx.win[lastRun.w];
    termAppMin = std::min(w.appH, w.appD);
    termH = termAppMin;
    termD = w.appD;
  }
  double totH = v[H] + termH, totD = v[D] + termD;
  unsigned endState = totD < totH ? D : H;
  if (accum || plan)
    backtrack(j, endState, termAppMin, accum, plan);
  return std::min(totH, totD);
}

inline void BlockSolver::attributeRun(const Run &r, unsigned a, unsigned b,
                               unsigned shape, Accum &accum) const {
  const ResourceCosts &cs = ctx.costs;
  uint32_t k = r.len;
  // Count H steps, D steps, internal HH transitions and moves.
  uint32_t nH = 0, nD = 0, nHH = 0, nDem = 0, nProm = 0;
  if (k == 1) {
    (a == H ? nH : nD) = 1;
  } else if (a == H && b == H) {
    if (shape == 0) {
      nH = k;
      nHH = k - 1;
    } else {
      nH = 2, nD = k - 2, nDem = nProm = 1;
    }
  } else if (a == D && b == D) {
    if (shape == 0) {
      nD = k;
    } else {
      nD = 2, nH = k - 2, nHH = k - 3, nDem = nProm = 1;
    }
  } else if (a == H) {
    nDem = 1;
    if (shape == 0)
      nH = 1, nD = k - 1;
    else
      nH = k - 1, nHH = k - 2, nD = 1;
  } else {
    nProm = 1;
    if (shape == 0)
      nD = 1, nH = k - 1, nHH = k - 2;
    else
      nD = k - 1, nH = 1;
  }
  if (r.creation) {
    accum.add(r.w, a == H ? cs.appendHbm : cs.appendDram, 1);
  } else {
    accum.add(r.w, cs.hit, double(nH) * r.c);
    accum.add(r.w, cs.miss, double(nD) * r.c);
  }
  if (r.intRoundTrip) {
    nDem += nHH;
    nProm += nHH;
  } else {
    accum.occ[r.w] += double(nHH) * ctx.L * ctx.B;
  }
  accum.add(r.w, cs.demote, nDem * r.ent);
  accum.add(r.w, cs.promote, nProm * r.ent);
}

inline void BlockSolver::attributeTransition(const Transition &t, unsigned s,
                                      unsigned a, double ent, bool appendStep,
                                      uint32_t l, uint32_t b,
                                      Accum &accum) const {
  const ResourceCosts &cs = ctx.costs;
  if (s == H && a == H) {
    if (t.hhRoundTrip) {
      accum.add(t.demWin, cs.demote, ent);
      accum.add(t.promWin, cs.promote, ent);
    } else {
      accum.occ[t.wi] += double((ctx.L - l) * ctx.B - b);
      accum.occ[t.wn] += double(l * ctx.B + b);
    }
  } else if (s == H) {
    accum.add(t.demWin, cs.demote, ent);
  } else if (a == H) {
    accum.add(t.promWin, cs.promote, ent);
  }
  if (appendStep) {
    bool hbm = s == H && (a == H || t.hdAppendHbm);
    accum.add(t.wi, hbm ? cs.appendHbm : cs.appendDram, 1);
  }
}

inline void BlockSolver::backtrack(BlockId j, unsigned endState, double termAppMin,
                            Accum *accum, BlockPlan *plan) {
  const uint32_t l = ctx.acc.layerOf(j), b = ctx.acc.seqOf(j);
  // Walk runs backwards collecting (a, b, shape) per run.
  std::vector<uint8_t> &st = stateScratch;
  st.resize(runs.size() * 2);
  unsigned bState = endState;
  for (size_t k = runs.size(); k-- > 0;) {
    const Run &r = runs[k];
    unsigned a = r.rChoice[bState] & 1, shape = r.rChoice[bState] >> 1;
    st[2 * k] = uint8_t(a | (shape << 1));
    st[2 * k + 1] = uint8_t(bState);
    bState = k > 0 ? r.xChoice[a] : 0;
  }
  if (accum) {
    const Run &last = runs.back();
    if (last.append && !last.creation) {
      const WinCost &w = ctx.win[last.w];
      bool hbm = endState == H && w.appH <= w.appD;
      (void)termAppMin;
      accum->add(last.w, hbm ? ctx.costs.appendHbm : ctx.costs.appendDram, 1);
    }
  }
  unsigned prevState = 2;
  for (size_t k = 0; k < runs.size(); ++k) {
    const Run &r = runs[k];
    unsigned a = st[2 * k] & 1, shape = st[2 * k] >> 1, e = st[2 * k + 1];
    if (accum) {
      if (k > 0) {
        const Run &p = runs[k - 1];
        attributeTransition(r.x, prevState, a, p.ent, p.append && !p.creation,
                            l, b, *accum);
      }
      attributeRun(r, a, e, shape, *accum);
    }
    if (plan) {
      // Emit the run's state sequence as switch points.
      auto emit = [&](uint32_t step, unsigned s) {
        if (prevState == 2) {
          plan->firstInHbm[j] = s == H;
        } else if (s != prevState) {
          plan->switches.push_back((step << 1) | (s == H ? 1u : 0u));
        }
        prevState = s;
      };
      uint32_t k0 = r.start, len = r.len;
      if (len == 1) {
        emit(k0, a);
      } else if (a == e) {
        emit(k0, a);
        if (shape == 1) {
          emit(k0 + 1, a ^ 1);
          emit(k0 + len - 1, a);
        }
      } else if (shape == 0) {
        emit(k0, a);
        emit(k0 + 1, e);
      } else {
        emit(k0, a);
        emit(k0 + len - 1, e);
      }
    }
    prevState = e;
  }
}

} // namespace lagrangian_detail

inline DualValue evaluate(const BlockAccesses &acc, const ResourceCosts &costs,
                          uint64_t capacity, const DualPrices &prices,
                          bool gradient, BlockPlan *plan = nullptr,
                          uint32_t stride = 1, unsigned threads = 1) {
  using namespace lagrangian_detail;
  Ctx ctx{acc,
          costs,
          {},
          prices.windowSteps,
          acc.layers(),
          acc.batch(),
          acc.promptLen(),
          acc.decodeSteps(),
          acc.tokensPerBlock()};
  const size_t W = prices.windows();
  ctx.stepWindow.resize(size_t(acc.decodeSteps()) + 1);
  for (uint32_t i = 0; i <= acc.decodeSteps(); ++i)
    ctx.stepWindow[i] = i / prices.windowSteps;
  ctx.win.resize(W);
  for (size_t w = 0; w < W; ++w) {
    const ResourceVec &mu = prices.mu[w];
    ctx.win[w] = {dot(mu, costs.hit),       dot(mu, costs.miss),
                  dot(mu, costs.promote),   dot(mu, costs.demote),
                  dot(mu, costs.appendHbm), dot(mu, costs.appendDram),
                  std::max(0.0, prices.lambda[w])};
  }
  const uint64_t N = acc.totalBlocks();
  stride = std::max<uint32_t>(1, stride);
  if (plan) {
    threads = 1;
    plan->firstInHbm.assign(N, 0);
    plan->offsets.assign(N + 1, 0);
    plan->switches.clear();
  }
  // Fixed chunking, independent of the thread count: each chunk's sum and
  // subgradient data are computed alone and reduced in chunk order, so the
  // value is the same on 1 or 64 threads.
  const uint64_t chunks = plan ? 1 : std::min<uint64_t>(N, kChunks);
  threads = unsigned(std::max<uint64_t>(1, std::min<uint64_t>(threads, chunks)));
  std::vector<long double> sums(std::max<uint64_t>(1, chunks), 0);
  std::vector<Accum> accums;
  if (gradient)
    accums.assign(sums.size(), Accum(W));
  std::atomic<uint64_t> next{0};
  auto work = [&]() {
    BlockSolver solver(ctx);
    for (uint64_t c = next++; c < chunks; c = next++) {
      uint64_t beg = N * c / chunks, end = N * (c + 1) / chunks;
      long double s = 0;
      for (uint64_t j = beg; j < end; ++j) {
        if (plan)
          plan->offsets[j] = plan->switches.size();
        if (j % stride != 0)
          continue;
        s += solver.solve(BlockId(j), gradient ? &accums[c] : nullptr, plan);
      }
      sums[c] = s;
    }
  };
  if (threads == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back(work);
    for (auto &th : pool)
      th.join();
  }
  long double blocks = 0;
  for (long double s : sums)
    blocks += s;
  blocks *= stride;
  // Constant terms: weights and the fixed term of every (step, layer), and
  // -C * lambda per record.
  const uint32_t D = acc.decodeSteps(), L = acc.layers(), B = acc.batch();
  long double positive = blocks, negative = 0;
  DualValue out;
  if (gradient) {
    out.resourceSeconds.assign(W, ResourceVec{});
    out.occupancy.assign(W, 0);
  }
  for (size_t w = 0; w < W; ++w) {
    uint32_t beg = uint32_t(w) * prices.windowSteps;
    uint32_t steps = std::min(D, beg + prices.windowSteps) - beg;
    double groups = double(steps) * L;
    positive += (long double)groups *
                (dot(prices.mu[w], costs.weights) + costs.fixedStepSeconds);
    negative += (long double)ctx.win[w].lambda * double(capacity) * groups * B;
    if (gradient) {
      for (const Accum &a : accums) {
        for (unsigned r = 0; r < kNumResources; ++r)
          out.resourceSeconds[w][r] += a.sec[w][r] * stride;
        out.occupancy[w] += a.occ[w] * stride;
      }
      for (unsigned r = 0; r < kNumResources; ++r)
        out.resourceSeconds[w][r] += groups * costs.weights[r];
    }
  }
  out.raw = double(positive - negative);
  // Floating-point safety (bound.md, "rounding"): every term is a sum of
  // O(runs) nonnegative rounded products; shrink the positive part and
  // grow the negative one by a relative margin far above their error.
  const double delta = 1e-9;
  out.bound = double(positive * (1 - delta) - negative * (1 + delta));
  return out;
}

} // namespace reference
} // namespace solver
} // namespace kvopt

#endif // KVOPT_UNITTESTS_SOLVER_REFERENCELAGRANGIAN_H
