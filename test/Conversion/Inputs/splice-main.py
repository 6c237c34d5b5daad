#!/usr/bin/env python3
"""Writes one module holding a test driver and a program under test.

usage: splice-main.py PROGRAM.mlir MAIN.mlir [--drop-func NAME]... > FULL.mlir

The top-level ops of PROGRAM's module (whose `module ... {` line must end
with the brace) are appended to MAIN's module; attribute aliases before
PROGRAM's module line are kept. --drop-func leaves out PROGRAM's
`func.func @NAME` (e.g. a graph's own benchmark main), as printed by kv-opt
(two-space indent, closed by a line `  }`); a name not found is an error.
"""
import sys

args = sys.argv[1:]
drop = []
while "--drop-func" in args:
    i = args.index("--drop-func")
    drop.append(args[i + 1])
    del args[i:i + 2]
prog = open(args[0]).read().splitlines()
main = open(args[1]).read()
for name in drop:
    try:
        first = next(i for i, l in enumerate(prog)
                     if l.startswith(f"  func.func @{name}("))
    except StopIteration:
        sys.exit(f"{args[0]}: no top-level func.func @{name} to drop")
    last = next(i for i in range(first, len(prog)) if prog[i] == "  }")
    del prog[first:last + 1]
start = next(i for i, l in enumerate(prog) if l.startswith("module"))
if not prog[start].rstrip().endswith("{"):
    sys.exit(f"{args[0]}: the module line must end with '{{'")
end = max(i for i, l in enumerate(prog) if l.strip() == "}")
aliases = "\n".join(prog[:start])
body = "\n".join(prog[start + 1:end])
close = main.rindex("}")
print(aliases + "\n" + main[:close] + body + "\n}")
