//===- Error.cpp - Located diagnostics for the planning core -------------===//
#include "kvopt/Core/Error.h"

using namespace kvopt;

llvm::Error kvopt::makeLocatedError(const std::string &file, uint64_t offset,
                                    const std::string &field,
                                    const std::string &message) {
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(), "%s:offset %llu: field '%s': %s",
      file.c_str(), (unsigned long long)offset, field.c_str(), message.c_str());
}

llvm::Error kvopt::makeLineError(const std::string &file, uint64_t line,
                                 const std::string &field,
                                 const std::string &message) {
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(), "%s:%llu: field '%s': %s", file.c_str(),
      (unsigned long long)line, field.c_str(), message.c_str());
}

llvm::Error kvopt::makeFieldError(const std::string &context,
                                  const std::string &field,
                                  const std::string &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "%s: field '%s': %s", context.c_str(),
                                 field.c_str(), message.c_str());
}

std::string kvopt::errorToString(llvm::Error err) {
  return llvm::toString(std::move(err));
}
