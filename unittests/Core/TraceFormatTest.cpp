//===- TraceFormatTest.cpp - Binary, text and seed-CSV trace formats -----===//
#include "TestUtil.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Core/TraceIO.h"

#include <cstdio>
#include <fstream>

using namespace kvopt;
using namespace kvopt::test;

namespace {
const char *kText = R"(kvtrace 1 layers=2 batch=1 prompt=4 decode=3
# step layer seq + added - removed
0 0 0 + 0 1 2 -
0 1 0 + 3 -
1 0 0 + 4 - 0
1 1 0 + 0 -
2 0 0 + 5 - 1 2
2 1 0 + - 3
)";

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "kvopt_" + name;
}

std::vector<std::string> dumpAll(TraceSource &src) {
  std::vector<std::string> out;
  TraceRecord r;
  while (unwrap(src.next(r))) {
    std::string s = std::to_string(r.step) + "/" + std::to_string(r.layer) +
                    "/" + std::to_string(r.seq) + " +";
    for (uint32_t t : r.added)
      s += " " + std::to_string(t);
    s += " -";
    for (uint32_t t : r.removed)
      s += " " + std::to_string(t);
    out.push_back(s);
  }
  return out;
}
} // namespace

TEST(TraceText, ParsesRecords) {
  auto src = unwrap(openTextTraceBuffer(kText, "t.txt"));
  EXPECT_EQ(src->header().layers, 2u);
  EXPECT_EQ(src->header().decodeSteps, 3u);
  std::vector<std::string> recs = dumpAll(*src);
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(recs[2], "1/0/0 + 4 - 0");
  EXPECT_EQ(recs[4], "2/0/0 + 5 - 1 2");
  TraceStats st =
      unwrap(computeTraceStats(*unwrap(openTextTraceBuffer(kText, "t"))));
  // Read-set sizes: 3,1 | 3,2 | 2,1 -> 12 accesses.
  EXPECT_EQ(st.accesses, 12u);
}

TEST(TraceBinary, RoundTripText) {
  auto src = unwrap(openTextTraceBuffer(kText, "t.txt"));
  std::string bin = unwrap(encodeBinaryTrace(*src));
  auto back = unwrap(openBinaryTraceBuffer(bin, "t.bin"));
  std::string text = unwrap(encodeTextTrace(*back));
  auto again = unwrap(openTextTraceBuffer(text, "again"));
  auto orig = unwrap(openTextTraceBuffer(kText, "t.txt"));
  EXPECT_EQ(dumpAll(*again), dumpAll(*orig));
}

TEST(TraceBinary, RoundTripGeneratedFile) {
  GeneratorParams g;
  g.layers = 3;
  g.batch = 2;
  g.promptLen = 300;
  g.decodeSteps = 40;
  auto gen = unwrap(makeGenerator(g));
  std::string path = tempPath("gen.kvt");
  uint64_t bytes = unwrap(writeBinaryTrace(*gen, path));
  EXPECT_GT(bytes, 36u);
  auto fromFile = unwrap(openBinaryTrace(path));
  auto fresh = unwrap(makeGenerator(g));
  EXPECT_EQ(dumpAll(*fromFile), dumpAll(*fresh));
  // reopen() streams the same records again.
  auto re = unwrap(fromFile->reopen());
  auto fresh2 = unwrap(makeGenerator(g));
  EXPECT_EQ(dumpAll(*re), dumpAll(*fresh2));
  std::remove(path.c_str());
}

TEST(TraceBinary, EveryTruncationIsALocatedError) {
  auto src = unwrap(openTextTraceBuffer(kText, "t.txt"));
  std::string bin = unwrap(encodeBinaryTrace(*src));
  for (size_t len = 0; len < bin.size(); ++len) {
    auto r = openBinaryTraceBuffer(bin.substr(0, len), "cut.bin");
    std::string msg;
    if (!r) {
      msg = errorToString(r.takeError());
    } else {
      TraceRecord rec;
      while (true) {
        auto more = (*r)->next(rec);
        if (!more) {
          msg = errorToString(more.takeError());
          break;
        }
        ASSERT_TRUE(*more) << "truncated file at " << len << " read to the end";
      }
    }
    EXPECT_NE(msg.find("cut.bin:offset "), std::string::npos) << msg;
    EXPECT_NE(msg.find("field '"), std::string::npos) << msg;
  }
}

TEST(TraceBinary, CorruptBytesAreDetected) {
  auto src = unwrap(openTextTraceBuffer(kText, "t.txt"));
  std::string bin = unwrap(encodeBinaryTrace(*src));
  for (size_t i = 0; i < bin.size(); ++i) {
    std::string bad = bin;
    bad[i] ^= 0x5a;
    auto r = openBinaryTraceBuffer(bad, "bad.bin");
    bool failed = !r;
    if (!r) {
      llvm::consumeError(r.takeError());
    } else {
      TraceRecord rec;
      while (true) {
        auto more = (*r)->next(rec);
        if (!more) {
          llvm::consumeError(more.takeError());
          failed = true;
          break;
        }
        if (!*more)
          break;
      }
    }
    EXPECT_TRUE(failed) << "flipping byte " << i << " went unnoticed";
  }
  std::string bad = bin;
  bad[40] ^= 1; // inside the first record's payload
  auto r = unwrap(openBinaryTraceBuffer(bad, "crc.bin"));
  TraceRecord rec;
  std::string msg = errorOf(r->next(rec));
  EXPECT_NE(msg.find("record_crc"), std::string::npos) << msg;
  EXPECT_NE(msg.find("step 0, layer 0"), std::string::npos) << msg;
}

