//===- KvOptPlugin.cpp - kvtier as an upstream mlir-opt plugin ------------===//
//
// Part of kv-opt. One shared object that is both a dialect plugin and a pass
// plugin for upstream `mlir-opt`:
//
//   mlir-opt --load-dialect-plugin=libKvOptPlugin.so \
//            --load-pass-plugin=libKvOptPlugin.so \
//            --kvtier-plan-kv-tiers model.mlir
//
//===----------------------------------------------------------------------===//

#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"
#include "kvopt/Conversion/Passes.h"
#include "kvopt/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

using namespace mlir;

extern "C" LLVM_ATTRIBUTE_WEAK DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "KvTier", LLVM_VERSION_STRING,
          [](DialectRegistry *registry) {
            registry->insert<kvtier::KvTierDialect>();
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "KvTierPasses", LLVM_VERSION_STRING, []() {
            kvtier::registerKvTierPasses();
            kvtier::registerPlanKvTiersPipeline();
            kvtier::registerKvTierConversionPasses();
          }};
}
