//===- Residency.cpp - Incremental residency and hit bookkeeping ---------===//
#include "kvopt/Core/Residency.h"

using namespace kvopt;

Residency::Residency(uint32_t layers, uint32_t batch, uint32_t tokensPerBlock,
                     uint64_t blocksPerSeqLayer, uint64_t capacityBlocks,
                     ResidencyFeatures features,
                     std::vector<uint32_t> layerWindows)
    : feat(features), nLayers(layers), nBatch(batch),
      blockTokens(tokensPerBlock), perSeqLayer(blocksPerSeqLayer),
      capacity(capacityBlocks), windows(std::move(layerWindows)) {
  if (blockTokens && (blockTokens & (blockTokens - 1)) == 0)
    blockShift = uint32_t(__builtin_ctz(blockTokens));
  uint64_t chains = uint64_t(layers) * batch;
  uint64_t total = chains * blocksPerSeqLayer;
  wordsPerSet = (blocksPerSeqLayer * tokensPerBlock + 63) / 64;
  readBits.assign(chains * wordsPerSet, 0);
  state.assign(total, 0);
  if (feat.coldList) {
    prev.assign(total, kNoBlock);
    next.assign(total, kNoBlock);
  }
  if (feat.missingSets)
    missingPos.assign(total, 0);
  missingLists.resize(chains);
  setSize.assign(chains, 0);
  hitCount.assign(chains, 0);
  chainTokens.assign(chains, 0);
  deadBlocks.assign(chains, 0);
}

BlockId Residency::killBelow(uint32_t seq, uint32_t layer, uint64_t n) {
  uint64_t chain = uint64_t(seq) * nLayers + layer;
  n = n < perSeqLayer ? n : perSeqLayer;
  for (uint64_t k = deadBlocks[chain]; k < n; ++k) {
    BlockId b = BlockId(chain * perSeqLayer + k);
    if (readCount(b))
      return b;
    if (inHbm(b)) {
      state[b] &= ~kHbmBit;
      --nHbm;
      coldUnlink(b);
    }
    deadBlocks[chain] = k + 1;
  }
  return kNoBlock;
}

uint32_t Residency::entriesIn(BlockId b) const {
  if (isDead(b))
    return 0;
  uint32_t first = firstToken(b);
  uint32_t have = chainTokens[b / perSeqLayer];
  if (first >= have)
    return 0;
  uint32_t left = have - first;
  return left < blockTokens ? left : blockTokens;
}

bool Residency::isRead(uint32_t seq, uint32_t layer, uint32_t token) const {
  const uint64_t *set =
      &readBits[(uint64_t(seq) * nLayers + layer) * wordsPerSet];
  return (set[token >> 6] >> (token & 63)) & 1;
}

void Residency::addRead(uint32_t seq, uint32_t layer, uint32_t token) {
  uint64_t chain = uint64_t(seq) * nLayers + layer;
  readBits[chain * wordsPerSet + (token >> 6)] |= uint64_t(1) << (token & 63);
  BlockId b = blockOf(seq, layer, token);
  setSize[chain]++;
  uint32_t st = state[b]++;
  if (st & kHbmBit)
    hitCount[chain]++;
  if ((st & ~kHbmBit) == 0) {
    if (st & kHbmBit)
      coldUnlink(b);
    else
      missingAdd(b);
  }
}

void Residency::removeRead(uint32_t seq, uint32_t layer, uint32_t token) {
  uint64_t chain = uint64_t(seq) * nLayers + layer;
  readBits[chain * wordsPerSet + (token >> 6)] &=
      ~(uint64_t(1) << (token & 63));
  BlockId b = blockOf(seq, layer, token);
  setSize[chain]--;
  uint32_t st = --state[b];
  if (st & kHbmBit)
    hitCount[chain]--;
  if ((st & ~kHbmBit) == 0) {
    if (st & kHbmBit)
      coldPush(b);
    else
      missingRemove(b);
  }
}

void Residency::moveToHbm(BlockId b) {
  state[b] |= kHbmBit;
  ++nHbm;
  uint32_t n = readCount(b);
  hitCount[uint64_t(seqOf(b)) * nLayers + layerOf(b)] += n;
  if (n)
    missingRemove(b);
  else
    coldPush(b);
}

void Residency::moveToDram(BlockId b) {
  state[b] &= ~kHbmBit;
  --nHbm;
  uint32_t n = readCount(b);
  hitCount[uint64_t(seqOf(b)) * nLayers + layerOf(b)] -= n;
  if (n)
    missingAdd(b);
  else
    coldUnlink(b);
}

void Residency::coldPush(BlockId b) {
  if (!feat.coldList)
    return;
  prev[b] = coldLast;
  next[b] = kNoBlock;
  if (coldLast != kNoBlock)
    next[coldLast] = b;
  else
    coldFirst = b;
  coldLast = b;
  ++nCold;
}

void Residency::coldUnlink(BlockId b) {
  if (!feat.coldList)
    return;
  BlockId p = prev[b], n = next[b];
  if (p != kNoBlock)
    next[p] = n;
  else
    coldFirst = n;
  if (n != kNoBlock)
    prev[n] = p;
  else
    coldLast = p;
  prev[b] = next[b] = kNoBlock;
  --nCold;
}

void Residency::missingAdd(BlockId b) {
  if (!feat.missingSets)
    return;
  auto &list = missingLists[uint64_t(seqOf(b)) * nLayers + layerOf(b)];
  missingPos[b] = uint32_t(list.size());
  list.push_back(b);
}

void Residency::missingRemove(BlockId b) {
  if (!feat.missingSets)
    return;
  auto &list = missingLists[uint64_t(seqOf(b)) * nLayers + layerOf(b)];
  uint32_t i = missingPos[b];
  BlockId last = list.back();
  list[i] = last;
  missingPos[last] = i;
  list.pop_back();
}
