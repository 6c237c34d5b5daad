//===- TraceGenerators.cpp - Seeded synthetic access traces --------------===//
//
// Each (seq, layer) is an independent chain with its own PRNG, seeded from
// (seed, seq, layer), so a trace does not depend on the order chains are
// advanced in. Work per record is proportional to the delta it emits.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Random.h"

#include <algorithm>
#include <cmath>
#include <sstream>

using namespace kvopt;

llvm::Expected<GeneratorKind> kvopt::parseGeneratorKind(const std::string &s) {
  if (s == "seed-like" || s == "seed")
    return GeneratorKind::SeedLike;
  if (s == "zipf")
    return GeneratorKind::Zipf;
  if (s == "sliding-window" || s == "window")
    return GeneratorKind::SlidingWindow;
  if (s == "uniform")
    return GeneratorKind::Uniform;
  return makeFieldError(
      "generator", "kind",
      "unknown generator '" + s +
          "' (known: seed-like, zipf, sliding-window, uniform)");
}

const char *kvopt::generatorKindName(GeneratorKind k) {
  switch (k) {
  case GeneratorKind::SeedLike:
    return "seed-like";
  case GeneratorKind::Zipf:
    return "zipf";
  case GeneratorKind::SlidingWindow:
    return "sliding-window";
  case GeneratorKind::Uniform:
    return "uniform";
  }
  return "?";
}

llvm::Expected<double> kvopt::variationSwapFraction(const std::string &level) {
  if (level == "low")
    return 0.02;
  if (level == "real")
    return 0.1;
  if (level == "high")
    return 0.4;
  return makeFieldError("generator", "variation",
                        "unknown variation level '" + level +
                            "' (known: low, real, high)");
}

llvm::Error GeneratorParams::validate() const {
  const char *ctx = "generator";
  TraceHeader h{layers, batch, promptLen, decodeSteps};
  if (auto e = h.validate(ctx))
    return e;
  auto frac = [&](double v, const char *f, bool allowOne) -> llvm::Error {
    if (!(v >= 0) || v > 1 || (!allowOne && v == 1))
      return makeFieldError(ctx, f,
                            "must be in [0, 1" +
                                std::string(allowOne ? "]" : ")") + ", got " +
                                std::to_string(v));
    return llvm::Error::success();
  };
  if (auto e = frac(sparsity, "sparsity", false))
    return e;
  if (auto e = frac(swapFraction, "swap_fraction", true))
    return e;
  if (auto e = frac(windowTf, "window_tf", true))
    return e;
  if (auto e = frac(churn, "churn", true))
    return e;
  if (!(zipfExponent > 0) || !std::isfinite(zipfExponent))
    return makeFieldError(ctx, "zipf_exponent", "must be positive");
  if (kind == GeneratorKind::SlidingWindow && window == 0)
    return makeFieldError(ctx, "window", "must be positive");
  if (!layerWindows.empty() && layerWindows.size() != layers)
    return makeFieldError(ctx, "layer_windows",
                          std::to_string(layerWindows.size()) +
                              " windows for " + std::to_string(layers) +
                              " layers");
  return llvm::Error::success();
}

/// " windowed(4096x1,0x1,...)": runs of equal per-layer windows as
/// window x layers; empty when every layer is global.
static std::string windowsSuffix(const std::vector<uint32_t> &windows) {
  bool any = false;
  for (uint32_t w : windows)
    any |= w != 0;
  if (!any)
    return "";
  std::string s = " windowed(";
  for (size_t l = 0; l < windows.size();) {
    size_t e = l;
    while (e < windows.size() && windows[e] == windows[l])
      ++e;
    s += (l ? "," : "") + std::to_string(windows[l]) + "x" +
         std::to_string(e - l);
    l = e;
  }
  return s + ")";
}

