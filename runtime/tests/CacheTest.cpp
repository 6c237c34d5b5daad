//===- CacheTest.cpp - Cache creation, lengths and block access -*- C++ -*-===//
//
// Block reads and writes around in-flight migrations, initial placement,
// lengths and usage queries.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cmath>
#include <cstring>

using namespace kvrt::test;

namespace {

TEST(Cache, InitialPlacementFillsDramFirst) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache_config c = smallConfig();
  uint32_t total = c.num_layers * c.num_seqs * c.max_blocks_per_seq;
  c.dram_capacity_blocks = total - 5; // the last 5 blocks must go to HBM
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);
  uint32_t used = 0, cap = 0;
  KVRT_ASSERT_OK(
      kvrt_cache_tier_usage(cache.get(), KVRT_TIER_HBM, &used, &cap));
  EXPECT_EQ(used, 5u);
  EXPECT_EQ(cap, c.hbm_capacity_blocks);
  KVRT_ASSERT_OK(
      kvrt_cache_tier_usage(cache.get(), KVRT_TIER_DRAM, &used, &cap));
  EXPECT_EQ(used, total - 5);
  kvrt_tier tier;
  KVRT_ASSERT_OK(kvrt_cache_block_location(
      cache.get(), c.num_layers - 1,
      kvrt_cache_blocks_per_layer(cache.get()) - 1, &tier, nullptr));
  EXPECT_EQ(tier, KVRT_TIER_HBM);
  EXPECT_EQ(
      kvrt_cache_block_location(cache.get(), c.num_layers, 0, &tier, nullptr),
      KVRT_ERR_MISMATCH);
  EXPECT_EQ(kvrt_cache_tier_usage(cache.get(), (kvrt_tier)5, &used, &cap),
            KVRT_ERR_INVALID_ARGUMENT);
  kvrt_cache_config back;
  KVRT_ASSERT_OK(kvrt_cache_get_config(cache.get(), &back));
  EXPECT_FLOAT_EQ(back.scale, 1.0f / std::sqrt(32.0f));
}

// A block written, then migrated back and forth under copy delays, reads
// back exactly; reads and writes wait for the block's copies.
TEST(Cache, WriteMigrateReadRoundTrip) {
  ContextPtr ctx = makeHostContext(300, 11);
  kvrt_cache_config c = smallConfig(KVRT_DTYPE_BF16);
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);
  size_t bytes = kvrt_block_bytes(&c);
  std::vector<uint8_t> data(bytes), back(bytes);
  std::mt19937_64 rng(3);
  for (int round = 0; round < 10; ++round) {
    uint32_t b = rng() % kvrt_cache_blocks_per_layer(cache.get());
    for (uint8_t &x : data)
      x = static_cast<uint8_t>(rng());
    KVRT_ASSERT_OK(kvrt_cache_write_block(cache.get(), 1, b, data.data()));
    KVRT_ASSERT_OK(kvrt_migrate(cache.get(), 1, b, 1, KVRT_PROMOTE, nullptr));
    KVRT_ASSERT_OK(kvrt_cache_read_block(cache.get(), 1, b, back.data()));
    ASSERT_EQ(data, back) << "round " << round;
    // Overwrite right behind the promotion, then demote and read again.
    data[0] ^= 0xff;
    KVRT_ASSERT_OK(kvrt_cache_write_block(cache.get(), 1, b, data.data()));
    KVRT_ASSERT_OK(kvrt_migrate(cache.get(), 1, b, 1, KVRT_DEMOTE, nullptr));
    KVRT_ASSERT_OK(kvrt_cache_read_block(cache.get(), 1, b, back.data()));
    ASSERT_EQ(data, back) << "round " << round;
  }
  EXPECT_EQ(kvrt_cache_read_block(cache.get(), 0, 999, back.data()),
            KVRT_ERR_MISMATCH);
  EXPECT_EQ(kvrt_cache_write_block(cache.get(), 0, 0, nullptr),
            KVRT_ERR_INVALID_ARGUMENT);
}

TEST(Cache, LengthsAndAdvance) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache_config c = smallConfig();
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);
  std::vector<uint32_t> lens = {3, 22}, back(2);
  KVRT_ASSERT_OK(kvrt_cache_set_seq_lens(cache.get(), lens.data()));
  KVRT_ASSERT_OK(kvrt_cache_advance(cache.get()));
  KVRT_ASSERT_OK(kvrt_cache_get_seq_lens(cache.get(), back.data()));
  EXPECT_EQ(back, (std::vector<uint32_t>{4, 23}));
  KVRT_ASSERT_OK(kvrt_cache_advance(cache.get()));
  // Sequence 1 is now full (24 tokens); nothing changes on failure.
  EXPECT_EQ(kvrt_cache_advance(cache.get()), KVRT_ERR_MISMATCH);
  KVRT_ASSERT_OK(kvrt_cache_get_seq_lens(cache.get(), back.data()));
  EXPECT_EQ(back, (std::vector<uint32_t>{5, 24}));
}

} // namespace
