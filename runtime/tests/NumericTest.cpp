//===- NumericTest.cpp - fp16/bf16 conversions and the generator -*- C++
//-*-===//
//
// The conversions in lib/Numeric.h run on the host and in the CUDA kernels,
// so the reference and the kernels round identically; here they are checked
// against the definition of round-to-nearest-even.
//
//===----------------------------------------------------------------------===//
#include "Numeric.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace kvrt;

namespace {

/// Checks that `h` is a nearest representable value to x with ties to even,
/// by comparing against both magnitude neighbours.
template <typename ToFloat>
void expectNearestEven(float x, uint16_t h, ToFloat toFloat, uint16_t maxMag) {
  double y = toFloat(h);
  uint16_t mag = h & 0x7fffu, sign = h & 0x8000u;
  double err = std::fabs(y - double(x));
  for (int delta : {-1, 1}) {
    int m = int(mag) + delta;
    if (m < 0 || m > maxMag)
      continue;
    double other = toFloat(static_cast<uint16_t>(sign | m));
    double otherErr = std::fabs(other - double(x));
    ASSERT_LE(err, otherErr) << "x=" << x << " h=" << h;
    if (err == otherErr) {
      ASSERT_EQ(h & 1u, 0u) << "tie not to even: x=" << x;
    }
  }
}

TEST(Numeric, F16RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = f16ToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(f))));
      continue;
    }
    ASSERT_EQ(floatToF16(f), h) << h;
  }
  EXPECT_EQ(f16ToFloat(0x3c00), 1.0f);
  EXPECT_EQ(f16ToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(floatToF16(65520.0f), 0x7c00); // rounds to infinity
  EXPECT_EQ(floatToF16(65519.0f), 0x7bff);
}

TEST(Numeric, F16RoundsToNearestEven) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> exp(-26.0f, 16.0f);
  for (int i = 0; i < 200000; ++i) {
    float x = std::ldexp(1.0f + (rng() % (1u << 23)) / float(1u << 23),
                         int(exp(rng)));
    if (i % 2)
      x = -x;
    if (std::fabs(x) >= 65504.0f)
      continue;
    expectNearestEven(x, floatToF16(x), f16ToFloat, 0x7bff);
  }
}

TEST(Numeric, Bf16RoundsToNearestEven) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = static_cast<uint32_t>(rng());
    float x = bitsToFloat(bits);
    if (!std::isfinite(x) || std::fabs(x) > 3.0e38f)
      continue;
    expectNearestEven(x, floatToBf16(x), bf16ToFloat, 0x7f7f);
  }
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(std::nanf("")))));
  EXPECT_EQ(bf16ToFloat(floatToBf16(1.0f)), 1.0f);
}

TEST(Numeric, GeneratorIsDeterministicAndInRange) {
  double sum = 0.0;
  for (uint64_t i = 0; i < 100000; ++i) {
    float v = genValue(7, i);
    ASSERT_GE(v, -1.0f);
    ASSERT_LT(v, 1.0f);
    ASSERT_EQ(v, genValue(7, i));
    sum += v;
  }
  EXPECT_LT(std::fabs(sum / 100000), 0.01); // roughly centred
  EXPECT_NE(genValue(7, 1), genValue(8, 1));
}

} // namespace