std::string GeneratorParams::describe() const {
  std::ostringstream os;
  os << generatorKindName(kind) << "(layers=" << layers << " batch=" << batch
     << " prompt=" << promptLen << " decode=" << decodeSteps
     << " seed=" << seed;
  switch (kind) {
  case GeneratorKind::SeedLike:
    os << " sparsity=" << sparsity << " swap=" << swapFraction
       << " tf=" << windowTf;
    break;
  case GeneratorKind::Zipf:
    os << " sparsity=" << sparsity << " churn=" << churn
       << " s=" << zipfExponent << " drift=" << drift;
    break;
  case GeneratorKind::SlidingWindow:
    os << " window=" << window << " sinks=" << sinks;
    break;
  case GeneratorKind::Uniform:
    os << " sparsity=" << sparsity << " churn=" << churn;
    break;
  }
  os << ")" << windowsSuffix(layerWindows);
  return os.str();
}

namespace {

uint64_t chainSeed(uint64_t seed, uint32_t seq, uint32_t layer) {
  Rng r(seed ^ (uint64_t(seq) << 32) ^
        (uint64_t(layer) * 0x9E3779B97F4A7C15ULL));
  return r.next();
}

/// A set of tokens as a bitset plus an index (for uniform member picks).
struct ChainSet {
  std::vector<uint64_t> bits;
  std::vector<uint32_t> members; // used by the indexed generators
  std::vector<uint32_t> pos;     // token -> index in members
  uint64_t size = 0;
  uint64_t lowWord = 0;
  bool has(uint32_t t) const { return (bits[t >> 6] >> (t & 63)) & 1; }
  /// Mark t; keeps lowWord a lower bound of the first nonzero word.
  void set(uint32_t t) {
    bits[t >> 6] |= uint64_t(1) << (t & 63);
    if ((t >> 6) < lowWord)
      lowWord = t >> 6;
  }
  void clear(uint32_t t) { bits[t >> 6] &= ~(uint64_t(1) << (t & 63)); }
};

class GeneratorSource : public TraceSource {
public:
  explicit GeneratorSource(const GeneratorParams &p) : p(p) {
    h = TraceHeader{p.layers, p.batch, p.promptLen, p.decodeSteps};
    uint64_t tokens = uint64_t(p.promptLen) + p.decodeSteps;
    uint64_t chains = uint64_t(p.layers) * p.batch;
    sets.resize(chains);
    rngs.reserve(chains);
    bool indexed =
        p.kind == GeneratorKind::Zipf || p.kind == GeneratorKind::Uniform;
    for (uint64_t c = 0; c < chains; ++c) {
      uint32_t seq = uint32_t(c / p.layers), layer = uint32_t(c % p.layers);
      rngs.emplace_back(chainSeed(p.seed, seq, layer));
      sets[c].bits.assign((tokens + 63) / 64, 0);
      if (indexed)
        sets[c].pos.assign(tokens, 0);
    }
    if (p.kind == GeneratorKind::Zipf) {
      rankToToken.resize(chains);
      tokenToRank.resize(chains);
      for (uint64_t c = 0; c < chains; ++c) {
        auto &r2t = rankToToken[c];
        auto &t2r = tokenToRank[c];
        r2t.resize(p.promptLen);
        t2r.assign(tokens, 0);
        for (uint32_t t = 0; t < p.promptLen; ++t)
          r2t[t] = t;
        for (uint32_t i = p.promptLen; i > 1; --i)
          std::swap(r2t[i - 1], r2t[rngs[c].below(i)]);
        for (uint32_t r = 0; r < p.promptLen; ++r)
          t2r[r2t[r]] = r;
      }
    }
  }

  const TraceHeader &header() const override { return h; }
  std::string describe() const override { return p.describe(); }
  llvm::Expected<std::unique_ptr<TraceSource>> reopen() const override {
    return std::unique_ptr<TraceSource>(new GeneratorSource(p));
  }

