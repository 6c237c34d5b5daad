//===- LagrangianBound.cpp - A valid lower bound at any scale -------------===//
//
// docs/bound.md proves each step. Per block, the steps from its first
// existence to the last decode step are cut into runs: maximal stretches
// with the same window, read count and entry count and no append. Inside a
// run every step and transition costs the same, and the cheapest path
// between given end states is one of two closed forms (bound.md, "runs").
// Between runs, and at append steps, transitions are priced one by one.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/LagrangianBound.h"

#include "llvm/Support/Chrono.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

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
  /// sec[w] += v * times. A zero term is skipped: the sums start at +0 and
  /// only grow by nonnegative finite products, and s + (+-0) == s for such
  /// s, so the sums are the same bit for bit; many runs add zero (no reads
  /// or no moves), and each add is a step of a dependency chain through
  /// the accumulator in memory.
  void add(uint32_t w, const ResourceVec &v, double times) {
    if (times == 0)
      return;
    ResourceVec &s = sec[w];
    for (unsigned r = 0; r < kNumResources; ++r)
      if (v[r] != 0)
        s[r] += v[r] * times;
  }
};

/// A transition between consecutive steps i -> i+1 of one block (what the
/// attribution needs; its costs enter the dynamic program directly).
struct Transition {
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
  /// Per window, the terms of a run's cost matrix that do not depend on
  /// the run, for a run that is not an append step (its entry count is
  /// then T), and the window's end step.
  struct RunConst {
    double dem, prom, tHH;
    uint32_t end;
  };
  std::vector<RunConst> runConst;
};

class BlockSolver {
public:
  explicit BlockSolver(const Ctx &ctx) : ctx(ctx) {}

  /// Minimum relaxed cost of block j.
  double solveValue(BlockId j) { return solveFast<false>(j, nullptr, nullptr); }
  /// Minimum relaxed cost of block j by a forward dynamic program over its
  /// runs. With Keep, the runs are recorded with their choices, shapes and
  /// transition data, backtracked, and attributed (accum) and planned
  /// (plan). The floating-point operations and their order are those of
  /// the evaluation as first written (unittests/Solver/ReferenceLagrangian.h,
  /// LagrangianKernelTest): only their arrangement changed (no run records
  /// without Keep, per-window terms from a table).
  template <bool Keep>
  double solveFast(BlockId j, Accum *accum, BlockPlan *plan);

private:
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
};

