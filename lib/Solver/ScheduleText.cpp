//===- ScheduleText.cpp - A schedule as a small text file -----------------===//
#include "kvopt/Solver/ScheduleText.h"
#include "kvopt/Core/Error.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

#include <map>

using namespace kvopt;
using namespace kvopt::solver;

ScheduleShape ScheduleShape::of(const Workload &w) {
  ScheduleShape s{w.model.layers, w.batch, w.promptLen, w.decodeSteps,
                  w.tokensPerBlock, {}};
  if (w.hasWindows())
    for (uint32_t l = 0; l < w.model.layers; ++l)
      s.windows.push_back(w.windowOf(l));
  return s;
}

void kvopt::solver::writeMoveLists(llvm::raw_ostream &os,
                                   llvm::ArrayRef<BlockId> demotions,
                                   llvm::ArrayRef<BlockId> promotions) {
  if (!demotions.empty()) {
    os << " demote";
    for (BlockId b : demotions)
      os << " " << b;
  }
  if (!promotions.empty()) {
    os << " promote";
    for (BlockId b : promotions)
      os << " " << b;
  }
}

void kvopt::solver::writeScheduleText(llvm::raw_ostream &os,
                                      const ScheduleShape &s,
                                      const Schedule &schedule) {
  os << "kvopt-schedule " << (s.windows.empty() ? 1 : 2) << "\n"
     << "# blocks: (seq * layers + layer) * blocks_per_seq_layer + index\n"
     << "layers " << s.layers << "\nsequences " << s.sequences << "\nprompt "
     << s.promptLen << "\nsteps " << s.decodeSteps << "\nblock-tokens "
     << s.tokensPerBlock << "\n";
  if (!s.windows.empty()) {
    os << "windows";
    for (uint32_t w : s.windows)
      os << " " << w;
    os << "\n";
  }
  os << "initial-hbm";
  for (BlockId b : schedule.initialHbm)
    os << " " << b;
  os << "\n";
  const uint64_t perStep = uint64_t(s.layers) * s.sequences;
  for (uint64_t r = 0; r < schedule.records(); ++r) {
    auto d = schedule.demotions(r), p = schedule.promotions(r);
    bool n = schedule.newBlockInHbm(r);
    if (d.empty() && p.empty() && !n)
      continue;
    os << "step " << r / perStep << " layer " << r / s.sequences % s.layers
       << " seq " << r % s.sequences << ":";
    writeMoveLists(os, d, p);
    if (n)
      os << " new-block-in-hbm";
    os << "\n";
  }
}

namespace {

struct Decisions {
  std::vector<BlockId> demote, promote;
  bool newInHbm = false;
};

} // namespace

