//===- PolicySupport.h - Helpers shared by the baseline policies -*- C++ -*-=//
#ifndef KVOPT_LIB_CORE_POLICYSUPPORT_H
#define KVOPT_LIB_CORE_POLICYSUPPORT_H

#include "kvopt/Core/Policy.h"

#include <algorithm>
#include <functional>

namespace kvopt {
namespace detail {

/// Prompt blocks in token-major order (block index outer, then layer, then
/// sequence): the seed's HBMInit fill order.
inline void
forEachPromptBlockTokenMajor(const Residency &res,
                             const std::function<bool(BlockId)> &fn) {
  uint64_t promptBlocks = (uint64_t(res.tokens()) + res.tokensPerBlock() - 1) /
                          res.tokensPerBlock();
  for (uint64_t k = 0; k < promptBlocks; ++k)
    for (uint32_t l = 0; l < res.layers(); ++l)
      for (uint32_t b = 0; b < res.batch(); ++b)
        if (!fn(res.blockOf(b, l, uint32_t(k * res.tokensPerBlock()))))
          return;
}

/// Static first fit of the prompt.
inline void staticFirstFit(const Residency &res, std::vector<BlockId> &hbm) {
  uint64_t cap = res.capacityBlocks();
  forEachPromptBlockTokenMajor(res, [&](BlockId b) {
    if (hbm.size() >= cap)
      return false;
    hbm.push_back(b);
    return true;
  });
}

/// Tracks HBM slots while a policy builds one step's actions (which the
/// simulator applies only after the policy returns).
class SlotBudget {
public:
  explicit SlotBudget(const Residency &res)
      : res(res), freeSlots(res.freeBlocks()), cursor(res.coldHead()) {}
  bool hasFree() const { return freeSlots > 0; }
  void take() { --freeSlots; }
  void release() { ++freeSlots; }
  /// Next cold block (least recently read first) satisfying `ok`, scanning
  /// at most `limit` list entries; kNoBlock when none.
  BlockId nextCold(const std::function<bool(BlockId)> &ok,
                   uint64_t limit = UINT64_MAX) {
    for (uint64_t seen = 0; cursor != kNoBlock && seen < limit; ++seen) {
      BlockId b = cursor;
      cursor = res.coldNext(cursor);
      if (ok(b))
        return b;
    }
    return kNoBlock;
  }

private:
  const Residency &res;
  uint64_t freeSlots;
  BlockId cursor;
};

} // namespace detail
} // namespace kvopt

#endif // KVOPT_LIB_CORE_POLICYSUPPORT_H
