//===- TraceCsv.cpp - The seed's n,l,read_kv CSV traces ------------------===//
//
// SEED-MODEL.md section 1. A first pass reads only the n and l columns to
// find the prompt length (first n), the decode length (last n - first n + 1)
// and the layer count (rows of the first n); the second pass streams the
// rows and turns each full list into a delta against the previous list of
// the same layer. Errors name the file, the line and the field.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/TraceIO.h"

#include <algorithm>
#include <fstream>

using namespace kvopt;

namespace {

/// Parse the leading "n,l," of a row; returns the offset of the list field.
bool parseKey(const std::string &line, uint64_t &n, uint64_t &l, size_t &rest,
              std::string &field) {
  size_t p = 0;
  auto num = [&](uint64_t &out, const char *name) {
    size_t start = p;
    out = 0;
    while (p < line.size() && line[p] >= '0' && line[p] <= '9') {
      out = out * 10 + uint64_t(line[p] - '0');
      if (out > UINT32_MAX) {
        field = name;
        return false;
      }
      ++p;
    }
    if (p == start || p >= line.size() || line[p] != ',') {
      field = name;
      return false;
    }
    ++p;
    return true;
  };
  if (!num(n, "n") || !num(l, "l"))
    return false;
  rest = p;
  return true;
}

class SeedCsvReader : public TraceSource {
public:
  static llvm::Expected<std::unique_ptr<TraceSource>>
  open(const std::string &path) {
    auto r = std::unique_ptr<SeedCsvReader>(new SeedCsvReader());
    r->path = path;
    if (auto e = r->scan())
      return std::move(e);
    if (auto e = r->rewind())
      return std::move(e);
    return std::unique_ptr<TraceSource>(std::move(r));
  }

  const TraceHeader &header() const override { return h; }
  std::string describe() const override { return path; }
  llvm::Expected<std::unique_ptr<TraceSource>> reopen() const override {
    auto r = std::unique_ptr<SeedCsvReader>(new SeedCsvReader());
    r->path = path;
    r->h = h;
    if (auto e = r->rewind())
      return std::move(e);
    return std::unique_ptr<TraceSource>(std::move(r));
  }

  llvm::Expected<bool> next(TraceRecord &rec) override {
    std::string text;
    if (tracker->applied() == h.recordCount()) {
      while (std::getline(in, text)) {
        ++line;
        if (text.find_first_not_of(" \t\r") != std::string::npos)
          return makeLineError(path, line, "n",
                               "row after the last step's rows");
      }
      return false;
    }
    do {
      if (!std::getline(in, text))
        return makeLineError(path, line, "n",
                             "truncated: file ended after " +
                                 std::to_string(tracker->applied()) + " of " +
                                 std::to_string(h.recordCount()) + " rows");
      ++line;
    } while (text.find_first_not_of(" \t\r") == std::string::npos);
    uint64_t n, l;
    size_t p;
    std::string field;
    if (!parseKey(text, n, l, p, field))
      return makeLineError(path, line, field, "expected a number and ','");
    uint64_t expectN = uint64_t(h.promptLen) + tracker->applied() / h.layers;
    uint64_t expectL = tracker->applied() % h.layers;
    if (n != expectN)
      return makeLineError(path, line, "n",
                           "expected n = " + std::to_string(expectN) +
                               " (rows grouped by n, ascending), got " +
                               std::to_string(n));
    if (l != expectL)
      return makeLineError(path, line, "l",
                           "expected layer " + std::to_string(expectL) +
                               " (layers 0.." + std::to_string(h.layers - 1) +
                               " in order), got " + std::to_string(l));
    // The list: optional quotes, '[', comma-separated integers, ']'.
    cur.clear();
    while (p < text.size() && (text[p] == '"' || text[p] == ' '))
      ++p;
    if (p >= text.size() || text[p] != '[')
      return makeLineError(path, line, "read_kv", "expected '['");
    ++p;
    bool closed = false;
    while (p < text.size()) {
      char c = text[p];
      if (c == ' ' || c == ',') {
        ++p;
        continue;
      }
      if (c == ']') {
        closed = true;
        break;
      }
      if (c < '0' || c > '9')
        return makeLineError(path, line,
                             "read_kv[" + std::to_string(cur.size()) + "]",
                             std::string("unexpected character '") + c + "'");
      uint64_t v = 0;
      while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
        v = v * 10 + uint64_t(text[p] - '0');
        if (v >= n)
          break;
        ++p;
      }
      if (v >= n)
        return makeLineError(
            path, line, "read_kv[" + std::to_string(cur.size()) + "]",
            "token index " + std::to_string(v) + " out of range: step n = " +
                std::to_string(n) + " reads only indices < n");
      cur.push_back(uint32_t(v));
    }
    if (!closed)
      return makeLineError(path, line, "read_kv", "missing ']'");
    std::sort(cur.begin(), cur.end());
    for (size_t i = 1; i < cur.size(); ++i)
      if (cur[i] == cur[i - 1])
        return makeLineError(path, line, "read_kv",
                             "token " + std::to_string(cur[i]) +
                                 " listed twice");
    std::vector<uint32_t> &old = prev[l];
    added.clear();
    removed.clear();
    std::set_difference(cur.begin(), cur.end(), old.begin(), old.end(),
                        std::back_inserter(added));
    std::set_difference(old.begin(), old.end(), cur.begin(), cur.end(),
                        std::back_inserter(removed));
    old.swap(cur);
    rec.step = uint32_t(n - h.promptLen);
    rec.layer = uint32_t(l);
    rec.seq = 0;
    rec.added = added;
    rec.removed = removed;
    std::string msg;
    if (!tracker->apply(rec, field, msg))
      return makeLineError(path, line, field, msg);
    return true;
  }

private:
  SeedCsvReader() = default;