llvm::Expected<Schedule>
kvopt::solver::readScheduleText(llvm::StringRef text, const std::string &file,
                                const ScheduleShape &want) {
  const char *keys[5] = {"layers", "sequences", "prompt", "steps",
                         "block-tokens"};
  const uint32_t wantVal[5] = {want.layers, want.sequences, want.promptLen,
                               want.decodeSteps, want.tokensPerBlock};
  const char *what[5] = {"layers", "sequences", "prompt tokens",
                         "decode steps", "tokens per block"};
  int64_t got[5] = {-1, -1, -1, -1, -1};
  const uint64_t perSeqLayer =
      (uint64_t(want.promptLen) + want.decodeSteps + want.tokensPerBlock - 1) /
      std::max<uint32_t>(1, want.tokensPerBlock);
  const uint64_t blocks = perSeqLayer * want.layers * want.sequences;
  const uint64_t records =
      uint64_t(want.decodeSteps) * want.layers * want.sequences;

  bool sawMagic = false, shapeChecked = false, sawInitial = false;
  // Version 2: the windows line (required there, unknown in version 1).
  unsigned version = 0;
  std::vector<uint32_t> gotWindows;
  bool sawWindows = false;
  Schedule out;
  std::map<uint64_t, Decisions> recs;
  int64_t lastRecord = -1;
  uint64_t lineNo = 0;

  auto number = [&](llvm::StringRef tok, const char *field,
                    uint64_t &v) -> llvm::Error {
    if (tok.getAsInteger(10, v))
      return makeLineError(file, lineNo, field,
                           "expected a non-negative integer, got '" +
                               tok.str() + "'");
    return llvm::Error::success();
  };
  auto block = [&](llvm::StringRef tok, const char *field,
                   BlockId &b) -> llvm::Error {
    uint64_t v;
    if (auto e = number(tok, field, v))
      return e;
    if (v >= blocks)
      return makeLineError(file, lineNo, field,
                           "block " + std::to_string(v) +
                               " out of range (the shape has " +
                               std::to_string(blocks) + " blocks)");
    b = BlockId(v);
    return llvm::Error::success();
  };
  // The shape, once all of it has been read, must be the problem's.
  auto checkShape = [&]() -> llvm::Error {
    if (shapeChecked)
      return llvm::Error::success();
    if (version == 2) {
      if (!sawWindows)
        return makeLineError(file, lineNo, "windows",
                             "missing before the placement (version 2 "
                             "gives one window per layer)");
      std::vector<uint32_t> wantWindows = want.windows;
      wantWindows.resize(want.layers, 0);
      for (uint32_t l = 0; l < want.layers && l < gotWindows.size(); ++l)
        if (gotWindows[l] != wantWindows[l])
          return makeLineError(file, lineNo, "windows",
                               "the schedule has a window of " +
                                   std::to_string(gotWindows[l]) +
                                   " tokens on layer " + std::to_string(l) +
                                   " but the problem has " +
                                   std::to_string(wantWindows[l]));
    }
    for (int k = 0; k < 5; ++k) {
      if (got[k] < 0)
        return makeLineError(file, lineNo, keys[k],
                             "missing before the placement (the shape "
                             "comes first)");
      if (uint64_t(got[k]) != wantVal[k])
        return makeLineError(file, lineNo, keys[k],
                             "the schedule is for " + std::to_string(got[k]) +
                                 " " + what[k] + " but the problem has " +
                                 std::to_string(wantVal[k]));
    }
    shapeChecked = true;
    return llvm::Error::success();
  };

  llvm::SmallVector<llvm::StringRef, 16> lines;
  text.split(lines, '\n');
  for (llvm::StringRef raw : lines) {
    ++lineNo;
    llvm::StringRef line = raw.split('#').first.trim();
    if (line.empty())
      continue;
    llvm::SmallVector<llvm::StringRef, 16> tok;
    line.split(tok, ' ', -1, false);
    if (!sawMagic) {
      if (tok.size() != 2 || tok[0] != "kvopt-schedule")
        return makeLineError(file, lineNo, "kvopt-schedule",
                             "not a kv-opt schedule file (expected "
                             "'kvopt-schedule 1' first)");
      if (tok[1] != "1" && tok[1] != "2")
        return makeLineError(file, lineNo, "kvopt-schedule",
                             "unsupported version '" + tok[1].str() +
                                 "' (expected 1, or 2 with windows)");
      version = tok[1] == "1" ? 1 : 2;
      sawMagic = true;
      continue;
    }
    if (tok[0] == "windows") {
      if (version != 2)
        return makeLineError(file, lineNo, "windows",
                             "windows need 'kvopt-schedule 2' (this file is "
                             "version 1)");
      if (shapeChecked)
        return makeLineError(file, lineNo, "windows",
                             "the shape must come before the placement");
      if (sawWindows)
        return makeLineError(file, lineNo, "windows", "given twice");
      sawWindows = true;
      if (got[0] < 0)
        return makeLineError(file, lineNo, "windows",
                             "must follow 'layers' (one window per layer)");
      if (tok.size() - 1 != uint64_t(got[0]))
        return makeLineError(file, lineNo, "windows",
                             std::to_string(tok.size() - 1) +
                                 " windows for " + std::to_string(got[0]) +
                                 " layers");
      for (size_t i = 1; i < tok.size(); ++i) {
        uint64_t v;
        if (auto e = number(tok[i], "windows", v))
          return e;
        if (v > 0x7fffffffu)
          return makeLineError(file, lineNo, "windows",
                               "window " + std::to_string(v) +
                                   " tokens on layer " +
                                   std::to_string(i - 1) +
                                   " too large (at most 2^31-1)");
        gotWindows.push_back(uint32_t(v));
        uint32_t wantW = i - 1 < want.windows.size() ? want.windows[i - 1] : 0;
        if (uint64_t(got[0]) == want.layers && v != wantW)
          return makeLineError(file, lineNo, "windows",
                               "the schedule has a window of " +
                                   std::to_string(v) + " tokens on layer " +
                                   std::to_string(i - 1) +
                                   " but the problem has " +
                                   std::to_string(wantW));
      }
      continue;
    }
    int key = -1;
    for (int k = 0; k < 5; ++k)
      if (tok[0] == keys[k])
        key = k;
    if (key >= 0) {
      if (shapeChecked)
        return makeLineError(file, lineNo, keys[key],
                             "the shape must come before the placement");
      if (got[key] >= 0)
        return makeLineError(file, lineNo, keys[key], "given twice");
      if (tok.size() != 2)
        return makeLineError(file, lineNo, keys[key],
                             "expected one value after '" +
                                 std::string(keys[key]) + "'");
      uint64_t v;
      if (auto e = number(tok[1], keys[key], v))
        return e;
      if (v > UINT32_MAX)
        return makeLineError(file, lineNo, keys[key],
                             "value " + std::to_string(v) + " too large");
      got[key] = int64_t(v);
      continue;
    }
    if (tok[0] == "initial-hbm") {
      if (auto e = checkShape())
        return e;
      if (sawInitial)
        return makeLineError(file, lineNo, "initial-hbm", "given twice");
      if (lastRecord >= 0)
        return makeLineError(file, lineNo, "initial-hbm",
                             "must come before the records");
      sawInitial = true;
      for (size_t i = 1; i < tok.size(); ++i) {
        BlockId b;
        if (auto e = block(tok[i], "initial-hbm", b))
          return e;
        out.initialHbm.push_back(b);
      }
      continue;
    }
    if (tok[0] == "step") {
      if (auto e = checkShape())
        return e;
      // step S layer L seq Q: ...
      if (tok.size() < 6 || tok[2] != "layer" || tok[4] != "seq" ||
          !tok[5].ends_with(":"))
        return makeLineError(file, lineNo, "step",
                             "expected 'step S layer L seq Q:' followed by "
                             "decisions");
      uint64_t st, la, sq;
      if (auto e = number(tok[1], "step", st))
        return e;
      if (auto e = number(tok[3], "layer", la))
        return e;
      if (auto e = number(tok[5].drop_back(), "seq", sq))
        return e;
      if (st >= want.decodeSteps || la >= want.layers || sq >= want.sequences)
        return makeLineError(
            file, lineNo, st >= want.decodeSteps ? "step"
                          : la >= want.layers    ? "layer"
                                                 : "seq",
            "record (step " + std::to_string(st) + ", layer " +
                std::to_string(la) + ", seq " + std::to_string(sq) +
                ") outside the shape");
      uint64_t r = (st * want.layers + la) * want.sequences + sq;
      if (int64_t(r) <= lastRecord)
        return makeLineError(file, lineNo, "step",
                             "records must be in trace order (step, layer, "
                             "seq), each at most once");
      lastRecord = int64_t(r);
      Decisions &d = recs[r];
      std::vector<BlockId> *list = nullptr;
      bool seen[3] = {false, false, false};
      for (size_t i = 6; i < tok.size(); ++i) {
        int kw = tok[i] == "demote" ? 0 : tok[i] == "promote" ? 1
                 : tok[i] == "new-block-in-hbm"               ? 2
                                                              : -1;
        if (kw >= 0) {
          if (seen[kw])
            return makeLineError(file, lineNo, tok[i].str(), "given twice");
          seen[kw] = true;
          list = kw == 0 ? &d.demote : kw == 1 ? &d.promote : nullptr;
          if (kw == 2)
            d.newInHbm = true;
          continue;
        }
        if (!list)
          return makeLineError(file, lineNo, "step",
                               "unexpected '" + tok[i].str() +
                                   "' (expected demote, promote or "
                                   "new-block-in-hbm)");
        BlockId b;
        if (auto e = block(tok[i], list == &d.demote ? "demote" : "promote", b))
          return e;
        list->push_back(b);
      }
      continue;
    }
    return makeLineError(file, lineNo, tok[0].str(),
                         "unknown key '" + tok[0].str() + "'");
  }
  if (!sawMagic)
    return makeLineError(file, lineNo, "kvopt-schedule",
                         "empty file (expected 'kvopt-schedule 1' first)");
  if (auto e = checkShape())
    return std::move(e);
  for (uint64_t r = 0; r < records; ++r) {
    auto it = recs.find(r);
    if (it == recs.end())
      out.addRecord({}, {}, false);
    else
      out.addRecord(it->second.demote, it->second.promote,
                    it->second.newInHbm);
  }
  return std::move(out);
}
