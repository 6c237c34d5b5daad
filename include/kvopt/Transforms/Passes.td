//===- Passes.td - kv-opt passes ----------------------------*- tablegen -*-===//
//
// Part of kv-opt. Every pass of the tool, one implementation file each
// (lib/Transforms/<PassName>.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_TRANSFORMS_PASSES_TD
#define KVOPT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def RaiseAttention : Pass<"kvtier-raise-attention", "::mlir::ModuleOp"> {
  let summary = "Find attention over KV caches in upstream graphs and annotate it";
  let description = [{
    Recognises decode attention in upstream-dialect graphs (linalg, tensor,
    tosa, memref, scf/affine loops): the Q*K^T contraction, softmax in its
    usual forms (linalg.softmax; generic max/exp/sum/div; log-sum-exp; tosa
    reduce_max/exp/reduce_sum/reciprocal; a fused online-softmax loop), the
    *V contraction, GQA broadcasts and the scatter of the new token into the
    cache. The matchers walk use-def chains outward from the softmax (see
    docs/raise-attention.md).

    For every attention it declares the cache it reads (`kvtier.cache` at
    the top of the function, geometry taken from the K/V shapes, `block`
    from the option) and inserts `kvtier.attention` after the *V
    contraction (after the batch/head loops for a fused loop). Attentions of
    one function whose caches have the same geometry become the layers of
    one cache (`<function>.kv<g>`), in program order. The position is the
    SSA index the scatter of the new token used (or the length of a
    `[0, n)` read of the cache); without one it is a constant equal to the
    sequence length and the remark says so. The matched upstream ops are
    left in place (no folding, no DCE) and tagged with
    `kvtier.attention_id`. A cache shorter than one block is an error.

    With `remarks` (default), every attention gets a remark with its
    geometry (and whether K/V are activations rather than a persistent
    cache), and every near miss - a softmax or candidate loop that could not
    be proven to be attention - a remark that names what was missing.
    Graphs without attention are left unchanged; raising twice adds nothing.

    ```mlir
    // before: %s = linalg.batch_matmul ins(%q, %kT) ... ; softmax ; %o = linalg.batch_matmul ins(%p, %v)
    // after:  the same ops, tagged, plus
    %kv = kvtier.cache "forward.kv0" : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = f32, block = 16, max_tokens = 128, batch = 1>
    kvtier.attention %kv layer 0 at %pos {kvtier.attention_id = 0 : i64} : !kvtier.cache<layers = 1, kv_heads = 2, head_dim = 64, element = f32, block = 16, max_tokens = 128, batch = 1>
    ```
  }];
  let dependentDialects = ["::mlir::kvtier::KvTierDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"emitRemarks", "remarks", "bool", /*default=*/"true",
           "Emit a remark for every attention found and every near miss">,
    Option<"blockTokens", "block", "int64_t", /*default=*/"16",
           "Block size (tokens) of the declared caches; a cache shorter than "
           "one block is an error">,
  ];
  let statistics = [
    Statistic<"numAttention", "num-attention", "Attention ops found">,
    Statistic<"numNearMisses", "num-near-misses",
              "Candidate attention forms not recognised">,
  ];
}