  llvm::Error readHeaderLine(std::ifstream &f, uint64_t &ln) {
    std::string text;
    if (!std::getline(f, text))
      return makeLineError(path, 1, "header", "empty file");
    ln = 1;
    if (!text.empty() && text.back() == '\r')
      text.pop_back();
    if (text != "n,l,read_kv")
      return makeLineError(path, 1, "header",
                           "expected 'n,l,read_kv', got '" +
                               text.substr(0, 40) + "'");
    return llvm::Error::success();
  }

  llvm::Error scan() {
    std::ifstream f(path);
    if (!f)
      return makeLineError(path, 0, "file", "cannot open");
    uint64_t ln;
    if (auto e = readHeaderLine(f, ln))
      return e;
    std::string text;
    bool any = false;
    uint64_t first = 0, last = 0, layers = 0;
    while (std::getline(f, text)) {
      ++ln;
      if (text.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      uint64_t n, l;
      size_t p;
      std::string field;
      if (!parseKey(text, n, l, p, field))
        return makeLineError(path, ln, field, "expected a number and ','");
      if (!any) {
        first = n;
        any = true;
      }
      if (n == first)
        ++layers;
      if (n < last)
        return makeLineError(path, ln, "n",
                             "rows must be grouped by ascending n (" +
                                 std::to_string(n) + " after " +
                                 std::to_string(last) + ")");
      last = n;
    }
    if (!any)
      return makeLineError(path, ln, "n", "no rows");
    h.layers = uint32_t(layers);
    h.batch = 1;
    h.promptLen = uint32_t(first);
    h.decodeSteps = uint32_t(last - first + 1);
    if (first == 0)
      return makeLineError(path, 2, "n",
                           "the first n is the prompt length and must be > 0");
    return h.validate(path);
  }

  llvm::Error rewind() {
    in = std::ifstream(path);
    if (!in)
      return makeLineError(path, 0, "file", "cannot open");
    if (auto e = readHeaderLine(in, line))
      return e;
    prev.assign(h.layers, {});
    tracker = std::make_unique<ReadSetTracker>(h);
    return llvm::Error::success();
  }

  std::string path;
  TraceHeader h;
  std::ifstream in;
  uint64_t line = 0;
  std::unique_ptr<ReadSetTracker> tracker;
  std::vector<std::vector<uint32_t>> prev;
  std::vector<uint32_t> cur, added, removed;
};

} // namespace

llvm::Expected<std::unique_ptr<TraceSource>>
kvopt::openSeedCsvTrace(const std::string &path) {
  return SeedCsvReader::open(path);
}

llvm::Error kvopt::writeSeedCsvTrace(TraceSource &src,
                                     const std::string &path) {
  const TraceHeader &h = src.header();
  if (h.batch != 1)
    return makeFieldError(path, "batch",
                          "the seed CSV form holds one sequence");
  std::ofstream f(path);
  if (!f)
    return makeLineError(path, 0, "file", "cannot create");
  f << "n,l,read_kv\n";
  std::vector<std::vector<uint32_t>> sets(h.layers);
  TraceRecord rec;
  std::vector<uint32_t> merged;
  while (true) {
    llvm::Expected<bool> more = src.next(rec);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    std::vector<uint32_t> &s = sets[rec.layer];
    merged.clear();
    std::vector<uint32_t> kept;
    std::set_difference(s.begin(), s.end(), rec.removed.begin(),
                        rec.removed.end(), std::back_inserter(kept));
    std::set_union(kept.begin(), kept.end(), rec.added.begin(), rec.added.end(),
                   std::back_inserter(merged));
    s.swap(merged);
    f << (uint64_t(h.promptLen) + rec.step) << ',' << rec.layer << ",\"[";
    for (size_t i = 0; i < s.size(); ++i)
      f << (i ? "," : "") << s[i];
    f << "]\"\n";
  }
  if (!f)
    return makeLineError(path, 0, "file", "write failed");
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<TraceSource>>
kvopt::openTrace(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return makeLocatedError(path, 0, "file", "cannot open");
  char head[11] = {0};
  f.read(head, 11);
  std::string s(head, size_t(f.gcount()));
  if (s.size() >= 8 && s.compare(0, 7, "KVTRACE") == 0)
    return openBinaryTrace(path);
  if (s.compare(0, 7, "kvtrace") == 0 || (!s.empty() && s[0] == '#'))
    return openTextTrace(path);
  if (s.compare(0, 11, "n,l,read_kv") == 0)
    return openSeedCsvTrace(path);
  return makeLocatedError(path, 0, "magic",
                          "unknown trace format (expected a KVTRACE binary, a "
                          "'kvtrace 1' text or an 'n,l,read_kv' CSV file)");
}
