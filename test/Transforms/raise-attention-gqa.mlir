// RUN: kv-opt %s --kvtier-raise-attention -verify-diagnostics \
// RUN:   --mlir-print-op-on-diagnostic=false | FileCheck %s

// GQA written by expanding the KV heads to the query head count, in the
// four ways exporters write it. Each must report the real KV head count
// (2), not the query head count (12): the cache is 6x smaller.

#map5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#bc5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#mq = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#mk = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#ms = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// 1. An add with a zero tensor of the larger shape between tosa.reshapes
//    (the broadcast written as arithmetic).

// CHECK-LABEL: func.func @tosa_add_zeros
// CHECK:         kvtier.cache "tosa_add_zeros.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         tosa.add {{.*}} {kvtier.attention_id = 0 : i64}
// CHECK:         kvtier.attention
func.func @tosa_add_zeros(%q: tensor<12x1x16xf32>, %kc: tensor<1x2x32x16xf32>, %vc: tensor<1x2x32x16xf32>) -> tensor<12x1x16xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %zeros = "tosa.const"() <{values = dense<0.0> : tensor<1x2x6x32x16xf32>}> : () -> tensor<1x2x6x32x16xf32>
  %s5 = tosa.const_shape {values = dense<[1, 2, 1, 32, 16]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %s3 = tosa.const_shape {values = dense<[12, 32, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %k5 = tosa.reshape %kc, %s5 : (tensor<1x2x32x16xf32>, !tosa.shape<5>) -> tensor<1x2x1x32x16xf32>
  %kb = tosa.add %k5, %zeros : (tensor<1x2x1x32x16xf32>, tensor<1x2x6x32x16xf32>) -> tensor<1x2x6x32x16xf32>
  %k = tosa.reshape %kb, %s3 : (tensor<1x2x6x32x16xf32>, !tosa.shape<3>) -> tensor<12x32x16xf32>
  %v5 = tosa.reshape %vc, %s5 : (tensor<1x2x32x16xf32>, !tosa.shape<5>) -> tensor<1x2x1x32x16xf32>
  %vb = tosa.add %zeros, %v5 : (tensor<1x2x6x32x16xf32>, tensor<1x2x1x32x16xf32>) -> tensor<1x2x6x32x16xf32>
  %v = tosa.reshape %vb, %s3 : (tensor<1x2x6x32x16xf32>, !tosa.shape<3>) -> tensor<12x32x16xf32>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<12x32x16xf32>) -> tensor<12x16x32xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<12x1x16xf32>, tensor<12x16x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<12x1x32xf32>
  %m = tosa.reduce_max %s {axis = 2 : i32} : (tensor<12x1x32xf32>) -> tensor<12x1x1xf32>
  %d = tosa.sub %s, %m : (tensor<12x1x32xf32>, tensor<12x1x1xf32>) -> tensor<12x1x32xf32>
  %e = tosa.exp %d : (tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<12x1x32xf32>) -> tensor<12x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<12x1x1xf32>) -> tensor<12x1x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<12x1x32xf32>, tensor<12x1x1xf32>, tensor<1xi8>) -> tensor<12x1x32xf32>
  // expected-remark @below {{attention 0 (exp/sum/div softmax): kv_heads = 2, head_dim = 16, tokens = 32, batch = 1, GQA 12/2}}
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<12x1x32xf32>, tensor<12x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<12x1x16xf32>
  return %o : tensor<12x1x16xf32>
}

// 2. tosa.tile of a reshaped cache (batch 1, 4-D cache).

