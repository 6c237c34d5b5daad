// RUN: kv-opt %s --kvtier-plan-kv-tiers="solver=lagrangian prompt=48 decode=16 sparsity=0.5 report=%t.txt json=%t.json html=%t.html schedule-file=%t.kvsched" | FileCheck %s
// RUN: FileCheck %s --input-file=%t.txt --check-prefix=REPORT
// RUN: FileCheck %s --input-file=%t.json --check-prefix=JSON
// RUN: FileCheck %s --input-file=%t.html --check-prefix=HTML
// RUN: test -s %t.kvsched
// The annotated module is valid IR and prints back the same.
// RUN: kv-opt %s --kvtier-plan-kv-tiers="solver=lagrangian prompt=48 decode=16 sparsity=0.5 report=" | kv-opt | FileCheck %s

// A tiny two-tier system: 16 blocks of HBM for 32 blocks of cache, so the
// plan must move blocks.
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [
    #kvtier.tier<"hbm" hbm, capacity = 4 KiB, read = 2 TB/s, write = 2 TB/s>,
    #kvtier.tier<"dram" dram, capacity = 1 GB, read = 200 GB/s, write = 200 GB/s>],
  links = [#kvtier.link<"dram" -> "hbm", 100 GB/s>, #kvtier.link<"hbm" -> "dram", 100 GB/s>]>,
  kvtier.model = #kvtier.model<name = "tiny", resident_weight_bytes = 0, weight_bytes_per_layer_step = 4096>} {
  // CHECK: kvtier.plan = #kvtier.plan<policy = "{{.+}}", status = "{{optimal|gap_closed|gap_open}}", bound = {{.*}}, schedule = {{.*}}, gap = {{.*}}, file = "{{.*}}", migrations = {{[0-9]+}}>
  // CHECK-LABEL: func.func @decode
  func.func @decode(%pos: index) {
    // CHECK: kvtier.cache "tiny.kv" {placement = #kvtier.placement<hbm_blocks = {{[0-9]+}}, peak_hbm_blocks = {{[0-9]+}}, total_blocks = 32, promotions = {{[0-9]+}}, demotions = {{[0-9]+}}>}
    %kv = kvtier.cache "tiny.kv" : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.append %kv layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    // CHECK: kvtier.attention %{{.*}} layer 0 at %{{.*}} {split = #kvtier.split<hbm = {{.*}}, balanced = 0.95238095238095233>}
    kvtier.attention %kv layer 0 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    kvtier.append %kv layer 1 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    // CHECK: kvtier.attention %{{.*}} layer 1 at %{{.*}} {split = #kvtier.split
    kvtier.attention %kv layer 1 at %pos : !kvtier.cache<layers = 2, kv_heads = 1, head_dim = 8, element = f32, block = 4, max_tokens = 64, batch = 1>
    return
  }
}

// REPORT: kv-opt plan:
// REPORT: model       tiny (2 layers, GQA, 64 B per token per layer)
// REPORT: workload    prompt 48, decode 16, batch 1, block 4 tokens
// REPORT: capacity    16 HBM blocks of 256 B for KV
// REPORT: bound
// REPORT-SAME: proven lower bound on total decode time
// REPORT: schedule
// REPORT-SAME: simulated; schedule/bound {{[0-9.]+}}, gap (schedule - bound) / schedule = {{[0-9.]+}}%
// REPORT: policy
// REPORT: plan (
// REPORT: unlimited
// REPORT: all-dram
// REPORT: static
// REPORT: reactive
// REPORT: belady

// JSON: "baselines": [
// JSON: "bound_seconds":
// JSON: "capacity_blocks": 16,
// JSON: "plan_layer_hit_rate": [
// JSON: "schedule_seconds":
// JSON: "time_model": "kvopt-v1",

// HTML: <!DOCTYPE html>
// HTML: <svg
// HTML: bound
// HTML: KV blocks resident in HBM
// HTML: Bytes per step on each resource
