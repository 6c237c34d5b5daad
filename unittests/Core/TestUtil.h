//===- TestUtil.h - Helpers for the core unit tests -------------*- C++ -*-===//
#ifndef KVOPT_UNITTESTS_CORE_TESTUTIL_H
#define KVOPT_UNITTESTS_CORE_TESTUTIL_H

#include "kvopt/Core/Error.h"
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Trace.h"

#include "gtest/gtest.h"

#include <string>

namespace kvopt {
namespace test {

/// Unwrap an Expected or fail the test with its message.
template <typename T> T unwrap(llvm::Expected<T> v) {
  if (!v) {
    ADD_FAILURE() << errorToString(v.takeError());
    std::abort();
  }
  return std::move(*v);
}

/// The error message of a failed Expected (empty and a test failure if it
/// succeeded).
template <typename T> std::string errorOf(llvm::Expected<T> v) {
  if (v) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return errorToString(v.takeError());
}
inline std::string errorOf(llvm::Error e) {
  if (!e) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return errorToString(std::move(e));
}

/// A memory system with small round numbers (bytes/s): HBM `cap` bytes.
inline MemorySystem tinySystem(double hbmCap, double hbmBw = 100,
                               double dramBw = 10, double h2d = 5,
                               double d2h = 4) {
  MemorySystem m;
  m.name = "tiny";
  m.tiers.push_back({"hbm", TierKind::HBM, hbmCap, hbmBw, hbmBw});
  m.tiers.push_back({"dram", TierKind::DRAM, 1e12, dramBw, dramBw});
  m.links.push_back({"dram", "hbm", h2d, d2h});
  return m;
}

/// A workload of `layers` layers, entries of `entry` bytes, weights `w`
/// bytes per step and no resident weights.
inline Workload tinyWorkload(uint32_t layers, uint32_t prompt, uint32_t decode,
                             uint64_t entry = 10, double w = 100,
                             uint32_t batch = 1, uint32_t block = 1) {
  Workload wl;
  wl.model.name = "tiny";
  wl.model.layers = layers;
  wl.promptLen = prompt;
  wl.decodeSteps = decode;
  wl.batch = batch;
  wl.tokensPerBlock = block;
  wl.entryBytesOverride = entry;
  wl.weightBytesPerLayerStepOverride = w;
  wl.residentWeightBytesOverride = 0;
  return wl;
}

inline std::string sharedData(const std::string &rel) {
  return std::string(KVOPT_SHARED_DATA_DIR) + "/" + rel;
}

} // namespace test
} // namespace kvopt

#endif // KVOPT_UNITTESTS_CORE_TESTUTIL_H
