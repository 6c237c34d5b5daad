/*===- decode_driver.c - What an emitted kv-opt decode driver does -*- C
-*-===*\
|*                                                                            *|
|* A hand-written stand-in for the code the kv-opt lowering emits: read the   *|
|* planner's schedule side file, build the cache, apply the initial          *|
|* placement, then for every decode step and layer issue the planned         *|
|* migrations and run split-tier attention, checking each output against the *|
|* single-tier reference. Plain C99 that also compiles as C++ and CUDA.      *|
|*                                                                            *|
|* usage: kvrt-example-driver [host|cuda] [SCHEDULE_FILE]                     *|
|* Without a file it writes a synthetic plan first (as the planner would).   *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#include "kvrt/kvrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                            \
  do {                                                                         \
    kvrt_status st_ = (call);                                                  \
    if (st_ != KVRT_OK) {                                                      \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, kvrt_last_error());   \
      return 1;                                                                \
    }                                                                          \
  } while (0)

enum { kLayers = 4, kSeqs = 2, kBlocksPerSeq = 8, kSteps = 6 };

/* The plan a planner would write: the first half of every sequence's blocks
 * in HBM; each step demotes one early block and promotes one later one. */
static int writeSyntheticPlan(const char *path) {
  uint8_t mask[kLayers * kSeqs * kBlocksPerSeq];
  kvrt_migration moves[kSteps * kLayers * 2];
  size_t n = 0;
  uint32_t l, s, b, step;
  memset(mask, 0, sizeof(mask));
  for (l = 0; l < kLayers; ++l)
    for (s = 0; s < kSeqs; ++s)
      for (b = 0; b < kBlocksPerSeq / 2; ++b)
        mask[(l * kSeqs + s) * kBlocksPerSeq + b] = 1;
  for (step = 0; step < kSteps && step < kBlocksPerSeq / 2; ++step)
    for (l = 0; l < kLayers; ++l) {
      kvrt_migration down = {step, l, step, 1, KVRT_DEMOTE};
      kvrt_migration up = {step, l, kBlocksPerSeq / 2 + step, 1, KVRT_PROMOTE};
      moves[n++] = down;
      moves[n++] = up;
    }
  CHECK(kvrt_schedule_write_arrays(path, kLayers, kSeqs * kBlocksPerSeq, kSteps,
                                   mask, moves, n));
  return 0;
}

