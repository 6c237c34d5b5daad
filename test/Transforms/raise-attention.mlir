// RUN: kv-opt %s --kvtier-raise-attention -verify-diagnostics \
// RUN:   --mlir-print-op-on-diagnostic=false | kv-opt | FileCheck %s
// RUN: kv-opt %s --kvtier-raise-attention="remarks=false" -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=QUIET --allow-empty
// Raising twice adds nothing: the second run finds only tagged ops.
// RUN: kv-opt %s --kvtier-raise-attention="remarks=false" -o %t.once.mlir
// RUN: kv-opt %t.once.mlir --kvtier-raise-attention="remarks=false" \
// RUN:   -o %t.twice.mlir
// RUN: diff %t.once.mlir %t.twice.mlir

// With remarks=false the pass says nothing.
// QUIET-NOT: remark:

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red3 = affine_map<(d0, d1, d2) -> (d0, d1)>

// Decomposed softmax (linalg.generic max / sub / exp / sum / div) between
// two batch_matmuls; K arrives transposed; the cache is a function argument
// and no scatter exists, so the position is the sequence length.

// CHECK-LABEL: func.func @generic_softmax
// CHECK:         %[[KV:.*]] = kvtier.cache "generic_softmax.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         linalg.batch_matmul {kvtier.attention_id = 0 : i64}
// CHECK:         %[[O:.*]] = linalg.batch_matmul {kvtier.attention_id = 0 : i64}
// CHECK-NEXT:    %[[POS:.*]] = arith.constant 32 : index
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 0 : i64}
// CHECK-NEXT:    return %[[O]]
func.func @generic_softmax(%q: tensor<2x1x64xf32>, %k: tensor<2x32x64xf32>,
                           %v: tensor<2x32x64xf32>) -> tensor<2x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %ekt = tensor.empty() : tensor<2x64x32xf32>
  %kt = linalg.transpose ins(%k : tensor<2x32x64xf32>) outs(%ekt : tensor<2x64x32xf32>) permutation = [0, 2, 1]
  %es = tensor.empty() : tensor<2x1x32xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x64xf32>, tensor<2x64x32xf32>) outs(%zs : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %er = tensor.empty() : tensor<2x1xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x1xf32>) -> tensor<2x1xf32>
  %m = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s : tensor<2x1x32xf32>) outs(%mi : tensor<2x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x1xf32>
  %sub = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m : tensor<2x1x32xf32>, tensor<2x1xf32>) outs(%es : tensor<2x1x32xf32>) {
  ^bb0(%in: f32, %in1: f32, %out: f32):
    %0 = arith.subf %in, %in1 : f32
    linalg.yield %0 : f32
  } -> tensor<2x1x32xf32>
  %e = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sub : tensor<2x1x32xf32>) outs(%es : tensor<2x1x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.exp %in : f32
    linalg.yield %0 : f32
  } -> tensor<2x1x32xf32>
  %zi = linalg.fill ins(%zero : f32) outs(%er : tensor<2x1xf32>) -> tensor<2x1xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%e : tensor<2x1x32xf32>) outs(%zi : tensor<2x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%e, %sum : tensor<2x1x32xf32>, tensor<2x1xf32>) outs(%es : tensor<2x1x32xf32>) {
  ^bb0(%in: f32, %in1: f32, %out: f32):
    %0 = arith.divf %in, %in1 : f32
    linalg.yield %0 : f32
  } -> tensor<2x1x32xf32>
  %eo = tensor.empty() : tensor<2x1x64xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x64xf32>) -> tensor<2x1x64xf32>
  // expected-remark @below {{attention 0 (exp/sum/div softmax): kv_heads = 2, head_dim = 64, tokens = 32, batch = 1; no scatter of the new token found, position = sequence length 32}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf32>, tensor<2x32x64xf32>) outs(%zo : tensor<2x1x64xf32>) -> tensor<2x1x64xf32>
  return %o : tensor<2x1x64xf32>
}

// linalg.softmax; the new token is scattered with a linalg.generic that
// selects on linalg.index == %pos (the form of next-kvcache.mlir).

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#new4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>

