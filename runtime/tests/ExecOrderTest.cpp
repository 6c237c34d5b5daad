//===- ExecOrderTest.cpp - The runtime runs the plan the simulator ran ----===//
//
// Property test over random schedules written the way the planner's
// simulator decides moves: record by record (a step's layers in order),
// each record demoting blocks of any layer to make room and promoting any
// block, with HBM occupancy within the capacity after every single move,
// sometimes promoting a block and demoting it again later in the same step.
// The runtime, whose HBM pool holds exactly that capacity, must run every
// such schedule layer by layer without a capacity error, never use more HBM
// slots than the capacity (its peak counter), and end every step with the
// simulator's placement. The per-(step, layer) order the runtime used
// before would exceed the capacity on some of these schedules; the test
// counts them so it is not vacuous.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <map>

using namespace kvrt::test;

namespace {

struct Generated {
  SchedulePtr schedule;
  /// Placement after every step (layer-major, 1 = HBM).
  std::vector<std::vector<uint8_t>> afterStep;
  /// Peak HBM occupancy of the old order: per (step, layer) group,
  /// demotions then promotions, groups in (step, layer) order.
  uint32_t oldOrderPeak = 0;
};

Generated generate(const kvrt_cache_config &c, uint32_t cap, uint32_t steps,
                   std::mt19937_64 &rng) {
  uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
  uint32_t total = c.num_layers * perLayer;
  Generated g;
  g.schedule = randomPlacement(c, cap - rng() % 3, steps, rng);
  std::vector<uint8_t> hbm(total);
  uint32_t used = 0;
  for (uint32_t i = 0; i < total; ++i) {
    kvrt_tier t;
    EXPECT_EQ(kvrt_schedule_initial_tier(g.schedule.get(), i / perLayer,
                                         i % perLayer, &t),
              KVRT_OK);
    hbm[i] = t == KVRT_TIER_HBM;
    used += hbm[i];
  }
  uint32_t initial = used;
  std::vector<kvrt_migration> ms;
  for (uint32_t step = 0; step < steps; ++step) {
    std::vector<uint32_t> promotedThisStep;
    for (uint32_t record = 0; record < c.num_layers * c.num_seqs; ++record) {
      uint32_t moves = rng() % 4;
      for (uint32_t k = 0; k < moves; ++k) {
        uint32_t roll = rng() % 10;
        uint32_t b = rng() % total;
        if (roll < 2 && !promotedThisStep.empty()) {
          // Demote a block promoted earlier in this step.
          b = promotedThisStep[rng() % promotedThisStep.size()];
          if (!hbm[b])
            continue;
        } else if (roll < 5 || used == cap) {
          // Demote any HBM block (of any layer) to make room.
          for (uint32_t n = 0; n < total && !hbm[b]; ++n)
            b = (b + 1) % total;
          if (!hbm[b])
            continue;
        } else {
          for (uint32_t n = 0; n < total && hbm[b]; ++n)
            b = (b + 1) % total;
          if (hbm[b])
            continue;
        }
        kvrt_direction dir = hbm[b] ? KVRT_DEMOTE : KVRT_PROMOTE;
        hbm[b] = !hbm[b];
        used = dir == KVRT_PROMOTE ? used + 1 : used - 1;
        EXPECT_LE(used, cap);
        if (dir == KVRT_PROMOTE)
          promotedThisStep.push_back(b);
        ms.push_back({step, b / perLayer, b % perLayer, 1, dir});
      }
    }
    g.afterStep.push_back(hbm);
  }
  // The old order: stable sort by (step, layer), demotions first per group.
  std::vector<kvrt_migration> old = ms;
  std::stable_sort(old.begin(), old.end(),
                   [](const kvrt_migration &a, const kvrt_migration &b) {
                     if (a.step != b.step)
                       return a.step < b.step;
                     if (a.layer != b.layer)
                       return a.layer < b.layer;
                     return a.direction == KVRT_DEMOTE &&
                            b.direction == KVRT_PROMOTE;
                   });
  int64_t occupancy = initial, peak = initial;
  for (const kvrt_migration &m : old) {
    occupancy += m.direction == KVRT_PROMOTE ? 1 : -1;
    peak = std::max(peak, occupancy);
  }
  g.oldOrderPeak = uint32_t(peak);
  if (!ms.empty()) {
    EXPECT_EQ(kvrt_schedule_add_migrations(g.schedule.get(), ms.data(),
                                           ms.size()),
              KVRT_OK)
        << kvrt_last_error();
  }
  EXPECT_EQ(kvrt_schedule_set_assumptions(g.schedule.get(), c.block_tokens,
                                          cap),
            KVRT_OK);
  return g;
}

TEST(ExecOrder, RuntimeStaysWithinThePlannedCapacity) {
  kvrt_cache_config c = smallConfig();
  uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
  uint32_t oldOrderOver = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    std::mt19937_64 rng(seed);
    uint32_t cap = 4 + uint32_t(rng() % 8);
    uint32_t steps = 3 + uint32_t(rng() % 4);
    Generated g = generate(c, cap, steps, rng);
    oldOrderOver += g.oldOrderPeak > cap;
    // The schedule checks out against its own capacity ...
    ASSERT_EQ(kvrt_schedule_check(g.schedule.get()), KVRT_OK)
        << "seed " << seed << ": " << kvrt_last_error();
    // ... and runs on a cache with exactly that many HBM slots.
    kvrt_cache_config cc = c;
    cc.hbm_capacity_blocks = cap;
    ContextPtr ctx = makeHostContext(seed % 3 ? 0 : 50, seed);
    kvrt_cache *raw = nullptr;
    KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &cc, &raw));
    CachePtr cache(raw);
    KVRT_ASSERT_OK(kvrt_schedule_validate(cache.get(), g.schedule.get()));
    KVRT_ASSERT_OK(kvrt_cache_apply_placement(cache.get(), g.schedule.get()));
    KVRT_ASSERT_OK(kvrt_counters_reset(cache.get()));
    for (uint32_t step = 0; step < steps; ++step) {
      for (uint32_t l = 0; l < c.num_layers; ++l) {
        kvrt_status st =
            kvrt_schedule_apply_step(cache.get(), g.schedule.get(), step, l);
        ASSERT_EQ(st, KVRT_OK) << "seed " << seed << ", step " << step
                               << ", layer " << l << ": " << kvrt_last_error();
        uint32_t used = 0, capacity = 0;
        KVRT_ASSERT_OK(
            kvrt_cache_tier_usage(cache.get(), KVRT_TIER_HBM, &used, &capacity));
        ASSERT_LE(used, cap);
      }
      for (uint32_t i = 0; i < c.num_layers * perLayer; ++i) {
        kvrt_tier t;
        KVRT_ASSERT_OK(kvrt_cache_block_location(cache.get(), i / perLayer,
                                                 i % perLayer, &t, nullptr));
        ASSERT_EQ(t == KVRT_TIER_HBM, g.afterStep[step][i] != 0)
            << "seed " << seed << ", step " << step << ", block " << i;
      }
    }
    KVRT_ASSERT_OK(kvrt_cache_synchronize(cache.get()));
    kvrt_counters counters;
    KVRT_ASSERT_OK(kvrt_counters_get(cache.get(), &counters));
    EXPECT_LE(counters.peak_hbm_blocks, cap) << "seed " << seed;
  }
  EXPECT_GT(oldOrderOver, 0u)
      << "no generated schedule exceeds the capacity in the old order";
}