int main(int argc, char **argv) {
  const char *backend = argc > 1 ? argv[1] : "host";
  const char *path = argc > 2 ? argv[2] : "kvrt-example-plan.kvs";
  const uint64_t seed = 42;
  kvrt_context_options options;
  kvrt_context *ctx = NULL;
  kvrt_cache *cache = NULL;
  kvrt_schedule *plan = NULL;
  kvrt_cache_config c;
  kvrt_counters counters;
  uint32_t lens[kSeqs], ntok[kSeqs], step, l, s;
  float *q, *k, *v, *out, *ref;
  void *dq, *dk, *dv, *dout;
  size_t qn, kn;
  uint64_t bad = 0;
  double worst = 0.0;

  if (argc <= 2 && writeSyntheticPlan(path))
    return 1;
  kvrt_context_options_init(&options);
  options.backend =
      strcmp(backend, "cuda") == 0 ? KVRT_BACKEND_CUDA : KVRT_BACKEND_HOST;
  options.copy_delay_max_us = 50; /* host backend: shake the ordering */
  CHECK(kvrt_context_create(&options, &ctx));

  memset(&c, 0, sizeof(c));
  c.num_layers = kLayers;
  c.num_kv_heads = 2;
  c.num_q_heads = 8;
  c.head_dim = 64;
  c.block_tokens = 16;
  c.num_seqs = kSeqs;
  c.max_blocks_per_seq = kBlocksPerSeq;
  c.dtype = KVRT_DTYPE_F32;
  c.hbm_capacity_blocks = kLayers * kSeqs * kBlocksPerSeq / 2;
  c.dram_capacity_blocks = kLayers * kSeqs * kBlocksPerSeq;
  CHECK(kvrt_cache_create(ctx, &c, &cache));
  CHECK(kvrt_schedule_read(path, &plan));
  CHECK(kvrt_schedule_validate(cache, plan));
  CHECK(kvrt_cache_apply_placement(cache, plan));
  for (s = 0; s < kSeqs; ++s)
    lens[s] = 20 + 17 * s;
  CHECK(kvrt_cache_set_seq_lens(cache, lens));
  CHECK(kvrt_cache_fill_random(cache, seed));

  qn = (size_t)kSeqs * c.num_q_heads * c.head_dim;
  kn = (size_t)kSeqs * c.num_kv_heads * c.head_dim;
  q = (float *)malloc(qn * 4);
  out = (float *)malloc(qn * 4);
  ref = (float *)malloc(qn * 4);
  k = (float *)malloc(kn * 4);
  v = (float *)malloc(kn * 4);
  CHECK(kvrt_buffer_alloc(ctx, qn * 4, &dq));
  CHECK(kvrt_buffer_alloc(ctx, kn * 4, &dk));
  CHECK(kvrt_buffer_alloc(ctx, kn * 4, &dv));
  CHECK(kvrt_buffer_alloc(ctx, qn * 4, &dout));

  for (step = 0; step < kSteps; ++step) {
    CHECK(kvrt_step_begin(cache));
    for (l = 0; l < kLayers; ++l) {
      double err;
      CHECK(kvrt_schedule_apply_step(cache, plan, step, l));
      CHECK(kvrt_gen_queries(&c, seed, step, l, q));
      CHECK(kvrt_gen_step_kv(&c, seed, l, lens, k, v));
      CHECK(kvrt_buffer_upload(ctx, dq, q, qn * 4));
      CHECK(kvrt_buffer_upload(ctx, dk, k, kn * 4));
      CHECK(kvrt_buffer_upload(ctx, dv, v, kn * 4));
      CHECK(kvrt_attention_step(cache, l, (const float *)dq, (const float *)dk,
                                (const float *)dv, (float *)dout));
      CHECK(kvrt_buffer_download(ctx, out, dout, qn * 4));
      for (s = 0; s < kSeqs; ++s)
        ntok[s] = lens[s] + 1;
      CHECK(kvrt_reference_attention(&c, seed, l, ntok, q, ref));
      err = kvrt_max_rel_error(&c, out, ref);
      worst = err > worst ? err : worst;
    }
    CHECK(kvrt_step_end(cache));
    CHECK(kvrt_cache_advance(cache));
    for (s = 0; s < kSeqs; ++s)
      ++lens[s];
  }
  CHECK(kvrt_cache_verify(cache, seed, &bad));
  CHECK(kvrt_counters_get(cache, &counters));
  printf("backend %s: %u steps x %u layers, max rel error %.3g, bad blocks "
         "%llu\n",
         backend, (unsigned)kSteps, (unsigned)kLayers, worst,
         (unsigned long long)bad);
  printf("read HBM %llu B, DRAM %llu B; promoted %llu B, demoted %llu B; "
         "mean step %.3f ms\n",
         (unsigned long long)counters.bytes_read[KVRT_TIER_HBM],
         (unsigned long long)counters.bytes_read[KVRT_TIER_DRAM],
         (unsigned long long)counters.bytes_promoted,
         (unsigned long long)counters.bytes_demoted,
         1e3 * counters.step_seconds_total / (double)counters.steps);

  kvrt_buffer_free(ctx, dq);
  kvrt_buffer_free(ctx, dk);
  kvrt_buffer_free(ctx, dv);
  kvrt_buffer_free(ctx, dout);
  free(q), free(k), free(v), free(out), free(ref);
  kvrt_schedule_destroy(plan);
  kvrt_cache_destroy(cache);
  kvrt_context_destroy(ctx);
  if (worst >= 1e-5 || bad != 0 || counters.bytes_read[KVRT_TIER_DRAM] == 0 ||
      counters.bytes_promoted == 0) {
    fprintf(stderr, "FAILED\n");
    return 1;
  }
  printf("PASSED\n");
  return 0;
}
