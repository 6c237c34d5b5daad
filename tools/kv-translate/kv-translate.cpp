//===- kv-translate.cpp - translations in and out of kvtier ---------------===//
//
// Part of kv-opt. An mlir-translate style driver:
//   kv-translate --import-hf-config config.json    model -> kvtier decode step
//   kv-translate --kvtier-to-cuda plan.mlir         plan -> CUDA/C++ driver
//
// The output (-o) is checked for writability first, written to a temporary
// and moved into place only when the translation succeeded; the input is
// checked against a size limit (a device such as /dev/zero is refused).
//
//===----------------------------------------------------------------------===//

#include "kvopt/Core/AtomicOutput.h"
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/ToolHandlers.h"
#include "kvopt/InitAll.h"
#include "kvopt/Target/ImportHFConfig.h"

#include "kvopt/Target/EmitCuda.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <sys/stat.h>
#include <vector>

static int fail(llvm::Error e) {
  llvm::errs() << "kv-translate: error: " << llvm::toString(std::move(e))
               << "\n";
  return 1;
}

namespace {
/// Where -o and the input file are on the command line.
struct Arguments {
  int outputIndex = -1;     // argv index holding the output name
  std::string outputPrefix; // "-o=" for the joined form, else empty
  std::string output = "-";
  std::string input = "-";
};
} // namespace

/// Finds -o (as "-o F", "-o=F", "--o=F" or "-oF") and the positional input.
/// Every other option of the tool takes its value with '='.
static Arguments scanArguments(int argc, char **argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (arg == "--")
      break;
    if (arg == "-o" || arg == "--o") {
      if (i + 1 < argc) {
        a.outputIndex = i + 1;
        a.output = argv[++i];
      }
      continue;
    }
    for (llvm::StringRef prefix : {"--o=", "-o="})
      if (arg.starts_with(prefix)) {
        a.outputIndex = i;
        a.outputPrefix = prefix.str();
        a.output = arg.drop_front(prefix.size()).str();
      }
    if (a.outputIndex == i)
      continue;
    if (arg.starts_with("-o") && !arg.starts_with("-o=") && arg.size() > 2 &&
        !arg.starts_with("--")) {
      a.outputIndex = i;
      a.outputPrefix = "-o";
      a.output = arg.drop_front(2).str();
      continue;
    }
    if (arg == "-" || !arg.starts_with("-"))
      a.input = arg.str();
  }
  return a;
}

int main(int argc, char **argv) {
  kvopt::installToolHandlers("kv-translate");
  mlir::kvtier::registerImportHFConfigTranslation();
  mlir::kvtier::registerEmitCudaTranslation();
  Arguments args = scanArguments(argc, argv);
  bool help = false;
  for (int i = 1; i < argc; ++i)
    help |= llvm::StringRef(argv[i]).starts_with("--help") ||
            llvm::StringRef(argv[i]) == "-h";
  if (help)
    return mlir::failed(mlir::mlirTranslateMain(
        argc, argv, "kv-translate: translations in and out of kvtier"));

  // The input: a device or an oversized file is refused before reading.
  struct stat st;
  if (args.input != "-" && ::stat(args.input.c_str(), &st) == 0) {
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      return fail(llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "input '%s' is a device, not a file", args.input.c_str()));
    if (S_ISREG(st.st_mode) && uint64_t(st.st_size) > kvopt::kMaxIRFileBytes)
      return fail(llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "input '%s' (%llu bytes) is larger than the limit of %llu bytes",
          args.input.c_str(), (unsigned long long)st.st_size,
          (unsigned long long)kvopt::kMaxIRFileBytes));
  }

  // MLIR's parser recurses per bracket: refuse absurd nesting first.
  if (args.input != "-" && llvm::StringRef(args.input).ends_with(".mlir")) {
    auto text = kvopt::readBoundedFile(args.input, kvopt::kMaxIRFileBytes,
                                       "input");
    if (!text)
      return fail(text.takeError());
    if (llvm::Error e =
            kvopt::checkIRNesting((*text)->getBuffer(), args.input))
      return fail(std::move(e));
  }
  kvopt::OutputSet outputs;
  std::vector<char *> argvTemp(argv, argv + argc);
  std::string replaced;
  if (args.output != "-") {
    llvm::Expected<std::string> temp = outputs.temporaryFor(args.output, "-o");
    if (!temp)
      return fail(temp.takeError());
    replaced = args.outputPrefix + *temp;
    argvTemp[args.outputIndex] = replaced.data();
  }
  argvTemp.push_back(nullptr);
  if (mlir::failed(mlir::mlirTranslateMain(
          argc, argvTemp.data(),
          "kv-translate: translations in and out of kvtier")))
    return 1;
  if (llvm::Error e = outputs.commit())
    return fail(std::move(e));
  return 0;
}
