//===- ScheduleTextTest.cpp - Schedule text files with windows ------------===//
//
// A schedule of a workload with sliding-window layers is written as version
// 2 (with its windows) and reads back unchanged; a problem with other
// windows refuses it; a workload without windows still writes version 1.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/ScheduleText.h"

#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

ScheduleShape shape(std::vector<uint32_t> windows) {
  ScheduleShape s{2, 1, 3, 3, 2, std::move(windows)};
  return s;
}

Schedule sample() {
  Schedule s;
  s.initialHbm = {0, 3};
  for (int r = 0; r < 6; ++r)
    if (r == 2)
      s.addRecord({3}, {0}, true);
    else
      s.addRecord({}, {}, false);
  return s;
}

std::string text(const ScheduleShape &shape, const Schedule &s) {
  std::string out;
  llvm::raw_string_ostream os(out);
  writeScheduleText(os, shape, s);
  return out;
}

TEST(ScheduleText, WindowsRoundTrip) {
  std::string t = text(shape({4, 0}), sample());
  EXPECT_EQ(t.rfind("kvopt-schedule 2\n", 0), 0u) << t;
  EXPECT_NE(t.find("\nwindows 4 0\n"), std::string::npos) << t;
  auto back = readScheduleText(t, "s.txt", shape({4, 0}));
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(text(shape({4, 0}), *back), t);
}

TEST(ScheduleText, OtherWindowsAreRefused) {
  std::string t = text(shape({4, 0}), sample());
  auto back = readScheduleText(t, "s.txt", shape({8, 0}));
  ASSERT_FALSE(bool(back));
  std::string msg = llvm::toString(back.takeError());
  EXPECT_NE(msg.find("window of 4 tokens on layer 0 but the problem has 8"),
            std::string::npos)
      << msg;
}

TEST(ScheduleText, NoWindowsIsVersion1) {
  std::string t = text(shape({}), sample());
  EXPECT_EQ(t.rfind("kvopt-schedule 1\n", 0), 0u) << t;
  EXPECT_EQ(t.find("windows"), std::string::npos) << t;
  auto back = readScheduleText(t, "s.txt", shape({}));
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
}

} // namespace
