//===- SeedPySet.h - CPython's set order for small ints ---------*- C++ -*-===//
//
// SAMigration evicts "the first entry of hbm_tokens[l] not read soon", where
// hbm_tokens[l] is a Python set of ints: the victim is whatever CPython's
// hash table yields first. This class replays CPython's set table (hash(k)
// = k, 9 linear probes then perturbed probing, dummies on discard, the last
// dummy on the probe path reused by add, resize at fill x 5 >= mask x 3 to
// the smallest power of two > 4 x used) so the iteration order is the same.
// Checked against CPython 3.10-3.13 on random add/discard sequences
// (docs/model.md section 8); membership itself is tracked elsewhere.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_LIB_CORE_SEEDPYSET_H
#define KVOPT_LIB_CORE_SEEDPYSET_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kvopt {

class PySetOrder {
public:
  PySetOrder() : table(8, kUnused) {}

  void add(int64_t key) {
    size_t mask = table.size() - 1;
    size_t i = size_t(key) & mask;
    size_t perturb = size_t(key);
    int64_t freeSlot = -1;
    while (true) {
      int probes = i + kLinearProbes <= mask ? kLinearProbes : 0;
      size_t e = i;
      while (true) {
        int64_t v = table[e];
        if (v == kUnused) {
          if (freeSlot >= 0) {
            table[size_t(freeSlot)] = key;
            ++used;
            return;
          }
          table[e] = key;
          ++fill;
          ++used;
          if (fill * 5 < mask * 3)
            return;
          resize(used > 50000 ? used * 2 : used * 4);
          return;
        }
        if (v == key)
          return;
        if (v == kDummy)
          freeSlot = int64_t(e);
        if (probes == 0)
          break;
        --probes;
        ++e;
      }
      perturb >>= 5;
      i = (i * 5 + 1 + perturb) & mask;
    }
  }

  void discard(int64_t key) {
    size_t mask = table.size() - 1;
    size_t i = size_t(key) & mask;
    size_t perturb = size_t(key);
    while (true) {
      int probes = i + kLinearProbes <= mask ? kLinearProbes : 0;
      size_t e = i;
      while (true) {
        int64_t v = table[e];
        if (v == kUnused)
          return;
        if (v == key) {
          table[e] = kDummy;
          --used;
          return;
        }
        if (probes == 0)
          break;
        --probes;
        ++e;
      }
      perturb >>= 5;
      i = (i * 5 + 1 + perturb) & mask;
    }
  }

  /// The first key in iteration order for which `pred` holds, or -1.
  template <typename Pred> int64_t firstWhere(Pred pred) const {
    for (int64_t v : table)
      if (v >= 0 && pred(v))
        return v;
    return -1;
  }

  /// The first slot at or after `from` holding a key for which `pred`
  /// holds, or -1. Scanning resumes where an earlier scan stopped when the
  /// caller knows the skipped slots still fail `pred`.
  template <typename Pred> int64_t firstSlotFrom(size_t from, Pred pred) const {
    for (size_t i = from; i < table.size(); ++i)
      if (table[i] >= 0 && pred(table[i]))
        return int64_t(i);
    return -1;
  }
  int64_t keyAt(size_t slot) const { return table[slot]; }
  /// Bumped by every resize (slot positions change).
  uint64_t generation() const { return resizes; }

  /// The keys in iteration order (tests).
  std::vector<int64_t> order() const {
    std::vector<int64_t> out;
    for (int64_t v : table)
      if (v >= 0)
        out.push_back(v);
    return out;
  }

private:
  static constexpr int64_t kUnused = -1;
  static constexpr int64_t kDummy = -2;
  static constexpr int kLinearProbes = 9;

  void resize(size_t minUsed) {
    size_t size = 8;
    while (size <= minUsed)
      size <<= 1;
    std::vector<int64_t> old(size, kUnused);
    old.swap(table);
    size_t mask = size - 1;
    for (int64_t key : old) {
      if (key < 0)
        continue;
      size_t i = size_t(key) & mask;
      size_t perturb = size_t(key);
      while (true) {
        if (table[i] == kUnused) {
          table[i] = key;
          break;
        }
        bool placed = false;
        if (i + kLinearProbes <= mask)
          for (int j = 1; j <= kLinearProbes && !placed; ++j)
            if (table[i + j] == kUnused) {
              table[i + j] = key;
              placed = true;
            }
        if (placed)
          break;
        perturb >>= 5;
        i = (i * 5 + 1 + perturb) & mask;
      }
    }
    fill = used;
    ++resizes;
  }

  std::vector<int64_t> table;
  size_t fill = 0, used = 0;
  uint64_t resizes = 0;
};

} // namespace kvopt

#endif // KVOPT_LIB_CORE_SEEDPYSET_H
