//===- BlockAccesses.cpp - Per-block read-count changes of a trace --------===//
//
// Two streaming passes: count events per block (validating the deltas with
// the core's ReadSetTracker), then place them. Within a block, events arrive
// in step order because records do.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/ToolHandlers.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Simulator.h"

#include <memory>

using namespace kvopt;
using namespace kvopt::solver;


namespace {
constexpr uint64_t kChunk = uint64_t(1) << 20;

/// An append-only buffer of 32-bit words in fixed chunks (no reallocation
/// copies, no growth slack beyond one chunk). Chunks are not zeroed: every
/// word is written before it is read.
struct ChunkBuffer {
  std::vector<std::unique_ptr<uint32_t[]>> chunks;
  uint64_t size = 0;
  void push(uint32_t v) {
    if (size % kChunk == 0)
      chunks.push_back(std::unique_ptr<uint32_t[]>(new uint32_t[kChunk]));
    chunks.back()[size % kChunk] = v;
    ++size;
  }
  template <typename F> void forEach(F f) const {
    for (uint64_t i = 0; i < size; ++i)
      f(chunks[i / kChunk][i % kChunk]);
  }
};
} // namespace

/// Streams a fresh copy of `trace`, checks every record's deltas with the
/// core's ReadSetTracker and that the trace has all its records, and calls
/// `visit(record, index, tracker)` for each.
template <typename F>
static llvm::Error forEachValidRecord(const TraceSource &trace, F visit) {
  const uint64_t records = trace.header().recordCount();
  auto src = trace.reopen();
  if (!src)
    return src.takeError();
  ReadSetTracker tracker(trace.header());
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
      return llvm::Error::success();
    }
    if (!tracker.apply(rec, field, message))
      return makeFieldError(trace.describe(), field, message);
    visit(rec, n, tracker);
  }
}

llvm::Expected<BlockAccesses>
BlockAccesses::buildOnePass(const TraceSource &trace, BlockAccesses a,
                            const ProgressFn &progress) {
  const TraceHeader &h = trace.header();
  const uint64_t records = h.recordCount();
  const uint64_t keys = uint64_t(h.layers) * h.batch;
  std::vector<ChunkBuffer> buf(keys);
  // Block of a token: a shift for power-of-two block sizes (one per event).
  const uint32_t T = a.blockTokens;
  const uint32_t shift =
      T && (T & (T - 1)) == 0 ? uint32_t(__builtin_ctz(T)) : 32;
  auto blockIndex = [&](uint32_t t) {
    return shift < 32 ? t >> shift : t / T;
  };
  if (llvm::Error err = forEachValidRecord(
          trace, [&](const TraceRecord &rec, uint64_t n,
                     const ReadSetTracker &tracker) {
            ChunkBuffer &b = buf[uint64_t(rec.seq) * a.nLayers + rec.layer];
            uint32_t base = rec.step << 1;
            for (uint32_t t : rec.removed)
              b.push((blockIndex(t) << 16) | base);
            for (uint32_t t : rec.added)
              b.push((blockIndex(t) << 16) | base | 1);
            a.nAccesses += tracker.size(rec.layer, rec.seq);
            a.perStep[rec.step] += tracker.size(rec.layer, rec.seq);
            if (progress && (n & 0xfff) == 0)
              progress("indexing trace", double(n) / double(records));
          }))
    return std::move(err);
  const uint64_t K = a.perSeqLayer;
  a.offsets.assign(keys * K + 1, 0);
  for (uint64_t key = 0; key < keys; ++key)
    buf[key].forEach([&](uint32_t v) { ++a.offsets[key * K + (v >> 16) + 1]; });
  for (uint64_t b = 0; b < keys * K; ++b)
    a.offsets[b + 1] += a.offsets[b];
  // The rows of one (layer, seq) are contiguous: reserve the whole index
  // (no page is touched yet) and grow it one (layer, seq) at a time while
  // that key's buffers are freed, so the buffered events and the index
  // are never both resident (peak about one copy, not two).
  //
  // Each key's events are placed in two stable passes: first grouped by
  // bucket of 2^kBucketShift consecutive blocks (few output streams) into
  // the key's part of the index, where each bucket lands on its own rows;
  // then each bucket, copied out (about a cache's worth), scattered to its
  // blocks' rows. Scattering straight into all the rows of a key missed
  // the caches at nearly every event. Both passes keep the events' order,
  // so every row holds its events in the same (step) order as a direct
  // scatter would.
  constexpr uint32_t kBucketShift = 8;
  const uint64_t buckets = (K >> kBucketShift) + 1;
  a.events.reserve(a.offsets[keys * K]);
  std::vector<uint64_t> bucketCur(buckets);
  std::vector<uint32_t> bucket;
  for (uint64_t key = 0; key < keys; ++key) {
    const uint64_t *row = a.offsets.data() + key * K;
    a.events.resize(a.offsets[(key + 1) * K]);
    uint32_t *ev = a.events.data();
    auto bucketBegin = [&](uint64_t k) {
      return row[std::min<uint64_t>(k << kBucketShift, K)];
    };
    for (uint64_t k = 0; k < buckets; ++k)
      bucketCur[k] = bucketBegin(k);
    buf[key].forEach([&](uint32_t v) {
      ev[bucketCur[v >> (16 + kBucketShift)]++] = v;
    });
    buf[key] = ChunkBuffer();
    for (uint64_t k = 0; k < buckets; ++k) {
      bucket.assign(ev + bucketBegin(k), ev + bucketBegin(k + 1));
      uint64_t first = std::min<uint64_t>(k << kBucketShift, K);
      uint64_t cur[1u << kBucketShift];
      uint64_t n = std::min<uint64_t>(K, (k + 1) << kBucketShift) - first;
      for (uint64_t i = 0; i < n; ++i)
        cur[i] = row[first + i];
      for (uint32_t v : bucket)
        ev[cur[(v >> 16) - first]++] = v & 0xffff;
    }
  }
  if (progress)
    progress("indexing trace", 1.0);
  return std::move(a);
}

