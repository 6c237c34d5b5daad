// A small multi-head attention module in the form torch-mlir exports to
// linalg-on-tensors (written for kv-opt's tests after
// ../shared/data/mlir/torch-mlir-mha-linalg.mlir): f64, 2 heads of 4,
// 4 tokens. Projections as batch_matmul against broadcast weights, heads by
// expand_shape + transpose generic + collapse_shape with a round trip
// through a dynamic tensor.cast, K^T by a transpose generic, a generic
// scale / max / sub / exp / sum / div softmax, *V, and the output
// projection. K and V are projections of the input: activations, not a
// persistent cache.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#bw = affine_map<(d0, d1, d2) -> (0, d1, d2)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#heads = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
#tr = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
#row = affine_map<(d0, d1, d2) -> (d0, d1)>
#row0 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
module attributes {torch.debug_module_name = "MultiHeadAttention"} {
  func.func @forward(%x: tensor<1x4x8xf64>, %wq: tensor<8x8xf64>, %wk: tensor<8x8xf64>,
                     %wv: tensor<8x8xf64>, %wo: tensor<8x8xf64>) -> tensor<1x4x8xf64> {
    %zero = arith.constant 0.0 : f64
    %ninf = arith.constant 0xFFF0000000000000 : f64
    %scale = arith.constant 2.0 : f64
    %e188 = tensor.empty() : tensor<1x8x8xf64>
    %e148 = tensor.empty() : tensor<1x4x8xf64>
    %z148 = linalg.fill ins(%zero : f64) outs(%e148 : tensor<1x4x8xf64>) -> tensor<1x4x8xf64>
    %wq3 = tensor.expand_shape %wq [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf64> into tensor<1x8x8xf64>
    %wk3 = tensor.expand_shape %wk [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf64> into tensor<1x8x8xf64>
    %wv3 = tensor.expand_shape %wv [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf64> into tensor<1x8x8xf64>
    %wo3 = tensor.expand_shape %wo [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf64> into tensor<1x8x8xf64>
    %bq = linalg.generic {indexing_maps = [#bw, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%wq3 : tensor<1x8x8xf64>) outs(%e188 : tensor<1x8x8xf64>) {
    ^bb0(%in: f64, %out: f64):
      linalg.yield %in : f64
    } -> tensor<1x8x8xf64>
    %q = linalg.batch_matmul ins(%x, %bq : tensor<1x4x8xf64>, tensor<1x8x8xf64>) outs(%z148 : tensor<1x4x8xf64>) -> tensor<1x4x8xf64>
    %k = linalg.batch_matmul ins(%x, %wk3 : tensor<1x4x8xf64>, tensor<1x8x8xf64>) outs(%z148 : tensor<1x4x8xf64>) -> tensor<1x4x8xf64>
    %v = linalg.batch_matmul ins(%x, %wv3 : tensor<1x4x8xf64>, tensor<1x8x8xf64>) outs(%z148 : tensor<1x4x8xf64>) -> tensor<1x4x8xf64>
    %e1244 = tensor.empty() : tensor<1x2x4x4xf64>
    %q4 = tensor.expand_shape %q [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf64> into tensor<1x4x2x4xf64>
    %qh = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q4 : tensor<1x4x2x4xf64>) outs(%e1244 : tensor<1x2x4x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      linalg.yield %in : f64
    } -> tensor<1x2x4x4xf64>
    %q3 = tensor.collapse_shape %qh [[0, 1], [2], [3]] : tensor<1x2x4x4xf64> into tensor<2x4x4xf64>
    %k4 = tensor.expand_shape %k [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf64> into tensor<1x4x2x4xf64>
    %kh = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k4 : tensor<1x4x2x4xf64>) outs(%e1244 : tensor<1x2x4x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      linalg.yield %in : f64
    } -> tensor<1x2x4x4xf64>
    %k3 = tensor.collapse_shape %kh [[0, 1], [2], [3]] : tensor<1x2x4x4xf64> into tensor<2x4x4xf64>
    %v4 = tensor.expand_shape %v [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf64> into tensor<1x4x2x4xf64>
    %vh = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v4 : tensor<1x4x2x4xf64>) outs(%e1244 : tensor<1x2x4x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      linalg.yield %in : f64
    } -> tensor<1x2x4x4xf64>
    %v3 = tensor.collapse_shape %vh [[0, 1], [2], [3]] : tensor<1x2x4x4xf64> into tensor<2x4x4xf64>
    %vd = tensor.cast %v3 : tensor<2x4x4xf64> to tensor<2x4x?xf64>
    %vs = tensor.cast %vd : tensor<2x4x?xf64> to tensor<2x4x4xf64>
    %e244 = tensor.empty() : tensor<2x4x4xf64>
    %kt = linalg.generic {indexing_maps = [#id3, #tr], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k3 : tensor<2x4x4xf64>) outs(%e244 : tensor<2x4x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      linalg.yield %in : f64
    } -> tensor<2x4x4xf64>
    %z244 = linalg.fill ins(%zero : f64) outs(%e244 : tensor<2x4x4xf64>) -> tensor<2x4x4xf64>
    %s = linalg.batch_matmul ins(%q3, %kt : tensor<2x4x4xf64>, tensor<2x4x4xf64>) outs(%z244 : tensor<2x4x4xf64>) -> tensor<2x4x4xf64>
    %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x4x4xf64>) outs(%e244 : tensor<2x4x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      %0 = arith.divf %in, %scale : f64
      linalg.yield %0 : f64
    } -> tensor<2x4x4xf64>
    %e24 = tensor.empty() : tensor<2x4xf64>
    %mi = linalg.fill ins(%ninf : f64) outs(%e24 : tensor<2x4xf64>) -> tensor<2x4xf64>
    %m = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ss : tensor<2x4x4xf64>) outs(%mi : tensor<2x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      %0 = arith.maximumf %in, %out : f64
      linalg.yield %0 : f64
    } -> tensor<2x4xf64>
    %m3 = tensor.expand_shape %m [[0], [1, 2]] output_shape [2, 4, 1] : tensor<2x4xf64> into tensor<2x4x1xf64>
    %d = linalg.generic {indexing_maps = [#id3, #row0, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ss, %m3 : tensor<2x4x4xf64>, tensor<2x4x1xf64>) outs(%e244 : tensor<2x4x4xf64>) {
    ^bb0(%in: f64, %mx: f64, %out: f64):
      %0 = arith.subf %in, %mx : f64
      linalg.yield %0 : f64
    } -> tensor<2x4x4xf64>
    %ex = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%d : tensor<2x4x4xf64>) outs(%e244 : tensor<2x4x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      %0 = math.exp %in : f64
      linalg.yield %0 : f64
    } -> tensor<2x4x4xf64>
    %zs = linalg.fill ins(%zero : f64) outs(%e24 : tensor<2x4xf64>) -> tensor<2x4xf64>
    %sum = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x4x4xf64>) outs(%zs : tensor<2x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      %0 = arith.addf %in, %out : f64
      linalg.yield %0 : f64
    } -> tensor<2x4xf64>
    %sum3 = tensor.expand_shape %sum [[0], [1, 2]] output_shape [2, 4, 1] : tensor<2x4xf64> into tensor<2x4x1xf64>
    %p = linalg.generic {indexing_maps = [#id3, #row0, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum3 : tensor<2x4x4xf64>, tensor<2x4x1xf64>) outs(%e244 : tensor<2x4x4xf64>) {
    ^bb0(%in: f64, %dn: f64, %out: f64):
      %0 = arith.divf %in, %dn : f64
      linalg.yield %0 : f64
    } -> tensor<2x4x4xf64>
    %o = linalg.batch_matmul ins(%p, %vs : tensor<2x4x4xf64>, tensor<2x4x4xf64>) outs(%z244 : tensor<2x4x4xf64>) -> tensor<2x4x4xf64>
    %o4 = tensor.expand_shape %o [[0, 1], [2], [3]] output_shape [1, 2, 4, 4] : tensor<2x4x4xf64> into tensor<1x2x4x4xf64>
    %e1424 = tensor.empty() : tensor<1x4x2x4xf64>
    %ot = linalg.generic {indexing_maps = [#id4, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%o4 : tensor<1x2x4x4xf64>) outs(%e1424 : tensor<1x4x2x4xf64>) {
    ^bb0(%in: f64, %out: f64):
      linalg.yield %in : f64
    } -> tensor<1x4x2x4xf64>
    %of = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<1x4x2x4xf64> into tensor<1x4x8xf64>
    %y = linalg.batch_matmul ins(%of, %wo3 : tensor<1x4x8xf64>, tensor<1x8x8xf64>) outs(%z148 : tensor<1x4x8xf64>) -> tensor<1x4x8xf64>
    return %y : tensor<1x4x8xf64>
  }
}
