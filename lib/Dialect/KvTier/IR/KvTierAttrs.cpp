//===- KvTierAttrs.cpp - kvtier attributes --------------------------------===//
//
// Part of kv-opt. Memory-system attributes with readable units, and the plan
// summary attributes written by the planner.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Dialect/KvTier/IR/KvTierAttrs.h"
#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::kvtier;

#include "kvopt/Dialect/KvTier/IR/KvTierEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kvopt/Dialect/KvTier/IR/KvTierAttrs.cpp.inc"

void KvTierDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kvopt/Dialect/KvTier/IR/KvTierAttrs.cpp.inc"
      >();
}

ParseResult mlir::kvtier::parseNumber(AsmParser &parser, double &value) {
  bool negative = succeeded(parser.parseOptionalMinus());
  int64_t integer;
  OptionalParseResult isInteger = parser.parseOptionalInteger(integer);
  if (isInteger.has_value()) {
    if (failed(*isInteger))
      return failure();
    value = static_cast<double>(integer);
  } else if (parser.parseFloat(value)) {
    return failure();
  }
  if (negative)
    value = -value;
  return success();
}

/// Formats a double for a diagnostic ("3", "0.0118", "1e+20").
static std::string fmt(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

//===----------------------------------------------------------------------===//
// Quantities with units
//===----------------------------------------------------------------------===//

namespace {
struct UnitScale {
  llvm::StringLiteral name;
  double scale;
};
} // namespace

static const UnitScale kByteUnits[] = {
    {"B", 1.0},       {"KB", 1e3},           {"MB", 1e6},
    {"GB", 1e9},      {"TB", 1e12},          {"KiB", 1024.0},
    {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};

/// Parses `<number> <unit>` (or `<number> <unit>/s` when `rate`) into an
/// exact byte count. Negative values are kept so that the verifier can name
/// them; fractions of a byte and overflow are parse errors.
static ParseResult parseQuantity(AsmParser &parser, bool rate, int64_t &out,
                                 StringRef field) {
  SMLoc loc = parser.getCurrentLocation();
  // Integers are kept exact (a double loses bytes above 2^53).
  bool negative = succeeded(parser.parseOptionalMinus());
  int64_t integer = 0;
  bool isInteger = false;
  double value;
  OptionalParseResult intResult = parser.parseOptionalInteger(integer);
  if (intResult.has_value()) {
    if (failed(*intResult))
      return failure();
    isInteger = true;
    value = static_cast<double>(integer);
  } else if (parser.parseFloat(value)) {
    return failure();
  }
  if (negative)
    value = -value;
  StringRef unit;
  SMLoc unitLoc = parser.getCurrentLocation();
  if (parser.parseOptionalKeyword(&unit))
    return parser.emitError(unitLoc, "expected a unit (B, KB, MB, GB, TB, "
                                     "KiB, MiB, GiB, TiB") << (rate ? "/s)" : ")");
  // "1e30 GB" lexes as the integer 1 and the keyword "e30": read the
  // exponent strictly, then the unit.
  if (unit.size() > 1 && unit[0] == 'e' &&
      llvm::all_of(unit.drop_front(), [](char c) { return llvm::isDigit(c); })) {
    unsigned exponent;
    if (unit.drop_front().getAsInteger(10, exponent) || exponent > 400)
      return parser.emitError(loc, "value out of range for '")
             << field << "': exponent '" << unit << "' is too large";
    value *= std::pow(10.0, double(exponent));
    isInteger = false;
    unitLoc = parser.getCurrentLocation();
    if (parser.parseOptionalKeyword(&unit))
      return parser.emitError(unitLoc, "expected a unit (B, KB, MB, GB, TB, "
                                       "KiB, MiB, GiB, TiB")
             << (rate ? "/s)" : ")");
  }
  const UnitScale *found = nullptr;
  for (const UnitScale &u : kByteUnits)
    if (u.name == unit)
      found = &u;
  if (!found)
    return parser.emitError(unitLoc, "unknown unit '")
           << unit << "'; expected B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
           << (rate ? " followed by /s" : "");
  if (rate) {
    StringRef per;
    if (parser.parseSlash() || parser.parseKeyword(&per))
      return failure();
    if (per != "s")
      return parser.emitError(unitLoc, "bandwidth must be given per second, "
                                       "e.g. 450 GB/s");
  }
  if (isInteger) {
    __int128 exact = (__int128)integer * (__int128)found->scale;
    if (exact > (__int128)9000000000000000000LL)
      return parser.emitError(loc, "value out of range for '")
             << field << "': " << fmt(value * found->scale)
             << (rate ? " B/s" : " B") << " (at most 9e18)";
    out = static_cast<int64_t>(negative ? -exact : exact);
    return success();
  }
  double bytes = value * found->scale;
  if (!std::isfinite(bytes) || std::fabs(bytes) > 9.0e18)
    return parser.emitError(loc, "value out of range for '")
           << field << "': " << fmt(bytes) << (rate ? " B/s" : " B")
           << " (at most 9e18)";
  double rounded = std::nearbyint(bytes);
  if (std::fabs(bytes - rounded) > 1e-3 * std::max(1.0, std::fabs(bytes) * 1e-12))
    return parser.emitError(loc, "quantity is not a whole number of bytes");
  out = static_cast<int64_t>(rounded);
  return success();
}

//===----------------------------------------------------------------------===//
// TierAttr
//===----------------------------------------------------------------------===//

Attribute TierAttr::parse(AsmParser &parser, Type) {
  std::string name;
  StringRef kindName;
  int64_t capacity, read, write;
  if (parser.parseLess() || parser.parseString(&name))
    return {};
  SMLoc kindLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&kindName))
    return {};
  std::optional<TierKind> kind = symbolizeTierKind(kindName);
  if (!kind) {
    parser.emitError(kindLoc, "unknown tier kind '")
        << kindName << "'; expected 'hbm' or 'dram'";
    return {};
  }
  if (parser.parseComma() || parser.parseKeyword("capacity") ||
      parser.parseEqual() || parseQuantity(parser, false, capacity, "capacity") ||
      parser.parseComma() || parser.parseKeyword("read") ||
      parser.parseEqual() || parseQuantity(parser, true, read, "read") ||
      parser.parseComma() || parser.parseKeyword("write") ||
      parser.parseEqual() || parseQuantity(parser, true, write, "write") ||
      parser.parseGreater())
    return {};
  return parser.getChecked<TierAttr>(parser.getContext(), name, *kind,
                                     capacity, read, write);
}

void TierAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printer.printString(getName());
  printer << ' ' << stringifyTierKind(getKind())
          << ", capacity = " << formatBytes(getCapacityBytes())
          << ", read = " << formatBandwidth(getReadBytesPerSecond())
          << ", write = " << formatBandwidth(getWriteBytesPerSecond()) << '>';
}

LogicalResult TierAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               StringRef name, TierKind, int64_t capacity,
                               int64_t read, int64_t write) {
  if (name.empty())
    return emitError() << "tier name must not be empty";
  if (capacity <= 0)
    return emitError() << "tier '" << name << "' capacity must be positive, got "
                       << formatBytes(capacity);
  if (read <= 0)
    return emitError() << "tier '" << name
                       << "' read bandwidth must be positive, got "
                       << formatBandwidth(read);
  if (write <= 0)
    return emitError() << "tier '" << name
                       << "' write bandwidth must be positive, got "
                       << formatBandwidth(write);
  return success();
}

//===----------------------------------------------------------------------===//
// LinkAttr
//===----------------------------------------------------------------------===//

Attribute LinkAttr::parse(AsmParser &parser, Type) {
  std::string from, to;
  int64_t bandwidth;
  if (parser.parseLess() || parser.parseString(&from) || parser.parseArrow() ||
      parser.parseString(&to) || parser.parseComma() ||
      parseQuantity(parser, true, bandwidth, "bandwidth") || parser.parseGreater())
    return {};
  return parser.getChecked<LinkAttr>(parser.getContext(), from, to, bandwidth);
}

void LinkAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printer.printString(getFrom());
  printer << " -> ";
  printer.printString(getTo());
  printer << ", " << formatBandwidth(getBytesPerSecond()) << '>';
}

LogicalResult LinkAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               StringRef from, StringRef to,
                               int64_t bandwidth) {
  if (from.empty() || to.empty())
    return emitError() << "link endpoints must name tiers";
  if (from == to)
    return emitError() << "link from tier '" << from << "' to itself";
  if (bandwidth <= 0)
    return emitError() << "link '" << from << "' -> '" << to
                       << "' bandwidth must be positive, got "
                       << formatBandwidth(bandwidth);
  return success();
}

