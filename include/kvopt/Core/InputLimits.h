//===- InputLimits.h - Bounded reading of untrusted inputs -------*- C++ -*-===//
//
// Part of kv-opt. Every file a tool reads may be hostile: /dev/zero, a huge
// file, JSON nested a million levels deep. These helpers read at most a
// limit (and say so, naming the file and the limit) and check JSON nesting
// before the recursive parser sees it.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_INPUTLIMITS_H
#define KVOPT_CORE_INPUTLIMITS_H

#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>

namespace llvm::json {
class Value;
} // namespace llvm::json

namespace kvopt {

/// Size limits of the small JSON inputs (hardware, model config) and of IR.
constexpr uint64_t kMaxJsonFileBytes = uint64_t(16) << 20;
constexpr uint64_t kMaxIRFileBytes = uint64_t(2) << 30;
/// Deepest JSON nesting accepted (real files nest 3-4 levels).
constexpr unsigned kMaxJsonDepth = 64;

/// Reads `path` ("-" = stdin) but never more than `maxBytes`; a larger input
/// (or an endless one such as /dev/zero) is an error naming `what`, the
/// file and the limit.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readBoundedFile(const std::string &path, uint64_t maxBytes,
                const std::string &what);

/// Fails when `text` nests arrays/objects deeper than `maxDepth`.
llvm::Error checkJsonDepth(llvm::StringRef text, const std::string &file,
                           unsigned maxDepth = kMaxJsonDepth);

/// Deepest bracket nesting accepted in MLIR text: MLIR's recursive parser
/// would overflow the stack on (((((... a hundred thousand deep.
constexpr unsigned kMaxIRNesting = 1000;

/// Fails when MLIR `text` nests (, [, { or < deeper than `maxDepth`
/// (strings and // comments are skipped).
llvm::Error checkIRNesting(llvm::StringRef text, const std::string &file,
                           unsigned maxDepth = kMaxIRNesting);

/// llvm::json::parse after checkJsonDepth; errors name `file` (include
/// llvm/Support/JSON.h to use it).
llvm::Expected<llvm::json::Value> parseJsonBounded(llvm::StringRef text,
                                                   const std::string &file);

/// The memory a run may plan to use (--max-memory); by default what the
/// machine has available (MemAvailable, else its physical memory). Large structures (the trace index) estimate
/// their size first and refuse above it.
uint64_t memoryLimitBytes();
void setMemoryLimitBytes(uint64_t bytes);

/// Fails when `bytes` (what building `what` needs, estimated) is above
/// memoryLimitBytes(); the message gives both in GB and names --max-memory.
llvm::Error checkMemoryEstimate(uint64_t bytes, const std::string &what);

/// Parses a byte size strictly: "64GB", "512 MiB", "1e9", "100000" (bytes);
/// errors name `option` and the text.
llvm::Expected<uint64_t> parseByteSize(llvm::StringRef text,
                                       const std::string &option);

} // namespace kvopt

#endif // KVOPT_CORE_INPUTLIMITS_H
