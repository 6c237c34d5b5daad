//===- MigrationTest.cpp - Block integrity and ordering ---------*- C++ -*-===//
//
// Random schedules executed with randomised copy delays: every block keeps
// its exact bytes, reads issued right after a migration see the migrated
// data, and slots are reused only after the copy out of them completed.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "CacheImpl.h"

using namespace kvrt::test;

namespace {

/// A cache whose every position holds generated data (all lengths full).
CachePtr makeFullCache(kvrt_context *ctx, const kvrt_cache_config &c,
                       uint64_t seed) {
  kvrt_cache *raw = nullptr;
  EXPECT_EQ(kvrt_cache_create(ctx, &c, &raw), KVRT_OK) << kvrt_last_error();
  CachePtr cache(raw);
  std::vector<uint32_t> lens(c.num_seqs, c.max_blocks_per_seq * c.block_tokens);
  EXPECT_EQ(kvrt_cache_set_seq_lens(cache.get(), lens.data()), KVRT_OK);
  EXPECT_EQ(kvrt_cache_fill_random(cache.get(), seed), KVRT_OK);
  return cache;
}

TEST(Migration, RandomSchedulesKeepEveryBlockIntact) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    ContextPtr ctx = makeHostContext(seed % 2 ? 150 : 0, seed);
    kvrt_cache_config c =
        smallConfig(seed % 3 == 0 ? KVRT_DTYPE_BF16 : KVRT_DTYPE_F32);
    // A small HBM forces constant slot reuse.
    c.hbm_capacity_blocks = 5;
    CachePtr cache = makeFullCache(ctx.get(), c, seed);
    std::vector<uint64_t> before = allChecksums(cache.get());

    std::mt19937_64 rng(seed);
    SchedulePtr plan = randomPlacement(c, 3, 30, rng);
    addRandomMigrations(plan.get(), c, c.hbm_capacity_blocks, 3, rng);
    ASSERT_GT(kvrt_schedule_num_migrations(plan.get()), 20u);
    KVRT_ASSERT_OK(kvrt_schedule_validate(cache.get(), plan.get()));
    KVRT_ASSERT_OK(kvrt_cache_apply_placement(cache.get(), plan.get()));
    uint32_t perLayer = kvrt_cache_blocks_per_layer(cache.get());
    for (uint32_t step = 0; step < 30; ++step) {
      KVRT_ASSERT_OK(kvrt_schedule_apply_step(cache.get(), plan.get(), step,
                                              KVRT_ALL_LAYERS));
      // Read a few blocks immediately: they must wait for their copies.
      for (int i = 0; i < 3; ++i) {
        uint32_t l = rng() % c.num_layers, b = rng() % perLayer;
        uint64_t sum = 0;
        KVRT_ASSERT_OK(kvrt_cache_block_checksum(cache.get(), l, b, &sum));
        ASSERT_EQ(sum, before[l * perLayer + b])
            << "seed " << seed << " step " << step << " layer " << l
            << " block " << b;
      }
    }
    EXPECT_EQ(allChecksums(cache.get()), before) << "seed " << seed;
    uint64_t bad = 1;
    KVRT_ASSERT_OK(kvrt_cache_verify(cache.get(), seed, &bad));
    EXPECT_EQ(bad, 0u);
    uint32_t used = 0;
    KVRT_ASSERT_OK(
        kvrt_cache_tier_usage(cache.get(), KVRT_TIER_HBM, &used, nullptr));
    EXPECT_LE(used, c.hbm_capacity_blocks);
    kvrt_counters counters;
    KVRT_ASSERT_OK(kvrt_counters_get(cache.get(), &counters));
    EXPECT_GT(counters.bytes_promoted, 0u);
    EXPECT_GT(counters.bytes_demoted, 0u);
  }
}