//===----------------------------------------------------------------------===//
// MemorySystemAttr
//===----------------------------------------------------------------------===//

/// Parses `[ #kvtier.<mnemonic><...>, ... ]`.
template <typename AttrT>
static ParseResult parseAttrList(AsmParser &parser,
                                 SmallVectorImpl<AttrT> &out) {
  return parser.parseCommaSeparatedList(
      AsmParser::Delimiter::Square, [&]() -> ParseResult {
        SMLoc loc = parser.getCurrentLocation();
        Attribute attr;
        if (parser.parseAttribute(attr))
          return failure();
        auto typed = dyn_cast<AttrT>(attr);
        if (!typed)
          return parser.emitError(loc, "expected a ")
                 << AttrT::getMnemonic() << " attribute, got " << attr;
        out.push_back(typed);
        return success();
      });
}

Attribute MemorySystemAttr::parse(AsmParser &parser, Type) {
  StringAttr preset;
  SmallVector<TierAttr> tiers;
  SmallVector<LinkAttr> links;
  if (parser.parseLess())
    return {};
  if (succeeded(parser.parseOptionalKeyword("preset"))) {
    if (parser.parseEqual() || parser.parseAttribute(preset) ||
        parser.parseComma())
      return {};
  }
  if (parser.parseKeyword("tiers") || parser.parseEqual() ||
      parseAttrList(parser, tiers) || parser.parseComma() ||
      parser.parseKeyword("links") || parser.parseEqual() ||
      parseAttrList(parser, links) || parser.parseGreater())
    return {};
  return parser.getChecked<MemorySystemAttr>(parser.getContext(), tiers, links,
                                             preset);
}

void MemorySystemAttr::print(AsmPrinter &printer) const {
  printer << '<';
  if (getPreset())
    printer << "preset = " << getPreset() << ", ";
  printer << "tiers = [";
  llvm::interleaveComma(getTiers(), printer,
                        [&](TierAttr t) { printer.printAttribute(t); });
  printer << "], links = [";
  llvm::interleaveComma(getLinks(), printer,
                        [&](LinkAttr l) { printer.printAttribute(l); });
  printer << "]>";
}

LogicalResult
MemorySystemAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         ArrayRef<TierAttr> tiers, ArrayRef<LinkAttr> links,
                         StringAttr) {
  if (tiers.empty())
    return emitError() << "memory system has no tiers";
  llvm::StringSet<> names;
  int numHbm = 0;
  for (TierAttr tier : tiers) {
    if (!tier)
      return emitError() << "memory system tier is null";
    if (!names.insert(tier.getName()).second)
      return emitError() << "duplicate tier name '" << tier.getName() << "'";
    if (tier.getKind() == TierKind::hbm)
      ++numHbm;
  }
  if (numHbm != 1)
    return emitError() << "memory system must have exactly one 'hbm' tier, has "
                       << numHbm;
  llvm::StringSet<> pairs;
  for (LinkAttr link : links) {
    for (StringRef end : {link.getFrom(), link.getTo()})
      if (!names.contains(end))
        return emitError() << "link '" << link.getFrom() << "' -> '"
                           << link.getTo() << "' names unknown tier '" << end
                           << "'";
    if (!pairs.insert((link.getFrom() + "\0" + link.getTo()).str()).second)
      return emitError() << "duplicate link '" << link.getFrom() << "' -> '"
                         << link.getTo() << "'";
  }
  // Every off-package tier must be reachable in both directions from HBM:
  // misses and promotions cross dram -> hbm, demotions hbm -> dram.
  StringRef hbm;
  for (TierAttr tier : tiers)
    if (tier.getKind() == TierKind::hbm)
      hbm = tier.getName();
  for (TierAttr tier : tiers) {
    if (tier.getKind() != TierKind::dram)
      continue;
    for (auto [from, to] : {std::pair(tier.getName(), hbm),
                            std::pair(hbm, tier.getName())})
      if (!pairs.contains((from + "\0" + to).str()))
        return emitError() << "tier '" << tier.getName()
                           << "' needs a link '" << from << "' -> '" << to
                           << "'";
  }
  return success();
}

