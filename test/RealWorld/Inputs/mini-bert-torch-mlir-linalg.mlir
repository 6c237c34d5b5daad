// A small 2-layer BERT encoder in the form torch-mlir exports to
// linalg-on-tensors (written for kv-opt's tests after
// ../shared/data/mlir/bert-torch-mlir-linalg.mlir): 12 tokens, 2 heads
// of 8, f32. Each layer: batch_matmul projections, heads split with
// expand_shape + a transpose generic + collapse_shape, K^T by a transpose
// generic, scores scaled and masked in one generic, a generic max / sub /
// exp / sum / div softmax, *V, heads merged, the output projection. The two
// attentions share one geometry: the raise pass groups them as the 2
// layers of one cache.
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#heads = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
#tr = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
#row = affine_map<(d0, d1, d2) -> (d0, d1)>
#mask = affine_map<(d0, d1, d2) -> (0, d2)>
module attributes {torch.debug_module_name = "BertEncoder"} {
  func.func @forward(%x: tensor<1x12x16xf32>, %mask: tensor<1x12xf32>,
                     %wq0: tensor<1x16x16xf32>, %wk0: tensor<1x16x16xf32>, %wv0: tensor<1x16x16xf32>, %wo0: tensor<1x16x16xf32>, %wq1: tensor<1x16x16xf32>, %wk1: tensor<1x16x16xf32>, %wv1: tensor<1x16x16xf32>, %wo1: tensor<1x16x16xf32>) -> tensor<1x12x16xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant -3.40282347E+38 : f32
    %scale = arith.constant 0.353553385 : f32
    %e1 = tensor.empty() : tensor<1x12x16xf32>
    %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    %eh = tensor.empty() : tensor<1x2x12x8xf32>
    %eth = tensor.empty() : tensor<1x12x2x8xf32>
    %ekt = tensor.empty() : tensor<2x8x12xf32>
    %es = tensor.empty() : tensor<2x12x12xf32>
    %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x12x12xf32>) -> tensor<2x12x12xf32>
    %er = tensor.empty() : tensor<2x12xf32>
    %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x12xf32>) -> tensor<2x12xf32>
    %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<2x12xf32>) -> tensor<2x12xf32>
    %eo = tensor.empty() : tensor<2x12x8xf32>
    %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x12x8xf32>) -> tensor<2x12x8xf32>
    // Layer 0: Q/K/V projections, heads, scaled and masked scores,
    // generic softmax, *V, heads merged, output projection.
    %q0 = linalg.batch_matmul ins(%x, %wq0 : tensor<1x12x16xf32>, tensor<1x16x16xf32>) outs(%z1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    %k0 = linalg.batch_matmul ins(%x, %wk0 : tensor<1x12x16xf32>, tensor<1x16x16xf32>) outs(%z1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    %v0 = linalg.batch_matmul ins(%x, %wv0 : tensor<1x12x16xf32>, tensor<1x16x16xf32>) outs(%z1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    %q0e = tensor.expand_shape %q0 [[0], [1], [2, 3]] output_shape [1, 12, 2, 8] : tensor<1x12x16xf32> into tensor<1x12x2x8xf32>
    %q0h = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q0e : tensor<1x12x2x8xf32>) outs(%eh : tensor<1x2x12x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x12x8xf32>
    %q03 = tensor.collapse_shape %q0h [[0, 1], [2], [3]] : tensor<1x2x12x8xf32> into tensor<2x12x8xf32>
    %k0e = tensor.expand_shape %k0 [[0], [1], [2, 3]] output_shape [1, 12, 2, 8] : tensor<1x12x16xf32> into tensor<1x12x2x8xf32>
    %k0h = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k0e : tensor<1x12x2x8xf32>) outs(%eh : tensor<1x2x12x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x12x8xf32>
    %k03 = tensor.collapse_shape %k0h [[0, 1], [2], [3]] : tensor<1x2x12x8xf32> into tensor<2x12x8xf32>
    %v0e = tensor.expand_shape %v0 [[0], [1], [2, 3]] output_shape [1, 12, 2, 8] : tensor<1x12x16xf32> into tensor<1x12x2x8xf32>
    %v0h = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v0e : tensor<1x12x2x8xf32>) outs(%eh : tensor<1x2x12x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x12x8xf32>
    %v03 = tensor.collapse_shape %v0h [[0, 1], [2], [3]] : tensor<1x2x12x8xf32> into tensor<2x12x8xf32>
    %kt0 = linalg.generic {indexing_maps = [#id3, #tr], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k03 : tensor<2x12x8xf32>) outs(%ekt : tensor<2x8x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<2x8x12xf32>
    %s0 = linalg.batch_matmul ins(%q03, %kt0 : tensor<2x12x8xf32>, tensor<2x8x12xf32>) outs(%zs : tensor<2x12x12xf32>) -> tensor<2x12x12xf32>
    %ss0 = linalg.generic {indexing_maps = [#id3, #mask, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s0, %mask : tensor<2x12x12xf32>, tensor<1x12xf32>) outs(%es : tensor<2x12x12xf32>) {
    ^bb0(%in: f32, %mk: f32, %out: f32):
      %0 = arith.mulf %in, %scale : f32
      %1 = arith.addf %0, %mk : f32
      linalg.yield %1 : f32
    } -> tensor<2x12x12xf32>
    %m0 = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ss0 : tensor<2x12x12xf32>) outs(%mi : tensor<2x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.maximumf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<2x12xf32>
    %d0 = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ss0, %m0 : tensor<2x12x12xf32>, tensor<2x12xf32>) outs(%es : tensor<2x12x12xf32>) {
    ^bb0(%in: f32, %mx: f32, %out: f32):
      %0 = arith.subf %in, %mx : f32
      linalg.yield %0 : f32
    } -> tensor<2x12x12xf32>
    %ex0 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%d0 : tensor<2x12x12xf32>) outs(%es : tensor<2x12x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.exp %in : f32
      linalg.yield %0 : f32
    } -> tensor<2x12x12xf32>
    %sum0 = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex0 : tensor<2x12x12xf32>) outs(%zr : tensor<2x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<2x12xf32>
    %p0 = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex0, %sum0 : tensor<2x12x12xf32>, tensor<2x12xf32>) outs(%es : tensor<2x12x12xf32>) {
    ^bb0(%in: f32, %dn: f32, %out: f32):
      %0 = arith.divf %in, %dn : f32
      linalg.yield %0 : f32
    } -> tensor<2x12x12xf32>
    %o0 = linalg.batch_matmul ins(%p0, %v03 : tensor<2x12x12xf32>, tensor<2x12x8xf32>) outs(%zo : tensor<2x12x8xf32>) -> tensor<2x12x8xf32>
    %o04 = tensor.expand_shape %o0 [[0, 1], [2], [3]] output_shape [1, 2, 12, 8] : tensor<2x12x8xf32> into tensor<1x2x12x8xf32>
    %o0t = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%o04 : tensor<1x2x12x8xf32>) outs(%eth : tensor<1x12x2x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x12x2x8xf32>
    %o0f = tensor.collapse_shape %o0t [[0], [1], [2, 3]] : tensor<1x12x2x8xf32> into tensor<1x12x16xf32>
    %y0 = linalg.batch_matmul ins(%o0f, %wo0 : tensor<1x12x16xf32>, tensor<1x16x16xf32>) outs(%z1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    // Layer 1: Q/K/V projections, heads, scaled and masked scores,
    // generic softmax, *V, heads merged, output projection.
    %q1 = linalg.batch_matmul ins(%y0, %wq1 : tensor<1x12x16xf32>, tensor<1x16x16xf32>) outs(%z1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    %k1 = linalg.batch_matmul ins(%y0, %wk1 : tensor<1x12x16xf32>, tensor<1x16x16xf32>) outs(%z1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    %v1 = linalg.batch_matmul ins(%y0, %wv1 : tensor<1x12x16xf32>, tensor<1x16x16xf32>) outs(%z1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    %q1e = tensor.expand_shape %q1 [[0], [1], [2, 3]] output_shape [1, 12, 2, 8] : tensor<1x12x16xf32> into tensor<1x12x2x8xf32>
    %q1h = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q1e : tensor<1x12x2x8xf32>) outs(%eh : tensor<1x2x12x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x12x8xf32>
    %q13 = tensor.collapse_shape %q1h [[0, 1], [2], [3]] : tensor<1x2x12x8xf32> into tensor<2x12x8xf32>
    %k1e = tensor.expand_shape %k1 [[0], [1], [2, 3]] output_shape [1, 12, 2, 8] : tensor<1x12x16xf32> into tensor<1x12x2x8xf32>
    %k1h = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k1e : tensor<1x12x2x8xf32>) outs(%eh : tensor<1x2x12x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x12x8xf32>
    %k13 = tensor.collapse_shape %k1h [[0, 1], [2], [3]] : tensor<1x2x12x8xf32> into tensor<2x12x8xf32>
    %v1e = tensor.expand_shape %v1 [[0], [1], [2, 3]] output_shape [1, 12, 2, 8] : tensor<1x12x16xf32> into tensor<1x12x2x8xf32>
    %v1h = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v1e : tensor<1x12x2x8xf32>) outs(%eh : tensor<1x2x12x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x12x8xf32>
    %v13 = tensor.collapse_shape %v1h [[0, 1], [2], [3]] : tensor<1x2x12x8xf32> into tensor<2x12x8xf32>
    %kt1 = linalg.generic {indexing_maps = [#id3, #tr], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k13 : tensor<2x12x8xf32>) outs(%ekt : tensor<2x8x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<2x8x12xf32>
    %s1 = linalg.batch_matmul ins(%q13, %kt1 : tensor<2x12x8xf32>, tensor<2x8x12xf32>) outs(%zs : tensor<2x12x12xf32>) -> tensor<2x12x12xf32>
    %ss1 = linalg.generic {indexing_maps = [#id3, #mask, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s1, %mask : tensor<2x12x12xf32>, tensor<1x12xf32>) outs(%es : tensor<2x12x12xf32>) {
    ^bb0(%in: f32, %mk: f32, %out: f32):
      %0 = arith.mulf %in, %scale : f32
      %1 = arith.addf %0, %mk : f32
      linalg.yield %1 : f32
    } -> tensor<2x12x12xf32>
    %m1 = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ss1 : tensor<2x12x12xf32>) outs(%mi : tensor<2x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.maximumf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<2x12xf32>
    %d1 = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ss1, %m1 : tensor<2x12x12xf32>, tensor<2x12xf32>) outs(%es : tensor<2x12x12xf32>) {
    ^bb0(%in: f32, %mx: f32, %out: f32):
      %0 = arith.subf %in, %mx : f32
      linalg.yield %0 : f32
    } -> tensor<2x12x12xf32>
    %ex1 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%d1 : tensor<2x12x12xf32>) outs(%es : tensor<2x12x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.exp %in : f32
      linalg.yield %0 : f32
    } -> tensor<2x12x12xf32>
    %sum1 = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex1 : tensor<2x12x12xf32>) outs(%zr : tensor<2x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<2x12xf32>
    %p1 = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex1, %sum1 : tensor<2x12x12xf32>, tensor<2x12xf32>) outs(%es : tensor<2x12x12xf32>) {
    ^bb0(%in: f32, %dn: f32, %out: f32):
      %0 = arith.divf %in, %dn : f32
      linalg.yield %0 : f32
    } -> tensor<2x12x12xf32>
    %o1 = linalg.batch_matmul ins(%p1, %v13 : tensor<2x12x12xf32>, tensor<2x12x8xf32>) outs(%zo : tensor<2x12x8xf32>) -> tensor<2x12x8xf32>
    %o14 = tensor.expand_shape %o1 [[0, 1], [2], [3]] output_shape [1, 2, 12, 8] : tensor<2x12x8xf32> into tensor<1x2x12x8xf32>
    %o1t = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%o14 : tensor<1x2x12x8xf32>) outs(%eth : tensor<1x12x2x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x12x2x8xf32>
    %o1f = tensor.collapse_shape %o1t [[0], [1], [2, 3]] : tensor<1x12x2x8xf32> into tensor<1x12x16xf32>
    %y1 = linalg.batch_matmul ins(%o1f, %wo1 : tensor<1x12x16xf32>, tensor<1x16x16xf32>) outs(%z1 : tensor<1x12x16xf32>) -> tensor<1x12x16xf32>
    return %y1 : tensor<1x12x16xf32>
  }
}