def PlanKvTiers : Pass<"kvtier-plan-kv-tiers", "::mlir::ModuleOp"> {
  let summary = "Plan KV-cache placement across memory tiers and annotate the IR";
  let description = [{
    Collects the caches and attention ops of the module (the KV-cache
    analysis), builds the planning problem (memory system from
    `kvtier.memory_system` or a preset, workload from the caches, access
    trace from a file or a synthetic generator), computes a proven lower
    bound on decode time and a placement + migration schedule, simulates
    the baseline policies, and writes back:
      * `kvtier.memory_system` on the module (when it came from a preset);
      * `#kvtier.placement` on every `kvtier.cache`;
      * `#kvtier.split` on every `kvtier.attention`;
      * `#kvtier.plan` on the module: bound, schedule time, gap, status and
        the schedule side file.
    It prints (or writes to `report`) a table comparing policies, and can
    write JSON and an HTML/SVG picture.

    ```mlir
    // kv-opt --kvtier-plan-kv-tiers="preset=gh200 sparsity=0.6" model.mlir
    module attributes {kvtier.plan = #kvtier.plan<policy = "lagrangian", ...>} { ... }
    ```
  }];
  let dependentDialects = ["::mlir::kvtier::KvTierDialect"];
  let options = [
    Option<"preset", "preset", "std::string", /*default=*/"\"gh200\"",
           "Hardware preset (paper, gh200, gh200-144g, gh200-measured, gb200, "
           "h100-pcie, h200-pcie, h200-pcie-measured); ignored when the module has a "
           "kvtier.memory_system or hardware-file is given">,
    Option<"hardwareFile", "hardware-file", "std::string", /*default=*/"\"\"",
           "JSON memory-system description (see docs/hardware.md)">,
    Option<"traceFile", "trace", "std::string", /*default=*/"\"\"",
           "Access trace (binary .kvtrace, text, or the seed's CSV); when "
           "empty a synthetic trace is generated">,
    Option<"generator", "generator", "std::string", /*default=*/"\"seed-like\"",
           "Synthetic trace generator: seed-like, zipf, sliding-window, uniform">,
    Option<"sparsity", "sparsity", "double", /*default=*/"0.6",
           "Fraction of past tokens NOT read per step (synthetic traces; "
           "overridden by a kvtier.attention sparsity hint)">,
    Option<"variation", "variation", "std::string", /*default=*/"\"real\"",
           "Step-to-step variation of the seed generator: low, real, high">,
    Option<"seed", "seed", "uint64_t", /*default=*/"1",
           "Random seed of the synthetic trace">,
    Option<"promptLen", "prompt", "uint64_t", /*default=*/"0",
           "Prompt tokens (0: derived from the cache length)">,
    Option<"decodeSteps", "decode", "uint64_t", /*default=*/"0",
           "Decode steps (0: derived from the cache length)">,
    Option<"blockTokens", "block", "uint64_t", /*default=*/"0",
           "Placement granularity in tokens (0: the cache type's block)">,
    Option<"solver", "solver", "std::string", /*default=*/"\"auto\"",
           "auto | lagrangian | z3 (exact, small instances only)">,
    Option<"timeLimit", "time-limit", "double", /*default=*/"0.0",
           "Solver time limit in seconds (0: none; the result is then "
           "repeatable and the exact model alone stops after 60 s); on "
           "timeout the best valid bound is kept and the gap is reported "
           "open">,
    Option<"threads", "threads", "unsigned", /*default=*/"0",
           "Threads for the bound and the baselines (0: one per core); "
           "results do not depend on it">,
    Option<"paperMode", "paper-mode", "bool", /*default=*/"false",
           "Use the seed paper's time model and entry sizes">,
    Option<"scheduleFile", "schedule-file", "std::string",
           /*default=*/"\"\"",
           "Write the schedule side file here (default: <module>.kvsched "
           "next to the report, or none)">,
    Option<"reportFile", "report", "std::string", /*default=*/"\"-\"",
           "Text report destination ('-' = stderr, '' = none)">,
    Option<"jsonFile", "json", "std::string", /*default=*/"\"\"",
           "Write the report as JSON here">,
    Option<"htmlFile", "html", "std::string", /*default=*/"\"\"",
           "Write an HTML page with SVG plots here">,
    Option<"baselines", "baselines", "bool", /*default=*/"true",
           "Simulate the baseline policies for the comparison table">,
  ];
  let statistics = [
    Statistic<"numCaches", "num-caches", "Caches planned">,
    Statistic<"numAttention", "num-attention", "Attention ops annotated">,
    Statistic<"numMigrations", "num-migrations", "Migrations scheduled">,
  ];
}

def TestKvCacheAnalysis : Pass<"kvtier-test-cache-analysis", "::mlir::ModuleOp"> {
  let summary = "Print the KV-cache analysis (test only)";
  let description = [{
    Prints, in a deterministic order, the caches, their geometry and bytes,
    and the attention ops reading each, as the planner sees them.
  }];
}

