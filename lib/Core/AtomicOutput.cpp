//===- AtomicOutput.cpp - A run's outputs, written only on success --------===//
#include "kvopt/Core/AtomicOutput.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kvopt;
namespace fs = llvm::sys::fs;

static OutputSet *currentSet = nullptr;

static llvm::Error outputError(const std::string &path,
                               const std::string &option,
                               const std::string &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "cannot write '%s' (%s): %s", path.c_str(),
                                 option.c_str(), message.c_str());
}

static std::string directoryOf(const std::string &path) {
  llvm::StringRef dir = llvm::sys::path::parent_path(path);
  return dir.empty() ? std::string(".") : dir.str();
}

bool OutputSet::isSpecial(const std::string &path) {
  if (path == "-")
    return true;
  fs::file_status st;
  if (fs::status(path, st))
    return false; // does not exist yet: a new regular file
  return fs::exists(st) && !fs::is_regular_file(st) && !fs::is_directory(st);
}

OutputSet::~OutputSet() { discard(); }

OutputSet::Entry *OutputSet::find(const std::string &path) {
  for (Entry &e : entries)
    if (e.path == path)
      return &e;
  return nullptr;
}

llvm::Error OutputSet::declare(const std::string &path,
                               const std::string &option) {
  if (path.empty())
    return outputError(path, option, "empty file name");
  if (Entry *e = find(path)) {
    // The same option again (a pass run once per module) replaces it.
    if (e->option == option)
      return llvm::Error::success();
    return outputError(path, option,
                       "the same file is also the output of '" + e->option +
                           "'");
  }
  Entry entry;
  entry.path = path;
  entry.option = option;
  entry.special = isSpecial(path);
  if (path != "-") {
    fs::file_status st;
    bool exists = !fs::status(path, st) && fs::exists(st);
    if (exists && fs::is_directory(st))
      return outputError(path, option, "is a directory");
    if (exists && fs::access(path, fs::AccessMode::Write))
      return outputError(path, option, "the file is not writable");
    if (!entry.special) {
      std::string dir = directoryOf(path);
      if (!fs::is_directory(dir))
        return outputError(path, option,
                           "directory '" + dir + "' does not exist");
      if (::access(dir.c_str(), W_OK) != 0)
        return outputError(path, option,
                           "directory '" + dir + "' is not writable");
    }
  }
  entries.push_back(std::move(entry));
  return llvm::Error::success();
}

llvm::Expected<std::string>
OutputSet::temporaryFor(const std::string &path, const std::string &option) {
  if (!find(path))
    if (llvm::Error e = declare(path, option))
      return std::move(e);
  Entry &e = *find(path);
  if (!e.temp.empty()) {
    fs::remove(e.temp);
    e.temp.clear();
  }
  int fd = -1;
  llvm::SmallString<256> temp;
  std::error_code ec;
  if (e.special) {
    // Written in place at commit: the temporary may live anywhere.
    ec = fs::createTemporaryFile("kvopt-output", "tmp", fd, temp);
  } else {
    llvm::SmallString<256> model(directoryOf(path));
    llvm::sys::path::append(model, "." + llvm::sys::path::filename(path).str() +
                                       ".tmp-%%%%%%%%");
    ec = fs::createUniqueFile(model, fd, temp);
  }
  if (ec)
    return outputError(path, e.option,
                       "cannot create a temporary file: " + ec.message());
  ::close(fd);
  e.temp = temp.str().str();
  e.memory.clear();
  e.written = true;
  return e.temp;
}

llvm::Error
OutputSet::write(const std::string &path,
                 llvm::function_ref<void(llvm::raw_ostream &)> render,
                 const std::string &option) {
  if (!find(path))
    if (llvm::Error e = declare(path, option))
      return std::move(e);
  Entry *e = find(path);
  if (e->special) {
    if (!e->temp.empty()) {
      fs::remove(e->temp);
      e->temp.clear();
    }
    e->memory.clear();
    llvm::raw_string_ostream os(e->memory);
    render(os);
    os.flush();
    e->written = true;
    return llvm::Error::success();
  }
  llvm::Expected<std::string> temp = temporaryFor(path, option);
  if (!temp)
    return temp.takeError();
  e = find(path);
  std::error_code ec;
  llvm::raw_fd_ostream os(*temp, ec, fs::OF_None);
  if (ec)
    return outputError(path, e->option, ec.message());
  render(os);
  os.close();
  if (os.has_error()) {
    std::string message = os.error().message();
    os.clear_error();
    return outputError(path, e->option, message);
  }
  return llvm::Error::success();
}

/// Writes `data` to an existing non-regular file (or stdout), checking every
/// write and the close.
static llvm::Error writeInPlace(const std::string &path,
                                const std::string &option,
                                const std::string &data) {
  int fd = path == "-" ? 1 : ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return outputError(path, option, std::strerror(errno));
  size_t done = 0;
  int err = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      err = errno;
      break;
    }
    done += size_t(n);
  }
  if (path != "-" && ::close(fd) != 0 && !err)
    err = errno;
  if (err)
    return outputError(path == "-" ? "<stdout>" : path, option,
                       std::strerror(err));
  return llvm::Error::success();
}

llvm::Error OutputSet::commit() {
  // Everything that can still fail goes first.
  for (Entry &e : entries) {
    if (!e.written || !e.special)
      continue;
    if (!e.temp.empty()) {
      llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
          llvm::MemoryBuffer::getFile(e.temp);
      if (!buf) {
        std::string path = e.path, option = e.option;
        discard();
        return outputError(path, option, buf.getError().message());
      }
      e.memory = (*buf)->getBuffer().str();
    }
    if (llvm::Error err = writeInPlace(e.path, e.option, e.memory)) {
      discard();
      return err;
    }
  }
  // Keep an existing file's permissions.
  for (Entry &e : entries) {
    if (!e.written || e.special)
      continue;
    llvm::ErrorOr<fs::perms> perms = fs::getPermissions(e.path);
    if (perms)
      (void)fs::setPermissions(e.temp, *perms);
    else {
      unsigned mask = ::umask(0);
      ::umask(mask);
      (void)fs::setPermissions(
          e.temp, fs::perms(unsigned(fs::all_read | fs::all_write) & ~mask));
    }
  }
  for (Entry &e : entries) {
    if (!e.written || e.special)
      continue;
    if (std::error_code ec = fs::rename(e.temp, e.path)) {
      std::string path = e.path, option = e.option;
      discard();
      return outputError(path, option, "cannot rename the finished file "
                                       "into place: " + ec.message());
    }
    e.temp.clear();
  }
  discard(); // the temporaries of in-place outputs
  return llvm::Error::success();
}

void OutputSet::discard() {
  for (Entry &e : entries)
    if (!e.temp.empty())
      fs::remove(e.temp);
  entries.clear();
}

OutputSet *OutputSet::current() { return currentSet; }

OutputSet::Scope::Scope(OutputSet &set) : previous(currentSet) {
  currentSet = &set;
}

OutputSet::Scope::~Scope() { currentSet = previous; }

llvm::Error
kvopt::writeOutput(const std::string &path,
                   llvm::function_ref<void(llvm::raw_ostream &)> render,
                   const std::string &option) {
  if (OutputSet *set = OutputSet::current())
    return set->write(path, render, option);
  OutputSet own;
  if (llvm::Error e = own.write(path, render, option))
    return e;
  return own.commit();
}
