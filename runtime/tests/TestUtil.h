//===- TestUtil.h - Shared helpers of the kvrt unit tests -------*- C++ -*-===//
//
// RAII holders for kvrt objects, small cache shapes, random placements and
// random valid schedules.
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_TESTS_TESTUTIL_H
#define KVRT_TESTS_TESTUTIL_H

#include "kvrt/kvrt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

namespace kvrt::test {

struct ContextDeleter {
  void operator()(kvrt_context *c) const { kvrt_context_destroy(c); }
};
struct CacheDeleter {
  void operator()(kvrt_cache *c) const { kvrt_cache_destroy(c); }
};
struct ScheduleDeleter {
  void operator()(kvrt_schedule *s) const { kvrt_schedule_destroy(s); }
};
using ContextPtr = std::unique_ptr<kvrt_context, ContextDeleter>;
using CachePtr = std::unique_ptr<kvrt_cache, CacheDeleter>;
using SchedulePtr = std::unique_ptr<kvrt_schedule, ScheduleDeleter>;

#define KVRT_ASSERT_OK(expr)                                                   \
  do {                                                                         \
    kvrt_status s_ = (expr);                                                   \
    ASSERT_EQ(s_, KVRT_OK) << kvrt_last_error();                               \
  } while (0)

/// A host context; copies sleep up to `delayUs` microseconds each.
inline ContextPtr makeHostContext(uint32_t delayUs = 0, uint64_t seed = 1) {
  kvrt_context_options o;
  kvrt_context_options_init(&o);
  o.copy_delay_max_us = delayUs;
  o.delay_seed = seed;
  kvrt_context *c = nullptr;
  EXPECT_EQ(kvrt_context_create(&o, &c), KVRT_OK) << kvrt_last_error();
  return ContextPtr(c);
}

/// A small GQA cache shape.
inline kvrt_cache_config smallConfig(kvrt_dtype dtype = KVRT_DTYPE_F32) {
  kvrt_cache_config c{};
  c.num_layers = 3;
  c.num_kv_heads = 2;
  c.num_q_heads = 8;
  c.head_dim = 32;
  c.block_tokens = 4;
  c.num_seqs = 2;
  c.max_blocks_per_seq = 6;
  c.dtype = dtype;
  uint32_t total = c.num_layers * c.num_seqs * c.max_blocks_per_seq;
  c.hbm_capacity_blocks = total / 2;
  c.dram_capacity_blocks = total;
  c.scale = 0.0f;
  return c;
}

/// A schedule whose initial placement puts `hbmBlocks` random blocks in HBM.
inline SchedulePtr randomPlacement(const kvrt_cache_config &c,
                                   uint32_t hbmBlocks, uint32_t steps,
                                   std::mt19937_64 &rng) {
  uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
  kvrt_schedule *s = nullptr;
  EXPECT_EQ(kvrt_schedule_create(c.num_layers, perLayer, steps, &s), KVRT_OK);
  std::vector<uint32_t> all(c.num_layers * perLayer);
  for (uint32_t i = 0; i < all.size(); ++i)
    all[i] = i;
  std::shuffle(all.begin(), all.end(), rng);
  for (uint32_t i = 0; i < hbmBlocks && i < all.size(); ++i)
    EXPECT_EQ(kvrt_schedule_set_placement(s, all[i] / perLayer,
                                          all[i] % perLayer, 1, KVRT_TIER_HBM),
              KVRT_OK);
  return SchedulePtr(s);
}

/// Adds random valid migrations (single blocks and short ranges) to `s`,
/// keeping HBM occupancy within `hbmCap` after every (step, layer) group.
inline void addRandomMigrations(kvrt_schedule *s, const kvrt_cache_config &c,
                                uint32_t hbmCap, uint32_t perGroup,
                                std::mt19937_64 &rng) {
  uint32_t layers = c.num_layers;
  uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
  std::vector<uint8_t> inHbm(layers * perLayer);
  uint32_t hbm = 0;
  for (uint32_t l = 0; l < layers; ++l)
    for (uint32_t b = 0; b < perLayer; ++b) {
      kvrt_tier t;
      EXPECT_EQ(kvrt_schedule_initial_tier(s, l, b, &t), KVRT_OK);
      inHbm[l * perLayer + b] = t == KVRT_TIER_HBM;
      hbm += inHbm[l * perLayer + b];
    }
  std::vector<kvrt_migration> ms;
  for (uint32_t step = 0; step < kvrt_schedule_num_steps(s); ++step)
    for (uint32_t l = 0; l < layers; ++l) {
      // Demotions first (as executed), then promotions into freed slots.
      for (int dir = KVRT_DEMOTE; dir >= KVRT_PROMOTE; --dir)
        for (uint32_t k = 0; k < perGroup; ++k) {
          uint32_t first = rng() % perLayer;
          uint32_t count = 1 + rng() % 3;
          if (first + count > perLayer)
            count = perLayer - first;
          uint8_t from = dir == KVRT_PROMOTE ? 0 : 1;
          bool ok = true;
          for (uint32_t b = first; b < first + count; ++b)
            ok = ok && inHbm[l * perLayer + b] == from;
          if (!ok || (dir == KVRT_PROMOTE && hbm + count > hbmCap))
            continue;
          for (uint32_t b = first; b < first + count; ++b)
            inHbm[l * perLayer + b] = 1 - from;
          hbm = dir == KVRT_PROMOTE ? hbm + count : hbm - count;
          ms.push_back(
              {step, l, first, count, static_cast<kvrt_direction>(dir)});
        }
    }
  EXPECT_EQ(kvrt_schedule_add_migrations(s, ms.data(), ms.size()), KVRT_OK)
      << kvrt_last_error();
}

/// Checksums of every block, layer-major.
inline std::vector<uint64_t> allChecksums(kvrt_cache *cache) {
  kvrt_cache_config c;
  EXPECT_EQ(kvrt_cache_get_config(cache, &c), KVRT_OK);
  std::vector<uint64_t> sums;
  for (uint32_t l = 0; l < c.num_layers; ++l)
    for (uint32_t b = 0; b < kvrt_cache_blocks_per_layer(cache); ++b) {
      uint64_t sum = 0;
      EXPECT_EQ(kvrt_cache_block_checksum(cache, l, b, &sum), KVRT_OK);
      sums.push_back(sum);
    }
  return sums;
}

/// Every block's (tier, slot), layer-major.
inline std::vector<std::pair<int, uint32_t>> allLocations(kvrt_cache *cache) {
  kvrt_cache_config c;
  EXPECT_EQ(kvrt_cache_get_config(cache, &c), KVRT_OK);
  std::vector<std::pair<int, uint32_t>> out;
  for (uint32_t l = 0; l < c.num_layers; ++l)
    for (uint32_t b = 0; b < kvrt_cache_blocks_per_layer(cache); ++b) {
      kvrt_tier t;
      uint32_t slot;
      EXPECT_EQ(kvrt_cache_block_location(cache, l, b, &t, &slot), KVRT_OK);
      out.push_back({t, slot});
    }
  return out;
}

} // namespace kvrt::test

#endif // KVRT_TESTS_TESTUTIL_H
