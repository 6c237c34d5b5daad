// A planned tiny two-tier system: 8 HBM blocks of 512 B for 64 blocks of
// cache (2 layers x 2 sequences x 16 blocks of 4 tokens), so the schedule
// must migrate blocks. The schedule side file is "tiny.kvsched" (relative to
// the working directory), written by write-schedule.cpp.
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4 KiB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>,
  kvtier.model = #kvtier.model<name = "tiny", resident_weight_bytes = 0, weight_bytes_per_layer_step = 4096>,
  kvtier.plan = #kvtier.plan<policy = "sliding-window", status = "gap_open", bound = 1.0e-6, schedule = 2.0e-6, gap = 0.5, file = "tiny.kvsched", migrations = 112>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "tiny.kv" : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
    kvtier.append %kv layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
    kvtier.attention %kv layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
    kvtier.append %kv layer 1 at %pos : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
    kvtier.attention %kv layer 1 at %pos : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
    return
  }
}
