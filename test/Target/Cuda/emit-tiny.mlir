// The emitted driver of a planned two-layer cache: geometry and plan baked
// in from the module, and the step function lowered op by op (per layer:
// the step's planned migrations, the staged append, the attention call),
// every runtime status checked with the op's location.
// REQUIRES: kvrt-host
// RUN: %host_cxx -std=c++17 %S/Inputs/write-schedule.cpp -I%kvrt_include %kvrt_host_lib -lpthread -o %t.ws
// RUN: %t.ws %t.kvsched 2 2 16 16 2 4
// RUN: kv-translate --kvtier-to-cuda %s --kvtier-cuda-schedule=%t.kvsched --kvtier-cuda-gqa-group=2 | FileCheck %s
// The output is deterministic.
// RUN: kv-translate --kvtier-to-cuda %s --kvtier-cuda-schedule=%t.kvsched --kvtier-cuda-gqa-group=2 -o %t.a.cu
// RUN: kv-translate --kvtier-to-cuda %s --kvtier-cuda-schedule=%t.kvsched --kvtier-cuda-gqa-group=2 -o %t.b.cu
// RUN: cmp %t.a.cu %t.b.cu
// The group option must agree with the query tensors (4 heads for 2 KV heads).
// RUN: not kv-translate --kvtier-to-cuda %s --kvtier-cuda-schedule=%t.kvsched --kvtier-cuda-gqa-group=3 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: emit-tiny.mlir:[[# @LINE + 72]]:11: error: query tensor has 4 heads but --kvtier-cuda-gqa-group=3 asks for 6

// CHECK: // Plan: policy "sliding-window", status "gap_open", bound 1e-06 s, schedule 2e-06 s, gap 0.5, 112 migrations.
// CHECK: // Schedule side file: {{.*}}.kvsched (16 decode steps, 112 migration records).
// CHECK: // Caches, merged into one runtime cache of 2 layers:
// CHECK-NEXT: //   "tiny.kv": runtime layers [0, 2)
// CHECK: #include "kvrt/kvrt.h"
// CHECK: static const char kvopt_default_schedule[] = "{{.*}}.kvsched";
// CHECK: KVOPT_LAYERS = 2,
// CHECK-NEXT: KVOPT_KV_HEADS = 2,
// CHECK-NEXT: KVOPT_Q_HEADS = 4,
// CHECK-NEXT: KVOPT_HEAD_DIM = 8,
// CHECK-NEXT: KVOPT_BLOCK_TOKENS = 4,
// CHECK-NEXT: KVOPT_NUM_SEQS = 2,
// CHECK-NEXT: KVOPT_BLOCKS_PER_SEQ = 16,
// CHECK-NEXT: KVOPT_MAX_TOKENS = 64,
// CHECK-NEXT: KVOPT_HBM_SLOTS = 8,
// CHECK-NEXT: KVOPT_PROMPT_TOKENS = 48,
// CHECK-NEXT: KVOPT_DECODE_STEPS = 16,
// CHECK: KVOPT_WINDOWED = 0,
// CHECK: static const uint32_t KVOPT_WINDOWS[KVOPT_LAYERS] = {0, 0};
// CHECK: KVOPT_HBM_PLAN_BLOCKS = 8ull;
// CHECK: KVOPT_DTYPE = KVRT_DTYPE_F32;

// CHECK-LABEL: static kvrt_status kvopt_step(
// CHECK-SAME: kvopt_driver* [[D:v[0-9]+]], uint32_t [[STEP:v[0-9]+]], size_t [[POS:v[0-9]+]]) {
// CHECK-NEXT: // kvtier.cache "tiny.kv": runtime layers [0, 2)
// CHECK-NEXT: kvrt_cache* [[C:v[0-9]+]] = kvopt_cache([[D]]);
// CHECK-NEXT: // kvtier.append layer 0 (runtime layer 0)
// CHECK-NEXT: const kvrt_schedule* [[SCHED:v[0-9]+]] = kvopt_schedule([[D]]);
// CHECK-NEXT: kvrt_status [[S:v[0-9]+]] = kvrt_schedule_apply_step([[C]], [[SCHED]], [[STEP]], 0);
// CHECK-NEXT: KVOPT_TRY([[S]], "{{.*}}emit-tiny.mlir:{{[0-9]+}}:{{[0-9]+}}: kvtier.append layer 0");
// CHECK-NEXT: kvrt_status [[S:v[0-9]+]] = kvopt_stage_append([[D]], 0, [[POS]]);
// CHECK-NEXT: KVOPT_TRY([[S]],
// CHECK-NEXT: // kvtier.attention layer 0 (runtime layer 0)
// CHECK-NEXT: kvrt_status [[S:v[0-9]+]] = kvopt_check_position([[D]], 0, [[POS]]);
// CHECK-NEXT: KVOPT_TRY([[S]], "{{.*}}emit-tiny.mlir:{{[0-9]+}}:{{[0-9]+}}: kvtier.attention layer 0");
// CHECK-NEXT: const float* [[Q:v[0-9]+]] = kvopt_query([[D]], 0);
// CHECK-NEXT: const float* [[K:v[0-9]+]] = kvopt_new_k([[D]], 0);
// CHECK-NEXT: const float* [[V:v[0-9]+]] = kvopt_new_v([[D]], 0);
// CHECK-NEXT: float* [[O:v[0-9]+]] = kvopt_output([[D]], 0);
// CHECK-NEXT: kvrt_status [[S:v[0-9]+]] = kvrt_attention_step([[C]], 0, [[Q]], [[K]], [[V]], [[O]]);
// CHECK-NEXT: KVOPT_TRY([[S]], "{{.*}}emit-tiny.mlir:{{[0-9]+}}:{{[0-9]+}}: kvtier.attention layer 0");
// CHECK: kvrt_schedule_apply_step([[C]], {{v[0-9]+}}, [[STEP]], 1);
// CHECK: kvopt_stage_append([[D]], 1, [[POS]]);
// CHECK: kvrt_attention_step([[C]], 1,
// CHECK: return KVRT_OK;
// CHECK-NEXT: }

// CHECK-LABEL: int main(int argc, char **argv) {
// CHECK: kvrt_cache_create(
// CHECK: kvopt_load_schedule(
// CHECK: kvrt_schedule_validate(
// CHECK: kvrt_cache_apply_placement(
// CHECK: kvrt_cache_fill_random(
// CHECK: kvopt_step(&d, step, d.position)
// CHECK: kvrt_reference_attention_range(
// CHECK: kvrt_cache_advance(
// CHECK: kvrt_cache_verify(
// CHECK: kvopt-driver: PASS

module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4 KiB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>,
  kvtier.model = #kvtier.model<name = "tiny", resident_weight_bytes = 0, weight_bytes_per_layer_step = 4096>,
  kvtier.plan = #kvtier.plan<policy = "sliding-window", status = "gap_open", bound = 1.0e-6, schedule = 2.0e-6, gap = 0.5, file = "tiny.kvsched", migrations = 112>} {
  func.func @decode(%pos: index, %q: tensor<4x8xf32>) {
    %kv = kvtier.cache "tiny.kv" : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
    kvtier.append %kv layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
    %o0 = kvtier.attention %kv layer 0 at %pos query %q : tensor<4x8xf32> : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2> -> tensor<4x8xf32>
    kvtier.append %kv layer 1 at %pos : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
    %o1 = kvtier.attention %kv layer 1 at %pos query %o0 : tensor<4x8xf32> : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2> -> tensor<4x8xf32>
    return
  }
}
