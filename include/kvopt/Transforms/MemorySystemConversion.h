//===- MemorySystemConversion.h - IR <-> core memory systems ----*- C++ -*-===//
//
// Part of kv-opt. Translates `#kvtier.memory_system` to the MLIR-free core's
// MemorySystem and back.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_TRANSFORMS_MEMORYSYSTEMCONVERSION_H
#define KVOPT_TRANSFORMS_MEMORYSYSTEMCONVERSION_H

#include "kvopt/Core/Hardware.h"
#include "kvopt/Dialect/KvTier/IR/KvTierAttrs.h"

#include "mlir/Support/LogicalResult.h"

namespace mlir::kvtier {

/// Converts a verified attribute. The core model has one HBM and one DRAM
/// tier joined by a link in both directions; anything else is reported
/// through `emitError` and fails.
FailureOr<kvopt::MemorySystem>
toCoreMemorySystem(MemorySystemAttr attr,
                   function_ref<InFlightDiagnostic()> emitError);

/// Builds the attribute of a core memory system (bytes rounded to whole
/// bytes, bandwidths to whole bytes per second).
MemorySystemAttr fromCoreMemorySystem(MLIRContext *ctx,
                                      const kvopt::MemorySystem &mem);

} // namespace mlir::kvtier

#endif // KVOPT_TRANSFORMS_MEMORYSYSTEMCONVERSION_H
