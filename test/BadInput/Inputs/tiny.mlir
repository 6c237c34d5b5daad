// A small valid module: input for the bad-input tests.
module {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "tiny.kv" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %kv layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.attention %kv layer 1 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}