TierAttr MemorySystemAttr::lookupTier(StringRef name) const {
  for (TierAttr tier : getTiers())
    if (tier.getName() == name)
      return tier;
  return {};
}

TierAttr MemorySystemAttr::getHbmTier() const {
  for (TierAttr tier : getTiers())
    if (tier.getKind() == TierKind::hbm)
      return tier;
  return {};
}

LinkAttr MemorySystemAttr::lookupLink(StringRef from, StringRef to) const {
  for (LinkAttr link : getLinks())
    if (link.getFrom() == from && link.getTo() == to)
      return link;
  return {};
}

MemorySystemAttr mlir::kvtier::lookupMemorySystem(Operation *op) {
  for (; op; op = op->getParentOp())
    if (auto sys = op->getAttrOfType<MemorySystemAttr>(
            KvTierDialect::getMemorySystemAttrName()))
      return sys;
  return {};
}

//===----------------------------------------------------------------------===//
// Plan summary attributes
//===----------------------------------------------------------------------===//

LogicalResult ModelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                StringRef name, int64_t residentWeightBytes,
                                int64_t weightBytesPerLayerStep) {
  if (residentWeightBytes < 0)
    return emitError() << "model resident_weight_bytes must be non-negative, "
                          "got "
                       << residentWeightBytes;
  if (weightBytesPerLayerStep < 0)
    return emitError() << "model weight_bytes_per_layer_step must be "
                          "non-negative, got "
                       << weightBytesPerLayerStep;
  return success();
}

LogicalResult DeploymentAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     int64_t tp, int64_t pp, int64_t dp,
                                     StringAttr config) {
  for (auto [name, v] : {std::pair<const char *, int64_t>{"tp", tp},
                         {"pp", pp},
                         {"dp", dp}})
    if (v < 1 || v > 65536)
      return emitError() << "deployment " << name
                         << " must be in 1..65536, got " << v;
  return success();
}

LogicalResult
PlacementAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      int64_t hbmBlocks, int64_t peakHbmBlocks,
                      int64_t totalBlocks, int64_t promotions,
                      int64_t demotions) {
  if (hbmBlocks < 0 || peakHbmBlocks < 0 || totalBlocks < 0 || promotions < 0 ||
      demotions < 0)
    return emitError() << "placement counts must be non-negative";
  if (hbmBlocks > peakHbmBlocks)
    return emitError() << "placement hbm_blocks (" << hbmBlocks
                       << ") exceeds peak_hbm_blocks (" << peakHbmBlocks << ")";
  if (peakHbmBlocks > totalBlocks)
    return emitError() << "placement peak_hbm_blocks (" << peakHbmBlocks
                       << ") exceeds total_blocks (" << totalBlocks << ")";
  return success();
}

LogicalResult SplitAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                llvm::APFloat hbmValue,
                                llvm::APFloat balancedValue) {
  double hbm = hbmValue.convertToDouble();
  double balanced = balancedValue.convertToDouble();
  if (!(hbm >= 0.0 && hbm <= 1.0))
    return emitError() << "split hbm fraction must be in [0, 1], got " << fmt(hbm);
  if (!(balanced >= 0.0 && balanced <= 1.0))
    return emitError() << "split balanced fraction must be in [0, 1], got "
                       << fmt(balanced);
  return success();
}

LogicalResult PlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               StringRef policy, PlanStatus status,
                               llvm::APFloat boundValue,
                               llvm::APFloat scheduleValue,
                               llvm::APFloat gapValue, StringRef file,
                               int64_t migrations) {
  double bound = boundValue.convertToDouble();
  double schedule = scheduleValue.convertToDouble();
  double gap = gapValue.convertToDouble();
  if (!(bound >= 0.0) || !(schedule >= 0.0))
    return emitError() << "plan times must be non-negative";
  // A bound above an achievable schedule would be a false certificate.
  if (bound > schedule * (1.0 + 1e-9))
    return emitError() << "plan bound (" << fmt(bound)
                       << " s) exceeds the schedule time (" << fmt(schedule)
                       << " s): not a valid lower bound";
  if (!(gap >= 0.0 && gap <= 1.0))
    return emitError() << "plan gap must be in [0, 1], got " << fmt(gap);
  if (migrations < 0)
    return emitError() << "plan migrations must be non-negative";
  return success();
}
