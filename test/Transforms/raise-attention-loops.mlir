// RUN: kv-opt %s --kvtier-raise-attention -verify-diagnostics \
// RUN:   --mlir-print-op-on-diagnostic=false | FileCheck %s
// RUN: kv-opt %s --kvtier-raise-attention -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NOOP
// Raising twice adds nothing: the raised nests are tagged.
// RUN: kv-opt %s --kvtier-raise-attention="remarks=false" -o %t.once.mlir
// RUN: kv-opt %t.once.mlir --kvtier-raise-attention="remarks=false" \
// RUN:   -o %t.twice.mlir
// RUN: diff %t.once.mlir %t.twice.mlir

// Attention written as loop nests over memrefs: recognised when the Q*K,
// softmax and *V nests are all there; otherwise never silently: one remark
// per loop nest, at the nest, saying what was found and what is missing.
// The nest itself is not printed.
// NOOP-NOT: see current operation
// NOOP-NOT: memref.load

// A GPT-2 style decode lowered to affine/vector loops (2 layers): past K/V
// are memrefs (function arguments), each layer's scores go through a
// memref: a Q*K nest with vector loads, a max loop, an exp/sum loop that
// writes the exponentials back, and a loop that divides and accumulates
// p * V. Recognised: one attention per layer, anchored after its *V nest;
// the two share one geometry and become the 2 layers of one cache.

