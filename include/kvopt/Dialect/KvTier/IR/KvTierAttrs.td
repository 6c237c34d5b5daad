//===- KvTierAttrs.td - kvtier attributes -------------------*- tablegen -*-===//
#ifndef KVOPT_DIALECT_KVTIER_IR_KVTIERATTRS_TD
#define KVOPT_DIALECT_KVTIER_IR_KVTIERATTRS_TD

include "kvopt/Dialect/KvTier/IR/KvTierDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def KvTier_TierKind : I32EnumAttr<"TierKind", "kind of memory tier", [
    I32EnumAttrCase<"hbm", 0>,
    I32EnumAttrCase<"dram", 1>]> {
  let cppNamespace = "::mlir::kvtier";
  let genSpecializedAttr = 0;
}

/// What a plan's bound and schedule certify; the same cases and names as
/// kvopt::PlanStatus (kvopt/Solver/PlanStatus.h).
def KvTier_PlanStatus : I32EnumAttr<"PlanStatus", "status of a plan", [
    I32EnumAttrCase<"optimal", 0>,
    I32EnumAttrCase<"gap_closed", 1>,
    I32EnumAttrCase<"gap_open", 2>,
    I32EnumAttrCase<"time_limit", 3>]> {
  let cppNamespace = "::mlir::kvtier";
  let genSpecializedAttr = 0;
}

/// A PlanStatus written as its quoted name (`status = "gap_open"`).
def KvTier_PlanStatusParam
    : AttrOrTypeParameter<"::mlir::kvtier::PlanStatus", "plan status"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::mlir::kvtier::PlanStatus> {
    ::llvm::SMLoc loc = $_parser.getCurrentLocation();
    std::string name;
    if ($_parser.parseString(&name))
      return ::mlir::failure();
    if (auto status = ::mlir::kvtier::symbolizePlanStatus(name))
      return *status;
    return $_parser.emitError(loc)
           << "plan status must be 'optimal', 'gap_closed', 'gap_open' or "
              "'time_limit', got '" << name << "'";
  }() }];
  let printer = [{
    $_printer << '"' << ::mlir::kvtier::stringifyPlanStatus($_self) << '"'
  }];
}

/// A double stored exactly (as an IEEE double APFloat) and written plainly.
def KvTier_F64Param : AttrOrTypeParameter<"::llvm::APFloat", "a double"> {
  let comparator = "$_lhs.bitwiseIsEqual($_rhs)";
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::APFloat> {
    double value;
    if (::mlir::kvtier::parseNumber($_parser, value))
      return ::mlir::failure();
    return ::llvm::APFloat(value);
  }() }];
  let printer = [{ $_printer.printFloat($_self) }];
}

