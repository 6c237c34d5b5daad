//===- KvTierDialect.h - kvtier dialect -------------------------*- C++ -*-===//
//
// Part of kv-opt. The kvtier dialect: KV caches, attention, migrations and
// plans over a heterogeneous memory system.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_DIALECT_KVTIER_IR_KVTIERDIALECT_H
#define KVOPT_DIALECT_KVTIER_IR_KVTIERDIALECT_H

#include "mlir/IR/Dialect.h"

#include "kvopt/Dialect/KvTier/IR/KvTierOpsDialect.h.inc"

#endif // KVOPT_DIALECT_KVTIER_IR_KVTIERDIALECT_H
