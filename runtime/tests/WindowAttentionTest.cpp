//===- WindowAttentionTest.cpp - Sliding-window attention -------*- C++ -*-===//
//
// A layer with window w attending with n cached tokens reads exactly tokens
// [max(0, n - w), n) plus the appended one, token by token. Every output is
// compared with the dense double-precision reference that masks the same
// tokens (kvrt_reference_attention_range), for windows smaller than, equal
// to and larger than the length, block sizes 1 and > 1, several layers with
// different windows, blocks spread over both tiers, and after a windowed
// schedule freed dead blocks whose slots later promotions reuse. The bytes
// read per tier are recomputed here from the block locations.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <random>
#include <string>

using namespace kvrt::test;

namespace {

/// First token read by a window of `w` tokens with `len` cached tokens.
uint32_t firstOf(uint32_t w, uint32_t len) {
  return w && len > w ? len - w : 0;
}

/// Bytes attention of `layer` reads from each tier (tokens [first, n) of
/// every sequence), from the cache's block locations.
void expectedReads(kvrt_cache *cache, const kvrt_cache_config &c,
                   uint32_t layer, uint32_t window, const uint32_t *lens,
                   uint64_t out[2]) {
  const uint64_t tokenBytes =
      kvrt_block_bytes(&c) / c.block_tokens; // K and V of one token
  out[0] = out[1] = 0;
  for (uint32_t s = 0; s < c.num_seqs; ++s)
    for (uint32_t t = firstOf(window, lens[s]); t <= lens[s]; ++t) {
      kvrt_tier tier;
      EXPECT_EQ(kvrt_cache_block_location(
                    cache, layer, s * c.max_blocks_per_seq + t / c.block_tokens,
                    &tier, nullptr),
                KVRT_OK);
      out[tier] += tokenBytes;
    }
}

/// Runs `steps` decode steps over every layer: attention with append, then
/// the masked reference and the per-tier bytes. With `schedule`, its
/// migrations (and deaths) are applied first.
void decodeAndCompare(kvrt_cache *cache, const kvrt_cache_config &c,
                      const uint32_t *windows, uint32_t steps,
                      const kvrt_schedule *schedule, uint64_t seed) {
  const size_t qn = size_t(c.num_seqs) * c.num_q_heads * c.head_dim;
  const size_t kvn = size_t(c.num_seqs) * c.num_kv_heads * c.head_dim;
  std::vector<float> q(qn), out(qn), ref(qn), k(kvn), v(kvn);
  std::vector<uint32_t> lens(c.num_seqs), first(c.num_seqs), ntok(c.num_seqs);
  for (uint32_t step = 0; step < steps; ++step) {
    if (schedule)
      KVRT_ASSERT_OK(
          kvrt_schedule_apply_step(cache, schedule, step, KVRT_ALL_LAYERS));
    KVRT_ASSERT_OK(kvrt_cache_get_seq_lens(cache, lens.data()));
    for (uint32_t l = 0; l < c.num_layers; ++l) {
      KVRT_ASSERT_OK(kvrt_gen_queries(&c, seed, step, l, q.data()));
      KVRT_ASSERT_OK(
          kvrt_gen_step_kv(&c, seed, l, lens.data(), k.data(), v.data()));
      uint64_t want[2];
      expectedReads(cache, c, l, windows[l], lens.data(), want);
      kvrt_counters before, after;
      KVRT_ASSERT_OK(kvrt_counters_get(cache, &before));
      KVRT_ASSERT_OK(kvrt_attention_step(cache, l, q.data(), k.data(), v.data(),
                                         out.data()));
      KVRT_ASSERT_OK(kvrt_cache_synchronize(cache));
      KVRT_ASSERT_OK(kvrt_counters_get(cache, &after));
      for (uint32_t s = 0; s < c.num_seqs; ++s) {
        first[s] = firstOf(windows[l], lens[s]);
        ntok[s] = lens[s] + 1;
      }
      KVRT_ASSERT_OK(kvrt_reference_attention_range(
          &c, seed, l, first.data(), ntok.data(), q.data(), ref.data()));
      EXPECT_LT(kvrt_max_rel_error(&c, out.data(), ref.data()), 1e-5)
          << "step " << step << " layer " << l << " window " << windows[l];
      for (int t = 0; t < 2; ++t)
        EXPECT_EQ(after.bytes_read[t] - before.bytes_read[t], want[t])
            << "step " << step << " layer " << l << " tier " << t;
    }
    KVRT_ASSERT_OK(kvrt_cache_advance(cache));
  }
}

struct Shape {
  uint32_t blockTokens;
  kvrt_dtype dtype;
};

class WindowAttention : public ::testing::TestWithParam<Shape> {};

/// Six layers: global, and windows of 1, 3, 8, 13 and 64 tokens; lengths
/// from 5 and 12 grow to 20 and 27, so each window is below, at and above
/// some length. Blocks are spread randomly over both tiers.
TEST_P(WindowAttention, MatchesMaskedReference) {
  const Shape shape = GetParam();
  kvrt_cache_config c{};
  c.num_layers = 6;
  c.num_kv_heads = 2;
  c.num_q_heads = 4;
  c.head_dim = 16;
  c.block_tokens = shape.blockTokens;
  c.num_seqs = 2;
  c.max_blocks_per_seq = (28 + shape.blockTokens - 1) / shape.blockTokens;
  c.dtype = shape.dtype;
  const uint32_t total = c.num_layers * c.num_seqs * c.max_blocks_per_seq;
  c.hbm_capacity_blocks = total / 2;
  c.dram_capacity_blocks = total;
  ContextPtr ctx = makeHostContext();
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);
  std::mt19937_64 rng(7 + shape.blockTokens);
  SchedulePtr plan = randomPlacement(c, total / 2, 1, rng);
  KVRT_ASSERT_OK(kvrt_cache_apply_placement(cache.get(), plan.get()));
  const uint32_t windows[6] = {0, 1, 3, 8, 13, 64};
  KVRT_ASSERT_OK(kvrt_cache_set_windows(cache.get(), windows));
  uint32_t lens[2] = {5, 12};
  KVRT_ASSERT_OK(kvrt_cache_set_seq_lens(cache.get(), lens));
  KVRT_ASSERT_OK(kvrt_cache_fill_random(cache.get(), 11));
  decodeAndCompare(cache.get(), c, windows, 16, nullptr, 11);
  // A window is a restriction: the global layer's output differs from a
  // 3-token window's over the same tokens (the reference is not trivial).
  std::vector<uint32_t> first = {10, 10}, all = {21, 28};
  std::vector<float> q(size_t(2) * 4 * 16), a(q.size()), b(q.size());
  KVRT_ASSERT_OK(kvrt_gen_queries(&c, 11, 0, 0, q.data()));
  KVRT_ASSERT_OK(kvrt_reference_attention_range(
      &c, 11, 0, first.data(), all.data(), q.data(), a.data()));
  KVRT_ASSERT_OK(
      kvrt_reference_attention(&c, 11, 0, all.data(), q.data(), b.data()));
  EXPECT_GT(kvrt_max_rel_error(&c, a.data(), b.data()), 1e-3);
  uint64_t bad = 1;
  KVRT_ASSERT_OK(kvrt_cache_verify(cache.get(), 11, &bad));
  EXPECT_EQ(bad, 0u);
}

