//===- EmitCuda.h - planned kvtier module -> CUDA/C++ driver ----*- C++ -*-===//
//
// Part of kv-opt. Translates a planned module (kvtier.memory_system,
// kvtier.plan with its schedule side file, kvtier.cache / append / attention
// and optional migrate / wait ops) into a self-contained CUDA C++ decode
// driver on the kvrt runtime. The per-step body is a real lowering: the
// decode function's kvtier ops go through the kvtier -> emitc conversion and
// upstream's C++ emitter; setup and main are written around it from the
// module's geometry and plan. See docs/lowering.md.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_TARGET_EMITCUDA_H
#define KVOPT_TARGET_EMITCUDA_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

namespace mlir::kvtier {

/// Options of --kvtier-to-cuda.
struct EmitCudaOptions {
  /// Schedule side file to check and to bake in as the default; empty: the
  /// `file` of #kvtier.plan.
  std::string schedulePath;
  /// Query heads per KV head; 0: from the attention ops' query tensors, or 1.
  int64_t gqaGroup = 0;
  /// Tokens already in the cache when decoding starts; 0: max_tokens minus
  /// the schedule's decode steps.
  int64_t promptTokens = 0;
  /// Seed of the generated K/V/query data baked in as the default.
  uint64_t seed = 42;
};

/// Writes the driver for `module` to `os`. Every mismatch between the module,
/// its plan and the schedule file is reported as an error at the op or the
/// module it concerns, and nothing is written.
LogicalResult emitCudaDriver(ModuleOp module, llvm::raw_ostream &os,
                             const EmitCudaOptions &options);

/// Registers `--kvtier-to-cuda` (with its `--kvtier-cuda-*` options) with the
/// translation registry.
void registerEmitCudaTranslation();

} // namespace mlir::kvtier

#endif // KVOPT_TARGET_EMITCUDA_H