// CHECK-LABEL: func.func @linalg_softmax_select_scatter
// CHECK-SAME:    %[[POS:[^:]*]]: index
// CHECK:         %[[KV:.*]] = kvtier.cache "linalg_softmax_select_scatter.kv0" : !kvtier.cache<layers = 1, kv_heads = 4, head_dim = 16, element = f16, block = 16, max_tokens = 64, batch = 1>
// CHECK:         linalg.generic {{.*}} attrs = {kvtier.attention_id = 1 : i64}
// CHECK:         linalg.softmax {kvtier.attention_id = 1 : i64}
// CHECK:         linalg.batch_matmul {kvtier.attention_id = 1 : i64}
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 1 : i64}
func.func @linalg_softmax_select_scatter(%q: tensor<4x1x16xf16>, %kc: tensor<1x4x64x16xf16>,
                                         %knew: tensor<1x4x1x16xf16>, %v: tensor<4x64x16xf16>,
                                         %pos: index) -> tensor<4x1x16xf16> {
  %zero = arith.constant 0.0 : f16
  %ek = tensor.empty() : tensor<1x4x64x16xf16>
  %k = linalg.generic {indexing_maps = [#id4, #new4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%kc, %knew : tensor<1x4x64x16xf16>, tensor<1x4x1x16xf16>) outs(%ek : tensor<1x4x64x16xf16>) {
  ^bb0(%old: f16, %new: f16, %out: f16):
    %i = linalg.index 2 : index
    %at = arith.cmpi eq, %i, %pos : index
    %r = arith.select %at, %new, %old : f16
    linalg.yield %r : f16
  } -> tensor<1x4x64x16xf16>
  %k3 = tensor.collapse_shape %k [[0, 1], [2], [3]] : tensor<1x4x64x16xf16> into tensor<4x64x16xf16>
  %ekt = tensor.empty() : tensor<4x16x64xf16>
  %kt = linalg.transpose ins(%k3 : tensor<4x64x16xf16>) outs(%ekt : tensor<4x16x64xf16>) permutation = [0, 2, 1]
  %es = tensor.empty() : tensor<4x1x64xf16>
  %zs = linalg.fill ins(%zero : f16) outs(%es : tensor<4x1x64xf16>) -> tensor<4x1x64xf16>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<4x1x16xf16>, tensor<4x16x64xf16>) outs(%zs : tensor<4x1x64xf16>) -> tensor<4x1x64xf16>
  %p = linalg.softmax dimension(2) ins(%s : tensor<4x1x64xf16>) outs(%es : tensor<4x1x64xf16>) -> tensor<4x1x64xf16>
  %eo = tensor.empty() : tensor<4x1x16xf16>
  %zo = linalg.fill ins(%zero : f16) outs(%eo : tensor<4x1x16xf16>) -> tensor<4x1x16xf16>
  // expected-remark @below {{attention 1 (linalg.softmax): kv_heads = 4, head_dim = 16, tokens = 64, batch = 1}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x1x64xf16>, tensor<4x64x16xf16>) outs(%zo : tensor<4x1x16xf16>) -> tensor<4x1x16xf16>
  return %o : tensor<4x1x16xf16>
}

// Log-sum-exp normalisation: p = exp(s - (max + log(sum(exp(s - max))))).

#red1 = affine_map<(d0, d1) -> (d0)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// CHECK-LABEL: func.func @log_sum_exp
// CHECK:         %[[KV:.*]] = kvtier.cache "log_sum_exp.kv0" : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 32, element = f32, block = 16, max_tokens = 16, batch = 1>
// CHECK:         linalg.matmul {kvtier.attention_id = 2 : i64}
// CHECK:         linalg.log
// CHECK:         linalg.matmul {kvtier.attention_id = 2 : i64}
// CHECK-NEXT:    %[[POS:.*]] = arith.constant 16 : index
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 2 : i64}
func.func @log_sum_exp(%q: tensor<1x32xf32>, %kt: tensor<32x16xf32>, %v: tensor<16x32xf32>) -> tensor<1x32xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<1x16xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<1x16xf32>) -> tensor<1x16xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<1x32xf32>, tensor<32x16xf32>) outs(%zs : tensor<1x16xf32>) -> tensor<1x16xf32>
  %er = tensor.empty() : tensor<1xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<1xf32>) -> tensor<1xf32>
  %m = linalg.reduce ins(%s : tensor<1x16xf32>) outs(%mi : tensor<1xf32>) dimensions = [1]
    (%in: f32, %out: f32) {
      %0 = arith.maximumf %in, %out : f32
      linalg.yield %0 : f32
    }
  %sub = linalg.generic {indexing_maps = [#id2, #red1, #id2], iterator_types = ["parallel", "parallel"]} ins(%s, %m : tensor<1x16xf32>, tensor<1xf32>) outs(%es : tensor<1x16xf32>) {
  ^bb0(%in: f32, %in1: f32, %out: f32):
    %0 = arith.subf %in, %in1 : f32
    linalg.yield %0 : f32
  } -> tensor<1x16xf32>
  %e = linalg.exp ins(%sub : tensor<1x16xf32>) outs(%es : tensor<1x16xf32>) -> tensor<1x16xf32>
  %zi = linalg.fill ins(%zero : f32) outs(%er : tensor<1xf32>) -> tensor<1xf32>
  %sum = linalg.reduce ins(%e : tensor<1x16xf32>) outs(%zi : tensor<1xf32>) dimensions = [1]
    (%in: f32, %out: f32) {
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    }
  %l = linalg.log ins(%sum : tensor<1xf32>) outs(%er : tensor<1xf32>) -> tensor<1xf32>
  %lse = linalg.add ins(%m, %l : tensor<1xf32>, tensor<1xf32>) outs(%er : tensor<1xf32>) -> tensor<1xf32>
  %sub2 = linalg.generic {indexing_maps = [#id2, #red1, #id2], iterator_types = ["parallel", "parallel"]} ins(%s, %lse : tensor<1x16xf32>, tensor<1xf32>) outs(%es : tensor<1x16xf32>) {
  ^bb0(%in: f32, %in1: f32, %out: f32):
    %0 = arith.subf %in, %in1 : f32
    linalg.yield %0 : f32
  } -> tensor<1x16xf32>
  %p = linalg.exp ins(%sub2 : tensor<1x16xf32>) outs(%es : tensor<1x16xf32>) -> tensor<1x16xf32>
  %eo = tensor.empty() : tensor<1x32xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x32xf32>) -> tensor<1x32xf32>
  // expected-remark @below {{attention 2 (log-sum-exp softmax): kv_heads = 1, head_dim = 32, tokens = 16, batch = 1; no scatter}}
  %o = linalg.matmul ins(%p, %v : tensor<1x16xf32>, tensor<16x32xf32>) outs(%zo : tensor<1x32xf32>) -> tensor<1x32xf32>
  return %o : tensor<1x32xf32>
}

