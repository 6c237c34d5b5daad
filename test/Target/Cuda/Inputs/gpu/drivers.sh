#!/bin/bash
#===- drivers.sh - emitted drivers on a GPU --------------------------------===#
#
# Not a lit test (it needs a GPU): docs/lowering.md records its results.
#
#   drivers.sh prepare BUILD DIR   on a machine with nvcc: plan/translate the
#                                  tiny, Llama-3.2-1B and Llama-8B-shaped
#                                  modules, the real gemma-2-9b config (local
#                                  and global layers) and the real
#                                  Llama-3.1-8B config planned onto 2.1 GB of
#                                  HBM for KV, and compile their drivers
#                                  with nvcc -arch=sm_90 (static cudart)
#                                  into DIR
#   drivers.sh run DIR             on the GPU machine: run them on the CUDA
#                                  backend (checked, then a timing run)
#
#===----------------------------------------------------------------------===#
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../../../.." && pwd)

prepare() {
  local build=$1 dir=$2 bin=$1/bin
  mkdir -p "$dir" && cd "$dir"
  c++ -std=c++17 -O1 "$here/../write-schedule.cpp" -I"$src/runtime/include" \
    "$build/runtime/libkvrt_host.a" -lpthread -o write-schedule
  ./write-schedule tiny.kvsched 2 2 16 16 2 4
  "$bin/kv-translate" --kvtier-to-cuda "$here/../tiny-planned.mlir" \
    --kvtier-cuda-gqa-group=4 -o tiny.cu
  "$bin/kv-translate" --import-hf-config \
    "$src/../shared/data/models/Llama-3.2-1B.json" --max-tokens=512 --block=16 |
    "$bin/kv-opt" --kvtier-plan-kv-tiers="preset=h100-pcie schedule-file=llama1b.kvsched report= prompt=384 decode=128" |
    "$bin/kv-translate" --kvtier-to-cuda --kvtier-cuda-gqa-group=4 -o llama1b.cu
  ./write-schedule llama8b.kvsched 32 1 512 64 256 16
  "$bin/kv-translate" --kvtier-to-cuda "$here/llama8b-shaped.mlir" -o llama8b.cu
  # gemma-2-9b: 42 layers, 21 with a 4096-token window, 8 KV heads x 256,
  # bf16; 2 sequences of 8192 tokens (5.6 GB of KV), planned for h200-pcie.
  "$bin/kv-translate" --import-hf-config "$src/examples/configs/gemma-2-9b-it.json" \
    --max-tokens=8192 --batch=2 2>/dev/null |
    "$bin/kv-opt" --kvtier-plan-kv-tiers="preset=h200-pcie report=gemma9b.txt prompt=8128 decode=64 solver=lagrangian baselines=false schedule-file=gemma9b.kvsched" |
    "$bin/kv-translate" --kvtier-to-cuda --kvtier-cuda-gqa-group=2 -o gemma9b.cu
  # Llama-3.1-8B: 32 layers, 8 KV heads x 128, bf16, 4 sequences of 8192
  # tokens (4.3 GB of KV) planned onto an H200-like memory system whose HBM
  # leaves 2.1 GB for KV after the 16.1 GB of weights: the planner splits
  # KV across the tiers and migrates blocks.
  cat >h200-18g.json <<'JSON'
{"name": "h200-18g",
 "tiers": [{"name": "hbm", "kind": "HBM", "capacity_gb": 18.2, "read_gbps": 4800, "write_gbps": 4800},
           {"name": "dram", "kind": "DRAM", "capacity_gb": 512, "read_gbps": 307.2, "write_gbps": 307.2}],
 "links": [{"from": "dram", "to": "hbm", "forward_gbps": 64, "backward_gbps": 64}]}
JSON
  "$bin/kv-translate" --import-hf-config "$src/../shared/data/models/Llama-3.1-8B.json" \
    --max-tokens=8192 --batch=4 --block=16 2>/dev/null |
    "$bin/kv-opt" --kvtier-plan-kv-tiers="hardware-file=h200-18g.json report=llama31.txt prompt=8128 decode=64 schedule-file=llama31.kvsched" |
    "$bin/kv-translate" --kvtier-to-cuda --kvtier-cuda-gqa-group=4 -o llama31.cu
  # The same Llama-3.1-8B planned for what the runtime executes and what the
  # H200 measured (docs/gpu-measurements.md): dense attention (sparsity
  # hints 0), no weights, 2.14 GB of HBM, the measured bandwidths; the
  # report's schedule time / 64 is the model's prediction of a step.
  cat >h200-measured-2g.json <<'JSON'
{"name": "h200-measured-2g",
 "tiers": [{"name": "hbm", "kind": "HBM", "capacity_gb": 2.14, "read_gbps": 4606, "write_gbps": 4606},
           {"name": "dram", "kind": "DRAM", "capacity_gb": 512, "read_gbps": 307.2, "write_gbps": 307.2}],
 "links": [{"from": "dram", "to": "hbm", "forward_gbps": 51.4, "backward_gbps": 55.1}]}
JSON
  "$bin/kv-translate" --import-hf-config "$src/../shared/data/models/Llama-3.1-8B.json" \
    --max-tokens=8192 --batch=4 --block=16 2>/dev/null |
    sed -e 's/sparsity = 6.000000e-01 : f64/sparsity = 0.000000e+00 : f64/' \
      -e 's/resident_weight_bytes = [0-9]*/resident_weight_bytes = 0/' \
      -e 's/weight_bytes_per_layer_step = [0-9]*/weight_bytes_per_layer_step = 0/' |
    "$bin/kv-opt" --kvtier-plan-kv-tiers="hardware-file=h200-measured-2g.json report=llama31d.txt prompt=8128 decode=64 schedule-file=llama31d.kvsched" |
    "$bin/kv-translate" --kvtier-to-cuda --kvtier-cuda-gqa-group=4 -o llama31d.cu
  for d in tiny llama1b llama8b gemma9b llama31 llama31d; do
    /usr/local/cuda/bin/nvcc -std=c++17 -O2 -arch=sm_90 $d.cu \
      -I"$src/runtime/include" "$build/runtime/libkvrt.a" -o $d
  done
}

