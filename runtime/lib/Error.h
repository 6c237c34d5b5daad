//===- Error.h - Setting the thread's last error ----------------*- C++ -*-===//
//
// kvrt functions report failures by returning a status and recording a
// printf-style message for kvrt_last_error().
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_ERROR_H
#define KVRT_LIB_ERROR_H

#include "kvrt/status.h"

namespace kvrt {

/// Records the message for `status` and returns `status`.
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
kvrt_status
fail(kvrt_status status, const char *format, ...);

/// Clears the message (successful calls keep the previous message, as errno).
void clearError();

} // namespace kvrt

/// Returns early from the enclosing function when `expr` fails.
#define KVRT_TRY(expr)                                                         \
  do {                                                                         \
    kvrt_status kvrtTryStatus_ = (expr);                                       \
    if (kvrtTryStatus_ != KVRT_OK)                                             \
      return kvrtTryStatus_;                                                   \
  } while (0)

#endif // KVRT_LIB_ERROR_H
