// Modules the CUDA driver cannot run are rejected with an error at the op
// at fault, before the schedule file is even read.
// RUN: kv-translate --kvtier-to-cuda %s -split-input-file -verify-diagnostics --kvtier-cuda-schedule=%t.never-read

// expected-error @+1 {{no #kvtier.plan on the module: run kv-opt --kvtier-plan-kv-tiers first}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4 KiB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "kv" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.append %kv layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %kv layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    // expected-error @+1 {{element type 'i8' is not supported by the kvrt runtime (f32, f16 or bf16)}}
    %kv = kvtier.cache "kv" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = i8, block = 4, max_tokens = 64, batch = 1>
    kvtier.append %kv layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = i8, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %kv layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = i8, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    // expected-error @+1 {{latent (MLA) caches are not supported by the kvrt runtime}}
    %kv = kvtier.cache "mla" : !kvtier.latent_cache<layers = 1, latent = 512, rope = 64, element = bf16, block = 64, max_tokens = 1024, batch = 1>
    kvtier.append %kv layer 0 at %pos : !kvtier.latent_cache<layers = 1, latent = 512, rope = 64, element = bf16, block = 64, max_tokens = 1024, batch = 1>
    kvtier.attention %kv layer 0 at %pos : !kvtier.latent_cache<layers = 1, latent = 512, rope = 64, element = bf16, block = 64, max_tokens = 1024, batch = 1>
    return
  }
}

// -----

module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    // expected-note @+1 {{first cache declared here}}
    %a = kvtier.cache "a" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    // expected-error @+1 {{caches run as one runtime cache by the CUDA driver must share one geometry; this cache's entry bytes is 256, 'a' has 128}}
    %b = kvtier.cache "b" : !kvtier.cache<layers = 1, kv_heads = 4, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.append %a layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %a layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "kv" : !kv
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    // expected-error @+1 {{attention on layer 1 of cache 'kv' has no kvtier.append of that layer before it; the runtime writes the step's token inside kvrt_attention_step}}
    kvtier.attention %kv layer 1 at %pos : !kv
    kvtier.append %kv layer 1 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    // expected-error @+1 {{layer 1 of cache 'kv' has no kvtier.append + kvtier.attention in the decode step; the runtime advances every layer each step}}
    %kv = kvtier.cache "kv" : !kv
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "kv" : !kv
    // expected-note @+1 {{first here}}
    kvtier.append %kv layer 0 at %pos : !kv
    // expected-error @+1 {{layer 0 of cache 'kv' is appended twice in one decode step}}
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "kv" : !kv
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
  // expected-note @-6 {{first decode function}}
  func.func @other(%pos: index, %kv: !kv) {
    // expected-error @+1 {{kvtier ops in two functions; the CUDA driver runs one decode function per step}}
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index, %kv: !kv) {
    %other = kvtier.cache "other" : !kv
    // expected-error @+1 {{the cache operand is not defined by kvtier.cache; the CUDA driver cannot tell which runtime layers it names}}
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index, %c: i1) {
    %kv = kvtier.cache "kv" : !kv
    scf.if %c {
      // expected-error @+1 {{kvtier op inside a nested region: the CUDA driver lowers straight-line decode steps only}}
      kvtier.append %kv layer 0 at %pos : !kv
    }
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4 KiB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"ddr" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>,
    #kvtier.tier<"cxl" dram, capacity = 1 TB, read = 50 GB/s, write = 50 GB/s>],
  links = [#kvtier.link<"ddr" -> "hbm", 50 GB/s>, #kvtier.link<"hbm" -> "ddr", 50 GB/s>,
           #kvtier.link<"cxl" -> "hbm", 50 GB/s>, #kvtier.link<"hbm" -> "cxl", 50 GB/s>,
           #kvtier.link<"ddr" -> "cxl", 50 GB/s>]>,
  kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "kv" : !kv
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{the kvrt runtime migrates between one HBM and one DRAM tier; "ddr" -> "cxl" is not such a move}}
    %h = kvtier.migrate %kv layer 0 blocks [%c0, %c1] from "ddr" to "cxl" : !kv
    kvtier.wait %h
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index, %h: !kvtier.migration) {
    %kv = kvtier.cache "kv" : !kv
    // expected-error @+1 {{the handle is not a kvtier.migrate result of this decode step}}
    kvtier.wait %h
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index, %q: tensor<5x8xf32>) {
    %kv = kvtier.cache "kv" : !kv
    kvtier.append %kv layer 0 at %pos : !kv
    // expected-error @+1 {{query heads (5) must be a multiple of kv_heads (2) with a group of at most 16 (kvrt GQA limit)}}
    %o = kvtier.attention %kv layer 0 at %pos query %q : tensor<5x8xf32> : !kv -> tensor<5x8xf32>
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
// expected-error @+1 {{no kvtier.memory_system with an HBM tier on the module; the CUDA driver sizes the HBM pool from it}}
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "kv" : !kv
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

!kv = !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
// expected-error @+1 {{HBM tier 'hbm' leaves no room for one 512 B block after 4096 B of resident weights}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4 KiB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>,
  kvtier.model = #kvtier.model<name = "heavy", resident_weight_bytes = 4096, weight_bytes_per_layer_step = 0>,
  kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "kv" : !kv
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    return
  }
}

// -----

// Same bytes per token, different heads: the runtime's one cache cannot hold both.
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    // expected-note @+1 {{first cache declared here}}
    %a = kvtier.cache "a" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    // expected-error @+1 {{caches run as one runtime cache by the CUDA driver must share one geometry; this cache's kv_heads is 1, 'a' has 2}}
    %b = kvtier.cache "b" : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 16, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.append %a layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %a layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

// Caches of different lengths are sliding-window layer groups and are
// accepted; a different entry size with them is still refused, naming it.
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    // expected-note @+1 {{first cache declared here}}
    %a = kvtier.cache "local" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 16, batch = 1>
    // expected-error @+1 {{caches run as one runtime cache by the CUDA driver must share one geometry; this cache's entry bytes is 64, 'local' has 128; layer groups: 'local' (1 layers, 128 B per token per layer, max_tokens 16, batch 1, block 4), 'global' (1 layers, 64 B per token per layer, max_tokens 64, batch 1, block 4); layer groups planned together may differ only in max_tokens}}
    %b = kvtier.cache "global" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f16, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// -----

// Same entry size and different lengths, but different heads: the runtime's
// layers may differ only in their window.
module attributes {kvtier.plan = #kvtier.plan<policy = "p", status = "optimal", bound = 1.0, schedule = 1.0, gap = 0.0, file = "x.kvsched", migrations = 0>} {
  func.func @decode(%pos: index) {
    // expected-note @+1 {{first cache declared here}}
    %a = kvtier.cache "local" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 16, batch = 1>
    // expected-error @+1 {{caches run as one runtime cache by the CUDA driver must share one geometry; this cache's head_dim is 16, 'local' has 8; layer groups: }}
    %b = kvtier.cache "global" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f16, block = 4, max_tokens = 64, batch = 1>
    return
  }
}
