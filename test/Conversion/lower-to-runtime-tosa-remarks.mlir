// TOSA attention forms the runtime lowering does not take keep their
// upstream computation, with a remark naming why.
// RUN: kv-opt %s --kvtier-raise-attention="block=4 remarks=false" \
// RUN:   | kv-opt --kvtier-plan-kv-tiers="schedule-file=%t.kvsched report= baselines=false" 2>/dev/null \
// RUN:   | kv-opt --kvtier-lower-to-runtime --mlir-print-op-on-diagnostic=false -o - 2>&1 | FileCheck %s

// No mask over a full-length read: the unwritten tokens are attended.
// CHECK: remark: attention on layer 0 keeps its upstream computation (not lowered to the kvrt runtime): attention reads all max_tokens tokens of the cache with no mask
func.func @nomask(%q: tensor<1x2x1x8xf32>, %k: tensor<1x2x1x8xf32>, %v: tensor<1x2x1x8xf32>,
                  %kc: tensor<1x2x32x8xf32>, %vc: tensor<1x2x32x8xf32>, %pos: index)
    -> (tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %scale = "tosa.const"() <{values = dense<0.35355339> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %s_kv3 = tosa.const_shape {values = dense<[2, 32, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_q3 = tosa.const_shape {values = dense<[2, 1, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_s4 = tosa.const_shape {values = dense<[1, 2, 1, 32]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %s_p3 = tosa.const_shape {values = dense<[2, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_o4 = tosa.const_shape {values = dense<[1, 2, 1, 8]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %kc2 = tensor.insert_slice %k into %kc[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
  %vc2 = tensor.insert_slice %v into %vc[0, 0, %pos, 0] [1, 2, 1, 8] [1, 1, 1, 1] : tensor<1x2x1x8xf32> into tensor<1x2x32x8xf32>
  %k3 = tosa.reshape %kc2, %s_kv3 : (tensor<1x2x32x8xf32>, !tosa.shape<3>) -> tensor<2x32x8xf32>
  %v3 = tosa.reshape %vc2, %s_kv3 : (tensor<1x2x32x8xf32>, !tosa.shape<3>) -> tensor<2x32x8xf32>
  %q3 = tosa.reshape %q, %s_q3 : (tensor<1x2x1x8xf32>, !tosa.shape<3>) -> tensor<2x1x8xf32>
  %kt = tosa.transpose %k3 {perms = array<i32: 0, 2, 1>} : (tensor<2x32x8xf32>) -> tensor<2x8x32xf32>
  %s = tosa.matmul %q3, %kt, %zp, %zp : (tensor<2x1x8xf32>, tensor<2x8x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x32xf32>
  %s4 = tosa.reshape %s, %s_s4 : (tensor<2x1x32xf32>, !tosa.shape<4>) -> tensor<1x2x1x32xf32>
  %sc = tosa.mul %s4, %scale, %shift : (tensor<1x2x1x32xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x1x32xf32>
  %mx = tosa.reduce_max %sc {axis = 3 : i32} : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x1xf32>
  %d = tosa.sub %sc, %mx : (tensor<1x2x1x32xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x1x32xf32>
  %e = tosa.exp %d : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x32xf32>
  %sum = tosa.reduce_sum %e {axis = 3 : i32} : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32>
  %p4 = tosa.mul %e, %r, %shift : (tensor<1x2x1x32xf32>, tensor<1x2x1x1xf32>, tensor<1xi8>) -> tensor<1x2x1x32xf32>
  %p3 = tosa.reshape %p4, %s_p3 : (tensor<1x2x1x32xf32>, !tosa.shape<3>) -> tensor<2x1x32xf32>
  %o3 = tosa.matmul %p3, %v3, %zp, %zp : (tensor<2x1x32xf32>, tensor<2x32x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x8xf32>
  %o = tosa.reshape %o3, %s_o4 : (tensor<2x1x8xf32>, !tosa.shape<4>) -> tensor<1x2x1x8xf32>
  return %o, %kc2, %vc2 : tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>
}

// K/V computed in the graph (activations, as in BERT), never written into a
// cache: nothing for the runtime to hold.
// CHECK: remark: attention on layer 0 keeps its upstream computation (not lowered to the kvrt runtime): nothing to lower: no op of the attention writes the new token into a cache (K/V are activations or a read-only input)

func.func @activations(%q: tensor<1x2x1x8xf32>, %k: tensor<1x2x1x8xf32>, %v: tensor<1x2x1x8xf32>,
                  %kc: tensor<1x2x32x8xf32>, %vc: tensor<1x2x32x8xf32>, %pos: index)
    -> (tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %scale = "tosa.const"() <{values = dense<0.35355339> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %s_kv3 = tosa.const_shape {values = dense<[2, 32, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_q3 = tosa.const_shape {values = dense<[2, 1, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_s4 = tosa.const_shape {values = dense<[1, 2, 1, 32]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %s_p3 = tosa.const_shape {values = dense<[2, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_o4 = tosa.const_shape {values = dense<[1, 2, 1, 8]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %kc2 = tosa.add %kc, %kc : (tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) -> tensor<1x2x32x8xf32>
  %vc2 = tosa.add %vc, %vc : (tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) -> tensor<1x2x32x8xf32>
  %k3 = tosa.reshape %kc2, %s_kv3 : (tensor<1x2x32x8xf32>, !tosa.shape<3>) -> tensor<2x32x8xf32>
  %v3 = tosa.reshape %vc2, %s_kv3 : (tensor<1x2x32x8xf32>, !tosa.shape<3>) -> tensor<2x32x8xf32>
  %q3 = tosa.reshape %q, %s_q3 : (tensor<1x2x1x8xf32>, !tosa.shape<3>) -> tensor<2x1x8xf32>
  %kt = tosa.transpose %k3 {perms = array<i32: 0, 2, 1>} : (tensor<2x32x8xf32>) -> tensor<2x8x32xf32>
  %s = tosa.matmul %q3, %kt, %zp, %zp : (tensor<2x1x8xf32>, tensor<2x8x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x32xf32>
  %s4 = tosa.reshape %s, %s_s4 : (tensor<2x1x32xf32>, !tosa.shape<4>) -> tensor<1x2x1x32xf32>
  %sc = tosa.mul %s4, %scale, %shift : (tensor<1x2x1x32xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x1x32xf32>
  %mx = tosa.reduce_max %sc {axis = 3 : i32} : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x1xf32>
  %d = tosa.sub %sc, %mx : (tensor<1x2x1x32xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x1x32xf32>
  %e = tosa.exp %d : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x32xf32>
  %sum = tosa.reduce_sum %e {axis = 3 : i32} : (tensor<1x2x1x32xf32>) -> tensor<1x2x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32>
  %p4 = tosa.mul %e, %r, %shift : (tensor<1x2x1x32xf32>, tensor<1x2x1x1xf32>, tensor<1xi8>) -> tensor<1x2x1x32xf32>
  %p3 = tosa.reshape %p4, %s_p3 : (tensor<1x2x1x32xf32>, !tosa.shape<3>) -> tensor<2x1x32xf32>
  %o3 = tosa.matmul %p3, %v3, %zp, %zp : (tensor<2x1x32xf32>, tensor<2x32x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x8xf32>
  %o = tosa.reshape %o3, %s_o4 : (tensor<2x1x8xf32>, !tosa.shape<4>) -> tensor<1x2x1x8xf32>
  return %o, %kc2, %vc2 : tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>
}

// CHECK: func.func @nomask
// CHECK: tosa.exp
// CHECK: func.func @activations
// CHECK: tosa.exp
// CHECK-NOT: kvrt_mlir_attention
