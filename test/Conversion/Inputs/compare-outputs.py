#!/usr/bin/env python3
"""Compares the memrefs two mlir-runner programs printed (printMemrefF32).

usage: compare-outputs.py REFERENCE OTHER [--tolerance T]

Every printed memref of REFERENCE must appear, in the same order and shape,
in OTHER, with every innermost row (one head_dim vector of an attention
output, one token's K or V of a cache) within relative error T (default
1e-5) of the reference: max |other - ref| <= T * max |ref| over the row,
the measure kvrt_max_rel_error uses. An all-zero reference row must be
matched exactly. Lines that are not part of a printed memref (runtime
statistics) are ignored. Prints the count and the worst error; exits 1 on
any mismatch.
"""
import re
import sys

NUM = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)")


def memrefs(path):
    out, cur = [], None
    for line in open(path):
        if line.startswith("Unranked Memref"):
            shape = re.search(r"sizes = \[([^\]]*)\]", line).group(1)
            cur = (shape, [])
            out.append(cur)
            continue
        if cur is None or not line.lstrip().startswith("["):
            cur = None if cur is None or not line.strip() else cur
            continue
        for row in re.findall(r"\[([^\[\]]*)\]", line):
            cur[1].append([float(x) for x in NUM.findall(row)])
    return out


def main():
    args = sys.argv[1:]
    tol = 1e-5
    if "--tolerance" in args:
        i = args.index("--tolerance")
        tol = float(args[i + 1])
        del args[i:i + 2]
    ref, other = memrefs(args[0]), memrefs(args[1])
    if not ref:
        print(f"FAIL: no memref printed in {args[0]}")
        return 1
    if len(ref) != len(other):
        print(f"FAIL: {len(ref)} memrefs in {args[0]}, {len(other)} in {args[1]}")
        return 1
    worst, count = 0.0, 0
    for n, ((sa, a), (sb, b)) in enumerate(zip(ref, other)):
        if sa != sb or len(a) != len(b) or not a:
            print(f"FAIL: memref {n}: shape [{sa}] ({len(a)} values) vs "
                  f"[{sb}] ({len(b)} values)")
            return 1
        for i, (x, y) in enumerate(zip(a, b)):
            if len(x) != len(y):
                print(f"FAIL: memref {n} row {i}: {len(y)} vs {len(x)} values")
                return 1
            diff = max(abs(p - q) for p, q in zip(x, y))
            mag = max(abs(p) for p in x)
            err = diff / mag if mag > 0 else (0.0 if diff == 0 else float("inf"))
            worst = max(worst, err)
            count += len(x)
            if not err <= tol:
                print(f"FAIL: memref {n} row {i}: {y} vs reference {x} "
                      f"(relative error {err:.3g} > {tol:g})")
                return 1
    print(f"OK: {len(ref)} memrefs, {count} values, max relative error "
          f"{worst:.3g} <= {tol:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
