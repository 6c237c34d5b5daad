//===- HardwareTest.cpp - Memory systems, presets, validation ------------===//
#include "kvopt/Core/Hardware.h"
#include "TestUtil.h"

using namespace kvopt;
using namespace kvopt::test;

TEST(Hardware, AllPresetsValidate) {
  std::vector<std::string> names = listHardwarePresets();
  ASSERT_EQ(names.size(), 12u);
  for (const std::string &n : names) {
    MemorySystem m = unwrap(getHardwarePreset(n));
    EXPECT_FALSE(bool(m.validate())) << n;
    EXPECT_EQ(m.name, n);
  }
}

TEST(Hardware, PaperPresetMatchesTableI) {
  MemorySystem m = unwrap(getHardwarePreset("paper"));
  EXPECT_DOUBLE_EQ(m.hbm().capacityBytes, 24e9);
  EXPECT_DOUBLE_EQ(m.hbm().readBandwidth, 4.9e12);
  EXPECT_DOUBLE_EQ(m.dram().capacityBytes, 480e9);
  EXPECT_DOUBLE_EQ(m.dram().readBandwidth, 500e9);
  EXPECT_DOUBLE_EQ(m.hostToDeviceBandwidth(), 450e9);
  EXPECT_DOUBLE_EQ(m.deviceToHostBandwidth(), 450e9);
}

TEST(Hardware, Gh200Presets) {
  MemorySystem spec = unwrap(getHardwarePreset("gh200"));
  EXPECT_DOUBLE_EQ(spec.hbm().capacityBytes, 96e9);
  EXPECT_DOUBLE_EQ(spec.hbm().readBandwidth, 4.0e12);
  EXPECT_DOUBLE_EQ(spec.dram().readBandwidth, 512e9);
  MemorySystem big = unwrap(getHardwarePreset("gh200-144g"));
  EXPECT_DOUBLE_EQ(big.hbm().capacityBytes, 144e9);
  EXPECT_DOUBLE_EQ(big.hbm().readBandwidth, 4.9e12);
  MemorySystem meas = unwrap(getHardwarePreset("gh200-measured"));
  EXPECT_DOUBLE_EQ(meas.hbm().readBandwidth, 3.4e12);
  EXPECT_DOUBLE_EQ(meas.dram().readBandwidth, 486e9);
  EXPECT_DOUBLE_EQ(meas.hostToDeviceBandwidth(), 342e9);
  EXPECT_DOUBLE_EQ(meas.deviceToHostBandwidth(), 295e9);
  EXPECT_TRUE(unwrap(getHardwarePreset("gb200")).unverified);
  MemorySystem h100 = unwrap(getHardwarePreset("h100-pcie"));
  EXPECT_DOUBLE_EQ(h100.hostToDeviceBandwidth(), 64e9);
  EXPECT_DOUBLE_EQ(h100.hbm().readBandwidth, 3.35e12);
  EXPECT_DOUBLE_EQ(unwrap(getHardwarePreset("h200-pcie")).hbm().capacityBytes,
                   141e9);
  // Figures of docs/gpu-measurements.md (H200, 2026-12-04).
  MemorySystem h200m = unwrap(getHardwarePreset("h200-pcie-measured"));
  EXPECT_DOUBLE_EQ(h200m.hbm().readBandwidth, 4.606e12);
  EXPECT_DOUBLE_EQ(h200m.hostToDeviceBandwidth(), 51.4e9);
  EXPECT_DOUBLE_EQ(h200m.deviceToHostBandwidth(), 55.1e9);
  EXPECT_DOUBLE_EQ(h200m.hbm().capacityBytes, 141e9);
}

TEST(Hardware, UnknownPresetListsKnownOnes) {
  std::string msg = errorOf(getHardwarePreset("tpu"));
  EXPECT_NE(msg.find("unknown preset 'tpu'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gh200-measured"), std::string::npos) << msg;
}

TEST(Hardware, ZeroBandwidthRejected) {
  MemorySystem m = tinySystem(1000);
  m.tiers[1].readBandwidth = 0;
  std::string msg = errorOf(m.validate());
  EXPECT_NE(msg.find("tiers[1].read_bandwidth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("must be positive"), std::string::npos) << msg;
  m = tinySystem(1000);
  m.links[0].backwardBandwidth = -3;
  msg = errorOf(m.validate());
  EXPECT_NE(msg.find("links[0].backward_bandwidth"), std::string::npos) << msg;
}

TEST(Hardware, LinkToUnknownTierRejected) {
  MemorySystem m = tinySystem(1000);
  m.links[0].to = "hbm9";
  std::string msg = errorOf(m.validate());
  EXPECT_NE(msg.find("link to unknown tier 'hbm9'"), std::string::npos) << msg;
}

TEST(Hardware, DuplicateTierNamesRejected) {
  MemorySystem m = tinySystem(1000);
  m.tiers[1].name = "hbm";
  std::string msg = errorOf(m.validate());
  EXPECT_NE(msg.find("duplicate tier name 'hbm'"), std::string::npos) << msg;
}

TEST(Hardware, CapacityBelowOneBlockRejected) {
  MemorySystem m = tinySystem(100);
  std::string msg = errorOf(m.validate(/*minBlockBytes=*/160));
  EXPECT_NE(msg.find("below one block"), std::string::npos) << msg;
  m.tiers[0].capacityBytes = 0;
  msg = errorOf(m.validate());
  EXPECT_NE(msg.find("capacity of tier 'hbm' must be positive"),
            std::string::npos)
      << msg;
}

TEST(Hardware, ParsesJsonDescription) {
  std::string text = R"({"name": "mine", "tiers": [
    {"name": "h", "kind": "HBM", "capacity_gb": 80, "read_gbps": 3350, "write_gbps": 3000},
    {"name": "d", "kind": "DRAM", "capacity_gb": 512, "read_gbps": 300, "write_gbps": 250}],
    "links": [{"from": "d", "to": "h", "forward_gbps": 64, "backward_gbps": 60}]})";
  MemorySystem m = unwrap(parseMemorySystemJSON(text, "mine.json"));
  EXPECT_DOUBLE_EQ(m.hbm().writeBandwidth, 3000e9);
  EXPECT_DOUBLE_EQ(m.hostToDeviceBandwidth(), 64e9);
  EXPECT_DOUBLE_EQ(m.deviceToHostBandwidth(), 60e9);
  std::string bad = R"({"tiers": [{"name": "h", "kind": "SRAM"}]})";
  std::string msg = errorOf(parseMemorySystemJSON(bad, "bad.json"));
  EXPECT_NE(msg.find("bad.json: field 'tiers[0].kind'"), std::string::npos)
      << msg;
}
