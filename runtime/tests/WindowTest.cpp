//===- WindowTest.cpp - Sliding windows in schedules and caches -*- C++ -*-===//
//
// A hand-made windowed schedule (format version 2): a block of a local layer
// whose tokens left the window is dead from its death step on, its HBM slot
// is free, and a later promotion that needs that slot fits. The same
// schedule without windows does not fit its capacity. Files without windows
// stay version 1; damaged window sections are refused.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cstring>
#include <string>

using namespace kvrt::test;

namespace {

bool messageHas(const char *needle) {
  return std::string(kvrt_last_error()).find(needle) != std::string::npos;
}

void reseal(std::vector<uint8_t> &bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i + 8 < bytes.size(); ++i) {
    h ^= bytes[i];
    h *= 0x100000001b3ull;
  }
  for (int i = 0; i < 8; ++i)
    bytes[bytes.size() - 8 + i] = static_cast<uint8_t>(h >> (8 * i));
}

std::vector<uint8_t> serialise(const kvrt_schedule *s) {
  void *data = nullptr;
  size_t size = 0;
  EXPECT_EQ(kvrt_schedule_write_memory(s, &data, &size), KVRT_OK)
      << kvrt_last_error();
  std::vector<uint8_t> out(static_cast<uint8_t *>(data),
                           static_cast<uint8_t *>(data) + size);
  kvrt_free(data);
  return out;
}

/// Two layers, one sequence of 4 blocks of 4 tokens, a 4-token prompt, 10
/// steps. Layer 0 is local (window 4): its block 0 (tokens 0-3) is dead from
/// step 4 (token 8 reads tokens 4-7), block 1 from step 8. Layer 1 is
/// global. HBM holds 3 blocks: layer 0 block 0 and layer 1 blocks 0-1; at
/// step 4 layer 1 block 2 is promoted into the slot block 0 of layer 0 left.
constexpr uint32_t kCapacity = 3;

kvrt_cache_config windowConfig() {
  kvrt_cache_config c{};
  c.num_layers = 2;
  c.num_kv_heads = 1;
  c.num_q_heads = 1;
  c.head_dim = 4;
  c.block_tokens = 4;
  c.num_seqs = 1;
  c.max_blocks_per_seq = 4;
  c.dtype = KVRT_DTYPE_F32;
  c.hbm_capacity_blocks = kCapacity;
  c.dram_capacity_blocks = 8;
  return c;
}

SchedulePtr windowSchedule(bool windows, uint32_t promoteStep = 4) {
  kvrt_schedule *raw = nullptr;
  EXPECT_EQ(kvrt_schedule_create(2, 4, 10, &raw), KVRT_OK);
  SchedulePtr s(raw);
  EXPECT_EQ(kvrt_schedule_set_placement(s.get(), 0, 0, 1, KVRT_TIER_HBM),
            KVRT_OK);
  EXPECT_EQ(kvrt_schedule_set_placement(s.get(), 1, 0, 2, KVRT_TIER_HBM),
            KVRT_OK);
  kvrt_migration m{promoteStep, 1, 2, 1, KVRT_PROMOTE};
  EXPECT_EQ(kvrt_schedule_add_migrations(s.get(), &m, 1), KVRT_OK);
  EXPECT_EQ(kvrt_schedule_set_assumptions(s.get(), 4, kCapacity), KVRT_OK);
  if (windows) {
    uint32_t w[2] = {4, 0};
    EXPECT_EQ(kvrt_schedule_set_windows(s.get(), w, 4, 4), KVRT_OK)
        << kvrt_last_error();
  }
  return s;
}

TEST(Window, DeathSteps) {
  SchedulePtr s = windowSchedule(true);
  EXPECT_EQ(kvrt_schedule_window(s.get(), 0), 4u);
  EXPECT_EQ(kvrt_schedule_window(s.get(), 1), 0u);
  EXPECT_EQ(kvrt_schedule_death_step(s.get(), 0, 0), 4u);
  EXPECT_EQ(kvrt_schedule_death_step(s.get(), 0, 1), 8u);
  EXPECT_EQ(kvrt_schedule_death_step(s.get(), 0, 3), 16u);
  EXPECT_EQ(kvrt_schedule_death_step(s.get(), 1, 0), UINT32_MAX);
}

