//===- ModelConfigFuzzer.cpp - libFuzzer target: config importer ---------===//
//
// Any input must give a model config within the supported limits or an
// error naming the file; the derived byte counts of an accepted config are
// computed (they must not trap under UBSan).
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Limits.h"
#include "kvopt/Core/ModelConfig.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace kvopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<ModelConfig> m = parseModelConfigJSON(text, "config.json");
  if (!m) {
    std::string msg = llvm::toString(m.takeError());
    if (msg.find("config.json") == std::string::npos)
      std::abort();
    return 0;
  }
  if (m->layers == 0 || m->layers > kMaxLayers || m->kvHeads > kMaxHeads)
    std::abort();
  (void)m->weightBytes();
  (void)m->activeWeightBytesPerLayerStep();
  return 0;
}
