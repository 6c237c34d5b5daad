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
  unsigned layers = 0;
  root->walk([&](CacheOp op) {
    index[op] = caches.size();
    auto type = cast<KvCacheTypeInterface>(op.getCache().getType());
    caches.push_back(CacheInfo{op, type, {}, {}, {}, layers});
    layers += unsigned(type.getLayers());
  });
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
    // A cache with an explicit window holds at most `window` tokens of each
    // sequence (like the shorter-cache form, whose max_tokens is the window).
    if (std::optional<uint64_t> window = CacheOp(info.op).getWindow())
      total += type.getBytesPerToken() * int64_t(*window) * type.getBatch();
    else
      total += type.getTotalBytes();
  }
  return total;
}

unsigned KvCacheAnalysis::getNumRuntimeLayers() const {
  if (caches.empty())
    return 0;
  const CacheInfo &last = caches.back();
  KvCacheTypeInterface type = last.type;
  return last.layerBase + unsigned(type.getLayers());
}

CacheInfo *KvCacheAnalysis::lookup(Value cache) {
  Operation *def = cache ? cache.getDefiningOp() : nullptr;
  auto it = def ? index.find(def) : index.end();
  return it == index.end() ? nullptr : &caches[it->second];
}

FailureOr<unsigned> KvCacheAnalysis::getRuntimeLayer(Operation *user,
                                                     Value cache,
                                                     int64_t layer) {
  CacheInfo *info = lookup(cache);
  if (!info)
    return user->emitError("the cache operand is not defined by a kvtier.cache "
                           "of this module, so it has no runtime layers");
  int64_t layers = info->type.getLayers();
  if (layer < 0 || layer >= layers)
    return user->emitError("layer ")
           << layer << " is outside cache '" << info->op.getName() << "' ("
           << layers << " layers)";
  return info->layerBase + unsigned(layer);
}

int64_t KvCacheAnalysis::getMaxTokens() const {
  int64_t m = 0;
  for (const CacheInfo &info : caches) {
    KvCacheTypeInterface t = info.type;
    m = std::max<int64_t>(m, t.getMaxTokens());
  }
  return m;
}

int64_t KvCacheAnalysis::getWindow(const CacheInfo &info) const {
  KvCacheTypeInterface t = info.type;
  if (std::optional<uint64_t> window = CacheOp(info.op).getWindow())
    return int64_t(*window);
  int64_t longest = getMaxTokens();
  return t.getMaxTokens() < longest ? t.getMaxTokens() : 0;
}

/// Every cache as "'name' (L layers, E B per token per layer, max_tokens T,
/// batch B, block K)", so a refusal shows the whole mix of layer groups.
std::string KvCacheAnalysis::describeGroups() const {
  std::string out;
  llvm::raw_string_ostream os(out);
  for (const CacheInfo &info : caches) {
    KvCacheTypeInterface t = info.type;
    os << (out.empty() ? "" : ", ") << "'" << CacheOp(info.op).getName()
       << "' (" << t.getLayers() << " layers, "
       << t.getBytesPerTokenPerLayer() << " B per token per layer, max_tokens "
       << t.getMaxTokens() << ", batch " << t.getBatch() << ", block "
       << t.getBlock() << ")";
  }
  return out;
}

LogicalResult KvCacheAnalysis::verifySharedGeometry(SharedGeometry kind,
                                                    StringRef purpose) const {
  if (caches.empty())
    return success();
  const CacheInfo &first = caches.front();
  KvCacheTypeInterface f = first.type;
  for (const CacheInfo &info : caches) {
    KvCacheTypeInterface t = info.type;
    std::string field, mine, theirs;
    auto differs = [&](StringRef name, auto a, auto b) {
      if (!field.empty() || a == b)
        return;
      field = name.str();
      llvm::raw_string_ostream(mine) << a;
      llvm::raw_string_ostream(theirs) << b;
    };
    differs("entry bytes", t.getBytesPerTokenPerLayer(),
            f.getBytesPerTokenPerLayer());
    // Planning: a cache shorter than the longest is a sliding-window layer
    // group (window = its max_tokens), planned with the others in one HBM.
    if (kind != SharedGeometry::Planning)
      differs("max_tokens", t.getMaxTokens(), f.getMaxTokens());
    else if (CacheOp(info.op).getWindow() && t.getMaxTokens() != getMaxTokens())
      // An explicit window: max_tokens is the sequence length, which the
      // longest cache gives.
      return CacheOp(info.op).emitError("cache with a window attribute has "
                                        "max_tokens ")
             << t.getMaxTokens() << ", the longest cache has " << getMaxTokens()
             << ": with `window`, max_tokens is the sequence length, which "
                "every layer group spans; layer groups: "
             << describeGroups();
    differs("batch", t.getBatch(), f.getBatch());
    differs("block", t.getBlock(), f.getBlock());
    if (kind == SharedGeometry::Runtime) {
      auto a = dyn_cast<CacheType>(Type(t)), b = dyn_cast<CacheType>(Type(f));
      differs("cache kind", a ? "kv" : "latent", b ? "kv" : "latent");
      if (a && b) {
        differs("kv_heads", a.getKvHeads(), b.getKvHeads());
        differs("head_dim", a.getHeadDim(), b.getHeadDim());
        std::string ea, eb;
        llvm::raw_string_ostream(ea) << a.getElement();
        llvm::raw_string_ostream(eb) << b.getElement();
        differs("element", ea, eb);
      }
    }
    if (field.empty())
      continue;
    InFlightDiagnostic diag =
        CacheOp(info.op).emitError("caches ")
        << purpose << " must share one geometry; this cache's " << field
        << " is " << mine << ", '" << CacheOp(first.op).getName()
        << "' has " << theirs << "; layer groups: " << describeGroups();
    if (kind == SharedGeometry::Planning)
      diag << "; layer groups planned together may differ only in max_tokens "
              "(a shorter cache is a sliding window over the longest)";
    diag.attachNote(CacheOp(first.op).getLoc()) << "first cache declared here";
    return failure();
  }
  return success();
}
