// Llama-3.1-8B-shaped decode step (32 layers, 8 KV / 32 query heads,
// head_dim 128, bf16, 16-token blocks) over an 8K-token cache of 1 GiB, with
// 512 MiB of HBM for KV: a sliding-window schedule keeps half in HBM. Used
// by drivers.sh on a GPU.
!kv = !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 8192, batch = 1>
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 512 MiB, read = 3.35 TB/s, write = 3.35 TB/s>,
    #kvtier.tier<"host" dram, capacity = 512 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"host" -> "hbm", 64 GB/s>, #kvtier.link<"hbm" -> "host", 64 GB/s>]>,
  kvtier.plan = #kvtier.plan<policy = "sliding-window", status = "gap_open", bound = 0.0, schedule = 0.0, gap = 1.0, file = "llama8b.kvsched", migrations = 4096>} {
  func.func @decode(%pos: index, %q: tensor<32x128xbf16>) {
    %kv = kvtier.cache "llama8b.kv" : !kv
    kvtier.append %kv layer 0 at %pos : !kv
    %o0 = kvtier.attention %kv layer 0 at %pos query %q : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 1 at %pos : !kv
    %o1 = kvtier.attention %kv layer 1 at %pos query %o0 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 2 at %pos : !kv
    %o2 = kvtier.attention %kv layer 2 at %pos query %o1 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 3 at %pos : !kv
    %o3 = kvtier.attention %kv layer 3 at %pos query %o2 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 4 at %pos : !kv
    %o4 = kvtier.attention %kv layer 4 at %pos query %o3 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 5 at %pos : !kv
    %o5 = kvtier.attention %kv layer 5 at %pos query %o4 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 6 at %pos : !kv
    %o6 = kvtier.attention %kv layer 6 at %pos query %o5 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 7 at %pos : !kv
    %o7 = kvtier.attention %kv layer 7 at %pos query %o6 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 8 at %pos : !kv
    %o8 = kvtier.attention %kv layer 8 at %pos query %o7 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 9 at %pos : !kv
    %o9 = kvtier.attention %kv layer 9 at %pos query %o8 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 10 at %pos : !kv
    %o10 = kvtier.attention %kv layer 10 at %pos query %o9 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 11 at %pos : !kv
    %o11 = kvtier.attention %kv layer 11 at %pos query %o10 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 12 at %pos : !kv
    %o12 = kvtier.attention %kv layer 12 at %pos query %o11 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 13 at %pos : !kv
    %o13 = kvtier.attention %kv layer 13 at %pos query %o12 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 14 at %pos : !kv
    %o14 = kvtier.attention %kv layer 14 at %pos query %o13 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 15 at %pos : !kv
    %o15 = kvtier.attention %kv layer 15 at %pos query %o14 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 16 at %pos : !kv
    %o16 = kvtier.attention %kv layer 16 at %pos query %o15 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 17 at %pos : !kv
    %o17 = kvtier.attention %kv layer 17 at %pos query %o16 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 18 at %pos : !kv
    %o18 = kvtier.attention %kv layer 18 at %pos query %o17 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 19 at %pos : !kv
    %o19 = kvtier.attention %kv layer 19 at %pos query %o18 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 20 at %pos : !kv
    %o20 = kvtier.attention %kv layer 20 at %pos query %o19 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 21 at %pos : !kv
    %o21 = kvtier.attention %kv layer 21 at %pos query %o20 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 22 at %pos : !kv
    %o22 = kvtier.attention %kv layer 22 at %pos query %o21 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 23 at %pos : !kv
    %o23 = kvtier.attention %kv layer 23 at %pos query %o22 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 24 at %pos : !kv
    %o24 = kvtier.attention %kv layer 24 at %pos query %o23 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 25 at %pos : !kv
    %o25 = kvtier.attention %kv layer 25 at %pos query %o24 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 26 at %pos : !kv
    %o26 = kvtier.attention %kv layer 26 at %pos query %o25 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 27 at %pos : !kv
    %o27 = kvtier.attention %kv layer 27 at %pos query %o26 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 28 at %pos : !kv
    %o28 = kvtier.attention %kv layer 28 at %pos query %o27 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 29 at %pos : !kv
    %o29 = kvtier.attention %kv layer 29 at %pos query %o28 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 30 at %pos : !kv
    %o30 = kvtier.attention %kv layer 30 at %pos query %o29 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    kvtier.append %kv layer 31 at %pos : !kv
    %o31 = kvtier.attention %kv layer 31 at %pos query %o30 : tensor<32x128xbf16> : !kv -> tensor<32x128xbf16>
    return
  }
}
