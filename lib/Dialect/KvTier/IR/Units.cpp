//===- Units.cpp - exact printing of byte counts and bandwidths -----------===//
//
// Part of kv-opt. Capacities and bandwidths are stored as exact integers
// (bytes, bytes per second) and printed with the unit that represents them
// exactly, so that custom-form IR round-trips bit for bit.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Dialect/KvTier/IR/KvTierAttrs.h"

#include <cstdint>
#include <string>

namespace {
struct Unit {
  const char *name;
  uint64_t scale;
};
} // namespace

/// Prints `value / scale` as an exact decimal; `scale` is a power of ten.
static std::string exactDecimal(uint64_t value, uint64_t scale) {
  std::string out = std::to_string(value / scale);
  uint64_t rem = value % scale;
  if (rem == 0)
    return out;
  std::string frac;
  for (uint64_t s = scale / 10; s > 0; s /= 10) {
    frac.push_back(static_cast<char>('0' + rem / s));
    rem %= s;
  }
  while (!frac.empty() && frac.back() == '0')
    frac.pop_back();
  return out + "." + frac;
}

static std::string formatMagnitude(uint64_t value, const char *suffix,
                                   bool allowBinary);

static std::string formatWithUnits(int64_t value, const char *suffix,
                                   bool allowBinary) {
  // The magnitude in unsigned arithmetic: -INT64_MIN does not fit int64_t.
  if (value < 0)
    return "-" + formatMagnitude(0 - uint64_t(value), suffix, allowBinary);
  return formatMagnitude(uint64_t(value), suffix, allowBinary);
}

static std::string formatMagnitude(uint64_t value, const char *suffix,
                                   bool allowBinary) {
  static const Unit binary[] = {{"TiB", uint64_t(1) << 40},
                                {"GiB", uint64_t(1) << 30},
                                {"MiB", uint64_t(1) << 20},
                                {"KiB", uint64_t(1) << 10}};
  static const Unit decimal[] = {{"TB", 1000000000000ULL},
                                 {"GB", 1000000000ULL},
                                 {"MB", 1000000ULL},
                                 {"KB", 1000ULL}};
  if (value == 0)
    return std::string("0 B") + suffix;
  // Prefer the largest decimal unit that needs at most three fraction digits
  // ("4.9 TB/s", "96 GB"), then an exact binary unit ("24 GiB"), then the
  // largest decimal unit with an exact fraction of any length.
  // A fraction is read back through a double: exact only below 2^48 bytes
  // (parse and scale err by at most 2^-4 B there); above, only whole units
  // (read back exactly as integers) or plain bytes.
  const bool fractionExact = value < (uint64_t(1) << 48);
  for (const Unit &u : decimal)
    if (value >= u.scale &&
        value % (u.scale >= 1000000 ? u.scale / 1000 : u.scale) == 0 &&
        (fractionExact || value % u.scale == 0))
      return exactDecimal(value, u.scale) + " " + u.name + suffix;
  if (allowBinary)
    for (const Unit &u : binary)
      if (value % u.scale == 0)
        return std::to_string(value / u.scale) + " " + u.name + suffix;
  if (fractionExact)
    for (const Unit &u : decimal)
      if (value >= u.scale)
        return exactDecimal(value, u.scale) + " " + u.name + suffix;
  return std::to_string(value) + " B" + suffix;
}

std::string mlir::kvtier::formatBytes(int64_t bytes) {
  return formatWithUnits(bytes, "", /*allowBinary=*/true);
}

std::string mlir::kvtier::formatBandwidth(int64_t bytesPerSecond) {
  return formatWithUnits(bytesPerSecond, "/s", /*allowBinary=*/true);
}
