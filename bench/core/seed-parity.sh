#!/usr/bin/env bash
# seed-parity.sh - the tables of docs/reproduction.md section 1 (issue 15).
#
#   bench/core/seed-parity.sh [build dir] [work dir]
#
# For the authors' reference trace (../shared/data/seed-sim, 1,024 + 256) and
# a 16,384 + 64 trace of kv-opt's seed-like generator (seed 7), each policy
# under: their code (kv-trace --seed-code), their equations (kv-trace
# --paper, kv-opt's seed-compatible policies), kv-opt's model (kvopt-v1,
# exclusive, the same KV budget in bytes), and kv-opt's lower bound
# (kv-solve --method=lagrangian on the same trace). The memory systems:
# ../shared/data/seed-sim/paper-small-hbm.json and seed-parity/*.json (the
# "paper" files read the capacity as their code does, GiB; the "std" files
# give the same number of KV entries in decimal GB).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
work="${2:-/tmp/kvopt-seed-parity}"
shared="$root/../shared/data/seed-sim"
inputs="$root/bench/core/seed-parity"
mkdir -p "$work"
xz -dc "$shared/small_p1024_d256_s60_seed1.csv.xz" > "$work/small.csv"
"$build/bin/kv-trace" generate --kind=seed-like --prompt=16384 --decode=64 \
  --sparsity=0.6 --seed=7 -o "$work/long.csv" > /dev/null

run() { echo "\$ $*"; "$@"; echo; }
for t in small long; do
  if [ "$t" = small ]; then
    paper="$shared/paper-small-hbm.json"; shape="--prompt=1024 --decode=256"
  else
    paper="$inputs/long-paper-hbm.json"; shape="--prompt=16384 --decode=64"
  fi
  std="$inputs/$t-std-hbm.json"
  echo "=== $t"
  run "$build/bin/kv-trace" simulate "$work/$t.csv" --seed-code --hardware="$paper" \
    --policy=static,unlimited,reactive,page,lookahead,sa --sa-seed=1
  for q in promotion-pricing whole-layer-eviction page-geometry conditional-charges all; do
    run "$build/bin/kv-trace" simulate "$work/$t.csv" --seed-code --hardware="$paper" \
      --policy=reactive,page,lookahead --without-quirks=$q
  done
  run "$build/bin/kv-trace" simulate "$work/$t.csv" --paper --hardware="$paper" \
    --policy=static,unlimited,reactive-seed,lookahead,sa --anneal=40
  run "$build/bin/kv-trace" simulate "$work/$t.csv" --paper --hardware="$paper" \
    --policy=page --block=16
  run "$build/bin/kv-trace" simulate "$work/$t.csv" --hardware="$std" \
    --policy=static,unlimited,reactive,lookahead,belady,sa --anneal=40
  run "$build/bin/kv-trace" simulate "$work/$t.csv" --hardware="$std" \
    --policy=page --block=16
  # shellcheck disable=SC2086
  run "$build/bin/kv-solve" --trace="$work/$t.csv" --hardware-json="$std" $shape \
    --method=lagrangian --iterations=10 --quiet
done
