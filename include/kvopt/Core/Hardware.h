//===- Hardware.h - Heterogeneous memory systems and presets ----*- C++ -*-===//
//
// A memory system is a GPU-attached tier (HBM), one off-package DRAM tier
// (GH200 LPDDR5X over NVLink-C2C, or host DRAM over PCIe) and the link between
// them with a bandwidth per direction. All quantities are SI: bytes and
// bytes per second. Named presets carry the numbers of docs/hardware.md.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_HARDWARE_H
#define KVOPT_CORE_HARDWARE_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvopt {

/// What a tier is; the planner needs exactly one of each kind.
enum class TierKind { HBM, DRAM };

/// Printable name of a tier kind ("HBM", "DRAM").
const char *tierKindName(TierKind kind);

/// One memory tier.
struct Tier {
  std::string name;
  TierKind kind = TierKind::HBM;
  /// Capacity in bytes.
  double capacityBytes = 0;
  /// Sustained read and write bandwidth in bytes/s. Reads and writes share
  /// the tier: a step's time on it is read/readBW + write/writeBW.
  double readBandwidth = 0;
  double writeBandwidth = 0;
};

/// A link between two tiers with one bandwidth per direction (bytes/s).
struct Link {
  std::string from; ///< usually the DRAM tier (host side)
  std::string to;   ///< usually the HBM tier (device side)
  /// Bandwidth from `from` to `to` (host-to-device for DRAM->HBM).
  double forwardBandwidth = 0;
  /// Bandwidth from `to` to `from` (device-to-host for DRAM->HBM).
  double backwardBandwidth = 0;
};

/// A validated two-tier memory system.
struct MemorySystem {
  std::string name;
  std::string description;
  /// True when a number in the preset could not be checked against a primary
  /// source (see docs/hardware.md).
  bool unverified = false;
  std::vector<Tier> tiers;
  std::vector<Link> links;

  /// Check every field; the error names the system and the field. A tier
  /// must have a positive capacity and bandwidths, names must be unique, a
  /// link must join two known tiers, and there must be exactly one HBM and
  /// one DRAM tier joined by a link. When `minBlockBytes` is positive, the HBM
  /// capacity must hold at least one block of that size.
  llvm::Error validate(double minBlockBytes = 0) const;

  /// The HBM and DRAM tiers (valid only after validate() succeeded).
  const Tier &hbm() const;
  const Tier &dram() const;
  /// Host-to-device (DRAM -> HBM) and device-to-host bandwidths of the link
  /// joining the two tiers, whichever direction it is declared in.
  double hostToDeviceBandwidth() const;
  double deviceToHostBandwidth() const;
};

/// Names of all presets, in a fixed order.
std::vector<std::string> listHardwarePresets();

/// A preset by name ("paper", "gh200", "gh200-144g", "gh200-measured",
/// "gb200", "h100-pcie", "h200-pcie"); an unknown name is an error listing
/// the known ones.
llvm::Expected<MemorySystem> getHardwarePreset(const std::string &name);

/// Parse a memory system from a small JSON description:
/// {"name": "...", "tiers": [{"name","kind","capacity_gb","read_gbps",
///  "write_gbps"}], "links": [{"from","to","forward_gbps","backward_gbps"}]}
/// (GB = 1e9 bytes). Errors name the file and the field.
llvm::Expected<MemorySystem> parseMemorySystemJSON(const std::string &text,
                                                   const std::string &file);

/// Reads (at most kMaxJsonFileBytes of) `path` and parses it as above.
llvm::Expected<MemorySystem> loadMemorySystemJSON(const std::string &path);

} // namespace kvopt

#endif // KVOPT_CORE_HARDWARE_H
