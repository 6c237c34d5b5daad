// REQUIRES: plugin
// Upstream mlir-opt loads kvtier as a dialect plugin and its passes as a
// pass plugin (the same shared object). Plugin passes are reached through
// --pass-pipeline: mlir-opt parses its flags before plugins register.
// RUN: mlir-opt --load-dialect-plugin=%kvopt_lib/libKvOptPlugin.so %s | FileCheck %s --check-prefix=ROUNDTRIP
// RUN: mlir-opt --load-dialect-plugin=%kvopt_lib/libKvOptPlugin.so --load-pass-plugin=%kvopt_lib/libKvOptPlugin.so --pass-pipeline='builtin.module(kvtier-test-cache-analysis)' %s -o /dev/null | FileCheck %s --check-prefix=ANALYSIS
// RUN: mlir-opt --load-dialect-plugin=%kvopt_lib/libKvOptPlugin.so --load-pass-plugin=%kvopt_lib/libKvOptPlugin.so --pass-pipeline='builtin.module(kvtier-plan-kv-tiers{solver=lagrangian prompt=48 decode=16 report=})' %s | FileCheck %s --check-prefix=PLAN
// RUN: not mlir-opt --load-dialect-plugin=%kvopt_lib/libKvOptPlugin.so --load-pass-plugin=%kvopt_lib/libKvOptPlugin.so --pass-pipeline='builtin.module(kvtier-plan-kv-tiers{prompt=48 decode=16 report= preset=tpu})' %S/../Transforms/Inputs/tiny-planned-free.mlir 2>&1 | FileCheck %s --check-prefix=BADPRESET

// ROUNDTRIP: kvtier.cache "tiny.kv" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
// ANALYSIS: caches: 1, attention: 2, KV bytes per token (all layers): 128, total bytes: 8192
// PLAN: kvtier.plan = #kvtier.plan<
// PLAN: kvtier.cache "tiny.kv" {placement = #kvtier.placement<
// BADPRESET: error: {{.*}}tpu

module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4 KiB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>,
  kvtier.model = #kvtier.model<name = "tiny", resident_weight_bytes = 0, weight_bytes_per_layer_step = 4096>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "tiny.kv" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %kv layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %kv layer 1 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}