  llvm::Expected<bool> next(TraceRecord &rec) override {
    if (index == h.recordCount())
      return false;
    rec.seq = uint32_t(index % h.batch);
    rec.layer = uint32_t(index / h.batch % h.layers);
    rec.step = uint32_t(index / h.batch / h.layers);
    ++index;
    uint64_t c = uint64_t(rec.seq) * h.layers + rec.layer;
    added.clear();
    removed.clear();
    uint32_t n = h.promptLen + rec.step;
    switch (p.kind) {
    case GeneratorKind::SeedLike:
      seedLike(c, n, rec.step == 0);
      break;
    case GeneratorKind::Zipf:
      zipf(c, n, rec.step == 0);
      break;
    case GeneratorKind::SlidingWindow:
      slidingWindow(c, n, rec.step == 0);
      break;
    case GeneratorKind::Uniform:
      uniform(c, n, rec.step == 0);
      break;
    }
    sortTokens(added);
    // seed-like emits its removals in ascending order already.
    if (p.kind != GeneratorKind::SeedLike)
      sortTokens(removed);
    rec.added = added;
    rec.removed = removed;
    return true;
  }

private:
  /// Sort distinct token indices: through a scratch bitset when the list is
  /// dense in its range (the common case), else std::sort.
  void sortTokens(std::vector<uint32_t> &v) {
    if (v.size() < 32) {
      std::sort(v.begin(), v.end());
      return;
    }
    auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    uint64_t lo = *mn >> 6, hi = *mx >> 6;
    if (hi - lo + 1 > 4 * v.size()) {
      std::sort(v.begin(), v.end());
      return;
    }
    if (scratch.size() < hi + 1)
      scratch.resize(hi + 1, 0);
    for (uint32_t t : v)
      scratch[t >> 6] |= uint64_t(1) << (t & 63);
    size_t k = 0;
    for (uint64_t w = lo; w <= hi; ++w) {
      uint64_t word = scratch[w];
      scratch[w] = 0;
      while (word) {
        v[k++] = uint32_t(w * 64 + __builtin_ctzll(word));
        word &= word - 1;
      }
    }
  }

  /// Pick `count` distinct non-members of [lo, hi) (not yet in `added`),
  /// mark them in the set and append them to `added`.
  void pickNonMembers(ChainSet &s, Rng &rng, uint32_t lo, uint32_t hi,
                      uint64_t count) {
    if (count == 0 || hi <= lo)
      return;
    uint64_t span = hi - lo;
    // Members inside the window are at most size; use rejection while the
    // window is sparse enough, else enumerate the free slots.
    uint64_t tries = 0;
    const uint64_t maxTries = 64 * (count + 8);
    // The generator state, the bitset's words and its low-word mark in
    // locals: through the references the compiler reloaded and stored them
    // at every try (the same numbers are drawn in the same order).
    // Branch-free tries: whether a draw is new is about as likely as not
    // at the seed shapes' densities (a mispredicted branch per try was
    // most of the generator's time); every try stores its token in the
    // next free slot of `added` and advances the slot only when the token
    // is new, so the accepted tokens, their order and the draws are the
    // same as with a branch.
    Rng r = rng;
    uint64_t *bits = s.bits.data();
    uint64_t low = s.lowWord;
    const size_t before = added.size();
    added.resize(before + count);
    uint32_t *out = added.data() + before;
    uint64_t got = 0;
    while (got < count && tries < maxTries) {
      uint32_t t = lo + uint32_t(r.below(span));
      ++tries;
      uint64_t &word = bits[t >> 6];
      uint64_t bit = uint64_t(1) << (t & 63);
      uint64_t isNew = (word & bit) == 0;
      word |= bit;
      uint64_t tw = t >> 6;
      low = isNew && tw < low ? tw : low;
      out[got] = t;
      got += isNew;
    }
    added.resize(before + got);
    count -= got;
    rng = r;
    s.lowWord = low;
    if (!count)
      return;
    std::vector<uint32_t> free;
    for (uint32_t t = lo; t < hi; ++t)
      if (!s.has(t))
        free.push_back(t);
    for (uint64_t i = 0; i < count && i < free.size(); ++i) {
      std::swap(free[i], free[i + rng.below(free.size() - i)]);
      s.set(free[i]);
      added.push_back(free[i]);
    }
  }

