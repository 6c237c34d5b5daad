//===- Trace.h - Streaming access traces as read-set deltas -----*- C++ -*-===//
//
// An access trace says, for every decode step i (absolute token n = prompt +
// i), layer l and sequence b, which earlier tokens' KV entries attention
// reads. Top-k read sets persist from step to step, so a trace is a stream of
// deltas: per (i, l, b), the tokens added to and removed from that read set
// relative to step i-1 of the same (l, b) (step 0: against the empty set).
// Records arrive in order i outer, l, b inner. Consumers keep the state.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_TRACE_H
#define KVOPT_CORE_TRACE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kvopt {

/// Shape of a trace.
struct TraceHeader {
  uint32_t layers = 0;
  uint32_t batch = 1;
  uint32_t promptLen = 0;
  uint32_t decodeSteps = 0;

  uint64_t recordCount() const {
    return uint64_t(layers) * batch * decodeSteps;
  }
  bool operator==(const TraceHeader &o) const {
    return layers == o.layers && batch == o.batch && promptLen == o.promptLen &&
           decodeSteps == o.decodeSteps;
  }
  /// Check nonzero sizes and that prompt + decode fits 32-bit token indices.
  llvm::Error validate(const std::string &context) const;
};

/// One (step, layer, sequence) delta. `added` and `removed` are strictly
/// ascending, disjoint, and every index is < promptLen + step.
struct TraceRecord {
  uint32_t step = 0;
  uint32_t layer = 0;
  uint32_t seq = 0;
  llvm::ArrayRef<uint32_t> added;
  llvm::ArrayRef<uint32_t> removed;
};

/// A forward-only stream of records.
class TraceSource {
public:
  virtual ~TraceSource();
  virtual const TraceHeader &header() const = 0;
  /// Produce the next record into `rec` (its arrays stay valid until the next
  /// call). Returns false after the last record, an error on bad input.
  virtual llvm::Expected<bool> next(TraceRecord &rec) = 0;
  /// A fresh, independent stream over the same trace from the beginning
  /// (oracle policies read ahead with it).
  virtual llvm::Expected<std::unique_ptr<TraceSource>> reopen() const = 0;
  /// Where the trace comes from (file name or generator parameters).
  virtual std::string describe() const = 0;
};

/// Checks the delta invariants of a stream against the read-set state of
/// every (layer, seq): sorted, in range, adds not already present, removes
/// present. Used by the readers and the simulator.
class ReadSetTracker {
public:
  explicit ReadSetTracker(const TraceHeader &h);
  /// Check `rec` is the expected next record and apply it. On failure returns
  /// a message naming the field ("added[3]", "step"...) in `field`.
  bool apply(const TraceRecord &rec, std::string &field, std::string &message);
  bool contains(uint32_t layer, uint32_t seq, uint32_t token) const;
  uint64_t size(uint32_t layer, uint32_t seq) const {
    return sizes[uint64_t(seq) * h.layers + layer];
  }
  /// Number of records applied so far.
  uint64_t applied() const { return count; }

private:
  TraceHeader h;
  /// One bitset per (seq, layer), grown on demand up to the largest index
  /// seen, so memory follows the data rather than the header's claims.
  std::vector<std::vector<uint64_t>> bits;
  std::vector<uint64_t> sizes;
  uint64_t count = 0;
};

/// Summary statistics of a trace (one full pass).
struct TraceStats {
  TraceHeader header;
  uint64_t records = 0;
  uint64_t accesses = 0; ///< sum of read-set sizes over all records
  uint64_t added = 0, removed = 0;
  uint64_t maxReadSet = 0;
};
llvm::Expected<TraceStats> computeTraceStats(TraceSource &src);

/// A materialised trace (tests, small traces). Memory grows with the number
/// of changes, not accesses.
class MemoryTrace : public TraceSource {
public:
  explicit MemoryTrace(const TraceHeader &h, std::string name = "memory");
  /// Append the next record (must follow the record order).
  void append(uint32_t step, uint32_t layer, uint32_t seq,
              std::vector<uint32_t> added, std::vector<uint32_t> removed);
  /// Build from full read sets: sets[i][l*batch+b] lists the tokens read.
  static llvm::Expected<std::unique_ptr<MemoryTrace>>
  fromFullSets(const TraceHeader &h,
               const std::vector<std::vector<std::vector<uint32_t>>> &sets);
  /// Read a whole source into memory.
  static llvm::Expected<std::unique_ptr<MemoryTrace>>
  materialize(TraceSource &src);

  const TraceHeader &header() const override { return h; }
  llvm::Expected<bool> next(TraceRecord &rec) override;
  llvm::Expected<std::unique_ptr<TraceSource>> reopen() const override;
  std::string describe() const override { return name; }
  uint64_t size() const { return recs->size(); }

private:
  struct Rec {
    uint32_t step, layer, seq;
    std::vector<uint32_t> added, removed;
  };
  TraceHeader h;
  std::string name;
  /// Shared by reopened copies; append() only before the first reopen().
  std::shared_ptr<std::vector<Rec>> recs;
  uint64_t pos = 0;
};

} // namespace kvopt

#endif // KVOPT_CORE_TRACE_H
