//===- BlockAccesses.cpp - Per-block read-count changes of a trace --------===//
//
// Two streaming passes: count events per block (validating the deltas with
// the core's ReadSetTracker), then place them. Within a block, events arrive
// in step order because records do.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Simulator.h"

using namespace kvopt;
using namespace kvopt::solver;

llvm::Expected<BlockAccesses>
BlockAccesses::build(const TraceSource &trace, const Workload &work,
                     const ProgressFn &progress) {
  const TraceHeader &h = trace.header();
  if (auto e = checkTraceMatchesWorkload(h, work, trace.describe()))
    return std::move(e);
  if (h.decodeSteps >= (1u << 31))
    return makeFieldError(trace.describe(), "decode",
                          "more than 2^31 decode steps");
  BlockAccesses a;
  a.nLayers = h.layers;
  a.nBatch = h.batch;
  a.prompt = h.promptLen;
  a.decode = h.decodeSteps;
  a.blockTokens = work.tokensPerBlock;
  a.perSeqLayer = work.blocksPerSeqLayer();
  const uint64_t nBlocks = uint64_t(h.batch) * h.layers * a.perSeqLayer;
  if (nBlocks >= uint64_t(kNoBlock))
    return makeFieldError(trace.describe(), "blocks",
                          std::to_string(nBlocks) +
                              " blocks do not fit 32-bit block ids");
  auto blockOf = [&](const TraceRecord &rec, uint32_t token) {
    return (uint64_t(rec.seq) * a.nLayers + rec.layer) * a.perSeqLayer +
           token / a.blockTokens;
  };
  const uint64_t records = h.recordCount();
  auto report = [&](const char *phase, uint64_t done) {
    if (progress && (done & 0xfff) == 0)
      progress(phase, double(done) / double(records));
  };

  // Pass 1: validate and count.
  std::vector<uint64_t> counts(nBlocks + 1, 0);
  {
    auto src = trace.reopen();
    if (!src)
      return src.takeError();
    ReadSetTracker tracker(h);
    TraceRecord rec;
    std::string field, message;
    for (uint64_t n = 0;; ++n) {
      auto more = (*src)->next(rec);
      if (!more)
        return more.takeError();
      if (!*more) {
        if (n != records)
          return makeFieldError(trace.describe(), "record",
                                "trace ended after " + std::to_string(n) +
                                    " of " + std::to_string(records) +
                                    " records");
        break;
      }
      if (!tracker.apply(rec, field, message))
        return makeFieldError(trace.describe(), field, message);
      for (uint32_t t : rec.added)
        ++counts[blockOf(rec, t)];
      for (uint32_t t : rec.removed)
        ++counts[blockOf(rec, t)];
      a.nAccesses += tracker.size(rec.layer, rec.seq);
      report("indexing trace (1/2)", n);
    }
  }
  a.offsets.assign(nBlocks + 1, 0);
  for (uint64_t b = 0; b < nBlocks; ++b)
    a.offsets[b + 1] = a.offsets[b] + counts[b];
  a.events.resize(a.offsets[nBlocks]);
  // Pass 2: place (counts[] becomes the fill cursor).
  for (uint64_t b = 0; b < nBlocks; ++b)
    counts[b] = a.offsets[b];
  {
    auto src = trace.reopen();
    if (!src)
      return src.takeError();
    TraceRecord rec;
    for (uint64_t n = 0;; ++n) {
      auto more = (*src)->next(rec);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      uint32_t base = rec.step << 1;
      for (uint32_t t : rec.removed)
        a.events[counts[blockOf(rec, t)]++] = base;
      for (uint32_t t : rec.added)
        a.events[counts[blockOf(rec, t)]++] = base | 1;
      report("indexing trace (2/2)", n);
    }
  }
  if (progress)
    progress("indexing trace (2/2)", 1.0);
  return std::move(a);
}
