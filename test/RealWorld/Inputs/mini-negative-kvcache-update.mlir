// A KV-cache update with no attention (written for kv-opt's tests after
// ../shared/data/mlir/negative-kvcache-update-no-attention.mlir): the new
// K/V are written at position 10 by linalg.generic select scatters (one
// with linalg.index, one with an i64 compare), and an unrelated exp
// (a SiLU-style gate) sits nearby.
// Nothing here is attention: the raise pass must declare nothing.
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#new = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @kernel(%k_cache: tensor<1x4x40x16xf32>, %v_cache: tensor<1x4x40x16xf32>,
                  %new_k: tensor<1x4x1x16xf32>, %new_v: tensor<1x4x1x16xf32>,
                  %h: tensor<1x64xf32>)
    -> (tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>, tensor<1x64xf32>) {
  %ek = tensor.empty() : tensor<1x4x40x16xf32>
  %k = linalg.generic {indexing_maps = [#id, #new, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k_cache, %new_k : tensor<1x4x40x16xf32>, tensor<1x4x1x16xf32>) outs(%ek : tensor<1x4x40x16xf32>) {
  ^bb0(%old: f32, %nv: f32, %out: f32):
    %pos = arith.constant 10 : index
    %i = linalg.index 2 : index
    %at = arith.cmpi eq, %i, %pos : index
    %r = arith.select %at, %nv, %old : f32
    linalg.yield %r : f32
  } -> tensor<1x4x40x16xf32>
  %v = linalg.generic {indexing_maps = [#id, #new, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v_cache, %new_v : tensor<1x4x40x16xf32>, tensor<1x4x1x16xf32>) outs(%ek : tensor<1x4x40x16xf32>) {
  ^bb0(%old: f32, %nv: f32, %out: f32):
    %pos = arith.constant 10 : i64
    %i = linalg.index 2 : index
    %i64 = arith.index_cast %i : index to i64
    %at = arith.cmpi eq, %i64, %pos : i64
    %r = arith.select %at, %nv, %old : f32
    linalg.yield %r : f32
  } -> tensor<1x4x40x16xf32>
  %eh = tensor.empty() : tensor<1x64xf32>
  %g = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<1x64xf32>) outs(%eh : tensor<1x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %in : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %in, %d : f32
    linalg.yield %s : f32
  } -> tensor<1x64xf32>
  return %k, %v, %g : tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>, tensor<1x64xf32>
}
