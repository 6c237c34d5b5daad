//===- TraceBinary.cpp - The KVTRACE1 binary trace format ----------------===//
//
// Layout in TraceIO.h and docs/traces.md. The reader never holds more than
// one record; every failure names file, byte offset and field.
//
//===----------------------------------------------------------------------===//
#include "ByteStream.h"

#include "kvopt/Core/Error.h"
#include "kvopt/Core/TraceIO.h"

#include <array>
#include <cstring>
#include <fstream>

using namespace kvopt;
using detail::ByteStream;

static const char kMagic[8] = {'K', 'V', 'T', 'R', 'A', 'C', 'E', '\0'};
static constexpr uint32_t kVersion = 1;
static constexpr uint32_t kHeaderBytes = 36;
/// Largest payload accepted; far above any real record (a 4M-token list).
static constexpr uint64_t kMaxPayload = uint64_t(1) << 26;

uint32_t kvopt::crc32(const void *data, size_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const unsigned char *p = static_cast<const unsigned char *>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static void putU32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(char((v >> (8 * i)) & 0xff));
}
static uint32_t getU32(const unsigned char *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}
static void putVarint(std::string &out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}

namespace {

/// Encodes records; shared by the file and the in-memory writers.
class Encoder {
public:
  static std::string header(const TraceHeader &h) {
    std::string out(kMagic, 8);
    putU32(out, kVersion);
    putU32(out, h.layers);
    putU32(out, h.batch);
    putU32(out, h.promptLen);
    putU32(out, h.decodeSteps);
    putU32(out, 0);
    putU32(out, crc32(out.data(), out.size()));
    return out;
  }
  void record(const TraceRecord &rec, std::string &out) {
    payload.clear();
    putVarint(payload, rec.added.size());
    putVarint(payload, rec.removed.size());
    for (llvm::ArrayRef<uint32_t> list : {rec.added, rec.removed}) {
      uint64_t prev = 0;
      for (size_t i = 0; i < list.size(); ++i) {
        putVarint(payload, i ? list[i] - prev - 1 : list[i]);
        prev = list[i];
      }
    }
    putVarint(out, payload.size());
    out += payload;
    putU32(out, crc32(payload.data(), payload.size()));
  }

private:
  std::string payload;
};

class BinaryTraceReader : public TraceSource {
public:
  static llvm::Expected<std::unique_ptr<TraceSource>>
  open(std::unique_ptr<ByteStream> in, const std::string &name,
       std::function<std::unique_ptr<ByteStream>()> reopenFn) {
    auto r = std::unique_ptr<BinaryTraceReader>(new BinaryTraceReader());
    r->in = std::move(in);
    r->name = name;
    r->reopenFn = std::move(reopenFn);
    if (auto e = r->readHeader())
      return std::move(e);
    return std::unique_ptr<TraceSource>(std::move(r));
  }

  const TraceHeader &header() const override { return h; }
  std::string describe() const override { return name; }

  llvm::Expected<std::unique_ptr<TraceSource>> reopen() const override {
    std::unique_ptr<ByteStream> s = reopenFn();
    if (!s)
      return makeLocatedError(name, 0, "file", "cannot reopen");
    return open(std::move(s), name, reopenFn);
  }

