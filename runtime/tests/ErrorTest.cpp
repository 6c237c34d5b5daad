//===- ErrorTest.cpp - Bad input: clear errors, no corruption ---*- C++ -*-===//
//
// A schedule over capacity, a plan that does not match the cache and an
// allocation failure each give a specific status and message and leave the
// cache (placement, slots, contents) exactly as it was.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <string>

using namespace kvrt::test;

// The huge-pool test expects calloc to fail; sanitizer allocators abort on
// such requests unless told to return null.
extern "C" const char *__asan_default_options() {
  return "allocator_may_return_null=1";
}
extern "C" const char *__tsan_default_options() {
  return "allocator_may_return_null=1";
}

namespace {

bool messageHas(const char *needle) {
  return std::string(kvrt_last_error()).find(needle) != std::string::npos;
}

struct Snapshot {
  std::vector<std::pair<int, uint32_t>> locations;
  std::vector<uint64_t> sums;
  uint32_t hbmUsed = 0, dramUsed = 0;

  explicit Snapshot(kvrt_cache *cache)
      : locations(allLocations(cache)), sums(allChecksums(cache)) {
    kvrt_cache_tier_usage(cache, KVRT_TIER_HBM, &hbmUsed, nullptr);
    kvrt_cache_tier_usage(cache, KVRT_TIER_DRAM, &dramUsed, nullptr);
  }
  bool operator==(const Snapshot &o) const {
    return locations == o.locations && sums == o.sums && hbmUsed == o.hbmUsed &&
           dramUsed == o.dramUsed;
  }
};

class ErrorTest : public ::testing::Test {
protected:
  void SetUp() override {
    ctx = makeHostContext(100, 3);
    c = smallConfig();
    c.hbm_capacity_blocks = 6;
    kvrt_cache *raw = nullptr;
    KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
    cache.reset(raw);
    std::vector<uint32_t> lens(c.num_seqs, 17);
    KVRT_ASSERT_OK(kvrt_cache_set_seq_lens(cache.get(), lens.data()));
    KVRT_ASSERT_OK(kvrt_cache_fill_random(cache.get(), 4));
    std::mt19937_64 rng(5);
    plan = randomPlacement(c, 4, 3, rng);
    KVRT_ASSERT_OK(kvrt_cache_apply_placement(cache.get(), plan.get()));
  }

