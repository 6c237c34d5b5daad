//===- SeedCode.cpp - The seed authors' simulator loop, quirks included ---===//
//
// A record-by-record replay of their simulate() (simulator.py @8abfd876):
// for each n, l: alpha on the current HBM state, then beta (placement of
// token n), then the migration, then calculate_step_time. Every HBM
// operation follows memory_status.py's add_token_to_hbm /
// remove_token_from_hbm, including the global count and the max_KV_num - 1
// limit. docs/model.md section 8 describes each quirk and its measured
// effect.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/SeedCode.h"
#include "kvopt/Core/Error.h"

#include "SeedState.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <cmath>
#include <deque>

using namespace kvopt;

llvm::Expected<SeedPolicy> kvopt::parseSeedPolicy(const std::string &name) {
  if (name == "static")
    return SeedPolicy::Static;
  if (name == "unlimited")
    return SeedPolicy::Unlimited;
  if (name == "reactive")
    return SeedPolicy::Reactive;
  if (name == "page")
    return SeedPolicy::Page;
  if (name == "lookahead" || name == "sa-guided")
    return SeedPolicy::Lookahead;
  return makeFieldError("seed-code", "policy",
                        "unknown policy '" + name +
                            "' (static, unlimited, reactive, page, "
                            "lookahead, sa)");
}

const char *kvopt::seedPolicyName(SeedPolicy p) {
  switch (p) {
  case SeedPolicy::Static:
    return "static";
  case SeedPolicy::Unlimited:
    return "unlimited";
  case SeedPolicy::Reactive:
    return "reactive";
  case SeedPolicy::Page:
    return "page";
  case SeedPolicy::Lookahead:
    return "lookahead";
  }
  return "?";
}

llvm::Expected<SeedQuirks> SeedQuirks::withoutList(const std::string &list) {
  SeedQuirks q;
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(list).split(parts, ',', -1, false);
  for (llvm::StringRef p : parts) {
    p = p.trim();
    if (p == "all") {
      q = SeedQuirks{false, false, false, false};
    } else if (p == "promotion-pricing") {
      q.promotionPricing = false;
    } else if (p == "whole-layer-eviction") {
      q.wholeLayerEviction = false;
    } else if (p == "page-geometry") {
      q.pageGeometry = false;
    } else if (p == "conditional-charges") {
      q.conditionalCharges = false;
    } else {
      return makeFieldError("seed-code", "without-quirks",
                            "unknown quirk '" + p.str() +
                                "' (promotion-pricing, whole-layer-eviction, "
                                "page-geometry, conditional-charges, all)");
    }
  }
  return q;
}

std::string SeedQuirks::describe() const {
  std::vector<std::string> off;
  if (!promotionPricing)
    off.push_back("promotion-pricing");
  if (!wholeLayerEviction)
    off.push_back("whole-layer-eviction");
  if (!pageGeometry)
    off.push_back("page-geometry");
  if (!conditionalCharges)
    off.push_back("conditional-charges");
  if (off.empty())
    return "all quirks";
  return "without " + llvm::join(off, ",");
}

namespace {

using namespace kvopt::seed;

class Engine {
public:
  Engine(const Problem &p, const SeedCodeConfig &c, const TraceHeader &h,
         uint32_t firstStep, uint32_t lastStep)
      : cfg(c), h(h), L(h.layers), firstStep(firstStep), lastStep(lastStep),
        nPre(h.promptLen + firstStep),
        nEnd(uint64_t(h.promptLen) + lastStep + 1),
        E(p.model.params().entryBytes), Wt(p.model.params().weightBytesPerStep),
        bHbm(p.model.params().hbmRead / 1e9), bR(p.model.params().h2d / 1e9),
        bW(p.model.params().d2h / 1e9),
        bInt(p.model.params().paperExtInternal / 1e9),
        bestAlpha(bHbm / (bHbm + std::min(bR, bInt))),
        hbm(h.layers, uint64_t(h.promptLen) + h.decodeSteps + 2 * kPageSize,
            maxKvFor(p, c.policy), c.policy == SeedPolicy::Lookahead) {}

