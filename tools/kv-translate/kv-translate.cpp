//===- kv-translate.cpp - translations in and out of kvtier ---------------===//
//
// Part of kv-opt. An mlir-translate style driver:
//   kv-translate --import-hf-config config.json    model -> kvtier decode step
//   kv-translate --kvtier-to-cuda plan.mlir         plan -> CUDA/C++ driver
//
//===----------------------------------------------------------------------===//

#include "kvopt/InitAll.h"
#include "kvopt/Target/ImportHFConfig.h"

#include "kvopt/Target/EmitCuda.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  mlir::kvtier::registerImportHFConfigTranslation();
  mlir::kvtier::registerEmitCudaTranslation();
  return mlir::failed(mlir::mlirTranslateMain(
      argc, argv, "kv-translate: translations in and out of kvtier"));
}
