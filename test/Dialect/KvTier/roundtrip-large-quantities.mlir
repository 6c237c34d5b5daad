// RUN: kv-opt %s | kv-opt | FileCheck %s
// Quantities above 2^53 bytes print and parse back exactly (found by the
// attribute fuzzer: 4255555555 GB/s printed as 4255555.555 TB/s and read
// back a few hundred bytes off).

// CHECK: #kvtier.link<"hbm" -> "dram", 4255555555 GB/s>
// CHECK-SAME: #kvtier.link<"dram" -> "hbm", 8999999999999999999 B/s>
module attributes {kvtier.memory_system = #kvtier.memory_system<tiers = [#kvtier.tier<"hbm" hbm, capacity = 240 GiB, read = 4.9 TB/s, write = 4.9 TB/s>, #kvtier.tier<"dram" dram, capacity = 480 GB, read = 500 GB/s, write = 500 GB/s>], links = [#kvtier.link<"hbm" -> "dram", 4255555555 GB/s>, #kvtier.link<"dram" -> "hbm", 8999999999999999999 B/s>]>} {}
