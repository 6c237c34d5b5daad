//===- ToolHandlers.h - No user error ends in a crash ------------*- C++ -*-===//
//
// Part of kv-opt. Every tool installs these handlers at start: LLVM fatal
// errors (I/O failures included), allocation failures and escaped
// exceptions are reported as "TOOL: error: ..." with exit status 1 instead
// of an abort. An out-of-memory names what was being built (an Activity).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_TOOLHANDLERS_H
#define KVOPT_CORE_TOOLHANDLERS_H

namespace kvopt {

/// Installs the fatal-error, bad-alloc, new and terminate handlers.
void installToolHandlers(const char *toolName);

/// Names what the tool is building while it is alive ("the trace index for
/// 2097152 tokens"); out-of-memory reports quote the innermost one. `what`
/// must outlive the Activity.
class Activity {
public:
  explicit Activity(const char *what);
  ~Activity();
  Activity(const Activity &) = delete;
  Activity &operator=(const Activity &) = delete;

private:
  const char *previous;
};

} // namespace kvopt

#endif // KVOPT_CORE_TOOLHANDLERS_H
