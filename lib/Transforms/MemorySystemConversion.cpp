//===- MemorySystemConversion.cpp - IR <-> core memory systems ------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/MemorySystemConversion.h"

#include "mlir/IR/Diagnostics.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kvtier;

FailureOr<kvopt::MemorySystem>
mlir::kvtier::toCoreMemorySystem(MemorySystemAttr attr,
                                 function_ref<InFlightDiagnostic()> emitError) {
  kvopt::MemorySystem mem;
  mem.name = attr.getPreset() ? attr.getPreset().str() : "module";
  TierAttr hbm, dram;
  for (TierAttr t : attr.getTiers()) {
    kvopt::Tier tier;
    tier.name = t.getName().str();
    tier.kind = t.getKind() == TierKind::hbm ? kvopt::TierKind::HBM
                                             : kvopt::TierKind::DRAM;
    tier.capacityBytes = double(t.getCapacityBytes());
    tier.readBandwidth = double(t.getReadBytesPerSecond());
    tier.writeBandwidth = double(t.getWriteBytesPerSecond());
    mem.tiers.push_back(tier);
    if (t.getKind() == TierKind::hbm)
      hbm = t;
    else if (!dram)
      dram = t;
    else
      return emitError() << "the planner supports one off-package tier; '"
                         << dram.getName() << "' and '" << t.getName()
                         << "' are both 'dram'";
  }
  if (!dram)
    return emitError() << "the memory system has no 'dram' tier to plan for";
  LinkAttr up = attr.lookupLink(dram.getName(), hbm.getName());
  LinkAttr down = attr.lookupLink(hbm.getName(), dram.getName());
  if (!up || !down)
    return emitError() << "the memory system needs links both ways between '"
                       << hbm.getName() << "' and '" << dram.getName() << "'";
  kvopt::Link link;
  link.from = dram.getName().str();
  link.to = hbm.getName().str();
  link.forwardBandwidth = double(up.getBytesPerSecond());
  link.backwardBandwidth = double(down.getBytesPerSecond());
  mem.links.push_back(link);
  if (llvm::Error err = mem.validate()) {
    std::string msg = llvm::toString(std::move(err));
    return emitError() << msg;
  }
  return mem;
}

MemorySystemAttr
mlir::kvtier::fromCoreMemorySystem(MLIRContext *ctx,
                                   const kvopt::MemorySystem &mem) {
  auto whole = [](double v) { return int64_t(std::llround(v)); };
  SmallVector<TierAttr> tiers;
  for (const kvopt::Tier &t : mem.tiers)
    tiers.push_back(TierAttr::get(
        ctx, t.name,
        t.kind == kvopt::TierKind::HBM ? TierKind::hbm : TierKind::dram,
        whole(t.capacityBytes), whole(t.readBandwidth),
        whole(t.writeBandwidth)));
  SmallVector<LinkAttr> links;
  for (const kvopt::Link &l : mem.links) {
    links.push_back(LinkAttr::get(ctx, l.from, l.to, whole(l.forwardBandwidth)));
    links.push_back(
        LinkAttr::get(ctx, l.to, l.from, whole(l.backwardBandwidth)));
  }
  return MemorySystemAttr::get(ctx, tiers, links,
                               StringAttr::get(ctx, mem.name));
}
