// RUN: kv-opt %s -split-input-file -verify-diagnostics
// Type and attribute parameters above what the planner and the runtime hold
// (32-bit counts) are errors naming the parameter and the value, never
// truncated: 4294967297 heads is not planned as 1 head.

func.func @kv_heads_above_32_bits() {
  // expected-error @+1 {{cache parameter 'kv_heads' = 4294967297 is above the supported limit of 65536}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 4294967297, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @layers_above_32_bits() {
  // expected-error @+1 {{cache parameter 'layers' = 4294967298 is above the supported limit of 65536}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 4294967298, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @max_tokens_2_pow_62() {
  // expected-error @+1 {{cache parameter 'max_tokens' = 4611686018427387904 is above the supported limit of 2147483647}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 4611686018427387904, batch = 1>
  return
}

// -----

func.func @batch_above_limit() {
  // expected-error @+1 {{cache parameter 'batch' = 4294967296 is above the supported limit of 65536}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 512, batch = 4294967296>
  return
}

// -----

func.func @head_dim_above_limit() {
  // expected-error @+1 {{cache parameter 'head_dim' = 1048576 is above the supported limit of 65536}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 2, kv_heads = 8, head_dim = 1048576, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @latent_above_limit() {
  // expected-error @+1 {{cache parameter 'latent' = 4294967808 is above the supported limit of 1048576}}
  %kv = kvtier.cache "kv" : !kvtier.latent_cache<layers = 2, latent = 4294967808, rope = 64, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @rope_above_limit() {
  // expected-error @+1 {{cache parameter 'rope' = 2097152 is above the supported limit of 1048576}}
  %kv = kvtier.cache "kv" : !kvtier.latent_cache<layers = 2, latent = 512, rope = 2097152, element = bf16, block = 16, max_tokens = 512, batch = 1>
  return
}

// -----

func.func @cache_bytes_above_int64() {
  // expected-error @+1 {{does not fit a 64-bit byte count}}
  %kv = kvtier.cache "kv" : !kvtier.cache<layers = 65536, kv_heads = 65536, head_dim = 65536, element = f32, block = 16, max_tokens = 2147483647, batch = 65536>
  return
}

// -----

// "1e30 GB" is a number out of range, not an unknown unit "e30".
// expected-error @+1 {{value out of range for 'capacity': 1e+39 B (at most 9e18)}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = 1e30 GB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{value out of range for 'read': 1e+24 B/s (at most 9e18)}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = 80 GB, read = 1e12 TB/s, write = 4 TB/s>], links = []>} {}

// -----

// expected-error @+1 {{value out of range for 'bandwidth': 1e+21 B/s (at most 9e18)}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [], links = [#kvtier.link<"a" -> "b", 1e12 GB/s>]>} {}

// -----

// A whole exponent is still read strictly: 2e3 GB is 2 TB.
// expected-error @+1 {{tier 'hbm' capacity must be positive, got -2 TB}}
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = -2e3 GB, read = 4 TB/s, write = 4 TB/s>], links = []>} {}