  ContextPtr ctx;
  kvrt_cache_config c;
  CachePtr cache;
  SchedulePtr plan;
};

TEST_F(ErrorTest, ScheduleOverCapacity) {
  Snapshot before(cache.get());
  // Promote 3 more blocks of layer 0 at step 1: 4 + 3 > 6 slots.
  uint32_t perLayer = kvrt_cache_blocks_per_layer(cache.get());
  std::vector<kvrt_migration> ms;
  uint32_t added = 0;
  for (uint32_t b = 0; b < perLayer && added < 3; ++b) {
    kvrt_tier t;
    KVRT_ASSERT_OK(kvrt_schedule_initial_tier(plan.get(), 0, b, &t));
    if (t == KVRT_TIER_DRAM) {
      ms.push_back({1, 0, b, 1, KVRT_PROMOTE});
      ++added;
    }
  }
  KVRT_ASSERT_OK(
      kvrt_schedule_add_migrations(plan.get(), ms.data(), ms.size()));
  EXPECT_EQ(kvrt_schedule_validate(cache.get(), plan.get()), KVRT_ERR_CAPACITY);
  EXPECT_TRUE(messageHas("step 1, layer 0")) << kvrt_last_error();
  EXPECT_TRUE(messageHas("HBM capacity of 6")) << kvrt_last_error();
  // Executing the step anyway fails before issuing anything of the group.
  KVRT_ASSERT_OK(
      kvrt_schedule_apply_step(cache.get(), plan.get(), 0, KVRT_ALL_LAYERS));
  EXPECT_EQ(kvrt_schedule_apply_step(cache.get(), plan.get(), 1, 0),
            KVRT_ERR_CAPACITY);
  EXPECT_TRUE(messageHas("needs 3 free HBM slots, only 2 are free"))
      << kvrt_last_error();
  EXPECT_TRUE(Snapshot(cache.get()) == before);
  // The same schedule with an assumed capacity is rejected on its own.
  KVRT_ASSERT_OK(kvrt_schedule_set_assumptions(plan.get(), 0, 6));
  EXPECT_EQ(kvrt_schedule_check(plan.get()), KVRT_ERR_CAPACITY);
  void *data = nullptr;
  size_t size = 0;
  EXPECT_EQ(kvrt_schedule_write_memory(plan.get(), &data, &size),
            KVRT_ERR_CAPACITY);
}

TEST_F(ErrorTest, PlacementOverCapacity) {
  Snapshot before(cache.get());
  std::mt19937_64 rng(9);
  SchedulePtr big = randomPlacement(c, 7, 1, rng);
  EXPECT_EQ(kvrt_cache_apply_placement(cache.get(), big.get()),
            KVRT_ERR_CAPACITY);
  EXPECT_TRUE(messageHas("HBM")) << kvrt_last_error();
  EXPECT_TRUE(Snapshot(cache.get()) == before);
}

TEST_F(ErrorTest, MismatchedPlan) {
  Snapshot before(cache.get());
  kvrt_schedule *raw = nullptr;
  // Wrong number of layers.
  KVRT_ASSERT_OK(kvrt_schedule_create(
      c.num_layers + 1, kvrt_cache_blocks_per_layer(cache.get()), 2, &raw));
  SchedulePtr wrongLayers(raw);
  EXPECT_EQ(kvrt_schedule_validate(cache.get(), wrongLayers.get()),
            KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("4 layers x 12 blocks")) << kvrt_last_error();
  EXPECT_EQ(kvrt_cache_apply_placement(cache.get(), wrongLayers.get()),
            KVRT_ERR_MISMATCH);
  EXPECT_EQ(kvrt_schedule_apply_step(cache.get(), wrongLayers.get(), 0,
                                     KVRT_ALL_LAYERS),
            KVRT_ERR_MISMATCH);
  // Wrong block size.
  KVRT_ASSERT_OK(
      kvrt_schedule_set_assumptions(plan.get(), c.block_tokens * 2, 0));
  EXPECT_EQ(kvrt_schedule_validate(cache.get(), plan.get()), KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("tokens per block")) << kvrt_last_error();
  KVRT_ASSERT_OK(kvrt_schedule_set_assumptions(plan.get(), 0, 0));
  // A migration whose blocks are not where the plan says.
  uint32_t perLayer = kvrt_cache_blocks_per_layer(cache.get());
  uint32_t inHbm = perLayer;
  for (uint32_t b = 0; b < perLayer && inHbm == perLayer; ++b) {
    kvrt_tier t;
    KVRT_ASSERT_OK(kvrt_cache_block_location(cache.get(), 1, b, &t, nullptr));
    if (t == KVRT_TIER_DRAM)
      inHbm = b;
  }
  ASSERT_LT(inHbm, perLayer);
  kvrt_migration wrong{2, 1, inHbm, 1, KVRT_DEMOTE};
  EXPECT_EQ(kvrt_schedule_add_migrations(plan.get(), &wrong, 1), KVRT_OK);
  EXPECT_EQ(kvrt_schedule_check(plan.get()), KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("cannot demote")) << kvrt_last_error();
  EXPECT_EQ(kvrt_schedule_apply_step(cache.get(), plan.get(), 2, 1),
            KVRT_ERR_MISMATCH);
  // Out-of-range steps and layers.
  EXPECT_EQ(kvrt_schedule_apply_step(cache.get(), plan.get(), 3, 0),
            KVRT_ERR_MISMATCH);
  EXPECT_EQ(kvrt_schedule_apply_step(cache.get(), plan.get(), 0, 3),
            KVRT_ERR_MISMATCH);
  kvrt_migration outOfRange{0, 0, perLayer - 1, 2, KVRT_PROMOTE};
  EXPECT_EQ(kvrt_schedule_add_migrations(plan.get(), &outOfRange, 1),
            KVRT_ERR_MISMATCH);
  EXPECT_TRUE(Snapshot(cache.get()) == before);
}

TEST(Allocation, PoolLimitFailsCleanly) {
  kvrt_context_options o;
  kvrt_context_options_init(&o);
  kvrt_cache_config c = smallConfig();
  o.hbm_limit_bytes = kvrt_block_bytes(&c) * (c.hbm_capacity_blocks - 1);
  kvrt_context *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_context_create(&o, &raw));
  ContextPtr ctx(raw);
  kvrt_cache *cache = reinterpret_cast<kvrt_cache *>(0x1);
  EXPECT_EQ(kvrt_cache_create(ctx.get(), &c, &cache), KVRT_ERR_ALLOCATION);
  EXPECT_EQ(cache, nullptr);
  EXPECT_TRUE(messageHas("HBM pool")) << kvrt_last_error();
  // The context still works for a cache that fits.
  c.hbm_capacity_blocks -= 1;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &cache));
  kvrt_cache_destroy(cache);
}

