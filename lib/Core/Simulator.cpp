//===- Simulator.cpp - Exact streaming simulation of a policy ------------===//
//
// Per record: apply the delta to the residency (hits follow incrementally),
// ask the policy, apply its actions, append the new token; per (step,
// layer): price the step with TimeModel::stepTime. O(changes + actions).
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/Error.h"

#include <algorithm>

namespace kvopt {

llvm::Error checkTraceMatchesWorkload(const TraceHeader &h, const Workload &w,
                                      const std::string &traceName) {
  auto mismatch = [&](const char *field, uint64_t got, uint64_t want) {
    return makeFieldError(traceName, field,
                          "trace has " + std::to_string(got) +
                              " but the workload ('" + w.model.name +
                              "') has " + std::to_string(want));
  };
  if (h.layers != w.model.layers)
    return mismatch("layers", h.layers, w.model.layers);
  if (h.batch != w.batch)
    return mismatch("batch", h.batch, w.batch);
  if (h.promptLen != w.promptLen)
    return mismatch("prompt", h.promptLen, w.promptLen);
  if (h.decodeSteps != w.decodeSteps)
    return mismatch("decode", h.decodeSteps, w.decodeSteps);
  return llvm::Error::success();
}

/// Drives one run; a friend of Residency.
class Simulator {
public:
  Simulator(TraceSource &trace, const Problem &problem, Policy &policy,
            const SimOptions &options)
      : trace(trace), problem(problem), policy(policy), options(options),
        work(problem.work), h(trace.header()),
        res(h.layers, h.batch, work.tokensPerBlock, work.blocksPerSeqLayer(),
            policy.ignoresCapacity() ? UINT64_MAX : problem.capacityBlocks,
            policy.features(), layerWindows(problem.work)),
        ctx{problem, trace, res} {}

  llvm::Expected<SimMetrics> run() {
    if (auto e = checkTraceMatchesWorkload(h, work, trace.describe()))
      return std::move(e);
    if (auto e = initialize())
      return std::move(e);
    TraceRecord rec;
    StepActions act;
    StepCounts counts;
    const uint64_t perStep = uint64_t(h.layers) * h.batch;
    for (uint64_t index = 0;; ++index) {
      llvm::Expected<bool> more = trace.next(rec);
      if (!more)
        return more.takeError();
      if (!*more) {
        if (index != h.recordCount())
          return makeFieldError(trace.describe(), "record",
                                "trace ended after " + std::to_string(index) +
                                    " of " + std::to_string(h.recordCount()) +
                                    " records");
        break;
      }
      if (index >= h.recordCount())
        return makeFieldError(trace.describe(), "record",
                              "more records than the header's " +
                                  std::to_string(h.recordCount()));
      if (auto e = applyDelta(index, rec))
        return std::move(e);
      counts.reads += res.readSetSize(rec.seq, rec.layer);
      counts.hits += res.hits(rec.seq, rec.layer);
      if (auto e = decide(rec, act, counts))
        return std::move(e);
      res.appendToken(rec.seq, rec.layer);
      if ((index + 1) % h.batch == 0)
        finishStep(rec.step, rec.layer, counts);
      if ((index + 1) % perStep == 0)
        res.setTokens(h.promptLen + rec.step + 1);
    }
    return finish();
  }

private:
  static std::vector<uint32_t> layerWindows(const Workload &w) {
    std::vector<uint32_t> out(w.model.layers);
    for (uint32_t l = 0; l < w.model.layers; ++l)
      out[l] = w.windowOf(l);
    return out;
  }

  std::string where(const TraceRecord &rec) const {
    return "step " + std::to_string(rec.step) + ", layer " +
           std::to_string(rec.layer) + ", seq " + std::to_string(rec.seq);
  }

  llvm::Error policyError(const std::string &field, const std::string &msg) {
    return makeFieldError("policy '" + policy.name() + "'", field, msg);
  }

  llvm::Error initialize() {
    res.setTokens(h.promptLen);
    for (uint32_t b = 0; b < h.batch; ++b)
      for (uint32_t l = 0; l < h.layers; ++l)
        res.killBelow(b, l, work.deadBlocksAt(l, 0));
    std::vector<BlockId> hbm;
    if (auto e = policy.initialize(ctx, hbm))
      return e;
    for (BlockId b : hbm) {
      // A block whose tokens precede its layer's window at the first step
      // is dropped before decoding, at no cost, like every dead block.
      if (b < res.totalBlocks() && res.isDead(b))
        continue;
      if (b >= res.totalBlocks() || !res.exists(b))
        return policyError("initial_hbm", "block " + std::to_string(b) +
                                              " holds no prompt token");
      if (res.inHbm(b))
        return policyError("initial_hbm",
                           "block " + std::to_string(b) + " listed twice");
      res.moveToHbm(b);
    }
    if (res.hbmBlocks() > res.capacityBlocks())
      return policyError("initial_hbm",
                         std::to_string(res.hbmBlocks()) +
                             " blocks exceed the HBM capacity of " +
                             std::to_string(res.capacityBlocks()));
    peak = res.hbmBlocks();
    return llvm::Error::success();
  }

