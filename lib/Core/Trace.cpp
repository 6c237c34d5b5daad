//===- Trace.cpp - Trace headers, delta validation, in-memory traces -----===//
#include "kvopt/Core/Trace.h"
#include "kvopt/Core/Error.h"

#include <algorithm>

using namespace kvopt;

TraceSource::~TraceSource() = default;

llvm::Error TraceHeader::validate(const std::string &context) const {
  if (layers == 0)
    return makeFieldError(context, "layers", "must be positive");
  if (batch == 0)
    return makeFieldError(context, "batch", "must be positive");
  if (promptLen == 0)
    return makeFieldError(context, "prompt", "must be positive");
  if (decodeSteps == 0)
    return makeFieldError(context, "decode", "must be positive");
  if (uint64_t(promptLen) + decodeSteps >= UINT32_MAX)
    return makeFieldError(context, "decode",
                          "prompt + decode exceeds 32-bit token indices");
  // Bound the per-(layer, seq) state of readers and simulators.
  uint64_t chains = uint64_t(layers) * batch;
  if (chains > (uint64_t(1) << 20))
    return makeFieldError(context, "layers",
                          "layers x batch = " + std::to_string(chains) +
                              " exceeds the supported 2^20");
  return llvm::Error::success();
}

ReadSetTracker::ReadSetTracker(const TraceHeader &h) : h(h) {
  bits.resize(uint64_t(h.layers) * h.batch);
  sizes.assign(uint64_t(h.layers) * h.batch, 0);
}

bool ReadSetTracker::contains(uint32_t layer, uint32_t seq,
                              uint32_t token) const {
  const std::vector<uint64_t> &set = bits[uint64_t(seq) * h.layers + layer];
  return (token >> 6) < set.size() && ((set[token >> 6] >> (token & 63)) & 1);
}

bool ReadSetTracker::apply(const TraceRecord &rec, std::string &field,
                           std::string &message) {
  uint64_t expect = count;
  uint32_t eSeq = uint32_t(expect % h.batch);
  uint32_t eLayer = uint32_t(expect / h.batch % h.layers);
  uint32_t eStep = uint32_t(expect / h.batch / h.layers);
  if (expect >= h.recordCount()) {
    field = "record";
    message = "more records than layers x batch x decode = " +
              std::to_string(h.recordCount());
    return false;
  }
  if (rec.step != eStep || rec.layer != eLayer || rec.seq != eSeq) {
    field = rec.step != eStep ? "step" : rec.layer != eLayer ? "layer" : "seq";
    message = "expected record (step " + std::to_string(eStep) + ", layer " +
              std::to_string(eLayer) + ", seq " + std::to_string(eSeq) +
              "), got (" + std::to_string(rec.step) + ", " +
              std::to_string(rec.layer) + ", " + std::to_string(rec.seq) + ")";
    return false;
  }
  uint32_t limit = h.promptLen + rec.step;
  std::vector<uint64_t> &set = bits[uint64_t(eSeq) * h.layers + eLayer];
  auto check = [&](llvm::ArrayRef<uint32_t> list, const char *name,
                   bool wantPresent) {
    for (size_t i = 0; i < list.size(); ++i) {
      uint32_t t = list[i];
      if (t >= limit) {
        field = std::string(name) + "[" + std::to_string(i) + "]";
        message = "token index " + std::to_string(t) + " out of range: step " +
                  std::to_string(rec.step) + " may read only tokens < " +
                  std::to_string(limit);
        return false;
      }
      if (i && list[i - 1] >= t) {
        field = std::string(name) + "[" + std::to_string(i) + "]";
        message = "indices not strictly ascending (" +
                  std::to_string(list[i - 1]) + " then " + std::to_string(t) +
                  ")";
        return false;
      }
      bool present = (t >> 6) < set.size() && ((set[t >> 6] >> (t & 63)) & 1);
      if (present != wantPresent) {
        field = std::string(name) + "[" + std::to_string(i) + "]";
        message = "token " + std::to_string(t) +
                  (wantPresent ? " removed but not in the read set"
                               : " added but already in the read set");
        return false;
      }
    }
    return true;
  };
  if (!check(rec.removed, "removed", true) || !check(rec.added, "added", false))
    return false;
  for (uint32_t t : rec.removed)
    set[t >> 6] &= ~(uint64_t(1) << (t & 63));
  if (!rec.added.empty() && (rec.added.back() >> 6) >= set.size())
    set.resize((rec.added.back() >> 6) + 1, 0);
  for (uint32_t t : rec.added)
    set[t >> 6] |= uint64_t(1) << (t & 63);
  uint64_t &sz = sizes[uint64_t(eSeq) * h.layers + eLayer];
  sz = sz + rec.added.size() - rec.removed.size();
  ++count;
  return true;
}

