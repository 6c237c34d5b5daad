#!/usr/bin/env bash
# bench/deployment/run.sh - the issue-14 targets: import, plan every
# distinct shard, report (docs/deployment.md), and the cost of planning 8
# identical TP shards against planning one shard alone.
#
#   bench/deployment/run.sh [OUT_DIR]      (default: out/deployment)
#
# Needs build/bin/kv-translate and build/bin/kv-opt, and the shared model
# configs in ../shared/data/models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/out/deployment}"
models="$root/../shared/data/models"
bin="$root/build/bin"
mkdir -p "$out"
opts="decode=64 baselines=false time-limit=60"

plan() { # name config import-options plan-options
  local name=$1 config=$2 imp=$3 pl=$4
  # shellcheck disable=SC2086
  "$bin/kv-translate" --import-hf-config "$models/$config.json" $imp -o "$out/$name.mlir"
  /usr/bin/time -f "$name: %e s wall, %U s user" -a -o "$out/times.txt" \
    "$bin/kv-opt" "$out/$name.mlir" \
    --kvtier-plan-deployment="$pl $opts report=$out/$name.txt json=$out/$name.json shard-report=$out/$name.shard.txt" \
    -o "$out/$name.planned.mlir" 2>"$out/$name.log"
  cat "$out/$name.txt"
}
: > "$out/times.txt"
plan llama70b-tp2-gh200-nvl2 Llama-3.1-70B "--max-tokens=32768 --batch=16 --block=128 --tp=2" "preset=gh200-nvl2"
plan llama405b-tp8-h200-x8 Llama-3.1-405B "--max-tokens=131072 --batch=8 --block=256 --tp=8" "preset=h200-pcie-x8"
plan llama405b-tp8-gb200-nvl72 Llama-3.1-405B "--max-tokens=131072 --batch=16 --block=256 --tp=8" "preset=gb200-nvl72"
plan deepseekv3-tp8-h200-x8 DeepSeek-V3 "--max-tokens=131072 --batch=8 --block=256 --tp=8" "preset=h200-pcie-x8"

# One TP shard of the 405B/H200 target as a single-GPU module: KV heads 8 -> 1,
# the per-GPU weights from the deployment report, no deployment attribute.
resident=$(grep -o '"resident_weight_bytes": [0-9.e+]*' "$out/llama405b-tp8-h200-x8.json" | head -1 | awk '{printf "%.0f", $2}')
perstep=$(grep -o '"weight_bytes_per_layer_step": [0-9.e+]*' "$out/llama405b-tp8-h200-x8.json" | head -1 | awk '{printf "%.0f", $2}')
sed -e 's/kvtier.deployment = #kvtier.deployment<[^>]*>, //' \
    -e 's/kv_heads = 8,/kv_heads = 1,/g' \
    -e "s/resident_weight_bytes = [0-9]*/resident_weight_bytes = $resident/" \
    -e "s/weight_bytes_per_layer_step = [0-9]*/weight_bytes_per_layer_step = $perstep/" \
    "$out/llama405b-tp8-h200-x8.mlir" > "$out/llama405b-one-shard.mlir"
for run in 1 2 3; do
  /usr/bin/time -f "one shard (plan-kv-tiers) run $run: %e s wall, %U s user" -a -o "$out/times.txt" \
    "$bin/kv-opt" "$out/llama405b-one-shard.mlir" \
    --kvtier-plan-kv-tiers="preset=h200-pcie-x8 $opts report=$out/one-shard.$run.txt" -o /dev/null 2>/dev/null
  /usr/bin/time -f "8 TP shards (plan-deployment) run $run: %e s wall, %U s user" -a -o "$out/times.txt" \
    "$bin/kv-opt" "$out/llama405b-tp8-h200-x8.mlir" \
    --kvtier-plan-deployment="preset=h200-pcie-x8 $opts report= shard-report=$out/eight.$run.txt" -o /dev/null 2>/dev/null
done
cat "$out/times.txt"
