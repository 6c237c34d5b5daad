//===- TraceReaderFuzzer.cpp - libFuzzer target for the trace readers ----===//
//
// Input byte 0 selects the mode; the rest is the file:
//   bit 0 clear: the binary reader as is (checksums must match);
//   bit 0 set:   the binary reader after rewriting every CRC to the correct
//                value, so mutations reach the payload decoder and the
//                delta validation instead of stopping at the checksum;
//   bit 1 set:   the text reader.
// Every input must end in a clean record stream or a located error.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/TraceIO.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace kvopt;

static void putU32(std::string &s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    s[at + i] = char((v >> (8 * i)) & 0xff);
}

/// Rewrite the header and record CRCs of a (possibly mutated) binary trace.
static void fixChecksums(std::string &s) {
  if (s.size() < 36)
    return;
  putU32(s, 32, crc32(s.data(), 32));
  size_t p = 36;
  while (p < s.size()) {
    uint64_t len = 0;
    int shift = 0;
    while (p < s.size() && shift <= 28) {
      unsigned char c = s[p++];
      len |= uint64_t(c & 0x7f) << shift;
      shift += 7;
      if (!(c & 0x80))
        break;
    }
    if (len > s.size() || p + len + 4 > s.size())
      return;
    putU32(s, p + len, crc32(s.data() + p, len));
    p += len + 4;
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  uint8_t mode = data[0];
  std::string body(reinterpret_cast<const char *>(data + 1), size - 1);
  llvm::Expected<std::unique_ptr<TraceSource>> src =
      (mode & 2)
          ? openTextTraceBuffer(body, "fuzz.txt")
          : (mode & 1
                 ? (fixChecksums(body), openBinaryTraceBuffer(body, "fuzz.kvt"))
                 : openBinaryTraceBuffer(body, "fuzz.kvt"));
  if (!src) {
    std::string msg = errorToString(src.takeError());
    if (msg.find("fuzz.") == std::string::npos)
      std::abort(); // every error names the input
    return 0;
  }
  // Bound the work of a valid but huge header.
  if ((*src)->header().recordCount() > (1u << 20))
    return 0;
  TraceRecord rec;
  while (true) {
    llvm::Expected<bool> more = (*src)->next(rec);
    if (!more) {
      std::string msg = errorToString(more.takeError());
      if (msg.find("field '") == std::string::npos)
        std::abort();
      return 0;
    }
    if (!*more)
      return 0;
  }
}