// CHECK-LABEL: func.func @gpt2_decode_loops
// CHECK:         %[[KV:.*]] = kvtier.cache "gpt2_decode_loops.kv0" : !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 16, max_tokens = 16, batch = 1>
// CHECK:         } {kvtier.attention_id = 0 : i64}
// CHECK:         %[[P0:.*]] = arith.constant 16 : index
// CHECK-NEXT:    kvtier.attention %[[KV]] layer 0 at %[[P0]] {kvtier.attention_id = 0 : i64}
// CHECK:         kvtier.attention %[[KV]] layer 1 at %{{.*}} {kvtier.attention_id = 1 : i64}
func.func @gpt2_decode_loops(%q: memref<2x8xf32>, %pastk0: memref<2x16x8xf32>,
                             %pastv0: memref<2x16x8xf32>, %pastk1: memref<2x16x8xf32>,
                             %pastv1: memref<2x16x8xf32>, %out: memref<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scores = memref.alloc() : memref<2x16xf32>
  %mx = memref.alloc() : memref<2xf32>
  %sm = memref.alloc() : memref<2xf32>
  affine.for %h = 0 to 2 {
    affine.for %t = 0 to 16 {
      %qv = vector.load %q[%h, %c0] : memref<2x8xf32>, vector<8xf32>
      %kv = vector.load %pastk0[%h, %t, %c0] : memref<2x16x8xf32>, vector<8xf32>
      %p = arith.mulf %qv, %kv : vector<8xf32>
      %d = vector.reduction <add>, %p : vector<8xf32> into f32
      affine.store %d, %scores[%h, %t] : memref<2x16xf32>
    }
  }
  affine.for %h = 0 to 2 {
    %m = affine.for %t = 0 to 16 iter_args(%a = %ninf) -> (f32) {
      %s = affine.load %scores[%h, %t] : memref<2x16xf32>
      %n = arith.maximumf %a, %s : f32
      affine.yield %n : f32
    }
    affine.store %m, %mx[%h] : memref<2xf32>
  }
  affine.for %h = 0 to 2 {
    %m = affine.load %mx[%h] : memref<2xf32>
    %l = affine.for %t = 0 to 16 iter_args(%a = %zero) -> (f32) {
      %s = affine.load %scores[%h, %t] : memref<2x16xf32>
      %d = arith.subf %s, %m : f32
      %e = math.exp %d : f32
      affine.store %e, %scores[%h, %t] : memref<2x16xf32>
      %n = arith.addf %a, %e : f32
      affine.yield %n : f32
    }
    affine.store %l, %sm[%h] : memref<2xf32>
  }
    // expected-remark @below {{attention 0 (softmax in loop nests over memrefs): kv_heads = 2, head_dim = 8, tokens = 16, batch = 1; no scatter of the new token found, position = sequence length 16}}
  affine.for %h = 0 to 2 {
    %l = affine.load %sm[%h] : memref<2xf32>
    affine.for %t = 0 to 16 {
      %e = affine.load %scores[%h, %t] : memref<2x16xf32>
      %p = arith.divf %e, %l : f32
      %vv = vector.load %pastv0[%h, %t, %c0] : memref<2x16x8xf32>, vector<8xf32>
      %ov = vector.load %out[%h, %c0] : memref<2x8xf32>, vector<8xf32>
      %pb = vector.broadcast %p : f32 to vector<8xf32>
      %o2 = vector.fma %pb, %vv, %ov : vector<8xf32>
      vector.store %o2, %out[%h, %c0] : memref<2x8xf32>, vector<8xf32>
    }
  }
  affine.for %h = 0 to 2 {
    affine.for %t = 0 to 16 {
      %qv = vector.load %q[%h, %c0] : memref<2x8xf32>, vector<8xf32>
      %kv = vector.load %pastk1[%h, %t, %c0] : memref<2x16x8xf32>, vector<8xf32>
      %p = arith.mulf %qv, %kv : vector<8xf32>
      %d = vector.reduction <add>, %p : vector<8xf32> into f32
      affine.store %d, %scores[%h, %t] : memref<2x16xf32>
    }
  }
  affine.for %h = 0 to 2 {
    %m = affine.for %t = 0 to 16 iter_args(%a = %ninf) -> (f32) {
      %s = affine.load %scores[%h, %t] : memref<2x16xf32>
      %n = arith.maximumf %a, %s : f32
      affine.yield %n : f32
    }
    affine.store %m, %mx[%h] : memref<2xf32>
  }
  affine.for %h = 0 to 2 {
    %m = affine.load %mx[%h] : memref<2xf32>
    %l = affine.for %t = 0 to 16 iter_args(%a = %zero) -> (f32) {
      %s = affine.load %scores[%h, %t] : memref<2x16xf32>
      %d = arith.subf %s, %m : f32
      %e = math.exp %d : f32
      affine.store %e, %scores[%h, %t] : memref<2x16xf32>
      %n = arith.addf %a, %e : f32
      affine.yield %n : f32
    }
    affine.store %l, %sm[%h] : memref<2xf32>
  }
    // expected-remark @below {{attention 1 (softmax in loop nests over memrefs): kv_heads = 2, head_dim = 8, tokens = 16, batch = 1; no scatter}}
  affine.for %h = 0 to 2 {
    %l = affine.load %sm[%h] : memref<2xf32>
    affine.for %t = 0 to 16 {
      %e = affine.load %scores[%h, %t] : memref<2x16xf32>
      %p = arith.divf %e, %l : f32
      %vv = vector.load %pastv1[%h, %t, %c0] : memref<2x16x8xf32>, vector<8xf32>
      %ov = vector.load %out[%h, %c0] : memref<2x8xf32>, vector<8xf32>
      %pb = vector.broadcast %p : f32 to vector<8xf32>
      %o2 = vector.fma %pb, %vv, %ov : vector<8xf32>
      vector.store %o2, %out[%h, %c0] : memref<2x8xf32>, vector<8xf32>
    }
  }
  return
}

// The same softmax loops with no *V nest: not attention, said at the
// exp/sum nest with what is missing.

// CHECK-LABEL: func.func @near_miss_loops_without_values
// CHECK-NOT:     kvtier
func.func @near_miss_loops_without_values(%q: memref<2x8xf32>, %pastk0: memref<2x16x8xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scores = memref.alloc() : memref<2x16xf32>
  %mx = memref.alloc() : memref<2xf32>
  %sm = memref.alloc() : memref<2xf32>
  affine.for %h = 0 to 2 {
    affine.for %t = 0 to 16 {
      %qv = vector.load %q[%h, %c0] : memref<2x8xf32>, vector<8xf32>
      %kv = vector.load %pastk0[%h, %t, %c0] : memref<2x16x8xf32>, vector<8xf32>
      %p = arith.mulf %qv, %kv : vector<8xf32>
      %d = vector.reduction <add>, %p : vector<8xf32> into f32
      affine.store %d, %scores[%h, %t] : memref<2x16xf32>
    }
  }
  affine.for %h = 0 to 2 {
    %m = affine.for %t = 0 to 16 iter_args(%a = %ninf) -> (f32) {
      %s = affine.load %scores[%h, %t] : memref<2x16xf32>
      %n = arith.maximumf %a, %s : f32
      affine.yield %n : f32
    }
    affine.store %m, %mx[%h] : memref<2xf32>
  }
    // expected-remark @below {{'affine.for' not raised as attention: a softmax written as loops over memrefs found (exp of a score minus a maximum, the scores read from a memref<2x16xf32>); not raised: no loop nest reads the probabilities and values at the same token index (*V)}}
  affine.for %h = 0 to 2 {
    %m = affine.load %mx[%h] : memref<2xf32>
    %l = affine.for %t = 0 to 16 iter_args(%a = %zero) -> (f32) {
      %s = affine.load %scores[%h, %t] : memref<2x16xf32>
      %d = arith.subf %s, %m : f32
      %e = math.exp %d : f32
      affine.store %e, %scores[%h, %t] : memref<2x16xf32>
      %n = arith.addf %a, %e : f32
      affine.yield %n : f32
    }
    affine.store %l, %sm[%h] : memref<2xf32>
  }
  return
}