  llvm::Expected<bool> next(TraceRecord &rec) override {
    uint64_t index = tracker->applied();
    if (index == h.recordCount()) {
      if (!in->atEnd())
        return makeLocatedError(name, in->offset(), "end",
                                "trailing bytes after the last of " +
                                    std::to_string(h.recordCount()) +
                                    " records");
      return false;
    }
    rec.seq = uint32_t(index % h.batch);
    rec.layer = uint32_t(index / h.batch % h.layers);
    rec.step = uint32_t(index / h.batch / h.layers);
    const uint64_t start = in->offset();
    std::string where = " of record " + std::to_string(index) + " (step " +
                        std::to_string(rec.step) + ", layer " +
                        std::to_string(rec.layer) + ", seq " +
                        std::to_string(rec.seq) + ")";
    uint64_t length;
    if (auto e = readVarint(length, "record_length", where, true))
      return std::move(e);
    if (length > kMaxPayload)
      return makeLocatedError(name, start, "record_length",
                              "payload length " + std::to_string(length) +
                                  " exceeds the limit" + where);
    payload.resize(length);
    const uint64_t payloadStart = in->offset();
    if (in->read(payload.data(), length) != length)
      return makeLocatedError(name, in->offset(), "payload",
                              "truncated: file ends inside the payload" +
                                  where);
    unsigned char crcBytes[4];
    if (in->read(crcBytes, 4) != 4)
      return makeLocatedError(name, in->offset(), "record_crc",
                              "truncated: file ends inside the checksum" +
                                  where);
    uint32_t want = getU32(crcBytes), got = crc32(payload.data(), length);
    if (want != got)
      return makeLocatedError(name, payloadStart + length, "record_crc",
                              "checksum mismatch" + where +
                                  ": the record is corrupt");
    // Decode the payload.
    size_t p = 0;
    // Decode one varint at p; on failure, `why` says what went wrong (the
    // error, with its field name, is built only then).
    const char *why = nullptr;
    auto varint = [&](uint64_t &v) -> bool {
      v = 0;
      for (int shift = 0;; shift += 7) {
        if (p >= payload.size()) {
          why = "payload ends inside a varint";
          return false;
        }
        if (shift > 28) {
          why = "varint longer than 5 bytes";
          return false;
        }
        unsigned char c = payload[p++];
        v |= uint64_t(c & 0x7f) << shift;
        if (!(c & 0x80))
          return true;
      }
    };
    auto varintError = [&](const std::string &field) {
      return makeLocatedError(name, payloadStart + p, field, why + where);
    };
    uint64_t nAdded, nRemoved;
    if (!varint(nAdded))
      return varintError("added_count");
    if (!varint(nRemoved))
      return varintError("removed_count");
    uint64_t limit = uint64_t(h.promptLen) + rec.step;
    if (nAdded > limit || nRemoved > limit || nAdded > payload.size() ||
        nRemoved > payload.size())
      return makeLocatedError(
          name, payloadStart,
          nAdded > limit || nAdded > payload.size() ? "added_count"
                                                    : "removed_count",
          "count " + std::to_string(std::max(nAdded, nRemoved)) +
              " exceeds the " + std::to_string(limit) + " tokens readable" +
              where);
    added.resize(nAdded);
    removed.resize(nRemoved);
    for (int which = 0; which < 2; ++which) {
      std::vector<uint32_t> &list = which ? removed : added;
      uint64_t prev = 0;
      for (size_t i = 0; i < list.size(); ++i) {
        auto field = [&] {
          return std::string(which ? "removed" : "added") + "[" +
                 std::to_string(i) + "]";
        };
        uint64_t valueOffset = payloadStart + p;
        uint64_t v;
        if (!varint(v))
          return varintError(field());
        uint64_t t = i ? prev + 1 + v : v;
        if (t >= limit)
          return makeLocatedError(
              name, valueOffset, field(),
              "token index " + std::to_string(t) + " out of range: step " +
                  std::to_string(rec.step) + " may read only tokens < " +
                  std::to_string(limit) + where);
        list[i] = uint32_t(t);
        prev = t;
      }
    }
    if (p != payload.size())
      return makeLocatedError(name, payloadStart + p, "payload",
                              std::to_string(payload.size() - p) +
                                  " unused bytes at the end" + where);
    rec.added = added;
    rec.removed = removed;
    std::string field, msg;
    if (!tracker->apply(rec, field, msg))
      return makeLocatedError(name, start, field, msg + where);
    return true;
  }

private:
  BinaryTraceReader() = default;