TEST(ExecOrder, PromoteThenDemoteInOneStepIsNoMove) {
  kvrt_cache_config c = smallConfig();
  uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
  kvrt_schedule *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_schedule_create(c.num_layers, perLayer, 2, &raw));
  SchedulePtr s(raw);
  // Block 5 of layer 1 (in DRAM) is promoted and demoted again in step 0;
  // block 6 of layer 1 demoted twice is an error naming the record.
  kvrt_migration ms[] = {{0, 1, 5, 1, KVRT_PROMOTE},
                         {0, 1, 5, 1, KVRT_DEMOTE}};
  KVRT_ASSERT_OK(kvrt_schedule_add_migrations(s.get(), ms, 2));
  KVRT_ASSERT_OK(kvrt_schedule_check(s.get()));
  ContextPtr ctx = makeHostContext();
  kvrt_cache *rc = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &rc));
  CachePtr cache(rc);
  KVRT_ASSERT_OK(kvrt_cache_apply_placement(cache.get(), s.get()));
  KVRT_ASSERT_OK(kvrt_counters_reset(cache.get()));
  KVRT_ASSERT_OK(
      kvrt_schedule_apply_step(cache.get(), s.get(), 0, KVRT_ALL_LAYERS));
  kvrt_counters counters;
  KVRT_ASSERT_OK(kvrt_counters_get(cache.get(), &counters));
  EXPECT_EQ(counters.blocks_migrated, 0u);
  kvrt_migration twice[] = {{1, 1, 6, 1, KVRT_DEMOTE},
                            {1, 1, 6, 1, KVRT_DEMOTE}};
  KVRT_ASSERT_OK(kvrt_schedule_add_migrations(s.get(), twice, 2));
  EXPECT_EQ(kvrt_schedule_check(s.get()), KVRT_ERR_MISMATCH);
  EXPECT_NE(std::string(kvrt_last_error()).find("block 6 is already in DRAM"),
            std::string::npos)
      << kvrt_last_error();
}

} // namespace
