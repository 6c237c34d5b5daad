//===- InputLimits.cpp - Bounded reading of untrusted inputs --------------===//
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/Error.h"

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
                          std::string("cannot open: ") + std::strerror(errno));
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

llvm::Expected<llvm::json::Value>
kvopt::parseJsonBounded(llvm::StringRef text, const std::string &file) {
  if (llvm::Error e = checkJsonDepth(text, file))
    return std::move(e);
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(text);
  if (!v)
    return makeFieldError(file, "json", llvm::toString(v.takeError()));
  return v;
}