template <bool Keep>
double BlockSolver::solveFast(BlockId j, Accum *accum, BlockPlan *plan) {
  const BlockAccesses &acc = ctx.acc;
  const uint32_t l = acc.layerOf(j), b = acc.seqOf(j);
  const uint32_t f = acc.firstToken(j);
  const uint32_t P = ctx.P, nSteps = ctx.D, T = ctx.T;
  const bool created = f >= P;
  const uint32_t s0 = created ? f - P : 0;
  const uint32_t appBeg = created ? s0 : 0;
  const uint32_t appEnd =
      uint32_t(std::min<uint64_t>(nSteps, std::max<int64_t>(0, int64_t(f) + T - P)));
  auto entries = [&](uint32_t i) {
    uint64_t n = std::min<uint64_t>(T, uint64_t(P) + i - f);
    return double(std::max<uint64_t>(1, n));
  };
  // A run that is not an append step has T entries (its steps are at or
  // after appEnd, or the block is a full prompt block): entries(i) = T.
  const double entFull = double(T);
  // Records of HBM residence between a step's record and the next one's.
  const double recA = double((ctx.L - l) * ctx.B - b),
               recN = double(l * ctx.B + b);
  llvm::ArrayRef<uint32_t> evs = acc.blockEvents(j);
  const uint32_t *ev = evs.data(), *evEnd = ev + evs.size();
  const uint32_t *stepWindow = ctx.stepWindow.data();
  const WinCost *win = ctx.win.data();
  const Ctx::RunConst *rc = ctx.runConst.data();
  uint32_t c = 0;
  const uint32_t stop = std::min(nSteps, acc.deathStep(j));
  double vH = 0, vD = 0;
  // The previous run: its last step, entry count, window and kind (the
  // transition out of it and the terminal term).
  uint32_t prevLast = 0, prevW = 0;
  double prevEnt = 0;
  bool prevAppend = false, prevAppendRun = false, prevCreation = false;
  bool first = true;
  if (Keep)
    runs.clear();
  for (uint32_t i = s0; i < stop;) {
    while (ev < evEnd && BlockAccesses::eventStep(*ev) <= i) {
      c += BlockAccesses::eventIsAdd(*ev) ? 1 : uint32_t(-1);
      ++ev;
    }
    const uint32_t w = stepWindow[i];
    const bool creation = created && i == s0;
    const bool append = i >= appBeg && i < appEnd;
    uint32_t end;
    double ent;
    if (append) {
      end = i + 1;
      ent = entries(i);
    } else {
      end = std::min<uint32_t>(stop, rc[w].end);
      if (ev < evEnd)
        end = std::min(end, BlockAccesses::eventStep(*ev));
      if (i < appBeg)
        end = std::min(end, appBeg);
      ent = entFull;
    }
    const uint32_t len = end - i;
    // The transition into this run (between the previous run's last step
    // and this one's first) and the dynamic program's step to the run's
    // start state. A move between the reads of those steps can happen at
    // any record in between, i.e. in a group of either window: the cheaper
    // is taken. Records from this block's record in step i up to its record
    // in step i+1: (L-l)B - b in step i, lB + b in step i+1. An append in
    // the previous step goes to the block's tier after that record's
    // demotions and before its promotions (Policy.h).
    Run *r = nullptr;
    if (Keep) {
      r = &runs.emplace_back();
      r->start = i;
      r->len = end - i;
      r->c = c;
      r->w = w;
      r->ent = ent;
      r->append = append;
      r->creation = creation;
      r->intRoundTrip = false;
      if (r->len > 1)
        r->intRoundTrip = ent * (win[w].dem + win[w].prom) <
                          win[w].lambda * double(ctx.L * ctx.B);
    }
    double inH, inD;
    if (first) {
      inH = inD = 0;
      if (Keep)
        r->xChoice[H] = r->xChoice[D] = 0;
    } else {
      const uint32_t wi = stepWindow[prevLast];
      const WinCost &a = win[wi], &n = win[w];
      double dem = prevEnt * std::min(a.dem, n.dem);
      double prom = prevEnt * std::min(a.prom, n.prom);
      double resid = a.lambda * recA + n.lambda * recN;
      const bool roundTrip = dem + prom < resid;
      double xHH = roundTrip ? dem + prom : resid;
      double xHD = dem, xDH = prom, xDD = 0;
      if (prevAppend) {
        xHH += a.appH;
        xHD += std::min(a.appH, a.appD);
        xDH += a.appD;
        xDD += a.appD;
      }
      double viaHH = vH + xHH, viaDH = vD + xDH;
      double viaHD = vH + xHD, viaDD = vD + xDD;
      inH = std::min(viaHH, viaDH);
      inD = std::min(viaHD, viaDD);
      if (Keep) {
        Transition &t = r->x;
        t.wi = wi;
        t.wn = w;
        t.demWin = n.dem < a.dem ? w : wi;
        t.promWin = n.prom < a.prom ? w : wi;
        t.hhRoundTrip = roundTrip;
        t.hdAppendHbm = prevAppend ? a.appH <= a.appD : true;
        r->xChoice[H] = viaDH < viaHH ? D : H;
        r->xChoice[D] = viaDD < viaHD ? D : H;
      }
    }
    // The run's cost matrix between its start and end states (shapes,
    // bound.md "runs": for (a, b) = HH: 0 all H, 1 H D..D H; DD: 0 all D,
    // 1 D H..H D; HD: 0 H D..D, 1 H..H D; DH: 0 D H..H, 1 D..D H) and the
    // step to its end state.
    const WinCost &wc = win[w];
    double hH, hD;
    if (creation) {
      hH = wc.appH;
      hD = wc.appD;
    } else {
      hH = double(c) * wc.hit;
      hD = double(c) * wc.miss;
    }
    if (len == 1) {
      // The off-diagonal entries are infinite: each minimum is the finite
      // sum (and its choice the diagonal, shape 0).
      vH = inH + hH;
      vD = inD + hD;
      if (Keep) {
        r->rChoice[H] = H;
        r->rChoice[D] = D;
      }
    } else {
      const Ctx::RunConst &k0 = rc[w];
      const double k = len;
      const double dem = k0.dem, prom = k0.prom, tHH = k0.tHH;
      double mHH = k * hH + (k - 1) * tHH;
      double mDD = k * hD;
      bool sHH = false, sDD = false;
      if (len >= 3) {
        double hdh = 2 * hH + (k - 2) * hD + dem + prom;
        sHH = hdh < mHH;
        mHH = sHH ? hdh : mHH;
        double dhd = 2 * hD + (k - 2) * hH + (k - 3) * tHH + prom + dem;
        sDD = dhd < mDD;
        mDD = sDD ? dhd : mDD;
      }
      double hd0 = hH + dem + (k - 1) * hD;
      double hd1 = (k - 1) * hH + (k - 2) * tHH + dem + hD;
      double mHD = std::min(hd0, hd1);
      double dh0 = hD + prom + (k - 1) * hH + (k - 2) * tHH;
      double dh1 = (k - 1) * hD + prom + hH;
      double mDH = std::min(dh0, dh1);
      double fHH = inH + mHH, fDH = inD + mDH;
      double fHD = inH + mHD, fDD = inD + mDD;
      vH = std::min(fHH, fDH);
      vD = std::min(fHD, fDD);
      if (Keep) {
        // The chosen start state and shape per end state.
        bool fromD = fDH < fHH;
        r->rChoice[H] = uint8_t(fromD ? (D | (uint8_t(dh1 < dh0) << 1))
                                      : (H | (uint8_t(sHH) << 1)));
        fromD = fDD < fHD;
        r->rChoice[D] = uint8_t(fromD ? (D | (uint8_t(sDD) << 1))
                                      : (H | (uint8_t(hd1 < hd0) << 1)));
      }
    }
    prevLast = end - 1;
    prevW = w;
    prevEnt = ent;
    prevAppend = append && !creation;
    prevAppendRun = append;
    prevCreation = creation;
    first = false;
    i = end;
  }
  if (first)
    return 0;
  // Terminal: an append in the last step (not the creation) goes to DRAM
  // when the block is demoted at that record, so H pays the cheaper one.
  double termH = 0, termD = 0;
  if (prevAppendRun && !prevCreation) {
    const WinCost &w = win[prevW];
    double termAppMin = std::min(w.appH, w.appD);
    termH = termAppMin;
    termD = w.appD;
  }
  double totH = vH + termH, totD = vD + termD;
  if (Keep)
    backtrack(j, totD < totH ? D : H, termH, accum, plan);
  return std::min(totH, totD);
}

