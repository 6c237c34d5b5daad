#!/usr/bin/env bash
# fuzz/run.sh - run libFuzzer targets one after another, each for SECONDS,
# at the lowest priority with one job (the machine may be shared).
#
#   fuzz/run.sh SECONDS TARGET...   TARGET: hardware config schedule attr trace
#
# Binaries are read from $KVOPT_BUILD_DIR/fuzz (default build/fuzz); new
# inputs go to build/fuzz/corpus-new-TARGET, the seed corpus fuzz/corpus-TARGET
# is only read. Each run's log is build/fuzz/TARGET.log; its last line has the
# execution count.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${KVOPT_BUILD_DIR:-$root/build}/fuzz"
secs=$1
shift
rc=0
for t in "$@"; do
  seeds="$root/fuzz/corpus-$t"
  [ "$t" = trace ] && seeds="$root/fuzz/corpus"
  mkdir -p "$bin/corpus-new-$t"
  # attr: LLVM's inlined allocator poisoning meets uninstrumented libMLIR
  # (false positives); manual poisoning is ignored for it.
  opts=""
  [ "$t" = attr ] && opts="allow_user_poisoning=0"
  ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}$opts" \
  nice -n 19 "$bin/$t-fuzzer" -max_total_time="$secs" -seed=1 \
    -max_len=65536 -timeout=60 -rss_limit_mb=2048 \
    -artifact_prefix="$bin/$t-" "$bin/corpus-new-$t" "$seeds" \
    >"$bin/$t.log" 2>&1 || rc=1
  echo "$t: $(grep -E '^(#[0-9]+|Done)' "$bin/$t.log" | tail -n 1)"
done
exit $rc
