//===- Hardware.cpp - Memory systems, validation and presets -------------===//
//
// Every preset number is sourced in docs/hardware.md.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/SharedTier.h"

#include "llvm/Support/JSON.h"

#include <cmath>
#include <cstdio>
#include <set>

using namespace kvopt;

const char *kvopt::tierKindName(TierKind kind) {
  return kind == TierKind::HBM ? "HBM" : "DRAM";
}

static bool positiveFinite(double v) { return std::isfinite(v) && v > 0; }

/// Byte counts and rates are stored as 64-bit integers in the IR and the
/// runtime; 1e18 (an exabyte, an exabyte per second) leaves ample headroom.
static constexpr double kMaxQuantity = 1e18;

static llvm::Error checkRange(const std::string &ctx, const std::string &field,
                              double value, const char *unit) {
  if (value <= kMaxQuantity) // also false for NaN
    return llvm::Error::success();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g %s", value, unit);
  return makeFieldError(ctx, field,
                        std::string("value out of range: ") + buf +
                            " (at most 1e18 " + unit + ")");
}

llvm::Error MemorySystem::validate(double minBlockBytes) const {
  std::string ctx = "memory system '" + name + "'";
  if (tiers.empty())
    return makeFieldError(ctx, "tiers", "no tiers");
  std::set<std::string> names;
  unsigned nHbm = 0, nDram = 0;
  for (size_t i = 0; i < tiers.size(); ++i) {
    const Tier &t = tiers[i];
    std::string f = "tiers[" + std::to_string(i) + "]";
    if (t.name.empty())
      return makeFieldError(ctx, f + ".name", "empty tier name");
    if (!names.insert(t.name).second)
      return makeFieldError(ctx, f + ".name",
                            "duplicate tier name '" + t.name + "'");
    if (auto e = checkRange(ctx, f + ".capacity", t.capacityBytes, "B"))
      return e;
    if (auto e = checkRange(ctx, f + ".read_bandwidth", t.readBandwidth, "B/s"))
      return e;
    if (auto e =
            checkRange(ctx, f + ".write_bandwidth", t.writeBandwidth, "B/s"))
      return e;
    if (!positiveFinite(t.capacityBytes))
      return makeFieldError(ctx, f + ".capacity",
                            "capacity of tier '" + t.name +
                                "' must be positive, got " +
                                std::to_string(t.capacityBytes));
    if (!positiveFinite(t.readBandwidth))
      return makeFieldError(ctx, f + ".read_bandwidth",
                            "read bandwidth of tier '" + t.name +
                                "' must be positive, got " +
                                std::to_string(t.readBandwidth));
    if (!positiveFinite(t.writeBandwidth))
      return makeFieldError(ctx, f + ".write_bandwidth",
                            "write bandwidth of tier '" + t.name +
                                "' must be positive, got " +
                                std::to_string(t.writeBandwidth));
    (t.kind == TierKind::HBM ? nHbm : nDram)++;
  }
  if (nHbm != 1 || nDram != 1)
    return makeFieldError(ctx, "tiers",
                          "need exactly one HBM and one DRAM tier, got " +
                              std::to_string(nHbm) + " HBM and " +
                              std::to_string(nDram) + " DRAM");
  bool joined = false;
  for (size_t i = 0; i < links.size(); ++i) {
    const Link &l = links[i];
    std::string f = "links[" + std::to_string(i) + "]";
    if (!names.count(l.from))
      return makeFieldError(ctx, f + ".from",
                            "link from unknown tier '" + l.from + "'");
    if (!names.count(l.to))
      return makeFieldError(ctx, f + ".to",
                            "link to unknown tier '" + l.to + "'");
    if (l.from == l.to)
      return makeFieldError(ctx, f,
                            "link joins tier '" + l.from + "' to itself");
    if (auto e = checkRange(ctx, f + ".forward_bandwidth", l.forwardBandwidth,
                            "B/s"))
      return e;
    if (auto e = checkRange(ctx, f + ".backward_bandwidth",
                            l.backwardBandwidth, "B/s"))
      return e;
    if (!positiveFinite(l.forwardBandwidth))
      return makeFieldError(ctx, f + ".forward_bandwidth",
                            "link bandwidth must be positive, got " +
                                std::to_string(l.forwardBandwidth));
    if (!positiveFinite(l.backwardBandwidth))
      return makeFieldError(ctx, f + ".backward_bandwidth",
                            "link bandwidth must be positive, got " +
                                std::to_string(l.backwardBandwidth));
    joined = true;
  }
  if (!joined || links.size() != 1)
    return makeFieldError(ctx, "links",
                          "need exactly one link between the HBM and the "
                          "DRAM tier, got " +
                              std::to_string(links.size()));
  if (minBlockBytes > 0 && hbm().capacityBytes < minBlockBytes)
    return makeFieldError(
        ctx, "tiers." + hbm().name + ".capacity",
        "HBM capacity " + std::to_string(hbm().capacityBytes) +
            " B is below one block (" + std::to_string(minBlockBytes) + " B)");
  return llvm::Error::success();
}

