//===- Passes.td - kv-opt conversion passes -----------------*- tablegen -*-===//
//
// Part of kv-opt. One pass per file (lib/Conversion/<Conversion>/).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CONVERSION_PASSES_TD
#define KVOPT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToRuntime : Pass<"kvtier-lower-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Lower raised, planned attention to kvrt runtime calls on memrefs";
  let description = [{
    Rewrites every `kvtier.attention` that `--kvtier-raise-attention` found
    in an upstream graph and `--kvtier-plan-kv-tiers` planned into a call of
    the kvrt runtime (`func.call @kvrt_mlir_attention`, C interface, in
    libkvrt_mlir): the token the graph writes into its cache is appended to
    the runtime's paged two-tier cache, the attention runs on the runtime's
    split-tier kernel over the planned placement, and the schedule's
    migrations of the (step, layer) are issued first. The upstream Q.K^T,
    softmax and .V ops (or the attention loop nest) become dead and are
    erased; every other op (the
    graph's own cache update included) stays for the upstream pipeline
    (bufferization, linalg -> loops -> LLVM).

    The forms taken: linalg on tensors, TOSA with a decode mask, and fused
    online-softmax loops over memrefs (the cache writes as store loops; the
    loop nest becomes `kvrt_mlir_attention_masked` writing the nest's output
    buffer), GQA included (docs/lowering.md). An attention the runtime
    cannot take (f64, another form, a near miss of one) keeps its upstream
    computation; a remark names the reason. All kvtier ops are removed, so the result contains upstream
    dialects only.
  }];
  let options = [
    Option<"schedulePath", "schedule", "std::string", /*default=*/"\"\"",
           "Schedule side file the runtime executes (default: the file of "
           "#kvtier.plan)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // KVOPT_CONVERSION_PASSES_TD
