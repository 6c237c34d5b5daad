// Two GQA decode-attention layers in linalg on tensors (4 query heads, 2
// KV heads), the shape of a torch-mlir export of a GQA decoder: per layer
// the new token's K/V are written into the [batch, kv_heads, max_tokens,
// head_dim] cache at %pos, the cache's first %pos + 1 tokens are read and
// broadcast over the group of 2 (repeat_kv: linalg.broadcast in layer 0,
// tensor.expand_shape + a broadcasting copy generic in layer 1), collapsed
// to [kv_heads * 2, tokens, head_dim]; scores by linalg.batch_matmul with
// K transposed by its indexing map, scaled, a max/exp/sum/div softmax, then
// linalg.batch_matmul with V. %mask is unused (the driver is shared with
// tosa-gqa-decode.mlir). Returns both outputs and the updated caches.
#mq = affine_map<(n, i, t, d) -> (n, i, d)>
#mk = affine_map<(n, i, t, d) -> (n, t, d)>
#ms = affine_map<(n, i, t, d) -> (n, i, t)>
#id3 = affine_map<(n, i, t) -> (n, i, t)>
#red3 = affine_map<(n, i, t) -> (n, i)>
#map5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#bc5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
module {
  func.func @decode(%q0: tensor<1x4x1x8xf32>, %k0: tensor<1x2x1x8xf32>, %v0: tensor<1x2x1x8xf32>, %q1: tensor<1x4x1x8xf32>, %k1: tensor<1x2x1x8xf32>, %v1: tensor<1x2x1x8xf32>,
                    %kc0: tensor<1x2x32x8xf32>, %vc0: tensor<1x2x32x8xf32>, %kc1: tensor<1x2x32x8xf32>, %vc1: tensor<1x2x32x8xf32>, %pos: index, %mask: tensor<1x1x1x32xf32>)
      -> (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) {
    %c1 = arith.constant 1 : index
    %zero = arith.constant 0.0 : f32
    %scale = arith.constant 0.35355339059327373 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %re = tensor.empty() : tensor<4x1xf32>
    %n = arith.addi %pos, %c1 : index

    %kc2_0 = tensor.insert_slice %k0 into %kc0[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %vc2_0 = tensor.insert_slice %v0 into %vc0[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %ks_0 = tensor.extract_slice %kc2_0[0, 0, 0, 0] [1, 2, %n, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<1x2x?x8xf32>
    %vs_0 = tensor.extract_slice %vc2_0[0, 0, 0, 0] [1, 2, %n, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<1x2x?x8xf32>
    %eb_0 = tensor.empty(%n) : tensor<1x2x2x?x8xf32>
    %kb_0 = linalg.broadcast ins(%ks_0 : tensor<1x2x?x8xf32>) outs(%eb_0 : tensor<1x2x2x?x8xf32>) dimensions = [2]
    %vb_0 = linalg.broadcast ins(%vs_0 : tensor<1x2x?x8xf32>) outs(%eb_0 : tensor<1x2x2x?x8xf32>) dimensions = [2]
    %k_0 = tensor.collapse_shape %kb_0 [[0, 1, 2], [3], [4]] : tensor<1x2x2x?x8xf32> into tensor<4x?x8xf32>
    %v_0 = tensor.collapse_shape %vb_0 [[0, 1, 2], [3], [4]] : tensor<1x2x2x?x8xf32> into tensor<4x?x8xf32>
    %q3_0 = tensor.collapse_shape %q0 [[0, 1], [2], [3]] : tensor<1x4x1x8xf32> into tensor<4x1x8xf32>
    %es_0 = tensor.empty(%n) : tensor<4x1x?xf32>
    %zs_0 = linalg.fill ins(%zero : f32) outs(%es_0 : tensor<4x1x?xf32>) -> tensor<4x1x?xf32>
    %s_0 = linalg.batch_matmul indexing_maps = [#mq, #mk, #ms] ins(%q3_0, %k_0 : tensor<4x1x8xf32>, tensor<4x?x8xf32>) outs(%zs_0 : tensor<4x1x?xf32>) -> tensor<4x1x?xf32>
    %sc_0 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s_0 : tensor<4x1x?xf32>) outs(%es_0 : tensor<4x1x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.mulf %a, %scale : f32
      linalg.yield %r : f32
    } -> tensor<4x1x?xf32>
    %mi_0 = linalg.fill ins(%ninf : f32) outs(%re : tensor<4x1xf32>) -> tensor<4x1xf32>
    %mx_0 = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%sc_0 : tensor<4x1x?xf32>) outs(%mi_0 : tensor<4x1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.maximumf %a, %acc : f32
      linalg.yield %r : f32
    } -> tensor<4x1xf32>
    %df_0 = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sc_0, %mx_0 : tensor<4x1x?xf32>, tensor<4x1xf32>) outs(%es_0 : tensor<4x1x?xf32>) {
    ^bb0(%a: f32, %m: f32, %o: f32):
      %r = arith.subf %a, %m : f32
      linalg.yield %r : f32
    } -> tensor<4x1x?xf32>
    %ex_0 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%df_0 : tensor<4x1x?xf32>) outs(%es_0 : tensor<4x1x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = math.exp %a : f32
      linalg.yield %r : f32
    } -> tensor<4x1x?xf32>
    %zr_0 = linalg.fill ins(%zero : f32) outs(%re : tensor<4x1xf32>) -> tensor<4x1xf32>
    %sm_0 = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex_0 : tensor<4x1x?xf32>) outs(%zr_0 : tensor<4x1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.addf %a, %acc : f32
      linalg.yield %r : f32
    } -> tensor<4x1xf32>
    %p_0 = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex_0, %sm_0 : tensor<4x1x?xf32>, tensor<4x1xf32>) outs(%es_0 : tensor<4x1x?xf32>) {
    ^bb0(%a: f32, %s: f32, %o: f32):
      %r = arith.divf %a, %s : f32
      linalg.yield %r : f32
    } -> tensor<4x1x?xf32>
    %eo_0 = tensor.empty() : tensor<4x1x8xf32>
    %zo_0 = linalg.fill ins(%zero : f32) outs(%eo_0 : tensor<4x1x8xf32>) -> tensor<4x1x8xf32>
    %o3_0 = linalg.batch_matmul ins(%p_0, %v_0 : tensor<4x1x?xf32>, tensor<4x?x8xf32>) outs(%zo_0 : tensor<4x1x8xf32>) -> tensor<4x1x8xf32>
    %o_0 = tensor.expand_shape %o3_0 [[0, 1], [2], [3]] output_shape [1, 4, 1, 8] : tensor<4x1x8xf32> into tensor<1x4x1x8xf32>

    %kc2_1 = tensor.insert_slice %k1 into %kc1[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %vc2_1 = tensor.insert_slice %v1 into %vc1[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %ks_1 = tensor.extract_slice %kc2_1[0, 0, 0, 0] [1, 2, %n, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<1x2x?x8xf32>
    %vs_1 = tensor.extract_slice %vc2_1[0, 0, 0, 0] [1, 2, %n, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<1x2x?x8xf32>
    %eb_1 = tensor.empty(%n) : tensor<1x2x2x?x8xf32>
    %k5_1 = tensor.expand_shape %ks_1 [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, %n, 8] : tensor<1x2x?x8xf32> into tensor<1x2x1x?x8xf32>
    %v5_1 = tensor.expand_shape %vs_1 [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, %n, 8] : tensor<1x2x?x8xf32> into tensor<1x2x1x?x8xf32>
    %kb_1 = linalg.generic {indexing_maps = [#bc5, #map5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%k5_1 : tensor<1x2x1x?x8xf32>) outs(%eb_1 : tensor<1x2x2x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x2x?x8xf32>
    %vb_1 = linalg.generic {indexing_maps = [#bc5, #map5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%v5_1 : tensor<1x2x1x?x8xf32>) outs(%eb_1 : tensor<1x2x2x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x2x?x8xf32>
    %k_1 = tensor.collapse_shape %kb_1 [[0, 1, 2], [3], [4]] : tensor<1x2x2x?x8xf32> into tensor<4x?x8xf32>
    %v_1 = tensor.collapse_shape %vb_1 [[0, 1, 2], [3], [4]] : tensor<1x2x2x?x8xf32> into tensor<4x?x8xf32>
    %q3_1 = tensor.collapse_shape %q1 [[0, 1], [2], [3]] : tensor<1x4x1x8xf32> into tensor<4x1x8xf32>
    %es_1 = tensor.empty(%n) : tensor<4x1x?xf32>
    %zs_1 = linalg.fill ins(%zero : f32) outs(%es_1 : tensor<4x1x?xf32>) -> tensor<4x1x?xf32>
    %s_1 = linalg.batch_matmul indexing_maps = [#mq, #mk, #ms] ins(%q3_1, %k_1 : tensor<4x1x8xf32>, tensor<4x?x8xf32>) outs(%zs_1 : tensor<4x1x?xf32>) -> tensor<4x1x?xf32>
    %sc_1 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s_1 : tensor<4x1x?xf32>) outs(%es_1 : tensor<4x1x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.mulf %a, %scale : f32
      linalg.yield %r : f32
    } -> tensor<4x1x?xf32>
    %mi_1 = linalg.fill ins(%ninf : f32) outs(%re : tensor<4x1xf32>) -> tensor<4x1xf32>
    %mx_1 = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%sc_1 : tensor<4x1x?xf32>) outs(%mi_1 : tensor<4x1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.maximumf %a, %acc : f32
      linalg.yield %r : f32
    } -> tensor<4x1xf32>
    %df_1 = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sc_1, %mx_1 : tensor<4x1x?xf32>, tensor<4x1xf32>) outs(%es_1 : tensor<4x1x?xf32>) {
    ^bb0(%a: f32, %m: f32, %o: f32):
      %r = arith.subf %a, %m : f32
      linalg.yield %r : f32
    } -> tensor<4x1x?xf32>
    %ex_1 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%df_1 : tensor<4x1x?xf32>) outs(%es_1 : tensor<4x1x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = math.exp %a : f32
      linalg.yield %r : f32
    } -> tensor<4x1x?xf32>
    %zr_1 = linalg.fill ins(%zero : f32) outs(%re : tensor<4x1xf32>) -> tensor<4x1xf32>
    %sm_1 = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex_1 : tensor<4x1x?xf32>) outs(%zr_1 : tensor<4x1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.addf %a, %acc : f32
      linalg.yield %r : f32
    } -> tensor<4x1xf32>
    %p_1 = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex_1, %sm_1 : tensor<4x1x?xf32>, tensor<4x1xf32>) outs(%es_1 : tensor<4x1x?xf32>) {
    ^bb0(%a: f32, %s: f32, %o: f32):
      %r = arith.divf %a, %s : f32
      linalg.yield %r : f32
    } -> tensor<4x1x?xf32>
    %eo_1 = tensor.empty() : tensor<4x1x8xf32>
    %zo_1 = linalg.fill ins(%zero : f32) outs(%eo_1 : tensor<4x1x8xf32>) -> tensor<4x1x8xf32>
    %o3_1 = linalg.batch_matmul ins(%p_1, %v_1 : tensor<4x1x?xf32>, tensor<4x?x8xf32>) outs(%zo_1 : tensor<4x1x8xf32>) -> tensor<4x1x8xf32>
    %o_1 = tensor.expand_shape %o3_1 [[0, 1], [2], [3]] output_shape [1, 4, 1, 8] : tensor<4x1x8xf32> into tensor<1x4x1x8xf32>
    return %o_0, %o_1, %kc2_0, %vc2_0, %kc2_1, %vc2_1 : tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>
  }
}
