// A small Qwen3-style decode block in TOSA + tensor, written for kv-opt's
// tests in the form of ../shared/data/mlir/qwen3-decode-tosa.mlir (4 heads
// of 16 instead of 12 of 128): RMSNorm, Q/K/V projections with tosa.matmul,
// [1,1,64] -> [1,1,4,16] -> transpose, the new K/V written into the
// 40-token caches with tensor.insert_slice at the SSA index %c10, scores by
// tosa.matmul against the transposed cache, scale and mask, a
// reduce_max / sub / exp / reduce_sum / reciprocal / mul softmax, *V, the
// output projection and a residual. @main only calls @kernel.
func.func @kernel(%x: tensor<1x1x64xf32>, %norm_w: tensor<1x1x64xf32>,
                  %wq: tensor<1x64x64xf32>, %wk: tensor<1x64x64xf32>,
                  %wv: tensor<1x64x64xf32>, %wo: tensor<1x64x64xf32>,
                  %mask: tensor<1x1x1x40xf32>,
                  %k_cache: tensor<1x4x40x16xf32>, %v_cache: tensor<1x4x40x16xf32>)
    -> (tensor<1x1x64xf32>, tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>) {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  // RMSNorm
  %sq = tosa.mul %x, %x, %shift : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1xi8>) -> tensor<1x1x64xf32>
  %ss = tosa.reduce_sum %sq {axis = 2 : i32} : (tensor<1x1x64xf32>) -> tensor<1x1x1xf32>
  %inv_n = "tosa.const"() <{values = dense<1.562500e-02> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %ms = tosa.mul %ss, %inv_n, %shift : (tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-06> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %mse = tosa.add %ms, %eps : (tensor<1x1x1xf32>, tensor<1x1x1xf32>) -> tensor<1x1x1xf32>
  %rinv = tosa.rsqrt %mse : (tensor<1x1x1xf32>) -> tensor<1x1x1xf32>
  %xn0 = tosa.mul %x, %rinv, %shift : (tensor<1x1x64xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x1x64xf32>
  %xn = tosa.mul %xn0, %norm_w, %shift : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1xi8>) -> tensor<1x1x64xf32>
  // Q/K/V projections and heads
  %ql = tosa.matmul %xn, %wq, %zp, %zp : (tensor<1x1x64xf32>, tensor<1x64x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x64xf32>
  %kl = tosa.matmul %xn, %wk, %zp, %zp : (tensor<1x1x64xf32>, tensor<1x64x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x64xf32>
  %vl = tosa.matmul %xn, %wv, %zp, %zp : (tensor<1x1x64xf32>, tensor<1x64x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x64xf32>
  %s_heads = tosa.const_shape {values = dense<[1, 1, 4, 16]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %q4p = tosa.reshape %ql, %s_heads : (tensor<1x1x64xf32>, !tosa.shape<4>) -> tensor<1x1x4x16xf32>
  %k4p = tosa.reshape %kl, %s_heads : (tensor<1x1x64xf32>, !tosa.shape<4>) -> tensor<1x1x4x16xf32>
  %v4p = tosa.reshape %vl, %s_heads : (tensor<1x1x64xf32>, !tosa.shape<4>) -> tensor<1x1x4x16xf32>
  %q4 = tosa.transpose %q4p {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x1x4x16xf32>) -> tensor<1x4x1x16xf32>
  %k4 = tosa.transpose %k4p {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x1x4x16xf32>) -> tensor<1x4x1x16xf32>
  %v4 = tosa.transpose %v4p {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x1x4x16xf32>) -> tensor<1x4x1x16xf32>
  // New K/V into the caches at position 10
  %c0 = arith.constant 0 : index
  %c10 = arith.constant 10 : index
  %kc = tensor.insert_slice %k4 into %k_cache[%c0, %c0, %c10, %c0] [1, 4, 1, 16] [1, 1, 1, 1] : tensor<1x4x1x16xf32> into tensor<1x4x40x16xf32>
  %vc = tensor.insert_slice %v4 into %v_cache[%c0, %c0, %c10, %c0] [1, 4, 1, 16] [1, 1, 1, 1] : tensor<1x4x1x16xf32> into tensor<1x4x40x16xf32>
  // Scores
  %s_q3 = tosa.const_shape {values = dense<[4, 1, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %q3 = tosa.reshape %q4, %s_q3 : (tensor<1x4x1x16xf32>, !tosa.shape<3>) -> tensor<4x1x16xf32>
  %s_kv3 = tosa.const_shape {values = dense<[4, 40, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %k3 = tosa.reshape %kc, %s_kv3 : (tensor<1x4x40x16xf32>, !tosa.shape<3>) -> tensor<4x40x16xf32>
  %v3 = tosa.reshape %vc, %s_kv3 : (tensor<1x4x40x16xf32>, !tosa.shape<3>) -> tensor<4x40x16xf32>
  %kt = tosa.transpose %k3 {perms = array<i32: 0, 2, 1>} : (tensor<4x40x16xf32>) -> tensor<4x16x40xf32>
  %s = tosa.matmul %q3, %kt, %zp, %zp : (tensor<4x1x16xf32>, tensor<4x16x40xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x1x40xf32>
  %s_s4 = tosa.const_shape {values = dense<[1, 4, 1, 40]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %s4 = tosa.reshape %s, %s_s4 : (tensor<4x1x40xf32>, !tosa.shape<4>) -> tensor<1x4x1x40xf32>
  %scale = "tosa.const"() <{values = dense<2.500000e-01> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %ssc = tosa.mul %s4, %scale, %shift : (tensor<1x4x1x40xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<1x4x1x40xf32>
  %sm = tosa.add %ssc, %mask : (tensor<1x4x1x40xf32>, tensor<1x1x1x40xf32>) -> tensor<1x4x1x40xf32>
  // Softmax over the cached tokens
  %mx = tosa.reduce_max %sm {axis = 3 : i32} : (tensor<1x4x1x40xf32>) -> tensor<1x4x1x1xf32>
  %sh = tosa.sub %sm, %mx : (tensor<1x4x1x40xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x1x40xf32>
  %ex = tosa.exp %sh : (tensor<1x4x1x40xf32>) -> tensor<1x4x1x40xf32>
  %su = tosa.reduce_sum %ex {axis = 3 : i32} : (tensor<1x4x1x40xf32>) -> tensor<1x4x1x1xf32>
  %rs = tosa.reciprocal %su : (tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
  %p4 = tosa.mul %ex, %rs, %shift : (tensor<1x4x1x40xf32>, tensor<1x4x1x1xf32>, tensor<1xi8>) -> tensor<1x4x1x40xf32>
  %s_p3 = tosa.const_shape {values = dense<[4, 1, 40]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %p3 = tosa.reshape %p4, %s_p3 : (tensor<1x4x1x40xf32>, !tosa.shape<3>) -> tensor<4x1x40xf32>
  // Context, output projection, residual
  %ctx = tosa.matmul %p3, %v3, %zp, %zp : (tensor<4x1x40xf32>, tensor<4x40x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x1x16xf32>
  %s_c4 = tosa.const_shape {values = dense<[1, 4, 1, 16]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %c4 = tosa.reshape %ctx, %s_c4 : (tensor<4x1x16xf32>, !tosa.shape<4>) -> tensor<1x4x1x16xf32>
  %c4t = tosa.transpose %c4 {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x4x1x16xf32>) -> tensor<1x1x4x16xf32>
  %s_flat = tosa.const_shape {values = dense<[1, 1, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %cf = tosa.reshape %c4t, %s_flat : (tensor<1x1x4x16xf32>, !tosa.shape<3>) -> tensor<1x1x64xf32>
  %proj = tosa.matmul %cf, %wo, %zp, %zp : (tensor<1x1x64xf32>, tensor<1x64x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x64xf32>
  %out = tosa.add %x, %proj : (tensor<1x1x64xf32>, tensor<1x1x64xf32>) -> tensor<1x1x64xf32>
  return %out, %kc, %vc : tensor<1x1x64xf32>, tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>
}

func.func @main() -> tensor<1x1x64xf32> {
  %one = arith.constant 1.0 : f32
  %w = arith.constant 0.01 : f32
  %zero = arith.constant 0.0 : f32
  %ex = tensor.empty() : tensor<1x1x64xf32>
  %ew = tensor.empty() : tensor<1x64x64xf32>
  %em = tensor.empty() : tensor<1x1x1x40xf32>
  %ec = tensor.empty() : tensor<1x4x40x16xf32>
  %x = linalg.fill ins(%one : f32) outs(%ex : tensor<1x1x64xf32>) -> tensor<1x1x64xf32>
  %wm = linalg.fill ins(%w : f32) outs(%ew : tensor<1x64x64xf32>) -> tensor<1x64x64xf32>
  %mask = linalg.fill ins(%zero : f32) outs(%em : tensor<1x1x1x40xf32>) -> tensor<1x1x1x40xf32>
  %cache = linalg.fill ins(%zero : f32) outs(%ec : tensor<1x4x40x16xf32>) -> tensor<1x4x40x16xf32>
  %r:3 = func.call @kernel(%x, %x, %wm, %wm, %wm, %wm, %mask, %cache, %cache)
      : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x64x64xf32>, tensor<1x64x64xf32>,
         tensor<1x64x64xf32>, tensor<1x64x64xf32>, tensor<1x1x1x40xf32>,
         tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>) -> (tensor<1x1x64xf32>, tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>)
  return %r#0 : tensor<1x1x64xf32>
}
