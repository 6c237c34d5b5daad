//===- TestKvCacheAnalysis.cpp - print the KV-cache analysis --------------===//
//
// Part of kv-opt. A test pass: prints what the planner sees, sorted by
// program order, so lit can check the analysis.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/Passes.h"

#include "kvopt/Analysis/KvCacheAnalysis.h"

#include "llvm/Support/raw_ostream.h"

namespace mlir::kvtier {
#define GEN_PASS_DEF_TESTKVCACHEANALYSIS
#include "kvopt/Transforms/Passes.h.inc"
} // namespace mlir::kvtier

using namespace mlir;
using namespace mlir::kvtier;

namespace {
struct TestKvCacheAnalysisPass
    : public kvtier::impl::TestKvCacheAnalysisBase<TestKvCacheAnalysisPass> {
  void runOnOperation() override {
    KvCacheAnalysis &analysis = getAnalysis<KvCacheAnalysis>();
    llvm::raw_ostream &os = llvm::outs();
    int64_t perToken = 0;
    for (CacheInfo &info : analysis.getCaches())
      perToken += info.type.getBytesPerToken();
    os << "caches: " << analysis.getCaches().size()
       << ", attention: " << analysis.getNumAttention()
       << ", KV bytes per token (all layers): " << perToken
       << ", total bytes: " << analysis.getTotalBytes() << "\n";
    for (CacheInfo &info : analysis.getCaches()) {
      KvCacheTypeInterface t = info.type;
      os << "cache '" << info.op.getName() << "': layers " << t.getLayers()
         << ", entry " << info.entryBytes() << " B, block " << t.getBlock()
         << " tokens (" << t.getBlockBytes() << " B), blocks/layer "
         << t.getBlocksPerLayer() << ", max_tokens " << t.getMaxTokens()
         << ", batch " << t.getBatch() << ", total " << t.getTotalBytes()
         << " B\n";
      os << "  attention layers:";
      for (int64_t l : info.attendedLayers())
        os << " " << l;
      os << "\n  appends: " << info.appends.size()
         << ", migrations: " << info.migrations.size() << "\n";
    }
    for (AttentionOp op : analysis.getUnresolvedAttention())
      os << "unresolved attention at layer " << op.getLayer() << "\n";
    AttentionOp conflict;
    std::optional<double> hint = analysis.getSparsityHint(&conflict);
    if (hint)
      os << "sparsity hint: " << *hint << (conflict ? " (conflicting)" : "")
         << "\n";
    markAllAnalysesPreserved();
  }
};
} // namespace
