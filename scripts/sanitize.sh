#!/usr/bin/env bash
# sanitize.sh - the MLIR-free code (planning core, solver, runtime) under
# AddressSanitizer + UndefinedBehaviorSanitizer.
#
# Debian's LLVM/MLIR is built without assertions, so our own code is checked
# here instead: the core, solver and runtime unit tests are rebuilt with
# -fsanitize=address,undefined (CUDA off) and run; any report fails the run.
#
#   scripts/sanitize.sh [REPORT_DIR]   (junit XML files are written there)
#
# With KVOPT_SANITIZE_LIT=1 the MLIR-side tools (kv-opt, kv-translate,
# kv-solve, kv-trace) are built in the same sanitized tree and the lit suite
# runs against them (Debian's libMLIR itself is not instrumented; our
# dialect, passes, planner and tools are). The emitted-driver tests that
# link the sanitized runtime into a plain host binary are left out.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVOPT_ASAN_BUILD_DIR:-$root/build-asan}"
reports="${1:-$build/test-reports}"
jobs="${KVOPT_JOBS:-$(nproc)}"
mkdir -p "$reports"

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DKVOPT_ENABLE_SANITIZERS=ON -DKVOPT_ENABLE_CUDA=OFF \
    -DKVOPT_BUILD_BENCHMARKS=OFF >/dev/null
fi
ninja -C "$build" -j "$jobs" KvOptCoreTests KvOptSolverTests kvrt-unittests

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
run() {
  local name=$1 bin=$2
  echo "== $name (ASan+UBSan)"
  "$bin" --gtest_brief=1 --gtest_output="xml:$reports/asan-$name.xml" || rc=1
}
run core "$build/unittests/Core/KvOptCoreTests"
run solver "$build/unittests/Solver/KvOptSolverTests"
run runtime "$(find "$build/runtime" -name kvrt-unittests -type f | head -n 1)"
if [ "${KVOPT_SANITIZE_LIT:-0}" = 1 ]; then
  ninja -C "$build" -j "$jobs" kv-opt kv-translate kv-solve kv-trace
  echo "== lit suite on the sanitized tools (ASan+UBSan)"
  # Leak checking stays off: libMLIR's global registries live until exit.
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 \
    /usr/lib/llvm-22/bin/lit -sv --xunit-xml-output="$reports/asan-lit.xml" \
    --filter-out 'Target/Cuda/(run-|schedule-errors|emit-tiny|llama-pipeline)|BadInput/driver-args' \
    "$build/test" || rc=1
fi
exit $rc
