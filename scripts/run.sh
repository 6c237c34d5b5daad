#!/usr/bin/env bash
# run.sh - the main job on the bundled default, from a fresh machine.
#
# Installs dependencies, builds kv-opt, imports Llama-3.1-8B from its
# config.json, plans its KV cache on the GH200 preset against a seed-like
# sparse-attention trace, and prints the report: the proven bound, the
# schedule and its gap, and every baseline policy. Files land in out/:
#   llama-3.1-8b.mlir          the imported decode step
#   llama-3.1-8b.planned.mlir  the annotated module (#kvtier.plan, ...)
#   plan.kvsched               the schedule side file (runtime format)
#   report.txt/.json/.html     the report; open report.html in a browser
#
# Extra arguments are appended to the planner's options, e.g.
#   scripts/run.sh preset=h100-pcie sparsity=0.8
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVOPT_BUILD_DIR:-$root/build}"
out="${KVOPT_OUT_DIR:-$root/out}"
export KVOPT_BUILD_DIR="$build"

"$root/scripts/build.sh" kv-opt kv-translate >&2
mkdir -p "$out"

# The default: 16 sequences of a 64k-token context (prompt + decode), bf16
# GQA KV = 128 KiB per token: 137 GB of KV against the 80 GB of HBM the
# weights leave free on a 96 GB GH200; 64 decode steps keep the run (bound,
# schedule and nine baselines) under a minute on two cores.
batch=16
prompt=65472
decode=64

"$build/bin/kv-translate" --import-hf-config "$root/examples/Llama-3.1-8B.json" \
  --max-tokens=$((prompt + decode)) --batch=$batch --block=16 --sparsity=0.6 \
  -o "$out/llama-3.1-8b.mlir"

"$build/bin/kv-opt" "$out/llama-3.1-8b.mlir" \
  --kvtier-plan-kv-tiers="preset=gh200 prompt=$prompt decode=$decode variation=real seed=1 report=$out/report.txt json=$out/report.json html=$out/report.html schedule-file=$out/plan.kvsched $*" \
  -o "$out/llama-3.1-8b.planned.mlir"

cat "$out/report.txt"
echo
echo "annotated module: $out/llama-3.1-8b.planned.mlir"
echo "schedule:         $out/plan.kvsched"
echo "report:           $out/report.html (and .json)"