  llvm::Error applyDelta(uint64_t index, const TraceRecord &rec) {
    uint32_t eSeq = uint32_t(index % h.batch);
    uint32_t eLayer = uint32_t(index / h.batch % h.layers);
    uint32_t eStep = uint32_t(index / h.batch / h.layers);
    if (rec.step != eStep || rec.layer != eLayer || rec.seq != eSeq)
      return makeFieldError(trace.describe(), "record",
                            "expected (step " + std::to_string(eStep) +
                                ", layer " + std::to_string(eLayer) + ", seq " +
                                std::to_string(eSeq) + "), got (" + where(rec) +
                                ")");
    const uint32_t limit = h.promptLen + rec.step;
    const uint32_t windowStart = work.windowStart(rec.layer, rec.step);
    for (size_t i = 0; i < rec.removed.size(); ++i) {
      uint32_t t = rec.removed[i];
      if (t >= limit || !res.isRead(rec.seq, rec.layer, t))
        return makeFieldError(trace.describe(),
                              "removed[" + std::to_string(i) + "]",
                              "token " + std::to_string(t) +
                                  " is not in the read set at " + where(rec));
      res.removeRead(rec.seq, rec.layer, t);
    }
    for (size_t i = 0; i < rec.added.size(); ++i) {
      uint32_t t = rec.added[i];
      if (t >= limit)
        return makeFieldError(
            trace.describe(), "added[" + std::to_string(i) + "]",
            "token index " + std::to_string(t) + " out of range (< " +
                std::to_string(limit) + ") at " + where(rec));
      if (t < windowStart)
        return makeFieldError(
            trace.describe(), "added[" + std::to_string(i) + "]",
            "token " + std::to_string(t) + " is outside layer " +
                std::to_string(rec.layer) + "'s " +
                std::to_string(work.windowOf(rec.layer)) +
                "-token window (first readable token " +
                std::to_string(windowStart) + ") at " + where(rec));
      if (res.isRead(rec.seq, rec.layer, t))
        return makeFieldError(
            trace.describe(), "added[" + std::to_string(i) + "]",
            "token " + std::to_string(t) + " is already in the read set at " +
                where(rec));
      res.addRead(rec.seq, rec.layer, t);
    }
    // Blocks whose tokens all left the window die now, at no cost.
    BlockId still = res.killBelow(rec.seq, rec.layer,
                                  work.deadBlocksAt(rec.layer, rec.step));
    if (still != kNoBlock)
      return makeFieldError(
          trace.describe(), "removed",
          "block " + std::to_string(still) + " left layer " +
              std::to_string(rec.layer) + "'s " +
              std::to_string(work.windowOf(rec.layer)) +
              "-token window but " + std::to_string(res.readCount(still)) +
              " of its tokens are still in the read set at " + where(rec));
    if (windowStart > 0 && windowStart - 1 < limit &&
        res.isRead(rec.seq, rec.layer, windowStart - 1))
      return makeFieldError(trace.describe(), "removed",
                            "token " + std::to_string(windowStart - 1) +
                                " left layer " + std::to_string(rec.layer) +
                                "'s " +
                                std::to_string(work.windowOf(rec.layer)) +
                                "-token window but is still in the read "
                                "set at " + where(rec));
    return llvm::Error::success();
  }

