#!/usr/bin/env python3
"""Writes one module holding a test driver and a program under test.

usage: splice-main.py PROGRAM.mlir MAIN.mlir > FULL.mlir

The top-level ops of PROGRAM's module (whose `module ... {` line must end
with the brace) are appended to MAIN's module; attribute aliases before
PROGRAM's module line are kept.
"""
import sys

prog = open(sys.argv[1]).read().splitlines()
main = open(sys.argv[2]).read()
start = next(i for i, l in enumerate(prog) if l.startswith("module"))
if not prog[start].rstrip().endswith("{"):
    sys.exit(f"{sys.argv[1]}: the module line must end with '{{'")
end = max(i for i, l in enumerate(prog) if l.strip() == "}")
aliases = "\n".join(prog[:start])
body = "\n".join(prog[start + 1:end])
close = main.rindex("}")
print(aliases + "\n" + main[:close] + body + "\n}")
