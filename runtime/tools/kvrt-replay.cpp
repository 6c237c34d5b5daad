//===- kvrt-replay.cpp - Run a schedule file's migrations on the runtime --===//
//
// Replays a planner's schedule side file on a kvrt cache of the schedule's
// shape whose HBM pool holds exactly the capacity the file assumes: the
// initial placement, then every step's migrations layer by layer, as a
// decode driver issues them (no attention: each block holds one 16-bit
// element per token, so a plan of a 137 GB cache replays in a few hundred
// MB). A windowed schedule frees a block's slot when it leaves its layer's
// window, as the plan does. Prints the runtime's counters; fails when a migration does not fit
// or the peak HBM occupancy counter exceeds the assumed capacity.
//
// usage: kvrt-replay SCHEDULE [--backend host|cuda] [--steps N]
//
//===----------------------------------------------------------------------===//
#include "kvrt/kvrt.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#define CHECK(call)                                                            \
  do {                                                                         \
    kvrt_status st_ = (call);                                                  \
    if (st_ != KVRT_OK) {                                                      \
      std::fprintf(stderr, "kvrt-replay: error: %s: %s\n", #call,              \
                   kvrt_last_error());                                         \
      std::printf("kvrt-replay: FAIL\n");                                      \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main(int argc, char **argv) {
  const char *path = nullptr;
  kvrt_backend backend = KVRT_BACKEND_HOST;
  long steps = -1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--backend") && i + 1 < argc) {
      const char *b = argv[++i];
      if (!std::strcmp(b, "cuda"))
        backend = KVRT_BACKEND_CUDA;
      else if (std::strcmp(b, "host")) {
        std::fprintf(stderr, "kvrt-replay: --backend '%s': host or cuda\n", b);
        return 2;
      }
    } else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) {
      steps = std::strtol(argv[++i], nullptr, 10);
    } else if (!path && argv[i][0] != '-') {
      path = argv[i];
    } else {
      std::fprintf(stderr,
                   "usage: kvrt-replay SCHEDULE [--backend host|cuda] "
                   "[--steps N]\n");
      return 2;
    }
  }
  if (!path) {
    std::fprintf(stderr, "kvrt-replay: no schedule file given\n");
    return 2;
  }
  kvrt_schedule *s = nullptr;
  CHECK(kvrt_schedule_read(path, &s));
  uint32_t layers = kvrt_schedule_num_layers(s);
  uint32_t blocks = kvrt_schedule_blocks_per_layer(s);
  uint32_t capacity = kvrt_schedule_hbm_capacity(s);
  uint32_t total = layers * blocks;
  if (!capacity || capacity > total) {
    // A plan whose HBM holds the whole cache: replay on a pool of exactly
    // the cache's blocks (every block fits), and say so.
    if (capacity)
      std::printf("kvrt-replay: planned capacity %u blocks exceeds the "
                  "cache's %u; replaying with %u\n",
                  capacity, total, total);
    capacity = total;
    CHECK(kvrt_schedule_set_assumptions(s, kvrt_schedule_block_tokens(s),
                                        capacity));
  }
  kvrt_cache_config c{};
  c.num_layers = layers;
  c.num_kv_heads = 1;
  c.num_q_heads = 1;
  c.head_dim = 1;
  c.block_tokens =
      kvrt_schedule_block_tokens(s) ? kvrt_schedule_block_tokens(s) : 1;
  c.num_seqs = 1;
  c.max_blocks_per_seq = blocks;
  c.dtype = KVRT_DTYPE_F16;
  c.hbm_capacity_blocks = capacity;
  c.dram_capacity_blocks = total;
  kvrt_context_options o;
  kvrt_context_options_init(&o);
  o.backend = backend;
  kvrt_context *ctx = nullptr;
  kvrt_cache *cache = nullptr;
  CHECK(kvrt_context_create(&o, &ctx));
  CHECK(kvrt_cache_create(ctx, &c, &cache));
  CHECK(kvrt_schedule_validate(cache, s));
  CHECK(kvrt_cache_apply_placement(cache, s));
  CHECK(kvrt_cache_synchronize(cache));
  CHECK(kvrt_counters_reset(cache));
  uint32_t n = kvrt_schedule_num_steps(s);
  if (steps >= 0 && uint32_t(steps) < n)
    n = uint32_t(steps);
  for (uint32_t step = 0; step < n; ++step)
    for (uint32_t l = 0; l < layers; ++l)
      CHECK(kvrt_schedule_apply_step(cache, s, step, l));
  CHECK(kvrt_cache_synchronize(cache));
  kvrt_counters k;
  CHECK(kvrt_counters_get(cache, &k));
  std::printf("kvrt-replay: %s: %u layers x %u blocks, %u steps, %zu "
              "migration records\n",
              path, layers, blocks, n, kvrt_schedule_num_migrations(s));
  // Sliding windows (format version 2): runs of equal windows as
  // "WINDOWxLAYERS" (0 = global), and the blocks whose slots the runtime
  // freed when they left their window.
  bool windowed = false;
  for (uint32_t l = 0; l < layers; ++l)
    windowed |= kvrt_schedule_window(s, l) != 0;
  if (windowed) {
    std::printf("kvrt-replay: windows ");
    for (uint32_t l = 0; l < layers;) {
      uint32_t w = kvrt_schedule_window(s, l), run = 0;
      while (l < layers && kvrt_schedule_window(s, l) == w)
        ++l, ++run;
      std::printf("%s%ux%u", run == l ? "" : ",", w, run);
    }
    std::printf(": %llu blocks left their window\n",
                (unsigned long long)k.blocks_released);
  }
  std::printf("kvrt-replay: blocks migrated %llu (%llu copies)\n",
              (unsigned long long)k.blocks_migrated,
              (unsigned long long)k.copies_issued);
  std::printf("kvrt-replay: peak HBM occupancy %llu blocks, planned capacity "
              "%u\n",
              (unsigned long long)k.peak_hbm_blocks, capacity);
  bool ok = k.peak_hbm_blocks <= capacity;
  kvrt_cache_destroy(cache);
  kvrt_context_destroy(ctx);
  kvrt_schedule_destroy(s);
  std::printf("kvrt-replay: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
