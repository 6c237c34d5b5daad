//===- KvTierToEmitC.cpp - kvtier ops to emitc calls into kvrt ------------===//
//
// Part of kv-opt. Each kvtier op of a decode step becomes a short sequence of
// `emitc.call_opaque` ops calling the kvrt C API; every returned kvrt_status
// is passed to the driver's KVOPT_TRY(status, "where") macro, which names
// the op's source location when the runtime reports an error. See
// docs/lowering.md for the table of lowerings.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Conversion/KvTierToEmitC/KvTierToEmitC.h"

#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/EmitC/Transforms/TypeConversions.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::kvtier;

namespace {

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

/// `file:line:col` of the first file location inside `loc`, or "".
std::string formatLocation(Location loc) {
  std::string text;
  loc->walk([&](Location inner) {
    if (auto file = dyn_cast<FileLineColLoc>(inner)) {
      text = (file.getFilename().getValue() + ":" + Twine(file.getLine()) +
              ":" + Twine(file.getColumn()))
                 .str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return text;
}

/// `text` as a C string literal.
std::string cString(StringRef text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

/// Builds the calls of one lowered op: typed opaque calls whose `args` mix
/// operand references and constants, and the KVOPT_TRY status checks.
class CallBuilder {
public:
  CallBuilder(ConversionPatternRewriter &rewriter, Operation *op,
              StringRef what)
      : rewriter(rewriter), loc(op->getLoc()),
        func(op->getParentOfType<emitc::FuncOp>()) {
    std::string where = formatLocation(loc);
    this->where = cString(where.empty() ? what.str() : where + ": " + what.str());
  }

  /// Whether the op sits in a function following the step function ABI.
  bool inStepFunction() {
    return func && func.getNumArguments() > kStepIndexArg;
  }
  Value driver() { return func.getArgument(kStepDriverArg); }
  Value step() { return func.getArgument(kStepIndexArg); }

  /// Operand `i` of the call, in `args` position.
  Attribute operand(unsigned i) { return rewriter.getIndexAttr(i); }
  /// A uint32_t constant argument.
  Attribute u32(uint64_t value) {
    return rewriter.getIntegerAttr(
        rewriter.getIntegerType(32, /*isSigned=*/false), value);
  }
  /// A verbatim C expression argument.
  Attribute expr(StringRef text) {
    return emitc::OpaqueAttr::get(rewriter.getContext(), text);
  }

  Type opaque(StringRef name) {
    return emitc::OpaqueType::get(rewriter.getContext(), name);
  }
  Type pointer(Type pointee) { return emitc::PointerType::get(pointee); }
  Type statusType() { return opaque("kvrt_status"); }

  /// Emits `callee(args...)` returning `result` (or nothing for a null type).
  Value call(StringRef callee, Type result, ValueRange operands,
             ArrayRef<Attribute> args) {
    TypeRange results = result ? TypeRange(result) : TypeRange();
    auto op = emitc::CallOpaqueOp::create(rewriter, loc, results, callee,
                                          operands, rewriter.getArrayAttr(args));
    return result ? op.getResult(0) : Value();
  }

  /// Emits `callee(args...)` returning a kvrt_status and checks it.
  void callChecked(StringRef callee, ValueRange operands,
                   ArrayRef<Attribute> args) {
    Value status = call(callee, statusType(), operands, args);
    call("KVOPT_TRY", Type(), status, {operand(0), expr(where)});
  }

  /// Emits a `// text` line into the generated code.
  void comment(const Twine &text) {
    emitc::VerbatimOp::create(rewriter, loc, ("// " + text).str());
  }

private:
  ConversionPatternRewriter &rewriter;
  Location loc;
  emitc::FuncOp func;
  std::string where;
};

/// Base of the patterns: access to the layout and the ABI check.
template <typename OpTy>
class KvTierLowering : public OpConversionPattern<OpTy> {
public:
  KvTierLowering(const TypeConverter &converter, MLIRContext *context,
                 const KvTierToEmitCLayout &layout)
      : OpConversionPattern<OpTy>(converter, context), layout(layout) {}

protected:
  /// Runtime layer of `layer` of the cache value `cache` (original IR); an
  /// error at `op` when the layout does not know the cache.
  FailureOr<uint32_t> runtimeLayer(Operation *op, Value cache,
                                   int64_t layer) const {
    std::optional<unsigned> base = layout.lookup(cache);
    if (!base)
      return op->emitError("the cache operand has no runtime layers in the "
                           "kvtier -> emitc layout (not a kvtier.cache "
                           "numbered by KvCacheAnalysis)");
    return uint32_t(*base + layer);
  }

  const KvTierToEmitCLayout &layout;
};

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// kvtier.cache -> the driver's runtime cache (all caches share one).
struct CacheOpLowering : KvTierLowering<CacheOp> {
  using KvTierLowering::KvTierLowering;

  LogicalResult
  matchAndRewrite(CacheOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    CallBuilder b(rewriter, op, "kvtier.cache");
    if (!b.inStepFunction())
      return rewriter.notifyMatchFailure(op, "not inside a step function");
    auto type = cast<KvCacheTypeInterface>(op.getCache().getType());
    FailureOr<uint32_t> first = runtimeLayer(op, op.getCache(), 0);
    if (failed(first))
      return failure();
    unsigned base = *first;
    b.comment("kvtier.cache \"" + op.getName() + "\": runtime layers [" +
              Twine(base) + ", " + Twine(base + type.getLayers()) + ")");
    Value cache = b.call("kvopt_cache", b.pointer(b.opaque("kvrt_cache")),
                         b.driver(), {b.operand(0)});
    rewriter.replaceOp(op, cache);
    return success();
  }
};

/// kvtier.append -> the step's planned migrations of the layer, then the
/// new token's K/V staged for the layer's attention call.
struct AppendOpLowering : KvTierLowering<AppendOp> {
  using KvTierLowering::KvTierLowering;

  LogicalResult
  matchAndRewrite(AppendOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    CallBuilder b(rewriter, op,
                  ("kvtier.append layer " + Twine(op.getLayer())).str());
    if (!b.inStepFunction())
      return rewriter.notifyMatchFailure(op, "not inside a step function");
    FailureOr<uint32_t> runtime =
        runtimeLayer(op, op.getCache(), op.getLayer());
    if (failed(runtime))
      return failure();
    uint32_t layer = *runtime;
    b.comment("kvtier.append layer " + Twine(op.getLayer()) +
              " (runtime layer " + Twine(layer) +
              "): planned migrations, then stage the token's K/V");
    Value schedule = b.call("kvopt_schedule",
                            b.pointer(b.opaque("const kvrt_schedule")),
                            b.driver(), {b.operand(0)});
    b.callChecked("kvrt_schedule_apply_step",
                  {adaptor.getCache(), schedule, b.step()},
                  {b.operand(0), b.operand(1), b.operand(2), b.u32(layer)});
    b.callChecked("kvopt_stage_append", {b.driver(), adaptor.getPosition()},
                  {b.operand(0), b.u32(layer), b.operand(1)});
    rewriter.eraseOp(op);
    return success();
  }
};

/// kvtier.attention -> kvrt_attention_step over the layer, writing the
/// staged K/V of the token first.
struct AttentionOpLowering : KvTierLowering<AttentionOp> {
  using KvTierLowering::KvTierLowering;

  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.getQuery() || op.getResult())
      return rewriter.notifyMatchFailure(
          op, "query and result tensors are not lowered; the driver "
              "generates queries");
    CallBuilder b(rewriter, op,
                  ("kvtier.attention layer " + Twine(op.getLayer())).str());
    if (!b.inStepFunction())
      return rewriter.notifyMatchFailure(op, "not inside a step function");
    FailureOr<uint32_t> runtime =
        runtimeLayer(op, op.getCache(), op.getLayer());
    if (failed(runtime))
      return failure();
    uint32_t layer = *runtime;
    b.comment("kvtier.attention layer " + Twine(op.getLayer()) +
              " (runtime layer " + Twine(layer) + ")");
    Type constF32 = b.pointer(b.opaque("const float"));
    SmallVector<Attribute> layerArgs = {b.operand(0), b.u32(layer)};
    b.callChecked("kvopt_check_position", {b.driver(), adaptor.getPosition()},
                  {b.operand(0), b.u32(layer), b.operand(1)});
    Value q = b.call("kvopt_query", constF32, b.driver(), layerArgs);
    Value k = b.call("kvopt_new_k", constF32, b.driver(), layerArgs);
    Value v = b.call("kvopt_new_v", constF32, b.driver(), layerArgs);
    Value out = b.call("kvopt_output", b.pointer(rewriter.getF32Type()),
                       b.driver(), layerArgs);
    b.callChecked("kvrt_attention_step", {adaptor.getCache(), q, k, v, out},
                  {b.operand(0), b.u32(layer), b.operand(1), b.operand(2),
                   b.operand(3), b.operand(4)});
    rewriter.eraseOp(op);
    return success();
  }
};

/// kvtier.migrate -> kvrt_migrate into a handle variable.
struct MigrateOpLowering : KvTierLowering<MigrateOp> {
  using KvTierLowering::KvTierLowering;

  LogicalResult
  matchAndRewrite(MigrateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    StringRef direction = getRuntimeDirection(op);
    if (direction.empty())
      return rewriter.notifyMatchFailure(op, "not an HBM <-> DRAM migration");
    CallBuilder b(rewriter, op,
                  ("kvtier.migrate layer " + Twine(op.getLayer())).str());
    if (!b.inStepFunction())
      return rewriter.notifyMatchFailure(op, "not inside a step function");
    FailureOr<uint32_t> runtime =
        runtimeLayer(op, op.getCache(), op.getLayer());
    if (failed(runtime))
      return failure();
    uint32_t layer = *runtime;
    b.comment("kvtier.migrate layer " + Twine(op.getLayer()) + " from \"" +
              op.getFrom() + "\" to \"" + op.getTo() + "\"");
    Type handleType = b.opaque("kvrt_handle");
    auto handle = emitc::VariableOp::create(
        rewriter, op.getLoc(), emitc::LValueType::get(handleType),
        emitc::OpaqueAttr::get(rewriter.getContext(), "0"));
    Value address = emitc::AddressOfOp::create(
        rewriter, op.getLoc(), b.pointer(handleType), handle);
    b.callChecked("kvrt_migrate",
                  {adaptor.getCache(), adaptor.getFirst(), adaptor.getCount(),
                   address},
                  {b.operand(0), b.u32(layer), b.operand(1), b.operand(2),
                   b.expr(direction), b.operand(3)});
    rewriter.replaceOpWithNewOp<emitc::LoadOp>(op, handleType, handle);
    return success();
  }
};

/// kvtier.wait -> kvrt_wait on the cache of the migration it waits for.
struct WaitOpLowering : KvTierLowering<WaitOp> {
  using KvTierLowering::KvTierLowering;

  LogicalResult
  matchAndRewrite(WaitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto migrate = op.getHandle().getDefiningOp<MigrateOp>();
    if (!migrate)
      return rewriter.notifyMatchFailure(op, "handle is not a kvtier.migrate");
    Value cache = rewriter.getRemappedValue(migrate.getCache());
    if (!cache)
      return rewriter.notifyMatchFailure(op, "cache of the migration unknown");
    CallBuilder b(rewriter, op, "kvtier.wait");
    b.callChecked("kvrt_wait", {cache, adaptor.getHandle()},
                  {b.operand(0), b.operand(1)});
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

StringRef mlir::kvtier::getRuntimeDirection(MigrateOp op) {
  MemorySystemAttr system = lookupMemorySystem(op);
  if (!system)
    return "";
  TierAttr from = system.lookupTier(op.getFrom());
  TierAttr to = system.lookupTier(op.getTo());
  if (!from || !to || from.getKind() == to.getKind())
    return "";
  return to.getKind() == TierKind::hbm ? "KVRT_PROMOTE" : "KVRT_DEMOTE";
}

void mlir::kvtier::populateKvTierToEmitCTypeConversions(
    TypeConverter &typeConverter) {
  typeConverter.addConversion([](KvCacheTypeInterface type) -> Type {
    return emitc::PointerType::get(
        emitc::OpaqueType::get(type.getContext(), "kvrt_cache"));
  });
  typeConverter.addConversion([](MigrationType type) -> Type {
    return emitc::OpaqueType::get(type.getContext(), "kvrt_handle");
  });
  populateEmitCSizeTTypeConversions(typeConverter);
}

void mlir::kvtier::populateKvTierToEmitCPatterns(
    TypeConverter &typeConverter, RewritePatternSet &patterns,
    const KvTierToEmitCLayout &layout) {
  patterns.add<CacheOpLowering, AppendOpLowering, AttentionOpLowering,
               MigrateOpLowering, WaitOpLowering>(
      typeConverter, patterns.getContext(), layout);
}
