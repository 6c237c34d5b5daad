//===- PlacementProgram.cpp - The placement problem as an integer program -===//
//
// docs/bound.md section 2 states the model; this file writes it down one
// constraint family at a time, in the simulator's step order (Policy.h):
// reads on the placement before the record's actions, then demotions, the
// new token, promotions; capacity after every record.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/PlacementProgram.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Solver/ResourceCosts.h"

#include <cmath>
#include <map>
#include <numeric>
#include <set>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

constexpr int64_t kCoefLimit = int64_t(1) << 62;

/// Exact integer from a double, or an error naming the field.
llvm::Expected<int64_t> integral(double v, const char *field) {
  if (!(v >= 0) || v != std::floor(v) || v > 9007199254740992.0)
    return makeFieldError("exact model", field,
                          "must be a whole number of bytes (per second) "
                          "below 2^53 for the exact integer model, got " +
                              std::to_string(v));
  return int64_t(v);
}

llvm::Expected<int64_t> checkedMul(int64_t a, int64_t b, const char *what) {
  __int128 p = (__int128)a * b;
  if (p > kCoefLimit || p < -kCoefLimit)
    return makeFieldError("exact model", what,
                          "coefficient overflows 62 bits; use smaller "
                          "bandwidth denominators");
  return int64_t(p);
}

/// Accumulates a linear expression with merged terms.
struct Expr {
  std::map<uint32_t, int64_t> terms;
  void add(int64_t var, int64_t coef) {
    if (var >= 0 && coef != 0)
      terms[uint32_t(var)] += coef;
  }
  LinearConstraint geq(int64_t rhs) const {
    LinearConstraint c;
    for (auto [v, k] : terms)
      if (k != 0)
        c.terms.push_back({v, k});
    c.rel = Relation::GE;
    c.rhs = rhs;
    return c;
  }
};

} // namespace

Schedule PlacementProgram::toSchedule(const std::vector<int64_t> &val) const {
  Schedule s;
  auto at = [&](int64_t var) { return var >= 0 && val[size_t(var)] != 0; };
  for (uint32_t j = 0; j < blocks; ++j)
    if (at(xVar[size_t(j) * (records + 1)]))
      s.initialHbm.push_back(BlockId(j));
  std::vector<BlockId> dem, pro;
  for (uint32_t r = 0; r < records; ++r) {
    dem.clear();
    pro.clear();
    for (uint32_t j = 0; j < blocks; ++j) {
      size_t k = size_t(j) * records + r;
      if (at(demVar[k]))
        dem.push_back(BlockId(j));
      if (at(proVar[k]))
        pro.push_back(BlockId(j));
    }
    bool newHbm = openedBlock[r] >= 0 && at(newVar[size_t(openedBlock[r])]);
    s.addRecord(dem, pro, newHbm);
  }
  return s;
}