const Tier &MemorySystem::hbm() const {
  for (const Tier &t : tiers)
    if (t.kind == TierKind::HBM)
      return t;
  return tiers.front();
}

const Tier &MemorySystem::dram() const {
  for (const Tier &t : tiers)
    if (t.kind == TierKind::DRAM)
      return t;
  return tiers.back();
}

double MemorySystem::hostToDeviceBandwidth() const {
  const Link &l = links.front();
  return l.from == dram().name ? l.forwardBandwidth : l.backwardBandwidth;
}

double MemorySystem::deviceToHostBandwidth() const {
  const Link &l = links.front();
  return l.from == dram().name ? l.backwardBandwidth : l.forwardBandwidth;
}

namespace {
constexpr double GB = 1e9;

MemorySystem make(const char *name, const char *desc, bool unverified,
                  double hbmGB, double hbmBW, double dramGB, double dramBW,
                  double h2d, double d2h, const char *hbmName = "hbm",
                  const char *dramName = "dram") {
  MemorySystem m;
  m.name = name;
  m.description = desc;
  m.unverified = unverified;
  m.tiers.push_back(
      {hbmName, TierKind::HBM, hbmGB * GB, hbmBW * GB, hbmBW * GB});
  m.tiers.push_back(
      {dramName, TierKind::DRAM, dramGB * GB, dramBW * GB, dramBW * GB});
  m.links.push_back({dramName, hbmName, h2d * GB, d2h * GB});
  return m;
}

struct PresetEntry {
  const char *name;
  MemorySystem (*build)();
};

MemorySystem paper() {
  return make("paper",
              "seed Table I (GH200-like): HBM 4.9 TB/s 24 GB, DRAM 500 GB/s "
              "480 GB, link 450 GB/s per direction",
              false, 24, 4900, 480, 500, 450, 450);
}
MemorySystem gh200() {
  return make("gh200",
              "GH200 spec: 96 GB HBM3 4.0 TB/s, 480 GB LPDDR5X 512 GB/s, "
              "NVLink-C2C 450 GB/s per direction",
              false, 96, 4000, 480, 512, 450, 450, "hbm3", "lpddr5x");
}
MemorySystem gh200Big() {
  return make("gh200-144g",
              "GH200 144 GB variant: HBM3e 4.9 TB/s, 480 GB LPDDR5X 512 GB/s, "
              "NVLink-C2C 450 GB/s per direction",
              false, 144, 4900, 480, 512, 450, 450, "hbm3e", "lpddr5x");
}
MemorySystem gh200Measured() {
  return make("gh200-measured",
              "GH200 measured: HBM 3.4 TB/s (STREAM), LPDDR5X 486 GB/s "
              "(STREAM), C2C H2D 342 GB/s, D2H 295 GB/s (lower ends of the "
              "published ranges)",
              false, 96, 3400, 480, 486, 342, 295, "hbm3", "lpddr5x");
}
MemorySystem gb200() {
  return make("gb200",
              "GB200, one B200's share: 192 GB HBM3e 8 TB/s; half of Grace's "
              "480 GB LPDDR5X and 512 GB/s; half of C2C 450 GB/s per "
              "direction (per-GPU share unverified)",
              true, 192, 8000, 240, 256, 225, 225, "hbm3e", "lpddr5x");
}
MemorySystem h100() {
  return make("h100-pcie",
              "H100 80 GB HBM3 3.35 TB/s + x86 host DDR5 (512 GB, 8 x "
              "DDR5-4800 = 307 GB/s, assumed) over PCIe Gen5 x16 64 GB/s per "
              "direction (theoretical)",
              false, 80, 3350, 512, 307.2, 64, 64, "hbm3", "ddr5");
}
MemorySystem h200() {
  return make("h200-pcie",
              "H200 141 GB HBM3e 4.8 TB/s + x86 host DDR5 (512 GB, 307 GB/s, "
              "assumed) over PCIe Gen5 x16 64 GB/s per direction "
              "(theoretical)",
              false, 141, 4800, 512, 307.2, 64, 64, "hbm3e", "ddr5");
}
MemorySystem h200Measured() {
  return make("h200-pcie-measured",
              "H200 (SXM, x86 host over PCIe) measured by kvrt-bench on "
              "2026-12-04: HBM read 4.606 TB/s, zero-copy host reads 51.4 "
              "GB/s, D2H copies 55.1 GB/s; 141 GB HBM3e and 512 GB DDR5 at "
              "307.2 GB/s (assumed) as in h200-pcie",
              false, 141, 4606, 512, 307.2, 51.4, 55.1, "hbm3e", "ddr5");
}

// Multi-GPU systems (include/kvopt/Core/SharedTier.h): one GPU's HBM, one
// whole shared slow tier, one GPU's own link. Sources in docs/hardware.md.
SharedTierSystem shared(const char *name, const char *desc, bool unverified,
                        unsigned gpus, unsigned perTier, MemorySystem gpu,
                        double groupH2D = 0, double groupD2H = 0) {
  SharedTierSystem s;
  s.name = name;
  s.description = desc;
  s.unverified = unverified;
  s.gpus = gpus;
  s.gpusPerSlowTier = perTier;
  gpu.name = name;
  gpu.description = desc;
  gpu.unverified = unverified;
  s.gpu = std::move(gpu);
  s.groupLinkH2D = groupH2D * GB;
  s.groupLinkD2H = groupD2H * GB;
  return s;
}
SharedTierSystem h100x8() {
  return shared("h100-pcie-x8",
                "8 x H100 80 GB HBM3 3.35 TB/s (HGX/DGX H100), each on PCIe "
                "Gen5 x16 64 GB/s per direction to a 2-socket x86 host; 4 GPUs "
                "per socket share its 1 TB DDR5 at 307.2 GB/s (8 x DDR5-4800)",
                false, 8, 4,
                make("", "", false, 80, 3350, 1000, 307.2, 64, 64, "hbm3",
                     "ddr5"));
}
SharedTierSystem h200x8() {
  return shared("h200-pcie-x8",
                "8 x H200 141 GB HBM3e 4.8 TB/s (HGX/DGX H200), each on PCIe "
                "Gen5 x16 64 GB/s per direction to a 2-socket x86 host; 4 GPUs "
                "per socket share its 1 TB DDR5 at 307.2 GB/s (8 x DDR5-4800)",
                false, 8, 4,
                make("", "", false, 141, 4800, 1000, 307.2, 64, 64, "hbm3e",
                     "ddr5"));
}
SharedTierSystem gh200Nvl2() {
  return shared("gh200-nvl2",
                "GH200 NVL2: 2 x (144 GB HBM3e 4.9 TB/s + its own Grace, 480 "
                "GB LPDDR5X 512 GB/s, NVLink-C2C 450 GB/s per direction)",
                false, 2, 1,
                make("", "", false, 144, 4900, 480, 512, 450, 450, "hbm3e",
                     "lpddr5x"));
}
SharedTierSystem gb200Nvl72() {
  return shared("gb200-nvl72",
                "GB200 NVL72: 72 x B200 (186 GB HBM3e 8 TB/s); 36 Grace, each "
                "480 GB LPDDR5X 512 GB/s shared by 2 B200s over one "
                "NVLink-C2C of 450 GB/s per direction (per-GPU link split "
                "unverified)",
                true, 72, 2,
                make("", "", true, 186, 8000, 480, 512, 450, 450, "hbm3e",
                     "lpddr5x"),
                450, 450);
}

struct SharedPresetEntry {
  const char *name;
  SharedTierSystem (*build)();
};
const SharedPresetEntry sharedPresets[] = {
    {"h100-pcie-x8", h100x8},
    {"h200-pcie-x8", h200x8},
    {"gh200-nvl2", gh200Nvl2},
    {"gb200-nvl72", gb200Nvl72},
};

/// The per-GPU view of a multi-GPU preset with every GPU busy.
template <SharedTierSystem (*Build)()> MemorySystem allBusy() {
  SharedTierSystem s = Build();
  return llvm::cantFail(perGpuMemorySystem(s, s.gpusPerSlowTier));
}

const PresetEntry presets[] = {
    {"paper", paper},         {"gh200", gh200},
    {"gh200-144g", gh200Big}, {"gh200-measured", gh200Measured},
    {"gb200", gb200},         {"h100-pcie", h100},
    {"h200-pcie", h200},      {"h200-pcie-measured", h200Measured},
    {"h100-pcie-x8", allBusy<h100x8>},
    {"h200-pcie-x8", allBusy<h200x8>},
    {"gh200-nvl2", allBusy<gh200Nvl2>},
    {"gb200-nvl72", allBusy<gb200Nvl72>},
};
} // namespace

