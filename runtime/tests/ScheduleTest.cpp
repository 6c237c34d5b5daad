//===- ScheduleTest.cpp - Schedule builder and side-file format -*- C++ -*-===//
//
// Round trips through memory and files, and every kind of damaged file:
// wrong magic, version, sizes, checksum, truncation, out-of-order or
// self-inconsistent records.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

using namespace kvrt::test;

namespace {

bool messageHas(const char *needle) {
  return std::string(kvrt_last_error()).find(needle) != std::string::npos;
}

SchedulePtr sampleSchedule(uint64_t seed = 1) {
  kvrt_cache_config c = smallConfig();
  std::mt19937_64 rng(seed);
  SchedulePtr s = randomPlacement(c, 5, 8, rng);
  addRandomMigrations(s.get(), c, c.hbm_capacity_blocks, 2, rng);
  EXPECT_EQ(kvrt_schedule_set_assumptions(s.get(), c.block_tokens,
                                          c.hbm_capacity_blocks),
            KVRT_OK);
  return s;
}

std::vector<uint8_t> serialise(const kvrt_schedule *s) {
  void *data = nullptr;
  size_t size = 0;
  EXPECT_EQ(kvrt_schedule_write_memory(s, &data, &size), KVRT_OK)
      << kvrt_last_error();
  std::vector<uint8_t> out(static_cast<uint8_t *>(data),
                           static_cast<uint8_t *>(data) + size);
  kvrt_free(data);
  return out;
}

void expectEqual(const kvrt_schedule *a, const kvrt_schedule *b) {
  ASSERT_EQ(kvrt_schedule_num_layers(a), kvrt_schedule_num_layers(b));
  ASSERT_EQ(kvrt_schedule_blocks_per_layer(a),
            kvrt_schedule_blocks_per_layer(b));
  ASSERT_EQ(kvrt_schedule_num_steps(a), kvrt_schedule_num_steps(b));
  ASSERT_EQ(kvrt_schedule_num_migrations(a), kvrt_schedule_num_migrations(b));
  for (size_t i = 0; i < kvrt_schedule_num_migrations(a); ++i) {
    kvrt_migration x, y;
    ASSERT_EQ(kvrt_schedule_get_migration(a, i, &x), KVRT_OK);
    ASSERT_EQ(kvrt_schedule_get_migration(b, i, &y), KVRT_OK);
    EXPECT_EQ(x.step, y.step);
    EXPECT_EQ(x.layer, y.layer);
    EXPECT_EQ(x.first_block, y.first_block);
    EXPECT_EQ(x.count, y.count);
    EXPECT_EQ(x.direction, y.direction);
  }
  for (uint32_t l = 0; l < kvrt_schedule_num_layers(a); ++l)
    for (uint32_t k = 0; k < kvrt_schedule_blocks_per_layer(a); ++k) {
      kvrt_tier x, y;
      ASSERT_EQ(kvrt_schedule_initial_tier(a, l, k, &x), KVRT_OK);
      ASSERT_EQ(kvrt_schedule_initial_tier(b, l, k, &y), KVRT_OK);
      EXPECT_EQ(x, y);
    }
}

kvrt_status parse(const std::vector<uint8_t> &bytes) {
  kvrt_schedule *s = nullptr;
  static const uint8_t empty = 0;
  kvrt_status st = kvrt_schedule_read_memory(
      bytes.empty() ? &empty : bytes.data(), bytes.size(), &s);
  kvrt_schedule_destroy(s);
  return st;
}

/// Rewrites the trailing checksum so only the intended damage is detected.
void reseal(std::vector<uint8_t> &bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i + 8 < bytes.size(); ++i) {
    h ^= bytes[i];
    h *= 0x100000001b3ull;
  }
  for (int i = 0; i < 8; ++i)
    bytes[bytes.size() - 8 + i] = static_cast<uint8_t>(h >> (8 * i));
}

