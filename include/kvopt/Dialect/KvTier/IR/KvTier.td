//===- KvTier.td - kvtier dialect umbrella ------------------*- tablegen -*-===//
include "kvopt/Dialect/KvTier/IR/KvTierOps.td"
