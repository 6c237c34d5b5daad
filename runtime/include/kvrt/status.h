/*===- kvrt/status.h - Status codes and error messages -----------*- C -*-===*\
|*                                                                            *|
|* Every kvrt function returns a kvrt_status. On failure the calling thread's *|
|* last-error message describes what went wrong; a failing call leaves the    *|
|* objects it was given exactly as they were (validate before mutating).      *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_STATUS_H
#define KVRT_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Result of every kvrt call.
typedef enum kvrt_status {
  KVRT_OK = 0,
  /// A null pointer, a zero size, an unknown enum value, ...
  KVRT_ERR_INVALID_ARGUMENT = 1,
  /// A plan or request that does not match the cache: layer or block out of
  /// range, different layer/block counts, a block not in the expected tier.
  KVRT_ERR_MISMATCH = 2,
  /// A placement or migration that needs more slots than a tier has free.
  KVRT_ERR_CAPACITY = 3,
  /// Memory could not be allocated (or a configured pool limit was hit).
  KVRT_ERR_ALLOCATION = 4,
  /// A schedule file is corrupt, truncated or of an unknown version.
  KVRT_ERR_FORMAT = 5,
  /// A file could not be opened, read or written.
  KVRT_ERR_IO = 6,
  /// The device backend (CUDA) reported an error.
  KVRT_ERR_BACKEND = 7,
  /// The request is valid but not supported by this build or backend.
  KVRT_ERR_UNSUPPORTED = 8,
  /// Forces a 32-bit enum so any int read from C is a valid value in C++.
  KVRT_STATUS_MAX_ENUM = 0x7fffffff
} kvrt_status;

/// A short constant name for a status ("KVRT_ERR_CAPACITY").
const char *kvrt_status_name(kvrt_status status);

/// The calling thread's message for the last failing kvrt call, or "" if
/// none failed yet. Valid until the next kvrt call on this thread.
const char *kvrt_last_error(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_STATUS_H */
