//===- KvTierTypes.h - kvtier types -----------------------------*- C++ -*-===//
#ifndef KVOPT_DIALECT_KVTIER_IR_KVTIERTYPES_H
#define KVOPT_DIALECT_KVTIER_IR_KVTIERTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#include "kvopt/Dialect/KvTier/IR/KvTierTypeInterfaces.h.inc"

#define GET_TYPEDEF_CLASSES
#include "kvopt/Dialect/KvTier/IR/KvTierOpsTypes.h.inc"

#endif // KVOPT_DIALECT_KVTIER_IR_KVTIERTYPES_H