TEST(TraceBinary, HeaderErrors) {
  std::string msg = errorOf(openBinaryTraceBuffer("NOTATRACE.......", "x.bin"));
  EXPECT_NE(msg.find("x.bin:offset 0: field 'magic'"), std::string::npos)
      << msg;
  msg = errorOf(openBinaryTrace("/nonexistent/trace.kvt"));
  EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;
  auto src = unwrap(openTextTraceBuffer(kText, "t.txt"));
  std::string bin = unwrap(encodeBinaryTrace(*src));
  bin += "junk";
  auto r = unwrap(openBinaryTraceBuffer(bin, "tail.bin"));
  TraceRecord rec;
  llvm::Expected<bool> more = true;
  while ((more = r->next(rec)) && *more) {
  }
  msg = errorOf(std::move(more));
  EXPECT_NE(msg.find("field 'end': trailing bytes"), std::string::npos) << msg;
}

TEST(TraceBinary, IndexOutOfRangeNamesField) {
  TraceHeader h{1, 1, 4, 2};
  MemoryTrace t(h, "bad");
  t.append(0, 0, 0, {1, 2}, {});
  t.append(1, 0, 0, {5}, {}); // step 1 may read tokens < 5
  std::string bin = unwrap(encodeBinaryTrace(t));
  auto r = unwrap(openBinaryTraceBuffer(bin, "range.bin"));
  TraceRecord rec;
  ASSERT_TRUE(unwrap(r->next(rec)));
  std::string msg = errorOf(r->next(rec));
  EXPECT_NE(msg.find("range.bin:offset "), std::string::npos) << msg;
  EXPECT_NE(msg.find("field 'added[0]'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
}

TEST(TraceBinary, RemovingAbsentTokenIsAnError) {
  TraceHeader h{1, 1, 4, 2};
  MemoryTrace t(h, "bad");
  t.append(0, 0, 0, {1}, {});
  t.append(1, 0, 0, {}, {2});
  std::string bin = unwrap(encodeBinaryTrace(t));
  auto r = unwrap(openBinaryTraceBuffer(bin, "absent.bin"));
  TraceRecord rec;
  ASSERT_TRUE(unwrap(r->next(rec)));
  std::string msg = errorOf(r->next(rec));
  EXPECT_NE(msg.find("removed[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not in the read set"), std::string::npos) << msg;
}

TEST(TraceText, ErrorsNameLineAndField) {
  std::string msg = errorOf(
      openTextTraceBuffer("kvtrace 1 layers=2 batch=1 prompt=4\n", "h.txt"));
  EXPECT_NE(msg.find("h.txt:1: field 'decode'"), std::string::npos) << msg;
  std::string bad =
      "kvtrace 1 layers=1 batch=1 prompt=4 decode=1\n0 0 0 + 1 x -\n";
  auto r = unwrap(openTextTraceBuffer(bad, "b.txt"));
  TraceRecord rec;
  msg = errorOf(r->next(rec));
  EXPECT_NE(msg.find("b.txt:2: field 'added[1]'"), std::string::npos) << msg;
  std::string order =
      "kvtrace 1 layers=2 batch=1 prompt=4 decode=1\n0 1 0 + 1 -\n";
  r = unwrap(openTextTraceBuffer(order, "o.txt"));
  msg = errorOf(r->next(rec));
  EXPECT_NE(msg.find("o.txt:2: field 'layer'"), std::string::npos) << msg;
  std::string shortT =
      "kvtrace 1 layers=1 batch=1 prompt=4 decode=2\n0 0 0 + 1 -\n";
  r = unwrap(openTextTraceBuffer(shortT, "s.txt"));
  ASSERT_TRUE(unwrap(r->next(rec)));
  msg = errorOf(r->next(rec));
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(SeedCsv, ImportsFullListsAsDeltas) {
  std::string path = tempPath("seed.csv");
  {
    std::ofstream f(path);
    f << "n,l,read_kv\n"
      << "4,0,\"[0,1,2]\"\n"
      << "4,1,\"[3]\"\n"
      << "5,0,\"[4, 2, 1]\"\n" // split.py: attention order, with spaces
      << "5,1,\"[0,3]\"\n";
  }
  auto src = unwrap(openTrace(path));
  EXPECT_EQ(src->header().layers, 2u);
  EXPECT_EQ(src->header().promptLen, 4u);
  EXPECT_EQ(src->header().decodeSteps, 2u);
  std::vector<std::string> recs = dumpAll(*src);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0], "0/0/0 + 0 1 2 -");
  EXPECT_EQ(recs[2], "1/0/0 + 4 - 0");
  EXPECT_EQ(recs[3], "1/1/0 + 0 -");
  // Export back to CSV and re-import: same deltas.
  std::string out = tempPath("seed2.csv");
  auto again = unwrap(src->reopen());
  ASSERT_FALSE(bool(writeSeedCsvTrace(*again, out)));
  auto back = unwrap(openSeedCsvTrace(out));
  EXPECT_EQ(dumpAll(*back), recs);
  std::remove(path.c_str());
  std::remove(out.c_str());
}

TEST(SeedCsv, ErrorsNameLineAndField) {
  std::string path = tempPath("bad.csv");
  {
    std::ofstream f(path);
    f << "n,l,read_kv\n4,0,\"[0,1]\"\n5,0,\"[1,5]\"\n";
  }
  auto src = unwrap(openSeedCsvTrace(path));
  TraceRecord rec;
  ASSERT_TRUE(unwrap(src->next(rec)));
  std::string msg = errorOf(src->next(rec));
  EXPECT_NE(msg.find(":3: field 'read_kv[1]'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  {
    std::ofstream f(path);
    f << "step,layer,list\n";
  }
  msg = errorOf(openSeedCsvTrace(path));
  EXPECT_NE(msg.find(":1: field 'header'"), std::string::npos) << msg;
  std::remove(path.c_str());
}