llvm::Expected<BlockAccesses>
BlockAccesses::build(const TraceSource &trace, const Workload &work,
                     const ProgressFn &progress) {
  const TraceHeader &h = trace.header();
  if (auto e = checkTraceMatchesWorkload(h, work, trace.describe()))
    return std::move(e);
  if (h.decodeSteps >= (1u << 31))
    return makeFieldError(trace.describe(), "decode",
                          "more than 2^31 decode steps");
  // What indexing needs, estimated before anything is allocated and
  // refused above --max-memory: the index (row offsets, counts and a
  // cursor per block, at least one event per block), the read-set tracker
  // (a bit per token) and the stream's own read sets (a token id per token
  // for generators and the text reader).
  {
    long double blocks =
        (long double)h.batch * h.layers * work.blocksPerSeqLayer();
    long double tokens = (long double)h.batch * h.layers *
                         ((long double)h.promptLen + h.decodeSteps);
    long double need =
        (blocks + 1) * 28 + 8.0L * h.decodeSteps + tokens / 8 + tokens * 4;
    uint64_t bytes = need > 1.8e19L ? UINT64_MAX : uint64_t(need);
    if (auto e = checkMemoryEstimate(
            bytes, "indexing the trace (" +
                       std::to_string(uint64_t(blocks)) + " blocks, " +
                       std::to_string(uint64_t(tokens)) + " tokens; " +
                       trace.describe() + ")"))
      return std::move(e);
  }
  Activity activity("the trace index");
  BlockAccesses a;
  a.nLayers = h.layers;
  a.nBatch = h.batch;
  a.prompt = h.promptLen;
  a.decode = h.decodeSteps;
  a.blockTokens = work.tokensPerBlock;
  a.perSeqLayer = work.blocksPerSeqLayer();
  a.perStep.assign(h.decodeSteps, 0);
  for (uint32_t l = 0; l < h.layers; ++l)
    a.windows.push_back(work.windowOf(l));
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

  // One pass when an event packs into 32 bits with its block index within
  // its (layer, seq): (k << 16) | (step << 1) | isAdd. Events are buffered
  // per (layer, seq) in fixed chunks, then scattered into compressed rows;
  // otherwise two passes over the trace (count, then place).
  if (a.perSeqLayer <= (1u << 16) && h.decodeSteps <= (1u << 15))
    return buildOnePass(trace, std::move(a), progress);
  // Pass 1: validate and count.
  std::vector<uint64_t> counts(nBlocks + 1, 0);
  if (llvm::Error err = forEachValidRecord(
          trace, [&](const TraceRecord &rec, uint64_t n,
                     const ReadSetTracker &tracker) {
            for (uint32_t t : rec.added)
              ++counts[blockOf(rec, t)];
            for (uint32_t t : rec.removed)
              ++counts[blockOf(rec, t)];
            a.nAccesses += tracker.size(rec.layer, rec.seq);
            a.perStep[rec.step] += tracker.size(rec.layer, rec.seq);
            report("indexing trace (1/2)", n);
          }))
    return std::move(err);
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
