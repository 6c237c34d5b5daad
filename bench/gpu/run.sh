#!/usr/bin/env bash
#===- bench/gpu/run.sh - Build, check and measure kvrt on a GPU ----------===#
#
# One call on a GPU machine (H100/H200, CUDA toolkit, no network):
#   1. builds the runtime with nvcc for sm_90 (CMake + Ninja, CMake + make,
#      or plain nvcc command lines when CMake is missing);
#   2. checks correctness on the CUDA backend: kvrt-check (split-tier
#      attention vs reference on both attention kernels, legacy and tiled,
#      block integrity under random schedules, error paths) and the example
#      decode driver (with each kernel: KVRT_CUDA_ATTENTION=legacy|tiled);
#   3. measures bandwidths, concurrent split-tier reads and a planned decode
#      loop against the time model (kvrt-bench; the decode loop once per
#      attention kernel, then a table comparing them) and prints a table
#      last.
# Results go to $OUT (if set) or build-gpu/results: run.log, kvrt-bench.csv.
# Exit status: 0 only if the build and all checks passed and the bench ran.
# Budget: well under 8 minutes (each stage has its own timeout).
#
# usage: bench/gpu/run.sh [--quick]
#===----------------------------------------------------------------------===#
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${KVRT_GPU_BUILD:-$ROOT/build-gpu}
RESULTS=${OUT:-$BUILD/results}
QUICK=""
[[ "${1:-}" == "--quick" ]] && QUICK="--quick"
mkdir -p "$BUILD" "$RESULTS"

main() {
START=$(date +%s)
stage() { echo; echo "=== [$(( $(date +%s) - START ))s] $*"; }
FAILED=()

stage "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem \
  --format=csv 2>/dev/null || echo "nvidia-smi not available"
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
"$NVCC" --version | tail -2
JOBS=$(nproc 2>/dev/null || echo 8)

stage "build (nvcc -arch=sm_90)"
BIN=""
if command -v cmake >/dev/null 2>&1; then
  GEN=()
  command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
  if timeout 300 cmake "${GEN[@]}" -S "$ROOT/runtime" -B "$BUILD/cmake" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$NVCC" \
        -DKVRT_CUDA_ARCHITECTURES=90 >"$BUILD/cmake.log" 2>&1 &&
     timeout 300 cmake --build "$BUILD/cmake" -j "$JOBS" --target \
        kvrt-check kvrt-bench kvrt-example-driver-cuda; then
    BIN="$BUILD/cmake"
    CHECK="$BIN/tools/kvrt-check"
    BENCH="$BIN/tools/kvrt-bench"
    DRIVER="$BIN/examples/kvrt-example-driver-cuda"
  else
    tail -20 "$BUILD/cmake.log"
    echo "CMake build failed; falling back to plain nvcc"
  fi
fi
if [[ -z "$BIN" ]]; then
  BIN="$BUILD/nvcc"
  mkdir -p "$BIN"
  LIB_SRCS=()
  for f in "$ROOT"/runtime/lib/*.cpp "$ROOT"/runtime/lib/*.cu; do
    [[ "$(basename "$f")" == CudaStub.cpp ]] || LIB_SRCS+=("$f")
  done
  FLAGS=(-O3 -std=c++17 -arch=sm_90 -I"$ROOT/runtime/include"
         -I"$ROOT/runtime/lib" -I"$ROOT/runtime/examples" -Xcompiler -pthread)
  ok=1
  timeout 400 "$NVCC" "${FLAGS[@]}" "${LIB_SRCS[@]}" \
    "$ROOT/runtime/tools/kvrt-check.cpp" -o "$BIN/kvrt-check" || ok=0
  timeout 400 "$NVCC" "${FLAGS[@]}" "${LIB_SRCS[@]}" \
    "$ROOT/runtime/tools/kvrt-bench.cu" -o "$BIN/kvrt-bench" || ok=0
  timeout 400 "$NVCC" "${FLAGS[@]}" "${LIB_SRCS[@]}" \
    "$ROOT/runtime/examples/decode_driver_cuda.cu" \
    -o "$BIN/kvrt-example-driver-cuda" || ok=0
  if [[ $ok != 1 ]]; then
    echo "BUILD FAILED"
    exit 1
  fi
  CHECK="$BIN/kvrt-check"
  BENCH="$BIN/kvrt-bench"
  DRIVER="$BIN/kvrt-example-driver-cuda"
fi

stage "correctness on the CUDA backend"
for seed in 1 2 3; do
  if ! timeout 120 "$CHECK" --backend cuda --seed "$seed"; then
    FAILED+=("kvrt-check --backend cuda --seed $seed")
  fi
done
if ! (cd "$BUILD" && timeout 60 "$DRIVER" cuda); then
  FAILED+=("example driver (cuda)")
fi
if ! (cd "$BUILD" && KVRT_CUDA_ATTENTION=tiled timeout 60 "$DRIVER" cuda); then
  FAILED+=("example driver (cuda, KVRT_CUDA_ATTENTION=tiled)")
fi
if ! timeout 120 "$CHECK" --backend host --seed 1 --delay-us 100; then
  FAILED+=("kvrt-check --backend host")
fi

stage "measurements (kvrt-bench $QUICK)"
if ! timeout 360 "$BENCH" $QUICK --csv "$RESULTS/kvrt-bench.csv"; then
  FAILED+=("kvrt-bench")
fi

stage "done in $(( $(date +%s) - START ))s"
if (( ${#FAILED[@]} )); then
  printf 'FAILED: %s\n' "${FAILED[@]}"
  exit 1
fi
echo "ALL PASSED; results in $RESULTS"
}

# The log is complete when the script returns (no background tee left).
main 2>&1 | tee "$RESULTS/run.log"
exit "${PIPESTATUS[0]}"