  static int64_t maxKvFor(const Problem &p, SeedPolicy policy) {
    if (policy == SeedPolicy::Unlimited)
      // Their Unlimited run: C_HBM_max = 1000 (GiB) with the same weights.
      return int64_t(
          std::floor((1000.0 * 1073741824.0 - p.work.residentWeightBytes()) /
                     p.model.params().entryBytes));
    return int64_t(p.capacityBlocks) + 1;
  }

  llvm::Expected<SeedCodeResult> run(const TraceSource &trace) {
    auto s = trace.reopen();
    if (!s)
      return s.takeError();
    sets = std::make_unique<SetWindow>(std::move(*s));
    mark.assign(size_t(h.promptLen) + h.decodeSteps + 2 * kPageSize, 0);
    futureMark = mark;
    score.assign(mark.size(), 0.0);
    if (auto e = initialize(trace))
      return std::move(e);
    SeedCodeResult r;
    r.policy = cfg.policy;
    r.maxKvNum = uint64_t(hbm.maxKv);
    double alphaSum = 0;
    for (uint32_t step = firstStep; step <= lastStep; ++step) {
      uint32_t n = h.promptLen + step;
      sets->dropBefore(step);
      for (uint32_t l = 0; l < L; ++l) {
        auto cur = sets->get(step, l);
        if (!cur)
          return cur.takeError();
        const Set &read = **cur;
        uint64_t hits = 0;
        for (uint32_t t : read)
          hits += hbm.has(t, l);
        double dR = Wt + double(read.size()) * E;
        double dW = E;
        // max_alpha: 0 when nothing is read (only possible with no weights).
        double maxAlpha =
            dR > 0 ? std::max(0.0, std::min((Wt + double(hits) * E) / dR, 1.0))
                   : 0.0;
        double alpha = std::min(bestAlpha, maxAlpha);
        auto beta = placement(step, n, l);
        if (!beta)
          return beta.takeError();
        double mw = 0, mr = 0;
        if (auto e = migration(step, n, l, read, mw, mr))
          return std::move(e);
        double tHbm = (alpha * dR + *beta * dW + (0.0 + mw)) / bHbm;
        double extRead = ((1 - alpha) * dR + mr) / std::min(bR, bInt);
        double writeMig = (0.0 + dW) / bW;
        double internalMig = (0.0 + mr + dW) / bInt;
        double readMig = mr / bR;
        double tExt = std::max({writeMig, readMig, internalMig}) + extRead;
        r.totalNs += std::max(tHbm, tExt);
        alphaSum += alpha;
        ++r.steps;
        r.accesses += read.size();
        r.hits += hits;
        r.hbmMigrationBytes += mw;
        r.extMigrationBytes += mr;
      }
    }
    r.meanAlpha = r.steps ? alphaSum / double(r.steps) : 0;
    r.promotions = promotions;
    r.evictions = hbm.evictions;
    return r;
  }

private:
  // --- initial placement (memory_status.py) ------------------------------

  llvm::Error initialize(const TraceSource &trace) {
    switch (cfg.policy) {
    case SeedPolicy::Static:
    case SeedPolicy::Unlimited:
      // HBMInit: prompt tokens token-major until full.
      for (uint32_t n = 0; n < nPre; ++n)
        for (uint32_t l = 0; l < L; ++l)
          if (!hbm.add(n, l))
            return llvm::Error::success();
      return llvm::Error::success();
    case SeedPolicy::Page: {
      // HBMInitPaged: whole pages while they fit, but only tokens
      // start..start+14 of each (range(start, end) with end = start + 15).
      uint32_t pages = nPre / kPageSize;
      int64_t need = int64_t(kPageSize) * L;
      for (uint32_t page = 0; page < pages; ++page) {
        if (hbm.count + need > hbm.maxKv)
          return llvm::Error::success();
        uint32_t start = page * kPageSize;
        for (uint32_t t = start; t < start + kPageSize - 1; ++t)
          for (uint32_t l = 0; l < L; ++l)
            if (!hbm.add(t, l))
              return llvm::Error::success();
      }
      return llvm::Error::success();
    }
    case SeedPolicy::Reactive:
    case SeedPolicy::Lookahead: {
      // TokenLevelBestRatioInit: tokens <= N_pre in order of first read
      // (n, l, list order) until one does not fit.
      auto src = trace.reopen();
      if (!src)
        return src.takeError();
      SetWindow ahead(std::move(*src));
      for (uint32_t step = firstStep; step <= lastStep; ++step) {
        ahead.dropBefore(step);
        for (uint32_t l = 0; l < L; ++l) {
          auto s = ahead.get(step, l);
          if (!s)
            return s.takeError();
          for (uint32_t t : **s) {
            if (t > nPre)
              continue;
            if (!hbm.add(t, l))
              return llvm::Error::success();
          }
        }
      }
      return llvm::Error::success();
    }
    }
    return llvm::Error::success();
  }

