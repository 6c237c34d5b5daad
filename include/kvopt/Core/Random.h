//===- Random.h - Portable deterministic random numbers ---------*- C++ -*-===//
//
// splitmix64-seeded xoshiro256** with explicit, portable conversions, so
// generated traces and annealing runs are bit-identical on every platform.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_RANDOM_H
#define KVOPT_CORE_RANDOM_H

#include <cstdint>

namespace kvopt {

class Rng {
public:
  explicit Rng(uint64_t seed) {
    for (uint64_t &w : s) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      w = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  /// Uniform in [0, bound) (bound > 0), by Lemire's multiply-shift.
  uint64_t below(uint64_t bound) {
    return uint64_t((unsigned __int128)next() * bound >> 64);
  }
  /// Uniform double in [0, 1) with 53 random bits.
  double unit() { return double(next() >> 11) * 0x1.0p-53; }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s[4];
};

} // namespace kvopt

#endif // KVOPT_CORE_RANDOM_H
