//===- HostileInputTest.cpp - atomic outputs and bounded inputs ----------===//
#include "kvopt/Core/AtomicOutput.h"
#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/InputLimits.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

using namespace kvopt;

namespace {

std::string readAll(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  return buf ? (*buf)->getBuffer().str() : std::string("<missing>");
}

void writeAll(const std::string &path, const std::string &text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  os << text;
}

struct TempDir {
  llvm::SmallString<128> path;
  TempDir() { llvm::sys::fs::createUniqueDirectory("kvopt-atomic", path); }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(const char *name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
};

TEST(AtomicOutput, NothingChangesUntilCommit) {
  TempDir dir;
  std::string a = dir.file("a.txt"), b = dir.file("b.txt");
  writeAll(a, "old a");
  {
    OutputSet set;
    ASSERT_FALSE(bool(set.declare(a, "first")));
    ASSERT_FALSE(bool(set.write(a, [](llvm::raw_ostream &os) { os << "new a"; })));
    ASSERT_FALSE(bool(set.write(b, [](llvm::raw_ostream &os) { os << "new b"; })));
    EXPECT_EQ(readAll(a), "old a");
    EXPECT_FALSE(llvm::sys::fs::exists(b));
    // Dropped without commit: the run failed.
  }
  EXPECT_EQ(readAll(a), "old a");
  EXPECT_FALSE(llvm::sys::fs::exists(b));
  std::error_code ec;
  unsigned entries = 0;
  for (llvm::sys::fs::directory_iterator it(dir.path, ec), end; it != end && !ec;
       it.increment(ec))
    ++entries;
  EXPECT_EQ(entries, 1u); // no temporary left behind

  OutputSet set;
  ASSERT_FALSE(bool(set.write(a, [](llvm::raw_ostream &os) { os << "new a"; })));
  ASSERT_FALSE(bool(set.write(b, [](llvm::raw_ostream &os) { os << "new b"; })));
  ASSERT_FALSE(bool(set.commit()));
  EXPECT_EQ(readAll(a), "new a");
  EXPECT_EQ(readAll(b), "new b");
}

TEST(AtomicOutput, DeclareChecksUpFront) {
  TempDir dir;
  OutputSet set;
  std::string missing = dir.file("no-dir/x.txt");
  std::string msg = llvm::toString(set.declare(missing, "report"));
  EXPECT_NE(msg.find("(report): directory"), std::string::npos) << msg;
  msg = llvm::toString(set.declare(dir.path.str().str(), "-o"));
  EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
  std::string a = dir.file("a.txt");
  ASSERT_FALSE(bool(set.declare(a, "-o")));
  msg = llvm::toString(set.declare(a, "json"));
  EXPECT_NE(msg.find("also the output of '-o'"), std::string::npos) << msg;
}

TEST(AtomicOutput, FullDiskNamesTheFile) {
  OutputSet set;
  ASSERT_FALSE(bool(set.write("/dev/full", [](llvm::raw_ostream &os) { os << "x"; })));
  std::string msg = llvm::toString(set.commit());
  EXPECT_NE(msg.find("cannot write '/dev/full'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
}

TEST(InputLimits, JsonDepth) {
  std::string deep(100000, '[');
  std::string msg = llvm::toString(checkJsonDepth(deep, "f.json"));
  EXPECT_NE(msg.find("f.json:offset 64: field 'json': nesting deeper than 64"),
            std::string::npos)
      << msg;
  // Brackets inside strings do not count.
  EXPECT_FALSE(bool(checkJsonDepth("{\"a\": \"" + deep + "\"}", "f.json")));
  EXPECT_FALSE(bool(checkJsonDepth("[[[1]]]", "f.json")));
}

TEST(InputLimits, BoundedReads) {
  std::string msg =
      llvm::toString(readBoundedFile("/dev/zero", 1 << 20, "input").takeError());
  EXPECT_NE(msg.find("/dev/zero: field 'input': is a device"), std::string::npos)
      << msg;
  TempDir dir;
  std::string f = dir.file("big");
  writeAll(f, std::string(2000, 'x'));
  msg = llvm::toString(readBoundedFile(f, 1000, "config").takeError());
  EXPECT_NE(msg.find("larger than the limit of 1000 B for config"),
            std::string::npos)
      << msg;
  auto ok = readBoundedFile(f, 4000, "config");
  ASSERT_TRUE(bool(ok));
  EXPECT_EQ((*ok)->getBufferSize(), 2000u);
}

TEST(InputLimits, ByteSizes) {
  EXPECT_EQ(cantFail(parseByteSize("64GB", "m")), 64000000000ull);
  EXPECT_EQ(cantFail(parseByteSize("512 MiB", "m")), 512ull << 20);
  EXPECT_EQ(cantFail(parseByteSize("1e9", "m")), 1000000000ull);
  for (const char *bad : {"", "abc", "12XB", "0", "-5GB", "1e30GB", "5 G B"}) {
    auto r = parseByteSize(bad, "max-memory");
    ASSERT_FALSE(bool(r)) << bad;
    std::string msg = llvm::toString(r.takeError());
    EXPECT_NE(msg.find("max-memory"), std::string::npos) << msg;
  }
}

TEST(InputLimits, HardwareQuantitiesInRange) {
  const char *json = R"({"tiers": [
    {"name": "h", "kind": "HBM", "capacity_gb": 1e12, "read_gbps": 1, "write_gbps": 1},
    {"name": "d", "kind": "DRAM", "capacity_gb": 1, "read_gbps": 1, "write_gbps": 1}],
    "links": [{"from": "d", "to": "h", "forward_gbps": 1, "backward_gbps": 1}]})";
  auto m = parseMemorySystemJSON(json, "hw.json");
  ASSERT_FALSE(bool(m));
  std::string msg = llvm::toString(m.takeError());
  EXPECT_NE(msg.find("hw.json: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("field 'tiers[0].capacity': value out of range: 1e+21 B"),
            std::string::npos)
      << msg;
}

} // namespace
