//===- KvTierTypes.td - kvtier types ------------------------*- tablegen -*-===//
#ifndef KVOPT_DIALECT_KVTIER_IR_KVTIERTYPES_TD
#define KVOPT_DIALECT_KVTIER_IR_KVTIERTYPES_TD

include "kvopt/Dialect/KvTier/IR/KvTierDialect.td"
include "mlir/IR/AttrTypeBase.td"

def KvTier_KvCacheTypeInterface : TypeInterface<"KvCacheTypeInterface"> {
  let cppNamespace = "::mlir::kvtier";
  let description = [{
    A KV cache of fixed geometry: `layers` layers, each holding up to
    `max_tokens` tokens per sequence for `batch` sequences, split into blocks
    of `block` tokens. Byte sizes are derived from the geometry.
  }];
  let methods = [
    InterfaceMethod<"number of layers", "int64_t", "getLayers">,
    InterfaceMethod<"tokens per block", "int64_t", "getBlock">,
    InterfaceMethod<"maximum tokens per sequence", "int64_t", "getMaxTokens">,
    InterfaceMethod<"sequences sharing the cache", "int64_t", "getBatch">,
    InterfaceMethod<"element type", "::mlir::Type", "getElement">,
    InterfaceMethod<"bytes of one token in one layer", "int64_t",
                    "getBytesPerTokenPerLayer">,
  ];
  let extraSharedClassDeclaration = [{
    /// Bytes of one token across all layers.
    int64_t getBytesPerToken() {
      return $_type.getBytesPerTokenPerLayer() * $_type.getLayers();
    }
    /// Blocks per layer and sequence (the last one may be partial).
    int64_t getBlocksPerLayer() {
      return ($_type.getMaxTokens() + $_type.getBlock() - 1) / $_type.getBlock();
    }
    /// Bytes of one block in one layer.
    int64_t getBlockBytes() {
      return $_type.getBytesPerTokenPerLayer() * $_type.getBlock();
    }
    /// Bytes of the whole cache (all layers, all sequences, full length).
    int64_t getTotalBytes() {
      return getBytesPerToken() * $_type.getMaxTokens() * $_type.getBatch();
    }
  }];
}

class KvTier_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<KvTier_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def KvTier_CacheType : KvTier_Type<"Cache", "cache",
    [DeclareTypeInterfaceMethods<KvTier_KvCacheTypeInterface>]> {
  let summary = "a multi-head / grouped-query KV cache";
  let description = [{
    Keys and values for `kv_heads` heads of `head_dim` elements per token and
    layer. One token in one layer takes `2 * kv_heads * head_dim *
    sizeof(element)` bytes. `block` must not exceed `max_tokens`.

    ```mlir
    !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 131072, batch = 1>
    ```
  }];
  let parameters = (ins "int64_t":$layers, "int64_t":$kv_heads,
                        "int64_t":$head_dim, "::mlir::Type":$element,
                        "int64_t":$block, "int64_t":$max_tokens,
                        "int64_t":$batch);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def KvTier_LatentCacheType : KvTier_Type<"LatentCache", "latent_cache",
    [DeclareTypeInterfaceMethods<KvTier_KvCacheTypeInterface>]> {
  let summary = "a multi-head latent attention (MLA) cache";
  let description = [{
    The compressed KV of multi-head latent attention (DeepSeek-V2/V3): one
    latent vector of `latent` elements plus a decoupled RoPE key of `rope`
    elements per token and layer, shared by all heads.

    ```mlir
    !kvtier.latent_cache<layers = 61, latent = 512, rope = 64, element = bf16, block = 64, max_tokens = 163840, batch = 1>
    ```
  }];
  let parameters = (ins "int64_t":$layers, "int64_t":$latent,
                        "int64_t":$rope, "::mlir::Type":$element,
                        "int64_t":$block, "int64_t":$max_tokens,
                        "int64_t":$batch);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def KvTier_MigrationType : KvTier_Type<"Migration", "migration"> {
  let summary = "handle of an asynchronous migration";
  let description = [{
    Returned by `kvtier.migrate` and consumed by `kvtier.wait`.

    ```mlir
    !kvtier.migration
    ```
  }];
}

#endif // KVOPT_DIALECT_KVTIER_IR_KVTIERTYPES_TD
