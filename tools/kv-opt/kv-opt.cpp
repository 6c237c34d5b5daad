//===- kv-opt.cpp - the kv-opt driver -------------------------------------===//
//
// Part of kv-opt. An mlir-opt style driver with the kvtier dialect, the
// kv-opt passes, and the upstream dialects that real model graphs use.
//
//===----------------------------------------------------------------------===//

#include "kvopt/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kvopt::registerAllDialects(registry);
  kvopt::registerAllPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv,
      "kv-opt: plan where an LLM's KV cache lives across HBM and "
      "off-package DRAM\n\n"
      "  kv-opt --kvtier-plan-kv-tiers model.mlir   plan, annotate, report\n"
      "  kv-opt model.mlir                          parse, verify, print\n",
      registry));
}
