//===- ToolHandlers.cpp - No user error ends in a crash -------------------===//
#include "kvopt/Core/ToolHandlers.h"

#include "llvm/Support/ErrorHandling.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <unistd.h>

using namespace kvopt;

static const char *toolName = "kv-opt";
static thread_local const char *activity = nullptr;

/// Async-signal-safe-ish output: no allocation (we may be out of memory).
static void say(const char *s) {
  if (s)
    (void)!::write(2, s, std::strlen(s));
}

[[noreturn]] static void outOfMemory() {
  say(toolName);
  say(": error: out of memory");
  if (activity) {
    say(" while building ");
    say(activity);
  }
  say("; reduce the problem (tokens, batch, layers) or use a machine with "
      "more memory\n");
  std::_Exit(1);
}

static void onFatal(void *, const char *reason, bool) {
  say(toolName);
  say(": error: ");
  say(reason);
  if (activity) {
    say(" (while building ");
    say(activity);
    say(")");
  }
  say("\n");
  std::_Exit(1);
}

static void onBadAlloc(void *, const char *, bool) { outOfMemory(); }

[[noreturn]] static void onTerminate() {
  say(toolName);
  say(": error: ");
  if (std::exception_ptr p = std::current_exception()) {
    try {
      std::rethrow_exception(p);
    } catch (const std::bad_alloc &) {
      outOfMemory();
    } catch (const std::exception &e) {
      say("internal error: ");
      say(e.what());
    } catch (...) {
      say("internal error: unknown exception");
    }
  } else {
    say("internal error: terminate called");
  }
  if (activity) {
    say(" (while building ");
    say(activity);
    say(")");
  }
  say("\n");
  std::_Exit(1);
}

void kvopt::installToolHandlers(const char *name) {
  toolName = name;
  llvm::remove_fatal_error_handler();
  llvm::install_fatal_error_handler(onFatal);
  llvm::remove_bad_alloc_error_handler();
  llvm::install_bad_alloc_error_handler(onBadAlloc);
  std::set_new_handler(outOfMemory);
  std::set_terminate(onTerminate);
}

Activity::Activity(const char *what) : previous(activity) { activity = what; }

Activity::~Activity() { activity = previous; }
