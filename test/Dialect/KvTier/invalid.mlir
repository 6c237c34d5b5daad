// RUN: kv-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{tier 'hbm' capacity must be positive, got 0 B}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = 0 GB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{tier 'hbm' capacity must be positive, got -5 GB}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = -5 GB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{tier 'hbm' read bandwidth must be positive, got 0 B/s}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = 1 GB, read = 0 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{tier 'hbm' write bandwidth must be positive, got -1 GB/s}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = 1 GB, read = 4 TB/s, write = -1 GB/s>], links = []>} {}

// -----

// expected-error @+1 {{tier name must not be empty}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{unknown tier kind 'sram'; expected 'hbm' or 'dram'}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"x" sram, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{unknown unit 'GBs'; expected B, KB, MB, GB, TB, KiB, MiB, GiB or TiB followed by /s}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"x" hbm, capacity = 1 GB, read = 4 GBs, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{expected a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"x" hbm, capacity = 1, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{bandwidth must be given per second, e.g. 450 GB/s}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"x" hbm, capacity = 1 GB, read = 4 TB/h, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{quantity is not a whole number of bytes}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"x" hbm, capacity = 1.5 B, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{value out of range for 'capacity'}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"x" hbm, capacity = 1.0e9 TB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{duplicate tier name 'hbm'}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>, #kvtier.tier<"hbm" dram, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{memory system must have exactly one 'hbm' tier, has 2}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"a" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>, #kvtier.tier<"b" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{memory system has no tiers}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [], links = []>} {}

// -----

// expected-error @+1 {{link 'lpddr' -> 'hbm' names unknown tier 'lpddr'}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [#kvtier.link<"lpddr" -> "hbm", 450 GB/s>]>} {}

// -----

// expected-error @+1 {{duplicate link 'd' -> 'h'}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"h" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>, #kvtier.tier<"d" dram, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [#kvtier.link<"d" -> "h", 450 GB/s>, #kvtier.link<"d" -> "h", 400 GB/s>, #kvtier.link<"h" -> "d", 450 GB/s>]>} {}

// -----

// expected-error @+1 {{tier 'd' needs a link 'h' -> 'd'}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"h" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>, #kvtier.tier<"d" dram, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [#kvtier.link<"d" -> "h", 450 GB/s>]>} {}

// -----

// expected-error @+1 {{link from tier 'h' to itself}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"h" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [#kvtier.link<"h" -> "h", 450 GB/s>]>} {}

// -----

// expected-error @+1 {{link 'd' -> 'h' bandwidth must be positive, got 0 B/s}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"h" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [#kvtier.link<"d" -> "h", 0 GB/s>]>} {}

// -----

// expected-error @+1 {{link endpoints must name tiers}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"h" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [#kvtier.link<"" -> "h", 1 GB/s>]>} {}

// -----

func.func @zero_layers() {
  // expected-error @+1 {{cache must have at least one layer, got 0}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 0, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @zero_heads() {
  // expected-error @+1 {{cache must have at least one KV head, got 0}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 0, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @zero_head_dim() {
  // expected-error @+1 {{cache head_dim must be positive, got 0}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 0, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @block_too_large() {
  // expected-error @+1 {{cache block (1024 tokens) is larger than the cache (max_tokens = 512)}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 1024, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @zero_block() {
  // expected-error @+1 {{cache block must hold at least one token, got 0}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 0, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @zero_tokens() {
  // expected-error @+1 {{cache max_tokens must be positive, got 0}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 0, batch = 1>
  return
}

// -----

func.func @zero_batch() {
  // expected-error @+1 {{cache batch must be positive, got 0}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 0>
  return
}

// -----

