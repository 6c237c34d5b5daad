//===- Passes.h - kv-opt passes ---------------------------------*- C++ -*-===//
#ifndef KVOPT_TRANSFORMS_PASSES_H
#define KVOPT_TRANSFORMS_PASSES_H

#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::kvtier {

#define GEN_PASS_DECL
#include "kvopt/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kvopt/Transforms/Passes.h.inc"

/// Registers the `plan-kv-tiers` pipeline: raise attention (when the module
/// has none in the kvtier dialect yet), then plan.
void registerPlanKvTiersPipeline();

} // namespace mlir::kvtier

#endif // KVOPT_TRANSFORMS_PASSES_H