  // --- placement: beta (placement.py) ------------------------------------

  llvm::Expected<double> placement(uint32_t step, uint32_t n, uint32_t l) {
    switch (cfg.policy) {
    case SeedPolicy::Static:
    case SeedPolicy::Unlimited:
    case SeedPolicy::Reactive:
      return hbm.add(n, l) ? 1.0 : 0.0; // PreferHBM
    case SeedPolicy::Page: {
      uint32_t start = (n / kPageSize) * kPageSize;
      if (n == start) {
        if (hbm.remaining() >= int64_t(kPageSize) * L)
          return hbm.add(n, l) ? 1.0 : 0.0;
        return 0.0;
      }
      if (hbm.has(start, l))
        return hbm.add(n, l) ? 1.0 : 0.0;
      return 0.0;
    }
    case SeedPolicy::Lookahead: {
      // LookAheadOnePlacement: token n goes to HBM only if step n+1 reads
      // it, evicting the lowest token not read at n+1.
      auto nx = sets->get(step + 1, l);
      if (!nx)
        return nx.takeError();
      const Set &next = **nx;
      if (!std::binary_search(next.begin(), next.end(), n))
        return 0.0;
      if (hbm.add(n, l))
        return 1.0;
      bool placed = false;
      hbm.forEachBelow(l, n, [&](uint32_t old) {
        if (std::binary_search(next.begin(), next.end(), old))
          return true;
        hbm.remove(old, l);
        placed = hbm.add(n, l);
        return !placed;
      });
      return placed ? 1.0 : 0.0;
    }
    }
    return 0.0;
  }

  // --- migration (migration.py) -------------------------------------------

  llvm::Error migration(uint32_t step, uint32_t n, uint32_t l, const Set &read,
                        double &mw, double &mr) {
    switch (cfg.policy) {
    case SeedPolicy::Static:
    case SeedPolicy::Unlimited:
      return llvm::Error::success();
    case SeedPolicy::Reactive:
      return normalMigration(n, l, read, mw, mr);
    case SeedPolicy::Page:
      return pageMigration(step, n, l, read, mw, mr);
    case SeedPolicy::Lookahead:
      return saMigration(step, n, l, read, mw, mr);
    }
    return llvm::Error::success();
  }

  llvm::Error normalMigration(uint32_t n, uint32_t l, const Set &read,
                              double &mw, double &mr) {
    toAdd.clear();
    for (uint32_t t : read)
      if (!hbm.has(t, l))
        toAdd.push_back(t);
    for (uint32_t t : toAdd) {
      while (!hbm.add(t, l)) {
        bool removed = false;
        hbm.forEachBelow(l, n, [&](uint32_t old) {
          hbm.remove(old, l);
          removed = true;
          return cfg.quirks.wholeLayerEviction;
        });
        if (!removed)
          return makeFieldError(
              "seed-code reactive", "step",
              "at n=" + std::to_string(n) + " l=" + std::to_string(l) +
                  " HBM is full and layer " + std::to_string(l) +
                  " holds nothing below n: their NormalMigration loops "
                  "forever here");
      }
      mw += E;
      if (!cfg.quirks.promotionPricing)
        mr += E;
      ++promotions;
    }
    return llvm::Error::success();
  }