// TOSA: reduce_max / sub / exp / reduce_sum / reciprocal / mul, GQA by
// reshape + tosa.tile (2 KV heads, 8 query heads), and the new token
// inserted into the cache with tensor.insert_slice at %pos.

// CHECK-LABEL: func.func @tosa_gqa_insert_slice
// CHECK-SAME:    %[[POS:[^:]*]]: index
// CHECK:         %[[KV:.*]] = kvtier.cache "tosa_gqa_insert_slice.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         tensor.insert_slice {{.*}} {kvtier.attention_id = 3 : i64}
// CHECK:         tosa.tile {{.*}} {kvtier.attention_id = 3 : i64}
// CHECK:         tosa.reciprocal {{.*}} {kvtier.attention_id = 3 : i64}
// CHECK:         tosa.matmul {{.*}} {kvtier.attention_id = 3 : i64}
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 3 : i64}
func.func @tosa_gqa_insert_slice(%q: tensor<8x1x64xf32>, %kc: tensor<2x32x64xf32>, %vc: tensor<2x32x64xf32>,
                                 %knew: tensor<2x1x64xf32>, %vnew: tensor<2x1x64xf32>, %pos: index) -> tensor<8x1x64xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %k = tensor.insert_slice %knew into %kc[0, %pos, 0] [2, 1, 64] [1, 1, 1] : tensor<2x1x64xf32> into tensor<2x32x64xf32>
  %v = tensor.insert_slice %vnew into %vc[0, %pos, 0] [2, 1, 64] [1, 1, 1] : tensor<2x1x64xf32> into tensor<2x32x64xf32>
  %s4 = tosa.const_shape {values = dense<[2, 1, 32, 64]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %rep = tosa.const_shape {values = dense<[1, 4, 1, 1]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %s3 = tosa.const_shape {values = dense<[8, 32, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %k4 = tosa.reshape %k, %s4 : (tensor<2x32x64xf32>, !tosa.shape<4>) -> tensor<2x1x32x64xf32>
  %kr = tosa.tile %k4, %rep : (tensor<2x1x32x64xf32>, !tosa.shape<4>) -> tensor<2x4x32x64xf32>
  %k8 = tosa.reshape %kr, %s3 : (tensor<2x4x32x64xf32>, !tosa.shape<3>) -> tensor<8x32x64xf32>
  %v4 = tosa.reshape %v, %s4 : (tensor<2x32x64xf32>, !tosa.shape<4>) -> tensor<2x1x32x64xf32>
  %vr = tosa.tile %v4, %rep : (tensor<2x1x32x64xf32>, !tosa.shape<4>) -> tensor<2x4x32x64xf32>
  %v8 = tosa.reshape %vr, %s3 : (tensor<2x4x32x64xf32>, !tosa.shape<3>) -> tensor<8x32x64xf32>
  %kt = tosa.transpose %k8 {perms = array<i32: 0, 2, 1>} : (tensor<8x32x64xf32>) -> tensor<8x64x32xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x1x64xf32>, tensor<8x64x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x1x32xf32>
  %m = tosa.reduce_max %s {axis = 2 : i32} : (tensor<8x1x32xf32>) -> tensor<8x1x1xf32>
  %d = tosa.sub %s, %m : (tensor<8x1x32xf32>, tensor<8x1x1xf32>) -> tensor<8x1x32xf32>
  %e = tosa.exp %d : (tensor<8x1x32xf32>) -> tensor<8x1x32xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<8x1x32xf32>) -> tensor<8x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<8x1x1xf32>) -> tensor<8x1x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<8x1x32xf32>, tensor<8x1x1xf32>, tensor<1xi8>) -> tensor<8x1x32xf32>
  // expected-remark @below {{attention 3 (exp/sum/div softmax): kv_heads = 2, head_dim = 64, tokens = 32, batch = 1, GQA 8/2}}
  %o = tosa.matmul %p, %v8, %zp, %zp : (tensor<8x1x32xf32>, tensor<8x32x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// Contraction generics (Q*K^T with K untransposed, batch_matmul_transpose_b
// style), GQA by expand_shape + broadcast generic + collapse_shape, and the
// cache a memref written with memref.store at %pos (read through
// bufferization.to_tensor).

#q5 = affine_map<(b, h, i, j, d) -> (b, h, i, d)>
#k5 = affine_map<(b, h, i, j, d) -> (b, h, j, d)>
#s5 = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#p5 = affine_map<(b, h, i, d, j) -> (b, h, i, j)>
#v5 = affine_map<(b, h, i, d, j) -> (b, h, j, d)>
#o5 = affine_map<(b, h, i, d, j) -> (b, h, i, d)>
#bin5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#bout5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>

// CHECK-LABEL: func.func @generic_contraction_gqa_memref
// CHECK-SAME:    %[[POS:[^:]*]]: index
// CHECK:         %[[KV:.*]] = kvtier.cache "generic_contraction_gqa_memref.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = bf16, block = 16, max_tokens = 128, batch = 1>
// CHECK:         memref.store {{.*}} {kvtier.attention_id = 4 : i64}
// CHECK:         kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 4 : i64}
func.func @generic_contraction_gqa_memref(%q: tensor<1x8x1x64xbf16>, %kc: memref<1x2x128x64xbf16>,
                                          %vc: memref<1x2x128x64xbf16>, %knew: bf16, %pos: index) -> tensor<1x8x1x64xbf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : bf16
  scf.for %h = %c0 to %c2 step %c1 {
    scf.for %d = %c0 to %c64 step %c1 {
      memref.store %knew, %kc[%c0, %h, %pos, %d] : memref<1x2x128x64xbf16>
    }
  }
  %k = bufferization.to_tensor %kc restrict : memref<1x2x128x64xbf16> to tensor<1x2x128x64xbf16>
  %v = bufferization.to_tensor %vc restrict : memref<1x2x128x64xbf16> to tensor<1x2x128x64xbf16>
  %k5 = tensor.expand_shape %k [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, 128, 64] : tensor<1x2x128x64xbf16> into tensor<1x2x1x128x64xbf16>
  %eb = tensor.empty() : tensor<1x2x4x128x64xbf16>
  %kb = linalg.generic {indexing_maps = [#bin5, #bout5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%k5 : tensor<1x2x1x128x64xbf16>) outs(%eb : tensor<1x2x4x128x64xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    linalg.yield %in : bf16
  } -> tensor<1x2x4x128x64xbf16>
  %k8 = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<1x2x4x128x64xbf16> into tensor<1x8x128x64xbf16>
  %v5 = tensor.expand_shape %v [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, 128, 64] : tensor<1x2x128x64xbf16> into tensor<1x2x1x128x64xbf16>
  %vb = linalg.generic {indexing_maps = [#bin5, #bout5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%v5 : tensor<1x2x1x128x64xbf16>) outs(%eb : tensor<1x2x4x128x64xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    linalg.yield %in : bf16
  } -> tensor<1x2x4x128x64xbf16>
  %v8 = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<1x2x4x128x64xbf16> into tensor<1x8x128x64xbf16>
  %es = tensor.empty() : tensor<1x8x1x128xbf16>
  %zs = linalg.fill ins(%zero : bf16) outs(%es : tensor<1x8x1x128xbf16>) -> tensor<1x8x1x128xbf16>
  %s = linalg.generic {indexing_maps = [#q5, #k5, #s5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k8 : tensor<1x8x1x64xbf16>, tensor<1x8x128x64xbf16>) outs(%zs : tensor<1x8x1x128xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %acc: bf16):
    %0 = arith.mulf %a, %b : bf16
    %1 = arith.addf %acc, %0 : bf16
    linalg.yield %1 : bf16
  } -> tensor<1x8x1x128xbf16>
  %p = linalg.softmax dimension(3) ins(%s : tensor<1x8x1x128xbf16>) outs(%es : tensor<1x8x1x128xbf16>) -> tensor<1x8x1x128xbf16>
  %eo = tensor.empty() : tensor<1x8x1x64xbf16>
  %zo = linalg.fill ins(%zero : bf16) outs(%eo : tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16>
  // expected-remark @below {{attention 4 (linalg.softmax): kv_heads = 2, head_dim = 64, tokens = 128, batch = 1, GQA 8/2}}
  %o = linalg.generic {indexing_maps = [#p5, #v5, #o5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v8 : tensor<1x8x1x128xbf16>, tensor<1x8x128x64xbf16>) outs(%zo : tensor<1x8x1x64xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %acc: bf16):
    %0 = arith.mulf %a, %b : bf16
    %1 = arith.addf %acc, %0 : bf16
    linalg.yield %1 : bf16
  } -> tensor<1x8x1x64xbf16>
  return %o : tensor<1x8x1x64xbf16>
}

// A fused online-softmax loop over the cached tokens (scf): running max,
// exp rescale, running sum, accumulator of V. The annotation goes after the
// head loop, whose induction variable indexes Q, K and V.

// CHECK-LABEL: func.func @online_softmax_loop
// CHECK:         %[[KV:.*]] = kvtier.cache "online_softmax_loop.kv0" : !kvtier.cache<layers = 1, kv_heads = 4, head_dim = 64, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         scf.for
// CHECK:           scf.for {{.*}} iter_args
// CHECK:           } {kvtier.attention_id = 5 : i64}
// CHECK:         }
// CHECK-NEXT:    %[[POS:.*]] = arith.constant 32 : index
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 5 : i64}
func.func @online_softmax_loop(%q: memref<4x64xf32>, %k: memref<4x32x64xf32>, %v: memref<4x32x64xf32>,
                               %acc: memref<64xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scale = arith.constant 0.125 : f32
  // expected-remark @below {{attention 5 (fused online-softmax loop): kv_heads = 4, head_dim = 64, tokens = 32, batch = 1; no scatter}}
  scf.for %h = %c0 to %c4 step %c1 {
    %r:2 = scf.for %t = %c0 to %c32 step %c1 iter_args(%m = %ninf, %l = %zero) -> (f32, f32) {
      %dot = scf.for %d = %c0 to %c64 step %c1 iter_args(%a = %zero) -> (f32) {
        %qv = memref.load %q[%h, %d] : memref<4x64xf32>
        %kv = memref.load %k[%h, %t, %d] : memref<4x32x64xf32>
        %pr = arith.mulf %qv, %kv : f32
        %sm = arith.addf %a, %pr : f32
        scf.yield %sm : f32
      }
      %s = arith.mulf %dot, %scale : f32
      %mn = arith.maximumf %m, %s : f32
      %d1 = arith.subf %m, %mn : f32
      %alpha = math.exp %d1 : f32
      %d2 = arith.subf %s, %mn : f32
      %beta = math.exp %d2 : f32
      %l1 = arith.mulf %l, %alpha : f32
      %l2 = arith.addf %l1, %beta : f32
      scf.for %d = %c0 to %c64 step %c1 {
        %av = memref.load %acc[%d] : memref<64xf32>
        %vv = memref.load %v[%h, %t, %d] : memref<4x32x64xf32>
        %a1 = arith.mulf %av, %alpha : f32
        %b1 = arith.mulf %vv, %beta : f32
        %a2 = arith.addf %a1, %b1 : f32
        memref.store %a2, %acc[%d] : memref<64xf32>
      }
      scf.yield %mn, %l2 : f32, f32
    }
    memref.store %r#1, %out[%h] : memref<4xf32>
  }
  return
}

// Near miss: a loop carrying an exp sum, but no running maximum.

// CHECK-LABEL: func.func @near_miss_loop_without_max
// CHECK-NOT:     kvtier
func.func @near_miss_loop_without_max(%x: memref<32xf32>) -> (f32, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  // expected-remark @below {{not raised as attention: a loop with loop-carried values and an exp is not a fused online-softmax attention: no loop-carried running maximum (max or cmpf+select)}}
  %r:2 = scf.for %i = %c0 to %c32 step %c1 iter_args(%s = %zero, %t = %zero) -> (f32, f32) {
    %xv = memref.load %x[%i] : memref<32xf32>
    %e = math.exp %xv : f32
    %s1 = arith.addf %s, %e : f32
    %t1 = arith.addf %t, %xv : f32
    scf.yield %s1, %t1 : f32, f32
  }
  return %r#0, %r#1 : f32, f32
}

// Near miss: a softmax alone is not attention.

// CHECK-LABEL: func.func @negative_softmax_alone
// CHECK-NOT:     kvtier
func.func @negative_softmax_alone(%x: tensor<2x32xf32>) -> tensor<2x32xf32> {
  %e = tensor.empty() : tensor<2x32xf32>
  // expected-remark @below {{not raised as attention: linalg.softmax found, but its scores are not produced by a Q*K^T contraction}}
  %p = linalg.softmax dimension(1) ins(%x : tensor<2x32xf32>) outs(%e : tensor<2x32xf32>) -> tensor<2x32xf32>
  return %p : tensor<2x32xf32>
}

// Near miss: a classifier head (matmul then softmax) has no *V contraction.

// CHECK-LABEL: func.func @negative_matmul_softmax_classifier
// CHECK-NOT:     kvtier
func.func @negative_matmul_softmax_classifier(%x: tensor<1x128xf32>, %w: tensor<128x10xf32>) -> tensor<1x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x10xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x10xf32>) -> tensor<1x10xf32>
  %s = linalg.matmul ins(%x, %w : tensor<1x128xf32>, tensor<128x10xf32>) outs(%z : tensor<1x10xf32>) -> tensor<1x10xf32>
  // expected-remark @below {{not raised as attention: linalg.softmax found, but its probabilities do not reach a *V contraction over the softmax dimension}}
  %p = linalg.softmax dimension(1) ins(%s : tensor<1x10xf32>) outs(%e : tensor<1x10xf32>) -> tensor<1x10xf32>
  return %p : tensor<1x10xf32>
}

// Near miss: the softmax runs over the batch dimension of the contraction,
// so it is not a distribution over key tokens.

// CHECK-LABEL: func.func @negative_softmax_over_batch
// CHECK-NOT:     kvtier
func.func @negative_softmax_over_batch(%a: tensor<4x8x16xf32>, %b: tensor<4x16x8xf32>,
                                       %c: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %s = linalg.batch_matmul ins(%a, %b : tensor<4x8x16xf32>, tensor<4x16x8xf32>) outs(%z : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  // expected-remark @below {{not raised as attention: linalg.softmax found, but the softmax dimension is not a key-token dimension of the Q*K^T contraction}}
  %p = linalg.softmax dimension(0) ins(%s : tensor<4x8x8xf32>) outs(%e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %eo = tensor.empty() : tensor<4x8x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %c : tensor<4x8x8xf32>, tensor<4x8x16xf32>) outs(%zo : tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return %o : tensor<4x8x16xf32>
}

// Not a candidate at all: exp and matmuls without a normalisation.

// CHECK-LABEL: func.func @negative_exp_without_sum
// CHECK-NOT:     kvtier
func.func @negative_exp_without_sum(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.exp ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// K/V read as a dynamic [0, %n) slice of a static cache, GQA by
// linalg.broadcast, Q*K^T as a batch_matmul with a transposed-K indexing
// map: the cache length is the static 128 and the position is %n.

#mq = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#mk = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#ms = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @sliced_cache_broadcast
// CHECK-SAME:    %[[N:[^:]*]]: index
// CHECK:         %[[KV:.*]] = kvtier.cache "sliced_cache_broadcast.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = f32, block = 16, max_tokens = 128, batch = 1>
// CHECK:         linalg.broadcast {{.*}} {kvtier.attention_id = 6 : i64}
// CHECK:         linalg.batch_matmul
// CHECK:         linalg.batch_matmul
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[N]] {kvtier.attention_id = 6 : i64}
func.func @sliced_cache_broadcast(%q: tensor<8x1x64xf32>, %kc: tensor<2x128x64xf32>,
                                  %vc: tensor<2x128x64xf32>, %n: index) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %k = tensor.extract_slice %kc[0, 0, 0] [2, %n, 64] [1, 1, 1] : tensor<2x128x64xf32> to tensor<2x?x64xf32>
  %v = tensor.extract_slice %vc[0, 0, 0] [2, %n, 64] [1, 1, 1] : tensor<2x128x64xf32> to tensor<2x?x64xf32>
  %eb = tensor.empty(%n) : tensor<2x4x?x64xf32>
  %kb = linalg.broadcast ins(%k : tensor<2x?x64xf32>) outs(%eb : tensor<2x4x?x64xf32>) dimensions = [1]
  %vb = linalg.broadcast ins(%v : tensor<2x?x64xf32>) outs(%eb : tensor<2x4x?x64xf32>) dimensions = [1]
  %k8 = tensor.collapse_shape %kb [[0, 1], [2], [3]] : tensor<2x4x?x64xf32> into tensor<8x?x64xf32>
  %v8 = tensor.collapse_shape %vb [[0, 1], [2], [3]] : tensor<2x4x?x64xf32> into tensor<8x?x64xf32>
  %es = tensor.empty(%n) : tensor<8x1x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x1x?xf32>) -> tensor<8x1x?xf32>
  %s = linalg.batch_matmul indexing_maps = [#mq, #mk, #ms] ins(%q, %k8 : tensor<8x1x64xf32>, tensor<8x?x64xf32>) outs(%zs : tensor<8x1x?xf32>) -> tensor<8x1x?xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x?xf32>) outs(%es : tensor<8x1x?xf32>) -> tensor<8x1x?xf32>
  %eo = tensor.empty() : tensor<8x1x64xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{attention 6 (linalg.softmax): kv_heads = 2, head_dim = 64, tokens = 128, batch = 1, GQA 8/2; position = length of the [0, n) cache read}}
  %o = linalg.batch_matmul ins(%p, %v8 : tensor<8x1x?xf32>, tensor<8x?x64xf32>) outs(%zo : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// The new token copied into a subview of the cache buffer (memref.copy);
// the cache is read back with bufferization.to_tensor.

// CHECK-LABEL: func.func @memref_copy_scatter
// CHECK-SAME:    %[[POS:[^:]*]]: index
// CHECK:         %[[KV:.*]] = kvtier.cache "memref_copy_scatter.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         memref.copy {{.*}} {kvtier.attention_id = 7 : i64}
// CHECK:         kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 7 : i64}
func.func @memref_copy_scatter(%q: tensor<2x1x16xf32>, %kc: memref<2x32x16xf32>, %v: tensor<2x32x16xf32>,
                               %kn: memref<2x1x16xf32>, %pos: index) -> tensor<2x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %sub = memref.subview %kc[0, %pos, 0] [2, 1, 16] [1, 1, 1] : memref<2x32x16xf32> to memref<2x1x16xf32, strided<[512, 16, 1], offset: ?>>
  memref.copy %kn, %sub : memref<2x1x16xf32> to memref<2x1x16xf32, strided<[512, 16, 1], offset: ?>>
  %k = bufferization.to_tensor %kc restrict : memref<2x32x16xf32> to tensor<2x32x16xf32>
  %ekt = tensor.empty() : tensor<2x16x32xf32>
  %kt = linalg.transpose ins(%k : tensor<2x32x16xf32>) outs(%ekt : tensor<2x16x32xf32>) permutation = [0, 2, 1]
  %es = tensor.empty() : tensor<2x1x32xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x16xf32>, tensor<2x16x32xf32>) outs(%zs : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x32xf32>) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %eo = tensor.empty() : tensor<2x1x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  // expected-remark @below {{attention 7 (linalg.softmax): kv_heads = 2, head_dim = 16, tokens = 32, batch = 1}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf32>, tensor<2x32x16xf32>) outs(%zo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  return %o : tensor<2x1x16xf32>
}

// Near miss: K and V disagree (f32 keys, f16 values).

// CHECK-LABEL: func.func @negative_kv_disagree
// CHECK-NOT:     kvtier
func.func @negative_kv_disagree(%q: tensor<2x1x16xf32>, %k: tensor<2x32x16xf32>,
                                %v: tensor<2x32x16xf16>) -> tensor<2x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x32xf32>
  %kt = linalg.transpose ins(%k : tensor<2x32x16xf32>) outs(%ekt : tensor<2x16x32xf32>) permutation = [0, 2, 1]
  %es = tensor.empty() : tensor<2x1x32xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x16xf32>, tensor<2x16x32xf32>) outs(%zs : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  // expected-remark @below {{not raised as attention: linalg.softmax found, but keys and values disagree on tokens, heads, head dim, batch or element type}}
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x32xf32>) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %eo = tensor.empty() : tensor<2x1x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf32>, tensor<2x32x16xf16>) outs(%zo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  return %o : tensor<2x1x16xf32>
}

// Near miss: softmax over a product with constant "keys" (a router-like
// weight matrix) mixing constant "values" is not attention over tokens.

// CHECK-LABEL: func.func @negative_constant_keys
// CHECK-NOT:     kvtier
func.func @negative_constant_keys(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<16x8xf32>
  %y = arith.constant dense<0.25> : tensor<8x16xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %s = linalg.matmul ins(%x, %w : tensor<4x16xf32>, tensor<16x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  // expected-remark @below {{not raised as attention: linalg.softmax found, but the keys or values are constants, not a token sequence}}
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %eo = tensor.empty() : tensor<4x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x16xf32>) -> tensor<4x16xf32>
  %o = linalg.matmul ins(%p, %y : tensor<4x8xf32>, tensor<8x16xf32>) outs(%zo : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %o : tensor<4x16xf32>
}

// Near miss: the online-softmax recurrence over K is there, but nothing
// accumulates V.

// CHECK-LABEL: func.func @near_miss_loop_without_values
// CHECK-NOT:     kvtier
func.func @near_miss_loop_without_values(%q: memref<64xf32>, %k: memref<32x64xf32>) -> (f32, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  // expected-remark @below {{not raised as attention: a loop with loop-carried values and an exp is not a fused online-softmax attention: no accumulator of values indexed by the loop induction variable and an inner head-dimension loop}}
  %r:2 = scf.for %t = %c0 to %c32 step %c1 iter_args(%m = %ninf, %l = %zero) -> (f32, f32) {
    %dot = scf.for %d = %c0 to %c64 step %c1 iter_args(%a = %zero) -> (f32) {
      %qv = memref.load %q[%d] : memref<64xf32>
      %kv = memref.load %k[%t, %d] : memref<32x64xf32>
      %pr = arith.mulf %qv, %kv : f32
      %sm = arith.addf %a, %pr : f32
      scf.yield %sm : f32
    }
    %mn = arith.maximumf %m, %dot : f32
    %d1 = arith.subf %m, %mn : f32
    %alpha = math.exp %d1 : f32
    %d2 = arith.subf %dot, %mn : f32
    %beta = math.exp %d2 : f32
    %l1 = arith.mulf %l, %alpha : f32
    %l2 = arith.addf %l1, %beta : f32
    scf.yield %mn, %l2 : f32, f32
  }
  return %r#0, %r#1 : f32, f32
}

// The cache is carried through a loop (iter_args) and read without a
// scatter: it is still the function's persistent cache (no "activations").

// CHECK-LABEL: func.func @loop_carried_cache
// CHECK:         %[[KV:.*]] = kvtier.cache "loop_carried_cache.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         scf.for
// CHECK:           linalg.batch_matmul {kvtier.attention_id = 8 : i64}
// CHECK:           linalg.batch_matmul {kvtier.attention_id = 8 : i64}
// CHECK-NEXT:      %[[POS:.*]] = arith.constant 32 : index
// CHECK-NEXT:      kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 8 : i64}
func.func @loop_carried_cache(%q: tensor<2x1x16xf32>, %kc: tensor<2x32x16xf32>,
                              %vc: tensor<2x32x16xf32>) -> tensor<2x1x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %r:3 = scf.for %l = %c0 to %c4 step %c1 iter_args(%x = %q, %k = %kc, %v = %vc)
      -> (tensor<2x1x16xf32>, tensor<2x32x16xf32>, tensor<2x32x16xf32>) {
    %ekt = tensor.empty() : tensor<2x16x32xf32>
    %kt = linalg.transpose ins(%k : tensor<2x32x16xf32>) outs(%ekt : tensor<2x16x32xf32>) permutation = [0, 2, 1]
    %es = tensor.empty() : tensor<2x1x32xf32>
    %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
    %s = linalg.batch_matmul ins(%x, %kt : tensor<2x1x16xf32>, tensor<2x16x32xf32>) outs(%zs : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
    %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x32xf32>) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
    %eo = tensor.empty() : tensor<2x1x16xf32>
    %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
    // expected-remark @below {{attention 8 (linalg.softmax): kv_heads = 2, head_dim = 16, tokens = 32, batch = 1; no scatter of the new token found, position = sequence length 32}}
    %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf32>, tensor<2x32x16xf32>) outs(%zo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
    scf.yield %o, %k, %v : tensor<2x1x16xf32>, tensor<2x32x16xf32>, tensor<2x32x16xf32>
  }
  return %r#0 : tensor<2x1x16xf32>
}

// A fused online-softmax loop over [0, %n) cached tokens: %n is the
// position.

// CHECK-LABEL: func.func @online_loop_dynamic_length
// CHECK-SAME:    %[[N:[^:]*]]: index
// CHECK:         %[[KV:.*]] = kvtier.cache "online_loop_dynamic_length.kv0" : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 64, element = f32, block = 16, max_tokens = 128, batch = 1>
// CHECK:         } {kvtier.attention_id = 9 : i64}
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[N]] {kvtier.attention_id = 9 : i64}
func.func @online_loop_dynamic_length(%q: memref<64xf32>, %k: memref<128x64xf32>, %v: memref<128x64xf32>,
                                      %acc: memref<64xf32>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  // expected-remark @below {{attention 9 (fused online-softmax loop): kv_heads = 1, head_dim = 64, tokens = 128, batch = 1; position = length of the [0, n) cache read}}
  %r:2 = scf.for %t = %c0 to %n step %c1 iter_args(%m = %ninf, %l = %zero) -> (f32, f32) {
    %dot = scf.for %d = %c0 to %c64 step %c1 iter_args(%a = %zero) -> (f32) {
      %qv = memref.load %q[%d] : memref<64xf32>
      %kv = memref.load %k[%t, %d] : memref<128x64xf32>
      %pr = arith.mulf %qv, %kv : f32
      %sm = arith.addf %a, %pr : f32
      scf.yield %sm : f32
    }
    %gt = arith.cmpf ogt, %dot, %m : f32
    %mn = arith.select %gt, %dot, %m : f32
    %d1 = arith.subf %m, %mn : f32
    %alpha = math.exp %d1 : f32
    %d2 = arith.subf %dot, %mn : f32
    %beta = math.exp %d2 : f32
    %l1 = arith.mulf %l, %alpha : f32
    %l2 = arith.addf %l1, %beta : f32
    scf.for %d = %c0 to %c64 step %c1 {
      %av = memref.load %acc[%d] : memref<64xf32>
      %vv = memref.load %v[%t, %d] : memref<128x64xf32>
      %a1 = arith.mulf %av, %alpha : f32
      %b1 = arith.mulf %vv, %beta : f32
      %a2 = arith.addf %a1, %b1 : f32
      memref.store %a2, %acc[%d] : memref<64xf32>
    }
    scf.yield %mn, %l2 : f32, f32
  }
  return %r#1 : f32
}

