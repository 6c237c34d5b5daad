//===- KvCacheAnalysis.cpp - caches and attention of a module -------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Analysis/KvCacheAnalysis.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::kvtier;

SmallVector<int64_t> CacheInfo::attendedLayers() const {
  SmallVector<int64_t> layers;
  for (AttentionOp op : attention)
    layers.push_back(op.getLayer());
  llvm::sort(layers);
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  return layers;
}

KvCacheAnalysis::KvCacheAnalysis(Operation *root) {
  // Index caches by their op so that users find their entry; the vector
  // keeps program order for deterministic output.
  llvm::DenseMap<Operation *, unsigned> index;
  root->walk([&](CacheOp op) {
    index[op] = caches.size();
    caches.push_back(
        CacheInfo{op, cast<KvCacheTypeInterface>(op.getCache().getType()),
                  {}, {}, {}});
  });
  auto lookup = [&](Value cache) -> CacheInfo * {
    Operation *def = cache.getDefiningOp();
    auto it = def ? index.find(def) : index.end();
    return it == index.end() ? nullptr : &caches[it->second];
  };
  root->walk([&](Operation *op) {
    if (auto attn = dyn_cast<AttentionOp>(op)) {
      if (CacheInfo *info = lookup(attn.getCache()))
        info->attention.push_back(attn);
      else
        unresolved.push_back(attn);
    } else if (auto append = dyn_cast<AppendOp>(op)) {
      if (CacheInfo *info = lookup(append.getCache()))
        info->appends.push_back(append);
    } else if (auto migrate = dyn_cast<MigrateOp>(op)) {
      if (CacheInfo *info = lookup(migrate.getCache()))
        info->migrations.push_back(migrate);
    }
  });
}

unsigned KvCacheAnalysis::getNumAttention() const {
  unsigned n = 0;
  for (const CacheInfo &info : caches)
    n += info.attention.size();
  return n;
}

std::optional<double>
KvCacheAnalysis::getSparsityHint(AttentionOp *conflict) const {
  std::optional<double> hint;
  for (const CacheInfo &info : caches)
    for (AttentionOp op : info.attention) {
      std::optional<llvm::APFloat> s = op.getSparsity();
      if (!s)
        continue;
      double value = s->convertToDouble();
      if (hint && *hint != value) {
        if (conflict)
          *conflict = op;
        return hint;
      }
      hint = value;
    }
  return hint;
}

int64_t KvCacheAnalysis::getTotalBytes() const {
  int64_t total = 0;
  for (const CacheInfo &info : caches) {
    KvCacheTypeInterface type = info.type;
    total += type.getTotalBytes();
  }
  return total;
}
