//===- ExportPlacement.h - The placement program as SMT-LIB -----*- C++ -*-===//
//
// Emits a solver::PlacementProgram as upstream MLIR `smt` dialect operations
// (one smt.solver region: declare_fun per variable, smt.assert per
// constraint, smt.check) and exports it with mlir::smt::exportSMTLIB. SMT-LIB
// has no standard `minimize`, so the objective becomes the decision
// constraint `sum(tau) <= T`: sat at T = the optimum, unsat below it. All
// arithmetic is over Int (the program's coefficients are exact integers).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_TARGET_SMTLIB_EXPORTPLACEMENT_H
#define KVOPT_TARGET_SMTLIB_EXPORTPLACEMENT_H

#include "kvopt/Solver/PlacementProgram.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace kvopt {
namespace smtlib {

/// Build the decision form of `prog` with threshold `thresholdUnits` (a
/// nonnegative decimal integer in the program's scaled units) as a module
/// holding one smt.solver op. The context must have the smt dialect loaded.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildPlacementSMT(mlir::MLIRContext &ctx, const solver::PlacementProgram &prog,
                  llvm::StringRef thresholdUnits);

/// Build and export as SMT-LIB text to `os`.
llvm::Error exportPlacementSMTLIB(const solver::PlacementProgram &prog,
                                  llvm::StringRef thresholdUnits,
                                  llvm::raw_ostream &os);

} // namespace smtlib
} // namespace kvopt

#endif // KVOPT_TARGET_SMTLIB_EXPORTPLACEMENT_H
