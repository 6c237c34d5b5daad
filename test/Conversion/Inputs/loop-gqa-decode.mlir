// Two GQA decode-attention layers in the fused-loop form of the shared
// DeepSeek-R1-distill graph (a torch-mlir export whose attention was
// already lowered to loops over memrefs): 4 query heads over 2 KV heads,
// head_dim 8, a 32-token cache. Per layer the new token's K and V are
// stored by an scf.for nest into `bufferization.to_buffer` of the cache
// arguments at a token index loaded from an i64 buffer (the position plus
// zeros, a linalg.generic); the attention is an affine.for nest with an
// online softmax (running max and sum, math.exp) over all 32 tokens, a
// vector.fma q . k product, KV head h / 2 (arith.divsi), an additive mask
// and the output in a memref.alloc. Layer 0's mask is built in the graph
// as DeepSeek's is (position >= arange, select 0 / -inf); layer 1 uses the
// driver's %mask. Driver: tosa-gqa-main.mlir.
#bpos = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, 0)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#row = affine_map<(d0, d1) -> (d0, 0)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
module {
  func.func @decode(%q0: tensor<1x4x1x8xf32>, %k0: tensor<1x2x1x8xf32>, %v0: tensor<1x2x1x8xf32>, %q1: tensor<1x4x1x8xf32>, %k1: tensor<1x2x1x8xf32>, %v1: tensor<1x2x1x8xf32>,
                    %kc0: tensor<1x2x32x8xf32>, %vc0: tensor<1x2x32x8xf32>, %kc1: tensor<1x2x32x8xf32>, %vc1: tensor<1x2x32x8xf32>, %pos: index, %mask: tensor<1x1x1x32xf32>)
      -> (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c8 = arith.constant 8 : index
    %zero = arith.constant 0.000000e+00 : f32
    %one = arith.constant 1.000000e+00 : f32
    %mstart = arith.constant -1.000000e+30 : f32
    %scale = arith.constant 0.353553385 : f32
    %zv = arith.constant dense<0.000000e+00> : vector<4xf32>
    %zi = arith.constant dense<0> : tensor<1x2x1x8xi64>
    %arange = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]]> : tensor<1x32xi64>
    %zt = arith.constant dense<0.000000e+00> : tensor<1x1x1x32xf32>
    %ninf = arith.constant dense<0xFF800000> : tensor<1x1x1x32xf32>
    %p64 = arith.index_cast %pos : index to i64
    %pt = tensor.from_elements %p64 : tensor<1xi64>
    // The decode mask, as DeepSeek builds it: 0 where position >= t, -inf after.
    %p2 = tensor.expand_shape %pt [[0, 1]] output_shape [1, 1] : tensor<1xi64> into tensor<1x1xi64>
    %be = tensor.empty() : tensor<1x32xi1>
    %vis = linalg.generic {indexing_maps = [#row, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%p2, %arange : tensor<1x1xi64>, tensor<1x32xi64>) outs(%be : tensor<1x32xi1>) {
    ^bb0(%in: i64, %in_1: i64, %out: i1):
      %c = arith.cmpi sge, %in, %in_1 : i64
      linalg.yield %c : i1
    } -> tensor<1x32xi1>
    %vis4 = tensor.expand_shape %vis [[0, 1, 2], [3]] output_shape [1, 1, 1, 32] : tensor<1x32xi1> into tensor<1x1x1x32xi1>
    %me = tensor.empty() : tensor<1x1x1x32xf32>
    %mask0 = linalg.generic {indexing_maps = [#id4, #id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%vis4, %zt, %ninf : tensor<1x1x1x32xi1>, tensor<1x1x1x32xf32>, tensor<1x1x1x32xf32>) outs(%me : tensor<1x1x1x32xf32>) {
    ^bb0(%in: i1, %in_1: f32, %in_2: f32, %out: f32):
      %s = arith.select %in, %in_1, %in_2 : f32
      linalg.yield %s : f32
    } -> tensor<1x1x1x32xf32>

    // Layer 0: the new token's K and V stored at the position into the
    // caches (to_buffer of the cache arguments), then the fused loop.
    %kcb_0 = bufferization.to_buffer %kc0 : tensor<1x2x32x8xf32> to memref<1x2x32x8xf32>
    %pk4_0 = tensor.expand_shape %pt [[0, 1, 2, 3]] output_shape [1, 1, 1, 1] : tensor<1xi64> into tensor<1x1x1x1xi64>
    %ike_0 = tensor.empty() : tensor<1x2x1x8xi64>
    %ik_0 = linalg.generic {indexing_maps = [#bpos, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%pk4_0, %zi : tensor<1x1x1x1xi64>, tensor<1x2x1x8xi64>) outs(%ike_0 : tensor<1x2x1x8xi64>) {
    ^bb0(%in: i64, %in_1: i64, %out: i64):
      %s = arith.addi %in, %in_1 : i64
      linalg.yield %s : i64
    } -> tensor<1x2x1x8xi64>
    %ikb_0 = bufferization.to_buffer %ik_0 : tensor<1x2x1x8xi64> to memref<1x2x1x8xi64>
    %knb_0 = bufferization.to_buffer %k0 : tensor<1x2x1x8xf32> to memref<1x2x1x8xf32>
    scf.for %b = %c0 to %c1 step %c1 {
      scf.for %h = %c0 to %c2 step %c1 {
        scf.for %i = %c0 to %c1 step %c1 {
          scf.for %d = %c0 to %c8 step %c1 {
            %x = memref.load %knb_0[%b, %h, %i, %d] : memref<1x2x1x8xf32>
            %j = memref.load %ikb_0[%b, %h, %i, %d] : memref<1x2x1x8xi64>
            %jj = arith.index_cast %j : i64 to index
            memref.store %x, %kcb_0[%b, %h, %jj, %d] : memref<1x2x32x8xf32>
          }
        }
      }
    }
    %kcn_0 = bufferization.to_tensor %kcb_0 restrict : memref<1x2x32x8xf32> to tensor<1x2x32x8xf32>
    %vcb_0 = bufferization.to_buffer %vc0 : tensor<1x2x32x8xf32> to memref<1x2x32x8xf32>
    %pv4_0 = tensor.expand_shape %pt [[0, 1, 2, 3]] output_shape [1, 1, 1, 1] : tensor<1xi64> into tensor<1x1x1x1xi64>
    %ive_0 = tensor.empty() : tensor<1x2x1x8xi64>
    %iv_0 = linalg.generic {indexing_maps = [#bpos, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%pv4_0, %zi : tensor<1x1x1x1xi64>, tensor<1x2x1x8xi64>) outs(%ive_0 : tensor<1x2x1x8xi64>) {
    ^bb0(%in: i64, %in_1: i64, %out: i64):
      %s = arith.addi %in, %in_1 : i64
      linalg.yield %s : i64
    } -> tensor<1x2x1x8xi64>
    %ivb_0 = bufferization.to_buffer %iv_0 : tensor<1x2x1x8xi64> to memref<1x2x1x8xi64>
    %vnb_0 = bufferization.to_buffer %v0 : tensor<1x2x1x8xf32> to memref<1x2x1x8xf32>
    scf.for %b = %c0 to %c1 step %c1 {
      scf.for %h = %c0 to %c2 step %c1 {
        scf.for %i = %c0 to %c1 step %c1 {
          scf.for %d = %c0 to %c8 step %c1 {
            %x = memref.load %vnb_0[%b, %h, %i, %d] : memref<1x2x1x8xf32>
            %j = memref.load %ivb_0[%b, %h, %i, %d] : memref<1x2x1x8xi64>
            %jj = arith.index_cast %j : i64 to index
            memref.store %x, %vcb_0[%b, %h, %jj, %d] : memref<1x2x32x8xf32>
          }
        }
      }
    }
    %vcn_0 = bufferization.to_tensor %vcb_0 restrict : memref<1x2x32x8xf32> to tensor<1x2x32x8xf32>
    %qb_0 = bufferization.to_buffer %q0 : tensor<1x4x1x8xf32> to memref<1x4x1x8xf32>
    %mb_0 = bufferization.to_buffer %mask0 : tensor<1x1x1x32xf32> to memref<1x1x1x32xf32>
    %out_0 = memref.alloc() : memref<1x4x1x8xf32>
    %sum_0 = memref.alloc() : memref<1x4x1xf32>
    %acc_0 = memref.alloc() : memref<8xf32>
    affine.for %b = 0 to 1 {
      affine.for %h = 0 to 4 {
        %kh_0 = arith.divsi %h, %c2 : index
        affine.for %i = 0 to 1 {
          affine.for %d = 0 to 8 {
            memref.store %zero, %acc_0[%d] : memref<8xf32>
          }
          %r:2 = affine.for %t = 0 to 32 iter_args(%m = %mstart, %l = %zero) -> (f32, f32) {
            %dot = affine.for %d = 0 to 8 step 4 iter_args(%a = %zv) -> (vector<4xf32>) {
              %qv = vector.load %qb_0[%b, %h, %i, %d] : memref<1x4x1x8xf32>, vector<4xf32>
              %kv = vector.load %kcb_0[%b, %kh_0, %t, %d] : memref<1x2x32x8xf32>, vector<4xf32>
              %f = vector.fma %qv, %kv, %a : vector<4xf32>
              affine.yield %f : vector<4xf32>
            }
            %s0 = vector.reduction <add>, %dot : vector<4xf32> into f32
            %s1 = arith.mulf %s0, %scale : f32
            %mk = memref.load %mb_0[%b, %c0, %i, %t] : memref<1x1x1x32xf32>
            %s = arith.addf %s1, %mk : f32
            %gt = arith.cmpf ogt, %s, %m : f32
            %m2 = arith.select %gt, %s, %m : f32
            %dm = arith.subf %m, %s : f32
            %ea = math.exp %dm : f32
            %la = arith.mulf %ea, %l : f32
            %lg = arith.addf %la, %one : f32
            %ds = arith.subf %s, %m : f32
            %ee = math.exp %ds : f32
            %le = arith.addf %l, %ee : f32
            %l2 = arith.select %gt, %lg, %le : f32
            affine.for %d = 0 to 8 {
              %vv = memref.load %vcb_0[%b, %kh_0, %t, %d] : memref<1x2x32x8xf32>
              %av = memref.load %acc_0[%d] : memref<8xf32>
              %x1 = arith.mulf %av, %ea : f32
              %x2 = arith.addf %x1, %vv : f32
              %y1 = arith.mulf %ee, %vv : f32
              %y2 = arith.addf %y1, %av : f32
              %nv = arith.select %gt, %x2, %y2 : f32
              memref.store %nv, %acc_0[%d] : memref<8xf32>
            }
            affine.yield %m2, %l2 : f32, f32
          }
          memref.store %r#1, %sum_0[%b, %h, %i] : memref<1x4x1xf32>
          affine.for %d = 0 to 8 {
            %av = memref.load %acc_0[%d] : memref<8xf32>
            %o = arith.divf %av, %r#1 : f32
            memref.store %o, %out_0[%b, %h, %i, %d] : memref<1x4x1x8xf32>
          }
        }
      }
    }
    %o_0 = bufferization.to_tensor %out_0 restrict : memref<1x4x1x8xf32> to tensor<1x4x1x8xf32>


    // Layer 1: the new token's K and V stored at the position into the
    // caches (to_buffer of the cache arguments), then the fused loop.
    %kcb_1 = bufferization.to_buffer %kc1 : tensor<1x2x32x8xf32> to memref<1x2x32x8xf32>
    %pk4_1 = tensor.expand_shape %pt [[0, 1, 2, 3]] output_shape [1, 1, 1, 1] : tensor<1xi64> into tensor<1x1x1x1xi64>
    %ike_1 = tensor.empty() : tensor<1x2x1x8xi64>
    %ik_1 = linalg.generic {indexing_maps = [#bpos, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%pk4_1, %zi : tensor<1x1x1x1xi64>, tensor<1x2x1x8xi64>) outs(%ike_1 : tensor<1x2x1x8xi64>) {
    ^bb0(%in: i64, %in_1: i64, %out: i64):
      %s = arith.addi %in, %in_1 : i64
      linalg.yield %s : i64
    } -> tensor<1x2x1x8xi64>
    %ikb_1 = bufferization.to_buffer %ik_1 : tensor<1x2x1x8xi64> to memref<1x2x1x8xi64>
    %knb_1 = bufferization.to_buffer %k1 : tensor<1x2x1x8xf32> to memref<1x2x1x8xf32>
    scf.for %b = %c0 to %c1 step %c1 {
      scf.for %h = %c0 to %c2 step %c1 {
        scf.for %i = %c0 to %c1 step %c1 {
          scf.for %d = %c0 to %c8 step %c1 {
            %x = memref.load %knb_1[%b, %h, %i, %d] : memref<1x2x1x8xf32>
            %j = memref.load %ikb_1[%b, %h, %i, %d] : memref<1x2x1x8xi64>
            %jj = arith.index_cast %j : i64 to index
            memref.store %x, %kcb_1[%b, %h, %jj, %d] : memref<1x2x32x8xf32>
          }
        }
      }
    }
    %kcn_1 = bufferization.to_tensor %kcb_1 restrict : memref<1x2x32x8xf32> to tensor<1x2x32x8xf32>
    %vcb_1 = bufferization.to_buffer %vc1 : tensor<1x2x32x8xf32> to memref<1x2x32x8xf32>
    %pv4_1 = tensor.expand_shape %pt [[0, 1, 2, 3]] output_shape [1, 1, 1, 1] : tensor<1xi64> into tensor<1x1x1x1xi64>
    %ive_1 = tensor.empty() : tensor<1x2x1x8xi64>
    %iv_1 = linalg.generic {indexing_maps = [#bpos, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%pv4_1, %zi : tensor<1x1x1x1xi64>, tensor<1x2x1x8xi64>) outs(%ive_1 : tensor<1x2x1x8xi64>) {
    ^bb0(%in: i64, %in_1: i64, %out: i64):
      %s = arith.addi %in, %in_1 : i64
      linalg.yield %s : i64
    } -> tensor<1x2x1x8xi64>
    %ivb_1 = bufferization.to_buffer %iv_1 : tensor<1x2x1x8xi64> to memref<1x2x1x8xi64>
    %vnb_1 = bufferization.to_buffer %v1 : tensor<1x2x1x8xf32> to memref<1x2x1x8xf32>
    scf.for %b = %c0 to %c1 step %c1 {
      scf.for %h = %c0 to %c2 step %c1 {
        scf.for %i = %c0 to %c1 step %c1 {
          scf.for %d = %c0 to %c8 step %c1 {
            %x = memref.load %vnb_1[%b, %h, %i, %d] : memref<1x2x1x8xf32>
            %j = memref.load %ivb_1[%b, %h, %i, %d] : memref<1x2x1x8xi64>
            %jj = arith.index_cast %j : i64 to index
            memref.store %x, %vcb_1[%b, %h, %jj, %d] : memref<1x2x32x8xf32>
          }
        }
      }
    }
    %vcn_1 = bufferization.to_tensor %vcb_1 restrict : memref<1x2x32x8xf32> to tensor<1x2x32x8xf32>
    %qb_1 = bufferization.to_buffer %q1 : tensor<1x4x1x8xf32> to memref<1x4x1x8xf32>
    %mb_1 = bufferization.to_buffer %mask : tensor<1x1x1x32xf32> to memref<1x1x1x32xf32>
    %out_1 = memref.alloc() : memref<1x4x1x8xf32>
    %sum_1 = memref.alloc() : memref<1x4x1xf32>
    %acc_1 = memref.alloc() : memref<8xf32>
    affine.for %b = 0 to 1 {
      affine.for %h = 0 to 4 {
        %kh_1 = arith.divsi %h, %c2 : index
        affine.for %i = 0 to 1 {
          affine.for %d = 0 to 8 {
            memref.store %zero, %acc_1[%d] : memref<8xf32>
          }
          %r:2 = affine.for %t = 0 to 32 iter_args(%m = %mstart, %l = %zero) -> (f32, f32) {
            %dot = affine.for %d = 0 to 8 step 4 iter_args(%a = %zv) -> (vector<4xf32>) {
              %qv = vector.load %qb_1[%b, %h, %i, %d] : memref<1x4x1x8xf32>, vector<4xf32>
              %kv = vector.load %kcb_1[%b, %kh_1, %t, %d] : memref<1x2x32x8xf32>, vector<4xf32>
              %f = vector.fma %qv, %kv, %a : vector<4xf32>
              affine.yield %f : vector<4xf32>
            }
            %s0 = vector.reduction <add>, %dot : vector<4xf32> into f32
            %s1 = arith.mulf %s0, %scale : f32
            %mk = memref.load %mb_1[%b, %c0, %i, %t] : memref<1x1x1x32xf32>
            %s = arith.addf %s1, %mk : f32
            %gt = arith.cmpf ogt, %s, %m : f32
            %m2 = arith.select %gt, %s, %m : f32
            %dm = arith.subf %m, %s : f32
            %ea = math.exp %dm : f32
            %la = arith.mulf %ea, %l : f32
            %lg = arith.addf %la, %one : f32
            %ds = arith.subf %s, %m : f32
            %ee = math.exp %ds : f32
            %le = arith.addf %l, %ee : f32
            %l2 = arith.select %gt, %lg, %le : f32
            affine.for %d = 0 to 8 {
              %vv = memref.load %vcb_1[%b, %kh_1, %t, %d] : memref<1x2x32x8xf32>
              %av = memref.load %acc_1[%d] : memref<8xf32>
              %x1 = arith.mulf %av, %ea : f32
              %x2 = arith.addf %x1, %vv : f32
              %y1 = arith.mulf %ee, %vv : f32
              %y2 = arith.addf %y1, %av : f32
              %nv = arith.select %gt, %x2, %y2 : f32
              memref.store %nv, %acc_1[%d] : memref<8xf32>
            }
            affine.yield %m2, %l2 : f32, f32
          }
          memref.store %r#1, %sum_1[%b, %h, %i] : memref<1x4x1xf32>
          affine.for %d = 0 to 8 {
            %av = memref.load %acc_1[%d] : memref<8xf32>
            %o = arith.divf %av, %r#1 : f32
            memref.store %o, %out_1[%b, %h, %i, %d] : memref<1x4x1x8xf32>
          }
        }
      }
    }
    %o_1 = bufferization.to_tensor %out_1 restrict : memref<1x4x1x8xf32> to tensor<1x4x1x8xf32>

    return %o_0, %o_1, %kcn_0, %vcn_0, %kcn_1, %vcn_1 : tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>
  }
}
