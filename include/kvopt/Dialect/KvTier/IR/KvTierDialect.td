//===- KvTierDialect.td - kvtier dialect definition --------*- tablegen -*-===//
#ifndef KVOPT_DIALECT_KVTIER_IR_KVTIERDIALECT_TD
#define KVOPT_DIALECT_KVTIER_IR_KVTIERDIALECT_TD

include "mlir/IR/OpBase.td"

def KvTier_Dialect : Dialect {
  let name = "kvtier";
  let cppNamespace = "::mlir::kvtier";
  let summary = "KV-cache placement across heterogeneous memory tiers";
  let description = [{
    The `kvtier` dialect describes where an LLM's KV cache lives in a
    heterogeneous memory system (GPU HBM plus an off-package DRAM such as the
    LPDDR5X of a GH200 reached over NVLink-C2C, or host DRAM over PCIe), the
    attention operations that read it during decode, explicit migrations of
    cache blocks between tiers, and the plan computed by `kv-opt`.

    A module carries its memory system in the `kvtier.memory_system`
    attribute; caches are SSA values of `!kvtier.cache` (or
    `!kvtier.latent_cache` for MLA models); attention reads a cache at a layer
    for one decode step; `kvtier.migrate` / `kvtier.wait` move block ranges
    asynchronously. The plan is summarised in attributes
    (`#kvtier.plan`, `#kvtier.placement`, `#kvtier.split`) while the full
    time-varying schedule lives in a compact side file referenced from the
    plan attribute, never as millions of ops.

    ```mlir
    module attributes {kvtier.memory_system = #kvtier.memory_system<
        tiers = [#kvtier.tier<"hbm" hbm, capacity = 96 GB, read = 4 TB/s, write = 4 TB/s>,
                 #kvtier.tier<"lpddr" dram, capacity = 480 GB, read = 512 GB/s, write = 512 GB/s>],
        links = [#kvtier.link<"lpddr" -> "hbm", 450 GB/s>,
                 #kvtier.link<"hbm" -> "lpddr", 450 GB/s>]>} {
      func.func @decode(%pos: index) {
        %c = kvtier.cache "kv" : !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128,
                                                element = bf16, block = 16, max_tokens = 32768, batch = 1>
        kvtier.append %c layer 0 at %pos : !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 32768, batch = 1>
        kvtier.attention %c layer 0 at %pos {sparsity = 0.6 : f64} : !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 32768, batch = 1>
        return
      }
    }
    ```
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();
    /// Name of the module attribute holding the memory system.
    static constexpr llvm::StringLiteral getMemorySystemAttrName() {
      return llvm::StringLiteral("kvtier.memory_system");
    }
    /// Name of the module attribute holding the model description.
    static constexpr llvm::StringLiteral getModelAttrName() {
      return llvm::StringLiteral("kvtier.model");
    }
    /// Name of the module attribute holding the plan summary.
    static constexpr llvm::StringLiteral getPlanAttrName() {
      return llvm::StringLiteral("kvtier.plan");
    }
  }];
}

#endif // KVOPT_DIALECT_KVTIER_IR_KVTIERDIALECT_TD
