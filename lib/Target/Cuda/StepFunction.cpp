//===- StepFunction.cpp - decode function -> emitc step function ----------===//
//
// Part of kv-opt. Copies the decode function's kvtier ops, and the arith ops
// computing their index operands, into `emitc.func @kvopt_step(driver, step,
// position)`, then lowers them with the kvtier -> emitc and upstream
// arith -> emitc patterns. Tensor computation (queries, projections) is not
// copied: the driver generates its inputs deterministically.
//
//===----------------------------------------------------------------------===//

#include "DriverModel.h"

#include "kvopt/Conversion/KvTierToEmitC/KvTierToEmitC.h"

#include "mlir/Conversion/ArithToEmitC/ArithToEmitC.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::kvtier;

/// Operands of a kvtier op the step function needs (not the query tensor).
static SmallVector<Value> neededOperands(Operation *op) {
  if (auto attention = dyn_cast<AttentionOp>(op))
    return {attention.getCache(), attention.getPosition()};
  return SmallVector<Value>(op->getOperands());
}

/// Collects the kvtier ops and the ops computing their operands; the only
/// function argument they may read is one index argument, the position.
static LogicalResult collectStepOps(const DriverModel &model,
                                    llvm::SetVector<Operation *> &ops,
                                    BlockArgument &position) {
  SmallVector<std::pair<Value, Operation *>> worklist;
  func::FuncOp decode = model.decode;
  for (Operation &op : decode.getBody().front())
    if (isa<KvTierDialect>(op.getDialect())) {
      ops.insert(&op);
      for (Value v : neededOperands(&op))
        worklist.push_back({v, &op});
    }
  while (!worklist.empty()) {
    auto [value, user] = worklist.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      if (!arg.getType().isIndex())
        return user->emitError("operand is a function argument of type ")
               << arg.getType() << "; the CUDA driver passes the decode "
               << "position (index) only";
      if (position && position != arg)
        return user->emitError("reads a second index argument of the decode "
                               "function; the CUDA driver passes one decode "
                               "position");
      position = arg;
      continue;
    }
    Operation *def = value.getDefiningOp();
    if (!ops.insert(def))
      continue;
    if (!isa<arith::ArithDialect>(def->getDialect()))
      return def->emitError("computes an operand of a kvtier op but is not an "
                            "arith op; the CUDA driver evaluates only arith "
                            "ops on the decode position");
    for (Value v : def->getOperands())
      worklist.push_back({v, def});
  }
  return success();
}

/// Clones `op` into the step function; attention ops lose their query and
/// result (the driver supplies queries and keeps outputs itself).
static Operation *cloneStepOp(OpBuilder &b, Operation *op, IRMapping &map) {
  auto attention = dyn_cast<AttentionOp>(op);
  if (!attention)
    return b.clone(*op, map);
  OperationState state(op->getLoc(), op->getName());
  state.addOperands({map.lookup(attention.getCache()),
                     map.lookup(attention.getPosition())});
  state.addAttributes(op->getAttrs());
  return b.create(state);
}

/// Creates `static kvrt_status kvopt_step(kvopt_driver *, uint32_t, size_t)`.
static emitc::FuncOp createStepFunction(OpBuilder &b, Location loc) {
  MLIRContext *ctx = b.getContext();
  Type driver =
      emitc::PointerType::get(emitc::OpaqueType::get(ctx, "kvopt_driver"));
  Type step = b.getIntegerType(32, /*isSigned=*/false);
  Type status = emitc::OpaqueType::get(ctx, "kvrt_status");
  auto func = emitc::FuncOp::create(
      b, loc, "kvopt_step",
      b.getFunctionType({driver, step, emitc::SizeTType::get(ctx)}, {status}));
  func.setSpecifiersAttr(b.getStrArrayAttr({"static"}));
  b.setInsertionPointToStart(func.addEntryBlock());
  return func;
}

/// Lowers the copied kvtier and arith ops to emitc.
static LogicalResult lowerToEmitC(ModuleOp step,
                                  const KvTierToEmitCLayout &layout) {
  MLIRContext *ctx = step.getContext();
  TypeConverter converter;
  converter.addConversion([](Type type) { return type; });
  populateKvTierToEmitCTypeConversions(converter);
  RewritePatternSet patterns(ctx);
  populateArithToEmitCPatterns(converter, patterns);
  populateKvTierToEmitCPatterns(converter, patterns, layout);
  ConversionTarget target(*ctx);
  target.addLegalDialect<emitc::EmitCDialect>();
  target.addIllegalDialect<KvTierDialect, arith::ArithDialect>();
  target.addLegalOp<UnrealizedConversionCastOp>();
  if (failed(applyPartialConversion(step, target, std::move(patterns))))
    return failure();
  SmallVector<UnrealizedConversionCastOp> casts;
  step.walk([&](UnrealizedConversionCastOp op) { casts.push_back(op); });
  SmallVector<UnrealizedConversionCastOp> remaining;
  reconcileUnrealizedCasts(casts, &remaining);
  if (!remaining.empty())
    return remaining.front().emitError(
        "a type conversion is left in the lowered step function");
  return success();
}

FailureOr<OwningOpRef<ModuleOp>>
mlir::kvtier::buildStepModule(const DriverModel &model) {
  llvm::SetVector<Operation *> needed;
  BlockArgument positionArg;
  if (failed(collectStepOps(model, needed, positionArg)))
    return failure();

  func::FuncOp decode = model.decode;
  Location loc = decode.getLoc();
  MLIRContext *ctx = decode.getContext();
  ctx->getOrLoadDialect<emitc::EmitCDialect>();
  OwningOpRef<ModuleOp> step = ModuleOp::create(loc);
  // kvtier.migrate names tiers; their kinds come from the memory system.
  if (MemorySystemAttr system = lookupMemorySystem(decode))
    (*step)->setAttr(KvTierDialect::getMemorySystemAttrName(), system);
  OpBuilder b = OpBuilder::atBlockBegin(step->getBody());
  emitc::FuncOp func = createStepFunction(b, loc);

  IRMapping map;
  if (positionArg) {
    Value position = UnrealizedConversionCastOp::create(
                         b, loc, b.getIndexType(), func.getArgument(2))
                         .getResult(0);
    map.map(positionArg, position);
  }
  KvTierToEmitCLayout layout;
  for (Operation &op : decode.getBody().front()) {
    if (!needed.contains(&op))
      continue;
    Operation *clone = cloneStepOp(b, &op, map);
    map.map(op.getResults(), clone->getResults());
    if (auto cache = dyn_cast<CacheOp>(op))
      for (DriverCache c : model.caches)
        if (c.op == cache)
          layout.layerBase[clone->getResult(0)] = c.layerBase;
  }
  Value ok = emitc::LiteralOp::create(b, loc,
                                      emitc::OpaqueType::get(ctx, "kvrt_status"),
                                      "KVRT_OK");
  emitc::ReturnOp::create(b, loc, ok);

  if (failed(lowerToEmitC(*step, layout)) || failed(verify(*step)))
    return decode.emitError("cannot lower the decode step to emitc"),
           failure();
  return step;
}
