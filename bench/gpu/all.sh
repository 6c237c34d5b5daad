#!/usr/bin/env bash
#===- bench/gpu/all.sh - Every GPU check and measurement in one call ------===#
#
# On the GPU machine, in one call: bench/gpu/run.sh (build the runtime with
# nvcc, kvrt-check on the CUDA backend, the example driver, kvrt-bench),
# then the emitted drivers prepared on the CPU machine by
#   test/Target/Cuda/Inputs/gpu/drivers.sh prepare build DIR
# run on the CUDA backend; prints a short summary last.
# Results go to $OUT (if set) or build-gpu/results: run.log, kvrt-bench.csv,
# drivers.log.
#
# usage: bench/gpu/all.sh DIR
#===----------------------------------------------------------------------===#
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=$(cd "${1:?usage: bench/gpu/all.sh DIR}" && pwd)
RESULTS=${OUT:-$ROOT/build-gpu/results}
mkdir -p "$RESULTS"
export PATH=/usr/local/cuda/bin:$PATH

"$ROOT/bench/gpu/run.sh" >/dev/null 2>&1
runRc=$?
bash "$ROOT/test/Target/Cuda/Inputs/gpu/drivers.sh" run "$DIR" \
  >"$RESULTS/drivers.log" 2>&1
driversRc=$?

echo "=== kvrt-check, example driver, kvrt-bench (run.log, last lines)"
grep -E "PASSED|FAILED|FAIL:|error" "$RESULTS/run.log" | head -20
tail -n 45 "$RESULTS/run.log"
echo "=== emitted drivers (drivers.log)"
grep -E "^==|^FAILED|step time|bytes read|migrated|max relative|differing|peak HBM|PASS|FAIL|error" \
  "$RESULTS/drivers.log"
echo "=== run.sh exit $runRc, drivers exit $driversRc"
(( runRc == 0 && driversRc == 0 ))
