//===- TraceText.cpp - The line-based text trace form --------------------===//
//
//   kvtrace 1 layers=L batch=B prompt=P decode=D
//   <step> <layer> <seq> + a b c - d e
//
// Errors name the file, the line and the field.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/TraceIO.h"

#include <fstream>
#include <functional>
#include <sstream>

using namespace kvopt;

namespace {

class TextTraceReader : public TraceSource {
public:
  using StreamFactory = std::function<std::unique_ptr<std::istream>()>;

  static llvm::Expected<std::unique_ptr<TraceSource>>
  open(StreamFactory factory, const std::string &name) {
    auto r = std::unique_ptr<TextTraceReader>(new TextTraceReader());
    r->factory = factory;
    r->name = name;
    r->in = factory();
    if (!r->in || !*r->in)
      return makeLineError(name, 0, "file", "cannot open");
    if (auto e = r->readHeader())
      return std::move(e);
    return std::unique_ptr<TraceSource>(std::move(r));
  }

  const TraceHeader &header() const override { return h; }
  std::string describe() const override { return name; }
  llvm::Expected<std::unique_ptr<TraceSource>> reopen() const override {
    return open(factory, name);
  }

  llvm::Expected<bool> next(TraceRecord &rec) override {
    std::string text;
    while (true) {
      if (!std::getline(*in, text)) {
        if (tracker->applied() != h.recordCount())
          return makeLineError(
              name, line, "record",
              "truncated: " + std::to_string(tracker->applied()) +
                  " records, header promises " +
                  std::to_string(h.recordCount()));
        return false;
      }
      ++line;
      size_t first = text.find_first_not_of(" \t\r");
      if (first == std::string::npos || text[first] == '#')
        continue;
      break;
    }
    if (tracker->applied() == h.recordCount())
      return makeLineError(name, line, "record",
                           "more records than the header's " +
                               std::to_string(h.recordCount()));
    std::istringstream ls(text);
    long long step, layer, seq;
    if (!(ls >> step))
      return makeLineError(name, line, "step", "expected a step number");
    if (!(ls >> layer))
      return makeLineError(name, line, "layer", "expected a layer number");
    if (!(ls >> seq))
      return makeLineError(name, line, "seq", "expected a sequence number");
    if (step < 0 || layer < 0 || seq < 0 || step > UINT32_MAX ||
        layer > UINT32_MAX || seq > UINT32_MAX)
      return makeLineError(name, line, "step", "negative or too large");
    added.clear();
    removed.clear();
    std::vector<uint32_t> *list = nullptr;
    std::string tok;
    while (ls >> tok) {
      if (tok == "+") {
        list = &added;
        continue;
      }
      if (tok == "-") {
        list = &removed;
        continue;
      }
      const char *field = list == &removed ? "removed" : "added";
      if (!list)
        return makeLineError(name, line, "added",
                             "expected '+' or '-' before '" + tok + "'");
      char *end = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(tok.c_str(), &end, 10);
      if (tok[0] == '-' || *end || errno || v > UINT32_MAX)
        return makeLineError(name, line,
                             std::string(field) + "[" +
                                 std::to_string(list->size()) + "]",
                             "not a token index: '" + tok + "'");
      list->push_back(uint32_t(v));
    }
    rec.step = uint32_t(step);
    rec.layer = uint32_t(layer);
    rec.seq = uint32_t(seq);
    rec.added = added;
    rec.removed = removed;
    std::string field, msg;
    if (!tracker->apply(rec, field, msg))
      return makeLineError(name, line, field, msg);
    return true;
  }

private:
  TextTraceReader() = default;

