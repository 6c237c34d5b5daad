/*===- kvrt/kvrt.h - kv-opt runtime, single include --------------*- C -*-===*\
|*                                                                            *|
|* The kv-opt runtime: a two-tier (HBM + off-package DRAM) paged KV cache,    *|
|* its migration engine, schedule executor and split-tier decode attention,   *|
|* with a CUDA backend and a host backend of identical semantics.             *|
|* C API usable from C, C++ and CUDA. See docs/runtime.md.                    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_KVRT_H
#define KVRT_KVRT_H

#include "kvrt/attention.h"
#include "kvrt/cache.h"
#include "kvrt/context.h"
#include "kvrt/counters.h"
#include "kvrt/migration.h"
#include "kvrt/schedule.h"
#include "kvrt/status.h"
#include "kvrt/testing.h"
#include "kvrt/types.h"

#endif /* KVRT_KVRT_H */