def PlanDeployment : Pass<"kvtier-plan-deployment", "::mlir::ModuleOp"> {
  let summary = "Plan KV placement for a tensor/pipeline/data-parallel deployment";
  let description = [{
    Plans one problem per distinct shard of the module's deployment
    (`#kvtier.deployment`, or the `tp`/`pp`/`dp` options): each GPU holds
    its share of the KV heads (TP), of the layers (PP) and of the weights;
    identical shards are planned once and reported with their multiplicity,
    different shards (uneven PP stages) in parallel, each with the configured threads. On multi-GPU presets
    (`h100-pcie-x8`, `h200-pcie-x8`, `gh200-nvl2`, `gb200-nvl72`) GPUs that
    share a slow tier divide its capacity and bandwidth. The deployment's
    time is the pipeline of its stages (docs/model.md); the report gives
    tokens/s, the HBM each GPU needs for a target context and, with
    `target-tps`, the smallest deployment reaching that throughput. With
    tp = pp = dp = 1 each shard report is the plan of
    `--kvtier-plan-kv-tiers`. Writes `kvtier.deployment_plan` on the module.
    See docs/deployment.md.
  }];
  let dependentDialects = ["::mlir::kvtier::KvTierDialect"];
  let options = [
    Option<"preset", "preset", "std::string", /*default=*/"\"gh200\"",
           "Hardware preset: a multi-GPU one (h100-pcie-x8, h200-pcie-x8, "
           "gh200-nvl2, gb200-nvl72) or a single-GPU one (each GPU its own)">,
    Option<"hardwareFile", "hardware-file", "std::string", /*default=*/"\"\"",
           "JSON memory system of one GPU (each GPU its own)">,
    Option<"tp", "tp", "unsigned", /*default=*/"0",
           "Tensor-parallel GPUs (0: from #kvtier.deployment, else 1)">,
    Option<"pp", "pp", "unsigned", /*default=*/"0",
           "Pipeline stages (0: from #kvtier.deployment, else 1)">,
    Option<"dp", "dp", "unsigned", /*default=*/"0",
           "Data-parallel replicas (0: from #kvtier.deployment, else 1)">,
    Option<"traceFile", "trace", "std::string", /*default=*/"\"\"",
           "Access trace (pp = 1 only: a stage has fewer layers)">,
    Option<"generator", "generator", "std::string", /*default=*/"\"seed-like\"",
           "Synthetic trace generator: seed-like, zipf, sliding-window, uniform">,
    Option<"sparsity", "sparsity", "double", /*default=*/"0.6",
           "Fraction of past tokens NOT read per step (synthetic traces)">,
    Option<"variation", "variation", "std::string", /*default=*/"\"real\"",
           "Step-to-step variation of the seed generator: low, real, high">,
    Option<"seed", "seed", "uint64_t", /*default=*/"1",
           "Random seed of the synthetic trace">,
    Option<"promptLen", "prompt", "uint64_t", /*default=*/"0",
           "Prompt tokens (0: derived from the cache length)">,
    Option<"decodeSteps", "decode", "uint64_t", /*default=*/"0",
           "Decode steps (0: derived from the cache length)">,
    Option<"solver", "solver", "std::string", /*default=*/"\"auto\"",
           "auto | lagrangian | z3">,
    Option<"timeLimit", "time-limit", "double", /*default=*/"60.0",
           "Solver time limit per shard in seconds">,
    Option<"baselines", "baselines", "bool", /*default=*/"true",
           "Simulate the baseline policies in the shard reports">,
    Option<"targetTokens", "target-context", "uint64_t", /*default=*/"0",
           "Context (tokens per sequence) for the per-GPU HBM need (0: the "
           "cache's max_tokens)">,
    Option<"targetTps", "target-tps", "double", /*default=*/"0",
           "Find the smallest deployment reaching this many decode tokens/s "
           "(0: no search)">,
    Option<"maxGpus", "max-gpus", "unsigned", /*default=*/"0",
           "Largest deployment the search tries (0: the machine's GPUs)">,
    Option<"reportFile", "report", "std::string", /*default=*/"\"-\"",
           "Deployment report destination ('-' = stderr, '' = none)">,
    Option<"jsonFile", "json", "std::string", /*default=*/"\"\"",
           "Write the deployment report as JSON here">,
    Option<"shardReport", "shard-report", "std::string", /*default=*/"\"\"",
           "Write each distinct shard's plan report (the single-GPU text "
           "report) here; PATH.N for shard N when there are several">,
  ];
}

#endif // KVOPT_TRANSFORMS_PASSES_TD