INSTANTIATE_TEST_SUITE_P(Blocks, WindowAttention,
                         ::testing::Values(Shape{1, KVRT_DTYPE_F32},
                                           Shape{4, KVRT_DTYPE_F16},
                                           Shape{5, KVRT_DTYPE_BF16}),
                         [](const ::testing::TestParamInfo<Shape> &info) {
                           return "block" +
                                  std::to_string(info.param.blockTokens);
                         });

/// A windowed schedule on a cache whose HBM pool is exactly the planned
/// capacity: every block of the two local layers starts in HBM, and each
/// time one dies, a block of the global layer is promoted into the slot it
/// freed. Attention stays equal to the masked reference while dead slots
/// hold other blocks, and every live block is intact at the end.
TEST(WindowAttentionSchedule, DeadSlotsReusedByPromotions) {
  for (uint32_t bs : {1u, 3u}) {
    kvrt_cache_config c{};
    c.num_layers = 3;
    c.num_kv_heads = 1;
    c.num_q_heads = 2;
    c.head_dim = 8;
    c.block_tokens = bs;
    c.num_seqs = 2;
    c.max_blocks_per_seq = (24 + bs - 1) / bs;
    c.dtype = KVRT_DTYPE_F32;
    const uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
    const uint32_t prompt = 8, steps = 14;
    const uint32_t windows[3] = {4, 0, 6};
    kvrt_schedule *rawS = nullptr;
    KVRT_ASSERT_OK(kvrt_schedule_create(3, perLayer, steps, &rawS));
    SchedulePtr s(rawS);
    KVRT_ASSERT_OK(kvrt_schedule_set_assumptions(s.get(), bs, 0));
    KVRT_ASSERT_OK(kvrt_schedule_set_windows(s.get(), windows, prompt,
                                             c.max_blocks_per_seq));
    uint32_t capacity = 0;
    std::vector<kvrt_migration> ms;
    uint32_t nextGlobal = 0;
    for (uint32_t l : {0u, 2u})
      for (uint32_t b = 0; b < perLayer; ++b) {
        uint32_t d = kvrt_schedule_death_step(s.get(), l, b);
        if (d == 0)
          continue;
        KVRT_ASSERT_OK(
            kvrt_schedule_set_placement(s.get(), l, b, 1, KVRT_TIER_HBM));
        ++capacity;
        if (d < steps && nextGlobal < perLayer)
          ms.push_back({d, 1, nextGlobal++, 1, KVRT_PROMOTE});
      }
    ASSERT_GT(ms.size(), 0u);
    KVRT_ASSERT_OK(kvrt_schedule_add_migrations(s.get(), ms.data(), ms.size()));
    KVRT_ASSERT_OK(kvrt_schedule_set_assumptions(s.get(), bs, capacity));
    KVRT_ASSERT_OK(kvrt_schedule_check(s.get()));

    c.hbm_capacity_blocks = capacity;
    c.dram_capacity_blocks = 3 * perLayer;
    ContextPtr ctx = makeHostContext(/*delayUs=*/50, /*seed=*/bs);
    kvrt_cache *raw = nullptr;
    KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
    CachePtr cache(raw);
    KVRT_ASSERT_OK(kvrt_schedule_validate(cache.get(), s.get()));
    KVRT_ASSERT_OK(kvrt_cache_apply_placement(cache.get(), s.get()));
    uint32_t lens[2] = {prompt, prompt};
    KVRT_ASSERT_OK(kvrt_cache_set_seq_lens(cache.get(), lens));
    KVRT_ASSERT_OK(kvrt_cache_fill_random(cache.get(), 3));
    KVRT_ASSERT_OK(kvrt_counters_reset(cache.get()));
    decodeAndCompare(cache.get(), c, windows, steps, s.get(), 3);
    kvrt_counters k;
    KVRT_ASSERT_OK(kvrt_counters_get(cache.get(), &k));
    EXPECT_EQ(k.blocks_migrated, ms.size()) << "block " << bs;
    EXPECT_GT(k.blocks_released, ms.size()) << "block " << bs;
    EXPECT_LE(k.peak_hbm_blocks, capacity) << "block " << bs;
    uint64_t bad = 1;
    KVRT_ASSERT_OK(kvrt_cache_verify(cache.get(), 3, &bad));
    EXPECT_EQ(bad, 0u) << "block " << bs;
  }
}

} // namespace
