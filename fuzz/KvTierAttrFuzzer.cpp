//===- KvTierAttrFuzzer.cpp - libFuzzer target: kvtier attribute parser --===//
//
// The input is parsed as a kvtier attribute and, failing that, as a kvtier
// type (quantities with units, memory systems, caches). Every input must
// give a verified attribute/type or a diagnostic; an accepted one must
// print and parse back to itself (round trip of the exact units).
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

using namespace mlir;

/// Attributes and types are uniqued in the context for its lifetime, so a
/// fresh context every 20000 inputs keeps the fuzzer's memory bounded.
static MLIRContext &context() {
  static std::unique_ptr<MLIRContext> ctx;
  static unsigned uses = 0;
  if (!ctx || ++uses % 20000 == 0) {
    ctx = std::make_unique<MLIRContext>(MLIRContext::Threading::DISABLED);
    ctx->getOrLoadDialect<kvtier::KvTierDialect>();
    ctx->getDiagEngine().registerHandler(
        [](Diagnostic &) { return success(); });
  }
  return *ctx;
}

template <typename T> static std::string print(T value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  value.print(os);
  return s;
}

/// LLVM's BumpPtrAllocator poisons the unused rest of a slab when inlined
/// into this instrumented file, but libMLIR (not instrumented) hands out
/// memory from the same slabs without unpoisoning it: every such report is
/// a false positive, so manual poisoning is ignored (found by the first
/// run on `cache<... kv_headsQ= 1 ...>`; no crash without ASan). fuzz/run.sh
/// and the smoke test also set ASAN_OPTIONS=allow_user_poisoning=0.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &ctx = context();
  std::string text = "#kvtier." + std::string(reinterpret_cast<const char *>(data), size);
  // The tools refuse deeper nesting before parsing (MLIR's parser recurses
  // per bracket); so does the harness.
  if (llvm::Error e = kvopt::checkIRNesting(text, "fuzz")) {
    llvm::consumeError(std::move(e));
    return 0;
  }
  size_t read = 0;
  if (Attribute a = parseAttribute(text, &ctx, Type(), &read)) {
    if (read != text.size())
      return 0;
    std::string printed = print(a);
    Attribute again = parseAttribute(printed, &ctx);
    if (again != a)
      std::abort(); // the printed form does not round-trip
    return 0;
  }
  std::string typeText = "!kvtier." + text.substr(8);
  if (Type t = parseType(typeText, &ctx, &read)) {
    if (read != typeText.size())
      return 0;
    if (parseType(print(t), &ctx) != t)
      std::abort();
  }
  return 0;
}
