//===- Error.h - Located diagnostics for the planning core ------*- C++ -*-===//
//
// Every user-facing error of the core names where it happened: a file (or
// another input such as a preset or a generator), a byte offset or line, and
// the field that was wrong. This header builds such errors uniformly.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_ERROR_H
#define KVOPT_CORE_ERROR_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace kvopt {

/// Create an error "FILE:offset OFFSET: field 'FIELD': MESSAGE".
llvm::Error makeLocatedError(const std::string &file, uint64_t offset,
                             const std::string &field,
                             const std::string &message);

/// Create an error "FILE:LINE: field 'FIELD': MESSAGE" for line-based inputs.
llvm::Error makeLineError(const std::string &file, uint64_t line,
                          const std::string &field, const std::string &message);

/// Create an error "CONTEXT: field 'FIELD': MESSAGE" for inputs without a
/// position (hardware descriptions, workloads, generator parameters).
llvm::Error makeFieldError(const std::string &context, const std::string &field,
                           const std::string &message);

/// Consume an error and return its message (for tools and tests).
std::string errorToString(llvm::Error err);

} // namespace kvopt

#endif // KVOPT_CORE_ERROR_H
