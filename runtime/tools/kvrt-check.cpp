//===- kvrt-check.cpp - Backend-agnostic correctness check ------*- C++ -*-===//
//
// The acceptance checks of the runtime as one program without test
// framework dependencies, so the same checks run in CTest on the host
// backend and on a GPU machine (bench/gpu/run.sh) on the CUDA backend:
//   attention   split-tier outputs vs the single-tier reference (< 1e-5)
//               under random placements and migrations, with appends; on
//               the CUDA backend once per attention kernel
//               (KVRT_CUDA_ATTENTION=legacy, then =tiled);
//   integrity   random schedules keep every block's bytes (checksums);
//   errors      over capacity, mismatched plan, allocation failure give
//               their status and leave the cache unchanged; on CUDA, an
//               unknown KVRT_CUDA_ATTENTION value is refused.
//
// usage: kvrt-check [--backend host|cuda] [--seed N] [--delay-us N]
//                   [--only attention|integrity|errors]
//
//===----------------------------------------------------------------------===//
#include "kvrt/kvrt.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Options {
  kvrt_backend backend = KVRT_BACKEND_HOST;
  uint64_t seed = 1;
  uint32_t delayUs = 0;
  std::string only;
};

int failures = 0;

#define CHECK_OK(call)                                                         \
  do {                                                                         \
    kvrt_status st_ = (call);                                                  \
    if (st_ != KVRT_OK) {                                                      \
      std::fprintf(stderr, "  FAIL %s:%d: %s -> %s\n", __FILE__, __LINE__,     \
                   #call, kvrt_last_error());                                  \
      ++failures;                                                              \
      return false;                                                            \
    }                                                                          \
  } while (0)

#define EXPECT(cond, ...)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);              \
      std::fprintf(stderr, __VA_ARGS__);                                       \
      std::fprintf(stderr, "\n");                                              \
      ++failures;                                                              \
      return false;                                                            \
    }                                                                          \
  } while (0)

/// Owns a context, a cache and device buffers for one check.
struct Fixture {
  kvrt_context *ctx = nullptr;
  kvrt_cache *cache = nullptr;
  kvrt_schedule *plan = nullptr;
  std::vector<void *> buffers;
  ~Fixture() {
    for (void *b : buffers)
      kvrt_buffer_free(ctx, b);
    kvrt_schedule_destroy(plan);
    kvrt_cache_destroy(cache);
    kvrt_context_destroy(ctx);
  }
};

bool makeContext(const Options &o, Fixture &f, uint64_t hbmLimit = 0) {
  kvrt_context_options co;
  kvrt_context_options_init(&co);
  co.backend = o.backend;
  co.copy_delay_max_us = o.delayUs;
  co.delay_seed = o.seed;
  co.hbm_limit_bytes = hbmLimit;
  CHECK_OK(kvrt_context_create(&co, &f.ctx));
  return true;
}

