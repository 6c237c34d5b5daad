//===- Schedule.cpp - Building, checking and querying schedules -*- C++ -*-===//
//
// The builder half of kvrt/schedule.h and the self-consistency check shared
// by the writer, the reader and the executor.
//
//===----------------------------------------------------------------------===//
#include "Error.h"
#include "ScheduleImpl.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <new>

using namespace kvrt;

kvrt_status kvrt::checkRecord(const kvrt_schedule &s, const kvrt_migration &m,
                              size_t index) {
  if (m.direction != KVRT_PROMOTE && m.direction != KVRT_DEMOTE)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "migration %zu: unknown direction %d", index,
                static_cast<int>(m.direction));
  if (m.step >= s.numSteps)
    return fail(KVRT_ERR_MISMATCH,
                "migration %zu: step %u out of range (schedule has %u steps)",
                index, m.step, s.numSteps);
  if (m.layer >= s.numLayers)
    return fail(KVRT_ERR_MISMATCH,
                "migration %zu (step %u): layer %u out of range (schedule has "
                "%u layers)",
                index, m.step, m.layer, s.numLayers);
  if (m.count == 0 || uint64_t(m.first_block) + m.count > s.blocksPerLayer)
    return fail(
        KVRT_ERR_MISMATCH,
        "migration %zu (step %u, layer %u): blocks [%u, %llu) out of "
        "range (layer has %u blocks)",
        index, m.step, m.layer, m.first_block,
        static_cast<unsigned long long>(uint64_t(m.first_block) + m.count),
        s.blocksPerLayer);
  return KVRT_OK;
}

uint32_t kvrt::deathStep(const kvrt_schedule &s, uint32_t layer,
                         uint32_t block) {
  if (layer >= s.windows.size() || !s.windows[layer] || !s.blocksPerSeq)
    return std::numeric_limits<uint32_t>::max();
  uint64_t k = block % s.blocksPerSeq;
  uint64_t d = (k + 1) * s.blockTokens + s.windows[layer];
  if (d <= s.promptTokens)
    return 0;
  d -= s.promptTokens;
  return d >= std::numeric_limits<uint32_t>::max()
             ? std::numeric_limits<uint32_t>::max() - 1
             : uint32_t(d);
}

kvrt_status kvrt::checkWindows(const kvrt_schedule &s) {
  if (s.windows.empty())
    return KVRT_OK;
  if (s.windows.size() != s.numLayers)
    return fail(KVRT_ERR_MISMATCH, "%zu windows for %u layers",
                s.windows.size(), s.numLayers);
  if (!s.blockTokens)
    return fail(KVRT_ERR_MISMATCH,
                "windows need the block size (block_tokens is 0)");
  if (!s.blocksPerSeq || s.blocksPerLayer % s.blocksPerSeq)
    return fail(KVRT_ERR_MISMATCH,
                "blocks_per_seq %u does not divide the %u blocks per layer",
                s.blocksPerSeq, s.blocksPerLayer);
  for (uint32_t l = 0; l < s.numLayers; ++l)
    if (s.windows[l] > 0x7fffffffu)
      return fail(KVRT_ERR_MISMATCH,
                  "window of layer %u is %u tokens, more than 2^31-1", l,
                  s.windows[l]);
  return KVRT_OK;
}

