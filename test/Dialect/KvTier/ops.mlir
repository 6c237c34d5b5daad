// RUN: kv-opt %s | FileCheck %s
// RUN: kv-opt %s | kv-opt | FileCheck %s
// RUN: kv-opt %s --mlir-print-op-generic | kv-opt | FileCheck %s
// RUN: kv-opt %s --mlir-print-op-generic | kv-opt --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK: module attributes {kvtier.memory_system = #kvtier.memory_system<preset = "paper", tiers = [#kvtier.tier<"hbm" hbm, capacity = 24 GiB, read = 4.9 TB/s, write = 4.9 TB/s>, #kvtier.tier<"lpddr" dram, capacity = 480 GB, read = 500 GB/s, write = 500 GB/s>], links = [#kvtier.link<"lpddr" -> "hbm", 450 GB/s>, #kvtier.link<"hbm" -> "lpddr", 450 GB/s>]>
// CHECK-SAME: kvtier.model = #kvtier.model<name = "Llama-3.1-8B", resident_weight_bytes = 16060522496, weight_bytes_per_layer_step = 436207616>
// CHECK-SAME: kvtier.plan = #kvtier.plan<policy = "lagrangian", status = "gap_closed", bound = 2.510000e+01, schedule = 2.540000e+01, gap = 1.180000e-02, file = "plan.kvsched", migrations = 1234>
// GENERIC: "builtin.module"()
// GENERIC: "kvtier.attention"
module attributes {
  kvtier.memory_system = #kvtier.memory_system<preset = "paper", tiers = [
      #kvtier.tier<"hbm" hbm, capacity = 24 GiB, read = 4.9 TB/s, write = 4900 GB/s>,
      #kvtier.tier<"lpddr" dram, capacity = 480 GB, read = 0.5 TB/s, write = 500000 MB/s>],
    links = [#kvtier.link<"lpddr" -> "hbm", 450 GB/s>,
             #kvtier.link<"hbm" -> "lpddr", 450 GB/s>]>,
  kvtier.plan = #kvtier.plan<policy = "lagrangian", status = "gap_closed", bound = 25.1, schedule = 25.4, gap = 0.0118, file = "plan.kvsched", migrations = 1234>,
  kvtier.model = #kvtier.model<name = "Llama-3.1-8B", resident_weight_bytes = 16060522496, weight_bytes_per_layer_step = 436207616>
} {
  // CHECK-LABEL: func.func @decode
  // CHECK-SAME: (%[[POS:.*]]: index, %[[Q:.*]]: tensor<32x128xbf16>)
  func.func @decode(%pos: index, %q: tensor<32x128xbf16>) -> tensor<32x128xbf16> {
    // CHECK: %[[KV:.*]] = kvtier.cache "llama.kv" {placement = #kvtier.placement<hbm_blocks = 10, peak_hbm_blocks = 12, total_blocks = 64, promotions = 3, demotions = 1>} : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    %kv = kvtier.cache "llama.kv" {placement = #kvtier.placement<hbm_blocks = 10, peak_hbm_blocks = 12, total_blocks = 64, promotions = 3, demotions = 1>} : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    // CHECK: kvtier.append %[[KV]] layer 1 at %[[POS]] : !kvtier.cache
    kvtier.append %kv layer 1 at %pos : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    // CHECK: kvtier.attention %[[KV]] layer 0 at %[[POS]] {sparsity = 6.000000e-01 : f64, split = #kvtier.split<hbm = 9.100000e-01, balanced = 9.160000e-01>} : !kvtier.cache
    kvtier.attention %kv layer 0 at %pos {sparsity = 0.6 : f64, split = #kvtier.split<hbm = 0.91, balanced = 0.916>} : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    // CHECK: %{{.*}} = kvtier.attention %[[KV]] layer 1 at %[[POS]] query %[[Q]] : tensor<32x128xbf16> : !kvtier.cache<{{.*}}> -> tensor<32x128xbf16>
    %o = kvtier.attention %kv layer 1 at %pos query %q : tensor<32x128xbf16> : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1> -> tensor<32x128xbf16>
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    // CHECK: %[[H:.*]] = kvtier.migrate %[[KV]] layer 1 blocks [%{{.*}}, %{{.*}}] from "lpddr" to "hbm" : !kvtier.cache
    %h = kvtier.migrate %kv layer 1 blocks [%c0, %c4] from "lpddr" to "hbm" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    // CHECK: kvtier.wait %[[H]]
    kvtier.wait %h
    return %o : tensor<32x128xbf16>
  }

  // CHECK-LABEL: func.func @mla
  func.func @mla(%pos: index) {
    // CHECK: kvtier.cache "dsv3.kv" : !kvtier.latent_cache<layers = 61, latent = 512, rope = 64, element = bf16, block = 64, max_tokens = 4096, batch = 2>
    %kv = kvtier.cache "dsv3.kv" : !kvtier.latent_cache<layers = 61, latent = 512, rope = 64, element = bf16, block = 64, max_tokens = 4096, batch = 2>
    kvtier.attention %kv layer 60 at %pos : !kvtier.latent_cache<layers = 61, latent = 512, rope = 64, element = bf16, block = 64, max_tokens = 4096, batch = 2>
    return
  }
}