void BlockSolver::attributeRun(const Run &r, unsigned a, unsigned b,
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

void BlockSolver::attributeTransition(const Transition &t, unsigned s,
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

void BlockSolver::backtrack(BlockId j, unsigned endState, double termAppMin,
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

} // namespace

LagrangianBound::LagrangianBound(const BlockAccesses &accesses,
                                 const ResourceCosts &costs,
                                 uint64_t capacityBlocks)
    : acc(accesses), costs(costs), capacity(capacityBlocks) {}

DualPrices LagrangianBound::initialPrices(uint32_t windows) const {
  DualPrices p;
  uint32_t D = acc.decodeSteps();
  windows = std::max<uint32_t>(1, std::min(windows, D));
  p.windowSteps = (D + windows - 1) / windows;
  uint32_t n = (D + p.windowSteps - 1) / p.windowSteps;
  // A hit costs mu_H * hit[0]; a miss mu_link * miss[link]. Equal when
  // mu_H / mu_link = miss[link] / hit[0]. Where the weights alone keep HBM
  // busier than the link would be with every read a miss, HBM is the
  // bottleneck whatever the placement: all weight on HBM.
  unsigned link = costs.miss[1] >= costs.miss[2] ? 1 : 2;
  double hitT = costs.hit[0], missT = costs.miss[link];
  const double eps = 1e-3;
  ResourceVec balanced{}, hbmOnly{};
  balanced[0] = missT / (hitT + missT);
  balanced[link] = hitT / (hitT + missT);
  hbmOnly[0] = 1;
  for (ResourceVec *v : {&balanced, &hbmOnly})
    for (double &m : *v)
      m = (m + eps) / (1 + kNumResources * eps);
  const double groupsPerStep = double(acc.layers());
  for (uint32_t w = 0; w < n; ++w) {
    uint32_t beg = w * p.windowSteps, end = std::min(D, beg + p.windowSteps);
    double reads = 0;
    for (uint32_t i = beg; i < end; ++i)
      reads += double(acc.stepAccesses(i));
    double perGroup = reads / (double(end - beg) * groupsPerStep);
    bool weightsBound = costs.weights[0] >= perGroup * missT;
    p.mu.push_back(weightsBound ? hbmOnly : balanced);
  }
  p.lambda.assign(n, 0);
  return p;
}

DualValue LagrangianBound::evaluate(const DualPrices &prices, bool gradient,
                                    BlockPlan *plan, uint32_t stride,
                                    unsigned threads) const {
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
  ctx.runConst.resize(W);
  for (size_t w = 0; w < W; ++w) {
    // The run matrix's terms at T entries.
    const WinCost &c = ctx.win[w];
    const double ent = double(acc.tokensPerBlock());
    double dem = ent * c.dem, prom = ent * c.prom;
    double resid = c.lambda * double(ctx.L * ctx.B);
    ctx.runConst[w] = {dem, prom, std::min(resid, dem + prom),
                       uint32_t((w + 1) * prices.windowSteps)};
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
        if (stride > 1 && j + stride < end) {
          // A sampled evaluation jumps between blocks: start loading the
          // next sampled block's first events (a hint; no effect on values).
          const char *next = reinterpret_cast<const char *>(
              acc.blockEvents(BlockId(j + stride)).data());
          for (int k = 0; k < 4; ++k)
            __builtin_prefetch(next + 64 * k);
        }
        s += gradient || plan
                 ? solver.solveFast<true>(
                       BlockId(j), gradient ? &accums[c] : nullptr, plan)
                 : solver.solveValue(BlockId(j));
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

uint32_t LagrangianBound::defaultIterations(uint32_t windows,
                                            uint32_t stride) const {
  double work = (double(acc.totalEvents()) +
                 double(acc.totalBlocks()) * std::max<uint32_t>(1, windows)) /
                std::max<uint32_t>(1, stride);
  double n = 3e8 / std::max(1.0, work);
  return uint32_t(std::clamp(n, 8.0, 60.0));
}

uint32_t LagrangianBound::defaultStride() const {
  double events = double(acc.totalEvents());
  if (events <= 5e7)
    return 1;
  return uint32_t(std::clamp(std::ceil(events / 2.5e7), 1.0, 64.0));
}

LagrangianResult LagrangianBound::optimize(const LagrangianOptions &options,
                                           BlockPlan *plan) const {
  LagrangianOptions o = options;
  if (o.sampleStride == 0)
    o.sampleStride = defaultStride();
  if (o.maxIterations == 0) {
    // By size: the extreme starts (5 evaluations, from a budget of 20) and
    // the bisection rounds (a quarter of the budget, at most 8) come out of
    // the same budget of evaluations, so the search costs what the plain
    // ascent did.
    uint32_t n = defaultIterations(o.windows, o.sampleStride);
    if (n < 20)
      o.extremeStarts = false;
    o.bisectionRounds = std::min(o.bisectionRounds, n / 4);
    o.maxIterations = n - o.bisectionRounds - (o.extremeStarts ? 5 : 0);
  }
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  LagrangianResult res;
  DualPrices p = initialPrices(o.windows);
  DualPrices best = p;
  double bestVal = -kInf;
  const uint32_t L = acc.layers(), B = acc.batch(), T = acc.tokensPerBlock();
  const uint32_t D = acc.decodeSteps();
  const double eta0 = o.muStep, beta0 = o.lambdaStep;
  auto overTime = [&] {
    return o.timeLimitSeconds > 0 && elapsed() > o.timeLimitSeconds * 0.8;
  };
  // Extreme starts (bound.md, "Maximising"): every window's mu at one
  // vertex of the simplex (all weight on one resource), no capacity price.
  // Each is one (sampled) evaluation; the ascent starts from the best of
  // them and the balanced point. Any multipliers give a valid bound, so
  // this only chooses where to search.
  if (o.extremeStarts) {
    double startVal = -kInf;
    DualPrices start = p;
    for (int v = -1; v < int(kNumResources) && !overTime(); ++v) {
      DualPrices q = p;
      if (v >= 0)
        for (ResourceVec &mu : q.mu)
          for (unsigned r = 0; r < kNumResources; ++r)
            mu[r] = r == unsigned(v) ? 1.0 : 0.0;
      DualValue sv = evaluate(q, false, nullptr, o.sampleStride, o.threads);
      if (sv.raw > startVal) {
        startVal = sv.raw;
        start = q;
      }
    }
    p = start;
    best = p;
  }
  for (uint32_t it = 0; it < o.maxIterations; ++it) {
    // The iteration budget decides; a time limit only when the user set one
    // (the result then says so).
    if (it > 0 && o.timeLimitSeconds > 0 &&
        elapsed() > o.timeLimitSeconds * 0.8) {
      res.stoppedByTimeLimit = true;
      break;
    }
    DualValue v = evaluate(p, true, nullptr, o.sampleStride, o.threads);
    res.history.push_back(v.raw);
    ++res.iterations;
    if (v.raw > bestVal) {
      bestVal = v.raw;
      best = p;
    }
    if (o.progress)
      o.progress("bound: dual ascent", double(it + 1) / o.maxIterations);
    double step = 1.0 / std::sqrt(double(it + 1));
    for (size_t w = 0; w < p.windows(); ++w) {
      // Mirror (exponentiated-gradient) ascent on the simplex.
      ResourceVec &mu = p.mu[w];
      const ResourceVec &s = v.resourceSeconds[w];
      double smax = std::max({s[0], s[1], s[2], s[3]});
      if (smax <= 0)
        continue;
      double z = 0;
      for (unsigned r = 0; r < kNumResources; ++r) {
        mu[r] = std::max(mu[r], 1e-9) * std::exp(eta0 * step * s[r] / smax);
        z += mu[r];
      }
      for (double &m : mu)
        m /= z;
      // Projected ascent on the capacity price, in units of the value of
      // one fully read block per record.
      uint32_t beg = uint32_t(w) * p.windowSteps;
      uint32_t steps = std::min(D, beg + p.windowSteps) - beg;
      double records = double(steps) * L * B;
      double viol = (v.occupancy[w] / records - double(capacity)) /
                    double(capacity);
      double unit = dot(mu, costs.miss) * T / (double(L) * B);
      p.lambda[w] = std::max(0.0, p.lambda[w] + beta0 * step * unit * viol);
    }
  }
  // Per-window capacity price by bisection (bound.md, "Maximising"): at
  // the best mu, every window's lambda is bracketed in [0, hi] where hi
  // prices a record of HBM residence above what a fully read block saves
  // in it (so the relaxed solution keeps nothing resident there); each
  // round moves every window's lambda to its bracket's middle and keeps
  // the half where the relaxed occupancy crosses the capacity. Windows
  // interact only through the blocks' paths, so this is a heuristic
  // search; every point it visits is a valid multiplier.
  if (o.bisectionRounds > 0 && !res.stoppedByTimeLimit) {
    DualPrices q = best;
    const size_t W = q.windows();
    std::vector<double> lo(W, 0), hi(W);
    for (size_t w = 0; w < W; ++w) {
      double save = 0;
      for (unsigned r = 0; r < kNumResources; ++r)
        save += q.mu[w][r] * (costs.miss[r] - costs.hit[r]);
      hi[w] = std::max(0.0, save) * T / double(L) / double(B) * 2;
    }
    for (uint32_t k = 0; k < o.bisectionRounds && !overTime(); ++k) {
      for (size_t w = 0; w < W; ++w)
        q.lambda[w] = 0.5 * (lo[w] + hi[w]);
      DualValue v = evaluate(q, true, nullptr, o.sampleStride, o.threads);
      res.history.push_back(v.raw);
      if (v.raw > bestVal) {
        bestVal = v.raw;
        best = q;
      }
      if (o.progress)
        o.progress("bound: capacity price bisection",
                   double(k + 1) / o.bisectionRounds);
      for (size_t w = 0; w < W; ++w) {
        uint32_t beg = uint32_t(w) * q.windowSteps;
        uint32_t steps = std::min(D, beg + q.windowSteps) - beg;
        double records = double(steps) * L * B;
        (v.occupancy[w] > records * double(capacity) ? lo : hi)[w] =
            q.lambda[w];
      }
    }
  }
  // The bound: a full evaluation at the best multipliers found (which also
  // writes the plan when asked).
  if (o.progress)
    o.progress("bound: full evaluation", 0);
  DualValue full = evaluate(best, false, plan, 1, o.threads);
  res.bound = full.bound;
  res.sampleStride = o.sampleStride;
  res.prices = best;
  res.seconds = elapsed();
  return res;
}