// CHECK-LABEL: func.func @tosa_tile
// CHECK:         kvtier.cache "tosa_tile.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         tosa.tile {{.*}} {kvtier.attention_id = 1 : i64}
func.func @tosa_tile(%q: tensor<12x1x16xf32>, %kc: tensor<1x2x32x16xf32>, %vc: tensor<1x2x32x16xf32>) -> tensor<12x1x16xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s5 = tosa.const_shape {values = dense<[1, 2, 1, 32, 16]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %rep = tosa.const_shape {values = dense<[1, 1, 6, 1, 1]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %s3 = tosa.const_shape {values = dense<[12, 32, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %k5 = tosa.reshape %kc, %s5 : (tensor<1x2x32x16xf32>, !tosa.shape<5>) -> tensor<1x2x1x32x16xf32>
  %kb = tosa.tile %k5, %rep : (tensor<1x2x1x32x16xf32>, !tosa.shape<5>) -> tensor<1x2x6x32x16xf32>
  %k = tosa.reshape %kb, %s3 : (tensor<1x2x6x32x16xf32>, !tosa.shape<3>) -> tensor<12x32x16xf32>
  %v5 = tosa.reshape %vc, %s5 : (tensor<1x2x32x16xf32>, !tosa.shape<5>) -> tensor<1x2x1x32x16xf32>
  %vb = tosa.tile %v5, %rep : (tensor<1x2x1x32x16xf32>, !tosa.shape<5>) -> tensor<1x2x6x32x16xf32>
  %v = tosa.reshape %vb, %s3 : (tensor<1x2x6x32x16xf32>, !tosa.shape<3>) -> tensor<12x32x16xf32>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<12x32x16xf32>) -> tensor<12x16x32xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<12x1x16xf32>, tensor<12x16x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<12x1x32xf32>
  %m = tosa.reduce_max %s {axis = 2 : i32} : (tensor<12x1x32xf32>) -> tensor<12x1x1xf32>
  %d = tosa.sub %s, %m : (tensor<12x1x32xf32>, tensor<12x1x1xf32>) -> tensor<12x1x32xf32>
  %e = tosa.exp %d : (tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<12x1x32xf32>) -> tensor<12x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<12x1x1xf32>) -> tensor<12x1x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<12x1x32xf32>, tensor<12x1x1xf32>, tensor<1xi8>) -> tensor<12x1x32xf32>
  // expected-remark @below {{attention 1 (exp/sum/div softmax): kv_heads = 2, head_dim = 16, tokens = 32, batch = 1, GQA 12/2}}
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<12x1x32xf32>, tensor<12x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<12x1x16xf32>
  return %o : tensor<12x1x16xf32>
}

// 3. linalg.broadcast of the 4-D cache to a new group dim, then
//    tensor.collapse_shape to the query heads.

// CHECK-LABEL: func.func @linalg_broadcast
// CHECK:         kvtier.cache "linalg_broadcast.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         linalg.broadcast {{.*}} {kvtier.attention_id = 2 : i64}
func.func @linalg_broadcast(%q: tensor<12x1x16xf32>, %kc: tensor<1x2x32x16xf32>, %vc: tensor<1x2x32x16xf32>) -> tensor<12x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %eb = tensor.empty() : tensor<1x2x6x32x16xf32>
  %kb = linalg.broadcast ins(%kc : tensor<1x2x32x16xf32>) outs(%eb : tensor<1x2x6x32x16xf32>) dimensions = [2]
  %vb = linalg.broadcast ins(%vc : tensor<1x2x32x16xf32>) outs(%eb : tensor<1x2x6x32x16xf32>) dimensions = [2]
  %k = tensor.collapse_shape %kb [[0, 1, 2], [3], [4]] : tensor<1x2x6x32x16xf32> into tensor<12x32x16xf32>
  %v = tensor.collapse_shape %vb [[0, 1, 2], [3], [4]] : tensor<1x2x6x32x16xf32> into tensor<12x32x16xf32>
  %es = tensor.empty() : tensor<12x1x32xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %s = linalg.batch_matmul indexing_maps = [#mq, #mk, #ms] ins(%q, %k : tensor<12x1x16xf32>, tensor<12x32x16xf32>) outs(%zs : tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<12x1x32xf32>) outs(%es : tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %eo = tensor.empty() : tensor<12x1x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<12x1x16xf32>) -> tensor<12x1x16xf32>
  // expected-remark @below {{attention 2 (linalg.softmax): kv_heads = 2, head_dim = 16, tokens = 32, batch = 1, GQA 12/2}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<12x1x32xf32>, tensor<12x32x16xf32>) outs(%zo : tensor<12x1x16xf32>) -> tensor<12x1x16xf32>
  return %o : tensor<12x1x16xf32>
}

