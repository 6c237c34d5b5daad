//===- ScheduleReaderFuzzer.cpp - libFuzzer target: kvrt schedule files ---===//
//
// Any input must be read into a schedule that passes the runtime's own
// check, or be rejected with a status and a message; an accepted schedule
// must write back and read again to the same bytes.
//
//===----------------------------------------------------------------------===//
#include "kvrt/kvrt.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kvrt_schedule *s = nullptr;
  kvrt_status st = kvrt_schedule_read_memory(data, size, &s);
  if (st != KVRT_OK) {
    if (s || !kvrt_last_error() || !*kvrt_last_error())
      std::abort();
    return 0;
  }
  void *out = nullptr;
  size_t outSize = 0;
  if (kvrt_schedule_write_memory(s, &out, &outSize) != KVRT_OK)
    std::abort();
  kvrt_schedule *again = nullptr;
  if (kvrt_schedule_read_memory(out, outSize, &again) != KVRT_OK)
    std::abort();
  void *out2 = nullptr;
  size_t outSize2 = 0;
  if (kvrt_schedule_write_memory(again, &out2, &outSize2) != KVRT_OK ||
      outSize2 != outSize || std::memcmp(out, out2, outSize) != 0)
    std::abort();
  kvrt_free(out);
  kvrt_free(out2);
  kvrt_schedule_destroy(again);
  kvrt_schedule_destroy(s);
  return 0;
}
