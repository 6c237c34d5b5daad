// A one-layer module whose whole KV cache fits in HBM: keeping every block
// in HBM (the `static` baseline) is faster than the solver's schedules.
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 1 GB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>,
  kvtier.model = #kvtier.model<name = "fits", resident_weight_bytes = 0, weight_bytes_per_layer_step = 512>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "fits.kv" : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 2, max_tokens = 10, batch = 1>
    kvtier.attention %kv layer 0 at %pos : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 8, element = f32, block = 2, max_tokens = 10, batch = 1>
    return
  }
}
