//===- Status.cpp - Status names and the last-error message -----*- C++ -*-===//
//
// Thread-local last-error storage behind kvrt_last_error().
//
//===----------------------------------------------------------------------===//
#include "Error.h"

#include <cstdarg>
#include <cstdio>
#include <string>

namespace {
thread_local std::string lastError;
} // namespace

kvrt_status kvrt::fail(kvrt_status status, const char *format, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  lastError = std::string(kvrt_status_name(status)) + ": " + buffer;
  return status;
}

void kvrt::clearError() { lastError.clear(); }

extern "C" const char *kvrt_status_name(kvrt_status status) {
  switch (status) {
  case KVRT_OK:
    return "KVRT_OK";
  case KVRT_ERR_INVALID_ARGUMENT:
    return "KVRT_ERR_INVALID_ARGUMENT";
  case KVRT_ERR_MISMATCH:
    return "KVRT_ERR_MISMATCH";
  case KVRT_ERR_CAPACITY:
    return "KVRT_ERR_CAPACITY";
  case KVRT_ERR_ALLOCATION:
    return "KVRT_ERR_ALLOCATION";
  case KVRT_ERR_FORMAT:
    return "KVRT_ERR_FORMAT";
  case KVRT_ERR_IO:
    return "KVRT_ERR_IO";
  case KVRT_ERR_BACKEND:
    return "KVRT_ERR_BACKEND";
  case KVRT_ERR_UNSUPPORTED:
    return "KVRT_ERR_UNSUPPORTED";
  default:
    return "KVRT_ERR_UNKNOWN";
  }
}

extern "C" const char *kvrt_last_error(void) { return lastError.c_str(); }