// A flash-attention kernel in scf.parallel tiles (head, query row): a loop
// over the cached tokens with the running max and sum kept in memory
// (memref.alloca), rescale by exp(m_old - m_new), accumulate into the
// output, normalise after the loop.

// CHECK-LABEL: func.func @flash_parallel_tiles
// CHECK-NOT:     kvtier
func.func @flash_parallel_tiles(%q: memref<2x4x8xf32>, %k: memref<2x32x8xf32>,
                                %v: memref<2x32x8xf32>, %o: memref<2x4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  // expected-remark @below {{'scf.parallel' not raised as attention: a softmax written as loops over memrefs found (exp of a score minus a running maximum, a rescale by exp(m_old - m_new)); its running max is kept in memory, not carried by the loop (an online, flash-style softmax); not raised: the score is not read from a memref}}
  scf.parallel (%h, %r) = (%c0, %c0) to (%c2, %c4) step (%c1, %c1) {
    %m = memref.alloca() : memref<f32>
    %l = memref.alloca() : memref<f32>
    memref.store %ninf, %m[] : memref<f32>
    memref.store %zero, %l[] : memref<f32>
    scf.for %kt = %c0 to %c32 step %c8 {
      scf.for %j = %c0 to %c8 step %c1 {
        %t = arith.addi %kt, %j : index
        %s = scf.for %d = %c0 to %c8 step %c1 iter_args(%a = %zero) -> (f32) {
          %qv = memref.load %q[%h, %r, %d] : memref<2x4x8xf32>
          %kv = memref.load %k[%h, %t, %d] : memref<2x32x8xf32>
          %pr = arith.mulf %qv, %kv : f32
          %sa = arith.addf %a, %pr : f32
          scf.yield %sa : f32
        }
        %mo = memref.load %m[] : memref<f32>
        %mn = arith.maximumf %mo, %s : f32
        memref.store %mn, %m[] : memref<f32>
        %d1 = arith.subf %mo, %mn : f32
        %alpha = math.exp %d1 : f32
        %d2 = arith.subf %s, %mn : f32
        %p = math.exp %d2 : f32
        %lo = memref.load %l[] : memref<f32>
        %l1 = arith.mulf %lo, %alpha : f32
        %l2 = arith.addf %l1, %p : f32
        memref.store %l2, %l[] : memref<f32>
        scf.for %d = %c0 to %c8 step %c1 {
          %ov = memref.load %o[%h, %r, %d] : memref<2x4x8xf32>
          %vv = memref.load %v[%h, %t, %d] : memref<2x32x8xf32>
          %o1 = arith.mulf %ov, %alpha : f32
          %o2 = arith.mulf %vv, %p : f32
          %o3 = arith.addf %o1, %o2 : f32
          memref.store %o3, %o[%h, %r, %d] : memref<2x4x8xf32>
        }
      }
    }
    %lf = memref.load %l[] : memref<f32>
    scf.for %d = %c0 to %c8 step %c1 {
      %ov = memref.load %o[%h, %r, %d] : memref<2x4x8xf32>
      %on = arith.divf %ov, %lf : f32
      memref.store %on, %o[%h, %r, %d] : memref<2x4x8xf32>
    }
    scf.reduce
  }
  return
}

