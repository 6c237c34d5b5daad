//===- write-schedule.cpp - a sliding-window schedule side file ---------===//
//
// Test helper: writes a schedule with the runtime's builder API, as the
// planner's exporter does. Every sequence of every layer starts with its
// first WINDOW blocks in HBM; decode step t demotes block t and promotes
// block t + WINDOW (of every sequence and layer) while that block exists
// and t < MOVING_STEPS (default: all steps).
//
// usage: write-schedule PATH LAYERS SEQS BLOCKS_PER_SEQ STEPS WINDOW
//                       BLOCK_TOKENS [MOVING_STEPS]
//
//===----------------------------------------------------------------------===//
#include "kvrt/kvrt.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 8 && argc != 9) {
    std::fprintf(stderr, "usage: %s PATH LAYERS SEQS BLOCKS_PER_SEQ STEPS "
                         "WINDOW BLOCK_TOKENS [MOVING_STEPS]\n", argv[0]);
    return 2;
  }
  const char *path = argv[1];
  uint32_t layers = std::atoi(argv[2]), seqs = std::atoi(argv[3]),
           perSeq = std::atoi(argv[4]), steps = std::atoi(argv[5]),
           window = std::atoi(argv[6]), blockTokens = std::atoi(argv[7]);
  uint32_t moving = argc == 9 ? std::atoi(argv[8]) : steps;
  kvrt_schedule *s = nullptr;
  kvrt_status st = kvrt_schedule_create(layers, seqs * perSeq, steps, &s);
  for (uint32_t l = 0; st == KVRT_OK && l < layers; ++l)
    for (uint32_t q = 0; st == KVRT_OK && q < seqs; ++q)
      st = kvrt_schedule_set_placement(s, l, q * perSeq, window, KVRT_TIER_HBM);
  std::vector<kvrt_migration> moves;
  for (uint32_t t = 0; t < steps && t < moving && t + window < perSeq; ++t)
    for (uint32_t l = 0; l < layers; ++l)
      for (uint32_t q = 0; q < seqs; ++q) {
        moves.push_back({t, l, q * perSeq + t, 1, KVRT_DEMOTE});
        moves.push_back({t, l, q * perSeq + t + window, 1, KVRT_PROMOTE});
      }
  if (st == KVRT_OK && !moves.empty())
    st = kvrt_schedule_add_migrations(s, moves.data(), moves.size());
  if (st == KVRT_OK)
    st = kvrt_schedule_set_assumptions(s, blockTokens, layers * seqs * window);
  if (st == KVRT_OK)
    st = kvrt_schedule_write(s, path);
  kvrt_schedule_destroy(s);
  if (st != KVRT_OK) {
    std::fprintf(stderr, "write-schedule: %s\n", kvrt_last_error());
    return 1;
  }
  return 0;
}