/// Random initial placement with `hbmBlocks` blocks in HBM plus random
/// migrations that keep HBM within `hbmCap` after every group.
bool makePlan(const kvrt_cache_config &c, uint32_t hbmBlocks, uint32_t hbmCap,
              uint32_t steps, uint32_t perGroup, std::mt19937_64 &rng,
              kvrt_schedule **out) {
  uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
  CHECK_OK(kvrt_schedule_create(c.num_layers, perLayer, steps, out));
  std::vector<uint8_t> inHbm(size_t(c.num_layers) * perLayer, 0);
  std::vector<uint32_t> order(inHbm.size());
  for (uint32_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  uint32_t hbm = std::min<uint32_t>(hbmBlocks, order.size());
  for (uint32_t i = 0; i < hbm; ++i) {
    inHbm[order[i]] = 1;
    CHECK_OK(kvrt_schedule_set_placement(
        *out, order[i] / perLayer, order[i] % perLayer, 1, KVRT_TIER_HBM));
  }
  std::vector<kvrt_migration> ms;
  for (uint32_t step = 0; step < steps; ++step)
    for (uint32_t l = 0; l < c.num_layers; ++l)
      for (int dir = KVRT_DEMOTE; dir >= KVRT_PROMOTE; --dir)
        for (uint32_t k = 0; k < perGroup; ++k) {
          uint32_t first = rng() % perLayer;
          uint32_t count = std::min<uint32_t>(1 + rng() % 4, perLayer - first);
          uint8_t from = dir == KVRT_PROMOTE ? 0 : 1;
          bool ok = dir == KVRT_DEMOTE || hbm + count <= hbmCap;
          for (uint32_t b = first; b < first + count && ok; ++b)
            ok = inHbm[size_t(l) * perLayer + b] == from;
          if (!ok)
            continue;
          for (uint32_t b = first; b < first + count; ++b)
            inHbm[size_t(l) * perLayer + b] = 1 - from;
          hbm = dir == KVRT_PROMOTE ? hbm + count : hbm - count;
          ms.push_back({step, l, first, count, (kvrt_direction)dir});
        }
  CHECK_OK(kvrt_schedule_add_migrations(*out, ms.data(), ms.size()));
  return true;
}

struct Shape {
  const char *name;
  kvrt_dtype dtype;
  uint32_t layers, kvHeads, qHeads, headDim, blockTokens, seqs, blocksPerSeq;
  /// Sliding window of the even layers in tokens (0: every layer global);
  /// the odd layers stay global.
  uint32_t window;
};

bool checkAttention(const Options &o, const Shape &sh) {
  Fixture f;
  if (!makeContext(o, f))
    return false;
  kvrt_cache_config c{};
  c.num_layers = sh.layers;
  c.num_kv_heads = sh.kvHeads;
  c.num_q_heads = sh.qHeads;
  c.head_dim = sh.headDim;
  c.block_tokens = sh.blockTokens;
  c.num_seqs = sh.seqs;
  c.max_blocks_per_seq = sh.blocksPerSeq;
  c.dtype = sh.dtype;
  uint32_t total = c.num_layers * c.num_seqs * c.max_blocks_per_seq;
  c.hbm_capacity_blocks = total / 2;
  c.dram_capacity_blocks = total;
  CHECK_OK(kvrt_cache_create(f.ctx, &c, &f.cache));
  std::mt19937_64 rng(o.seed);
  const uint32_t steps = 3;
  if (!makePlan(c, total / 4, c.hbm_capacity_blocks, steps, 2, rng, &f.plan))
    return false;
  CHECK_OK(kvrt_schedule_validate(f.cache, f.plan));
  CHECK_OK(kvrt_cache_apply_placement(f.cache, f.plan));
  std::vector<uint32_t> windows(c.num_layers, 0);
  for (uint32_t l = 0; l < c.num_layers; l += 2)
    windows[l] = sh.window;
  CHECK_OK(kvrt_cache_set_windows(f.cache, windows.data()));
  uint32_t maxTokens = c.max_blocks_per_seq * c.block_tokens;
  std::vector<uint32_t> lens(c.num_seqs), ntok(c.num_seqs), first(c.num_seqs);
  // Bytes attention must read: each window's tokens and the appended one.
  const uint64_t tokenBytes = kvrt_block_bytes(&c) / c.block_tokens;
  uint64_t expectRead = 0;
  // Sequence 0 starts empty (inside any window); with a window the others
  // start past it, so it cuts their first blocks.
  const uint32_t from = sh.window < maxTokens - steps ? sh.window : 0;
  for (uint32_t s = 0; s < c.num_seqs; ++s)
    lens[s] = s == 0 ? 0 : from + rng() % (maxTokens - steps - from);
  CHECK_OK(kvrt_cache_set_seq_lens(f.cache, lens.data()));
  CHECK_OK(kvrt_cache_fill_random(f.cache, o.seed));
  size_t qn = size_t(c.num_seqs) * c.num_q_heads * c.head_dim;
  size_t kn = size_t(c.num_seqs) * c.num_kv_heads * c.head_dim;
  std::vector<float> q(qn), k(kn), v(kn), out(qn), ref(qn);
  void *dq, *dk, *dv, *dout;
  CHECK_OK(kvrt_buffer_alloc(f.ctx, qn * 4, &dq));
  f.buffers.push_back(dq);
  CHECK_OK(kvrt_buffer_alloc(f.ctx, kn * 4, &dk));
  f.buffers.push_back(dk);
  CHECK_OK(kvrt_buffer_alloc(f.ctx, kn * 4, &dv));
  f.buffers.push_back(dv);
  CHECK_OK(kvrt_buffer_alloc(f.ctx, qn * 4, &dout));
  f.buffers.push_back(dout);
  double worst = 0.0;
  for (uint32_t step = 0; step < steps; ++step) {
    for (uint32_t l = 0; l < c.num_layers; ++l) {
      CHECK_OK(kvrt_schedule_apply_step(f.cache, f.plan, step, l));
      CHECK_OK(kvrt_gen_queries(&c, o.seed, step, l, q.data()));
      CHECK_OK(
          kvrt_gen_step_kv(&c, o.seed, l, lens.data(), k.data(), v.data()));
      CHECK_OK(kvrt_buffer_upload(f.ctx, dq, q.data(), qn * 4));
      CHECK_OK(kvrt_buffer_upload(f.ctx, dk, k.data(), kn * 4));
      CHECK_OK(kvrt_buffer_upload(f.ctx, dv, v.data(), kn * 4));
      CHECK_OK(kvrt_attention_step(f.cache, l, (const float *)dq,
                                   (const float *)dk, (const float *)dv,
                                   (float *)dout));
      CHECK_OK(kvrt_buffer_download(f.ctx, out.data(), dout, qn * 4));
      for (uint32_t s = 0; s < c.num_seqs; ++s) {
        uint32_t w = windows[l];
        first[s] = w && lens[s] > w ? lens[s] - w : 0;
        ntok[s] = lens[s] + 1;
        expectRead += (ntok[s] - first[s]) * tokenBytes;
      }
      CHECK_OK(kvrt_reference_attention_range(&c, o.seed, l, first.data(),
                                              ntok.data(), q.data(),
                                              ref.data()));
      double err = kvrt_max_rel_error(&c, out.data(), ref.data());
      worst = std::max(worst, err);
      EXPECT(err < 1e-5, "%s: step %u layer %u relative error %.3g", sh.name,
             step, l, err);
    }
    CHECK_OK(kvrt_cache_advance(f.cache));
    for (uint32_t &n : lens)
      ++n;
  }
  uint64_t bad = 1;
  CHECK_OK(kvrt_cache_verify(f.cache, o.seed, &bad));
  EXPECT(bad == 0, "%s: %llu blocks differ from the generator", sh.name,
         (unsigned long long)bad);
  kvrt_counters counters;
  CHECK_OK(kvrt_counters_get(f.cache, &counters));
  EXPECT(counters.bytes_read[0] + counters.bytes_read[1] == expectRead,
         "%s: attention read %llu B, the windows hold %llu B", sh.name,
         (unsigned long long)(counters.bytes_read[0] + counters.bytes_read[1]),
         (unsigned long long)expectRead);
  std::printf("  attention %-28s max rel error %.2e  (HBM %llu B, DRAM %llu B "
              "read)\n",
              sh.name, worst, (unsigned long long)counters.bytes_read[0],
              (unsigned long long)counters.bytes_read[1]);
  return true;
}

bool checkIntegrity(const Options &o) {
  Fixture f;
  if (!makeContext(o, f))
    return false;
  kvrt_cache_config c{};
  c.num_layers = 4;
  c.num_kv_heads = 2;
  c.num_q_heads = 4;
  c.head_dim = 64;
  c.block_tokens = 16;
  c.num_seqs = 2;
  c.max_blocks_per_seq = 16;
  c.dtype = KVRT_DTYPE_BF16;
  uint32_t total = c.num_layers * c.num_seqs * c.max_blocks_per_seq;
  c.hbm_capacity_blocks = 12; // small: slots are reused constantly
  c.dram_capacity_blocks = total;
  CHECK_OK(kvrt_cache_create(f.ctx, &c, &f.cache));
  std::vector<uint32_t> lens(c.num_seqs, c.max_blocks_per_seq * c.block_tokens);
  CHECK_OK(kvrt_cache_set_seq_lens(f.cache, lens.data()));
  CHECK_OK(kvrt_cache_fill_random(f.cache, o.seed));
  uint32_t perLayer = kvrt_cache_blocks_per_layer(f.cache);
  std::vector<uint64_t> before(total);
  for (uint32_t i = 0; i < total; ++i)
    CHECK_OK(kvrt_cache_block_checksum(f.cache, i / perLayer, i % perLayer,
                                       &before[i]));
  std::mt19937_64 rng(o.seed * 7 + 1);
  const uint32_t steps = 40;
  if (!makePlan(c, 8, c.hbm_capacity_blocks, steps, 6, rng, &f.plan))
    return false;
  CHECK_OK(kvrt_cache_apply_placement(f.cache, f.plan));
  for (uint32_t step = 0; step < steps; ++step) {
    CHECK_OK(kvrt_schedule_apply_step(f.cache, f.plan, step, KVRT_ALL_LAYERS));
    for (int i = 0; i < 4; ++i) {
      uint32_t idx = rng() % total;
      uint64_t sum = 0;
      CHECK_OK(kvrt_cache_block_checksum(f.cache, idx / perLayer,
                                         idx % perLayer, &sum));
      EXPECT(sum == before[idx], "step %u: block %u of layer %u corrupted",
             step, idx % perLayer, idx / perLayer);
    }
  }
  for (uint32_t i = 0; i < total; ++i) {
    uint64_t sum = 0;
    CHECK_OK(
        kvrt_cache_block_checksum(f.cache, i / perLayer, i % perLayer, &sum));
    EXPECT(sum == before[i],
           "after the schedule: block %u of layer %u "
           "corrupted",
           i % perLayer, i / perLayer);
  }
  kvrt_counters counters;
  CHECK_OK(kvrt_counters_get(f.cache, &counters));
  std::printf("  integrity %zu migrations, %llu blocks moved in %llu copies: "
              "all %u checksums intact\n",
              kvrt_schedule_num_migrations(f.plan),
              (unsigned long long)counters.blocks_migrated,
              (unsigned long long)counters.copies_issued, total);
  return true;
}

bool checkErrors(const Options &o) {
  kvrt_cache_config c{};
  c.num_layers = 2;
  c.num_kv_heads = 1;
  c.num_q_heads = 2;
  c.head_dim = 16;
  c.block_tokens = 4;
  c.num_seqs = 1;
  c.max_blocks_per_seq = 6;
  c.dtype = KVRT_DTYPE_F32;
  c.hbm_capacity_blocks = 3;
  c.dram_capacity_blocks = 12;
  {
    Fixture f;
    if (!makeContext(o, f, kvrt_block_bytes(&c) * 2))
      return false;
    kvrt_status st = kvrt_cache_create(f.ctx, &c, &f.cache);
    EXPECT(st == KVRT_ERR_ALLOCATION && !f.cache,
           "tiny HBM limit: expected KVRT_ERR_ALLOCATION, got %s",
           kvrt_status_name(st));
    std::printf("  errors    allocation: %s\n", kvrt_last_error());
  }
  if (o.backend == KVRT_BACKEND_CUDA) {
    // An unknown attention kernel name is refused when the cache is made.
    Fixture f;
    if (!makeContext(o, f))
      return false;
    const char *env = std::getenv("KVRT_CUDA_ATTENTION");
    std::string saved = env ? env : "";
    setenv("KVRT_CUDA_ATTENTION", "fastest", 1);
    kvrt_status st = kvrt_cache_create(f.ctx, &c, &f.cache);
    std::string message = kvrt_last_error();
    if (env)
      setenv("KVRT_CUDA_ATTENTION", saved.c_str(), 1);
    else
      unsetenv("KVRT_CUDA_ATTENTION");
    EXPECT(st == KVRT_ERR_INVALID_ARGUMENT && !f.cache &&
               message.find("KVRT_CUDA_ATTENTION") != std::string::npos &&
               message.find("fastest") != std::string::npos,
           "KVRT_CUDA_ATTENTION=fastest: expected KVRT_ERR_INVALID_ARGUMENT "
           "naming the variable and the value, got %s: %s",
           kvrt_status_name(st), message.c_str());
    std::printf("  errors    attention kernel: %s\n", message.c_str());
  }
  Fixture f;
  if (!makeContext(o, f))
    return false;
  CHECK_OK(kvrt_cache_create(f.ctx, &c, &f.cache));
  uint32_t lens[1] = {24};
  CHECK_OK(kvrt_cache_set_seq_lens(f.cache, lens));
  CHECK_OK(kvrt_cache_fill_random(f.cache, 5));
  CHECK_OK(kvrt_schedule_create(2, 6, 2, &f.plan));
  CHECK_OK(kvrt_schedule_set_placement(f.plan, 0, 0, 2, KVRT_TIER_HBM));
  kvrt_migration over{1, 1, 0, 2, KVRT_PROMOTE}; // 2 + 2 > 3 slots
  CHECK_OK(kvrt_schedule_add_migrations(f.plan, &over, 1));
  CHECK_OK(kvrt_cache_apply_placement(f.cache, f.plan));
  CHECK_OK(kvrt_schedule_apply_step(f.cache, f.plan, 0, KVRT_ALL_LAYERS));
  kvrt_tier tiers[12];
  for (uint32_t i = 0; i < 12; ++i)
    CHECK_OK(
        kvrt_cache_block_location(f.cache, i / 6, i % 6, &tiers[i], nullptr));
  kvrt_status st = kvrt_schedule_validate(f.cache, f.plan);
  EXPECT(st == KVRT_ERR_CAPACITY,
         "validate: expected KVRT_ERR_CAPACITY, got %s", kvrt_status_name(st));
  std::printf("  errors    over capacity: %s\n", kvrt_last_error());
  st = kvrt_schedule_apply_step(f.cache, f.plan, 1, KVRT_ALL_LAYERS);
  EXPECT(st == KVRT_ERR_CAPACITY, "apply: expected KVRT_ERR_CAPACITY, got %s",
         kvrt_status_name(st));
  kvrt_schedule *wrong = nullptr;
  CHECK_OK(kvrt_schedule_create(3, 6, 2, &wrong));
  st = kvrt_cache_apply_placement(f.cache, wrong);
  kvrt_schedule_destroy(wrong);
  EXPECT(st == KVRT_ERR_MISMATCH,
         "mismatch: expected KVRT_ERR_MISMATCH, got %s", kvrt_status_name(st));
  std::printf("  errors    mismatched plan: %s\n", kvrt_last_error());
  for (uint32_t i = 0; i < 12; ++i) {
    kvrt_tier t;
    CHECK_OK(kvrt_cache_block_location(f.cache, i / 6, i % 6, &t, nullptr));
    EXPECT(t == tiers[i], "block %u moved by a failed call", i);
  }
  uint64_t bad = 1;
  CHECK_OK(kvrt_cache_verify(f.cache, 5, &bad));
  EXPECT(bad == 0, "%llu blocks corrupted by failed calls",
         (unsigned long long)bad);
  return true;
}

} // namespace