  /// PageMigration.transfer_page_to_hbm (or its per-layer variant).
  bool transferPage(uint32_t token, uint32_t l) {
    const bool allLayers = cfg.quirks.pageGeometry;
    uint32_t start = (token / kPageSize) * kPageSize;
    uint32_t l0 = allLayers ? 0 : l, l1 = allLayers ? L : l + 1;
    int64_t need = int64_t(kPageSize) * (l1 - l0);
    while (true) {
      if (hbm.remaining() >= need) {
        // The adds fail only when every entry of the page is missing and
        // exactly `need` remain (the max_KV_num - 1 limit bites on the last
        // one); the rollback then restores the state exactly, so skip the
        // 2 x need operations it would take.
        uint32_t present = 0;
        if (allLayers) {
          present = hbm.presentInPage(start / kPageSize);
        } else {
          for (uint32_t t = start; t < start + kPageSize; ++t)
            present += hbm.has(t, l);
        }
        if (present == 0 && hbm.remaining() == need)
          return false;
        added.clear();
        for (uint32_t t = start; t < start + kPageSize; ++t)
          for (uint32_t layer = l0; layer < l1; ++layer) {
            if (!hbm.has(t, layer) && !hbm.add(t, layer)) {
              // Rollback removes every (t, layer) seen so far, including
              // entries that were in HBM before the transfer.
              for (auto [rt, rl] : added)
                hbm.remove(rt, rl);
              return false;
            }
            added.push_back({t, layer});
          }
        return true;
      }
      // The lowest page below the token's whose first token is in HBM on
      // layer 0 (per-layer geometry: on layer l).
      int64_t old = hbm.lowestHead(allLayers ? 0 : l, token / kPageSize);
      if (old < 0)
        return false;
      uint32_t os = uint32_t(old) * kPageSize;
      for (uint32_t t = os; t < os + kPageSize; ++t)
        for (uint32_t layer = l0; layer < l1; ++layer)
          if (hbm.has(t, layer))
            hbm.remove(t, layer);
    }
  }

  llvm::Error pageMigration(uint32_t step, uint32_t n, uint32_t l,
                            const Set &read, double &mw, double &mr) {
    if (uint64_t(n) + 1 >= nEnd)
      return llvm::Error::success();
    auto nx = sets->get(step + 1, l);
    if (!nx)
      return nx.takeError();
    const Set &next = **nx;
    const uint32_t layersMoved = cfg.quirks.pageGeometry ? L : 1;
    const double pageAmount = double(kPageSize) * layersMoved * E;
    for (uint32_t t : next) {
      if (hbm.has(t, l))
        continue;
      if (!transferPage(t, l))
        continue;
      if (!cfg.quirks.conditionalCharges ||
          std::binary_search(read.begin(), read.end(), t))
        mr += pageAmount;
      mw += pageAmount;
      promotions += uint64_t(kPageSize) * layersMoved;
    }
    return llvm::Error::success();
  }