llvm::Expected<TraceStats> kvopt::computeTraceStats(TraceSource &src) {
  TraceStats s;
  s.header = src.header();
  std::vector<uint64_t> sizes(uint64_t(s.header.layers) * s.header.batch, 0);
  TraceRecord rec;
  while (true) {
    llvm::Expected<bool> more = src.next(rec);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    uint64_t &sz = sizes[uint64_t(rec.seq) * s.header.layers + rec.layer];
    sz = sz + rec.added.size() - rec.removed.size();
    s.records++;
    s.accesses += sz;
    s.added += rec.added.size();
    s.removed += rec.removed.size();
    s.maxReadSet = std::max(s.maxReadSet, sz);
  }
  return s;
}

MemoryTrace::MemoryTrace(const TraceHeader &h, std::string name)
    : h(h), name(std::move(name)), recs(std::make_shared<std::vector<Rec>>()) {}

void MemoryTrace::append(uint32_t step, uint32_t layer, uint32_t seq,
                         std::vector<uint32_t> added,
                         std::vector<uint32_t> removed) {
  recs->push_back({step, layer, seq, std::move(added), std::move(removed)});
}

llvm::Expected<bool> MemoryTrace::next(TraceRecord &rec) {
  if (pos >= recs->size())
    return false;
  const Rec &r = (*recs)[pos++];
  rec.step = r.step;
  rec.layer = r.layer;
  rec.seq = r.seq;
  rec.added = r.added;
  rec.removed = r.removed;
  return true;
}

llvm::Expected<std::unique_ptr<TraceSource>> MemoryTrace::reopen() const {
  auto copy = std::make_unique<MemoryTrace>(h, name);
  copy->recs = recs;
  return std::unique_ptr<TraceSource>(std::move(copy));
}

llvm::Expected<std::unique_ptr<MemoryTrace>> MemoryTrace::fromFullSets(
    const TraceHeader &h,
    const std::vector<std::vector<std::vector<uint32_t>>> &sets) {
  if (auto e = h.validate("full-set trace"))
    return std::move(e);
  if (sets.size() != h.decodeSteps)
    return makeFieldError("full-set trace", "steps",
                          "got " + std::to_string(sets.size()) +
                              " steps, header says " +
                              std::to_string(h.decodeSteps));
  auto trace = std::make_unique<MemoryTrace>(h, "full-set trace");
  std::vector<std::vector<uint32_t>> prev(uint64_t(h.layers) * h.batch);
  ReadSetTracker tracker(h);
  for (uint32_t i = 0; i < h.decodeSteps; ++i) {
    if (sets[i].size() != uint64_t(h.layers) * h.batch)
      return makeFieldError("full-set trace",
                            "steps[" + std::to_string(i) + "]",
                            "expected layers x batch lists");
    for (uint32_t l = 0; l < h.layers; ++l)
      for (uint32_t b = 0; b < h.batch; ++b) {
        std::vector<uint32_t> cur = sets[i][uint64_t(l) * h.batch + b];
        std::sort(cur.begin(), cur.end());
        cur.erase(std::unique(cur.begin(), cur.end()), cur.end());
        std::vector<uint32_t> &old = prev[uint64_t(b) * h.layers + l];
        std::vector<uint32_t> add, rem;
        std::set_difference(cur.begin(), cur.end(), old.begin(), old.end(),
                            std::back_inserter(add));
        std::set_difference(old.begin(), old.end(), cur.begin(), cur.end(),
                            std::back_inserter(rem));
        TraceRecord rec{i, l, b, add, rem};
        std::string field, msg;
        if (!tracker.apply(rec, field, msg))
          return makeFieldError("full-set trace",
                                "steps[" + std::to_string(i) + "][" +
                                    std::to_string(l) + "]." + field,
                                msg);
        trace->append(i, l, b, std::move(add), std::move(rem));
        old = std::move(cur);
      }
  }
  return trace;
}

llvm::Expected<std::unique_ptr<MemoryTrace>>
MemoryTrace::materialize(TraceSource &src) {
  auto trace = std::make_unique<MemoryTrace>(src.header(), src.describe());
  TraceRecord rec;
  while (true) {
    llvm::Expected<bool> more = src.next(rec);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    trace->append(rec.step, rec.layer, rec.seq, rec.added.vec(),
                  rec.removed.vec());
  }
  return trace;
}
