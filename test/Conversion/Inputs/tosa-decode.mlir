// Two decode-attention layers in TOSA, the form of a TOSA export such as
// the shared Qwen3 decode graph: per layer the new token's K/V are written
// into the [batch, kv_heads, max_tokens, head_dim] cache at %pos
// (tensor.insert_slice), attention reads the whole cache (tosa.reshape to
// [batch * heads, max_tokens, head_dim]), scores = tosa.matmul(q, K^T),
// scaled by a splat constant, plus an additive mask over the cache's tokens
// (%mask, from the caller: 0 on [0, %pos], a large negative after), a TOSA
// softmax, then tosa.matmul(p, V). Returns both outputs and the caches.
module {
  func.func @decode(%q0: tensor<1x2x1x8xf32>, %k0: tensor<1x2x1x8xf32>, %v0: tensor<1x2x1x8xf32>, %q1: tensor<1x2x1x8xf32>, %k1: tensor<1x2x1x8xf32>, %v1: tensor<1x2x1x8xf32>,
                    %kc0: tensor<1x2x32x8xf32>, %vc0: tensor<1x2x32x8xf32>, %kc1: tensor<1x2x32x8xf32>, %vc1: tensor<1x2x32x8xf32>, %pos: index, %mask: tensor<1x1x1x32xf32>)
      -> (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) {
    %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
    %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
    %scale = "tosa.const"() <{values = dense<0.35355339> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
    %s_kv3 = tosa.const_shape {values = dense<[2, 32, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
    %s_q3 = tosa.const_shape {values = dense<[2, 1, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
    %s_s4 = tosa.const_shape {values = dense<[1, 2, 1, 32]> : tensor<4xindex>} : () -> !tosa.shape<4>
    %s_p3 = tosa.const_shape {values = dense<[2, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
    %s_o4 = tosa.const_shape {values = dense<[1, 2, 1, 8]> : tensor<4xindex>} : () -> !tosa.shape<4>

    %kc2_0 = tensor.insert_slice %k0 into %kc0[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %vc2_0 = tensor.insert_slice %v0 into %vc0[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %k3_0 = tosa.reshape %kc2_0, %s_kv3 : (tensor<1x2x32x8xf32>, !tosa.shape<3>) -> tensor<2x32x8xf32>
    %v3_0 = tosa.reshape %vc2_0, %s_kv3 : (tensor<1x2x32x8xf32>, !tosa.shape<3>) -> tensor<2x32x8xf32>
    %q3_0 = tosa.reshape %q0, %s_q3 : (tensor<1x2x1x8xf32>, !tosa.shape<3>) -> tensor<2x1x8xf32>
    %kt_0 = tosa.transpose %k3_0 {perms = array<i32: 0, 2, 1>} : (tensor<2x32x8xf32>) -> tensor<2x8x32xf32>
    %s_0 = tosa.matmul %q3_0, %kt_0, %zp, %zp : (tensor<2x1x8xf32>, tensor<2x8x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x32xf32>
    %s4_0 = tosa.reshape %s_0, %s_s4 : (tensor<2x1x32xf32>, !tosa.shape<4>) -> tensor<1x2x1x32xf32>
    %sc_0 = tosa.mul %s4_0, %scale, %shift : (tensor<1x2x1x32xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x1x32xf32>
    %sm_0 = tosa.add %sc_0, %mask : (tensor<1x2x1x32xf32>, tensor<1x1x1x32xf32>) -> tensor<1x2x1x32xf32>
    %mx_0 = tosa.reduce_max %sm_0 {axis = 3 : i32} : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x1xf32>
    %d_0 = tosa.sub %sm_0, %mx_0 : (tensor<1x2x1x32xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x1x32xf32>
    %e_0 = tosa.exp %d_0 : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x32xf32>
    %sum_0 = tosa.reduce_sum %e_0 {axis = 3 : i32} : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x1xf32>
    %r_0 = tosa.reciprocal %sum_0 : (tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32>
    %p4_0 = tosa.mul %e_0, %r_0, %shift : (tensor<1x2x1x32xf32>, tensor<1x2x1x1xf32>, tensor<1xi8>) -> tensor<1x2x1x32xf32>
    %p3_0 = tosa.reshape %p4_0, %s_p3 : (tensor<1x2x1x32xf32>, !tosa.shape<3>) -> tensor<2x1x32xf32>
    %o3_0 = tosa.matmul %p3_0, %v3_0, %zp, %zp : (tensor<2x1x32xf32>, tensor<2x32x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x8xf32>
    %o_0 = tosa.reshape %o3_0, %s_o4 : (tensor<2x1x8xf32>, !tosa.shape<4>) -> tensor<1x2x1x8xf32>

    %kc2_1 = tensor.insert_slice %k1 into %kc1[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %vc2_1 = tensor.insert_slice %v1 into %vc1[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
    %k3_1 = tosa.reshape %kc2_1, %s_kv3 : (tensor<1x2x32x8xf32>, !tosa.shape<3>) -> tensor<2x32x8xf32>
    %v3_1 = tosa.reshape %vc2_1, %s_kv3 : (tensor<1x2x32x8xf32>, !tosa.shape<3>) -> tensor<2x32x8xf32>
    %q3_1 = tosa.reshape %q1, %s_q3 : (tensor<1x2x1x8xf32>, !tosa.shape<3>) -> tensor<2x1x8xf32>
    %kt_1 = tosa.transpose %k3_1 {perms = array<i32: 0, 2, 1>} : (tensor<2x32x8xf32>) -> tensor<2x8x32xf32>
    %s_1 = tosa.matmul %q3_1, %kt_1, %zp, %zp : (tensor<2x1x8xf32>, tensor<2x8x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x32xf32>
    %s4_1 = tosa.reshape %s_1, %s_s4 : (tensor<2x1x32xf32>, !tosa.shape<4>) -> tensor<1x2x1x32xf32>
    %sc_1 = tosa.mul %s4_1, %scale, %shift : (tensor<1x2x1x32xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x1x32xf32>
    %sm_1 = tosa.add %sc_1, %mask : (tensor<1x2x1x32xf32>, tensor<1x1x1x32xf32>) -> tensor<1x2x1x32xf32>
    %mx_1 = tosa.reduce_max %sm_1 {axis = 3 : i32} : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x1xf32>
    %d_1 = tosa.sub %sm_1, %mx_1 : (tensor<1x2x1x32xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x1x32xf32>
    %e_1 = tosa.exp %d_1 : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x32xf32>
    %sum_1 = tosa.reduce_sum %e_1 {axis = 3 : i32} : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x1xf32>
    %r_1 = tosa.reciprocal %sum_1 : (tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32>
    %p4_1 = tosa.mul %e_1, %r_1, %shift : (tensor<1x2x1x32xf32>, tensor<1x2x1x1xf32>, tensor<1xi8>) -> tensor<1x2x1x32xf32>
    %p3_1 = tosa.reshape %p4_1, %s_p3 : (tensor<1x2x1x32xf32>, !tosa.shape<3>) -> tensor<2x1x32xf32>
    %o3_1 = tosa.matmul %p3_1, %v3_1, %zp, %zp : (tensor<2x1x32xf32>, tensor<2x32x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x8xf32>
    %o_1 = tosa.reshape %o3_1, %s_o4 : (tensor<2x1x8xf32>, !tosa.shape<4>) -> tensor<1x2x1x8xf32>
    return %o_0, %o_1, %kc2_0, %vc2_0, %kc2_1, %vc2_1 : tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>
  }
}
