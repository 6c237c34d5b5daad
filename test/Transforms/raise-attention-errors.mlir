// RUN: kv-opt %s --kvtier-raise-attention="block=64 remarks=false" \
// RUN:   -verify-diagnostics -split-input-file
// RUN: not kv-opt %s --kvtier-raise-attention="block=0" -split-input-file \
// RUN:   2>&1 | FileCheck %s --check-prefix=ZERO

// ZERO: error: kvtier-raise-attention: block must be positive, got 0

// A 32-token cache cannot hold one 64-token block: an error at the
// attention, and the IR is not annotated.

func.func @cache_shorter_than_block(%q: tensor<2x1x64xf32>, %kt: tensor<2x64x32xf32>,
                                    %v: tensor<2x32x64xf32>) -> tensor<2x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x1x32xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x64xf32>, tensor<2x64x32xf32>) outs(%zs : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x32xf32>) outs(%es : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %eo = tensor.empty() : tensor<2x1x64xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x64xf32>) -> tensor<2x1x64xf32>
  // expected-error @below {{attention cache of 32 tokens is shorter than one block of 64 tokens; run with block=32 or less}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf32>, tensor<2x32x64xf32>) outs(%zo : tensor<2x1x64xf32>) -> tensor<2x1x64xf32>
  return %o : tensor<2x1x64xf32>
}
