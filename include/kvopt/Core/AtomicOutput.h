//===- AtomicOutput.h - A run's outputs, written only on success -*- C++ -*-===//
//
// Part of kv-opt. A tool collects every output of a run in one OutputSet:
// each path is checked for writability when it is declared (before any long
// work), its contents go to a temporary file in the same directory, and the
// temporaries are renamed onto the outputs only when the whole run has
// succeeded. A failing run therefore leaves every existing file
// byte-identical, including an input that is also an output.
//
// Outputs that are not regular files ("-" for stdout, /dev/null, /dev/full,
// pipes) are kept in memory and written at commit; a failed write names the
// file and the system's error.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_ATOMICOUTPUT_H
#define KVOPT_CORE_ATOMICOUTPUT_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace kvopt {

/// The outputs of one run.
class OutputSet {
public:
  OutputSet() = default;
  OutputSet(const OutputSet &) = delete;
  OutputSet &operator=(const OutputSet &) = delete;
  /// Removes every temporary that was not committed.
  ~OutputSet();

  /// Registers `path` as an output and checks now that it can be written:
  /// not a directory, its directory exists and is writable, an existing file
  /// is writable. `option` names where the path came from (e.g. "-o",
  /// "report") for diagnostics. Declaring the same path twice is an error.
  llvm::Error declare(const std::string &path, const std::string &option);

  /// Renders `path`'s contents into its temporary (declaring it first when
  /// needed). Errors, a full disk included, name the path and the error.
  llvm::Error write(const std::string &path,
                    llvm::function_ref<void(llvm::raw_ostream &)> render,
                    const std::string &option = "output");

  /// For writers that take a file name: a fresh temporary next to `path`
  /// that commit() renames onto `path`. Only for regular-file outputs; for
  /// "-" and devices use write().
  llvm::Expected<std::string>
  temporaryFor(const std::string &path, const std::string &option = "output");

  /// True when `path` is written in place at commit (stdout, a device, a
  /// pipe), i.e. temporaryFor() cannot be used for it.
  static bool isSpecial(const std::string &path);

  /// Moves every written output into place; special outputs first (they
  /// are the ones that can still fail), then the renames.
  llvm::Error commit();

  /// Drops every temporary; nothing is written.
  void discard();

  /// The set the running tool made current, or null.
  static OutputSet *current();

  /// Makes a set current for a scope (a tool's run).
  class Scope {
  public:
    explicit Scope(OutputSet &set);
    ~Scope();

  private:
    OutputSet *previous;
  };

private:
  struct Entry {
    std::string path, option, temp, memory;
    bool special = false, written = false;
  };
  Entry *find(const std::string &path);
  std::vector<Entry> entries;
};

/// Writes one output: into the current OutputSet when a tool has one (it is
/// committed with the rest of the run), else atomically on its own.
llvm::Error writeOutput(const std::string &path,
                        llvm::function_ref<void(llvm::raw_ostream &)> render,
                        const std::string &option = "output");

} // namespace kvopt

#endif // KVOPT_CORE_ATOMICOUTPUT_H
