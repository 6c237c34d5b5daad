// Driver of the shared Qwen3 TOSA decode graph (../shared/data/mlir/
// qwen3-decode-tosa.mlir, its own @main dropped) for mlir-runner: every
// input is a deterministic function of its index (amp * sin(0.37 * i +
// salt); the residual input small, so the hidden state is mostly the
// attention and FFN branches), the caches hold those values (the graph decodes position 10, so
// tokens [0, 10) are the prompt), and the mask is the decode mask of
// position 10 (0 on [0, 10], the f32 minimum after). Calls @kernel once and
// prints the hidden state and both updated caches.
module {
  // @printMemrefF32 is declared by the graph itself.

  // v[i] = amp * sin(0.37 * i + salt)
  func.func @gen(%n: index, %salt: f32, %amp: f32) -> tensor<?xf32> {
    %e = tensor.empty(%n) : tensor<?xf32>
    %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e : tensor<?xf32>) {
    ^bb0(%o: f32):
      %i = linalg.index 0 : index
      %ii = arith.index_cast %i : index to i64
      %f = arith.sitofp %ii : i64 to f32
      %k = arith.constant 0.37 : f32
      %x = arith.mulf %f, %k : f32
      %y = arith.addf %x, %salt : f32
      %s = math.sin %y : f32
      %v = arith.mulf %s, %amp : f32
      linalg.yield %v : f32
    } -> tensor<?xf32>
    return %r : tensor<?xf32>
  }

  func.func @main() {
    %n_x = arith.constant 1536 : index
    %salt_x = arith.constant 0.5 : f32
    %amp_x = arith.constant 0.01 : f32
    %d_x = func.call @gen(%n_x, %salt_x, %amp_x) : (index, f32, f32) -> tensor<?xf32>
    %f_x = tensor.cast %d_x : tensor<?xf32> to tensor<1536xf32>
    %x = tensor.expand_shape %f_x [[0, 1, 2]] output_shape [1, 1, 1536] : tensor<1536xf32> into tensor<1x1x1536xf32>
    %n_norm1 = arith.constant 1536 : index
    %salt_norm1 = arith.constant 1.5 : f32
    %amp_norm1 = arith.constant 1.0 : f32
    %d_norm1 = func.call @gen(%n_norm1, %salt_norm1, %amp_norm1) : (index, f32, f32) -> tensor<?xf32>
    %f_norm1 = tensor.cast %d_norm1 : tensor<?xf32> to tensor<1536xf32>
    %norm1 = tensor.expand_shape %f_norm1 [[0, 1, 2]] output_shape [1, 1, 1536] : tensor<1536xf32> into tensor<1x1x1536xf32>
    %n_wq = arith.constant 2359296 : index
    %salt_wq = arith.constant 2.5 : f32
    %amp_wq = arith.constant 0.02 : f32
    %d_wq = func.call @gen(%n_wq, %salt_wq, %amp_wq) : (index, f32, f32) -> tensor<?xf32>
    %f_wq = tensor.cast %d_wq : tensor<?xf32> to tensor<2359296xf32>
    %wq = tensor.expand_shape %f_wq [[0, 1, 2]] output_shape [1, 1536, 1536] : tensor<2359296xf32> into tensor<1x1536x1536xf32>
    %n_wk = arith.constant 2359296 : index
    %salt_wk = arith.constant 3.5 : f32
    %amp_wk = arith.constant 0.02 : f32
    %d_wk = func.call @gen(%n_wk, %salt_wk, %amp_wk) : (index, f32, f32) -> tensor<?xf32>
    %f_wk = tensor.cast %d_wk : tensor<?xf32> to tensor<2359296xf32>
    %wk = tensor.expand_shape %f_wk [[0, 1, 2]] output_shape [1, 1536, 1536] : tensor<2359296xf32> into tensor<1x1536x1536xf32>
    %n_wv = arith.constant 2359296 : index
    %salt_wv = arith.constant 4.5 : f32
    %amp_wv = arith.constant 0.02 : f32
    %d_wv = func.call @gen(%n_wv, %salt_wv, %amp_wv) : (index, f32, f32) -> tensor<?xf32>
    %f_wv = tensor.cast %d_wv : tensor<?xf32> to tensor<2359296xf32>
    %wv = tensor.expand_shape %f_wv [[0, 1, 2]] output_shape [1, 1536, 1536] : tensor<2359296xf32> into tensor<1x1536x1536xf32>
    %n_wo = arith.constant 2359296 : index
    %salt_wo = arith.constant 5.5 : f32
    %amp_wo = arith.constant 0.02 : f32
    %d_wo = func.call @gen(%n_wo, %salt_wo, %amp_wo) : (index, f32, f32) -> tensor<?xf32>
    %f_wo = tensor.cast %d_wo : tensor<?xf32> to tensor<2359296xf32>
    %wo = tensor.expand_shape %f_wo [[0, 1, 2]] output_shape [1, 1536, 1536] : tensor<2359296xf32> into tensor<1x1536x1536xf32>
    %n_cos = arith.constant 128 : index
    %salt_cos = arith.constant 6.5 : f32
    %amp_cos = arith.constant 1.0 : f32
    %d_cos = func.call @gen(%n_cos, %salt_cos, %amp_cos) : (index, f32, f32) -> tensor<?xf32>
    %f_cos = tensor.cast %d_cos : tensor<?xf32> to tensor<128xf32>
    %cos = tensor.expand_shape %f_cos [[0, 1, 2, 3]] output_shape [1, 1, 1, 128] : tensor<128xf32> into tensor<1x1x1x128xf32>
    %n_sin = arith.constant 128 : index
    %salt_sin = arith.constant 7.5 : f32
    %amp_sin = arith.constant 1.0 : f32
    %d_sin = func.call @gen(%n_sin, %salt_sin, %amp_sin) : (index, f32, f32) -> tensor<?xf32>
    %f_sin = tensor.cast %d_sin : tensor<?xf32> to tensor<128xf32>
    %sin = tensor.expand_shape %f_sin [[0, 1, 2, 3]] output_shape [1, 1, 1, 128] : tensor<128xf32> into tensor<1x1x1x128xf32>
    %n_kc = arith.constant 61440 : index
    %salt_kc = arith.constant 8.5 : f32
    %amp_kc = arith.constant 1.0 : f32
    %d_kc = func.call @gen(%n_kc, %salt_kc, %amp_kc) : (index, f32, f32) -> tensor<?xf32>
    %f_kc = tensor.cast %d_kc : tensor<?xf32> to tensor<61440xf32>
    %kc = tensor.expand_shape %f_kc [[0, 1, 2, 3]] output_shape [1, 12, 40, 128] : tensor<61440xf32> into tensor<1x12x40x128xf32>
    %n_vc = arith.constant 61440 : index
    %salt_vc = arith.constant 9.5 : f32
    %amp_vc = arith.constant 1.0 : f32
    %d_vc = func.call @gen(%n_vc, %salt_vc, %amp_vc) : (index, f32, f32) -> tensor<?xf32>
    %f_vc = tensor.cast %d_vc : tensor<?xf32> to tensor<61440xf32>
    %vc = tensor.expand_shape %f_vc [[0, 1, 2, 3]] output_shape [1, 12, 40, 128] : tensor<61440xf32> into tensor<1x12x40x128xf32>
    %n_norm2 = arith.constant 1536 : index
    %salt_norm2 = arith.constant 10.5 : f32
    %amp_norm2 = arith.constant 1.0 : f32
    %d_norm2 = func.call @gen(%n_norm2, %salt_norm2, %amp_norm2) : (index, f32, f32) -> tensor<?xf32>
    %f_norm2 = tensor.cast %d_norm2 : tensor<?xf32> to tensor<1536xf32>
    %norm2 = tensor.expand_shape %f_norm2 [[0, 1, 2]] output_shape [1, 1, 1536] : tensor<1536xf32> into tensor<1x1x1536xf32>
    %n_gate = arith.constant 13762560 : index
    %salt_gate = arith.constant 11.5 : f32
    %amp_gate = arith.constant 0.02 : f32
    %d_gate = func.call @gen(%n_gate, %salt_gate, %amp_gate) : (index, f32, f32) -> tensor<?xf32>
    %f_gate = tensor.cast %d_gate : tensor<?xf32> to tensor<13762560xf32>
    %gate = tensor.expand_shape %f_gate [[0, 1, 2]] output_shape [1, 1536, 8960] : tensor<13762560xf32> into tensor<1x1536x8960xf32>
    %n_up = arith.constant 13762560 : index
    %salt_up = arith.constant 12.5 : f32
    %amp_up = arith.constant 0.02 : f32
    %d_up = func.call @gen(%n_up, %salt_up, %amp_up) : (index, f32, f32) -> tensor<?xf32>
    %f_up = tensor.cast %d_up : tensor<?xf32> to tensor<13762560xf32>
    %up = tensor.expand_shape %f_up [[0, 1, 2]] output_shape [1, 1536, 8960] : tensor<13762560xf32> into tensor<1x1536x8960xf32>
    %n_down = arith.constant 13762560 : index
    %salt_down = arith.constant 13.5 : f32
    %amp_down = arith.constant 0.02 : f32
    %d_down = func.call @gen(%n_down, %salt_down, %amp_down) : (index, f32, f32) -> tensor<?xf32>
    %f_down = tensor.cast %d_down : tensor<?xf32> to tensor<13762560xf32>
    %down = tensor.expand_shape %f_down [[0, 1, 2]] output_shape [1, 8960, 1536] : tensor<13762560xf32> into tensor<1x8960x1536xf32>
    %me = tensor.empty() : tensor<1x1x1x40xf32>
    %mask = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%me : tensor<1x1x1x40xf32>) {
    ^bb0(%o: f32):
      %t = linalg.index 3 : index
      %c10 = arith.constant 10 : index
      %in = arith.cmpi ule, %t, %c10 : index
      %z = arith.constant 0.0 : f32
      %min = arith.constant -3.4028235e38 : f32
      %v = arith.select %in, %z, %min : f32
      linalg.yield %v : f32
    } -> tensor<1x1x1x40xf32>
    %h, %ko, %vo = func.call @kernel(%x, %norm1, %wq, %wk, %wv, %wo, %mask, %cos, %sin, %kc, %vc, %norm2, %gate, %up, %down)
      : (tensor<1x1x1536xf32>, tensor<1x1x1536xf32>, tensor<1x1536x1536xf32>, tensor<1x1536x1536xf32>, tensor<1x1536x1536xf32>, tensor<1x1536x1536xf32>, tensor<1x1x1x40xf32>, tensor<1x1x1x128xf32>, tensor<1x1x1x128xf32>, tensor<1x12x40x128xf32>, tensor<1x12x40x128xf32>, tensor<1x1x1536xf32>, tensor<1x1536x8960xf32>, tensor<1x1536x8960xf32>, tensor<1x8960x1536xf32>)
      -> (tensor<1x1x1536xf32>, tensor<1x12x40x128xf32>, tensor<1x12x40x128xf32>)
    %uh = tensor.cast %h : tensor<1x1x1536xf32> to tensor<*xf32>
    %uk = tensor.cast %ko : tensor<1x12x40x128xf32> to tensor<*xf32>
    %uv = tensor.cast %vo : tensor<1x12x40x128xf32> to tensor<*xf32>
    func.call @printMemrefF32(%uh) : (tensor<*xf32>) -> ()
    func.call @printMemrefF32(%uk) : (tensor<*xf32>) -> ()
    func.call @printMemrefF32(%uv) : (tensor<*xf32>) -> ()
    return
  }
}
