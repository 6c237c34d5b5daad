// A decode step that appends at the wrong position compiles, but the driver
// stops at the op that is wrong, naming its IR location, before any data is
// written there.
// REQUIRES: kvrt-host
// RUN: rm -rf %t && mkdir -p %t && cd %t
// RUN: %host_cxx -std=c++17 %S/Inputs/write-schedule.cpp -I%kvrt_include %kvrt_host_lib -lpthread -o ws
// RUN: ./ws bad.kvsched 2 2 16 16 2 4
// RUN: kv-translate --kvtier-to-cuda %s --kvtier-cuda-schedule=bad.kvsched -o bad.cu
// RUN: %host_cxx -std=c++17 -O1 -x c++ bad.cu -x none -I%kvrt_include %kvrt_host_lib -lpthread -o bad
// RUN: not ./bad --backend host 2>&1 | FileCheck %s

// CHECK: error: {{.*}}run-bad-position.mlir:[[# @LINE + 15]]:5: kvtier.append layer 1: KVRT_ERR_MISMATCH: runtime layer 1: the IR decodes position 49 but the cache holds 48 tokens
// CHECK-NEXT: kvopt-driver: FAIL (decode step 0)

!kv = !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4 KiB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>,
  kvtier.plan = #kvtier.plan<policy = "sliding-window", status = "gap_open", bound = 1.0e-6, schedule = 2.0e-6, gap = 0.5, file = "unused.kvsched", migrations = 64>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "tiny.kv" : !kv
    %c1 = arith.constant 1 : index
    %next = arith.addi %pos, %c1 : index
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    kvtier.append %kv layer 1 at %next : !kv
    kvtier.attention %kv layer 1 at %next : !kv
    return
  }
}
