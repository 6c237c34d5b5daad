// RUN: kv-opt %s --kvtier-raise-attention -verify-diagnostics \
// RUN:   --mlir-print-op-on-diagnostic=false | FileCheck %s

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red3 = affine_map<(d0, d1, d2) -> (d0, d1)>

// A softmax whose linalg.generic computes exp(x - max) in one body, with
// the row max as its second input (max / fused exp-sub / sum / div).

// CHECK-LABEL: func.func @fused_exp_sub
// CHECK:         kvtier.cache "fused_exp_sub.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = f32, block = 16, max_tokens = 32, batch = 1>
// CHECK:         linalg.generic {{.*}} attrs = {kvtier.attention_id = 0 : i64}
// CHECK:         kvtier.attention
func.func @fused_exp_sub(%q: tensor<2x1x64xf32>, %kt: tensor<2x64x32xf32>,
                         %v: tensor<2x32x64xf32>) -> tensor<2x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
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
  %e = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m : tensor<2x1x32xf32>, tensor<2x1xf32>) outs(%es : tensor<2x1x32xf32>) {
  ^bb0(%in: f32, %max: f32, %out: f32):
    %0 = arith.subf %in, %max : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x1x32xf32>
  %zi = linalg.fill ins(%zero : f32) outs(%er : tensor<2x1xf32>) -> tensor<2x1xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%e : tensor<2x1x32xf32>) outs(%zi : tensor<2x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%e, %sum : tensor<2x1x32xf32>, tensor<2x1xf32>) outs(%es : tensor<2x1x32xf32>) {
  ^bb0(%in: f32, %d: f32, %out: f32):
    %0 = arith.divf %in, %d : f32
    linalg.yield %0 : f32
  } -> tensor<2x1x32xf32>
  %eo = tensor.empty() : tensor<2x1x64xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x64xf32>) -> tensor<2x1x64xf32>
  // expected-remark @below {{attention 0 (exp/sum/div softmax): kv_heads = 2, head_dim = 64, tokens = 32, batch = 1}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf32>, tensor<2x32x64xf32>) outs(%zo : tensor<2x1x64xf32>) -> tensor<2x1x64xf32>
  return %o : tensor<2x1x64xf32>
}

// The same fused exp(x - max) with f16 scores widened inside the body.

// CHECK-LABEL: func.func @fused_exp_sub_casts
// CHECK:         kvtier.cache "fused_exp_sub_casts.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = f16, block = 16, max_tokens = 32, batch = 1>
func.func @fused_exp_sub_casts(%q: tensor<2x1x64xf16>, %kt: tensor<2x64x32xf16>,
                               %v: tensor<2x32x64xf16>) -> tensor<2x1x64xf16> {
  %zero = arith.constant 0.0 : f16
  %ninf = arith.constant 0xFC00 : f16
  %es = tensor.empty() : tensor<2x1x32xf16>
  %zs = linalg.fill ins(%zero : f16) outs(%es : tensor<2x1x32xf16>) -> tensor<2x1x32xf16>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x1x64xf16>, tensor<2x64x32xf16>) outs(%zs : tensor<2x1x32xf16>) -> tensor<2x1x32xf16>
  %er = tensor.empty() : tensor<2x1xf16>
  %mi = linalg.fill ins(%ninf : f16) outs(%er : tensor<2x1xf16>) -> tensor<2x1xf16>
  %m = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s : tensor<2x1x32xf16>) outs(%mi : tensor<2x1xf16>) {
  ^bb0(%in: f16, %out: f16):
    %0 = arith.maximumf %in, %out : f16
    linalg.yield %0 : f16
  } -> tensor<2x1xf16>
  %e = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m : tensor<2x1x32xf16>, tensor<2x1xf16>) outs(%es : tensor<2x1x32xf16>) {
  ^bb0(%in: f16, %max: f16, %out: f16):
    %a = arith.extf %in : f16 to f32
    %b = arith.extf %max : f16 to f32
    %0 = arith.subf %a, %b : f32
    %1 = math.exp %0 : f32
    %2 = arith.truncf %1 : f32 to f16
    linalg.yield %2 : f16
  } -> tensor<2x1x32xf16>
  %zi = linalg.fill ins(%zero : f16) outs(%er : tensor<2x1xf16>) -> tensor<2x1xf16>
  %sum = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%e : tensor<2x1x32xf16>) outs(%zi : tensor<2x1xf16>) {
  ^bb0(%in: f16, %out: f16):
    %0 = arith.addf %in, %out : f16
    linalg.yield %0 : f16
  } -> tensor<2x1xf16>
  %p = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%e, %sum : tensor<2x1x32xf16>, tensor<2x1xf16>) outs(%es : tensor<2x1x32xf16>) {
  ^bb0(%in: f16, %d: f16, %out: f16):
    %0 = arith.divf %in, %d : f16
    linalg.yield %0 : f16
  } -> tensor<2x1x32xf16>
  %eo = tensor.empty() : tensor<2x1x64xf16>
  %zo = linalg.fill ins(%zero : f16) outs(%eo : tensor<2x1x64xf16>) -> tensor<2x1x64xf16>
  // expected-remark @below {{attention 1 (exp/sum/div softmax): kv_heads = 2, head_dim = 64, tokens = 32, batch = 1}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x32xf16>, tensor<2x32x64xf16>) outs(%zo : tensor<2x1x64xf16>) -> tensor<2x1x64xf16>
  return %o : tensor<2x1x64xf16>
}

// Near miss: exp(x - max) and its sum, but nothing divides by the sum.

// CHECK-LABEL: func.func @near_miss_unnormalised
// CHECK-NOT:     kvtier
func.func @near_miss_unnormalised(%s: tensor<2x1x32xf32>) -> (tensor<2x1x32xf32>, tensor<2x1xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x1x32xf32>
  %er = tensor.empty() : tensor<2x1xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x1xf32>) -> tensor<2x1xf32>
  %m = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s : tensor<2x1x32xf32>) outs(%mi : tensor<2x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x1xf32>
  // expected-remark @below {{'linalg.generic' not raised as attention: exp(x - m) and a sum reduction of it found, but the exponentials are not normalised by the sum (divide, or multiply by its reciprocal)}}
  %e = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m : tensor<2x1x32xf32>, tensor<2x1xf32>) outs(%es : tensor<2x1x32xf32>) {
  ^bb0(%in: f32, %max: f32, %out: f32):
    %0 = arith.subf %in, %max : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x1x32xf32>
  %zi = linalg.fill ins(%zero : f32) outs(%er : tensor<2x1xf32>) -> tensor<2x1xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%e : tensor<2x1x32xf32>) outs(%zi : tensor<2x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x1xf32>
  return %e, %sum : tensor<2x1x32xf32>, tensor<2x1xf32>
}
