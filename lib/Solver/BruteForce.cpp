//===- BruteForce.cpp - The true optimum of tiny instances by enumeration -===//
//
// The rules below are read off Simulator.cpp and Residency.h, not off the
// placement program: a (sequence, layer) chain holds the prompt, one token
// per completed step, and this step's token once its own record has passed;
// a block exists while its first token is held; a move is charged the
// entries the block holds at that record; the appended token goes to the
// tier of its block after the demotions (the new block's chosen tier when
// it opens one); the capacity holds after every record.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/BruteForce.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Random.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

/// One record's decisions, as block masks.
struct Decision {
  uint64_t demote = 0, promote = 0;
  bool newHbm = false;
};

/// What the enumeration needs of one record.
struct RecordData {
  uint32_t newBlock = 0;
  bool opens = false;
  uint64_t reads = 0;
  std::vector<std::pair<uint32_t, uint32_t>> readBlocks; ///< (block, tokens)
  std::vector<uint32_t> entries; ///< per block, 0 = does not exist yet
  uint64_t existing = 0;         ///< mask of existing blocks
};

StepCounts &operator+=(StepCounts &a, const StepCounts &b) {
  a.reads += b.reads;
  a.hits += b.hits;
  a.appendsHbm += b.appendsHbm;
  a.appendsDram += b.appendsDram;
  a.promotions += b.promotions;
  a.demotions += b.demotions;
  return a;
}

class Enumerator {
public:
  explicit Enumerator(uint64_t capacity) : capacity(capacity) {}

  /// Call f(decision, state after, counts) for every decision the simulator
  /// accepts at `rd` from HBM contents `s`.
  void forEachDecision(
      const RecordData &rd, uint64_t s,
      const std::function<void(const Decision &, uint64_t, const StepCounts &)>
          &f) const {
    StepCounts base;
    base.reads = rd.reads;
    for (auto [b, n] : rd.readBlocks)
      if (s >> b & 1)
        base.hits += n;
    // Blocks that left their window at this record leave HBM for free.
    s &= rd.existing;
    // Every subset of the resident blocks is a valid demotion set.
    for (uint64_t dem = s;; dem = (dem - 1) & s) {
      uint64_t s1 = s & ~dem;
      StepCounts c1 = base;
      c1.demotions = sumEntries(rd, dem);
      for (int nh = 0; nh <= (rd.opens ? 1 : 0); ++nh) {
        uint64_t s2 = s1 | (nh ? uint64_t(1) << rd.newBlock : 0);
        bool appendHbm = rd.opens ? nh != 0 : (s1 >> rd.newBlock & 1) != 0;
        StepCounts c2 = c1;
        (appendHbm ? c2.appendsHbm : c2.appendsDram) = 1;
        uint64_t room = uint64_t(__builtin_popcountll(s2)) >= capacity
                            ? 0
                            : capacity - uint64_t(__builtin_popcountll(s2));
        // Promotions: any existing DRAM block, a just-demoted one included,
        // as long as the capacity holds after the record.
        uint64_t avail = rd.existing & ~s2;
        Decision d;
        d.demote = dem;
        d.newHbm = nh != 0;
        forEachSubset(avail, room, 0, [&](uint64_t pro) {
          uint64_t s3 = s2 | pro;
          if (uint64_t(__builtin_popcountll(s3)) > capacity)
            return;
          StepCounts c3 = c2;
          c3.promotions = sumEntries(rd, pro);
          d.promote = pro;
          f(d, s3, c3);
        });
      }
      if (dem == 0)
        break;
    }
  }

private:
  static uint64_t sumEntries(const RecordData &rd, uint64_t mask) {
    uint64_t n = 0;
    for (; mask; mask &= mask - 1)
      n += rd.entries[size_t(__builtin_ctzll(mask))];
    return n;
  }

