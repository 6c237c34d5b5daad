// RUN: kv-opt %s -split-input-file -verify-diagnostics --kvtier-plan-kv-tiers="report= prompt=48 decode=16"
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report= prompt=48 decode=16 preset=no-such-gpu" 2>&1 | FileCheck %s --check-prefix=PRESET
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report= prompt=48 decode=16 trace=%t.missing" 2>&1 | FileCheck %s --check-prefix=TRACE
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report= prompt=48 decode=16 hardware-file=%t.missing" 2>&1 | FileCheck %s --check-prefix=HWFILE
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report= prompt=48 decode=16 sparsity=1.5" 2>&1 | FileCheck %s --check-prefix=SPARSITY
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report= prompt=48 decode=16 generator=fractal" 2>&1 | FileCheck %s --check-prefix=GENERATOR
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report= prompt=48 decode=16 variation=extreme" 2>&1 | FileCheck %s --check-prefix=VARIATION
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report= prompt=48 decode=16 solver=magic" 2>&1 | FileCheck %s --check-prefix=SOLVER
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report=/nonexistent-dir/r.txt prompt=48 decode=16" 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: not kv-opt %S/Inputs/tiny-planned-free.mlir --kvtier-plan-kv-tiers="report= prompt=48 decode=16 time-limit=-2" 2>&1 | FileCheck %s --check-prefix=TIMELIMIT

// TIMELIMIT: error: time-limit option must be a finite number of seconds >= 0 (0: none), got -2
// PRESET: error: {{.*}}no-such-gpu
// TRACE: error: cannot use trace: {{.*}}missing
// HWFILE: error: {{.*}}missing: field 'hardware file': cannot read
// SPARSITY: error: sparsity option must be in [0, 1), got 1.5
// GENERATOR: error: {{.*}}fractal
// VARIATION: error: {{.*}}extreme
// SOLVER: error: planning failed: {{.*}}magic
// REPORT: error: cannot write '/nonexistent-dir/r.txt'

// expected-error @+1 {{no KV cache to plan: the module declares no kvtier.cache}}
module {
  func.func @f() {
    return
  }
}

// -----

// expected-error @+1 {{no kvtier.attention reads the declared caches: nothing to plan}}
module {
  func.func @f() {
    %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

module {
  func.func @f(%kv: !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>, %pos: index) {
    // expected-error @+1 {{attention reads a cache that is not declared by kvtier.cache; the planner cannot size it}}
    kvtier.attention %kv layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

module {
  func.func @f(%pos: index) {
    // expected-note @+1 {{first cache declared here}}
    %a = kvtier.cache "a" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    // expected-error @+1 {{caches planned together must share one geometry; this cache's entry bytes is 128, 'a' has 64}}
    %b = kvtier.cache "b" : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %a layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %b layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

// expected-remark @+1 {{no #kvtier.model on the module: planning without weight traffic or resident weights}}
module {
  func.func @f(%pos: index) {
    %a = kvtier.cache "a" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %a layer 0 at %pos {sparsity = 0.5 : f64} : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    // expected-error @+1 {{attention ops disagree on the sparsity hint; the planner needs one value}}
    kvtier.attention %a layer 1 at %pos {sparsity = 0.7 : f64} : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

module {
  func.func @f(%pos: index) {
    // expected-error @+1 {{prompt (48) + decode (16) tokens must be positive and fit the cache's max_tokens (32)}}
    %a = kvtier.cache "a" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 32, batch = 1>
    kvtier.attention %a layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 32, batch = 1>
    return
  }
}

// -----

// expected-remark @+2 {{no #kvtier.model on the module: planning without weight traffic or resident weights}}
// expected-error @+1 {{cannot plan: }}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 100 B, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>} {
  func.func @f(%pos: index) {
    %a = kvtier.cache "a" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %a layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

// expected-error @+1 {{the memory system has no 'dram' tier to plan for}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 1 GB, read = 2 TB/s, write = 2 TB/s>], links = []>} {
  func.func @f(%pos: index) {
    %a = kvtier.cache "a" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %a layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

// A cache with a window attribute spans the sequence: its max_tokens must be
// the longest cache's.
module {
  func.func @f(%pos: index) {
    %a = kvtier.cache "m.kv" : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    // expected-error @+1 {{cache with a window attribute has max_tokens 48, the longest cache has 64: with `window`, max_tokens is the sequence length, which every layer group spans; layer groups: 'm.kv' (1 layers, 64 B per token per layer, max_tokens 64, batch 1, block 4), 'm.swa16' (1 layers, 64 B per token per layer, max_tokens 48, batch 1, block 4)}}
    %b = kvtier.cache "m.swa16" {window = 16 : i64} : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 48, batch = 1>
    kvtier.attention %a layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %b layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 48, batch = 1>
    return
  }
}

// -----

// Layer groups may differ in length (a shorter cache is a sliding window),
// never in entry size: both groups and their sizes are named.
module {
  func.func @f(%pos: index) {
    // expected-note @+1 {{first cache declared here}}
    %a = kvtier.cache "m.kv" : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    // expected-error @+1 {{caches planned together must share one geometry; this cache's entry bytes is 128, 'm.kv' has 64; layer groups: 'm.kv' (1 layers, 64 B per token per layer, max_tokens 64, batch 1, block 4), 'm.swa16' (1 layers, 128 B per token per layer, max_tokens 16, batch 1, block 4); layer groups planned together may differ only in max_tokens (a shorter cache is a sliding window over the longest)}}
    %b = kvtier.cache "m.swa16" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 16, batch = 1>
    kvtier.attention %a layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %b layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 16, batch = 1>
    return
  }
}
