//===- ScheduleNet.h - A step's net moves in execution order ----*- C++ -*-===//
//
// netStepMoves (declared in ScheduleImpl.h), a template so the checks (on a
// placement array) and the executor (on a cache's block tables) share it.
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_SCHEDULENET_H
#define KVRT_LIB_SCHEDULENET_H

#include "Error.h"

#include <algorithm>
#include <map>

namespace kvrt {

/// Index range of the migrations of `step` (they are sorted by step).
inline std::pair<size_t, size_t> stepRange(const kvrt_schedule &s,
                                           uint32_t step) {
  auto lo = std::lower_bound(
      s.migrations.begin(), s.migrations.end(), step,
      [](const kvrt_migration &m, uint32_t k) { return m.step < k; });
  auto hi = std::upper_bound(
      lo, s.migrations.end(), step,
      [](uint32_t k, const kvrt_migration &m) { return k < m.step; });
  return {size_t(lo - s.migrations.begin()), size_t(hi - s.migrations.begin())};
}

template <typename InHbm>
kvrt_status netStepMoves(const kvrt_schedule &s, uint32_t step, InHbm inHbm,
                         std::vector<NetMove> &demotions,
                         std::vector<NetMove> &promotions) {
  struct Count {
    uint32_t promote = 0, demote = 0;
    size_t record = 0;
  };
  std::map<uint64_t, Count> counts;
  auto [lo, hi] = stepRange(s, step);
  for (size_t i = lo; i < hi; ++i) {
    const kvrt_migration &m = s.migrations[i];
    for (uint32_t b = m.first_block; b < m.first_block + m.count; ++b) {
      Count &c = counts[(uint64_t(m.layer) << 32) | b];
      if (!c.promote && !c.demote)
        c.record = i;
      (m.direction == KVRT_PROMOTE ? c.promote : c.demote)++;
    }
  }
  demotions.clear();
  promotions.clear();
  for (const auto &[key, c] : counts) {
    uint32_t layer = uint32_t(key >> 32), block = uint32_t(key);
    bool hbm = inHbm(layer, block);
    // Alternating moves starting away from the block's tier.
    uint32_t away = hbm ? c.demote : c.promote;
    uint32_t back = hbm ? c.promote : c.demote;
    if (away == back)
      continue;
    if (away == back + 1) {
      (hbm ? demotions : promotions)
          .push_back({layer, block, hbm ? KVRT_DEMOTE : KVRT_PROMOTE});
      continue;
    }
    // Either a move back before any move away (the block is still in its
    // tier) or two moves away in a row (it is already in the other tier).
    const kvrt_migration &m = s.migrations[c.record];
    bool stillHere = back > away;
    bool inHbmThen = stillHere ? hbm : !hbm;
    return fail(KVRT_ERR_MISMATCH,
                "migration %zu (step %u, layer %u): block %u is already in "
                "%s, cannot %s it (step %u moves it %u times to HBM and %u "
                "times to DRAM)",
                c.record, m.step, layer, block, inHbmThen ? "HBM" : "DRAM",
                inHbmThen ? "promote" : "demote", step, c.promote, c.demote);
  }
  return KVRT_OK;
}

} // namespace kvrt

#endif // KVRT_LIB_SCHEDULENET_H