func.func @bad_element() {
  // expected-error @+1 {{cache element type must be an integer or float type of whole bytes, got 'i1'}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = i1, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @latent_zero() {
  // expected-error @+1 {{latent cache latent size must be positive, got 0}}
  %kv = kvtier.cache "kv" : !kvtier.latent_cache<layers = 2, latent = 0, rope = 64, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @latent_rope() {
  // expected-error @+1 {{latent cache rope size must be non-negative, got -1}}
  %kv = kvtier.cache "kv" : !kvtier.latent_cache<layers = 2, latent = 512, rope = -1, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @empty_name() {
  // expected-error @+1 {{'kvtier.cache' op cache name must not be empty}}
  %kv = kvtier.cache "" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @placement_total() {
  // expected-error @+1 {{'kvtier.cache' op placement total_blocks (10) does not match the cache geometry (64 blocks)}}
  %kv = kvtier.cache "kv" {placement = #kvtier.placement<hbm_blocks = 1, peak_hbm_blocks = 1, total_blocks = 10, promotions = 0, demotions = 0>} : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

// expected-error @+1 {{placement counts must be non-negative}}
func.func @placement_negative() attributes {p = #kvtier.placement<hbm_blocks = -1, peak_hbm_blocks = 1, total_blocks = 10, promotions = 0, demotions = 0>} {
  return
}

// -----

// expected-error @+1 {{placement hbm_blocks (5) exceeds peak_hbm_blocks (4)}}
func.func @placement_peak() attributes {p = #kvtier.placement<hbm_blocks = 5, peak_hbm_blocks = 4, total_blocks = 10, promotions = 0, demotions = 0>} {
  return
}

// -----

// expected-error @+1 {{placement peak_hbm_blocks (11) exceeds total_blocks (10)}}
func.func @placement_total_blocks() attributes {p = #kvtier.placement<hbm_blocks = 5, peak_hbm_blocks = 11, total_blocks = 10, promotions = 0, demotions = 0>} {
  return
}

// -----

// expected-error @+1 {{split hbm fraction must be in [0, 1], got 1.5}}
func.func @split_hbm() attributes {s = #kvtier.split<hbm = 1.5, balanced = 0.9>} {
  return
}

// -----

// expected-error @+1 {{split balanced fraction must be in [0, 1], got -0.1}}
func.func @split_balanced() attributes {s = #kvtier.split<hbm = 0.5, balanced = -0.1>} {
  return
}

// -----

// expected-error @+1 {{plan bound (3 s) exceeds the schedule time (2 s): not a valid lower bound}}
module attributes {kvtier.plan = #kvtier.plan<policy = "x", status = "optimal", bound = 3.0, schedule = 2.0, gap = 0.0, file = "", migrations = 0>} {}

// -----

// expected-error @+2 {{plan status must be 'optimal', 'gap_closed', 'gap_open' or 'time_limit', got 'done'}}
// expected-error @+1 {{failed to parse KvTier_PlanAttr parameter 'status'}}
module attributes {kvtier.plan = #kvtier.plan<policy = "x", status = "done", bound = 1.0, schedule = 2.0, gap = 0.5, file = "", migrations = 0>} {}

// -----

// expected-error @+1 {{plan times must be non-negative}}
module attributes {kvtier.plan = #kvtier.plan<policy = "x", status = "optimal", bound = -1.0, schedule = 2.0, gap = 0.5, file = "", migrations = 0>} {}

// -----

// expected-error @+1 {{plan gap must be in [0, 1], got 2}}
module attributes {kvtier.plan = #kvtier.plan<policy = "x", status = "gap_open", bound = 1.0, schedule = 2.0, gap = 2.0, file = "", migrations = 0>} {}

// -----

// expected-error @+1 {{plan migrations must be non-negative}}
module attributes {kvtier.plan = #kvtier.plan<policy = "x", status = "gap_open", bound = 1.0, schedule = 2.0, gap = 0.5, file = "", migrations = -3>} {}

// -----

func.func @append_layer(%pos: index) {
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.append' op layer 2 is out of range for a cache of 2 layers}}
  kvtier.append %kv layer 2 at %pos : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @attention_layer(%pos: index) {
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.attention' op layer -1 is out of range for a cache of 2 layers}}
  kvtier.attention %kv layer -1 at %pos : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @attention_sparsity(%pos: index) {
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.attention' op sparsity must be in [0, 1), got 1}}
  kvtier.attention %kv layer 0 at %pos {sparsity = 1.0 : f64} : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @attention_query_only(%pos: index, %q: tensor<8x128xbf16>) {
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.attention' op query and result must be given together}}
  kvtier.attention %kv layer 0 at %pos query %q : tensor<8x128xbf16> : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @attention_result_type(%pos: index, %q: tensor<8x128xbf16>) {
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.attention' op result type 'tensor<8x128xf32>' must equal the query type 'tensor<8x128xbf16>'}}
  %o = kvtier.attention %kv layer 0 at %pos query %q : tensor<8x128xbf16> : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1> -> tensor<8x128xf32>
  return
}

// -----

func.func @attention_head_dim(%pos: index, %q: tensor<8x64xbf16>) {
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.attention' op query inner dimension 64 does not match the cache head_dim 128}}
  %o = kvtier.attention %kv layer 0 at %pos query %q : tensor<8x64xbf16> : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1> -> tensor<8x64xbf16>
  return
}

// -----

func.func @migrate_same(%i: index) {
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.migrate' op migration from tier 'hbm' to itself}}
  %h = kvtier.migrate %kv layer 0 blocks [%i, %i] from "hbm" to "hbm" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"h" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>, #kvtier.tier<"d" dram, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [#kvtier.link<"d" -> "h", 450 GB/s>, #kvtier.link<"h" -> "d", 450 GB/s>]>} {
  func.func @migrate_unknown(%i: index) {
    %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    // expected-error @+1 {{'kvtier.migrate' op unknown tier 'lpddr' (not in the enclosing kvtier.memory_system)}}
    %h = kvtier.migrate %kv layer 0 blocks [%i, %i] from "lpddr" to "h" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    return
  }
}

// -----

module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"h" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>, #kvtier.tier<"d" dram, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>, #kvtier.tier<"e" dram, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [#kvtier.link<"d" -> "h", 450 GB/s>, #kvtier.link<"h" -> "d", 450 GB/s>, #kvtier.link<"e" -> "h", 450 GB/s>, #kvtier.link<"h" -> "e", 450 GB/s>]>} {
  func.func @migrate_nolink(%i: index) {
    %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    // expected-error @+1 {{'kvtier.migrate' op no link from tier 'd' to tier 'e'}}
    %h = kvtier.migrate %kv layer 0 blocks [%i, %i] from "d" to "e" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
    return
  }
}

// -----

func.func @migrate_count() {
  %c0 = arith.constant 0 : index
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.migrate' op block count must be positive, got 0}}
  %h = kvtier.migrate %kv layer 0 blocks [%c0, %c0] from "d" to "h" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @migrate_first() {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.migrate' op first block 32 is out of range [0, 32)}}
  %h = kvtier.migrate %kv layer 0 blocks [%c32, %c1] from "d" to "h" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @migrate_range() {
  %c30 = arith.constant 30 : index
  %c4 = arith.constant 4 : index
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.migrate' op block range [30, 34) exceeds the cache's 32 blocks per layer}}
  %h = kvtier.migrate %kv layer 0 blocks [%c30, %c4] from "d" to "h" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @migrate_layer(%i: index) {
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  // expected-error @+1 {{'kvtier.migrate' op layer 5 is out of range for a cache of 2 layers}}
  %h = kvtier.migrate %kv layer 5 blocks [%i, %i] from "d" to "h" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

// expected-error @+1 {{model resident_weight_bytes must be non-negative, got -1}}
module attributes {kvtier.model = #kvtier.model<name = "m", resident_weight_bytes = -1, weight_bytes_per_layer_step = 0>} {}

// -----

// expected-error @+1 {{model weight_bytes_per_layer_step must be non-negative, got -2}}
module attributes {kvtier.model = #kvtier.model<name = "m", resident_weight_bytes = 1, weight_bytes_per_layer_step = -2>} {}

// -----

// expected-error @+1 {{expected a tier attribute, got #kvtier.link<"d" -> "h", 1 GB/s>}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.link<"d" -> "h", 1 GB/s>], links = []>} {}

// -----

// expected-error @+1 {{expected a link attribute, got 5 : i64}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"h" hbm, capacity = 1 GB, read = 4 TB/s, write = 4 TB/s>], links = [5]>} {}

// -----

// A window must drop tokens: one that covers the whole cache is refused.
func.func @window_not_below_max_tokens() {
  // expected-error @+1 {{'kvtier.cache' op window (64 tokens) must be below max_tokens (64): a window that covers every token is global attention; drop the attribute}}
  %a = kvtier.cache "m.swa64" {window = 64 : i64} : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
  return
}

// -----

func.func @window_not_positive() {
  // expected-error @+1 {{'kvtier.cache' op attribute 'window' failed to satisfy constraint}}
  %a = kvtier.cache "m.swa0" {window = 0 : i64} : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
  return
}
