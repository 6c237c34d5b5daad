// Two bf16 caches of one geometry run as one runtime cache (layers 0-1 and
// 2), GQA query heads taken from the attention query tensors (8 for 2 KV
// heads), and a position computed with arith ops (pos * 2 / 2) that the upstream
// arith -> emitc patterns lower next to the kvtier ones. Compiled with the
// host C++ compiler and run: PASS against the single-tier reference.
// REQUIRES: kvrt-host
// RUN: rm -rf %t && mkdir -p %t && cd %t
// RUN: %host_cxx -std=c++17 %S/Inputs/write-schedule.cpp -I%kvrt_include %kvrt_host_lib -lpthread -o ws
// RUN: ./ws merged.kvsched 3 1 8 8 2 8
// RUN: kv-translate --kvtier-to-cuda %s --kvtier-cuda-schedule=merged.kvsched -o merged.cu
// RUN: FileCheck %s --input-file=merged.cu
// RUN: %host_cxx -std=c++17 -O1 -Wall -Wextra -Werror -x c++ merged.cu -x none -I%kvrt_include %kvrt_host_lib -lpthread -o merged
// RUN: ./merged --backend host --delay-us 50 | FileCheck %s --check-prefix=EXEC

// CHECK: // Caches, merged into one runtime cache of 3 layers:
// CHECK-NEXT: //   "a.kv": runtime layers [0, 2)
// CHECK-NEXT: //   "b.kv": runtime layers [2, 3)
// CHECK: KVOPT_LAYERS = 3,
// CHECK-NEXT: KVOPT_KV_HEADS = 2,
// CHECK-NEXT: KVOPT_Q_HEADS = 8,
// CHECK: KVOPT_HBM_SLOTS = 6,
// CHECK-NEXT: KVOPT_PROMPT_TOKENS = 56,
// CHECK-NEXT: KVOPT_DECODE_STEPS = 8,
// CHECK: KVOPT_DTYPE = KVRT_DTYPE_BF16;
// CHECK-LABEL: static kvrt_status kvopt_step(
// CHECK-SAME: size_t [[POS:v[0-9]+]]) {
// CHECK: kvrt_cache* [[A:v[0-9]+]] = kvopt_cache(
// CHECK: kvrt_attention_step([[A]], 0,
// CHECK: kvrt_attention_step([[A]], 1,
// CHECK: // kvtier.cache "b.kv": runtime layers [2, 3)
// CHECK-NEXT: kvrt_cache* [[B:v[0-9]+]] = kvopt_cache(
// CHECK: size_t [[TWO:v[0-9]+]] = 2;
// CHECK: size_t [[T:v[0-9]+]] = [[POS]] * [[TWO]];
// CHECK: size_t [[P:v[0-9]+]] = [[T]] / [[TWO]];
// CHECK: kvrt_schedule_apply_step([[B]], {{v[0-9]+}}, {{v[0-9]+}}, 2);
// CHECK: kvopt_stage_append({{v[0-9]+}}, 2, [[P]]);
// CHECK: kvopt_check_position({{v[0-9]+}}, 2, [[P]]);
// CHECK: kvrt_attention_step([[B]], 2,

// EXEC: kvopt-driver: backend host, 3 layers x 8 steps (prompt 56)
// EXEC: kvopt-driver: max relative error {{([0-9.]+e-(0[6-9]|[1-9][0-9]))|0}} vs single-tier reference
// EXEC: kvopt-driver: blocks differing from the generator: 0
// EXEC: kvopt-driver: PASS

!a = !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 16, element = bf16, block = 8, max_tokens = 64, batch = 1>
!b = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = bf16, block = 8, max_tokens = 64, batch = 1>
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 6 KiB, read = 3 TB/s, write = 3 TB/s>,
    #kvtier.tier<"host" dram, capacity = 1 GB, read = 100 GB/s, write = 100 GB/s>],
  links = [#kvtier.link<"host" -> "hbm", 50 GB/s>, #kvtier.link<"hbm" -> "host", 50 GB/s>]>,
  kvtier.plan = #kvtier.plan<policy = "sliding-window", status = "gap_open", bound = 1.0e-6, schedule = 2.0e-6, gap = 0.5, file = "unused.kvsched", migrations = 36>} {
  func.func @decode_step(%pos: index, %q: tensor<8x16xbf16>) -> tensor<8x16xbf16> {
    %a = kvtier.cache "a.kv" : !a
    kvtier.append %a layer 0 at %pos : !a
    %o0 = kvtier.attention %a layer 0 at %pos query %q : tensor<8x16xbf16> : !a -> tensor<8x16xbf16>
    kvtier.append %a layer 1 at %pos : !a
    %o1 = kvtier.attention %a layer 1 at %pos query %o0 : tensor<8x16xbf16> : !a -> tensor<8x16xbf16>
    %b = kvtier.cache "b.kv" : !b
    %c2 = arith.constant 2 : index
    %twice = arith.muli %pos, %c2 : index
    %p = arith.divsi %twice, %c2 : index
    kvtier.append %b layer 0 at %p : !b
    %o2 = kvtier.attention %b layer 0 at %p query %o1 : tensor<8x16xbf16> : !b -> tensor<8x16xbf16>
    return %o2 : tensor<8x16xbf16>
  }
}