class KvTier_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<KvTier_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def KvTier_TierAttr : KvTier_Attr<"Tier", "tier"> {
  let summary = "one memory tier: name, kind, capacity, read/write bandwidth";
  let description = [{
    A memory tier. `kind` is `hbm` for the GPU's own memory (compute reads it
    directly) or `dram` for an off-package DRAM (LPDDR5X behind NVLink-C2C, or
    host DDR behind PCIe) whose reads also cross a link. Capacity is written
    with a unit (`B`, `KB`, `MB`, `GB`, `TB` decimal; `KiB`, `MiB`, `GiB`,
    `TiB` binary); bandwidths with a rate unit (`B/s`, `KB/s`, `MB/s`, `GB/s`,
    `TB/s`, `GiB/s`). Values are stored exactly in bytes and bytes per second,
    and must be positive.

    ```mlir
    #kvtier.tier<"hbm" hbm, capacity = 24 GiB, read = 4.9 TB/s, write = 4.9 TB/s>
    ```
  }];
  let parameters = (ins
    StringRefParameter<"tier name">:$name,
    EnumParameter<KvTier_TierKind>:$kind,
    "int64_t":$capacityBytes,
    "int64_t":$readBytesPerSecond,
    "int64_t":$writeBytesPerSecond);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def KvTier_LinkAttr : KvTier_Attr<"Link", "link"> {
  let summary = "a one-directional link between two tiers";
  let description = [{
    One direction of an interconnect between two tiers, with its bandwidth.
    A bidirectional link (NVLink-C2C, PCIe) is written as two links.

    ```mlir
    #kvtier.link<"lpddr" -> "hbm", 450 GB/s>
    ```
  }];
  let parameters = (ins
    StringRefParameter<"source tier">:$from,
    StringRefParameter<"destination tier">:$to,
    "int64_t":$bytesPerSecond);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def KvTier_MemorySystemAttr : KvTier_Attr<"MemorySystem", "memory_system"> {
  let summary = "a heterogeneous memory system: tiers and the links between them";
  let description = [{
    The memory system a module is planned for. Exactly one tier has kind
    `hbm`; tier names are unique; every link names known, distinct tiers and
    each ordered pair appears at most once. An optional `preset` records the
    named hardware preset it was built from (see `docs/hardware.md`).

    ```mlir
    #kvtier.memory_system<tiers = [
        #kvtier.tier<"hbm" hbm, capacity = 24 GiB, read = 4.9 TB/s, write = 4.9 TB/s>,
        #kvtier.tier<"lpddr" dram, capacity = 480 GB, read = 500 GB/s, write = 500 GB/s>],
      links = [#kvtier.link<"lpddr" -> "hbm", 450 GB/s>,
               #kvtier.link<"hbm" -> "lpddr", 450 GB/s>]>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"TierAttr", "tiers">:$tiers,
    ArrayRefParameter<"LinkAttr", "links">:$links,
    OptionalParameter<"StringAttr", "preset name">:$preset);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Returns the tier with this name, or null.
    TierAttr lookupTier(llvm::StringRef name) const;
    /// Returns the (unique) HBM tier, or null if the attribute is invalid.
    TierAttr getHbmTier() const;
    /// Returns the link from `from` to `to`, or null.
    LinkAttr lookupLink(llvm::StringRef from, llvm::StringRef to) const;
  }];
}

def KvTier_ModelAttr : KvTier_Attr<"Model", "model"> {
  let summary = "the model whose decode the module describes";
  let description = [{
    What the time model needs beyond the caches: the weight bytes resident
    in HBM for the whole run, and the weight bytes read from HBM in every
    (token, layer) decode step. Written by `kv-translate --import-hf-config`;
    a module without it is planned with no weight traffic (a remark says so).

    ```mlir
    #kvtier.model<name = "Llama-3.1-8B", resident_weight_bytes = 16060522496, weight_bytes_per_layer_step = 436207616>
    ```
  }];
  let parameters = (ins StringRefParameter<"model name">:$name,
                        "int64_t":$resident_weight_bytes,
                        "int64_t":$weight_bytes_per_layer_step);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def KvTier_PlacementAttr : KvTier_Attr<"Placement", "placement"> {
  let summary = "per-cache placement summary written by the planner";
  let description = [{
    How much of a cache the plan keeps in HBM: blocks in HBM at the start,
    peak HBM blocks over the schedule, total blocks, and the number of
    promotions and demotions the schedule performs for this cache.

    ```mlir
    #kvtier.placement<hbm_blocks = 30000, peak_hbm_blocks = 30500, total_blocks = 80000, promotions = 120, demotions = 118>
    ```
  }];
  let parameters = (ins "int64_t":$hbm_blocks, "int64_t":$peak_hbm_blocks,
                        "int64_t":$total_blocks, "int64_t":$promotions,
                        "int64_t":$demotions);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def KvTier_SplitAttr : KvTier_Attr<"Split", "split"> {
  let summary = "per-attention tier split of the bytes it reads";
  let description = [{
    The fraction of an attention's KV bytes the plan serves from HBM, averaged
    over decode steps, next to the bandwidth-proportional optimum.

    ```mlir
    #kvtier.split<hbm = 0.91, balanced = 0.916>
    ```
  }];
  let parameters = (ins KvTier_F64Param:$hbm, KvTier_F64Param:$balanced);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def KvTier_PlanAttr : KvTier_Attr<"Plan", "plan"> {
  let summary = "module-level plan summary: bound, schedule, gap and side file";
  let description = [{
    The result of planning. `bound` is a proven lower bound on the total
    decode time in seconds (no schedule in the model can be faster);
    `schedule` is the simulated time of the emitted schedule; `gap` is
    `(schedule - bound) / schedule`. `status` is `optimal` (proved by the
    exact model), `gap_closed` (gap within 2%), `gap_open` or `time_limit`
    (a time limit stopped the search). The full time-varying
    schedule is in the side file `file` (see `docs/schedule-format.md`).

    ```mlir
    #kvtier.plan<policy = "lagrangian", status = "gap_closed", bound = 25.1, schedule = 25.4, gap = 0.0118, file = "plan.kvsched", migrations = 1234>
    ```
  }];
  let parameters = (ins
    StringRefParameter<"planner that produced it">:$policy,
    KvTier_PlanStatusParam:$status,
    KvTier_F64Param:$bound, KvTier_F64Param:$schedule,
    KvTier_F64Param:$gap,
    StringRefParameter<"schedule side file">:$file,
    "int64_t":$migrations);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def KvTier_DeploymentAttr : KvTier_Attr<"Deployment", "deployment"> {
  let summary = "how the model is spread over GPUs (tensor, pipeline, data parallel)";
  let description = [{
    The module's model runs on `tp * pp * dp` GPUs: `tp` GPUs split every
    layer's heads (tensor parallel), `pp` stages split the layers (pipeline
    parallel), `dp` independent replicas. `config` is the Hugging Face
    config.json the module was imported from (compact JSON): the planner
    derives each GPU's share of the KV cache and of the weights from it
    (`--kvtier-plan-deployment`, docs/deployment.md). Written on the module
    as `kvtier.deployment` by `kv-translate --import-hf-config --tp=...`.

    ```mlir
    #kvtier.deployment<tp = 8, pp = 1, dp = 1, config = "{\"hidden_size\":16384,...}">
    ```
  }];
  let parameters = (ins "int64_t":$tp, "int64_t":$pp, "int64_t":$dp,
                        OptionalParameter<"StringAttr", "config.json text">:$config);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Name of the module attribute holding the deployment.
    static constexpr llvm::StringLiteral getAttrName() {
      return llvm::StringLiteral("kvtier.deployment");
    }
  }];
}

#endif // KVOPT_DIALECT_KVTIER_IR_KVTIERATTRS_TD
