// RUN: kv-opt %s --kvtier-raise-attention="block=64 remarks=false" \
// RUN:   -verify-diagnostics -split-input-file | FileCheck %s
// RUN: not kv-opt %s --kvtier-raise-attention="block=0" -split-input-file \
// RUN:   2>&1 | FileCheck %s --check-prefix=ZERO

// ZERO: error: kvtier-raise-attention: block must be positive, got 0
// The error names the module's location only; the module is not printed.
// ZERO-NOT: see current operation
// ZERO-NOT: func.func

// A 32-token cache cannot hold one 64-token block: the pass chooses the
// largest power of two dividing the length (32) and says so.

// CHECK-LABEL: func.func @cache_shorter_than_block
// CHECK:         kvtier.cache "cache_shorter_than_block.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = f32, block = 32, max_tokens = 32, batch = 1>

func.func @cache_shorter_than_block(%q: tensor<2x1x64xf32>, %kt: tensor<2x64x32xf32>,
                                    %v: tensor<2x32x64xf32>) -> tensor<2x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x1x32xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x64xf32>, tensor<2x64x32xf32>) outs(%zs : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x32xf32>) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %eo = tensor.empty() : tensor<2x1x64xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x64xf32>) -> tensor<2x1x64xf32>
  // expected-warning @below {{attention cache of 32 tokens is shorter than one block of 64 tokens; using block = 32 (the largest power of two dividing 32)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf32>, tensor<2x32x64xf32>) outs(%zo : tensor<2x1x64xf32>) -> tensor<2x1x64xf32>
  return %o : tensor<2x1x64xf32>
}
