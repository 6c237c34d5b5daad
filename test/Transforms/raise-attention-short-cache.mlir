// RUN: kv-opt %s --kvtier-raise-attention="remarks=false" -verify-diagnostics \
// RUN:   --mlir-print-op-on-diagnostic=false | FileCheck %s

// Caches shorter than the 16-token default block: each gets the largest
// power of two that divides its length (whole blocks), with a warning
// naming the block chosen, instead of an error.

// CHECK-LABEL: func.func @twelve_tokens
// CHECK:         kvtier.cache "twelve_tokens.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 4, max_tokens = 12, batch = 1>
// CHECK:         kvtier.attention
func.func @twelve_tokens(%q: tensor<2x1x16xf32>, %kt: tensor<2x16x12xf32>,
                         %v: tensor<2x12x16xf32>) -> tensor<2x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x1x12xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x12xf32>) -> tensor<2x1x12xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x16xf32>, tensor<2x16x12xf32>) outs(%zs : tensor<2x1x12xf32>) -> tensor<2x1x12xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x12xf32>) outs(%es : tensor<2x1x12xf32>) -> tensor<2x1x12xf32>
  %eo = tensor.empty() : tensor<2x1x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  // expected-warning @below {{attention cache of 12 tokens is shorter than one block of 16 tokens; using block = 4 (the largest power of two dividing 12)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x12xf32>, tensor<2x12x16xf32>) outs(%zo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  return %o : tensor<2x1x16xf32>
}

// CHECK-LABEL: func.func @seven_tokens
// CHECK:         kvtier.cache "seven_tokens.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 1, max_tokens = 7, batch = 1>
func.func @seven_tokens(%q: tensor<2x1x16xf32>, %kt: tensor<2x16x7xf32>,
                        %v: tensor<2x7x16xf32>) -> tensor<2x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x1x7xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x7xf32>) -> tensor<2x1x7xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x16xf32>, tensor<2x16x7xf32>) outs(%zs : tensor<2x1x7xf32>) -> tensor<2x1x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x7xf32>) outs(%es : tensor<2x1x7xf32>) -> tensor<2x1x7xf32>
  %eo = tensor.empty() : tensor<2x1x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  // expected-warning @below {{attention cache of 7 tokens is shorter than one block of 16 tokens; using block = 1 (the largest power of two dividing 7)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x7xf32>, tensor<2x7x16xf32>) outs(%zo : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  return %o : tensor<2x1x16xf32>
}

// A cache of at least one block keeps the requested block (no warning).

// CHECK-LABEL: func.func @sixteen_tokens
// CHECK:         kvtier.cache "sixteen_tokens.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 16, element = f32, block = 16, max_tokens = 16, batch = 1>
func.func @sixteen_tokens(%q: tensor<2x1x16xf32>, %kt: tensor<2x16x16xf32>,
                          %v: tensor<2x16x16xf32>) -> tensor<2x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x1x16xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x16xf32>, tensor<2x16x16xf32>) outs(%zs : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x16xf32>) outs(%es : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x16xf32>, tensor<2x16x16xf32>) outs(%zs : tensor<2x1x16xf32>) -> tensor<2x1x16xf32>
  return %o : tensor<2x1x16xf32>
}