// The same online softmax over KV tiles written on tensors: a loop over
// tiles carrying the running max, sum and accumulator, with linalg ops on
// each tile. The exponentials of a tile are summed into the running sum
// but only normalised after the loop.

#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#row = affine_map<(i, j) -> (i)>
#id2 = affine_map<(i, j) -> (i, j)>
#id1 = affine_map<(i) -> (i)>

// CHECK-LABEL: func.func @flash_tensor_tiles
// CHECK-NOT:     kvtier
func.func @flash_tensor_tiles(%q: tensor<4x8xf32>, %k: tensor<32x8xf32>, %v: tensor<32x8xf32>) -> tensor<4x8xf32> {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e4 = tensor.empty() : tensor<4xf32>
  %e44 = tensor.empty() : tensor<4x8xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %l0 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %a0 = linalg.fill ins(%zero : f32) outs(%e44 : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r:3 = scf.for %t = %c0 to %c32 step %c8 iter_args(%m = %m0, %l = %l0, %acc = %a0) -> (tensor<4xf32>, tensor<4xf32>, tensor<4x8xf32>) {
    %kt = tensor.extract_slice %k[%t, 0] [8, 8] [1, 1] : tensor<32x8xf32> to tensor<8x8xf32>
    %vt = tensor.extract_slice %v[%t, 0] [8, 8] [1, 1] : tensor<32x8xf32> to tensor<8x8xf32>
    %z = linalg.fill ins(%zero : f32) outs(%e44 : tensor<4x8xf32>) -> tensor<4x8xf32>
    %s = linalg.matmul indexing_maps = [#mk, #nk, #mn] ins(%q, %kt : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
    %mnew = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]} ins(%s : tensor<4x8xf32>) outs(%m : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.maximumf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<4xf32>
    // expected-remark @below {{'linalg.generic' not raised as attention: exp(x - m) and a sum reduction of it found, with a running max and sum carried by the enclosing loop (an online softmax over tiles), but the exponentials are not normalised by the sum (divide, or multiply by its reciprocal); tiled online softmax, normalised after the loop, is not raised}}
    %p = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]} ins(%s, %mnew : tensor<4x8xf32>, tensor<4xf32>) outs(%e44 : tensor<4x8xf32>) {
    ^bb0(%in: f32, %mx: f32, %out: f32):
      %0 = arith.subf %in, %mx : f32
      %1 = math.exp %0 : f32
      linalg.yield %1 : f32
    } -> tensor<4x8xf32>
    %alpha = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]} ins(%m, %mnew : tensor<4xf32>, tensor<4xf32>) outs(%e4 : tensor<4xf32>) {
    ^bb0(%mo: f32, %mx: f32, %out: f32):
      %0 = arith.subf %mo, %mx : f32
      %1 = math.exp %0 : f32
      linalg.yield %1 : f32
    } -> tensor<4xf32>
    %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
    %ps = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]} ins(%p : tensor<4x8xf32>) outs(%z4 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<4xf32>
    %l2 = linalg.generic {indexing_maps = [#id1, #id1, #id1, #id1], iterator_types = ["parallel"]} ins(%l, %alpha, %ps : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e4 : tensor<4xf32>) {
    ^bb0(%lo: f32, %al: f32, %su: f32, %out: f32):
      %0 = arith.mulf %lo, %al : f32
      %1 = arith.addf %0, %su : f32
      linalg.yield %1 : f32
    } -> tensor<4xf32>
    %pv = linalg.matmul ins(%p, %vt : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
    %acc2 = linalg.generic {indexing_maps = [#id2, #row, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%acc, %alpha, %pv : tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>) outs(%e44 : tensor<4x8xf32>) {
    ^bb0(%a: f32, %al: f32, %x: f32, %out: f32):
      %0 = arith.mulf %a, %al : f32
      %1 = arith.addf %0, %x : f32
      linalg.yield %1 : f32
    } -> tensor<4x8xf32>
    scf.yield %mnew, %l2, %acc2 : tensor<4xf32>, tensor<4xf32>, tensor<4x8xf32>
  }
  %o = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]} ins(%r#2, %r#1 : tensor<4x8xf32>, tensor<4xf32>) outs(%e44 : tensor<4x8xf32>) {
  ^bb0(%a: f32, %d: f32, %out: f32):
    %0 = arith.divf %a, %d : f32
    linalg.yield %0 : f32
  } -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}
