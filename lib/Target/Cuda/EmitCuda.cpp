//===- EmitCuda.cpp - planned kvtier module -> CUDA/C++ driver ------------===//
//
// Part of kv-opt. The translation entry: check the module against its plan,
// lower the decode step to emitc and print it with upstream's C++ emitter,
// then write the driver around it. Nothing is written on error.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Target/EmitCuda.h"

#include "DriverModel.h"

#include "kvopt/InitAll.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Target/Cpp/CppEmitter.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"

using namespace mlir;
using namespace mlir::kvtier;

LogicalResult mlir::kvtier::emitCudaDriver(ModuleOp module, raw_ostream &os,
                                           const EmitCudaOptions &options) {
  FailureOr<DriverModel> model = buildDriverModel(module, options);
  if (failed(model))
    return failure();
  FailureOr<OwningOpRef<ModuleOp>> step = buildStepModule(*model);
  if (failed(step))
    return failure();
  std::string stepSource;
  llvm::raw_string_ostream stepStream(stepSource);
  if (failed(emitc::translateToCpp(step->get(), stepStream)))
    return emitError(module.getLoc(),
                     "cannot print the lowered decode step as C++");
  writeDriverSource(*model, stepSource, os);
  return success();
}

void mlir::kvtier::registerEmitCudaTranslation() {
  static llvm::cl::opt<std::string> schedule(
      "kvtier-cuda-schedule",
      llvm::cl::desc("--kvtier-to-cuda: schedule side file to check and use "
                     "by default (default: the file of #kvtier.plan)"),
      llvm::cl::init(""));
  static llvm::cl::opt<int64_t> gqaGroup(
      "kvtier-cuda-gqa-group",
      llvm::cl::desc("--kvtier-to-cuda: query heads per KV head (default: "
                     "from the attention query tensors, else 1)"),
      llvm::cl::init(0));
  static llvm::cl::opt<int64_t> prompt(
      "kvtier-cuda-prompt",
      llvm::cl::desc("--kvtier-to-cuda: tokens in the cache before decoding "
                     "(default: max_tokens minus the schedule's steps)"),
      llvm::cl::init(0));
  static llvm::cl::opt<uint64_t> seed(
      "kvtier-cuda-seed",
      llvm::cl::desc("--kvtier-to-cuda: default seed of the generated data"),
      llvm::cl::init(42));

  TranslateFromMLIRRegistration registration(
      "kvtier-to-cuda",
      "planned kvtier module -> CUDA C++ decode driver on the kvrt runtime",
      [](ModuleOp module, raw_ostream &os) -> LogicalResult {
        EmitCudaOptions options;
        options.schedulePath = schedule.getValue();
        options.gqaGroup = gqaGroup.getValue();
        options.promptTokens = prompt.getValue();
        options.seed = seed.getValue();
        if (options.gqaGroup < 0 || options.promptTokens < 0)
          return emitError(module.getLoc(),
                           "--kvtier-cuda-gqa-group and "
                           "--kvtier-cuda-prompt must not be negative");
        return emitCudaDriver(module, os, options);
      },
      [](DialectRegistry &registry) {
        // Whatever kv-opt reads and plans (decode graphs keep their tensor,
        // linalg, scf ... ops next to the kvtier ones), plus emitc.
        kvopt::registerAllDialects(registry);
        registry.insert<emitc::EmitCDialect>();
      });
}