// Ping-pong through a one-slot HBM: each promotion lands in the slot the
// previous demotion is still copying out of (under delays), and every read
// right after must see the right block.
TEST(Migration, SlotReuseWaitsForCopyOut) {
  ContextPtr ctx = makeHostContext(400, 7);
  kvrt_cache_config c = smallConfig();
  c.num_layers = 1;
  c.num_seqs = 1;
  c.max_blocks_per_seq = 4;
  c.hbm_capacity_blocks = 1;
  c.dram_capacity_blocks = 4;
  CachePtr cache = makeFullCache(ctx.get(), c, 3);
  std::vector<uint64_t> before = allChecksums(cache.get());
  kvrt_handle h = 0;
  for (int round = 0; round < 40; ++round) {
    uint32_t b = round % 4;
    KVRT_ASSERT_OK(kvrt_migrate(cache.get(), 0, b, 1, KVRT_PROMOTE, &h));
    kvrt_tier tier;
    KVRT_ASSERT_OK(
        kvrt_cache_block_location(cache.get(), 0, b, &tier, nullptr));
    ASSERT_EQ(tier, KVRT_TIER_HBM);
    EXPECT_EQ(
        kvrt_migrate(cache.get(), 0, (b + 1) % 4, 1, KVRT_PROMOTE, nullptr),
        KVRT_ERR_CAPACITY);
    KVRT_ASSERT_OK(kvrt_migrate(cache.get(), 0, b, 1, KVRT_DEMOTE, &h));
    if (round % 3 == 0) {
      uint64_t sum;
      KVRT_ASSERT_OK(kvrt_cache_block_checksum(cache.get(), 0, b, &sum));
      ASSERT_EQ(sum, before[b]) << "round " << round;
    }
  }
  KVRT_ASSERT_OK(kvrt_wait(cache.get(), h));
  int done = 0;
  KVRT_ASSERT_OK(kvrt_query(cache.get(), h, &done));
  EXPECT_EQ(done, 1);
  EXPECT_EQ(allChecksums(cache.get()), before);
}

// The tests above can fail: with the copy dependencies removed (fault
// injection), the same ping-pong under delays corrupts blocks and the
// checksums catch it.
TEST(Migration, DetectsMissingCopyDependencies) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the injected fault is a data race by design";
#endif
  ContextPtr ctx = makeHostContext(2000, 13);
  kvrt_cache_config c = smallConfig();
  c.num_layers = 1;
  c.num_seqs = 1;
  c.max_blocks_per_seq = 4;
  c.hbm_capacity_blocks = 1;
  c.dram_capacity_blocks = 4;
  CachePtr cache = makeFullCache(ctx.get(), c, 3);
  std::vector<uint64_t> before = allChecksums(cache.get());
  kvrt::setSkipCopyDependenciesForTesting(true);
  for (int round = 0; round < 40; ++round) {
    uint32_t b = round % 4;
    KVRT_ASSERT_OK(kvrt_migrate(cache.get(), 0, b, 1, KVRT_PROMOTE, nullptr));
    KVRT_ASSERT_OK(kvrt_migrate(cache.get(), 0, b, 1, KVRT_DEMOTE, nullptr));
  }
  kvrt::setSkipCopyDependenciesForTesting(false);
  KVRT_ASSERT_OK(kvrt_cache_synchronize(cache.get()));
  EXPECT_NE(allChecksums(cache.get()), before)
      << "unordered copies went unnoticed";
}

