//===- ScheduleFile.cpp - Schedule side-file reader and writer --*- C++ -*-===//
//
// The binary format of docs/schedule-format.md: a 64-byte little-endian
// header, a placement bitmap, 16-byte migration records and an FNV-1a 64
// checksum of everything before it. Bytes are assembled one at a time so
// the format does not depend on the host's endianness or struct layout.
//
//===----------------------------------------------------------------------===//
#include "Error.h"
#include "ScheduleImpl.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace kvrt;

namespace {

constexpr char kMagic[8] = {'K', 'V', 'S', 'C', 'H', 'E', 'D', '\0'};
constexpr size_t kHeaderBytes = 64;
constexpr size_t kRecordBytes = 16;
constexpr size_t kChecksumBytes = 8;

uint64_t fnv1a(const uint8_t *data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

void put(uint8_t *&p, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    *p++ = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t get(const uint8_t *&p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(*p++) << (8 * i);
  return v;
}

size_t placementBytes(uint32_t layers, uint32_t blocks) {
  return size_t(layers) * ((size_t(blocks) + 7) / 8);
}

} // namespace

extern "C" void kvrt_free(void *data) { std::free(data); }

extern "C" kvrt_status kvrt_schedule_write_memory(const kvrt_schedule *s,
                                                  void **data, size_t *size) {
  if (!s || !data || !size)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null schedule or output");
  KVRT_TRY(kvrt_schedule_check(s));
  size_t rowBytes = (size_t(s->blocksPerLayer) + 7) / 8;
  size_t place = placementBytes(s->numLayers, s->blocksPerLayer);
  // Version 2 only when the schedule has windows: a schedule without them is
  // written byte for byte as before.
  bool windowed = !s->windows.empty();
  size_t windowBytes = windowed ? size_t(s->numLayers) * 4 : 0;
  size_t total = kHeaderBytes + place + windowBytes +
                 s->migrations.size() * kRecordBytes + kChecksumBytes;
  auto *buffer = static_cast<uint8_t *>(std::calloc(total, 1));
  if (!buffer)
    return fail(KVRT_ERR_ALLOCATION, "cannot allocate %zu bytes", total);
  uint8_t *p = buffer;
  std::memcpy(p, kMagic, sizeof(kMagic));
  p += sizeof(kMagic);
  put(p, windowed ? KVRT_SCHEDULE_VERSION : KVRT_SCHEDULE_VERSION_NO_WINDOWS,
      4);
  put(p, kHeaderBytes, 4);
  put(p, s->numLayers, 4);
  put(p, s->blocksPerLayer, 4);
  put(p, s->numSteps, 4);
  put(p, s->blockTokens, 4);
  put(p, s->hbmCapacity, 4);
  put(p, 0, 4); // flags
  put(p, s->migrations.size(), 8);
  put(p, place, 8);
  put(p, windowed ? s->promptTokens : 0, 4); // reserved in version 1
  put(p, windowed ? s->blocksPerSeq : 0, 4);
  for (uint32_t l = 0; l < s->numLayers; ++l) {
    const uint8_t *row = s->initialHbm.data() + size_t(l) * s->blocksPerLayer;
    for (uint32_t b = 0; b < s->blocksPerLayer; ++b)
      if (row[b])
        p[b / 8] |= static_cast<uint8_t>(1u << (b % 8));
    p += rowBytes;
  }
  for (uint32_t w : s->windows)
    put(p, w, 4);
  for (const kvrt_migration &m : s->migrations) {
    put(p, m.step, 4);
    put(p, m.first_block, 4);
    put(p, m.count, 4);
    put(p, m.layer, 2);
    put(p, static_cast<uint32_t>(m.direction), 1);
    put(p, 0, 1);
  }
  put(p, fnv1a(buffer, total - kChecksumBytes), 8);
  *data = buffer;
  *size = total;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_schedule_write(const kvrt_schedule *s,
                                           const char *path) {
  if (!path)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null path");
  void *data = nullptr;
  size_t size = 0;
  KVRT_TRY(kvrt_schedule_write_memory(s, &data, &size));
  // A temporary next to the file, renamed over it only once completely
  // written: a failed write never leaves a partial schedule behind.
  std::string temp = std::string(path) + ".tmp-XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    kvrt_free(data);
    return fail(KVRT_ERR_IO, "cannot open '%s' for writing: %s", path,
                std::strerror(errno));
  }
  size_t done = 0;
  int err = 0;
  while (done < size) {
    ssize_t n = ::write(fd, static_cast<const char *>(data) + done,
                        size - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      err = errno;
      break;
    }
    done += size_t(n);
  }
  if (::close(fd) != 0 && !err)
    err = errno;
  kvrt_free(data);
  if (!err) {
    mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(temp.c_str(), 0666 & ~mask);
    if (::rename(temp.c_str(), path) != 0)
      err = errno;
  }
  if (err) {
    ::unlink(temp.c_str());
    return fail(KVRT_ERR_IO, "cannot write %zu bytes to '%s': %s", size, path,
                std::strerror(err));
  }
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_schedule_write_arrays(
    const char *path, uint32_t num_layers, uint32_t blocks_per_layer,
    uint32_t num_steps, const uint8_t *hbm_mask,
    const kvrt_migration *migrations, size_t num_migrations) {
  kvrt_schedule *raw = nullptr;
  KVRT_TRY(kvrt_schedule_create(num_layers, blocks_per_layer, num_steps, &raw));
  std::unique_ptr<kvrt_schedule, void (*)(kvrt_schedule *)> s(
      raw, kvrt_schedule_destroy);
  if (hbm_mask)
    for (size_t i = 0; i < s->initialHbm.size(); ++i)
      s->initialHbm[i] = hbm_mask[i] ? 1 : 0;
  KVRT_TRY(kvrt_schedule_add_migrations(s.get(), migrations, num_migrations));
  return kvrt_schedule_write(s.get(), path);
}

extern "C" kvrt_status kvrt_schedule_read_memory(const void *data, size_t size,
                                                 kvrt_schedule **out) {
  if (!data || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null data or output");
  *out = nullptr;
  const auto *bytes = static_cast<const uint8_t *>(data);
  if (size < kHeaderBytes + kChecksumBytes)
    return fail(KVRT_ERR_FORMAT,
                "schedule is %zu bytes, shorter than its %zu-byte header and "
                "checksum (truncated?)",
                size, kHeaderBytes + kChecksumBytes);
  if (std::memcmp(bytes, kMagic, sizeof(kMagic)) != 0)
    return fail(KVRT_ERR_FORMAT, "bad magic: not a kvrt schedule file");
  const uint8_t *p = bytes + sizeof(kMagic);
  uint32_t version = static_cast<uint32_t>(get(p, 4));
  uint32_t headerBytes = static_cast<uint32_t>(get(p, 4));
  if (version != KVRT_SCHEDULE_VERSION &&
      version != KVRT_SCHEDULE_VERSION_NO_WINDOWS)
    return fail(KVRT_ERR_FORMAT,
                "schedule format version %u; this runtime reads versions %u "
                "and %u",
                version, KVRT_SCHEDULE_VERSION_NO_WINDOWS,
                KVRT_SCHEDULE_VERSION);
  bool windowed = version == KVRT_SCHEDULE_VERSION;
  if (headerBytes != kHeaderBytes)
    return fail(KVRT_ERR_FORMAT, "header size %u, expected %zu", headerBytes,
                kHeaderBytes);
  uint32_t layers = static_cast<uint32_t>(get(p, 4));
  uint32_t blocks = static_cast<uint32_t>(get(p, 4));
  uint32_t steps = static_cast<uint32_t>(get(p, 4));
  uint32_t blockTokens = static_cast<uint32_t>(get(p, 4));
  uint32_t hbmCapacity = static_cast<uint32_t>(get(p, 4));
  uint32_t flags = static_cast<uint32_t>(get(p, 4));
  uint64_t numMigrations = get(p, 8);
  uint64_t place = get(p, 8);
  uint32_t promptTokens = static_cast<uint32_t>(get(p, 4));
  uint32_t blocksPerSeq = static_cast<uint32_t>(get(p, 4));
  uint64_t reserved = windowed ? 0 : promptTokens | uint64_t(blocksPerSeq) << 32;
  if (flags != 0 || reserved != 0)
    return fail(KVRT_ERR_FORMAT, "nonzero flags (0x%x) or reserved field",
                flags);
  if (layers < 1 || layers > 65535 || blocks < 1 || blocks > 0x7fffffffu)
    return fail(KVRT_ERR_FORMAT, "bad shape: %u layers x %u blocks", layers,
                blocks);
  if (place != placementBytes(layers, blocks))
    return fail(KVRT_ERR_FORMAT,
                "placement section of %llu bytes, expected %zu for %u layers "
                "x %u blocks",
                static_cast<unsigned long long>(place),
                placementBytes(layers, blocks), layers, blocks);
  uint64_t windowBytes = windowed ? uint64_t(layers) * 4 : 0;
  uint64_t maxRecords =
      (std::numeric_limits<uint64_t>::max() - place) / kRecordBytes / 2;
  uint64_t expected = numMigrations > maxRecords
                          ? std::numeric_limits<uint64_t>::max()
                          : kHeaderBytes + place + windowBytes +
                                numMigrations * kRecordBytes + kChecksumBytes;
  if (expected != size)
    return fail(KVRT_ERR_FORMAT,
                "schedule is %zu bytes but its header describes %llu "
                "migrations, i.e. %llu bytes (truncated or corrupt)",
                size, static_cast<unsigned long long>(numMigrations),
                static_cast<unsigned long long>(expected));
  const uint8_t *sumAt = bytes + size - kChecksumBytes;
  uint64_t stored = get(sumAt, 8);
  if (stored != fnv1a(bytes, size - kChecksumBytes))
    return fail(KVRT_ERR_FORMAT, "checksum mismatch (corrupt file)");

  kvrt_schedule *raw = nullptr;
  KVRT_TRY(kvrt_schedule_create(layers, blocks, steps, &raw));
  std::unique_ptr<kvrt_schedule, void (*)(kvrt_schedule *)> s(
      raw, kvrt_schedule_destroy);
  s->blockTokens = blockTokens;
  s->hbmCapacity = hbmCapacity;
  p = bytes + kHeaderBytes;
  size_t rowBytes = (size_t(blocks) + 7) / 8;
  for (uint32_t l = 0; l < layers; ++l) {
    for (uint32_t b = 0; b < blocks; ++b)
      s->initialHbm[size_t(l) * blocks + b] = (p[b / 8] >> (b % 8)) & 1u;
    for (uint32_t b = blocks; b < rowBytes * 8; ++b)
      if ((p[b / 8] >> (b % 8)) & 1u)
        return fail(KVRT_ERR_FORMAT,
                    "placement row of layer %u has bits set past block %u", l,
                    blocks);
    p += rowBytes;
  }
  if (windowed) {
    if (!blockTokens)
      return fail(KVRT_ERR_FORMAT,
                  "version 2 (windowed) schedule with block_tokens 0; "
                  "windows need the block size");
    if (!blocksPerSeq || blocks % blocksPerSeq)
      return fail(KVRT_ERR_FORMAT,
                  "blocks_per_seq %u does not divide the %u blocks per layer",
                  blocksPerSeq, blocks);
    s->windows.resize(layers);
    for (uint32_t l = 0; l < layers; ++l) {
      s->windows[l] = static_cast<uint32_t>(get(p, 4));
      if (s->windows[l] > 0x7fffffffu)
        return fail(KVRT_ERR_FORMAT,
                    "window of layer %u is %u tokens, more than 2^31-1", l,
                    s->windows[l]);
    }
    s->promptTokens = promptTokens;
    s->blocksPerSeq = blocksPerSeq;
  }
  try {
    s->migrations.resize(numMigrations);
  } catch (const std::bad_alloc &) {
    return fail(KVRT_ERR_ALLOCATION, "cannot hold %llu migrations",
                static_cast<unsigned long long>(numMigrations));
  }
  for (uint64_t i = 0; i < numMigrations; ++i) {
    kvrt_migration &m = s->migrations[i];
    m.step = static_cast<uint32_t>(get(p, 4));
    m.first_block = static_cast<uint32_t>(get(p, 4));
    m.count = static_cast<uint32_t>(get(p, 4));
    m.layer = static_cast<uint32_t>(get(p, 2));
    uint32_t dir = static_cast<uint32_t>(get(p, 1));
    uint32_t pad = static_cast<uint32_t>(get(p, 1));
    if (dir > 1 || pad)
      return fail(KVRT_ERR_FORMAT,
                  "migration %llu: bad direction byte %u or padding %u",
                  static_cast<unsigned long long>(i), dir, pad);
    m.direction = static_cast<kvrt_direction>(dir);
    if (i && migrationBefore(m, s->migrations[i - 1]))
      return fail(KVRT_ERR_FORMAT,
                  "migration %llu (step %u, layer %u) is out of execution "
                  "order",
                  static_cast<unsigned long long>(i), m.step, m.layer);
  }
  KVRT_TRY(kvrt_schedule_check(s.get()));
  *out = s.release();
  return KVRT_OK;
}

/// Largest schedule file read (a 2M-token plan's schedule is far smaller).
static constexpr uint64_t kMaxScheduleFileBytes = uint64_t(1) << 30;

extern "C" kvrt_status kvrt_schedule_read(const char *path,
                                          kvrt_schedule **out) {
  if (!path || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null path or output");
  *out = nullptr;
  std::FILE *f = std::fopen(path, "rb");
  if (!f)
    return fail(KVRT_ERR_IO, "cannot open '%s': %s", path,
                std::strerror(errno));
  struct stat info;
  if (::fstat(::fileno(f), &info) == 0 &&
      (S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode) ||
       S_ISDIR(info.st_mode))) {
    std::fclose(f);
    return fail(KVRT_ERR_IO, "'%s' is a %s, not a schedule file", path,
                S_ISDIR(info.st_mode) ? "directory" : "device");
  }
  std::vector<uint8_t> data;
  uint8_t chunk[65536];
  size_t n;
  try {
    while ((n = std::fread(chunk, 1, sizeof(chunk), f)) > 0) {
      if (data.size() + n > kMaxScheduleFileBytes) {
        std::fclose(f);
        return fail(KVRT_ERR_IO,
                    "'%s' is larger than the limit of %llu bytes for a "
                    "schedule file",
                    path, (unsigned long long)kMaxScheduleFileBytes);
      }
      data.insert(data.end(), chunk, chunk + n);
    }
  } catch (const std::bad_alloc &) {
    std::fclose(f);
    return fail(KVRT_ERR_ALLOCATION, "cannot hold '%s' in memory", path);
  }
  bool error = std::ferror(f) != 0;
  std::fclose(f);
  if (error)
    return fail(KVRT_ERR_IO, "cannot read '%s'", path);
  kvrt_status st = kvrt_schedule_read_memory(data.empty() ? chunk : data.data(),
                                             data.size(), out);
  if (st != KVRT_OK)
    return fail(st, "%s: %s", path,
                kvrt_last_error() + std::strlen(kvrt_status_name(st)) + 2);
  return KVRT_OK;
}