  void seedLike(uint64_t c, uint32_t n, bool first) {
    ChainSet &s = sets[c];
    Rng &rng = rngs[c];
    const double r = 1.0 - p.sparsity;
    const double thr = std::min(1.0, r + p.windowTf * (1.0 - r));
    const uint32_t lo = uint32_t(std::floor((1.0 - thr) * double(n - 1)));
    uint64_t k = uint64_t(std::llround(r * double(n - 1)));
    k = std::min<uint64_t>(k, n - lo);
    if (first) {
      // Selection sampling: a uniform k-subset of [lo, n).
      uint64_t need = k, left = n - lo;
      for (uint32_t t = lo; t < n && need; ++t, --left)
        if (rng.below(left) < need) {
          s.set(t);
          added.push_back(t);
          --need;
        }
      s.size = k;
      return;
    }
    uint64_t grow = k > s.size ? k - s.size : 0;
    uint64_t maxSwap = uint64_t(p.swapFraction * double(s.size));
    uint64_t swap = rng.below(maxSwap + 1);
    swap = std::min<uint64_t>(swap, s.size);
    // The `swap` oldest (smallest) members leave.
    uint64_t words = s.bits.size();
    uint64_t w = s.lowWord;
    while (w < words && s.bits[w] == 0)
      ++w;
    s.lowWord = w;
    for (uint64_t found = 0; w < words && found < swap; ++w) {
      uint64_t word = s.bits[w];
      while (word && found < swap) {
        int b = __builtin_ctzll(word);
        word &= word - 1;
        removed.push_back(uint32_t(w * 64 + b));
        ++found;
      }
    }
    // Random non-members of the window join (old members are still marked,
    // so a leaving token is never picked again in the same step).
    pickNonMembers(s, rng, lo, n, grow + swap);
    for (uint32_t t : removed)
      s.clear(t);
    s.size = s.size + added.size() - removed.size();
  }

  void indexedAdd(ChainSet &s, uint32_t t) {
    s.pos[t] = uint32_t(s.members.size());
    s.members.push_back(t);
  }
  void indexedRemove(ChainSet &s, uint32_t t) {
    uint32_t i = s.pos[t];
    uint32_t last = s.members.back();
    s.members[i] = last;
    s.pos[last] = i;
    s.members.pop_back();
    s.clear(t);
  }
  /// Remove `count` uniformly chosen members (not among this step's adds).
  void removeRandom(ChainSet &s, Rng &rng, uint64_t count) {
    count = std::min<uint64_t>(count, s.members.size());
    for (uint64_t i = 0; i < count; ++i) {
      uint32_t t = s.members[rng.below(s.members.size())];
      indexedRemove(s, t);
      removed.push_back(t);
    }
  }

  void uniform(uint64_t c, uint32_t n, bool first) {
    ChainSet &s = sets[c];
    Rng &rng = rngs[c];
    uint64_t k = std::min<uint64_t>(
        n, uint64_t(std::llround((1.0 - p.sparsity) * double(n))));
    uint64_t churn = first ? 0 : uint64_t(p.churn * double(s.members.size()));
    removeRandom(s, rng, churn);
    size_t before = added.size();
    // Removed tokens are cleared already; exclude them by re-marking
    // temporarily so they are not re-added in the same step.
    for (uint32_t t : removed)
      s.set(t);
    uint64_t want = k > s.members.size() ? k - s.members.size() : 0;
    pickNonMembers(s, rng, 0, n, want);
    for (uint32_t t : removed)
      s.clear(t);
    for (size_t i = before; i < added.size(); ++i)
      indexedAdd(s, added[i]);
  }

