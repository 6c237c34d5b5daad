//===- TraceIO.h - Binary, text and seed-CSV trace formats ------*- C++ -*-===//
//
// Binary format "KVTRACE1" (docs/traces.md has the byte layout):
//   header  : magic "KVTRACE\0", u32 version (1), u32 layers, u32 batch,
//             u32 prompt, u32 decode, u32 flags (0), u32 CRC-32 of the
//             preceding 32 bytes                       (little endian)
//   records : one per (step, layer, seq) in trace order:
//             varint payload length, payload, u32 CRC-32 of the payload;
//             payload = varint #added, varint #removed, then the added and
//             the removed indices, each list ascending and gap-coded
//             (first value, then value - previous - 1), as varints
//   end     : exactly after the last record (trailing bytes are an error)
// Readers stream with a fixed buffer; every error names the file, the byte
// offset and the field.
//
// Text format (tests, hand-written traces):
//   kvtrace 1 layers=L batch=B prompt=P decode=D
//   <step> <layer> <seq> + a b c - d e
// one line per record ('#' starts a comment line).
//
// Seed CSV (SEED-MODEL.md section 1): header `n,l,read_kv`, rows
// `n,l,"[i,j,...]"` with full read lists; converted to deltas on the fly.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_TRACEIO_H
#define KVOPT_CORE_TRACEIO_H

#include "kvopt/Core/Trace.h"

#include <cstdio>
#include <memory>
#include <string>

namespace kvopt {

/// Open a binary trace file for streaming.
llvm::Expected<std::unique_ptr<TraceSource>>
openBinaryTrace(const std::string &path);
/// Read a binary trace held in memory (used by the fuzzer); `name` is used
/// in error messages.
llvm::Expected<std::unique_ptr<TraceSource>>
openBinaryTraceBuffer(std::string data, const std::string &name);

/// Open a text trace.
llvm::Expected<std::unique_ptr<TraceSource>>
openTextTrace(const std::string &path);
/// Parse a text trace held in memory.
llvm::Expected<std::unique_ptr<TraceSource>>
openTextTraceBuffer(std::string text, const std::string &name);

/// Open a seed-format CSV (two passes: a scan for the shape, then the
/// stream). The layer count is taken from the first step's rows.
llvm::Expected<std::unique_ptr<TraceSource>>
openSeedCsvTrace(const std::string &path);

/// Open any trace by content: binary magic, "kvtrace" text header, or the
/// seed CSV header.
llvm::Expected<std::unique_ptr<TraceSource>> openTrace(const std::string &path);

/// Write a whole source as a binary trace; returns bytes written.
llvm::Expected<uint64_t> writeBinaryTrace(TraceSource &src,
                                          const std::string &path);
/// Encode a whole source as a binary trace in memory.
llvm::Expected<std::string> encodeBinaryTrace(TraceSource &src);
/// Write a whole source as text.
llvm::Error writeTextTrace(TraceSource &src, const std::string &path);
llvm::Expected<std::string> encodeTextTrace(TraceSource &src);
/// Write a whole source in the seed CSV form (full sorted lists).
llvm::Error writeSeedCsvTrace(TraceSource &src, const std::string &path);

/// CRC-32 (IEEE, reflected, as zlib) of a byte range.
uint32_t crc32(const void *data, size_t size, uint32_t crc = 0);

} // namespace kvopt

#endif // KVOPT_CORE_TRACEIO_H