run() {
  cd "$1"
  local failed=0
  # Every driver runs even when one before it fails; the status says so.
  go() {
    local t=$1
    shift
    timeout "$t" "$@" || { echo "FAILED (exit $?): $*"; failed=1; }
  }
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  echo "== tiny (2 layers, 16 steps, sliding-window schedule, checked)"
  go 60 ./tiny --backend cuda
  echo "== Llama-3.2-1B planned for h100-pcie (16 layers, 128 steps, checked)"
  go 90 ./llama1b --backend cuda
  echo "== Llama-8B-shaped, 1 GiB cache, half in HBM, sliding window (4 steps, checked)"
  go 120 ./llama8b --backend cuda --steps 4
  echo "== Llama-8B-shaped, 64 steps, timing (--no-check)"
  go 120 ./llama8b --backend cuda --no-check
  echo "== gemma-2-9b, 2 x 8192 tokens, 21 local layers (window 4096), h200-pcie plan (2 steps, checked)"
  go 150 ./gemma9b --backend cuda --steps 2
  echo "== gemma-2-9b, 64 steps, timing (--no-check)"
  go 120 ./gemma9b --backend cuda --no-check
  echo "== Llama-3.1-8B, 4 x 8192 tokens, planned onto 2.1 GB of HBM for KV (2 steps, checked)"
  go 150 ./llama31 --backend cuda --steps 2
  echo "== Llama-3.1-8B, 64 steps, timing (--no-check)"
  go 120 ./llama31 --backend cuda --no-check
  echo "== Llama-3.1-8B, dense plan for the measured H200 (64 steps, timing, --no-check)"
  go 120 ./llama31d --backend cuda --no-check
  return $failed
}

case "${1:-}" in
prepare) prepare "$2" "$3" ;;
run) run "$2" ;;
*) echo "usage: $0 prepare BUILD DIR | run DIR" >&2; exit 2 ;;
esac