  llvm::Error readHeader() {
    std::string text;
    while (std::getline(*in, text)) {
      ++line;
      size_t first = text.find_first_not_of(" \t\r");
      if (first != std::string::npos && text[first] != '#')
        break;
      text.clear();
    }
    std::istringstream hs(text);
    std::string magic, version;
    hs >> magic >> version;
    if (magic != "kvtrace")
      return makeLineError(name, line, "magic",
                           "expected a 'kvtrace 1 layers=...' header line");
    if (version != "1")
      return makeLineError(name, line, "version",
                           "unsupported version '" + version + "'");
    bool seen[4] = {false, false, false, false};
    std::string kv;
    while (hs >> kv) {
      size_t eq = kv.find('=');
      std::string key = kv.substr(0, eq);
      const char *keys[4] = {"layers", "batch", "prompt", "decode"};
      uint32_t *dst[4] = {&h.layers, &h.batch, &h.promptLen, &h.decodeSteps};
      int which = -1;
      for (int i = 0; i < 4; ++i)
        if (key == keys[i])
          which = i;
      if (which < 0 || eq == std::string::npos)
        return makeLineError(name, line, key, "unknown header field");
      char *end = nullptr;
      std::string val = kv.substr(eq + 1);
      unsigned long long v = std::strtoull(val.c_str(), &end, 10);
      if (val.empty() || *end || v > UINT32_MAX || val[0] == '-')
        return makeLineError(name, line, key, "not a number: '" + val + "'");
      *dst[which] = uint32_t(v);
      seen[which] = true;
    }
    const char *keys[4] = {"layers", "batch", "prompt", "decode"};
    for (int i = 0; i < 4; ++i)
      if (!seen[i])
        return makeLineError(name, line, keys[i], "missing header field");
    if (auto e = h.validate(name + ":" + std::to_string(line)))
      return e;
    tracker = std::make_unique<ReadSetTracker>(h);
    return llvm::Error::success();
  }

  StreamFactory factory;
  std::unique_ptr<std::istream> in;
  std::string name;
  TraceHeader h;
  uint64_t line = 0;
  std::unique_ptr<ReadSetTracker> tracker;
  std::vector<uint32_t> added, removed;
};

} // namespace

llvm::Expected<std::unique_ptr<TraceSource>>
kvopt::openTextTrace(const std::string &path) {
  return TextTraceReader::open(
      [path]() -> std::unique_ptr<std::istream> {
        auto f = std::make_unique<std::ifstream>(path);
        if (!*f)
          return nullptr;
        return f;
      },
      path);
}

llvm::Expected<std::unique_ptr<TraceSource>>
kvopt::openTextTraceBuffer(std::string text, const std::string &name) {
  auto shared = std::make_shared<const std::string>(std::move(text));
  return TextTraceReader::open(
      [shared]() -> std::unique_ptr<std::istream> {
        return std::make_unique<std::istringstream>(*shared);
      },
      name);
}

/// Stream a source as text, one chunk per record, into `sink`.
static llvm::Error
emitText(TraceSource &src,
         const std::function<bool(const std::string &)> &sink) {
  const TraceHeader &h = src.header();
  std::string out = "kvtrace 1 layers=" + std::to_string(h.layers) +
                    " batch=" + std::to_string(h.batch) +
                    " prompt=" + std::to_string(h.promptLen) +
                    " decode=" + std::to_string(h.decodeSteps) + "\n";
  if (!sink(out))
    return makeLineError(src.describe(), 0, "file", "write failed");
  TraceRecord rec;
  while (true) {
    llvm::Expected<bool> more = src.next(rec);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    out = std::to_string(rec.step) + " " + std::to_string(rec.layer) + " " +
          std::to_string(rec.seq) + " +";
    for (uint32_t t : rec.added)
      out += " " + std::to_string(t);
    out += " -";
    for (uint32_t t : rec.removed)
      out += " " + std::to_string(t);
    out += "\n";
    if (!sink(out))
      return makeLineError(src.describe(), 0, "file", "write failed");
  }
  return llvm::Error::success();
}

llvm::Expected<std::string> kvopt::encodeTextTrace(TraceSource &src) {
  std::string all;
  if (auto e = emitText(src, [&](const std::string &chunk) {
        all += chunk;
        return true;
      }))
    return std::move(e);
  return all;
}

llvm::Error kvopt::writeTextTrace(TraceSource &src, const std::string &path) {
  std::ofstream f(path);
  if (!f)
    return makeLineError(path, 0, "file", "cannot create");
  if (auto e = emitText(src, [&](const std::string &chunk) {
        f << chunk;
        return bool(f);
      }))
    return e;
  f.close();
  if (!f)
    return makeLineError(path, 0, "file", "write failed");
  return llvm::Error::success();
}
