//===- ExportPlacement.cpp - The placement program as SMT-LIB -------------===//
//
// Every constraint sum(c_i x_i) REL rhs is written with nonnegative
// constants only (negative terms move to the other side), so the SMT-LIB
// text reads like the model in docs/bound.md.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Target/SMTLIB/ExportPlacement.h"
#include "kvopt/Core/Error.h"

#include "mlir/Dialect/SMT/IR/SMTDialect.h"
#include "mlir/Dialect/SMT/IR/SMTOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Target/SMTLIB/ExportSMTLIB.h"

using namespace mlir;
using namespace kvopt;
using namespace kvopt::solver;

namespace {

class Emitter {
public:
  Emitter(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value constant(const APInt &v) {
    return smt::IntConstantOp::create(
        b, loc, b.getIntegerAttr(b.getIntegerType(v.getBitWidth()), v));
  }
  Value constant(int64_t v) { return constant(APInt(128, uint64_t(v))); }

  /// sum(|coef| x) over the terms with the given sign, plus `extra` >= 0.
  Value side(const std::vector<LinearTerm> &terms, bool positive,
             int64_t extra, llvm::ArrayRef<Value> vars) {
    SmallVector<Value> parts;
    for (const LinearTerm &t : terms) {
      if ((t.coef > 0) != positive || t.coef == 0)
        continue;
      int64_t k = t.coef > 0 ? t.coef : -t.coef;
      Value x = vars[t.var];
      parts.push_back(k == 1 ? x
                             : smt::IntMulOp::create(
                                   b, loc, ValueRange{constant(k), x})
                                   .getResult());
    }
    if (extra != 0 || parts.empty())
      parts.push_back(constant(extra));
    if (parts.size() == 1)
      return parts.front();
    return smt::IntAddOp::create(b, loc, parts);
  }

  void assertCmp(smt::IntPredicate pred, Value lhs, Value rhs) {
    Value c = smt::IntCmpOp::create(b, loc, pred, lhs, rhs);
    smt::AssertOp::create(b, loc, c);
  }

  OpBuilder &b;
  Location loc;
};

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
kvopt::smtlib::buildPlacementSMT(MLIRContext &ctx, const PlacementProgram &prog,
                                 llvm::StringRef thresholdUnits) {
  APInt threshold;
  if (thresholdUnits.getAsInteger(10, threshold) || threshold.isNegative())
    return makeFieldError("smtlib", "threshold",
                          "expected a nonnegative integer in scaled units, got '" +
                              thresholdUnits.str() + "'");
  threshold = threshold.zextOrTrunc(std::max(128u, threshold.getBitWidth() + 1));
  Location loc = FileLineColLoc::get(&ctx, "kv-solve", 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b(&ctx);
  b.setInsertionPointToEnd(module->getBody());
  auto solver = smt::SolverOp::create(b, loc, TypeRange{}, ValueRange{});
  Block *body = b.createBlock(&solver.getBodyRegion());
  b.setInsertionPointToEnd(body);
  Emitter em(b, loc);
  Type intTy = smt::IntType::get(&ctx);
  SmallVector<Value> vars;
  Value zero = em.constant(0), one = em.constant(1);
  for (size_t v = 0; v < prog.variables(); ++v) {
    Value x = smt::DeclareFunOp::create(b, loc, intTy,
                                        b.getStringAttr(prog.names[v]));
    vars.push_back(x);
    em.assertCmp(smt::IntPredicate::ge, x, zero);
    if (prog.kinds[v] == VarKind::Binary)
      em.assertCmp(smt::IntPredicate::le, x, one);
  }
  for (const LinearConstraint &c : prog.constraints) {
    // lhsPos - lhsNeg REL rhs  <=>  lhsPos + max(-rhs,0) REL lhsNeg + max(rhs,0)
    Value l = em.side(c.terms, true, c.rhs < 0 ? -c.rhs : 0, vars);
    Value r = em.side(c.terms, false, c.rhs > 0 ? c.rhs : 0, vars);
    if (c.rel == Relation::EQ) {
      smt::AssertOp::create(b, loc, smt::EqOp::create(b, loc, l, r));
      continue;
    }
    em.assertCmp(c.rel == Relation::LE ? smt::IntPredicate::le
                                       : smt::IntPredicate::ge,
                 l, r);
  }
  // The decision form of the objective.
  Value total = em.side(prog.objective, true, 0, vars);
  em.assertCmp(smt::IntPredicate::le, total, em.constant(threshold));
  auto check = smt::CheckOp::create(b, loc, TypeRange{});
  for (Region *r : {&check.getSatRegion(), &check.getUnknownRegion(),
                    &check.getUnsatRegion()}) {
    OpBuilder::InsertionGuard g(b);
    b.createBlock(r);
    smt::YieldOp::create(b, loc);
  }
  b.setInsertionPointToEnd(body);
  smt::YieldOp::create(b, loc);
  if (failed(module->verify()))
    return makeFieldError("smtlib", "module",
                          "the emitted smt dialect module does not verify");
  return std::move(module);
}

llvm::Error kvopt::smtlib::exportPlacementSMTLIB(const PlacementProgram &prog,
                                                 llvm::StringRef threshold,
                                                 llvm::raw_ostream &os) {
  MLIRContext ctx;
  ctx.loadDialect<smt::SMTDialect>();
  auto module = buildPlacementSMT(ctx, prog, threshold);
  if (!module)
    return module.takeError();
  if (failed(smt::exportSMTLIB(module->get(), os)))
    return makeFieldError("smtlib", "export",
                          "mlir::smt::exportSMTLIB failed on the module");
  return llvm::Error::success();
}