  /// Every subset of `mask` with at most `k` bits, built from `acc`.
  static void forEachSubset(uint64_t mask, uint64_t k, uint64_t acc,
                            const std::function<void(uint64_t)> &f) {
    if (mask == 0 || k == 0) {
      f(acc);
      return;
    }
    uint64_t low = mask & (~mask + 1);
    forEachSubset(mask & ~low, k, acc, f);          // without the lowest bit
    forEachSubset(mask & ~low, k - 1, acc | low, f); // with it
  }

  uint64_t capacity;
};

std::vector<BlockId> bitsOf(uint64_t mask) {
  std::vector<BlockId> out;
  for (; mask; mask &= mask - 1)
    out.push_back(BlockId(__builtin_ctzll(mask)));
  return out;
}

Schedule toSchedule(uint64_t initial, const std::vector<Decision> &decs) {
  Schedule s;
  s.initialHbm = bitsOf(initial);
  for (const Decision &d : decs)
    s.addRecord(bitsOf(d.demote), bitsOf(d.promote), d.newHbm);
  return s;
}

llvm::Expected<SimMetrics> replay(const Problem &problem,
                                  const TraceSource &trace,
                                  const Schedule &schedule) {
  auto src = trace.reopen();
  if (!src)
    return src.takeError();
  auto pol = createSchedulePolicy(schedule, "brute-force");
  return simulate(**src, problem, *pol);
}

} // namespace

namespace {

/// Everything the enumeration needs of an instance.
struct Instance {
  uint32_t L = 0, B = 0, D = 0;
  uint64_t N = 0, R = 0, C = 0;
  std::vector<RecordData> recs;
  /// Every initial placement (sets of at most C prompt blocks), ascending.
  std::vector<uint64_t> initial;
};

llvm::Expected<Instance> prepare(const Problem &problem,
                                 const TraceSource &trace,
                                 const BruteForceOptions &opt) {
  const TraceHeader &h = trace.header();
  if (auto e = checkTraceMatchesWorkload(h, problem.work, trace.describe()))
    return std::move(e);
  const uint32_t L = h.layers, B = h.batch, P = h.promptLen, D = h.decodeSteps;
  const uint32_t T = problem.work.tokensPerBlock;
  const uint64_t K = problem.work.blocksPerSeqLayer();
  const uint64_t N = uint64_t(B) * L * K;
  const uint64_t R = h.recordCount();
  if (N > opt.maxBlocks || N > 63)
    return makeFieldError("brute force", "size",
                          std::to_string(N) + " blocks, above the limit of " +
                              std::to_string(std::min<uint64_t>(
                                  opt.maxBlocks, 63)));
  const uint64_t C = problem.capacityBlocks;

  // Per record: the read blocks, the existing blocks and their entries.
  std::vector<RecordData> recs(R);
  std::vector<std::set<uint32_t>> sets(uint64_t(L) * B);
  auto src = trace.reopen();
  if (!src)
    return src.takeError();
  ReadSetTracker tracker(h);
  TraceRecord rec;
  std::string field, message;
  for (uint64_t r = 0; r < R; ++r) {
    auto more = (*src)->next(rec);
    if (!more)
      return more.takeError();
    if (!*more)
      return makeFieldError(trace.describe(), "record",
                            "trace ended after " + std::to_string(r) +
                                " records");
    if (!tracker.apply(rec, field, message))
      return makeFieldError(trace.describe(), field, message);
    // Chain (seq, layer) = block range [chain * K, (chain + 1) * K).
    const uint64_t chain = uint64_t(rec.seq) * L + rec.layer;
    auto &set = sets[chain];
    for (uint32_t t : rec.removed)
      set.erase(t);
    for (uint32_t t : rec.added)
      set.insert(t);
    RecordData &rd = recs[r];
    std::map<uint32_t, uint32_t> perBlock;
    for (uint32_t t : set)
      ++perBlock[uint32_t(chain * K + t / T)];
    rd.readBlocks.assign(perBlock.begin(), perBlock.end());
    rd.reads = set.size();
    const uint32_t token = P + rec.step;
    rd.newBlock = uint32_t(chain * K + token / T);
    rd.opens = token % T == 0;
    rd.entries.assign(N, 0);
    // Position of this record within its step: layer outer, sequence inner.
    const uint64_t pos = uint64_t(rec.layer) * B + rec.seq;
    for (uint32_t s = 0; s < B; ++s)
      for (uint32_t l = 0; l < L; ++l) {
        uint32_t held = P + rec.step + (uint64_t(l) * B + s < pos ? 1 : 0);
        // Window deaths happen at a chain's own record, after its reads.
        uint64_t dead = problem.work.deadBlocksAt(
            l, uint64_t(l) * B + s <= pos || rec.step == 0 ? rec.step
                                                          : rec.step - 1);
        uint64_t c = uint64_t(s) * L + l;
        for (uint64_t k = dead; k < K; ++k) {
          uint32_t first = uint32_t(k * T);
          if (first >= held)
            break;
          rd.entries[c * K + k] = std::min(T, held - first);
          rd.existing |= uint64_t(1) << (c * K + k);
        }
      }
  }

  // Initial placements: any set of at most C prompt blocks.
  uint64_t promptBlocks = 0;
  for (uint64_t j = 0; j < N; ++j)
    if ((j % K) * T < P &&
        problem.work.deathStep(uint32_t(j / K % L), j % K) > 0)
      promptBlocks |= uint64_t(1) << j;
  std::vector<uint64_t> initial;
  for (uint64_t s = promptBlocks;; s = (s - 1) & promptBlocks) {
    if (uint64_t(__builtin_popcountll(s)) <= C)
      initial.push_back(s);
    if (s == 0)
      break;
  }
  std::sort(initial.begin(), initial.end());
  Instance in;
  in.L = L;
  in.B = B;
  in.D = D;
  in.N = N;
  in.R = R;
  in.C = C;
  in.recs = std::move(recs);
  in.initial = std::move(initial);
  return std::move(in);
}

} // namespace

