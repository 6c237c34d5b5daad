//===- AttentionTest.cpp - Split-tier attention vs the reference -*- C++
//-*-===//
//
// Blocks spread randomly over both tiers, migrations issued between layers
// with randomised copy delays, appends into whichever tier holds the block:
// every output must match the single-tier double-precision reference.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

using namespace kvrt::test;

namespace {

struct Shape {
  kvrt_dtype dtype;
  uint32_t kvHeads, qHeads, headDim, blockTokens;
};

void PrintTo(const Shape &s, std::ostream *os) {
  *os << "dtype " << s.dtype << " kv " << s.kvHeads << " q " << s.qHeads
      << " d " << s.headDim << " bs " << s.blockTokens;
}

class AttentionTest : public ::testing::TestWithParam<Shape> {};

void runDecode(const Shape &shape, uint64_t seed, uint32_t delayUs) {
  ContextPtr ctx = makeHostContext(delayUs, seed);
  kvrt_cache_config c = smallConfig(shape.dtype);
  c.num_kv_heads = shape.kvHeads;
  c.num_q_heads = shape.qHeads;
  c.head_dim = shape.headDim;
  c.block_tokens = shape.blockTokens;
  c.num_seqs = 3;
  c.max_blocks_per_seq = 5;
  uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
  c.hbm_capacity_blocks = perLayer * c.num_layers / 2;
  c.dram_capacity_blocks = perLayer * c.num_layers;
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);

  std::mt19937_64 rng(seed);
  const uint32_t steps = 4;
  SchedulePtr plan = randomPlacement(c, c.hbm_capacity_blocks / 2, steps, rng);
  addRandomMigrations(plan.get(), c, c.hbm_capacity_blocks, 2, rng);
  KVRT_ASSERT_OK(kvrt_schedule_validate(cache.get(), plan.get()));
  KVRT_ASSERT_OK(kvrt_cache_apply_placement(cache.get(), plan.get()));

  uint32_t maxTokens = c.max_blocks_per_seq * c.block_tokens;
  std::vector<uint32_t> lens(c.num_seqs);
  for (uint32_t s = 0; s < c.num_seqs; ++s)
    lens[s] = s == 0 ? 0 : rng() % (maxTokens - steps);
  KVRT_ASSERT_OK(kvrt_cache_set_seq_lens(cache.get(), lens.data()));
  KVRT_ASSERT_OK(kvrt_cache_fill_random(cache.get(), seed));

  size_t qn = size_t(c.num_seqs) * c.num_q_heads * c.head_dim;
  size_t kn = size_t(c.num_seqs) * c.num_kv_heads * c.head_dim;
  std::vector<float> q(qn), k(kn), v(kn), out(qn), ref(qn);
  void *dq, *dk, *dv, *dout;
  KVRT_ASSERT_OK(kvrt_buffer_alloc(ctx.get(), qn * 4, &dq));
  KVRT_ASSERT_OK(kvrt_buffer_alloc(ctx.get(), kn * 4, &dk));
  KVRT_ASSERT_OK(kvrt_buffer_alloc(ctx.get(), kn * 4, &dv));
  KVRT_ASSERT_OK(kvrt_buffer_alloc(ctx.get(), qn * 4, &dout));
  double worst = 0.0;
  for (uint32_t step = 0; step < steps; ++step) {
    for (uint32_t l = 0; l < c.num_layers; ++l) {
      KVRT_ASSERT_OK(
          kvrt_schedule_apply_step(cache.get(), plan.get(), step, l));
      KVRT_ASSERT_OK(kvrt_gen_queries(&c, seed, step, l, q.data()));
      KVRT_ASSERT_OK(
          kvrt_gen_step_kv(&c, seed, l, lens.data(), k.data(), v.data()));
      KVRT_ASSERT_OK(kvrt_buffer_upload(ctx.get(), dq, q.data(), qn * 4));
      KVRT_ASSERT_OK(kvrt_buffer_upload(ctx.get(), dk, k.data(), kn * 4));
      KVRT_ASSERT_OK(kvrt_buffer_upload(ctx.get(), dv, v.data(), kn * 4));
      KVRT_ASSERT_OK(kvrt_attention_step(cache.get(), l, (float *)dq,
                                         (float *)dk, (float *)dv,
                                         (float *)dout));
      KVRT_ASSERT_OK(kvrt_buffer_download(ctx.get(), out.data(), dout, qn * 4));
      std::vector<uint32_t> ntok(lens);
      for (uint32_t &n : ntok)
        ++n;
      KVRT_ASSERT_OK(kvrt_reference_attention(&c, seed, l, ntok.data(),
                                              q.data(), ref.data()));
      double err = kvrt_max_rel_error(&c, out.data(), ref.data());
      worst = std::max(worst, err);
      ASSERT_LT(err, 1e-5) << "step " << step << " layer " << l;
    }
    KVRT_ASSERT_OK(kvrt_cache_advance(cache.get()));
    for (uint32_t &n : lens)
      ++n;
  }
  // Appends must have landed in the right tier and slot, nothing else moved.
  uint64_t bad = 1;
  KVRT_ASSERT_OK(kvrt_cache_verify(cache.get(), seed, &bad));
  EXPECT_EQ(bad, 0u);
  kvrt_counters counters;
  KVRT_ASSERT_OK(kvrt_counters_get(cache.get(), &counters));
  EXPECT_GT(counters.bytes_read[KVRT_TIER_HBM], 0u);
  EXPECT_GT(counters.bytes_read[KVRT_TIER_DRAM], 0u);
  EXPECT_EQ(counters.attention_calls, steps * c.num_layers);
  for (void *p : {dq, dk, dv, dout})
    kvrt_buffer_free(ctx.get(), p);
}

