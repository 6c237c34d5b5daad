//===- SeedAnneal.cpp - SA_simulation.py's search, reproducibly -----------===//
//
// Their script calls Python's `random` without seeding it. Here the stream
// is CPython's own generator (MT19937 seeded by init_by_array, random() from
// two 32-bit draws, randint through getrandbits rejection sampling), so a
// run with --seed S makes the same proposals, in the same order, as their
// script after `random.seed(S)`.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/SeedCode.h"

#include <algorithm>
#include <cmath>

using namespace kvopt;

PyRandom::PyRandom(uint64_t seed) {
  // init_genrand(19650218) then init_by_array(key), key = the 32-bit words
  // of the seed, least significant first ([0] for 0).
  mt[0] = 19650218u;
  for (mti = 1; mti < 624; ++mti)
    mt[mti] = 1812433253u * (mt[mti - 1] ^ (mt[mti - 1] >> 30)) + uint32_t(mti);
  uint32_t key[2] = {uint32_t(seed), uint32_t(seed >> 32)};
  int keyLen = (seed >> 32) ? 2 : 1;
  int i = 1, j = 0;
  for (int k = std::max(624, keyLen); k; --k) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] +
            uint32_t(j);
    ++i;
    ++j;
    if (i >= 624) {
      mt[0] = mt[623];
      i = 1;
    }
    if (j >= keyLen)
      j = 0;
  }
  for (int k = 623; k; --k) {
    mt[i] =
        (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - uint32_t(i);
    ++i;
    if (i >= 624) {
      mt[0] = mt[623];
      i = 1;
    }
  }
  mt[0] = 0x80000000u;
  mti = 624;
}

uint32_t PyRandom::genrand() {
  static const uint32_t mag01[2] = {0u, 0x9908b0dfu};
  if (mti >= 624) {
    int kk = 0;
    for (; kk < 624 - 397; ++kk) {
      uint32_t y = (mt[kk] & 0x80000000u) | (mt[kk + 1] & 0x7fffffffu);
      mt[kk] = mt[kk + 397] ^ (y >> 1) ^ mag01[y & 1u];
    }
    for (; kk < 623; ++kk) {
      uint32_t y = (mt[kk] & 0x80000000u) | (mt[kk + 1] & 0x7fffffffu);
      mt[kk] = mt[kk + (397 - 624)] ^ (y >> 1) ^ mag01[y & 1u];
    }
    uint32_t y = (mt[623] & 0x80000000u) | (mt[0] & 0x7fffffffu);
    mt[623] = mt[396] ^ (y >> 1) ^ mag01[y & 1u];
    mti = 0;
  }
  uint32_t y = mt[mti++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= (y >> 18);
  return y;
}

double PyRandom::random() {
  uint32_t a = genrand() >> 5, b = genrand() >> 6;
  return (double(a) * 67108864.0 + double(b)) * (1.0 / 9007199254740992.0);
}

int64_t PyRandom::randint(int64_t a, int64_t b) {
  // randrange(a, b + 1) = a + _randbelow(n): getrandbits(n.bit_length())
  // until below n (n < 2^32 here).
  uint64_t n = uint64_t(b - a + 1);
  int k = 0;
  while ((n >> k) != 0)
    ++k;
  uint64_t r;
  do
    r = genrand() >> (32 - k);
  while (r >= n);
  return a + int64_t(r);
}

namespace {

/// evaluate_latency / evaluate_latency_parallel: one full simulation, or the
/// sum over `splits` contiguous parts each starting afresh.
llvm::Expected<SeedCodeResult> evaluate(const TraceSource &trace,
                                        const Problem &problem, uint32_t window,
                                        double topk,
                                        const SeedAnnealParams &p) {
  SeedCodeConfig c;
  c.policy = SeedPolicy::Lookahead;
  c.window = window;
  c.topk = topk;
  c.quirks = p.quirks;
  uint32_t steps = trace.header().decodeSteps;
  if (p.splits <= 1)
    return simulateSeedCode(trace, problem, c);
  uint32_t chunk = (steps + p.splits - 1) / p.splits;
  SeedCodeResult total;
  double alphaSum = 0;
  uint32_t parts = 0;
  for (uint32_t i = 0; i < p.splits; ++i) {
    uint64_t s = uint64_t(i) * chunk;
    if (s >= steps)
      break;
    c.firstStep = uint32_t(s);
    c.lastStep = uint32_t(std::min<uint64_t>(steps - 1, s + chunk - 1));
    auto r = simulateSeedCode(trace, problem, c);
    if (!r)
      return r.takeError();
    total.totalNs += r->totalNs;
    alphaSum += r->meanAlpha;
    total.steps += r->steps;
    total.accesses += r->accesses;
    total.hits += r->hits;
    total.promotions += r->promotions;
    total.evictions += r->evictions;
    ++parts;
  }
  // Their parallel version averages the splits' hit rates.
  total.meanAlpha = parts ? alphaSum / parts : 0;
  total.policy = SeedPolicy::Lookahead;
  return total;
}

} // namespace

llvm::Expected<SeedAnnealResult>
kvopt::annealSeedCode(const TraceSource &trace, const Problem &problem,
                      const SeedAnnealParams &p) {
  if (p.startWindow == 0 || !(p.startTopk > 0 && p.startTopk <= 1))
    return makeFieldError("seed-code sa", "start",
                          "need window >= 1 and topk in (0, 1]");
  if (!(p.initialTemperature > 0) || !(p.cooling > 0))
    return makeFieldError("seed-code sa", "temperature",
                          "need a positive temperature and cooling rate");
  PyRandom rng(p.seed);
  SeedAnnealResult res;
  uint32_t w = p.startWindow;
  double r = p.startTopk;
  auto first = evaluate(trace, problem, w, r, p);
  if (!first)
    return first.takeError();
  double cur = first->totalNs;
  res.bestWindow = w;
  res.bestTopk = r;
  res.bestNs = cur;
  res.bestMeanAlpha = first->meanAlpha;
  res.history.push_back({w, r, cur, true});
  double temp = p.initialTemperature;
  for (uint32_t i = 0; i < p.iterations; ++i) {
    int64_t nw = std::max<int64_t>(1, int64_t(w) + rng.randint(-3, 3));
    double nr = std::max(0.1, std::min(1.0, r + rng.uniform(-0.3, 0.3)));
    auto m = evaluate(trace, problem, uint32_t(nw), nr, p);
    if (!m)
      return m.takeError();
    double delta = m->totalNs - cur;
    // `delta < 0 or random() < exp(-delta / temp)`: random() is drawn only
    // when delta >= 0.
    bool accept = delta < 0 || rng.random() < std::exp(-delta / temp);
    if (accept) {
      w = uint32_t(nw);
      r = nr;
      cur = m->totalNs;
      if (cur < res.bestNs) {
        res.bestWindow = w;
        res.bestTopk = r;
        res.bestNs = cur;
        res.bestMeanAlpha = m->meanAlpha;
      }
    }
    res.history.push_back({uint32_t(nw), nr, m->totalNs, accept});
    temp *= p.cooling;
  }
  return res;
}
