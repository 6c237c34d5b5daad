// Two decode-attention layers in linalg on tensors, the form a torch-mlir
// export of a HF-style decoder takes: per layer the new token's K/V are
// written into the [batch, kv_heads, max_tokens, head_dim] cache at %pos
// (tensor.insert_slice), attention reads the cache's first %pos + 1 tokens
// (tensor.extract_slice), scores = q.k * 1/sqrt(head_dim), a max-subtracted
// exp/sum/div softmax, then p.v. Returns both outputs and the updated caches.
#q = affine_map<(b, h, i, t, d) -> (b, h, i, d)>
#k = affine_map<(b, h, i, t, d) -> (b, h, t, d)>
#s = affine_map<(b, h, i, t, d) -> (b, h, i, t)>
#p = affine_map<(b, h, i, d, t) -> (b, h, i, t)>
#v = affine_map<(b, h, i, d, t) -> (b, h, t, d)>
#o = affine_map<(b, h, i, d, t) -> (b, h, i, d)>
#id = affine_map<(b, h, i, t) -> (b, h, i, t)>
#red = affine_map<(b, h, i, t) -> (b, h, i)>
module {
  func.func @decode(%q0: tensor<1x2x1x8xf32>, %k0: tensor<1x2x1x8xf32>, %v0: tensor<1x2x1x8xf32>, %q1: tensor<1x2x1x8xf32>, %k1: tensor<1x2x1x8xf32>, %v1: tensor<1x2x1x8xf32>,
                    %kc0: tensor<1x2x32x8xf32>, %vc0: tensor<1x2x32x8xf32>, %kc1: tensor<1x2x32x8xf32>, %vc1: tensor<1x2x32x8xf32>, %pos: index)
      -> (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) {
    %c1 = arith.constant 1 : index
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %scale = arith.constant 0.35355339059327373 : f32
    %n = arith.addi %pos, %c1 : index
    %re = tensor.empty() : tensor<1x2x1xf32>
    %oe = tensor.empty() : tensor<1x2x1x8xf32>

    %kc2_0 = tensor.insert_slice %k0 into %kc0[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %vc2_0 = tensor.insert_slice %v0 into %vc0[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %ks0 = tensor.extract_slice %kc2_0[0, 0, 0, 0] [1, 2, %n, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<1x2x?x8xf32>
    %vs0 = tensor.extract_slice %vc2_0[0, 0, 0, 0] [1, 2, %n, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<1x2x?x8xf32>
    %se0 = tensor.empty(%n) : tensor<1x2x1x?xf32>
    %sz0 = linalg.fill ins(%zero : f32) outs(%se0 : tensor<1x2x1x?xf32>) -> tensor<1x2x1x?xf32>
    %s0 = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
        ins(%q0, %ks0 : tensor<1x2x1x8xf32>, tensor<1x2x?x8xf32>) outs(%sz0 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %acc, %m : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %sc0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%s0 : tensor<1x2x1x?xf32>) outs(%se0 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.mulf %a, %scale : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %mi0 = linalg.fill ins(%ninf : f32) outs(%re : tensor<1x2x1xf32>) -> tensor<1x2x1xf32>
    %mx0 = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%sc0 : tensor<1x2x1x?xf32>) outs(%mi0 : tensor<1x2x1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.maximumf %a, %acc : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1xf32>
    %df0 = linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%sc0, %mx0 : tensor<1x2x1x?xf32>, tensor<1x2x1xf32>) outs(%se0 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %m: f32, %o: f32):
      %r = arith.subf %a, %m : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %ex0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%df0 : tensor<1x2x1x?xf32>) outs(%se0 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = math.exp %a : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %zs0 = linalg.fill ins(%zero : f32) outs(%re : tensor<1x2x1xf32>) -> tensor<1x2x1xf32>
    %sm0 = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%ex0 : tensor<1x2x1x?xf32>) outs(%zs0 : tensor<1x2x1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.addf %a, %acc : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1xf32>
    %p0 = linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%ex0, %sm0 : tensor<1x2x1x?xf32>, tensor<1x2x1xf32>) outs(%se0 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %s: f32, %o: f32):
      %r = arith.divf %a, %s : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %oz0 = linalg.fill ins(%zero : f32) outs(%oe : tensor<1x2x1x8xf32>) -> tensor<1x2x1x8xf32>
    %o0 = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
        ins(%p0, %vs0 : tensor<1x2x1x?xf32>, tensor<1x2x?x8xf32>) outs(%oz0 : tensor<1x2x1x8xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %acc, %m : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x8xf32>

    %kc2_1 = tensor.insert_slice %k1 into %kc1[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %vc2_1 = tensor.insert_slice %v1 into %vc1[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %ks1 = tensor.extract_slice %kc2_1[0, 0, 0, 0] [1, 2, %n, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<1x2x?x8xf32>
    %vs1 = tensor.extract_slice %vc2_1[0, 0, 0, 0] [1, 2, %n, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<1x2x?x8xf32>
    %se1 = tensor.empty(%n) : tensor<1x2x1x?xf32>
    %sz1 = linalg.fill ins(%zero : f32) outs(%se1 : tensor<1x2x1x?xf32>) -> tensor<1x2x1x?xf32>
    %s1 = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
        ins(%q1, %ks1 : tensor<1x2x1x8xf32>, tensor<1x2x?x8xf32>) outs(%sz1 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %acc, %m : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %sc1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%s1 : tensor<1x2x1x?xf32>) outs(%se1 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.mulf %a, %scale : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %mi1 = linalg.fill ins(%ninf : f32) outs(%re : tensor<1x2x1xf32>) -> tensor<1x2x1xf32>
    %mx1 = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%sc1 : tensor<1x2x1x?xf32>) outs(%mi1 : tensor<1x2x1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.maximumf %a, %acc : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1xf32>
    %df1 = linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%sc1, %mx1 : tensor<1x2x1x?xf32>, tensor<1x2x1xf32>) outs(%se1 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %m: f32, %o: f32):
      %r = arith.subf %a, %m : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %ex1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%df1 : tensor<1x2x1x?xf32>) outs(%se1 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = math.exp %a : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %zs1 = linalg.fill ins(%zero : f32) outs(%re : tensor<1x2x1xf32>) -> tensor<1x2x1xf32>
    %sm1 = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%ex1 : tensor<1x2x1x?xf32>) outs(%zs1 : tensor<1x2x1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.addf %a, %acc : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1xf32>
    %p1 = linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%ex1, %sm1 : tensor<1x2x1x?xf32>, tensor<1x2x1xf32>) outs(%se1 : tensor<1x2x1x?xf32>) {
    ^bb0(%a: f32, %s: f32, %o: f32):
      %r = arith.divf %a, %s : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x?xf32>
    %oz1 = linalg.fill ins(%zero : f32) outs(%oe : tensor<1x2x1x8xf32>) -> tensor<1x2x1x8xf32>
    %o1 = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
        ins(%p1, %vs1 : tensor<1x2x1x?xf32>, tensor<1x2x?x8xf32>) outs(%oz1 : tensor<1x2x1x8xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %acc, %m : f32
      linalg.yield %r : f32
    } -> tensor<1x2x1x8xf32>

    return %o0, %o1, %kc2_0, %vc2_0, %kc2_1, %vc2_1 : tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>
  }
}
