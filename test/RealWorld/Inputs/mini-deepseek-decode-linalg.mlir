// A small DeepSeek-R1-Distill-style decode step in the form buddy-mlir
// lowers it to linalg/tensor/memref/affine (written for kv-opt's tests
// after ../shared/data/mlir/deepseek-r1-distill-1.5b-decode-linalg.mlir):
// 2 layers, GQA 4 query heads on 2 KV heads of 8, 32-token caches. Per
// layer the new K/V are scattered into the cache buffers with memref.store
// at an index loaded from a position tensor (bufferization.to_buffer), and
// attention is a fused online-softmax affine loop over the cached tokens
// (cmpf/select running max, exp rescale, running sum, a memref value
// accumulator), with vector loads for Q*K.
#bc = affine_map<(d0, d1, d2, d3) -> (0, 0, 0, 0)>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @subgraph0_decode(%q0: tensor<1x4x1x8xf32>, %q1: tensor<1x4x1x8xf32>,
                            %knew: tensor<1x2x1x8xf32>, %vnew: tensor<1x2x1x8xf32>,
                            %pos: tensor<1xi64>, %mask: tensor<1x1x1x32xf32>,
                            %kc0: tensor<1x2x32x8xf32>, %vc0: tensor<1x2x32x8xf32>,
                            %kc1: tensor<1x2x32x8xf32>, %vc1: tensor<1x2x32x8xf32>)
    -> (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %ninf = arith.constant -3.40282347E+38 : f32
  %scale = arith.constant 0.353553385 : f32
  %vzero = arith.constant dense<0.0> : vector<4xf32>
  %izero = arith.constant dense<0> : tensor<1x2x1x8xi64>
  %pos4 = tensor.expand_shape %pos [[0, 1, 2, 3]] output_shape [1, 1, 1, 1] : tensor<1xi64> into tensor<1x1x1x1xi64>
  %maskb = bufferization.to_buffer %mask : tensor<1x1x1x32xf32> to memref<1x1x1x32xf32>
  // Layer 0: scatter the new K and V at the position.
  %kbuf0 = bufferization.to_buffer %kc0 : tensor<1x2x32x8xf32> to memref<1x2x32x8xf32>
  %vbuf0 = bufferization.to_buffer %vc0 : tensor<1x2x32x8xf32> to memref<1x2x32x8xf32>
  %ie0 = tensor.empty() : tensor<1x2x1x8xi64>
  %idx0 = linalg.generic {indexing_maps = [#bc, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%pos4, %izero : tensor<1x1x1x1xi64>, tensor<1x2x1x8xi64>) outs(%ie0 : tensor<1x2x1x8xi64>) {
  ^bb0(%in: i64, %in1: i64, %out: i64):
    %0 = arith.addi %in, %in1 : i64
    linalg.yield %0 : i64
  } -> tensor<1x2x1x8xi64>
  %idxb0 = bufferization.to_buffer %idx0 : tensor<1x2x1x8xi64> to memref<1x2x1x8xi64>
  %knb0 = bufferization.to_buffer %knew : tensor<1x2x1x8xf32> to memref<1x2x1x8xf32>
  %vnb0 = bufferization.to_buffer %vnew : tensor<1x2x1x8xf32> to memref<1x2x1x8xf32>
  scf.for %h = %c0 to %c2 step %c1 {
    scf.for %d = %c0 to %c8 step %c1 {
      %kv = memref.load %knb0[%c0, %h, %c0, %d] : memref<1x2x1x8xf32>
      %vv = memref.load %vnb0[%c0, %h, %c0, %d] : memref<1x2x1x8xf32>
      %p64 = memref.load %idxb0[%c0, %h, %c0, %d] : memref<1x2x1x8xi64>
      %p = arith.index_cast %p64 : i64 to index
      memref.store %kv, %kbuf0[%c0, %h, %p, %d] : memref<1x2x32x8xf32>
      memref.store %vv, %vbuf0[%c0, %h, %p, %d] : memref<1x2x32x8xf32>
    }
  }
  // Layer 0: fused online-softmax attention over the 32 cached tokens.
  %qb0 = bufferization.to_buffer %q0 : tensor<1x4x1x8xf32> to memref<1x4x1x8xf32>
  %out0 = memref.alloc() : memref<1x4x1x8xf32>
  %acc0 = memref.alloc() : memref<8xf32>
  affine.for %h = 0 to 4 {
    %kvh = arith.divsi %h, %c2 : index
    affine.for %d = 0 to 8 {
      memref.store %zero, %acc0[%d] : memref<8xf32>
    }
    %r:2 = affine.for %t = 0 to 32 iter_args(%m = %ninf, %l = %zero) -> (f32, f32) {
      %dv = affine.for %d = 0 to 8 step 4 iter_args(%a = %vzero) -> (vector<4xf32>) {
        %qv = vector.load %qb0[%c0, %h, %c0, %d] : memref<1x4x1x8xf32>, vector<4xf32>
        %kv = vector.load %kbuf0[%c0, %kvh, %t, %d] : memref<1x2x32x8xf32>, vector<4xf32>
        %f = vector.fma %qv, %kv, %a : vector<4xf32>
        affine.yield %f : vector<4xf32>
      }
      %dot = vector.reduction <add>, %dv : vector<4xf32> into f32
      %sc = arith.mulf %dot, %scale : f32
      %mk = memref.load %maskb[%c0, %c0, %c0, %t] : memref<1x1x1x32xf32>
      %s = arith.addf %sc, %mk : f32
      %gt = arith.cmpf ogt, %s, %m : f32
      %mn = arith.select %gt, %s, %m : f32
      %d1 = arith.subf %m, %s : f32
      %e1 = math.exp %d1 : f32
      %l1 = arith.mulf %e1, %l : f32
      %l2 = arith.addf %l1, %one : f32
      %d2 = arith.subf %s, %m : f32
      %e2 = math.exp %d2 : f32
      %l3 = arith.addf %l, %e2 : f32
      %ln = arith.select %gt, %l2, %l3 : f32
      affine.for %d = 0 to 8 {
        %vv = memref.load %vbuf0[%c0, %kvh, %t, %d] : memref<1x2x32x8xf32>
        %av = memref.load %acc0[%d] : memref<8xf32>
        %x1 = arith.mulf %av, %e1 : f32
        %x2 = arith.addf %x1, %vv : f32
        %y1 = arith.mulf %e2, %vv : f32
        %y2 = arith.addf %y1, %av : f32
        %nv = arith.select %gt, %x2, %y2 : f32
        memref.store %nv, %acc0[%d] : memref<8xf32>
      }
      affine.yield %mn, %ln : f32, f32
    }
    affine.for %d = 0 to 8 {
      %av = memref.load %acc0[%d] : memref<8xf32>
      %o = arith.divf %av, %r#1 : f32
      memref.store %o, %out0[%c0, %h, %c0, %d] : memref<1x4x1x8xf32>
    }
  }
  %o0 = bufferization.to_tensor %out0 restrict : memref<1x4x1x8xf32> to tensor<1x4x1x8xf32>
  // Layer 1: scatter the new K and V at the position.
  %kbuf1 = bufferization.to_buffer %kc1 : tensor<1x2x32x8xf32> to memref<1x2x32x8xf32>
  %vbuf1 = bufferization.to_buffer %vc1 : tensor<1x2x32x8xf32> to memref<1x2x32x8xf32>
  %ie1 = tensor.empty() : tensor<1x2x1x8xi64>
  %idx1 = linalg.generic {indexing_maps = [#bc, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%pos4, %izero : tensor<1x1x1x1xi64>, tensor<1x2x1x8xi64>) outs(%ie1 : tensor<1x2x1x8xi64>) {
  ^bb0(%in: i64, %in1: i64, %out: i64):
    %0 = arith.addi %in, %in1 : i64
    linalg.yield %0 : i64
  } -> tensor<1x2x1x8xi64>
  %idxb1 = bufferization.to_buffer %idx1 : tensor<1x2x1x8xi64> to memref<1x2x1x8xi64>
  %knb1 = bufferization.to_buffer %knew : tensor<1x2x1x8xf32> to memref<1x2x1x8xf32>
  %vnb1 = bufferization.to_buffer %vnew : tensor<1x2x1x8xf32> to memref<1x2x1x8xf32>
  scf.for %h = %c0 to %c2 step %c1 {
    scf.for %d = %c0 to %c8 step %c1 {
      %kv = memref.load %knb1[%c0, %h, %c0, %d] : memref<1x2x1x8xf32>
      %vv = memref.load %vnb1[%c0, %h, %c0, %d] : memref<1x2x1x8xf32>
      %p64 = memref.load %idxb1[%c0, %h, %c0, %d] : memref<1x2x1x8xi64>
      %p = arith.index_cast %p64 : i64 to index
      memref.store %kv, %kbuf1[%c0, %h, %p, %d] : memref<1x2x32x8xf32>
      memref.store %vv, %vbuf1[%c0, %h, %p, %d] : memref<1x2x32x8xf32>
    }
  }
  // Layer 1: fused online-softmax attention over the 32 cached tokens.
  %qb1 = bufferization.to_buffer %q1 : tensor<1x4x1x8xf32> to memref<1x4x1x8xf32>
  %out1 = memref.alloc() : memref<1x4x1x8xf32>
  %acc1 = memref.alloc() : memref<8xf32>
  affine.for %h = 0 to 4 {
    %kvh = arith.divsi %h, %c2 : index
    affine.for %d = 0 to 8 {
      memref.store %zero, %acc1[%d] : memref<8xf32>
    }
    %r:2 = affine.for %t = 0 to 32 iter_args(%m = %ninf, %l = %zero) -> (f32, f32) {
      %dv = affine.for %d = 0 to 8 step 4 iter_args(%a = %vzero) -> (vector<4xf32>) {
        %qv = vector.load %qb1[%c0, %h, %c0, %d] : memref<1x4x1x8xf32>, vector<4xf32>
        %kv = vector.load %kbuf1[%c0, %kvh, %t, %d] : memref<1x2x32x8xf32>, vector<4xf32>
        %f = vector.fma %qv, %kv, %a : vector<4xf32>
        affine.yield %f : vector<4xf32>
      }
      %dot = vector.reduction <add>, %dv : vector<4xf32> into f32
      %sc = arith.mulf %dot, %scale : f32
      %mk = memref.load %maskb[%c0, %c0, %c0, %t] : memref<1x1x1x32xf32>
      %s = arith.addf %sc, %mk : f32
      %gt = arith.cmpf ogt, %s, %m : f32
      %mn = arith.select %gt, %s, %m : f32
      %d1 = arith.subf %m, %s : f32
      %e1 = math.exp %d1 : f32
      %l1 = arith.mulf %e1, %l : f32
      %l2 = arith.addf %l1, %one : f32
      %d2 = arith.subf %s, %m : f32
      %e2 = math.exp %d2 : f32
      %l3 = arith.addf %l, %e2 : f32
      %ln = arith.select %gt, %l2, %l3 : f32
      affine.for %d = 0 to 8 {
        %vv = memref.load %vbuf1[%c0, %kvh, %t, %d] : memref<1x2x32x8xf32>
        %av = memref.load %acc1[%d] : memref<8xf32>
        %x1 = arith.mulf %av, %e1 : f32
        %x2 = arith.addf %x1, %vv : f32
        %y1 = arith.mulf %e2, %vv : f32
        %y2 = arith.addf %y1, %av : f32
        %nv = arith.select %gt, %x2, %y2 : f32
        memref.store %nv, %acc1[%d] : memref<8xf32>
      }
      affine.yield %mn, %ln : f32, f32
    }
    affine.for %d = 0 to 8 {
      %av = memref.load %acc1[%d] : memref<8xf32>
      %o = arith.divf %av, %r#1 : f32
      memref.store %o, %out1[%c0, %h, %c0, %d] : memref<1x4x1x8xf32>
    }
  }
  %o1 = bufferization.to_tensor %out1 restrict : memref<1x4x1x8xf32> to tensor<1x4x1x8xf32>
  return %o0, %o1 : tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>
}