llvm::Expected<PlacementProgram>
kvopt::solver::buildPlacementProgram(const Problem &problem,
                                     const TraceSource &trace,
                                     const ProgramLimits &limits) {
  auto costs = ResourceCosts::fromModel(problem.model);
  if (!costs)
    return costs.takeError();
  const Workload &w = problem.work;
  const TraceHeader &h = trace.header();
  if (auto e = checkTraceMatchesWorkload(h, w, trace.describe()))
    return std::move(e);
  const TimeModelParams &p = problem.model.params();
  // Scale: M = lcm of the bandwidths, so M / B is an integer for each.
  int64_t bw[6];
  const double bwd[6] = {p.hbmRead, p.hbmWrite, p.dramRead,
                         p.dramWrite, p.h2d,      p.d2h};
  const char *bwName[6] = {"hbm_read_bandwidth",  "hbm_write_bandwidth",
                           "dram_read_bandwidth", "dram_write_bandwidth",
                           "h2d_bandwidth",       "d2h_bandwidth"};
  int64_t M = 1;
  for (int k = 0; k < 6; ++k) {
    auto v = integral(bwd[k], bwName[k]);
    if (!v)
      return v.takeError();
    bw[k] = *v;
    __int128 l = (__int128)M / std::gcd(M, bw[k]) * bw[k];
    if (l > kCoefLimit)
      return makeFieldError("exact model", bwName[k],
                            "the least common multiple of the bandwidths "
                            "overflows 62 bits");
    M = int64_t(l);
  }
  auto eBytes = integral(p.entryBytes, "entry_bytes");
  if (!eBytes)
    return eBytes.takeError();
  auto wBytes = integral(p.weightBytesPerStep, "weight_bytes");
  if (!wBytes)
    return wBytes.takeError();
  // Scaled time of one entry on each resource, and of the weights.
  int64_t k[6];
  for (int q = 0; q < 6; ++q) {
    auto v = checkedMul(M / bw[q], *eBytes, bwName[q]);
    if (!v)
      return v.takeError();
    k[q] = *v;
  }
  const int64_t kHr = k[0], kHw = k[1], kDr = k[2], kDw = k[3], kH2d = k[4],
                kD2h = k[5];
  auto wConst = checkedMul(M / bw[0], *wBytes, "weight_bytes");
  if (!wConst)
    return wConst.takeError();

  const uint32_t L = h.layers, B = h.batch, P = h.promptLen, D = h.decodeSteps;
  const uint32_t T = w.tokensPerBlock;
  const uint64_t K = w.blocksPerSeqLayer();
  const uint64_t N = uint64_t(B) * L * K;
  const uint64_t R = uint64_t(D) * L * B;
  // Rough size check before allocating: 3 variables per block and record.
  if (N * (R + 1) * 3 + R > limits.maxVariables)
    return makeFieldError("exact model", "size",
                          std::to_string(N) + " blocks x " + std::to_string(R) +
                              " records need about " +
                              std::to_string(N * (R + 1) * 3) +
                              " variables, above the limit of " +
                              std::to_string(limits.maxVariables) +
                              "; use the Lagrangian bound");
  PlacementProgram prog;
  prog.unitsPerSecond = M;
  prog.records = uint32_t(R);
  prog.blocks = uint32_t(N);
  prog.fixedSeconds = p.fixedStepSeconds * double(uint64_t(D) * L);
  prog.xVar.assign(N * (R + 1), -1);
  prog.proVar.assign(N * R, -1);
  prog.demVar.assign(N * R, -1);
  prog.newVar.assign(N, -1);
  prog.openedBlock.assign(R, -1);

  auto stepOf = [&](uint64_t r) { return uint32_t(r / B / L); };
  auto recordOf = [&](uint32_t i, uint32_t l, uint32_t b) {
    return (uint64_t(i) * L + l) * B + b;
  };
  auto first = [&](uint64_t j) { return uint32_t(j % K) * T; };
  // Tokens the chain of block j holds at record r, as the simulator's
  // Residency::tokensIn: the prompt, the completed steps, and this step's
  // token once the chain's own record (layer outer, sequence inner) has
  // passed. A block created in step i thus exists, and can move, in the
  // records of step i after its own; a block moved after its chain's append
  // in the same step carries that token too.
  auto heldAt = [&](uint64_t j, uint64_t r) {
    uint32_t i = stepOf(r);
    uint32_t l = uint32_t(j / K % L), b = uint32_t(j / K / L);
    return P + i + (recordOf(i, l, b) < r ? 1u : 0u);
  };
  // A local layer's block dies at its chain's record of its death step
  // (Workload::deathStep): it is not read there, does not move there or
  // later, and holds no HBM slot after that record; deathStep 0 means it
  // never exists. Global blocks: never (R + 1).
  auto deathRecord = [&](uint64_t j) -> uint64_t {
    uint32_t l = uint32_t(j / K % L), b = uint32_t(j / K / L);
    uint32_t d = w.deathStep(l, j % K);
    if (d == 0)
      return 0;
    return d >= D ? R + 1 : recordOf(d, l, b);
  };
  std::vector<uint64_t> death(N);
  for (uint64_t j = 0; j < N; ++j)
    death[j] = deathRecord(j);
  auto exists = [&](uint64_t j, uint64_t r) {
    return first(j) < heldAt(j, r) && r < death[j];
  };
  auto entriesAt = [&](uint64_t j, uint64_t r) {
    return std::min<int64_t>(T, int64_t(heldAt(j, r)) - first(j));
  };
  // Variables and the residency recurrence of every block.
  for (uint64_t j = 0; j < N; ++j) {
    uint32_t f = first(j);
    uint32_t l = uint32_t(j / K % L), b = uint32_t(j / K / L);
    bool created = f >= P;
    uint64_t r0 = created ? recordOf(f - P, l, b) : 0;
    std::string id = std::to_string(j);
    // x[r] (HBM before record r) exists from creation to the death record
    // (the block is still there before it, unread) and never when the block
    // is dead before decoding starts.
    for (uint64_t r = 0; r <= R && death[j] > 0 && r <= death[j]; ++r)
      if (!created || r > r0)
        prog.xVar[j * (R + 1) + r] =
            prog.addVar("x_" + id + "_" + std::to_string(r), VarKind::Binary);
    if (created) {
      prog.newVar[j] = prog.addVar("n_" + id, VarKind::Binary);
      prog.openedBlock[r0] = int64_t(j);
    }
    for (uint64_t r = 0; r < R; ++r) {
      int64_t x0 = prog.xVar[j * (R + 1) + r], x1 = prog.xVar[j * (R + 1) + r + 1];
      LinearConstraint c;
      c.rel = Relation::EQ;
      if (exists(j, r)) {
        int64_t pv = prog.addVar("p_" + id + "_" + std::to_string(r),
                                 VarKind::Binary);
        int64_t dv = prog.addVar("d_" + id + "_" + std::to_string(r),
                                 VarKind::Binary);
        prog.proVar[j * R + r] = pv;
        prog.demVar[j * R + r] = dv;
        // x[r+1] = x[r] + pro - dem; at most one move per record (a demotion
        // and promotion in one record is dominated, bound.md section 2).
        c.terms = {{uint32_t(x1), 1}, {uint32_t(x0), -1},
                   {uint32_t(pv), -1}, {uint32_t(dv), 1}};
        prog.constraints.push_back(c);
        prog.constraints.push_back(
            {{{uint32_t(pv), 1}, {uint32_t(dv), 1}}, Relation::LE, 1});
      } else if (created && r == r0) {
        c.terms = {{uint32_t(x1), 1}, {uint32_t(prog.newVar[j]), -1}};
        prog.constraints.push_back(c);
      } else if (x1 >= 0) {
        c.terms = {{uint32_t(x1), 1}, {uint32_t(x0), -1}};
        prog.constraints.push_back(c);
      }
    }
  }
  if (prog.variables() > limits.maxVariables)
    return makeFieldError("exact model", "size",
                          std::to_string(prog.variables()) +
                              " variables, above the limit of " +
                              std::to_string(limits.maxVariables));
  // Capacity before the first record and after every record.
  for (uint64_t r = 0; r <= R; ++r) {
    LinearConstraint c;
    c.rel = Relation::LE;
    c.rhs = int64_t(problem.capacityBlocks);
    for (uint64_t j = 0; j < N; ++j)
      if (prog.xVar[j * (R + 1) + r] >= 0)
        c.terms.push_back({uint32_t(prog.xVar[j * (R + 1) + r]), 1});
    if (!c.terms.empty() && uint64_t(c.terms.size()) > problem.capacityBlocks)
      prog.constraints.push_back(std::move(c));
  }
  // Read sets, replayed from the deltas.
  std::vector<std::set<uint32_t>> sets(uint64_t(L) * B);
  auto src = trace.reopen();
  if (!src)
    return src.takeError();
  ReadSetTracker tracker(h);
  TraceRecord rec;
  std::string field, message;
  std::vector<std::map<uint64_t, int64_t>> counts(R);
  for (uint64_t n = 0; n < R; ++n) {
    auto more = (*src)->next(rec);
    if (!more)
      return more.takeError();
    if (!*more)
      return makeFieldError(trace.describe(), "record",
                            "trace ended after " + std::to_string(n) + " of " +
                                std::to_string(R) + " records");
    if (!tracker.apply(rec, field, message))
      return makeFieldError(trace.describe(), field, message);
    auto &set = sets[uint64_t(rec.seq) * L + rec.layer];
    for (uint32_t t : rec.removed)
      set.erase(t);
    for (uint32_t t : rec.added)
      set.insert(t);
    uint64_t base = (uint64_t(rec.seq) * L + rec.layer) * K;
    for (uint32_t t : set)
      ++counts[n][base + t / T];
  }
  // Group times.
  for (uint32_t i = 0; i < D; ++i) {
    for (uint32_t l = 0; l < L; ++l) {
      uint32_t tau = prog.addVar("t_" + std::to_string(i) + "_" + std::to_string(l),
                                 VarKind::NonNegative);
      prog.objective.push_back({tau, 1});
      Expr hbm, dram, h2d, d2h;
      for (Expr *e : {&hbm, &dram, &h2d, &d2h})
        e->add(tau, 1);
      int64_t reads = 0;
      for (uint32_t b = 0; b < B; ++b) {
        uint64_t r = recordOf(i, l, b);
        for (auto [j, c] : counts[r]) {
          int64_t x = prog.xVar[j * (R + 1) + r];
          if (!exists(j, r) && first(j) < heldAt(j, r))
            return makeFieldError(trace.describe(), "record",
                                  "record " + std::to_string(r) +
                                      " reads block " + std::to_string(j) +
                                      ", which left its layer's window");
          reads += c;
          // hits: HBM read; misses = reads - hits on DRAM and H2D.
          hbm.add(x, -kHr * c);
          dram.add(x, kDr * c);
          h2d.add(x, kH2d * c);
        }
        // The appended token: aH = n (opens) or x - dem (after demotions,
        // before promotions).
        uint32_t tok = P + i;
        uint64_t kb = (uint64_t(b) * L + l) * K + tok / T;
        std::vector<std::pair<int64_t, int64_t>> aH;
        if (tok % T == 0)
          aH = {{prog.newVar[kb], 1}};
        else
          aH = {{prog.xVar[kb * (R + 1) + r], 1}, {prog.demVar[kb * R + r], -1}};
        for (auto [v, s] : aH) {
          hbm.add(v, -kHw * s);
          dram.add(v, kDw * s);
          d2h.add(v, kD2h * s);
        }
        for (uint64_t j = 0; j < N; ++j) {
          if (!exists(j, r))
            continue;
          int64_t ent = entriesAt(j, r);
          int64_t pv = prog.proVar[j * R + r], dv = prog.demVar[j * R + r];
          hbm.add(dv, -kHr * ent);
          hbm.add(pv, -kHw * ent);
          dram.add(pv, -kDr * ent);
          dram.add(dv, -kDw * ent);
          h2d.add(pv, -kH2d * ent);
          d2h.add(dv, -kD2h * ent);
        }
      }
      // tau >= W + hits + dem (HBM read) + appends + pro (HBM write), etc.
      prog.constraints.push_back(hbm.geq(*wConst));
      prog.constraints.push_back(dram.geq(kDr * reads + kDw * int64_t(B)));
      prog.constraints.push_back(h2d.geq(kH2d * reads));
      prog.constraints.push_back(d2h.geq(kD2h * int64_t(B)));
    }
  }
  return std::move(prog);
}