  llvm::Error readVarint(uint64_t &v, const char *field,
                         const std::string &where, bool atRecordStart) {
    v = 0;
    uint64_t start = in->offset();
    for (int shift = 0;; shift += 7) {
      int c = in->get();
      if (c < 0)
        return makeLocatedError(
            name, in->offset(), field,
            std::string(atRecordStart && in->offset() == start
                            ? "truncated: file ends before record"
                            : "truncated: file ends inside a varint") +
                where + "; expected " + std::to_string(h.recordCount()) +
                " records");
      if (shift > 28)
        return makeLocatedError(name, start, field,
                                "varint longer than 5 bytes" + where);
      v |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80))
        return llvm::Error::success();
    }
  }

  llvm::Error readHeader() {
    unsigned char hdr[kHeaderBytes];
    size_t got = in->read(hdr, kHeaderBytes);
    if (got < 8 || std::memcmp(hdr, kMagic, 8) != 0)
      return makeLocatedError(name, 0, "magic",
                              got < 8
                                  ? "truncated: file shorter than the magic"
                                  : "not a KVTRACE binary trace (bad magic)");
    if (got < kHeaderBytes)
      return makeLocatedError(name, got, "header",
                              "truncated: header needs 36 bytes, file has " +
                                  std::to_string(got));
    uint32_t version = getU32(hdr + 8);
    if (version != kVersion)
      return makeLocatedError(name, 8, "version",
                              "unsupported version " + std::to_string(version) +
                                  " (this reader knows 1)");
    h.layers = getU32(hdr + 12);
    h.batch = getU32(hdr + 16);
    h.promptLen = getU32(hdr + 20);
    h.decodeSteps = getU32(hdr + 24);
    uint32_t wantCrc = getU32(hdr + 32);
    if (crc32(hdr, 32) != wantCrc)
      return makeLocatedError(
          name, 32, "header_crc",
          "header checksum mismatch: the header is corrupt");
    uint32_t flags = getU32(hdr + 28);
    if (flags != 0)
      return makeLocatedError(name, 28, "flags",
                              "unsupported flags " + std::to_string(flags) +
                                  " (version 1 defines none)");
    struct Field {
      const char *name;
      uint32_t off, value;
    };
    for (Field f :
         {Field{"layers", 12, h.layers}, Field{"batch", 16, h.batch},
          Field{"prompt", 20, h.promptLen}, Field{"decode", 24, h.decodeSteps}})
      if (f.value == 0)
        return makeLocatedError(name, f.off, f.name, "must be positive");
    if (auto e = h.validate(name))
      return makeLocatedError(name, 12, "header", llvm::toString(std::move(e)));
    tracker = std::make_unique<ReadSetTracker>(h);
    return llvm::Error::success();
  }

  std::unique_ptr<ByteStream> in;
  std::string name;
  std::function<std::unique_ptr<ByteStream>()> reopenFn;
  TraceHeader h;
  std::unique_ptr<ReadSetTracker> tracker;
  std::string payload;
  std::vector<uint32_t> added, removed;
};

} // namespace

llvm::Expected<std::unique_ptr<TraceSource>>
kvopt::openBinaryTrace(const std::string &path) {
  std::string err;
  std::unique_ptr<ByteStream> in = ByteStream::openFile(path, err);
  if (!in)
    return makeLocatedError(path, 0, "file", "cannot open: " + err);
  return BinaryTraceReader::open(std::move(in), path, [path] {
    std::string e;
    return ByteStream::openFile(path, e);
  });
}

llvm::Expected<std::unique_ptr<TraceSource>>
kvopt::openBinaryTraceBuffer(std::string data, const std::string &name) {
  auto shared = std::make_shared<const std::string>(std::move(data));
  return BinaryTraceReader::open(
      ByteStream::fromString(shared), name,
      [shared] { return ByteStream::fromString(shared); });
}

llvm::Expected<std::string> kvopt::encodeBinaryTrace(TraceSource &src) {
  std::string out = Encoder::header(src.header());
  Encoder enc;
  TraceRecord rec;
  while (true) {
    llvm::Expected<bool> more = src.next(rec);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    enc.record(rec, out);
  }
  return out;
}

llvm::Expected<uint64_t> kvopt::writeBinaryTrace(TraceSource &src,
                                                 const std::string &path) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return makeLocatedError(
        path, 0, "file", std::string("cannot create: ") + std::strerror(errno));
  std::string chunk = Encoder::header(src.header());
  Encoder enc;
  TraceRecord rec;
  uint64_t total = 0;
  auto flush = [&]() -> bool {
    if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size())
      return false;
    total += chunk.size();
    chunk.clear();
    return true;
  };
  while (true) {
    llvm::Expected<bool> more = src.next(rec);
    if (!more) {
      std::fclose(f);
      return more.takeError();
    }
    if (!*more)
      break;
    enc.record(rec, chunk);
    if (chunk.size() > (1u << 20) && !flush()) {
      std::fclose(f);
      return makeLocatedError(path, total, "file", "write failed");
    }
  }
  bool ok = flush();
  ok = std::fclose(f) == 0 && ok;
  if (!ok)
    return makeLocatedError(path, total, "file", "write failed");
  return total;
}
