#!/usr/bin/env bash
# build.sh - install dependencies, configure and build kv-opt (idempotent).
#
#   scripts/build.sh [ninja targets...]
#
# Environment: KVOPT_BUILD_DIR (default: build), KVOPT_JOBS (default: nproc),
# KVOPT_CMAKE_ARGS (extra cmake arguments).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVOPT_BUILD_DIR:-$root/build}"
jobs="${KVOPT_JOBS:-$(nproc)}"

"$root/scripts/install-deps.sh"

if [ ! -f "$build/build.ninja" ]; then
  # shellcheck disable=SC2086
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    ${KVOPT_CMAKE_ARGS:-}
fi
ninja -C "$build" -j "$jobs" "$@"
