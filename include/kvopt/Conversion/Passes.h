//===- Passes.h - kv-opt conversion passes ----------------------*- C++ -*-===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CONVERSION_PASSES_H
#define KVOPT_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::kvtier {

#define GEN_PASS_DECL
#include "kvopt/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kvopt/Conversion/Passes.h.inc"

} // namespace mlir::kvtier

#endif // KVOPT_CONVERSION_PASSES_H
