//===- KvTierOps.h - kvtier operations --------------------------*- C++ -*-===//
#ifndef KVOPT_DIALECT_KVTIER_IR_KVTIEROPS_H
#define KVOPT_DIALECT_KVTIER_IR_KVTIEROPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "kvopt/Dialect/KvTier/IR/KvTierAttrs.h"
#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"
#include "kvopt/Dialect/KvTier/IR/KvTierTypes.h"

#define GET_OP_CLASSES
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h.inc"

#endif // KVOPT_DIALECT_KVTIER_IR_KVTIEROPS_H
