//===- ImportHFConfig.h - config.json -> kvtier decode graph ----*- C++ -*-===//
//
// Part of kv-opt. Builds the decode step of a published model in the kvtier
// dialect from its Hugging Face config.json: one cache per layer group (full
// attention; each sliding window apart, capped at the window), one append
// and one attention per layer, GQA or MLA geometry, and #kvtier.model with
// the resident weights and the weights read per step at the import's batch
// (MoE: the experts the batch is expected to touch). Every import reports
// what it read: a remark with the sizes and the keys used, assumed and
// ignored, and warnings for unrecognised keys and lengths past
// max_position_embeddings (docs/models.md).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_TARGET_IMPORTHFCONFIG_H
#define KVOPT_TARGET_IMPORTHFCONFIG_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <optional>
#include <string>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::kvtier {

struct ImportOptions {
  /// Tokens the cache holds (prompt + decode); the seed's study by default.
  int64_t maxTokens = 31299 + 10239;
  int64_t batch = 1;
  int64_t blockTokens = 16;
  /// Sparsity hint on every attention op (none when negative).
  double sparsity = 0.6;
  /// Deployment (docs/deployment.md): tensor-parallel GPUs, pipeline
  /// stages, replicas. Anything but 1/1/1 writes #kvtier.deployment.
  unsigned tp = 1, pp = 1, dp = 1;
};

/// Imports the config.json held by the main buffer of `sourceMgr`. Errors
/// (unsupported or malformed configs) are emitted at the file's location.
OwningOpRef<ModuleOp> importHFConfig(llvm::SourceMgr &sourceMgr,
                                     MLIRContext *context,
                                     const ImportOptions &options);

/// Registers `--import-hf-config` with the translation registry.
void registerImportHFConfigTranslation();

} // namespace mlir::kvtier

#endif // KVOPT_TARGET_IMPORTHFCONFIG_H