std::vector<std::string> kvopt::listHardwarePresets() {
  std::vector<std::string> names;
  for (const PresetEntry &p : presets)
    names.push_back(p.name);
  return names;
}

llvm::Expected<MemorySystem> kvopt::getHardwarePreset(const std::string &name) {
  for (const PresetEntry &p : presets)
    if (name == p.name)
      return p.build();
  std::string known;
  for (const PresetEntry &p : presets)
    known += std::string(known.empty() ? "" : ", ") + p.name;
  return makeFieldError("hardware", "preset",
                        "unknown preset '" + name + "' (known: " + known + ")");
}

std::vector<std::string> kvopt::listSharedTierPresets() {
  std::vector<std::string> names;
  for (const SharedPresetEntry &p : sharedPresets)
    names.push_back(p.name);
  return names;
}

llvm::Expected<SharedTierSystem>
kvopt::getSharedTierPreset(const std::string &name) {
  for (const SharedPresetEntry &p : sharedPresets)
    if (name == p.name)
      return p.build();
  std::string known;
  for (const SharedPresetEntry &p : sharedPresets)
    known += std::string(known.empty() ? "" : ", ") + p.name;
  return makeFieldError("hardware", "preset",
                        "'" + name + "' is not a multi-GPU preset (known: " +
                            known + ")");
}