TEST(Window, DeathFreesTheSlotInTheCheck) {
  KVRT_ASSERT_OK(kvrt_schedule_check(windowSchedule(true).get()));
  // Without the window, block 0 of layer 0 keeps its slot: 4 > 3.
  EXPECT_EQ(kvrt_schedule_check(windowSchedule(false).get()),
            KVRT_ERR_CAPACITY);
  // One step before the death the slot is still taken.
  EXPECT_EQ(kvrt_schedule_check(windowSchedule(true, 3).get()),
            KVRT_ERR_CAPACITY);
}

TEST(Window, MovingADeadBlockIsRefused) {
  SchedulePtr s = windowSchedule(true);
  kvrt_migration m{5, 0, 0, 1, KVRT_DEMOTE};
  KVRT_ASSERT_OK(kvrt_schedule_add_migrations(s.get(), &m, 1));
  EXPECT_EQ(kvrt_schedule_check(s.get()), KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("block 0 is dead")) << kvrt_last_error();
}

TEST(Window, RuntimeFreesTheSlotAndThePromotionFits) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache_config c = windowConfig();
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);
  SchedulePtr s = windowSchedule(true);
  KVRT_ASSERT_OK(kvrt_schedule_validate(cache.get(), s.get()));
  KVRT_ASSERT_OK(kvrt_cache_apply_placement(cache.get(), s.get()));
  KVRT_ASSERT_OK(kvrt_cache_synchronize(cache.get()));
  KVRT_ASSERT_OK(kvrt_counters_reset(cache.get()));
  uint32_t used = 0, cap = 0;
  for (uint32_t step = 0; step < 10; ++step) {
    for (uint32_t l = 0; l < 2; ++l)
      KVRT_ASSERT_OK(kvrt_schedule_apply_step(cache.get(), s.get(), step, l));
    KVRT_ASSERT_OK(kvrt_cache_tier_usage(cache.get(), KVRT_TIER_HBM, &used,
                                         &cap));
    // Steps 0-3: the three initial blocks; from step 4 layer 0's block 0 is
    // dead and layer 1's block 2 took its slot.
    EXPECT_EQ(used, 3u) << "step " << step;
  }
  KVRT_ASSERT_OK(kvrt_cache_synchronize(cache.get()));
  kvrt_tier tier;
  uint32_t slot;
  KVRT_ASSERT_OK(kvrt_cache_block_location(cache.get(), 1, 2, &tier, &slot));
  EXPECT_EQ(tier, KVRT_TIER_HBM);
  kvrt_counters k;
  KVRT_ASSERT_OK(kvrt_counters_get(cache.get(), &k));
  EXPECT_LE(k.peak_hbm_blocks, kCapacity);
  EXPECT_EQ(k.blocks_migrated, 1u);
  EXPECT_EQ(k.blocks_released, 2u); // blocks 0 and 1 of layer 0
  // The cache took the schedule's windows with its placement.
  uint32_t windows[2] = {7, 7};
  KVRT_ASSERT_OK(kvrt_cache_get_windows(cache.get(), windows));
  EXPECT_EQ(windows[0], 4u);
  EXPECT_EQ(windows[1], 0u);
  // The dead block cannot be moved, read or given another window.
  SchedulePtr late = windowSchedule(true);
  kvrt_migration m{9, 0, 0, 1, KVRT_DEMOTE};
  KVRT_ASSERT_OK(kvrt_schedule_add_migrations(late.get(), &m, 1));
  EXPECT_NE(kvrt_schedule_apply_step(cache.get(), late.get(), 9, 0), KVRT_OK);
  std::vector<uint8_t> bytes(kvrt_block_bytes(&c));
  EXPECT_EQ(kvrt_cache_read_block(cache.get(), 0, 0, bytes.data()),
            KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("block 0 of layer 0 is dead")) << kvrt_last_error();
  EXPECT_EQ(kvrt_cache_write_block(cache.get(), 0, 1, bytes.data()),
            KVRT_ERR_MISMATCH);
  uint32_t wider[2] = {8, 0};
  EXPECT_EQ(kvrt_cache_set_windows(cache.get(), wider), KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("window cannot become 8")) << kvrt_last_error();
  // Lengths that do not follow the schedule (4 tokens at step 9) put dead
  // blocks in layer 0's window: attention refuses instead of reading slots
  // that now hold other blocks. Layer 1 (global, nothing dead) attends.
  std::vector<float> q(4, 0.f), out(4, 0.f);
  uint32_t lens[1] = {4};
  KVRT_ASSERT_OK(kvrt_cache_set_seq_lens(cache.get(), lens));
  EXPECT_EQ(kvrt_attention_step(cache.get(), 0, q.data(), nullptr, nullptr,
                                out.data()),
            KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("left its sliding window")) << kvrt_last_error();
  KVRT_ASSERT_OK(kvrt_attention_step(cache.get(), 1, q.data(), nullptr, nullptr,
                                     out.data()));
}

