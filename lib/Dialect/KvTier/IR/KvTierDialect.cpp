//===- KvTierDialect.cpp - kvtier dialect registration --------------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"

using namespace mlir;
using namespace mlir::kvtier;

#include "kvopt/Dialect/KvTier/IR/KvTierOpsDialect.cpp.inc"

void KvTierDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "kvopt/Dialect/KvTier/IR/KvTierOps.cpp.inc"
      >();
}