TEST(Schedule, MemoryRoundTrip) {
  SchedulePtr s = sampleSchedule();
  ASSERT_GT(kvrt_schedule_num_migrations(s.get()), 10u);
  std::vector<uint8_t> bytes = serialise(s.get());
  EXPECT_EQ(bytes.size(),
            64 + 3 * 2 + 16 * kvrt_schedule_num_migrations(s.get()) + 8);
  kvrt_schedule *raw = nullptr;
  ASSERT_EQ(kvrt_schedule_read_memory(bytes.data(), bytes.size(), &raw),
            KVRT_OK)
      << kvrt_last_error();
  SchedulePtr back(raw);
  expectEqual(s.get(), back.get());
  EXPECT_EQ(serialise(back.get()), bytes);
  // The recorded assumptions come back through the queries.
  kvrt_cache_config c = smallConfig();
  EXPECT_EQ(kvrt_schedule_block_tokens(back.get()), c.block_tokens);
  EXPECT_EQ(kvrt_schedule_hbm_capacity(back.get()), c.hbm_capacity_blocks);
}

TEST(Schedule, FileRoundTripAndArraysWriter) {
  std::string path = ::testing::TempDir() + "kvrt_schedule_test.kvs";
  SchedulePtr s = sampleSchedule(2);
  ASSERT_EQ(kvrt_schedule_write(s.get(), path.c_str()), KVRT_OK);
  kvrt_schedule *raw = nullptr;
  ASSERT_EQ(kvrt_schedule_read(path.c_str(), &raw), KVRT_OK)
      << kvrt_last_error();
  SchedulePtr back(raw);
  expectEqual(s.get(), back.get());

  // The one-call writer with a mask and an unsorted migration list.
  uint32_t layers = 2, blocks = 10;
  std::vector<uint8_t> mask(layers * blocks, 0);
  mask[3] = mask[12] = 1;
  std::vector<kvrt_migration> ms = {{5, 1, 2, 1, KVRT_DEMOTE},
                                    {1, 0, 3, 1, KVRT_DEMOTE},
                                    {5, 1, 4, 2, KVRT_PROMOTE},
                                    {2, 0, 0, 3, KVRT_PROMOTE}};
  ASSERT_EQ(kvrt_schedule_write_arrays(path.c_str(), layers, blocks, 6,
                                       mask.data(), ms.data(), ms.size()),
            KVRT_OK)
      << kvrt_last_error();
  ASSERT_EQ(kvrt_schedule_read(path.c_str(), &raw), KVRT_OK)
      << kvrt_last_error();
  SchedulePtr arrays(raw);
  ASSERT_EQ(kvrt_schedule_num_migrations(arrays.get()), 4u);
  kvrt_migration m;
  ASSERT_EQ(kvrt_schedule_get_migration(arrays.get(), 0, &m), KVRT_OK);
  EXPECT_EQ(m.step, 1u);
  ASSERT_EQ(kvrt_schedule_get_migration(arrays.get(), 2, &m), KVRT_OK);
  EXPECT_EQ(m.direction, KVRT_DEMOTE); // Demotion first within (5, 1).
  kvrt_tier t;
  ASSERT_EQ(kvrt_schedule_initial_tier(arrays.get(), 1, 2, &t), KVRT_OK);
  EXPECT_EQ(t, KVRT_TIER_HBM);
  std::remove(path.c_str());
}

TEST(Schedule, CorruptFilesAreRejected) {
  std::vector<uint8_t> good = serialise(sampleSchedule(3).get());
  ASSERT_EQ(parse(good), KVRT_OK);

  // Every truncation is detected.
  for (size_t n = 0; n < good.size(); n += 7) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    EXPECT_EQ(parse(cut), KVRT_ERR_FORMAT) << n;
  }
  // Every single flipped byte is detected (checksum or structure).
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x5a;
    EXPECT_NE(parse(bad), KVRT_OK) << i;
  }
  std::vector<uint8_t> bad = good;
  bad[0] = 'X';
  EXPECT_EQ(parse(bad), KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("bad magic"));
  bad = good;
  bad[8] = 3;
  reseal(bad);
  EXPECT_EQ(parse(bad), KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("version 3"));
  // A version 1 file relabelled 2 lacks the window section.
  bad = good;
  bad[8] = 2;
  reseal(bad);
  EXPECT_EQ(parse(bad), KVRT_ERR_FORMAT);
  bad = good;
  bad[bad.size() - 1] ^= 1;
  EXPECT_EQ(parse(bad), KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("checksum"));
  bad = good;
  bad.insert(bad.end() - 8, 16, 0); // an extra record the header doesn't list
  reseal(bad);
  EXPECT_EQ(parse(bad), KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("truncated or corrupt"));
}