kvrt_status kvrt::simulateSchedule(const kvrt_schedule &s, uint64_t hbmCap,
                                   uint64_t dramCap, const char *who) {
  KVRT_TRY(checkWindows(s));
  std::vector<uint8_t> inHbm = s.initialHbm;
  uint64_t total = uint64_t(s.numLayers) * s.blocksPerLayer;
  // Deaths in step order; a block dead at step 0 never exists.
  struct Death {
    uint32_t step, layer, block;
  };
  std::vector<Death> deaths;
  std::vector<uint8_t> dead;
  if (!s.windows.empty()) {
    dead.assign(inHbm.size(), 0);
    for (uint32_t l = 0; l < s.numLayers; ++l)
      for (uint32_t b = 0; b < s.blocksPerLayer; ++b) {
        uint32_t d = deathStep(s, l, b);
        if (d < s.numSteps)
          deaths.push_back({d, l, b});
      }
    std::stable_sort(deaths.begin(), deaths.end(),
                     [](const Death &a, const Death &b) {
                       return a.step < b.step;
                     });
  }
  uint64_t hbm = std::count(inHbm.begin(), inHbm.end(), uint8_t(1));
  size_t nextDeath = 0;
  // A step's deaths free their slots first, with the step's demotions
  // (docs/schedule-format.md, "Sliding windows").
  auto dieUpTo = [&](uint32_t step) {
    for (; nextDeath < deaths.size() && deaths[nextDeath].step <= step;
         ++nextDeath) {
      size_t at = size_t(deaths[nextDeath].layer) * s.blocksPerLayer +
                  deaths[nextDeath].block;
      hbm -= inHbm[at];
      inHbm[at] = 0;
      dead[at] = 1;
      --total;
    }
  };
  dieUpTo(0);
  auto checkCaps = [&](const char *when, uint32_t step,
                       uint32_t layer) -> kvrt_status {
    if (hbm > hbmCap)
      return fail(KVRT_ERR_CAPACITY,
                  "%s (step %u, layer %u): %llu blocks in HBM exceed the "
                  "%s HBM capacity of %llu blocks",
                  when, step, layer, static_cast<unsigned long long>(hbm), who,
                  static_cast<unsigned long long>(hbmCap));
    if (total - hbm > dramCap)
      return fail(KVRT_ERR_CAPACITY,
                  "%s (step %u, layer %u): %llu blocks in DRAM exceed the "
                  "%s DRAM capacity of %llu blocks",
                  when, step, layer,
                  static_cast<unsigned long long>(total - hbm), who,
                  static_cast<unsigned long long>(dramCap));
    return KVRT_OK;
  };
  KVRT_TRY(checkCaps("initial placement", 0, 0));
  const auto &ms = s.migrations;
  for (size_t i = 0; i < ms.size(); ++i)
    KVRT_TRY(checkRecord(s, ms[i], i));
  std::vector<NetMove> demotions, promotions;
  auto at = [&](uint32_t layer, uint32_t block) -> uint8_t & {
    return inHbm[size_t(layer) * s.blocksPerLayer + block];
  };
  for (size_t i = 0; i < ms.size();) {
    uint32_t step = ms[i].step;
    dieUpTo(step);
    if (!dead.empty())
      for (size_t j = i; j < ms.size() && ms[j].step == step; ++j)
        for (uint32_t b = ms[j].first_block;
             b < ms[j].first_block + ms[j].count; ++b)
          if (dead[size_t(ms[j].layer) * s.blocksPerLayer + b])
            return fail(KVRT_ERR_MISMATCH,
                        "migration %zu (step %u, layer %u): block %u is dead "
                        "(it left the layer's %u-token window at step %u)",
                        j, step, ms[j].layer, b, s.windows[ms[j].layer],
                        deathStep(s, ms[j].layer, b));
    KVRT_TRY(netStepMoves(
        s, step, [&](uint32_t l, uint32_t b) { return at(l, b) != 0; },
        demotions, promotions));
    for (const NetMove &m : demotions)
      at(m.layer, m.block) = 0;
    hbm -= demotions.size();
    if (!demotions.empty())
      KVRT_TRY(checkCaps("after the step's demotions", step,
                         demotions.front().layer));
    for (size_t p = 0; p < promotions.size(); ++p) {
      at(promotions[p].layer, promotions[p].block) = 1;
      ++hbm;
      if (p + 1 == promotions.size() ||
          promotions[p + 1].layer != promotions[p].layer)
        KVRT_TRY(checkCaps("after the migrations", step, promotions[p].layer));
    }
    while (i < ms.size() && ms[i].step == step)
      ++i;
  }
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_schedule_create(uint32_t num_layers,
                                            uint32_t blocks_per_layer,
                                            uint32_t num_steps,
                                            kvrt_schedule **out) {
  if (!out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null output pointer");
  *out = nullptr;
  if (num_layers < 1 || num_layers > 65535 || blocks_per_layer < 1 ||
      blocks_per_layer > 0x7fffffffu)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "schedule shape %u layers x %u blocks; layers must be in "
                "1..65535 and blocks in 1..2^31-1",
                num_layers, blocks_per_layer);
  std::unique_ptr<kvrt_schedule> s(new (std::nothrow) kvrt_schedule);
  if (!s)
    return fail(KVRT_ERR_ALLOCATION, "cannot allocate a schedule");
  s->numLayers = num_layers;
  s->blocksPerLayer = blocks_per_layer;
  s->numSteps = num_steps;
  try {
    s->initialHbm.assign(size_t(num_layers) * blocks_per_layer, 0);
  } catch (const std::bad_alloc &) {
    return fail(KVRT_ERR_ALLOCATION, "cannot allocate a %u x %u placement",
                num_layers, blocks_per_layer);
  }
  *out = s.release();
  return KVRT_OK;
}

extern "C" void kvrt_schedule_destroy(kvrt_schedule *schedule) {
  delete schedule;
}

extern "C" kvrt_status
kvrt_schedule_set_placement(kvrt_schedule *s, uint32_t layer, uint32_t first,
                            uint32_t count, kvrt_tier tier) {
  if (!s)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null schedule");
  if (tier != KVRT_TIER_HBM && tier != KVRT_TIER_DRAM)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "unknown tier %d",
                static_cast<int>(tier));
  if (layer >= s->numLayers || uint64_t(first) + count > s->blocksPerLayer)
    return fail(KVRT_ERR_MISMATCH,
                "placement of blocks [%u, %llu) of layer %u is out of range "
                "(%u layers x %u blocks)",
                first, static_cast<unsigned long long>(uint64_t(first) + count),
                layer, s->numLayers, s->blocksPerLayer);
  std::fill_n(s->initialHbm.begin() + size_t(layer) * s->blocksPerLayer + first,
              count, tier == KVRT_TIER_HBM ? 1 : 0);
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_schedule_add_migrations(kvrt_schedule *s,
                                                    const kvrt_migration *ms,
                                                    size_t count) {
  if (!s || (!ms && count))
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null schedule or migrations");
  for (size_t i = 0; i < count; ++i)
    KVRT_TRY(checkRecord(*s, ms[i], s->migrations.size() + i));
  try {
    size_t old = s->migrations.size();
    s->migrations.insert(s->migrations.end(), ms, ms + count);
    auto begin = s->migrations.begin();
    bool sorted = std::is_sorted(old ? begin + (old - 1) : begin,
                                 s->migrations.end(), migrationBefore);
    if (!sorted)
      std::stable_sort(begin, s->migrations.end(), migrationBefore);
  } catch (const std::bad_alloc &) {
    return fail(KVRT_ERR_ALLOCATION, "cannot grow the migration list");
  }
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_schedule_set_assumptions(kvrt_schedule *s,
                                                     uint32_t block_tokens,
                                                     uint32_t hbm_capacity) {
  if (!s)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null schedule");
  s->blockTokens = block_tokens;
  s->hbmCapacity = hbm_capacity;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_schedule_set_windows(kvrt_schedule *s,
                                                 const uint32_t *windows,
                                                 uint32_t prompt_tokens,
                                                 uint32_t blocks_per_seq) {
  if (!s || !windows)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null schedule or windows");
  if (!blocks_per_seq || s->blocksPerLayer % blocks_per_seq)
    return fail(KVRT_ERR_MISMATCH,
                "blocks_per_seq %u does not divide the %u blocks per layer",
                blocks_per_seq, s->blocksPerLayer);
  try {
    s->windows.assign(windows, windows + s->numLayers);
  } catch (const std::bad_alloc &) {
    return fail(KVRT_ERR_ALLOCATION, "cannot hold %u windows", s->numLayers);
  }
  s->promptTokens = prompt_tokens;
  s->blocksPerSeq = blocks_per_seq;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_schedule_check(const kvrt_schedule *s) {
  if (!s)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null schedule");
  uint64_t cap =
      s->hbmCapacity ? s->hbmCapacity : std::numeric_limits<uint64_t>::max();
  return simulateSchedule(*s, cap, std::numeric_limits<uint64_t>::max(),
                          "assumed");
}

extern "C" uint32_t kvrt_schedule_num_layers(const kvrt_schedule *s) {
  return s ? s->numLayers : 0;
}
extern "C" uint32_t kvrt_schedule_blocks_per_layer(const kvrt_schedule *s) {
  return s ? s->blocksPerLayer : 0;
}
extern "C" uint32_t kvrt_schedule_num_steps(const kvrt_schedule *s) {
  return s ? s->numSteps : 0;
}
extern "C" uint32_t kvrt_schedule_block_tokens(const kvrt_schedule *s) {
  return s ? s->blockTokens : 0;
}
extern "C" uint32_t kvrt_schedule_hbm_capacity(const kvrt_schedule *s) {
  return s ? s->hbmCapacity : 0;
}
extern "C" uint32_t kvrt_schedule_window(const kvrt_schedule *s,
                                         uint32_t layer) {
  return s && layer < s->windows.size() ? s->windows[layer] : 0;
}
extern "C" int kvrt_schedule_has_windows(const kvrt_schedule *s) {
  return s && !s->windows.empty();
}
extern "C" uint32_t kvrt_schedule_prompt_tokens(const kvrt_schedule *s) {
  return s && !s->windows.empty() ? s->promptTokens : 0;
}
extern "C" uint32_t kvrt_schedule_blocks_per_seq(const kvrt_schedule *s) {
  return s && !s->windows.empty() ? s->blocksPerSeq : 0;
}
extern "C" uint32_t kvrt_schedule_death_step(const kvrt_schedule *s,
                                             uint32_t layer, uint32_t block) {
  return s ? deathStep(*s, layer, block) : std::numeric_limits<uint32_t>::max();
}
extern "C" size_t kvrt_schedule_num_migrations(const kvrt_schedule *s) {
  return s ? s->migrations.size() : 0;
}

extern "C" kvrt_status kvrt_schedule_get_migration(const kvrt_schedule *s,
                                                   size_t index,
                                                   kvrt_migration *out) {
  if (!s || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null schedule or output");
  if (index >= s->migrations.size())
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "migration index %zu out of range (%zu migrations)", index,
                s->migrations.size());
  *out = s->migrations[index];
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_schedule_initial_tier(const kvrt_schedule *s,
                                                  uint32_t layer,
                                                  uint32_t block,
                                                  kvrt_tier *out) {
  if (!s || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null schedule or output");
  if (layer >= s->numLayers || block >= s->blocksPerLayer)
    return fail(KVRT_ERR_MISMATCH, "block %u of layer %u out of range", block,
                layer);
  *out = s->initialHbm[size_t(layer) * s->blocksPerLayer + block]
             ? KVRT_TIER_HBM
             : KVRT_TIER_DRAM;
  return KVRT_OK;
}