  uint32_t zipfRank(Rng &rng, uint64_t n) {
    double u = rng.unit(), sExp = p.zipfExponent, x;
    if (std::fabs(sExp - 1.0) < 1e-9)
      x = std::pow(double(n), u);
    else
      x = std::pow((std::pow(double(n), 1 - sExp) - 1) * u + 1, 1 / (1 - sExp));
    uint64_t r = x < 1 ? 0 : uint64_t(x) - 1;
    return uint32_t(std::min<uint64_t>(r, n - 1));
  }

  void zipf(uint64_t c, uint32_t n, bool first) {
    ChainSet &s = sets[c];
    Rng &rng = rngs[c];
    auto &r2t = rankToToken[c];
    auto &t2r = tokenToRank[c];
    // Tokens that became readable since the last step enter the ranking at
    // a uniformly random rank (the displaced token moves to the end).
    while (r2t.size() < n) {
      uint32_t t = uint32_t(r2t.size());
      r2t.push_back(t);
      t2r[t] = t;
      uint32_t r = uint32_t(rng.below(r2t.size()));
      std::swap(r2t[r], r2t.back());
      t2r[r2t[r]] = r;
      t2r[r2t.back()] = uint32_t(r2t.size() - 1);
    }
    if (!first)
      for (uint32_t d = 0; d < p.drift; ++d) {
        uint32_t i = uint32_t(rng.below(n));
        uint32_t lo = i > 64 ? i - 64 : 0, hi = std::min<uint32_t>(n, i + 65);
        uint32_t j = lo + uint32_t(rng.below(hi - lo));
        std::swap(r2t[i], r2t[j]);
        t2r[r2t[i]] = i;
        t2r[r2t[j]] = j;
      }
    uint64_t k = std::min<uint64_t>(
        n, uint64_t(std::llround((1.0 - p.sparsity) * double(n))));
    uint64_t churn = first ? 0 : uint64_t(p.churn * double(s.members.size()));
    removeRandom(s, rng, churn);
    for (uint32_t t : removed)
      s.set(t);
    uint64_t want = k > s.members.size() ? k - s.members.size() : 0;
    size_t before = added.size();
    uint64_t tries = 0;
    const uint64_t maxTries = 256 * (want + 8);
    while (want && tries < maxTries) {
      uint32_t t = r2t[zipfRank(rng, n)];
      ++tries;
      if (s.has(t))
        continue;
      s.set(t);
      added.push_back(t);
      --want;
    }
    pickNonMembers(s, rng, 0, n, want);
    for (uint32_t t : removed)
      s.clear(t);
    for (size_t i = before; i < added.size(); ++i)
      indexedAdd(s, added[i]);
  }

  void slidingWindow(uint64_t c, uint32_t n, bool first) {
    (void)c;
    const uint32_t sinks = p.sinks, win = p.window;
    auto inSet = [&](uint32_t t, uint32_t at) {
      return t < at && (t < sinks || t + win >= at);
    };
    if (first) {
      for (uint32_t t = 0; t < n; ++t)
        if (inSet(t, n))
          added.push_back(t);
      return;
    }
    if (inSet(n - 1, n) && !inSet(n - 1, n - 1))
      added.push_back(n - 1);
    if (n - 1 >= win) {
      uint32_t old = n - 1 - win;
      if (inSet(old, n - 1) && !inSet(old, n))
        removed.push_back(old);
    }
  }

