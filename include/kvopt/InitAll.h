//===- InitAll.h - register everything kv-opt provides ----------*- C++ -*-===//
//
// Part of kv-opt. One place that registers the kvtier dialect, the upstream
// dialects kv-opt reads, and every kv-opt pass, for tools and plugins.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_INITALL_H
#define KVOPT_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace kvopt {
/// Registers kvtier and the upstream dialects of real model graphs.
void registerAllDialects(mlir::DialectRegistry &registry);
/// Registers every kv-opt pass and pipeline.
void registerAllPasses();
} // namespace kvopt

#endif // KVOPT_INITALL_H