// Appends and migrations interleaved: a block appended to and then demoted
// must carry the appended token (the copy waits for earlier compute).
TEST(Migration, AppendThenMigrateKeepsToken) {
  ContextPtr ctx = makeHostContext(300, 5);
  kvrt_cache_config c = smallConfig();
  c.num_layers = 1;
  c.num_seqs = 1;
  c.max_blocks_per_seq = 3;
  c.hbm_capacity_blocks = 3;
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);
  KVRT_ASSERT_OK(kvrt_cache_fill_random(cache.get(), 9));
  size_t qn = c.num_q_heads * c.head_dim, kn = c.num_kv_heads * c.head_dim;
  std::vector<float> q(qn), k(kn), v(kn), out(qn);
  uint32_t total = c.max_blocks_per_seq * c.block_tokens;
  for (uint32_t pos = 0; pos < total; ++pos) {
    uint32_t block = pos / c.block_tokens;
    kvrt_tier tier;
    KVRT_ASSERT_OK(
        kvrt_cache_block_location(cache.get(), 0, block, &tier, nullptr));
    // Move the block being written around its appends, so appends land in
    // both tiers and right behind in-flight copies.
    if (pos % 2 == 0)
      KVRT_ASSERT_OK(kvrt_migrate(
          cache.get(), 0, block, 1,
          tier == KVRT_TIER_HBM ? KVRT_DEMOTE : KVRT_PROMOTE, nullptr));
    KVRT_ASSERT_OK(kvrt_gen_queries(&c, 9, pos, 0, q.data()));
    uint32_t len = pos;
    KVRT_ASSERT_OK(kvrt_gen_step_kv(&c, 9, 0, &len, k.data(), v.data()));
    KVRT_ASSERT_OK(kvrt_attention_step(cache.get(), 0, q.data(), k.data(),
                                       v.data(), out.data()));
    KVRT_ASSERT_OK(
        kvrt_cache_block_location(cache.get(), 0, block, &tier, nullptr));
    KVRT_ASSERT_OK(kvrt_migrate(
        cache.get(), 0, block, 1,
        tier == KVRT_TIER_HBM ? KVRT_DEMOTE : KVRT_PROMOTE, nullptr));
    KVRT_ASSERT_OK(kvrt_cache_advance(cache.get()));
  }
  uint64_t bad = 1;
  KVRT_ASSERT_OK(kvrt_cache_verify(cache.get(), 9, &bad));
  EXPECT_EQ(bad, 0u);
  kvrt_counters counters;
  KVRT_ASSERT_OK(kvrt_counters_get(cache.get(), &counters));
  EXPECT_GT(counters.bytes_appended[KVRT_TIER_HBM], 0u);
  EXPECT_GT(counters.bytes_appended[KVRT_TIER_DRAM], 0u);
}

TEST(Migration, CoalescesContiguousRanges) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache_config c = smallConfig();
  c.num_layers = 1;
  c.hbm_capacity_blocks = 12;
  CachePtr cache = makeFullCache(ctx.get(), c, 2);
  KVRT_ASSERT_OK(kvrt_migrate(cache.get(), 0, 0, 8, KVRT_PROMOTE, nullptr));
  kvrt_counters counters;
  KVRT_ASSERT_OK(kvrt_counters_get(cache.get(), &counters));
  EXPECT_EQ(counters.blocks_migrated, 8u);
  EXPECT_EQ(counters.copies_issued, 1u);
  EXPECT_EQ(counters.bytes_promoted, 8 * kvrt_block_bytes(&c));
}

TEST(Migration, RejectsBadHandlesAndRanges) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache_config c = smallConfig();
  CachePtr cache = makeFullCache(ctx.get(), c, 2);
  EXPECT_EQ(kvrt_wait(cache.get(), 1ull << 40), KVRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kvrt_migrate(cache.get(), 9, 0, 1, KVRT_PROMOTE, nullptr),
            KVRT_ERR_MISMATCH);
  EXPECT_EQ(kvrt_migrate(cache.get(), 0, 10, 5, KVRT_PROMOTE, nullptr),
            KVRT_ERR_MISMATCH);
  EXPECT_EQ(kvrt_migrate(cache.get(), 0, 0, 0, KVRT_PROMOTE, nullptr),
            KVRT_ERR_MISMATCH);
  // All blocks start in DRAM (it holds them all): demoting is a mismatch.
  EXPECT_EQ(kvrt_migrate(cache.get(), 0, 0, 1, KVRT_DEMOTE, nullptr),
            KVRT_ERR_MISMATCH);
  EXPECT_NE(std::string(kvrt_last_error()).find("is in DRAM"),
            std::string::npos);
  EXPECT_EQ(kvrt_migrate(cache.get(), 0, 0, 1, (kvrt_direction)7, nullptr),
            KVRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kvrt_cache_wait_layer(cache.get(), 3), KVRT_ERR_MISMATCH);
  KVRT_ASSERT_OK(kvrt_cache_wait_layer(cache.get(), KVRT_ALL_LAYERS));
}

} // namespace