llvm::Expected<MemorySystem>
kvopt::parseMemorySystemJSON(const std::string &text, const std::string &file) {
  llvm::Expected<llvm::json::Value> parsed = parseJsonBounded(text, file);
  if (!parsed)
    return parsed.takeError();
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return makeFieldError(file, "(root)", "expected a JSON object");
  MemorySystem m;
  if (auto n = root->getString("name"))
    m.name = n->str();
  else
    m.name = file;
  auto number = [&](const llvm::json::Object &o, const char *key,
                    const std::string &where, double &out) -> llvm::Error {
    std::optional<double> v = o.getNumber(key);
    if (!v)
      return makeFieldError(file, where + "." + key, "missing number");
    out = *v;
    return llvm::Error::success();
  };
  const llvm::json::Array *tiers = root->getArray("tiers");
  if (!tiers)
    return makeFieldError(file, "tiers", "missing array");
  for (size_t i = 0; i < tiers->size(); ++i) {
    std::string where = "tiers[" + std::to_string(i) + "]";
    const llvm::json::Object *o = (*tiers)[i].getAsObject();
    if (!o)
      return makeFieldError(file, where, "expected an object");
    Tier t;
    auto tn = o->getString("name");
    if (!tn)
      return makeFieldError(file, where + ".name", "missing string");
    t.name = tn->str();
    auto kind = o->getString("kind");
    if (!kind || (*kind != "HBM" && *kind != "DRAM"))
      return makeFieldError(file, where + ".kind",
                            "expected \"HBM\" or \"DRAM\"");
    t.kind = *kind == "HBM" ? TierKind::HBM : TierKind::DRAM;
    double cap = 0, r = 0, w = 0;
    if (auto e = number(*o, "capacity_gb", where, cap))
      return std::move(e);
    if (auto e = number(*o, "read_gbps", where, r))
      return std::move(e);
    if (auto e = number(*o, "write_gbps", where, w))
      return std::move(e);
    t.capacityBytes = cap * GB;
    t.readBandwidth = r * GB;
    t.writeBandwidth = w * GB;
    m.tiers.push_back(t);
  }
  if (const llvm::json::Array *links = root->getArray("links")) {
    for (size_t i = 0; i < links->size(); ++i) {
      std::string where = "links[" + std::to_string(i) + "]";
      const llvm::json::Object *o = (*links)[i].getAsObject();
      if (!o)
        return makeFieldError(file, where, "expected an object");
      Link l;
      auto from = o->getString("from"), to = o->getString("to");
      if (!from)
        return makeFieldError(file, where + ".from", "missing string");
      if (!to)
        return makeFieldError(file, where + ".to", "missing string");
      l.from = from->str();
      l.to = to->str();
      double f = 0, b = 0;
      if (auto e = number(*o, "forward_gbps", where, f))
        return std::move(e);
      if (auto e = number(*o, "backward_gbps", where, b))
        return std::move(e);
      l.forwardBandwidth = f * GB;
      l.backwardBandwidth = b * GB;
      m.links.push_back(l);
    }
  }
  if (auto e = m.validate())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   file + ": " + llvm::toString(std::move(e)));
  return m;
}

llvm::Expected<MemorySystem>
kvopt::loadMemorySystemJSON(const std::string &path) {
  auto buf = readBoundedFile(path, kMaxJsonFileBytes, "hardware file");
  if (!buf)
    return buf.takeError();
  return parseMemorySystemJSON((*buf)->getBuffer().str(), path);
}