TEST_P(AttentionTest, MatchesSingleTierReference) {
  for (uint64_t seed = 1; seed <= 3; ++seed)
    runDecode(GetParam(), seed, 0);
}

TEST_P(AttentionTest, MatchesUnderCopyDelays) {
  runDecode(GetParam(), 11, 200);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionTest,
    ::testing::Values(Shape{KVRT_DTYPE_F32, 2, 8, 32, 4},
                      Shape{KVRT_DTYPE_F32, 1, 1, 7, 3},
                      Shape{KVRT_DTYPE_F32, 4, 16, 128, 16},
                      Shape{KVRT_DTYPE_F16, 2, 4, 64, 8},
                      Shape{KVRT_DTYPE_BF16, 2, 32, 16, 5}),
    [](const ::testing::TestParamInfo<Shape> &info) {
      const Shape &s = info.param;
      const char *dtype = s.dtype == KVRT_DTYPE_F32   ? "f32"
                          : s.dtype == KVRT_DTYPE_F16 ? "f16"
                                                      : "bf16";
      return std::string(dtype) + "_kv" + std::to_string(s.kvHeads) + "_q" +
             std::to_string(s.qHeads) + "_d" + std::to_string(s.headDim) +
             "_bs" + std::to_string(s.blockTokens);
    });

TEST(AttentionErrors, RejectsBadArguments) {
  ContextPtr ctx = makeHostContext();
  kvrt_cache_config c = smallConfig();
  kvrt_cache *raw = nullptr;
  KVRT_ASSERT_OK(kvrt_cache_create(ctx.get(), &c, &raw));
  CachePtr cache(raw);
  std::vector<float> q(c.num_seqs * c.num_q_heads * c.head_dim);
  std::vector<float> out(q.size());
  EXPECT_EQ(kvrt_attention_step(cache.get(), c.num_layers, q.data(), nullptr,
                                nullptr, out.data()),
            KVRT_ERR_MISMATCH);
  EXPECT_NE(std::string(kvrt_last_error()).find("layer 3 out of range"),
            std::string::npos);
  EXPECT_EQ(kvrt_attention_step(cache.get(), 0, q.data(), q.data(), nullptr,
                                out.data()),
            KVRT_ERR_INVALID_ARGUMENT);
  // A full sequence cannot take another token.
  std::vector<uint32_t> lens(c.num_seqs, c.max_blocks_per_seq * c.block_tokens);
  KVRT_ASSERT_OK(kvrt_cache_set_seq_lens(cache.get(), lens.data()));
  std::vector<float> kv(c.num_seqs * c.num_kv_heads * c.head_dim);
  EXPECT_EQ(kvrt_attention_step(cache.get(), 0, q.data(), kv.data(), kv.data(),
                                out.data()),
            KVRT_ERR_MISMATCH);
  EXPECT_EQ(kvrt_cache_advance(cache.get()), KVRT_ERR_MISMATCH);
  lens[0] += 1;
  EXPECT_EQ(kvrt_cache_set_seq_lens(cache.get(), lens.data()),
            KVRT_ERR_MISMATCH);
  // Attention-only over an empty sequence yields zeros.
  std::vector<uint32_t> zero(c.num_seqs, 0);
  KVRT_ASSERT_OK(kvrt_cache_set_seq_lens(cache.get(), zero.data()));
  std::fill(out.begin(), out.end(), 1.0f);
  KVRT_ASSERT_OK(kvrt_attention_step(cache.get(), 0, q.data(), nullptr, nullptr,
                                     out.data()));
  for (float x : out)
    ASSERT_EQ(x, 0.0f);
}

} // namespace