llvm::Expected<BruteForceResult>
kvopt::solver::bruteForceOptimum(const Problem &problem,
                                 const TraceSource &trace,
                                 const BruteForceOptions &opt) {
  auto prep = prepare(problem, trace, opt);
  if (!prep)
    return prep.takeError();
  const uint32_t L = prep->L, B = prep->B, D = prep->D;
  const uint64_t R = prep->R, C = prep->C;
  const std::vector<RecordData> &recs = prep->recs;
  const std::vector<uint64_t> &initial = prep->initial;

  Enumerator en(C);
  BruteForceResult out;
  bool tooMuch = false;
  auto tooLarge = [&] {
    return makeFieldError("brute force", "size",
                          "more than " + std::to_string(opt.maxWork) +
                              (opt.exhaustive ? " schedules" : " records") +
                              " to enumerate");
  };

  if (opt.exhaustive) {
    // Every complete schedule, each judged by the simulator.
    bool found = false;
    std::vector<Decision> decs;
    llvm::Error err = llvm::Error::success();
    uint64_t init = 0;
    std::function<void(uint64_t, uint64_t)> dfs = [&](uint64_t r, uint64_t s) {
      if (tooMuch || err)
        return;
      if (r == R) {
        if (++out.work > opt.maxWork) {
          tooMuch = true;
          return;
        }
        Schedule sched = toSchedule(init, decs);
        auto m = replay(problem, trace, sched);
        if (!m) {
          err = m.takeError();
          return;
        }
        if (!found || m->totalSeconds < out.optimumSeconds) {
          found = true;
          out.optimumSeconds = m->totalSeconds;
          out.schedule = std::move(sched);
          out.metrics = std::move(*m);
        }
        return;
      }
      en.forEachDecision(recs[r], s,
                         [&](const Decision &d, uint64_t s2, const StepCounts &) {
                           decs.push_back(d);
                           dfs(r + 1, s2);
                           decs.pop_back();
                         });
    };
    for (uint64_t s : initial) {
      init = s;
      dfs(0, s);
    }
    if (err)
      return std::move(err);
    if (tooMuch)
      return tooLarge();
    return std::move(out);
  }

  // Dynamic program over the HBM contents at group boundaries.
  struct Back {
    double value = 0;
    uint64_t from = 0;
    std::vector<Decision> decs;
  };
  const uint64_t G = uint64_t(D) * L;
  std::vector<std::map<uint64_t, Back>> back(G + 1);
  for (uint64_t s : initial)
    back[0][s] = Back{0, s, {}};
  std::vector<Decision> decs;
  for (uint64_t g = 0; g < G && !tooMuch; ++g) {
    auto &next = back[g + 1];
    for (const auto &[enter, node] : back[g]) {
      const double base = node.value;
      std::function<void(uint32_t, uint64_t, const StepCounts &)> walk =
          [&](uint32_t k, uint64_t s, const StepCounts &acc) {
            if (tooMuch)
              return;
            if (k == B) {
              double v = base + problem.model.stepTime(acc).seconds;
              auto it = next.find(s);
              if (it == next.end() || v < it->second.value)
                next[s] = Back{v, enter, decs};
              return;
            }
            if (++out.work > opt.maxWork) {
              tooMuch = true;
              return;
            }
            en.forEachDecision(recs[g * B + k], s,
                               [&](const Decision &d, uint64_t s2,
                                   const StepCounts &c) {
                                 StepCounts sum = acc;
                                 sum += c;
                                 decs.push_back(d);
                                 walk(k + 1, s2, sum);
                                 decs.pop_back();
                               });
          };
      walk(0, enter, StepCounts());
    }
  }
  if (tooMuch)
    return tooLarge();
  auto best = back[G].begin();
  for (auto it = back[G].begin(); it != back[G].end(); ++it)
    if (it->second.value < best->second.value)
      best = it;
  const double dpValue = best->second.value;
  // Walk back to the initial placement.
  std::vector<Decision> all(R);
  uint64_t s = best->first;
  for (uint64_t g = G; g-- > 0;) {
    const Back &b = back[g + 1].at(s);
    std::copy(b.decs.begin(), b.decs.end(), all.begin() + g * B);
    s = b.from;
  }
  Schedule sched = toSchedule(s, all);
  auto m = replay(problem, trace, sched);
  if (!m)
    return makeFieldError("brute force", "replay",
                          "the simulator rejected the enumerated optimum: " +
                              errorToString(m.takeError()));
  if (std::abs(m->totalSeconds - dpValue) > 1e-12 * std::max(1.0, dpValue))
    return makeFieldError("brute force", "replay",
                          "the simulator gives " +
                              std::to_string(m->totalSeconds) +
                              " s for the enumerated optimum of " +
                              std::to_string(dpValue) + " s");
  out.optimumSeconds = m->totalSeconds;
  out.schedule = std::move(sched);
  out.metrics = std::move(*m);
  return std::move(out);
}

llvm::Expected<Schedule>
kvopt::solver::randomSchedule(const Problem &problem, const TraceSource &trace,
                              uint64_t seed) {
  BruteForceOptions opt;
  auto prep = prepare(problem, trace, opt);
  if (!prep)
    return prep.takeError();
  Rng rng(seed);
  Enumerator en(prep->C);
  uint64_t s = prep->initial[rng.below(prep->initial.size())];
  const uint64_t init = s;
  std::vector<Decision> decs, options;
  std::vector<uint64_t> next;
  for (uint64_t r = 0; r < prep->R; ++r) {
    options.clear();
    next.clear();
    en.forEachDecision(prep->recs[r], s,
                       [&](const Decision &d, uint64_t s2, const StepCounts &) {
                         options.push_back(d);
                         next.push_back(s2);
                       });
    size_t k = size_t(rng.below(options.size()));
    decs.push_back(options[k]);
    s = next[k];
  }
  return toSchedule(init, decs);
}