TEST(Allocation, HugePoolFailsCleanly) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache_config c = smallConfig();
  c.head_dim = 256;
  c.num_kv_heads = 64;
  c.num_q_heads = 64;
  c.block_tokens = 1u << 16;
  c.dram_capacity_blocks = 0x7fffffffu; // ~2^31 * 4 GiB
  kvrt_cache *cache = nullptr;
  EXPECT_EQ(kvrt_cache_create(ctx.get(), &c, &cache), KVRT_ERR_ALLOCATION)
      << kvrt_last_error();
  EXPECT_EQ(cache, nullptr);
}

TEST(Config, RejectsBadShapes) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache *cache = nullptr;
  kvrt_cache_config c = smallConfig();
  c.num_q_heads = 3;
  EXPECT_EQ(kvrt_cache_create(ctx.get(), &c, &cache),
            KVRT_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(messageHas("multiple of num_kv_heads"));
  c = smallConfig();
  c.head_dim = 512;
  EXPECT_EQ(kvrt_cache_create(ctx.get(), &c, &cache), KVRT_ERR_UNSUPPORTED);
  c = smallConfig();
  c.num_layers = 0;
  EXPECT_EQ(kvrt_cache_create(ctx.get(), &c, &cache),
            KVRT_ERR_INVALID_ARGUMENT);
  c = smallConfig();
  c.dram_capacity_blocks = 1;
  c.hbm_capacity_blocks = 1;
  EXPECT_EQ(kvrt_cache_create(ctx.get(), &c, &cache), KVRT_ERR_CAPACITY);
  EXPECT_TRUE(messageHas("hold only 2"));
  c = smallConfig();
  c.dtype = (kvrt_dtype)9;
  EXPECT_EQ(kvrt_cache_create(ctx.get(), &c, &cache),
            KVRT_ERR_INVALID_ARGUMENT);
  c = smallConfig();
  c.scale = -1.0f;
  EXPECT_EQ(kvrt_cache_create(ctx.get(), &c, &cache),
            KVRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kvrt_cache_create(ctx.get(), nullptr, &cache),
            KVRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cache, nullptr);
}

TEST(Context, Errors) {
  kvrt_context_options o;
  kvrt_context_options_init(&o);
  kvrt_context *ctx = nullptr;
  o.flags = 0x80;
  EXPECT_EQ(kvrt_context_create(&o, &ctx), KVRT_ERR_INVALID_ARGUMENT);
  o.flags = KVRT_FLAG_DRAM_REGISTER | KVRT_FLAG_DRAM_SYSTEM_MEMORY;
  EXPECT_EQ(kvrt_context_create(&o, &ctx), KVRT_ERR_INVALID_ARGUMENT);
  o.flags = 0;
  o.backend = (kvrt_backend)5;
  EXPECT_EQ(kvrt_context_create(&o, &ctx), KVRT_ERR_INVALID_ARGUMENT);
  if (!kvrt_have_cuda()) {
    o.backend = KVRT_BACKEND_CUDA;
    EXPECT_EQ(kvrt_context_create(&o, &ctx), KVRT_ERR_UNSUPPORTED);
    EXPECT_TRUE(messageHas("without the CUDA backend"));
  }
  EXPECT_EQ(ctx, nullptr);
  EXPECT_STREQ(kvrt_status_name(KVRT_ERR_FORMAT), "KVRT_ERR_FORMAT");
}

} // namespace