  llvm::Error decide(const TraceRecord &rec, StepActions &act,
                     StepCounts &counts) {
    StepInfo info;
    info.step = rec.step;
    info.token = h.promptLen + rec.step;
    info.layer = rec.layer;
    info.seq = rec.seq;
    info.record = &rec;
    info.newBlock = res.blockOf(rec.seq, rec.layer, info.token);
    info.opensBlock = info.token % work.tokensPerBlock == 0;
    act.clear();
    if (auto e = policy.step(ctx, info, act))
      return e;
    for (BlockId b : act.demote) {
      if (b >= res.totalBlocks() || !res.exists(b) || !res.inHbm(b))
        return policyError("demote", "block " + std::to_string(b) +
                                         (b < res.totalBlocks() && res.exists(b)
                                              ? " is not in HBM"
                                              : " does not exist") +
                                         " at " + where(rec));
      counts.demotions += res.entriesIn(b);
      res.moveToDram(b);
      ++metrics.demotedBlocks;
    }
    bool newInHbm =
        info.opensBlock ? act.newBlockInHbm : res.inHbm(info.newBlock);
    if (info.opensBlock && act.newBlockInHbm)
      res.moveToHbm(info.newBlock);
    if (newInHbm)
      ++counts.appendsHbm;
    else
      ++counts.appendsDram;
    for (BlockId b : act.promote) {
      if (b >= res.totalBlocks() || !res.exists(b) || res.inHbm(b))
        return policyError("promote",
                           "block " + std::to_string(b) +
                               (b < res.totalBlocks() && res.exists(b)
                                    ? " is already in HBM"
                                    : " does not exist") +
                               " at " + where(rec));
      counts.promotions += res.entriesIn(b);
      res.moveToHbm(b);
      ++metrics.promotedBlocks;
    }
    if (res.hbmBlocks() > res.capacityBlocks())
      return policyError("capacity", std::to_string(res.hbmBlocks()) +
                                         " HBM blocks exceed the capacity of " +
                                         std::to_string(res.capacityBlocks()) +
                                         " at " + where(rec));
    peak = std::max<uint64_t>(peak, res.hbmBlocks());
    return llvm::Error::success();
  }

  void finishStep(uint32_t step, uint32_t layer, StepCounts &counts) {
    StepTime t = problem.model.stepTime(counts);
    metrics.totalSeconds += t.seconds;
    metrics.reads += counts.reads;
    metrics.hits += counts.hits;
    metrics.bytes += t.bytes;
    metrics.promotedEntries += counts.promotions;
    metrics.demotedEntries += counts.demotions;
    metrics.appendsHbm += counts.appendsHbm;
    metrics.appendsDram += counts.appendsDram;
    alphaSum += t.paperAlpha;
    hitBytesFromHbm += t.hitBytesFromHbm;
    metrics.bottleneckSteps[size_t(t.bottleneck)]++;
    metrics.steps++;
    if (options.onStep) {
      StepResult r;
      r.step = step;
      r.layer = layer;
      r.counts = counts;
      r.time = t;
      r.hbmBlocks = res.hbmBlocks();
      options.onStep(r);
    }
    counts = StepCounts();
  }

  llvm::Expected<SimMetrics> finish() {
    SimMetrics &m = metrics;
    m.policy = policy.name();
    m.decodedTokens = uint64_t(h.decodeSteps) * h.batch;
    m.tokensPerSecond =
        m.totalSeconds > 0 ? m.decodedTokens / m.totalSeconds : 0;
    m.kvHitRate = m.reads ? double(m.hits) / double(m.reads) : 1.0;
    const TimeModelParams &p = problem.model.params();
    double weights = p.weightBytesPerStep * double(m.steps);
    m.servedBytes = weights + double(m.reads) * p.entryBytes;
    m.byteHitRate =
        m.servedBytes > 0 ? (weights + hitBytesFromHbm) / m.servedBytes : 1.0;
    m.paperAlphaMean = m.steps ? alphaSum / double(m.steps) : 0;
    m.aggregateUtilisation =
        m.totalSeconds > 0
            ? m.servedBytes /
                  (m.totalSeconds * problem.model.peakAggregateReadBandwidth())
            : 0;
    m.peakHbmBlocks = peak;
    m.peakHbmBytes = double(peak) * double(work.blockBytes());
    m.capacityBlocks = problem.capacityBlocks;
    return m;
  }

  TraceSource &trace;
  const Problem &problem;
  Policy &policy;
  const SimOptions &options;
  const Workload &work;
  TraceHeader h;
  Residency res;
  SimContext ctx;
  SimMetrics metrics;
  uint64_t peak = 0;
  double alphaSum = 0, hitBytesFromHbm = 0;
};

llvm::Expected<SimMetrics> simulate(TraceSource &trace, const Problem &problem,
                                    Policy &policy, const SimOptions &options) {
  // Check the shape before sizing the residency from it.
  if (auto e = checkTraceMatchesWorkload(trace.header(), problem.work,
                                         trace.describe()))
    return std::move(e);
  Simulator sim(trace, problem, policy, options);
  return sim.run();
}

} // namespace kvopt