TEST(Schedule, SemanticErrorsInFiles) {
  std::vector<uint8_t> good = serialise(sampleSchedule(4).get());
  size_t records = 64 + 3 * 2;
  // Direction byte of record 0 set to 3.
  std::vector<uint8_t> bad = good;
  bad[records + 14] = 3;
  reseal(bad);
  EXPECT_EQ(parse(bad), KVRT_ERR_FORMAT);
  EXPECT_TRUE(messageHas("direction"));
  // Layer of record 0 beyond the schedule's layers.
  bad = good;
  bad[records + 12] = 200;
  reseal(bad);
  EXPECT_NE(parse(bad), KVRT_OK);
  // Step of the last record made smaller than its predecessor's.
  bad = good;
  size_t last =
      records +
      16 * (kvrt_schedule_num_migrations(sampleSchedule(4).get()) - 1);
  bad[last] = 0;
  bad[last + 1] = 0;
  bad[last + 2] = 0;
  bad[last + 3] = 0;
  reseal(bad);
  EXPECT_NE(parse(bad), KVRT_OK);
  // A promotion of a block that is initially in HBM.
  kvrt_schedule *raw = nullptr;
  ASSERT_EQ(kvrt_schedule_create(1, 4, 2, &raw), KVRT_OK);
  SchedulePtr s(raw);
  ASSERT_EQ(kvrt_schedule_set_placement(s.get(), 0, 1, 1, KVRT_TIER_HBM),
            KVRT_OK);
  kvrt_migration m{1, 0, 0, 2, KVRT_PROMOTE};
  ASSERT_EQ(kvrt_schedule_add_migrations(s.get(), &m, 1), KVRT_OK);
  EXPECT_EQ(kvrt_schedule_check(s.get()), KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("block 1 is already in HBM"));
  void *data = nullptr;
  size_t size = 0;
  EXPECT_EQ(kvrt_schedule_write_memory(s.get(), &data, &size),
            KVRT_ERR_MISMATCH);
}

TEST(Schedule, BuilderErrors) {
  kvrt_schedule *s = nullptr;
  EXPECT_EQ(kvrt_schedule_create(0, 4, 1, &s), KVRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kvrt_schedule_create(70000, 4, 1, &s), KVRT_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(kvrt_schedule_create(2, 4, 3, &s), KVRT_OK);
  SchedulePtr holder(s);
  EXPECT_EQ(kvrt_schedule_set_placement(s, 2, 0, 1, KVRT_TIER_HBM),
            KVRT_ERR_MISMATCH);
  EXPECT_EQ(kvrt_schedule_set_placement(s, 0, 3, 2, KVRT_TIER_HBM),
            KVRT_ERR_MISMATCH);
  kvrt_migration m{3, 0, 0, 1, KVRT_PROMOTE};
  EXPECT_EQ(kvrt_schedule_add_migrations(s, &m, 1), KVRT_ERR_MISMATCH);
  EXPECT_TRUE(messageHas("step 3 out of range"));
  m = {0, 0, 0, 1, (kvrt_direction)2};
  EXPECT_EQ(kvrt_schedule_add_migrations(s, &m, 1), KVRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kvrt_schedule_num_migrations(s), 0u);
  kvrt_migration out;
  EXPECT_EQ(kvrt_schedule_get_migration(s, 0, &out), KVRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kvrt_schedule_read("/nonexistent/kvrt.kvs", &s), KVRT_ERR_IO);
  EXPECT_TRUE(messageHas("cannot open"));
  EXPECT_EQ(s, nullptr);
}

} // namespace