TEST(Window, CacheWindowsMustMatchTheSchedule) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache_config c = windowConfig();
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);
  uint32_t other[2] = {8, 0};
  KVRT_ASSERT_OK(kvrt_cache_set_windows(cache.get(), other));
  EXPECT_EQ(kvrt_cache_apply_placement(cache.get(), windowSchedule(true).get()),
            KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("layer 0: the schedule's window is 4 tokens, the "
                         "cache's attention window is 8"))
      << kvrt_last_error();
  uint32_t huge[2] = {0x80000000u, 0};
  EXPECT_EQ(kvrt_cache_set_windows(cache.get(), huge),
            KVRT_ERR_INVALID_ARGUMENT);
  uint32_t same[2] = {4, 0};
  KVRT_ASSERT_OK(kvrt_cache_set_windows(cache.get(), same));
  KVRT_ASSERT_OK(
      kvrt_cache_apply_placement(cache.get(), windowSchedule(true).get()));
}

TEST(Window, FileRoundTripIsVersion2) {
  SchedulePtr s = windowSchedule(true);
  std::vector<uint8_t> bytes = serialise(s.get());
  EXPECT_EQ(bytes[8], 2u);
  kvrt_schedule *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_schedule_read_memory(bytes.data(), bytes.size(), &raw));
  SchedulePtr back(raw);
  EXPECT_EQ(kvrt_schedule_window(back.get(), 0), 4u);
  EXPECT_EQ(kvrt_schedule_window(back.get(), 1), 0u);
  EXPECT_EQ(kvrt_schedule_death_step(back.get(), 0, 1), 8u);
  EXPECT_EQ(serialise(back.get()), bytes);
  // Without windows: version 1, as before.
  kvrt_schedule *plain = nullptr;
  KVRT_ASSERT_OK(kvrt_schedule_create(2, 4, 10, &plain));
  SchedulePtr p(plain);
  EXPECT_EQ(serialise(p.get())[8], 1u);
}

TEST(Window, DamagedWindowSectionsAreRefused) {
  std::vector<uint8_t> good = serialise(windowSchedule(true).get());
  // The window section follows the 64-byte header and 2 one-byte rows.
  const size_t windowAt = 64 + 2;
  kvrt_schedule *raw = nullptr;
  std::vector<uint8_t> bad = good;
  bad[windowAt + 3] = 0x80; // layer 0 window 2^31 + 4
  reseal(bad);
  EXPECT_EQ(kvrt_schedule_read_memory(bad.data(), bad.size(), &raw),
            KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("window of layer 0")) << kvrt_last_error();
  bad = good;
  bad[28] = 0; // block_tokens 0
  reseal(bad);
  EXPECT_EQ(kvrt_schedule_read_memory(bad.data(), bad.size(), &raw),
            KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("block_tokens 0")) << kvrt_last_error();
  bad = good;
  bad[60] = 3; // blocks_per_seq 3 does not divide 4
  reseal(bad);
  EXPECT_EQ(kvrt_schedule_read_memory(bad.data(), bad.size(), &raw),
            KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("blocks_per_seq 3")) << kvrt_last_error();
  // A version 1 file whose reserved field is set is still refused.
  bad = good;
  bad[8] = 1;
  bad.erase(bad.begin() + windowAt, bad.begin() + windowAt + 8);
  reseal(bad);
  EXPECT_EQ(kvrt_schedule_read_memory(bad.data(), bad.size(), &raw),
            KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("reserved")) << kvrt_last_error();
}

} // namespace
