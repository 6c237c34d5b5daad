//===- KvTierAttrs.h - kvtier attributes ------------------------*- C++ -*-===//
#ifndef KVOPT_DIALECT_KVTIER_IR_KVTIERATTRS_H
#define KVOPT_DIALECT_KVTIER_IR_KVTIERATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "kvopt/Dialect/KvTier/IR/KvTierEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kvopt/Dialect/KvTier/IR/KvTierAttrs.h.inc"

namespace mlir::kvtier {
/// Parses a signed integer or floating-point literal as a double.
ParseResult parseNumber(AsmParser &parser, double &value);
/// Finds the memory system that applies to `op`: the `kvtier.memory_system`
/// attribute of the closest enclosing operation that has one, or null.
MemorySystemAttr lookupMemorySystem(Operation *op);

/// Formats a byte count with the unit that represents it exactly
/// (e.g. "24 GiB", "96 GB", "4.5 MB", "17 B").
std::string formatBytes(int64_t bytes);
/// Formats a bandwidth in bytes per second exactly (e.g. "4.9 TB/s").
std::string formatBandwidth(int64_t bytesPerSecond);
} // namespace mlir::kvtier

#endif // KVOPT_DIALECT_KVTIER_IR_KVTIERATTRS_H
