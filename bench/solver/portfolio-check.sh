#!/usr/bin/env bash
# portfolio-check.sh - the plan is never worse than a capacity-respecting
# baseline of its own table, on every shared MLIR graph and model config.
#
#   bench/solver/portfolio-check.sh [build-dir] [shared-data-dir]
#
# Each graph is planned with --plan-kv-tiers on the h100-pcie and gh200
# presets; each model config is imported (kv-translate --import-hf-config,
# 16,384 tokens x batch 4, 16-token blocks, 32 decode steps) and planned on
# gh200 and h100-pcie (a model whose weights do not fit is skipped, with
# the planner's reason). Prints one line per run: plan time, best capacity-respecting
# baseline, schedule/bound, and OK or FAIL; exits 1 on any FAIL.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
shared="${2:-$root/../shared/data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0

check() { # name json
  python3 - "$1" "$2" <<'PY' || fail=1
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
plan = r["plan"]["total_seconds"]
feasible = [b for b in r["baselines"] if not b["ignores_capacity"]]
best = min(feasible, key=lambda b: b["total_seconds"])
ok = all(plan <= b["total_seconds"] for b in feasible)
print(f"{name:58s} plan {plan:.6g} s  best baseline {best['policy']} "
      f"{best['total_seconds']:.6g} s  schedule/bound "
      f"{r['schedule_over_bound']:.4f} ({r['bound_method']})  "
      f"{'OK' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
}

for g in deepseek-r1-distill-1.5b-decode-linalg:16 qwen3-decode-tosa:8 \
         torch-mlir-mha-linalg:4 bert-small-mha-linalg:8 \
         bert-torch-mlir-linalg:4; do
  file="${g%%:*}" block="${g##*:}"
  for preset in h100-pcie gh200; do
    "$build/bin/kv-opt" "$shared/mlir/$file.mlir" \
      --plan-kv-tiers="block=$block preset=$preset report= json=$tmp/r.json" \
      -o /dev/null 2>/dev/null
    check "$file ($preset)" "$tmp/r.json"
  done
done

for cfg in "$shared"/models/*.json; do
  name="$(basename "$cfg" .json)"
  "$build/bin/kv-translate" --import-hf-config "$cfg" --max-tokens=16384 \
    --batch=4 --block=16 -o "$tmp/m.mlir"
  for preset in gh200 h100-pcie; do
    # A model whose weights do not fit one GPU is refused with a reason:
    # reported as skipped, not a failure of the portfolio.
    if ! "$build/bin/kv-opt" "$tmp/m.mlir" \
      --kvtier-plan-kv-tiers="preset=$preset prompt=16352 decode=32 report= json=$tmp/r.json" \
      -o /dev/null 2>"$tmp/err"; then
      printf '%-58s skipped: %s\n' "$name ($preset)" \
        "$(grep -m1 error "$tmp/err" | cut -c1-110)"
      continue
    fi
    check "$name ($preset)" "$tmp/r.json"
  done
done
exit $fail
