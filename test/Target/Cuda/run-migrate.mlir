// Explicit kvtier.migrate / kvtier.wait ops lower to kvrt_migrate into a
// handle variable and kvrt_wait; the driver runs them every step next to
// the schedule's migrations. Here each step moves block 31 of layer 1 (the
// last block of sequence 1, which the schedule leaves in DRAM) to HBM and
// back, so its contents must survive 16 round trips and 4 appends.
// REQUIRES: kvrt-host
// RUN: rm -rf %t && mkdir -p %t && cd %t
// RUN: %host_cxx -std=c++17 %S/Inputs/write-schedule.cpp -I%kvrt_include %kvrt_host_lib -lpthread -o ws
// RUN: ./ws migrate.kvsched 2 2 16 16 2 4 8
// RUN: kv-translate --kvtier-to-cuda %s --kvtier-cuda-schedule=migrate.kvsched -o migrate.cu
// RUN: FileCheck %s --input-file=migrate.cu
// RUN: %host_cxx -std=c++17 -O1 -Wall -Wextra -Werror -x c++ migrate.cu -x none -I%kvrt_include %kvrt_host_lib -lpthread -o migrate
// RUN: ./migrate --backend host --delay-us 100 | FileCheck %s --check-prefix=EXEC

// CHECK: KVOPT_HBM_SLOTS = 9,
// CHECK-LABEL: static kvrt_status kvopt_step(
// CHECK: kvrt_cache* [[C:v[0-9]+]] = kvopt_cache(
// CHECK-DAG: size_t [[FIRST:v[0-9]+]] = 31;
// CHECK-DAG: size_t [[ONE:v[0-9]+]] = 1;
// CHECK: // kvtier.migrate layer 1 from "dram" to "hbm"
// CHECK-NEXT: kvrt_handle [[H:v[0-9]+]] = 0;
// CHECK-NEXT: kvrt_handle* [[HP:v[0-9]+]] = &[[H]];
// CHECK-NEXT: kvrt_status [[S:v[0-9]+]] = kvrt_migrate([[C]], 1, [[FIRST]], [[ONE]], KVRT_PROMOTE, [[HP]]);
// CHECK-NEXT: KVOPT_TRY([[S]], "{{.*}}run-migrate.mlir:{{[0-9]+}}:{{[0-9]+}}: kvtier.migrate layer 1");
// CHECK-NEXT: kvrt_handle [[HV:v[0-9]+]] = [[H]];
// CHECK-NEXT: kvrt_status [[S:v[0-9]+]] = kvrt_wait([[C]], [[HV]]);
// CHECK-NEXT: KVOPT_TRY([[S]], "{{.*}}run-migrate.mlir:{{[0-9]+}}:{{[0-9]+}}: kvtier.wait");
// CHECK: kvrt_migrate([[C]], 1, [[FIRST]], [[ONE]], KVRT_DEMOTE,
// CHECK: kvrt_wait([[C]],
// CHECK: kvrt_schedule_apply_step([[C]], {{v[0-9]+}}, {{v[0-9]+}}, 1);

// 32 scheduled promotions and 16 explicit ones of 512 B blocks.
// EXEC: kvopt-driver: migrated 24576 B promoted, 24576 B demoted (96 blocks,
// EXEC: kvopt-driver: max relative error {{([0-9.]+e-(0[6-9]|[1-9][0-9]))|0}} vs single-tier reference
// EXEC: kvopt-driver: blocks differing from the generator: 0
// EXEC: kvopt-driver: PASS

!kv = !kvtier.cache<layers = 2, kv_heads = 2, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 2>
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4608 B, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>,
  kvtier.plan = #kvtier.plan<policy = "sliding-window", status = "gap_open", bound = 1.0e-6, schedule = 2.0e-6, gap = 0.5, file = "unused.kvsched", migrations = 64>} {
  func.func @decode(%pos: index) {
    %kv = kvtier.cache "tiny.kv" : !kv
    %c31 = arith.constant 31 : index
    %c1 = arith.constant 1 : index
    kvtier.append %kv layer 0 at %pos : !kv
    kvtier.attention %kv layer 0 at %pos : !kv
    %up = kvtier.migrate %kv layer 1 blocks [%c31, %c1] from "dram" to "hbm" : !kv
    kvtier.wait %up
    %down = kvtier.migrate %kv layer 1 blocks [%c31, %c1] from "hbm" to "dram" : !kv
    kvtier.wait %down
    kvtier.append %kv layer 1 at %pos : !kv
    kvtier.attention %kv layer 1 at %pos : !kv
    return
  }
}
