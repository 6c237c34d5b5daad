//===- ByteStream.h - Buffered byte input with offsets (internal) -*- C++ -*-=//
//
// A forward-only reader over a file (fixed 1 MiB buffer) or an in-memory
// string that tracks the absolute byte offset for error messages.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_LIB_CORE_BYTESTREAM_H
#define KVOPT_LIB_CORE_BYTESTREAM_H

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace kvopt {
namespace detail {

class ByteStream {
public:
  /// Open a file; returns nullptr and sets `err` on failure.
  static std::unique_ptr<ByteStream> openFile(const std::string &path,
                                              std::string &err) {
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) {
      err = std::strerror(errno);
      return nullptr;
    }
    auto s = std::unique_ptr<ByteStream>(new ByteStream());
    s->file = f;
    s->buf.resize(1 << 20);
    return s;
  }
  static std::unique_ptr<ByteStream>
  fromString(std::shared_ptr<const std::string> data) {
    auto s = std::unique_ptr<ByteStream>(new ByteStream());
    s->mem = std::move(data);
    return s;
  }
  ~ByteStream() {
    if (file)
      std::fclose(file);
  }

  uint64_t offset() const { return off; }

  /// Next byte, or -1 at end of input.
  int get() {
    if (mem) {
      if (off >= mem->size())
        return -1;
      return (unsigned char)(*mem)[off++];
    }
    if (pos == len && !refill())
      return -1;
    ++off;
    return (unsigned char)buf[pos++];
  }

  /// Read exactly n bytes; returns the number read (< n at end of input).
  size_t read(void *dst, size_t n) {
    char *out = static_cast<char *>(dst);
    if (mem) {
      size_t avail = off < mem->size() ? mem->size() - off : 0;
      size_t k = n < avail ? n : avail;
      std::memcpy(out, mem->data() + off, k);
      off += k;
      return k;
    }
    size_t done = 0;
    while (done < n) {
      if (pos == len && !refill())
        break;
      size_t k = std::min(n - done, len - pos);
      std::memcpy(out + done, buf.data() + pos, k);
      pos += k;
      done += k;
      off += k;
    }
    return done;
  }

  /// Whether the input is exhausted.
  bool atEnd() {
    if (mem)
      return off >= mem->size();
    return pos == len && !refill();
  }

private:
  ByteStream() = default;
  bool refill() {
    len = std::fread(buf.data(), 1, buf.size(), file);
    pos = 0;
    return len > 0;
  }
  FILE *file = nullptr;
  std::shared_ptr<const std::string> mem;
  std::vector<char> buf;
  size_t pos = 0, len = 0;
  uint64_t off = 0;
};

} // namespace detail
} // namespace kvopt

#endif // KVOPT_LIB_CORE_BYTESTREAM_H
