// RUN: kv-opt %s --kvtier-raise-attention -verify-diagnostics \
// RUN:   --mlir-print-op-on-diagnostic=false | FileCheck %s
// RUN: kv-opt %s --kvtier-raise-attention -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// REMARK-COUNT-2: remark: attention {{[01]}} (linalg.softmax): kv_heads = 4, head_dim = 16, tokens = 64, batch = 1{{$}}
// REMARK-NOT: activations
// REMARK-NOT: see current operation

// Cache writes whose position compare is written in i64: the select
// scatter generic casts linalg.index to i64 and compares it with an i64
// position. The caches are persistent (not "activations") and the
// position is the i64 value cast back to index.

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#new4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>
#pos4 = affine_map<(d0, d1, d2, d3) -> (0)>

// CHECK-LABEL: func.func @index_cast_i64_position
// CHECK-SAME:    %[[POS:[^:]*]]: i64
// CHECK:         %[[KV:.*]] = kvtier.cache "index_cast_i64_position.kv0" : !kvtier.cache<layers = 1, kv_heads = 4, head_dim = 16, element = f16, block = 16, max_tokens = 64, batch = 1>
// CHECK:         linalg.generic {{.*}} attrs = {kvtier.attention_id = 0 : i64}
// CHECK:         linalg.batch_matmul {kvtier.attention_id = 0 : i64}
// CHECK:         linalg.batch_matmul {kvtier.attention_id = 0 : i64}
// CHECK-NEXT:    %[[P:.*]] = arith.index_cast %[[POS]] : i64 to index
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[P]] {kvtier.attention_id = 0 : i64}
func.func @index_cast_i64_position(%q: tensor<4x1x16xf16>, %kc: tensor<1x4x64x16xf16>,
                                   %knew: tensor<1x4x1x16xf16>, %v: tensor<4x64x16xf16>,
                                   %pos: i64) -> tensor<4x1x16xf16> {
  %zero = arith.constant 0.0 : f16
  %ek = tensor.empty() : tensor<1x4x64x16xf16>
  %k = linalg.generic {indexing_maps = [#id4, #new4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%kc, %knew : tensor<1x4x64x16xf16>, tensor<1x4x1x16xf16>) outs(%ek : tensor<1x4x64x16xf16>) {
  ^bb0(%old: f16, %new: f16, %out: f16):
    %i = linalg.index 2 : index
    %i64 = arith.index_cast %i : index to i64
    %at = arith.cmpi eq, %i64, %pos : i64
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
  // expected-remark @below {{attention 0 (linalg.softmax): kv_heads = 4, head_dim = 16, tokens = 64, batch = 1}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x1x64xf16>, tensor<4x64x16xf16>) outs(%zo : tensor<4x1x16xf16>) -> tensor<4x1x16xf16>
  return %o : tensor<4x1x16xf16>
}

// The i64 position is an input of the scatter generic (a one-element
// tensor broadcast to every element): element 0 is the position.

// CHECK-LABEL: func.func @position_tensor_input
// CHECK-SAME:    %[[POS:[^:]*]]: tensor<1xi64>
// CHECK:         %[[KV:.*]] = kvtier.cache "position_tensor_input.kv0"
// CHECK:         linalg.generic {{.*}} attrs = {kvtier.attention_id = 1 : i64}
// CHECK:         linalg.batch_matmul {kvtier.attention_id = 1 : i64}
// CHECK:         linalg.batch_matmul {kvtier.attention_id = 1 : i64}
// CHECK-NEXT:    %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[E:.*]] = tensor.extract %[[POS]][%[[C0]]] : tensor<1xi64>
// CHECK-NEXT:    %[[P:.*]] = arith.index_cast %[[E]] : i64 to index
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[P]] {kvtier.attention_id = 1 : i64}
func.func @position_tensor_input(%q: tensor<4x1x16xf16>, %kc: tensor<1x4x64x16xf16>,
                                 %knew: tensor<1x4x1x16xf16>, %v: tensor<4x64x16xf16>,
                                 %pos: tensor<1xi64>) -> tensor<4x1x16xf16> {
  %zero = arith.constant 0.0 : f16
  %ek = tensor.empty() : tensor<1x4x64x16xf16>
  %k = linalg.generic {indexing_maps = [#id4, #new4, #pos4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%kc, %knew, %pos : tensor<1x4x64x16xf16>, tensor<1x4x1x16xf16>, tensor<1xi64>) outs(%ek : tensor<1x4x64x16xf16>) {
  ^bb0(%old: f16, %new: f16, %p: i64, %out: f16):
    %i = linalg.index 2 : index
    %i64 = arith.index_cast %i : index to i64
    %at = arith.cmpi eq, %p, %i64 : i64
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
