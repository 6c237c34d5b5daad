// Driver of tosa-decode.mlir for mlir-runner: caches holding an 8-token
// prompt, then 24 decode steps at positions 8..31 with deterministic
// queries and new K/V (sines of the indices) and the decode mask of each
// position (0 on [0, pos], the f32 minimum after, as HF exports build it);
// prints both attention outputs every step and the four caches at the end.
#map4 = affine_map<(a, b, c, d) -> (a, b, c, d)>
module {
  func.func private @printMemrefF32(tensor<*xf32>)

  // x[b, h, i, d] = sin(0.37 * (step * 64 + salt * 16 + h * 8 + d) + 0.1 * i)
  func.func @token(%step: index, %salt: index) -> tensor<1x2x1x8xf32> {
    %e = tensor.empty() : tensor<1x2x1x8xf32>
    %r = linalg.generic {indexing_maps = [#map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x1x8xf32>) {
    ^bb0(%o: f32):
      %h = linalg.index 1 : index
      %d = linalg.index 3 : index
      %c64 = arith.constant 64 : index
      %c16 = arith.constant 16 : index
      %c8 = arith.constant 8 : index
      %a = arith.muli %step, %c64 : index
      %b = arith.muli %salt, %c16 : index
      %c = arith.muli %h, %c8 : index
      %s1 = arith.addi %a, %b : index
      %s2 = arith.addi %s1, %c : index
      %s3 = arith.addi %s2, %d : index
      %i = arith.index_cast %s3 : index to i64
      %f = arith.sitofp %i : i64 to f32
      %k = arith.constant 0.37 : f32
      %x = arith.mulf %f, %k : f32
      %y = math.sin %x : f32
      linalg.yield %y : f32
    } -> tensor<1x2x1x8xf32>
    return %r : tensor<1x2x1x8xf32>
  }

  // cache[b, h, t, d] = cos(0.23 * (salt * 512 + h * 256 + t * 8 + d)) for
  // t < prompt, 0 after.
  func.func @prefix(%salt: index, %prompt: index) -> tensor<1x2x32x8xf32> {
    %e = tensor.empty() : tensor<1x2x32x8xf32>
    %r = linalg.generic {indexing_maps = [#map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x32x8xf32>) {
    ^bb0(%o: f32):
      %h = linalg.index 1 : index
      %t = linalg.index 2 : index
      %d = linalg.index 3 : index
      %c512 = arith.constant 512 : index
      %c256 = arith.constant 256 : index
      %c8 = arith.constant 8 : index
      %a = arith.muli %salt, %c512 : index
      %b = arith.muli %h, %c256 : index
      %c = arith.muli %t, %c8 : index
      %s1 = arith.addi %a, %b : index
      %s2 = arith.addi %s1, %c : index
      %s3 = arith.addi %s2, %d : index
      %i = arith.index_cast %s3 : index to i64
      %f = arith.sitofp %i : i64 to f32
      %k = arith.constant 0.23 : f32
      %x = arith.mulf %f, %k : f32
      %y = math.cos %x : f32
      %in = arith.cmpi ult, %t, %prompt : index
      %z = arith.constant 0.0 : f32
      %v = arith.select %in, %y, %z : f32
      linalg.yield %v : f32
    } -> tensor<1x2x32x8xf32>
    return %r : tensor<1x2x32x8xf32>
  }

  // mask[0, 0, 0, t] = 0 for t <= pos, -3.4028235e38 after.
  func.func @mask(%pos: index) -> tensor<1x1x1x32xf32> {
    %e = tensor.empty() : tensor<1x1x1x32xf32>
    %r = linalg.generic {indexing_maps = [#map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x1x1x32xf32>) {
    ^bb0(%o: f32):
      %t = linalg.index 3 : index
      %in = arith.cmpi ule, %t, %pos : index
      %z = arith.constant 0.0 : f32
      %min = arith.constant -3.4028235e38 : f32
      %v = arith.select %in, %z, %min : f32
      linalg.yield %v : f32
    } -> tensor<1x1x1x32xf32>
    return %r : tensor<1x1x1x32xf32>
  }

  func.func @main() {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %c5 = arith.constant 5 : index
    %prompt = arith.constant 8 : index
    %steps = arith.constant 24 : index
    %kc0 = func.call @prefix(%c0, %prompt) : (index, index) -> tensor<1x2x32x8xf32>
    %vc0 = func.call @prefix(%c1, %prompt) : (index, index) -> tensor<1x2x32x8xf32>
    %kc1 = func.call @prefix(%c2, %prompt) : (index, index) -> tensor<1x2x32x8xf32>
    %vc1 = func.call @prefix(%c3, %prompt) : (index, index) -> tensor<1x2x32x8xf32>
    %r:4 = scf.for %s = %c0 to %steps step %c1
        iter_args(%a = %kc0, %b = %vc0, %c = %kc1, %d = %vc1)
        -> (tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) {
      %pos = arith.addi %prompt, %s : index
      %q0 = func.call @token(%s, %c0) : (index, index) -> tensor<1x2x1x8xf32>
      %k0 = func.call @token(%s, %c1) : (index, index) -> tensor<1x2x1x8xf32>
      %v0 = func.call @token(%s, %c2) : (index, index) -> tensor<1x2x1x8xf32>
      %q1 = func.call @token(%s, %c3) : (index, index) -> tensor<1x2x1x8xf32>
      %k1 = func.call @token(%s, %c4) : (index, index) -> tensor<1x2x1x8xf32>
      %v1 = func.call @token(%s, %c5) : (index, index) -> tensor<1x2x1x8xf32>
      %mk = func.call @mask(%pos) : (index) -> tensor<1x1x1x32xf32>
      %o:6 = func.call @decode(%q0, %k0, %v0, %q1, %k1, %v1, %a, %b, %c, %d, %pos, %mk)
          : (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, index, tensor<1x1x1x32xf32>)
          -> (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>)
      %u0 = tensor.cast %o#0 : tensor<1x2x1x8xf32> to tensor<*xf32>
      %u1 = tensor.cast %o#1 : tensor<1x2x1x8xf32> to tensor<*xf32>
      func.call @printMemrefF32(%u0) : (tensor<*xf32>) -> ()
      func.call @printMemrefF32(%u1) : (tensor<*xf32>) -> ()
      scf.yield %o#2, %o#3, %o#4, %o#5 : tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>
    }
    %w0 = tensor.cast %r#0 : tensor<1x2x32x8xf32> to tensor<*xf32>
    %w1 = tensor.cast %r#1 : tensor<1x2x32x8xf32> to tensor<*xf32>
    %w2 = tensor.cast %r#2 : tensor<1x2x32x8xf32> to tensor<*xf32>
    %w3 = tensor.cast %r#3 : tensor<1x2x32x8xf32> to tensor<*xf32>
    func.call @printMemrefF32(%w0) : (tensor<*xf32>) -> ()
    func.call @printMemrefF32(%w1) : (tensor<*xf32>) -> ()
    func.call @printMemrefF32(%w2) : (tensor<*xf32>) -> ()
    func.call @printMemrefF32(%w3) : (tensor<*xf32>) -> ()
    return
  }
}
