//===- HardwareJsonFuzzer.cpp - libFuzzer target: hardware JSON ----------===//
//
// Any input must parse into a valid memory system or a located error; a
// valid one must survive validate() and every quantity must fit the IR's
// 64-bit byte counts.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Hardware.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace kvopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<MemorySystem> m = parseMemorySystemJSON(text, "fuzz.json");
  if (!m) {
    std::string msg = llvm::toString(m.takeError());
    if (msg.find("fuzz.json") == std::string::npos)
      std::abort(); // every error names the file
    return 0;
  }
  if (llvm::Error e = m->validate())
    std::abort(); // parse accepted what validate rejects
  for (const Tier &t : m->tiers)
    if (!(t.capacityBytes > 0 && t.capacityBytes <= 1e18))
      std::abort();
  (void)m->hostToDeviceBandwidth();
  (void)m->deviceToHostBandwidth();
  return 0;
}
