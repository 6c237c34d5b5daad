//===- InputLimits.cpp - Bounded reading of untrusted inputs --------------===//
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/Error.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"

#include <cstdio>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kvopt;

static std::string sizeText(uint64_t bytes) {
  if (bytes >= (uint64_t(1) << 30) && bytes % (uint64_t(1) << 30) == 0)
    return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (uint64_t(1) << 20) && bytes % (uint64_t(1) << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " B";
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
kvopt::readBoundedFile(const std::string &path, uint64_t maxBytes,
                       const std::string &what) {
  struct stat st;
  if (path != "-" && ::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return makeFieldError(path, what, "is a directory, not a file");
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      return makeFieldError(path, what, "is a device, not a file");
    if (S_ISREG(st.st_mode) && uint64_t(st.st_size) > maxBytes)
      return makeFieldError(path, what,
                            "input of " + std::to_string(st.st_size) +
                                " bytes is larger than the limit of " +
                                sizeText(maxBytes) + " for " + what);
  }
  int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return makeFieldError(path, what,
                          std::string("cannot read: ") + std::strerror(errno));
  std::string data;
  char chunk[1 << 16];
  int err = 0;
  bool tooLarge = false;
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      err = errno;
      break;
    }
    if (n == 0)
      break;
    if (data.size() + uint64_t(n) > maxBytes) {
      tooLarge = true;
      break;
    }
    data.append(chunk, size_t(n));
  }
  if (fd != 0)
    ::close(fd);
  if (err)
    return makeFieldError(path, what,
                          std::string("cannot read: ") + std::strerror(err));
  if (tooLarge)
    return makeFieldError(path, what,
                          "input is larger than the limit of " +
                              sizeText(maxBytes) + " for " + what);
  return llvm::MemoryBuffer::getMemBufferCopy(data, path);
}

llvm::Error kvopt::checkJsonDepth(llvm::StringRef text, const std::string &file,
                                  unsigned maxDepth) {
  unsigned depth = 0;
  bool inString = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"')
      inString = true;
    else if (c == '[' || c == '{') {
      if (++depth > maxDepth)
        return makeLocatedError(file, i, "json",
                                "nesting deeper than " +
                                    std::to_string(maxDepth) + " levels");
    } else if ((c == ']' || c == '}') && depth > 0)
      --depth;
  }
  return llvm::Error::success();
}

llvm::Error kvopt::checkIRNesting(llvm::StringRef text, const std::string &file,
                                  unsigned maxDepth) {
  unsigned depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') { // a string: skip to its end
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n')
        ++i;
    } else if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (++depth > maxDepth)
        return makeLocatedError(file, i, "input",
                                "brackets nest deeper than " +
                                    std::to_string(maxDepth) + " levels");
    } else if ((c == ')' || c == ']' || c == '}' || c == '>') && depth > 0) {
      --depth;
    }
  }
  return llvm::Error::success();
}

llvm::Expected<llvm::json::Value>
kvopt::parseJsonBounded(llvm::StringRef text, const std::string &file) {
  if (llvm::Error e = checkJsonDepth(text, file))
    return std::move(e);
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(text);
  if (!v)
    return makeFieldError(file, "json", llvm::toString(v.takeError()));
  return v;
}

/// What the machine has for this run: the kernel's MemAvailable estimate
/// (free plus reclaimable memory), else the physical memory.
static uint64_t physicalMemory() {
  if (std::FILE *f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kb = 0;
    bool found = false;
    while (!found && std::fgets(line, sizeof(line), f))
      found = std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
    std::fclose(f);
    if (found && kb > 0)
      return uint64_t(kb) * 1024;
  }
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0)
    return UINT64_MAX;
  return uint64_t(pages) * uint64_t(page);
}

static uint64_t memoryLimit = 0; // 0: not set, use the physical memory

uint64_t kvopt::memoryLimitBytes() {
  return memoryLimit ? memoryLimit : physicalMemory();
}

void kvopt::setMemoryLimitBytes(uint64_t bytes) { memoryLimit = bytes; }

static std::string gigabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), bytes < 100000000 ? "%.3g GB" : "%.1f GB",
                double(bytes) / 1e9);
  return buf;
}

llvm::Error kvopt::checkMemoryEstimate(uint64_t bytes,
                                       const std::string &what) {
  uint64_t limit = memoryLimitBytes();
  if (bytes <= limit)
    return llvm::Error::success();
  return makeFieldError(what, "max-memory",
                        "needs about " + gigabytes(bytes) +
                            " of memory, above the limit of " +
                            gigabytes(limit) + (memoryLimit ? "" : " (the memory this machine has available)") +
                            "; reduce tokens, batch or layers, use a larger "
                            "block, or raise --max-memory");
}

llvm::Expected<uint64_t> kvopt::parseByteSize(llvm::StringRef text,
                                              const std::string &option) {
  llvm::StringRef t = text.trim();
  size_t numberEnd = 0;
  while (numberEnd < t.size() &&
         (llvm::isDigit(t[numberEnd]) || t[numberEnd] == '.' ||
          ((t[numberEnd] == 'e' || t[numberEnd] == 'E') && numberEnd > 0 &&
           numberEnd + 1 < t.size() && llvm::isDigit(t[numberEnd + 1]))))
    ++numberEnd;
  llvm::StringRef number = t.take_front(numberEnd);
  llvm::StringRef unit = t.drop_front(numberEnd).trim();
  double value = 0;
  if (number.empty() || number.getAsDouble(value))
    return makeFieldError("option", option,
                          "expected a size such as 64GB or 512MiB, got '" +
                              text.str() + "'");
  struct Unit {
    const char *name;
    double scale;
  } units[] = {{"", 1},      {"B", 1},          {"KB", 1e3},
               {"MB", 1e6},  {"GB", 1e9},       {"TB", 1e12},
               {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
               {"TiB", 1099511627776.0}};
  for (const Unit &u : units)
    if (unit == u.name) {
      double bytes = value * u.scale;
      if (!(bytes >= 1 && bytes <= 1.8e19))
        return makeFieldError("option", option,
                              "value out of range: '" + text.str() + "'");
      return uint64_t(bytes);
    }
  return makeFieldError("option", option,
                        "unknown unit '" + unit.str() + "' in '" + text.str() +
                            "' (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
}
