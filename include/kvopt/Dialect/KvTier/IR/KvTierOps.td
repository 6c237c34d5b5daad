//===- KvTierOps.td - kvtier operations ---------------------*- tablegen -*-===//
#ifndef KVOPT_DIALECT_KVTIER_IR_KVTIEROPS_TD
#define KVOPT_DIALECT_KVTIER_IR_KVTIEROPS_TD

include "kvopt/Dialect/KvTier/IR/KvTierDialect.td"
include "kvopt/Dialect/KvTier/IR/KvTierAttrs.td"
include "kvopt/Dialect/KvTier/IR/KvTierTypes.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def KvTier_AnyKvCache : Type<
    CPred<"::llvm::isa<::mlir::kvtier::KvCacheTypeInterface>($_self)">,
    "KV cache", "::mlir::kvtier::KvCacheTypeInterface">;

class KvTier_Op<string mnemonic, list<Trait> traits = []>
    : Op<KvTier_Dialect, mnemonic, traits>;

def KvTier_CacheOp : KvTier_Op<"cache"> {
  let summary = "declare a KV cache";
  let description = [{
    Declares a KV cache with the geometry given by its type. `name` is used
    in reports and in the schedule side file. The planner attaches a
    `placement` summary (`#kvtier.placement`).

    ```mlir
    %kv = kvtier.cache "llama.kv" : !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 32768, batch = 1>
    ```

    Sliding-window (local) layers are a cache whose attention reads only the
    last `window` tokens before the position (docs/model.md). They are
    written either as a cache shorter than the module's longest cache (its
    `max_tokens` is the window: the form for models that mix local and
    global layers), or with an explicit `window` below `max_tokens`, where
    `max_tokens` is the sequence length (the form for models whose layers
    are all local, which have no longer cache to give the length):

    ```mlir
    %kv = kvtier.cache "mistral.swa4096" {window = 4096 : i64} : !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 32768, batch = 1>
    ```
  }];
  let arguments = (ins StrAttr:$name,
                       OptionalAttr<KvTier_PlacementAttr>:$placement,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$window);
  let results = (outs KvTier_AnyKvCache:$cache);
  let assemblyFormat = "$name attr-dict `:` type($cache)";
  let hasVerifier = 1;
}

def KvTier_AppendOp : KvTier_Op<"append"> {
  let summary = "write the KV of the token decoded at a position";
  let description = [{
    Appends the keys and values of the token at `position` to layer `layer`
    of the cache (for every sequence of the batch). The planner decides which
    tier the new entry is written to.

    ```mlir
    kvtier.append %kv layer 0 at %pos : !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 32768, batch = 1>
    ```
  }];
  let arguments = (ins KvTier_AnyKvCache:$cache, I64Attr:$layer,
                       Index:$position);
  let assemblyFormat =
      "$cache `layer` $layer `at` $position attr-dict `:` type($cache)";
  let hasVerifier = 1;
}

def KvTier_AttentionOp : KvTier_Op<"attention"> {
  let summary = "decode attention over a cache layer";
  let description = [{
    One decode step of attention at layer `layer`: the query of the token at
    `position` attends to the cached tokens `[0, position)` of that layer.
    `sparsity` (in `[0, 1)`) is a hint that only the top `1 - sparsity`
    fraction of past tokens is read each step (top-k sparse attention).
    `query` and the result are optional so that the op can annotate an
    attention found in an upstream graph without carrying its tensors. The
    planner attaches `split`, the planned fraction of bytes read from HBM.

    ```mlir
    %o = kvtier.attention %kv layer 3 at %pos query %q : tensor<32x128xbf16> {sparsity = 0.6 : f64}
        : !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 32768, batch = 1>
        -> tensor<32x128xbf16>
    ```
  }];
  let arguments = (ins KvTier_AnyKvCache:$cache, I64Attr:$layer,
                       Index:$position,
                       Optional<AnyRankedTensor>:$query,
                       OptionalAttr<F64Attr>:$sparsity,
                       OptionalAttr<KvTier_SplitAttr>:$split);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $cache `layer` $layer `at` $position (`query` $query^ `:` type($query))?
    attr-dict `:` type($cache) (`->` type($result)^)?
  }];
  let hasVerifier = 1;
}

def KvTier_MigrateOp : KvTier_Op<"migrate"> {
  let summary = "asynchronously move a block range of one layer between tiers";
  let description = [{
    Starts moving blocks `[first, first + count)` of layer `layer` from tier
    `from` to tier `to` and returns a handle. Until the matching
    `kvtier.wait`, the blocks may be read from their old tier only. Tier
    names must exist in the enclosing `kvtier.memory_system`, and a link must
    join them. Block indices run over all sequences of the batch
    (`sequence * blocks_per_layer + block`).

    ```mlir
    %h = kvtier.migrate %kv layer 3 blocks [%first, %count] from "lpddr" to "hbm"
        : !kvtier.cache<layers = 32, kv_heads = 8, head_dim = 128, element = bf16, block = 16, max_tokens = 32768, batch = 1>
    kvtier.wait %h
    ```
  }];
  let arguments = (ins KvTier_AnyKvCache:$cache, I64Attr:$layer,
                       Index:$first, Index:$count, StrAttr:$from,
                       StrAttr:$to);
  let results = (outs KvTier_MigrationType:$handle);
  let assemblyFormat = [{
    $cache `layer` $layer `blocks` ` ` `[` $first `,` $count `]` `from` $from `to` $to
    attr-dict `:` type($cache)
  }];
  let hasVerifier = 1;
}

def KvTier_WaitOp : KvTier_Op<"wait"> {
  let summary = "wait for a migration to complete";
  let description = [{
    Blocks until the migration behind `handle` has completed; afterwards the
    blocks are resident in the destination tier.

    ```mlir
    kvtier.wait %h
    ```
  }];
  let arguments = (ins KvTier_MigrationType:$handle);
  let assemblyFormat = "$handle attr-dict";
}

#endif // KVOPT_DIALECT_KVTIER_IR_KVTIEROPS_TD
