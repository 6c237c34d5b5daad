//===- kv-opt.cpp - the kv-opt driver -------------------------------------===//
//
// Part of kv-opt. An mlir-opt style driver with the kvtier dialect, the
// kv-opt passes, and the upstream dialects that real model graphs use.
//
// Every output of a run (the IR for -o and the planner's side files) is
// collected in one kvopt::OutputSet and written only when the whole run
// succeeded, so a failing run never touches an existing file, not even an
// input given as its own output.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Core/AtomicOutput.h"
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/ToolHandlers.h"
#include "kvopt/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

static const char *const kHelp =
    "kv-opt: plan where an LLM's KV cache lives across HBM and "
    "off-package DRAM\n\n"
    "  kv-opt --kvtier-plan-kv-tiers model.mlir   plan, annotate, report\n"
    "  kv-opt model.mlir                          parse, verify, print\n";

static llvm::cl::opt<std::string> maxMemory(
    "max-memory",
    llvm::cl::desc("refuse a plan whose trace index needs more memory (e.g. "
                   "64GB; default: the memory available)"));

static int fail(llvm::Error e) {
  llvm::errs() << "kv-opt: error: " << llvm::toString(std::move(e)) << "\n";
  return 1;
}

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kvopt::registerAllDialects(registry);
  kvopt::registerAllPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  auto [inputFile, outputFile] =
      mlir::registerAndParseCLIOptions(argc, argv, kHelp, registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  // Listing dialects or passes writes no file: the upstream driver does it.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, inputFile, outputFile, registry));

  llvm::InitLLVM init(argc, argv);
  kvopt::installToolHandlers("kv-opt");
  if (!maxMemory.empty()) {
    llvm::Expected<uint64_t> bytes =
        kvopt::parseByteSize(maxMemory, "max-memory");
    if (!bytes)
      return fail(bytes.takeError());
    kvopt::setMemoryLimitBytes(*bytes);
  }
  kvopt::OutputSet outputs;
  if (llvm::Error e = outputs.declare(outputFile, "-o"))
    return fail(std::move(e));
  auto input =
      kvopt::readBoundedFile(inputFile, kvopt::kMaxIRFileBytes, "input");
  if (!input)
    return fail(input.takeError());
  if (llvm::Error e = kvopt::checkIRNesting((*input)->getBuffer(), inputFile))
    return fail(std::move(e));
  std::string text;
  {
    kvopt::OutputSet::Scope scope(outputs);
    llvm::raw_string_ostream os(text);
    if (mlir::failed(
            mlir::MlirOptMain(os, std::move(*input), registry, config)))
      return 1;
  }
  if (llvm::Error e = outputs.write(
          outputFile, [&](llvm::raw_ostream &os) { os << text; }, "-o"))
    return fail(std::move(e));
  if (llvm::Error e = outputs.commit())
    return fail(std::move(e));
  return 0;
}
