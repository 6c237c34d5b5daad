// A small BERT-style multi-head attention layer in the form of tpp-mlir's
// TensorFlow export (written for kv-opt's tests after
// ../shared/data/mlir/bert-small-mha-linalg.mlir): batch 4, 8 tokens,
// 2 heads of 16. Projections are matmuls on the flattened batch, heads are
// split with expand_shape and transpose generics, the scores are computed
// as K*Q^T and transposed back, a broadcast mask is added, and the softmax
// is generic max / broadcast / sub / exp / sum / broadcast / div.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#qh = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
#kh = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>
#swap = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3, d2)>
#mask = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
#red = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#bc = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
func.func @multi_head_attention(%input: tensor<4x8x32xf32>, %input_mask: tensor<4x1x8x8xf32>,
                                %wq: tensor<32x32xf32>, %wk: tensor<32x32xf32>,
                                %wv: tensor<32x32xf32>) -> tensor<4x2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant -3.40282347E+38 : f32
  %x = tensor.collapse_shape %input [[0, 1], [2]] : tensor<4x8x32xf32> into tensor<32x32xf32>
  %e2 = tensor.empty() : tensor<32x32xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %k2 = linalg.matmul ins(%x, %wk : tensor<32x32xf32>, tensor<32x32xf32>) outs(%z2 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %q2 = linalg.matmul ins(%x, %wq : tensor<32x32xf32>, tensor<32x32xf32>) outs(%z2 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %v2 = linalg.matmul ins(%x, %wv : tensor<32x32xf32>, tensor<32x32xf32>) outs(%z2 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %k4 = tensor.expand_shape %k2 [[0, 1], [2, 3]] output_shape [4, 8, 2, 16] : tensor<32x32xf32> into tensor<4x8x2x16xf32>
  %q4 = tensor.expand_shape %q2 [[0, 1], [2, 3]] output_shape [4, 8, 2, 16] : tensor<32x32xf32> into tensor<4x8x2x16xf32>
  %v4 = tensor.expand_shape %v2 [[0, 1], [2, 3]] output_shape [4, 8, 2, 16] : tensor<32x32xf32> into tensor<4x8x2x16xf32>
  %ekh = tensor.empty() : tensor<4x2x8x16xf32>
  %kh4 = linalg.generic {indexing_maps = [#qh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k4 : tensor<4x8x2x16xf32>) outs(%ekh : tensor<4x2x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x2x8x16xf32>
  %eqt = tensor.empty() : tensor<4x2x16x8xf32>
  %qt4 = linalg.generic {indexing_maps = [#kh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q4 : tensor<4x8x2x16xf32>) outs(%eqt : tensor<4x2x16x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x2x16x8xf32>
  %vh4 = linalg.generic {indexing_maps = [#qh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v4 : tensor<4x8x2x16xf32>) outs(%ekh : tensor<4x2x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x2x8x16xf32>
  %kh = tensor.collapse_shape %kh4 [[0, 1], [2], [3]] : tensor<4x2x8x16xf32> into tensor<8x8x16xf32>
  %qt = tensor.collapse_shape %qt4 [[0, 1], [2], [3]] : tensor<4x2x16x8xf32> into tensor<8x16x8xf32>
  %es = tensor.empty() : tensor<8x8x8xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  // K*Q^T: [batch*heads, key token, query token]
  %kq = linalg.batch_matmul ins(%kh, %qt : tensor<8x8x16xf32>, tensor<8x16x8xf32>) outs(%zs : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %kq4 = tensor.expand_shape %kq [[0, 1], [2], [3]] output_shape [4, 2, 8, 8] : tensor<8x8x8xf32> into tensor<4x2x8x8xf32>
  %e4 = tensor.empty() : tensor<4x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#swap, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%kq4 : tensor<4x2x8x8xf32>) outs(%e4 : tensor<4x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x2x8x8xf32>
  %mb = linalg.generic {indexing_maps = [#mask, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%input_mask : tensor<4x1x8x8xf32>) outs(%e4 : tensor<4x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x2x8x8xf32>
  %sm = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %mb : tensor<4x2x8x8xf32>, tensor<4x2x8x8xf32>) outs(%e4 : tensor<4x2x8x8xf32>) {
  ^bb0(%in: f32, %in1: f32, %out: f32):
    %0 = arith.addf %in, %in1 : f32
    linalg.yield %0 : f32
  } -> tensor<4x2x8x8xf32>
  %er = tensor.empty() : tensor<4x2x8xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<4x2x8xf32>) -> tensor<4x2x8xf32>
  %m = linalg.generic {indexing_maps = [#id4, #red], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%sm : tensor<4x2x8x8xf32>) outs(%mi : tensor<4x2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %out, %in : f32
    linalg.yield %0 : f32
  } -> tensor<4x2x8xf32>
  %m4 = tensor.expand_shape %m [[0], [1], [2, 3]] output_shape [4, 2, 8, 1] : tensor<4x2x8xf32> into tensor<4x2x8x1xf32>
  %mbc = linalg.generic {indexing_maps = [#bc, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%m4 : tensor<4x2x8x1xf32>) outs(%e4 : tensor<4x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x2x8x8xf32>
  %d = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%sm, %mbc : tensor<4x2x8x8xf32>, tensor<4x2x8x8xf32>) outs(%e4 : tensor<4x2x8x8xf32>) {
  ^bb0(%in: f32, %in1: f32, %out: f32):
    %0 = arith.subf %in, %in1 : f32
    linalg.yield %0 : f32
  } -> tensor<4x2x8x8xf32>
  %ex = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%d : tensor<4x2x8x8xf32>) outs(%e4 : tensor<4x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.exp %in : f32
    linalg.yield %0 : f32
  } -> tensor<4x2x8x8xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<4x2x8xf32>) -> tensor<4x2x8xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #red], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%ex : tensor<4x2x8x8xf32>) outs(%zr : tensor<4x2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %out, %in : f32
    linalg.yield %0 : f32
  } -> tensor<4x2x8xf32>
  %sum4 = tensor.expand_shape %sum [[0], [1], [2, 3]] output_shape [4, 2, 8, 1] : tensor<4x2x8xf32> into tensor<4x2x8x1xf32>
  %sbc = linalg.generic {indexing_maps = [#bc, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%sum4 : tensor<4x2x8x1xf32>) outs(%e4 : tensor<4x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x2x8x8xf32>
  %p = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%ex, %sbc : tensor<4x2x8x8xf32>, tensor<4x2x8x8xf32>) outs(%e4 : tensor<4x2x8x8xf32>) {
  ^bb0(%in: f32, %in1: f32, %out: f32):
    %0 = arith.divf %in, %in1 : f32
    linalg.yield %0 : f32
  } -> tensor<4x2x8x8xf32>
  %p3 = tensor.collapse_shape %p [[0, 1], [2], [3]] : tensor<4x2x8x8xf32> into tensor<8x8x8xf32>
  %vh = tensor.collapse_shape %vh4 [[0, 1], [2], [3]] : tensor<4x2x8x16xf32> into tensor<8x8x16xf32>
  %eo = tensor.empty() : tensor<8x8x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<8x8x16xf32>) -> tensor<8x8x16xf32>
  %o = linalg.batch_matmul ins(%p3, %vh : tensor<8x8x8xf32>, tensor<8x8x16xf32>) outs(%zo : tensor<8x8x16xf32>) -> tensor<8x8x16xf32>
  %o4 = tensor.expand_shape %o [[0, 1], [2], [3]] output_shape [4, 2, 8, 16] : tensor<8x8x16xf32> into tensor<4x2x8x16xf32>
  return %o4 : tensor<4x2x8x16xf32>
}