// The fused loop in vector form: K read with vector.transfer_read, the
// accumulator updated from vector.load of V, an affine.for over the tokens.

// CHECK-LABEL: func.func @online_loop_vector_reads
// CHECK:         %[[KV:.*]] = kvtier.cache "online_loop_vector_reads.kv0" : !kvtier.cache<layers = 1, kv_heads = 1, head_dim = 64, element = f32, block = 16, max_tokens = 256, batch = 1>
// CHECK:         } {kvtier.attention_id = 10 : i64}
// CHECK-NEXT:    %[[POS:.*]] = arith.constant 256 : index
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[POS]] {kvtier.attention_id = 10 : i64}
func.func @online_loop_vector_reads(%q: memref<64xf32>, %k: memref<256x64xf32>, %v: memref<256x64xf32>,
                                    %acc: memref<64xf32>) -> f32 {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %vzero = arith.constant dense<0.0> : vector<16xf32>
  // expected-remark @below {{attention 10 (fused online-softmax loop): kv_heads = 1, head_dim = 64, tokens = 256, batch = 1; no scatter}}
  %r:2 = affine.for %t = 0 to 256 iter_args(%m = %ninf, %l = %zero) -> (f32, f32) {
    %dv = affine.for %d = 0 to 64 step 16 iter_args(%a = %vzero) -> (vector<16xf32>) {
      %qv = vector.load %q[%d] : memref<64xf32>, vector<16xf32>
      %kv = vector.transfer_read %k[%t, %d], %zero {in_bounds = [true]} : memref<256x64xf32>, vector<16xf32>
      %f = vector.fma %qv, %kv, %a : vector<16xf32>
      affine.yield %f : vector<16xf32>
    }
    %dot = vector.reduction <add>, %dv : vector<16xf32> into f32
    %mn = arith.maxnumf %m, %dot : f32
    %d1 = arith.subf %m, %mn : f32
    %alpha = math.exp %d1 : f32
    %d2 = arith.subf %dot, %mn : f32
    %beta = math.exp %d2 : f32
    %l1 = arith.mulf %l, %alpha : f32
    %l2 = arith.addf %l1, %beta : f32
    affine.for %d = 0 to 64 step 16 {
      %av = vector.load %acc[%d] : memref<64xf32>, vector<16xf32>
      %vv = vector.load %v[%t, %d] : memref<256x64xf32>, vector<16xf32>
      %ab = vector.broadcast %alpha : f32 to vector<16xf32>
      %bb = vector.broadcast %beta : f32 to vector<16xf32>
      %a1 = arith.mulf %av, %ab : vector<16xf32>
      %a2 = vector.fma %vv, %bb, %a1 : vector<16xf32>
      vector.store %a2, %acc[%d] : memref<64xf32>, vector<16xf32>
    }
    affine.yield %mn, %l2 : f32, f32
  }
  return %r#1 : f32
}