  llvm::Error saMigration(uint32_t step, uint32_t n, uint32_t l,
                          const Set &read, double &mw, double &mr) {
    // collect_future_tokens: tokens read now and within the next W steps,
    // not in HBM, scored by sum(1/offset); no_remove = every token <= n read
    // within the window.
    ++stamp;
    for (uint32_t t : read)
      mark[t] = stamp;
    cands.clear();
    for (uint32_t off = 1; off <= cfg.window; ++off) {
      if (uint64_t(n) + off >= nEnd)
        break;
      auto s = sets->get(step + off, l);
      if (!s)
        return s.takeError();
      for (uint32_t t : **s) {
        if (t > n)
          continue;
        futureMark[t] = stamp;
        if (mark[t] == stamp && !hbm.has(t, l)) {
          if (scoreStamp(t) != stamp) {
            score[t] = 0.0;
            setScoreStamp(t);
            cands.push_back(t);
          }
          score[t] += 1.0 / double(off);
        }
      }
    }
    if (cands.empty())
      return llvm::Error::success();
    std::sort(cands.begin(), cands.end(), [&](uint32_t a, uint32_t b) {
      if (score[a] != score[b])
        return score[a] > score[b];
      return a < b;
    });
    uint64_t topK = uint64_t(std::ceil(cfg.topk * double(cands.size())));
    uint64_t migrated = 0;
    size_t q = 0;
    // The victim is the first key of the layer's Python set (in CPython's
    // iteration order) not read within the window. Within this call every
    // key added is a candidate (read within the window) and a victim's slot
    // becomes a dummy, so slots before the last victim stay non-victims and
    // the scan resumes there unless the table was resized.
    size_t cursor = 0;
    uint64_t generation = hbm.order(l).generation();
    auto notSoon = [&](int64_t v) { return futureMark[size_t(v)] != stamp; };
    while (q < cands.size() && migrated < topK) {
      uint32_t t = cands[q++];
      bool ok = true;
      while (!hbm.add(t, l)) {
        const PySetOrder &set = hbm.order(l);
        if (set.generation() != generation) {
          generation = set.generation();
          cursor = 0;
        }
        int64_t slot = set.firstSlotFrom(cursor, notSoon);
        if (slot < 0) {
          ok = false;
          break;
        }
        cursor = size_t(slot);
        hbm.remove(uint32_t(set.keyAt(size_t(slot))), l);
      }
      if (ok) {
        mw += E;
        if (!cfg.quirks.promotionPricing)
          mr += E;
        ++migrated;
        ++promotions;
      }
    }
    return llvm::Error::success();
  }

  uint32_t scoreStamp(uint32_t t) const {
    return t < scoreStamps.size() ? scoreStamps[t] : 0;
  }
  void setScoreStamp(uint32_t t) {
    if (t >= scoreStamps.size())
      scoreStamps.resize(mark.size(), 0);
    scoreStamps[t] = stamp;
  }

  const SeedCodeConfig &cfg;
  TraceHeader h;
  uint32_t L;
  uint32_t firstStep, lastStep;
  uint32_t nPre;
  uint64_t nEnd;
  double E, Wt, bHbm, bR, bW, bInt, bestAlpha;
  HbmState hbm;
  std::unique_ptr<SetWindow> sets;
  std::vector<uint32_t> mark, futureMark, scoreStamps;
  std::vector<double> score;
  uint32_t stamp = 0;
  std::vector<uint32_t> toAdd, cands;
  std::vector<std::pair<uint32_t, uint32_t>> added;
  uint64_t promotions = 0;
};

} // namespace

llvm::Expected<SeedCodeResult>
kvopt::simulateSeedCode(const TraceSource &trace, const Problem &problem,
                        const SeedCodeConfig &config) {
  const TraceHeader &h = trace.header();
  if (h.batch != 1)
    return makeFieldError(trace.describe(), "batch",
                          "the seed's simulator has one sequence; got batch " +
                              std::to_string(h.batch));
  if (problem.model.params().mode != TimeModelMode::Paper ||
      problem.work.tokensPerBlock != 1)
    return makeFieldError("seed-code", "mode",
                          "needs the paper-mode problem with 1-token blocks "
                          "(kv-trace simulate --seed-code implies --paper "
                          "--block=1)");
  if (config.policy == SeedPolicy::Lookahead &&
      !(config.window >= 1 && config.topk > 0 && config.topk <= 1))
    return makeFieldError("seed-code", "window/topk",
                          "need window >= 1 and topk in (0, 1]; got " +
                              std::to_string(config.window) + ", " +
                              std::to_string(config.topk));
  uint32_t last = std::min<uint32_t>(config.lastStep, h.decodeSteps - 1);
  if (config.firstStep > last)
    return makeFieldError("seed-code", "steps",
                          "first step " + std::to_string(config.firstStep) +
                              " is past the last " + std::to_string(last));
  Engine engine(problem, config, h, config.firstStep, last);
  return engine.run(trace);
}
