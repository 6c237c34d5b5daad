#!/usr/bin/env bash
# exact-vs-brute-force.sh - z3-exact against the brute-force optimum on the
# shapes of issue 9 (docs/solver.md, "Before and after").
#
#   bench/solver/exact-vs-brute-force.sh [KV_SOLVE]   (default: build/bin/kv-solve)
#
# Prints one row per instance: link direction, shape, prompt, weight bytes,
# seed, the z3-exact optimum, the time its schedule replays to, and the
# brute-force optimum (omitted by a kv-solve without --brute-force).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kv="${1:-$root/build/bin/kv-solve}"
bf=""
if "$kv" --help 2>/dev/null | grep -q -- --brute-force; then bf="--brute-force"; fi
echo "link|shape|prompt|weight_bytes|seed|z3_exact|z3_schedule|brute_force"
for hw in asym-link asym-link-d2h; do
  for p in 2 4; do for w in 16384 131072; do for seed in 1 2 3; do
    for shape in "--layers=2" "--layers=1 --batch=2"; do
      out=$("$kv" --quiet --hardware-json="$root/test/Solver/Inputs/$hw.json" $shape \
        --prompt=$p --decode=3 --block-tokens=2 --capacity-blocks=2 \
        --weight-bytes=$w --generator=uniform --sparsity=0.5 --seed=$seed \
        --method=exact --no-plan-schedule $bf)
      z=$(echo "$out" | awk '/z3 exact optimum:/ {print $4}')
      s=$(echo "$out" | awk '/^schedule:/ {print $2}')
      b=$(echo "$out" | awk '/^brute-force optimum:/ {print $3}')
      echo "$hw|$shape|$p|$w|$seed|$z|$s|$b"
    done
  done; done; done
done
