#!/bin/bash
#===- drivers.sh - emitted drivers on a GPU --------------------------------===#
#
# Not a lit test (it needs a GPU): docs/lowering.md records its results.
#
#   drivers.sh prepare BUILD DIR   on a machine with nvcc: plan/translate the
#                                  tiny, Llama-3.2-1B and Llama-8B-shaped
#                                  modules and compile their drivers with
#                                  nvcc -arch=sm_90 (static cudart) into DIR
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
  for d in tiny llama1b llama8b; do
    /usr/local/cuda/bin/nvcc -std=c++17 -O2 -arch=sm_90 $d.cu \
      -I"$src/runtime/include" "$build/runtime/libkvrt.a" -o $d
  done
}

run() {
  cd "$1"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  echo "== tiny (2 layers, 16 steps, sliding-window schedule, checked)"
  timeout 60 ./tiny --backend cuda
  echo "== Llama-3.2-1B planned for h100-pcie (16 layers, 128 steps, checked)"
  timeout 90 ./llama1b --backend cuda
  echo "== Llama-8B-shaped, 1 GiB cache, half in HBM, sliding window (4 steps, checked)"
  timeout 120 ./llama8b --backend cuda --steps 4
  echo "== Llama-8B-shaped, 64 steps, timing (--no-check)"
  timeout 120 ./llama8b --backend cuda --no-check
}

case "${1:-}" in
prepare) prepare "$2" "$3" ;;
run) run "$2" ;;
*) echo "usage: $0 prepare BUILD DIR | run DIR" >&2; exit 2 ;;
esac
