//===- SeedState.h - The seed simulator's trace window and HBM --*- C++ -*-===//
//
// Internal to the seed-code engine (SeedCode.cpp): the full read sets of a
// window of decode steps rebuilt from the trace's deltas (their TraceReader),
// and memory_status.MemStatus's per-layer HBM sets with the global count.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_LIB_CORE_SEEDSTATE_H
#define KVOPT_LIB_CORE_SEEDSTATE_H

#include "kvopt/Core/Error.h"
#include "kvopt/Core/Trace.h"

#include "SeedPySet.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace kvopt {
namespace seed {

using Set = std::vector<uint32_t>;

/// Full read sets of a window of decode steps, rebuilt from the deltas.
class SetWindow {
public:
  SetWindow(std::unique_ptr<TraceSource> src)
      : src(std::move(src)), h(this->src->header()), prev(h.layers) {}

  /// The read set of (step, layer); empty past the trace's end (their
  /// TraceReader returns [] for an n it has not indexed).
  llvm::Expected<const Set *> get(uint32_t step, uint32_t layer) {
    if (step >= h.decodeSteps)
      return &empty;
    while (first + buf.size() <= step)
      if (auto e = readStep())
        return std::move(e);
    return &buf[step - first][layer];
  }
  /// Forget steps before `step`.
  void dropBefore(uint32_t step) {
    while (!buf.empty() && first < step) {
      buf.pop_front();
      ++first;
    }
    if (buf.empty() && first < step)
      skipTo = step;
  }

private:
  llvm::Error readStep() {
    uint32_t step = first + uint32_t(buf.size());
    std::vector<Set> sets(h.layers);
    for (uint32_t l = 0; l < h.layers; ++l) {
      TraceRecord rec;
      auto more = src->next(rec);
      if (!more)
        return more.takeError();
      if (!*more || rec.step != step || rec.layer != l || rec.seq != 0)
        return makeFieldError(src->describe(), "record",
                              "expected step " + std::to_string(step) +
                                  " layer " + std::to_string(l));
      Set &out = sets[l];
      const Set &in = prev[l];
      out.reserve(in.size() + rec.added.size());
      size_t a = 0, r = 0;
      for (uint32_t t : in) {
        while (r < rec.removed.size() && rec.removed[r] < t)
          ++r;
        if (r < rec.removed.size() && rec.removed[r] == t)
          continue;
        while (a < rec.added.size() && rec.added[a] < t)
          out.push_back(rec.added[a++]);
        out.push_back(t);
      }
      while (a < rec.added.size())
        out.push_back(rec.added[a++]);
      prev[l] = out;
    }
    if (skipTo > step) {
      // Nothing buffered before the window: keep only the state.
      first = step + 1;
      return llvm::Error::success();
    }
    buf.push_back(std::move(sets));
    return llvm::Error::success();
  }

  std::unique_ptr<TraceSource> src;
  TraceHeader h;
  std::vector<Set> prev;
  std::deque<std::vector<Set>> buf;
  uint32_t first = 0;
  uint32_t skipTo = 0;
  Set empty;
};

constexpr uint32_t kPageSize = 16;

/// memory_status.MemStatus: the per-layer HBM sets and the global count.
class HbmState {
public:
  HbmState(uint32_t layers, uint64_t tokens, int64_t maxKv, bool order)
      : in(layers, std::vector<uint8_t>(tokens, 0)), bits(layers),
        heads(layers), maxKv(maxKv) {
    if (order)
      sets.resize(layers);
  }
  bool has(uint32_t t, uint32_t l) const {
    return t < in[l].size() && in[l][t];
  }
  /// add_token_to_hbm: refuses once count + 1 would reach max_KV_num.
  bool add(uint32_t t, uint32_t l) {
    if (has(t, l))
      return true;
    if (maxKv - (count + 1) <= 0)
      return false;
    if (t >= in[l].size())
      in[l].resize(size_t(t) + 64, 0);
    in[l][t] = 1;
    setBit(l, t, true);
    ++count;
    if (!sets.empty())
      sets[l].add(t);
    if (t % kPageSize == 0)
      setHead(l, t / kPageSize, true);
    if (t / kPageSize >= pagePresent.size())
      pagePresent.resize(t / kPageSize + 1, 0);
    ++pagePresent[t / kPageSize];
    return true;
  }
  /// remove_token_from_hbm (callers check membership first, as theirs do).
  void remove(uint32_t t, uint32_t l) {
    in[l][t] = 0;
    setBit(l, t, false);
    --count;
    ++evictions;
    if (!sets.empty())
      sets[l].discard(t);
    if (t % kPageSize == 0)
      setHead(l, t / kPageSize, false);
    --pagePresent[t / kPageSize];
  }
  /// Entries of page `page` (all layers) in HBM.
  uint32_t presentInPage(uint32_t page) const {
    return page < pagePresent.size() ? pagePresent[page] : 0;
  }
  /// The lowest page below `limit` whose first token is in HBM on layer l,
  /// or -1 (PageMigration's eviction scan).
  int64_t lowestHead(uint32_t l, uint32_t limit) const {
    const std::vector<uint64_t> &b = heads[l];
    for (size_t w = 0; w < b.size() && uint64_t(w) * 64 < limit; ++w)
      if (b[w]) {
        uint32_t p = uint32_t(w * 64 + __builtin_ctzll(b[w]));
        return p < limit ? int64_t(p) : -1;
      }
    return -1;
  }
  int64_t remaining() const { return maxKv - count; }
  const PySetOrder &order(uint32_t l) const { return sets[l]; }

  /// Visit the layer's HBM tokens below `limit` in ascending order (their
  /// `for old_token in range(n): if is_token_in_hbm(old_token, l)`) until
  /// `fn` returns false. `fn` may remove the visited token.
  template <typename Fn> void forEachBelow(uint32_t l, uint32_t limit, Fn fn) {
    std::vector<uint64_t> &b = bits[l];
    for (size_t w = 0; w < b.size() && uint64_t(w) * 64 < limit; ++w) {
      uint64_t word = b[w];
      while (word) {
        uint32_t t = uint32_t(w * 64 + __builtin_ctzll(word));
        word &= word - 1;
        if (t >= limit)
          return;
        if (!fn(t))
          return;
      }
    }
  }
  void setBit(uint32_t l, uint32_t t, bool on) {
    std::vector<uint64_t> &b = bits[l];
    if (t / 64 >= b.size())
      b.resize(t / 64 + 1, 0);
    if (on)
      b[t / 64] |= uint64_t(1) << (t % 64);
    else
      b[t / 64] &= ~(uint64_t(1) << (t % 64));
  }
  void setHead(uint32_t l, uint32_t page, bool on) {
    std::vector<uint64_t> &b = heads[l];
    if (page / 64 >= b.size())
      b.resize(page / 64 + 1, 0);
    if (on)
      b[page / 64] |= uint64_t(1) << (page % 64);
    else
      b[page / 64] &= ~(uint64_t(1) << (page % 64));
  }

  std::vector<std::vector<uint8_t>> in;
  std::vector<std::vector<uint64_t>> bits;
  std::vector<std::vector<uint64_t>> heads;
  std::vector<uint32_t> pagePresent;
  std::vector<PySetOrder> sets;
  int64_t maxKv;
  int64_t count = 0;
  uint64_t evictions = 0;
};

} // namespace seed
} // namespace kvopt

#endif // KVOPT_LIB_CORE_SEEDSTATE_H