  GeneratorParams p;
  TraceHeader h;
  uint64_t index = 0;
  std::vector<ChainSet> sets;
  std::vector<Rng> rngs;
  std::vector<std::vector<uint32_t>> rankToToken, tokenToRank;
  std::vector<uint32_t> added, removed;
  std::vector<uint64_t> scratch;
};

/// Cuts local layers' read sets to their windows (makeWindowedTrace).
class WindowedSource : public TraceSource {
public:
  /// `named`: inner's description already lists the windows.
  WindowedSource(std::unique_ptr<TraceSource> in, std::vector<uint32_t> w,
                 bool named = false)
      : inner(std::move(in)), windows(std::move(w)), named(named) {
    const TraceHeader &h = inner->header();
    uint64_t tokens = uint64_t(h.promptLen) + h.decodeSteps;
    sets.resize(uint64_t(h.layers) * h.batch);
    for (uint64_t c = 0; c < sets.size(); ++c)
      if (windows[c % h.layers])
        sets[c].assign((tokens + 63) / 64, 0);
  }
  const TraceHeader &header() const override { return inner->header(); }
  std::string describe() const override {
    return named ? inner->describe()
                 : inner->describe() + windowsSuffix(windows);
  }
  llvm::Expected<std::unique_ptr<TraceSource>> reopen() const override {
    auto in = inner->reopen();
    if (!in)
      return in.takeError();
    return std::unique_ptr<TraceSource>(
        new WindowedSource(std::move(*in), windows, named));
  }
  llvm::Expected<bool> next(TraceRecord &rec) override {
    auto more = inner->next(rec);
    if (!more || !*more)
      return more;
    const TraceHeader &h = inner->header();
    uint32_t w = rec.layer < windows.size() ? windows[rec.layer] : 0;
    if (!w)
      return true;
    std::vector<uint64_t> &set = sets[uint64_t(rec.seq) * h.layers + rec.layer];
    auto has = [&](uint32_t t) {
      return uint64_t(t >> 6) < set.size() && ((set[t >> 6] >> (t & 63)) & 1);
    };
    uint64_t n = uint64_t(h.promptLen) + rec.step;
    uint32_t start = n > w ? uint32_t(n - w) : 0;
    added.clear();
    removed.clear();
    for (uint32_t t : rec.removed)
      if (has(t))
        removed.push_back(t);
    if (start > 0 && has(start - 1) &&
        !std::binary_search(rec.removed.begin(), rec.removed.end(), start - 1))
      removed.push_back(start - 1);
    std::sort(removed.begin(), removed.end());
    for (uint32_t t : removed)
      set[t >> 6] &= ~(uint64_t(1) << (t & 63));
    for (uint32_t t : rec.added)
      if (t >= start && uint64_t(t >> 6) < set.size()) {
        added.push_back(t);
        set[t >> 6] |= uint64_t(1) << (t & 63);
      }
    rec.added = added;
    rec.removed = removed;
    return true;
  }

private:
  std::unique_ptr<TraceSource> inner;
  std::vector<uint32_t> windows;
  bool named;
  std::vector<std::vector<uint64_t>> sets;
  std::vector<uint32_t> added, removed;
};

} // namespace

llvm::Expected<std::unique_ptr<TraceSource>>
kvopt::makeWindowedTrace(std::unique_ptr<TraceSource> inner,
                         std::vector<uint32_t> windows) {
  const TraceHeader &h = inner->header();
  if (windows.size() != h.layers)
    return makeFieldError(inner->describe(), "layer_windows",
                          std::to_string(windows.size()) + " windows for " +
                              std::to_string(h.layers) + " layers");
  return std::unique_ptr<TraceSource>(
      new WindowedSource(std::move(inner), std::move(windows)));
}

llvm::Expected<std::unique_ptr<TraceSource>>
kvopt::makeGenerator(const GeneratorParams &params) {
  if (auto e = params.validate())
    return std::move(e);
  std::unique_ptr<TraceSource> gen(new GeneratorSource(params));
  for (uint32_t w : params.layerWindows)
    if (w)
      return std::unique_ptr<TraceSource>(
          new WindowedSource(std::move(gen), params.layerWindows, true));
  return std::move(gen);
}