// 4. tensor.expand_shape to a unit group dim, a broadcasting copy generic
//    (torch's repeat_interleave: expand + clone), tensor.collapse_shape.

// CHECK-LABEL: func.func @expand_shape_copy
// CHECK:         kvtier.cache "expand_shape_copy.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         tensor.expand_shape {{.*}} {kvtier.attention_id = 3 : i64}
func.func @expand_shape_copy(%q: tensor<12x1x16xf32>, %kc: tensor<1x2x32x16xf32>, %vc: tensor<1x2x32x16xf32>) -> tensor<12x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %eb = tensor.empty() : tensor<1x2x6x32x16xf32>
  %k5 = tensor.expand_shape %kc [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, 32, 16] : tensor<1x2x32x16xf32> into tensor<1x2x1x32x16xf32>
  %kb = linalg.generic {indexing_maps = [#bc5, #map5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%k5 : tensor<1x2x1x32x16xf32>) outs(%eb : tensor<1x2x6x32x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x2x6x32x16xf32>
  %k = tensor.collapse_shape %kb [[0, 1, 2], [3], [4]] : tensor<1x2x6x32x16xf32> into tensor<12x32x16xf32>
  %v5 = tensor.expand_shape %vc [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, 32, 16] : tensor<1x2x32x16xf32> into tensor<1x2x1x32x16xf32>
  %vb = linalg.generic {indexing_maps = [#bc5, #map5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%v5 : tensor<1x2x1x32x16xf32>) outs(%eb : tensor<1x2x6x32x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x2x6x32x16xf32>
  %v = tensor.collapse_shape %vb [[0, 1, 2], [3], [4]] : tensor<1x2x6x32x16xf32> into tensor<12x32x16xf32>
  %es = tensor.empty() : tensor<12x1x32xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %s = linalg.batch_matmul indexing_maps = [#mq, #mk, #ms] ins(%q, %k : tensor<12x1x16xf32>, tensor<12x32x16xf32>) outs(%zs : tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<12x1x32xf32>) outs(%es : tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %eo = tensor.empty() : tensor<12x1x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<12x1x16xf32>) -> tensor<12x1x16xf32>
  // expected-remark @below {{attention 3 (linalg.softmax): kv_heads = 2, head_dim = 16, tokens = 32, batch = 1, GQA 12/2}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<12x1x32xf32>, tensor<12x32x16xf32>) outs(%zo : tensor<12x1x16xf32>) -> tensor<12x1x16xf32>
  return %o : tensor<12x1x16xf32>
}

// Not a broadcast: an add of a non-zero constant is arithmetic, so the keys
// are the sum (12 distinct heads of activations) and the pass must not
// read the 2 heads of the tensor before the add.

// CHECK-LABEL: func.func @negative_add_nonzero
// CHECK:         kvtier.cache "negative_add_nonzero.kv0" : !kvtier.cache<layers = 1, kv_heads = 12, head_dim = 16
func.func @negative_add_nonzero(%q: tensor<12x1x16xf32>, %kc: tensor<1x2x32x16xf32>, %vc: tensor<1x2x32x16xf32>) -> tensor<12x1x16xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %ones = "tosa.const"() <{values = dense<1.0> : tensor<1x2x6x32x16xf32>}> : () -> tensor<1x2x6x32x16xf32>
  %s5 = tosa.const_shape {values = dense<[1, 2, 1, 32, 16]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %s3 = tosa.const_shape {values = dense<[12, 32, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %k5 = tosa.reshape %kc, %s5 : (tensor<1x2x32x16xf32>, !tosa.shape<5>) -> tensor<1x2x1x32x16xf32>
  %kb = tosa.add %k5, %ones : (tensor<1x2x1x32x16xf32>, tensor<1x2x6x32x16xf32>) -> tensor<1x2x6x32x16xf32>
  %k = tosa.reshape %kb, %s3 : (tensor<1x2x6x32x16xf32>, !tosa.shape<3>) -> tensor<12x32x16xf32>
  %v5 = tosa.reshape %vc, %s5 : (tensor<1x2x32x16xf32>, !tosa.shape<5>) -> tensor<1x2x1x32x16xf32>
  %vb = tosa.add %v5, %ones : (tensor<1x2x1x32x16xf32>, tensor<1x2x6x32x16xf32>) -> tensor<1x2x6x32x16xf32>
  %v = tosa.reshape %vb, %s3 : (tensor<1x2x6x32x16xf32>, !tosa.shape<3>) -> tensor<12x32x16xf32>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<12x32x16xf32>) -> tensor<12x16x32xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<12x1x16xf32>, tensor<12x16x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<12x1x32xf32>
  %m = tosa.reduce_max %s {axis = 2 : i32} : (tensor<12x1x32xf32>) -> tensor<12x1x1xf32>
  %d = tosa.sub %s, %m : (tensor<12x1x32xf32>, tensor<12x1x1xf32>) -> tensor<12x1x32xf32>
  %e = tosa.exp %d : (tensor<12x1x32xf32>) -> tensor<12x1x32xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<12x1x32xf32>) -> tensor<12x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<12x1x1xf32>) -> tensor<12x1x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<12x1x32xf32>, tensor<12x1x1xf32>, tensor<1xi8>) -> tensor<12x1x32xf32>
  // expected-remark @below {{attention 4 (exp/sum/div softmax): kv_heads = 12, head_dim = 16, tokens = 32, batch = 1; K/V are activations, not a persistent KV cache}}
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<12x1x32xf32>, tensor<12x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<12x1x16xf32>
  return %o : tensor<12x1x16xf32>
}

// Refused: the keys are one head of each pair of a 2x2-head cache (a head
// slice), so the query's 1 head per sequence is not a whole multiple of the
// 2 K/V heads the cache declares. Reporting either count would be a guess.

// CHECK-LABEL: func.func @refused_head_slice
// CHECK-NOT:     kvtier
func.func @refused_head_slice(%q: tensor<2x1x16xf32>, %kc: tensor<2x2x32x16xf32>,
                              %vc: tensor<2x2x32x16xf32>) -> tensor<2x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ks = tensor.extract_slice %kc[0, 0, 0, 0] [2, 1, 32, 16] [1, 1, 1, 1] : tensor<2x2x32x16xf32> to tensor<2x1x32x16xf32>
  %vs = tensor.extract_slice %vc[0, 0, 0, 0] [2, 1, 32, 16] [1, 1, 1, 1] : tensor<2x2x32x16xf32> to tensor<2x1x32x16xf32>
  %k = tensor.collapse_shape %ks [[0, 1], [2], [3]] : tensor<2x1x32x16xf32> into tensor<2x32x16xf32>
  %v = tensor.collapse_shape %vs [[0, 1], [2], [3]] : tensor<2x1x32x16xf32> into tensor<2x32x16xf32>
  %es = tensor.empty() : tensor<2x1x32xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %s = linalg.batch_matmul indexing_maps = [#mq, #mk, #ms] ins(%q, %k : tensor<2x1x16xf32>, tensor<2x32x16xf32>) outs(%zs : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  // expected-remark @below {{'linalg.softmax' not raised as attention: linalg.softmax found, but the query has 1 heads, not a multiple of the 2 K/V heads read from the cache: the head count is ambiguous}}
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x32xf32>) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %eo = tensor.empty() : tensor<2x1x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf32>, tensor<2x32x16xf32>) outs(%zo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  return %o : tensor<2x1x16xf32>
}
