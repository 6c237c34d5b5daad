//===- Policies.h - Baseline placement policies -----------------*- C++ -*-===//
//
// The baselines every plan is compared with. Online policies see only the
// past; oracles read the future of the trace (reopen()).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_POLICIES_H
#define KVOPT_CORE_POLICIES_H

#include "kvopt/Core/Policy.h"

#include <memory>
#include <string>
#include <vector>

namespace kvopt {

/// Every block in HBM, capacity ignored (the time with infinite HBM).
std::unique_ptr<Policy> createUnlimitedPolicy();
/// Every block in DRAM (HBM holds only weights).
std::unique_ptr<Policy> createAllDramPolicy();
/// The seed's Static: prompt blocks first-fit token-major (token outer,
/// layer, sequence inner) until HBM is full; a new block goes to HBM while
/// space remains; nothing ever moves.
std::unique_ptr<Policy> createStaticPolicy();
/// Static bandwidth-proportional split: in every (seq, layer) a fraction f =
/// min(capacity share, B_hbm / (B_hbm + min(B_dram, B_h2d))) of blocks,
/// interleaved evenly by index, lives in HBM; new blocks follow the same
/// pattern while space remains; nothing moves.
std::unique_ptr<Policy> createStaticSplitPolicy();
/// Reactive: every read block found in DRAM is promoted at the step it is
/// missed, evicting the least recently read HBM block that is not being read
/// now (never a block of the current read set); new blocks go to HBM,
/// evicting the same way. Initial placement as Static.
std::unique_ptr<Policy> createReactiveLruPolicy();
/// The seed's Reactive with its quirks, for paper-mode comparisons: first
/// future read decides the initial placement, every miss is promoted, and a
/// full HBM makes it evict every block of the missing layer at once.
std::unique_ptr<Policy> createSeedReactivePolicy();
/// Page-granularity oracle (Quest-like): knows the next step's read set of
/// the same layer and prefetches every block it needs that is in DRAM,
/// evicting least recently read blocks that the next step does not need.
/// Meant for tokensPerBlock = 16.
std::unique_ptr<Policy> createPageOraclePolicy();
/// The seed's lookahead oracle, with its two knobs: at each step the DRAM
/// blocks read in the next step are candidates; ceil(fraction x count) of
/// them are promoted, evicting least recently read HBM blocks not read in
/// any of the next `window` steps. New blocks go to HBM if free or if a
/// victim exists. With SA (Annealing.h) this is the seed's SA-guided policy.
std::unique_ptr<Policy> createLookaheadPolicy(uint32_t window, double fraction);
/// Belady-style oracle (MIN with one-step prefetch): before each step,
/// promote the blocks read next step that are in DRAM, evicting the HBM
/// block whose next read is furthest in the future, but only when it is
/// read later than the promoted one. Needs the whole future: it
/// materialises the trace's busy intervals (memory O(changes)); traces with
/// more than `maxIntervals` intervals are refused with an error.
std::unique_ptr<Policy> createBeladyPolicy(uint64_t maxIntervals = 200000000);

/// Names accepted by createPolicyByName, in report order.
std::vector<std::string> listPolicyNames();
/// "unlimited", "all-dram", "static", "static-split", "reactive",
/// "reactive-seed", "page", "lookahead" (window 5, fraction 0.5), "belady".
llvm::Expected<std::unique_ptr<Policy>>
createPolicyByName(const std::string &name, uint32_t window = 5,
                   double fraction = 0.5);

} // namespace kvopt

#endif // KVOPT_CORE_POLICIES_H