/// A whole decimal number in 0..max, or a message naming the option and
/// the value.
static bool parseNumber(const std::string &option, const char *value,
                        uint64_t max, uint64_t &out) {
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(value, &end, 10);
  if (value[0] < '0' || value[0] > '9' || errno == ERANGE || *end != '\0' ||
      v > max) {
    std::fprintf(stderr,
                 "kvrt-check: %s: '%s' is not a whole number in 0..%llu\n",
                 option.c_str(), value, (unsigned long long)max);
    return false;
  }
  out = v;
  return true;
}

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "kvrt-check: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--backend") {
      std::string b = next();
      if (b != "host" && b != "cuda") {
        std::fprintf(stderr, "kvrt-check: unknown backend '%s'\n", b.c_str());
        return 2;
      }
      o.backend = b == "cuda" ? KVRT_BACKEND_CUDA : KVRT_BACKEND_HOST;
    } else if (a == "--seed") {
      if (!parseNumber(a, next(), UINT64_MAX, o.seed))
        return 2;
    } else if (a == "--delay-us") {
      uint64_t v = 0;
      if (!parseNumber(a, next(), 10000000, v))
        return 2;
      o.delayUs = static_cast<uint32_t>(v);
    } else if (a == "--only") {
      o.only = next();
      if (o.only != "attention" && o.only != "integrity" &&
          o.only != "errors") {
        std::fprintf(stderr,
                     "kvrt-check: --only: unknown check '%s' (attention, "
                     "integrity, errors)\n",
                     o.only.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr,
                   "usage: kvrt-check [--backend host|cuda] [--seed N] "
                   "[--delay-us N] [--only attention|integrity|errors]\n");
      return 2;
    }
  }
  std::printf("kvrt-check: backend %s, seed %llu, copy delay <= %u us\n",
              o.backend == KVRT_BACKEND_CUDA ? "cuda" : "host",
              (unsigned long long)o.seed, o.delayUs);
  const Shape shapes[] = {
      {"f32 gqa4 d64 bs16", KVRT_DTYPE_F32, 3, 2, 8, 64, 16, 3, 6, 0},
      {"f32 mha d128 bs8", KVRT_DTYPE_F32, 2, 4, 4, 128, 8, 2, 5, 0},
      {"f32 gqa16 d256 bs4", KVRT_DTYPE_F32, 2, 1, 16, 256, 4, 1, 7, 0},
      {"f32 odd d33 bs5", KVRT_DTYPE_F32, 2, 3, 6, 33, 5, 2, 4, 0},
      {"bf16 gqa4 d128 bs16 long", KVRT_DTYPE_BF16, 2, 2, 8, 128, 16, 2, 48, 0},
      {"f16 gqa2 d64 bs16", KVRT_DTYPE_F16, 2, 2, 4, 64, 16, 2, 8, 0},
      // Sliding windows (even layers): partial first blocks, several
      // splits of a long window on the CUDA kernel, a window of one token.
      {"f32 gqa4 d64 bs16 window 7", KVRT_DTYPE_F32, 3, 2, 8, 64, 16, 3, 6, 7},
      {"bf16 gqa4 d128 bs16 window 300", KVRT_DTYPE_BF16, 2, 2, 8, 128, 16, 2,
       48, 300},
      {"f16 mha d33 bs5 window 1", KVRT_DTYPE_F16, 2, 3, 3, 33, 5, 2, 4, 1},
      // Several tiles per split of the CUDA tiled kernel with a partial
      // last tile, a group that is not a power of two, padded head dims.
      {"bf16 gqa3 d96 bs16 window 200", KVRT_DTYPE_BF16, 2, 2, 6, 96, 16, 2, 40,
       200},
      {"f32 gqa16 d256 bs16 long", KVRT_DTYPE_F32, 2, 1, 16, 256, 16, 2, 24, 0},
      {"bf16 gqa8 d256 bs16 long", KVRT_DTYPE_BF16, 2, 1, 8, 256, 16, 2, 24, 0},
      {"f16 gqa5 d40 bs7 window 50", KVRT_DTYPE_F16, 2, 2, 10, 40, 7, 2, 30,
       50},
  };
  if (o.only.empty() || o.only == "attention") {
    // The CUDA backend reads KVRT_CUDA_ATTENTION when a cache is created:
    // every shape runs on both kernels; the caller's setting is restored.
    std::vector<const char *> kernels = {nullptr};
    if (o.backend == KVRT_BACKEND_CUDA)
      kernels = {"legacy", "tiled"};
    const char *env = std::getenv("KVRT_CUDA_ATTENTION");
    std::string saved = env ? env : "";
    for (const char *kernel : kernels) {
      if (kernel) {
        setenv("KVRT_CUDA_ATTENTION", kernel, 1);
        std::printf("  attention kernel: %s (KVRT_CUDA_ATTENTION=%s)\n", kernel,
                    kernel);
      }
      for (const Shape &s : shapes)
        checkAttention(o, s);
    }
    if (env)
      setenv("KVRT_CUDA_ATTENTION", saved.c_str(), 1);
    else
      unsetenv("KVRT_CUDA_ATTENTION");
  }
  if (o.only.empty() || o.only == "integrity")
    checkIntegrity(o);
  if (o.only.empty() || o.only == "errors")
    checkErrors(o);
  std::printf("kvrt-check: %s (%d failure%s)\n", failures ? "FAILED" : "PASSED",
              failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
