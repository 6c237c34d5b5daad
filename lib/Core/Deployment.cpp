//===- Deployment.cpp - Tensor/pipeline/data-parallel sharding ------------===//
//
// Part of kv-opt. The sharding rules follow vLLM's model code (column/row
// parallel projections, replicated KV projections when TP exceeds the KV
// heads, replicated MLA down-projections and latent cache, vocabulary-
// parallel embedding and LM head, get_pp_indices for the layer split); see
// docs/deployment.md.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Deployment.h"
#include "kvopt/Core/Error.h"

#include <algorithm>
#include <cmath>
#include <tuple>

using namespace kvopt;

std::string Deployment::str() const {
  return "tp=" + std::to_string(tp) + " pp=" + std::to_string(pp) +
         " dp=" + std::to_string(dp);
}

llvm::Error Deployment::validate(const ModelConfig &model) const {
  const char *ctx = "deployment";
  // A bound far above any machine keeps tp * pp * dp inside 32 bits.
  constexpr unsigned kMaxFactor = 1u << 16;
  for (auto [name, v] : {std::pair<const char *, unsigned>{"tp", tp},
                         {"pp", pp},
                         {"dp", dp}})
    if (v == 0 || v > kMaxFactor)
      return makeFieldError(ctx, name,
                            "must be in 1.." + std::to_string(kMaxFactor) +
                                ", got " + std::to_string(v));
  if (uint64_t(tp) * pp * dp > kMaxFactor)
    return makeFieldError(ctx, "tp*pp*dp",
                          "uses " + std::to_string(uint64_t(tp) * pp * dp) +
                              " GPUs, more than " + std::to_string(kMaxFactor));
  if (model.heads % tp)
    return makeFieldError(ctx, "tp",
                          "tp = " + std::to_string(tp) +
                              " does not divide the " +
                              std::to_string(model.heads) +
                              " query heads of '" + model.name + "'");
  if (model.attention != AttentionKind::MLA && model.kvHeads % tp &&
      tp % model.kvHeads)
    return makeFieldError(
        ctx, "tp",
        "tp = " + std::to_string(tp) + " neither divides nor is a multiple "
        "of the " + std::to_string(model.kvHeads) + " KV heads of '" +
            model.name + "' (engines split KV heads evenly or replicate them)");
  if (pp > model.layers)
    return makeFieldError(ctx, "pp",
                          "pp = " + std::to_string(pp) + " exceeds the " +
                              std::to_string(model.layers) + " layers of '" +
                              model.name + "'");
  return llvm::Error::success();
}

std::vector<unsigned> kvopt::stageLayerCounts(unsigned layers, unsigned pp) {
  std::vector<unsigned> counts(pp, layers / pp);
  counts.back() += layers % pp;
  return counts;
}

double Shard::kvBytes(uint64_t tokens, uint64_t batch) const {
  double total = 0;
  for (unsigned l = 0; l < layers; ++l) {
    unsigned window = l < slidingWindow.size() ? slidingWindow[l] : 0;
    uint64_t held = window ? std::min<uint64_t>(window, tokens) : tokens;
    total += double(held) * double(kvBytesPerTokenPerLayer);
  }
  return total * double(batch);
}

std::string Shard::describe() const {
  std::string s = stages.size() == 1 ? "stage " : "stages ";
  for (size_t i = 0; i < stages.size(); ++i)
    s += (i ? "," : "") + std::to_string(stages[i]);
  s += " (" + std::to_string(layers) + (layers == 1 ? " layer" : " layers") +
       " from " +
       std::to_string(firstLayer) + "), kv heads " + std::to_string(kvHeads);
  if (kvReplicas > 1)
    s += " (x" + std::to_string(kvReplicas) + " replicas)";
  if (embedding)
    s += ", embedding";
  if (lmHead)
    s += ", lm head";
  return s;
}

namespace {
/// KV heads one GPU caches and how many GPUs of a TP group hold them.
std::pair<unsigned, unsigned> kvHeadsPerGpu(const ModelConfig &m,
                                            unsigned tp) {
  if (m.attention == AttentionKind::MLA)
    return {1, tp};
  if (m.kvHeads % tp == 0)
    return {m.kvHeads / tp, 1};
  return {1, tp / m.kvHeads};
}

/// Parameters of one layer's attention on one GPU.
double attentionParams(const ModelConfig &m, unsigned tp) {
  double h = m.hiddenSize;
  double heads = double(m.heads) / tp;
  if (m.attention == AttentionKind::MLA) {
    double qk = double(m.qkNopeHeadDim) + m.qkRopeHeadDim;
    // q_a_proj and kv_a_proj_with_mqa are replicated; q_b, kv_b and o are
    // split by heads.
    double q = m.qLoraRank ? h * m.qLoraRank + double(m.qLoraRank) * heads * qk
                           : h * heads * qk;
    double kvA = h * (double(m.kvLoraRank) + m.qkRopeHeadDim);
    double kvB = double(m.kvLoraRank) * heads *
                 (double(m.qkNopeHeadDim) + m.vHeadDim);
    double o = heads * m.vHeadDim * h;
    return q + kvA + kvB + o;
  }
  // q and o split by heads; k and v hold the GPU's KV heads (replicated
  // when TP exceeds the KV heads).
  double kv = kvHeadsPerGpu(m, tp).first;
  return h * heads * m.headDim * 2 + h * kv * m.headDim * 2.0;
}
} // namespace

LayerWeights kvopt::shardLayerWeights(const ModelConfig &m, unsigned tp,
                                      unsigned firstLayer, unsigned layers,
                                      unsigned batch) {
  // The formulas of ModelConfig::weightBytes / activeWeightBytesPerLayerStep
  // with every split matrix divided by tp.
  double h = m.hiddenSize;
  double attn = attentionParams(m, tp) * m.weightDtypeBytes;
  double expertBytes = m.expertWeightDtypeBytes > 0 ? m.expertWeightDtypeBytes
                                                    : m.weightDtypeBytes;
  double shared = m.sharedExpertIntermediateSize
                      ? double(m.sharedExpertIntermediateSize)
                      : double(m.sharedExperts) * m.moeIntermediateSize;
  // Routed and shared experts split by TP (engines' default without expert
  // parallelism); the router is replicated.
  auto moe = [&](double routed) {
    return 3.0 * h * double(m.moeIntermediateSize) * routed * expertBytes /
               tp +
           (3.0 * h * shared / tp + h * m.experts) * m.weightDtypeBytes;
  };
  double touched = m.expectedExpertsTouched(batch);
  LayerWeights w;
  for (unsigned l = firstLayer; l < firstLayer + layers; ++l) {
    if (m.isMoeLayer(l)) {
      w.resident += attn + moe(m.experts);
      w.active += attn + moe(touched);
    } else {
      double dense =
          3.0 * h * m.intermediateSize / tp * m.weightDtypeBytes;
      w.resident += attn + dense;
      w.active += attn + dense;
    }
  }
  return w;
}

double kvopt::shardVocabWeightBytes(const ModelConfig &m, unsigned tp) {
  return double(m.vocabSize) * m.hiddenSize / tp * m.weightDtypeBytes;
}

llvm::Expected<std::vector<Shard>>
kvopt::shardModel(const ModelConfig &m, const Deployment &d,
                  unsigned batch) {
  if (llvm::Error err = d.validate(m))
    return std::move(err);
  std::vector<unsigned> counts = stageLayerCounts(m.layers, d.pp);
  auto [kvHeads, kvReplicas] = kvHeadsPerGpu(m, d.tp);
  uint64_t kvPerToken =
      m.attention == AttentionKind::MLA
          ? uint64_t(m.kvLoraRank + m.qkRopeHeadDim) * m.kvDtypeBytes
          : 2ull * kvHeads * m.headDim * m.kvDtypeBytes;
  double vocab = shardVocabWeightBytes(m, d.tp);
  std::vector<Shard> shards;
  unsigned first = 0;
  for (unsigned s = 0; s < d.pp; ++s) {
    Shard sh;
    sh.stages = {s};
    sh.firstLayer = first;
    sh.layers = counts[s];
    sh.kvHeads = kvHeads;
    sh.kvReplicas = kvReplicas;
    sh.kvBytesPerTokenPerLayer = kvPerToken;
    for (unsigned l = first; l < first + counts[s]; ++l)
      sh.slidingWindow.push_back(l < m.slidingWindow.size() ? m.slidingWindow[l]
                                                            : 0);
    sh.embedding = s == 0;
    sh.lmHead = s + 1 == d.pp;
    LayerWeights w = shardLayerWeights(m, d.tp, first, counts[s], batch);
    // The first stage holds the embedding, the last the LM head; tied
    // embeddings are one tensor when both are on one stage, a copy on each
    // end otherwise.
    double resident = w.resident;
    if (sh.embedding && sh.lmHead)
      resident += vocab * (m.tieWordEmbeddings ? 1 : 2);
    else if (sh.embedding || sh.lmHead)
      resident += vocab;
    sh.residentWeightBytes = resident;
    // The LM head is read once per token, spread over the stage's layers;
    // the embedding lookup reads one row (not charged).
    double active = w.active;
    if (sh.lmHead)
      active += vocab;
    sh.weightBytesPerLayerStep = active / sh.layers;
    sh.multiplicity = d.tp * d.dp;
    first += counts[s];

    auto key = [](const Shard &x) {
      return std::make_tuple(x.layers, x.slidingWindow, x.embedding, x.lmHead,
                             x.residentWeightBytes, x.weightBytesPerLayerStep);
    };
    auto same = std::find_if(shards.begin(), shards.end(), [&](const Shard &o) {
      return key(o) == key(sh);
    });
    if (same != shards.end()) {
      same->stages.push_back(s);
      same->multiplicity += d.tp * d.dp;
    } else {
      shards.push_back(std::move(sh));
    }
  }
  return shards;
}

PipelineTime kvopt::combinePipeline(const std::vector<double> &stageSeconds,
                                    const std::vector<double> &rereadSeconds,
                                    uint64_t batch) {
  PipelineTime t;
  size_t pp = stageSeconds.size();
  if (pp == 0)
    return t;
  if (pp == 1) {
    t.seconds = stageSeconds[0];
    return t;
  }
  unsigned m = unsigned(std::max<uint64_t>(1, std::min<uint64_t>(pp, batch)));
  double slowest = 0, sum = 0;
  for (size_t s = 0; s < pp; ++s) {
    double reread = s < rereadSeconds.size() ? rereadSeconds[s] : 0;
    double busy = stageSeconds[s] + (m - 1) * reread;
    slowest = std::max(slowest, busy);
    sum += busy;
  }
  t.microbatches = m;
  t.seconds = std::max(slowest, sum / m);
  t.bubbleFraction = t.seconds > 0 ? 1.0 - sum / (double(pp) * t.seconds) : 0;
  return t;
}

std::vector<Deployment> kvopt::candidateDeployments(const ModelConfig &m,
                                                    unsigned maxGpus) {
  std::vector<Deployment> out;
  for (unsigned g = 1; g <= maxGpus; ++g) {
    std::vector<Deployment> level;
    for (unsigned dp = 1; dp <= g; ++dp)
      for (unsigned pp = 1; pp <= g / dp; ++pp) {
        if (g % (dp * pp))
          continue;
        Deployment d{g / (dp * pp), pp, dp};
        if (d.gpus() != g)
          continue;
        if (llvm::Error err = d.validate(m)) {
          llvm::consumeError(std::move(err));
          continue;
        }
        level.push_back(d);
      }
    std::stable_sort(level.begin(), level.end(),
                     [](const Deployment &a, const Deployment &b) {
                       return std::make_tuple(a.dp, a.pp, -int(a.tp)) <
                              std::make_tuple(b.dp, b.pp, -int(b.tp));
                     });
    out.insert(out.end(), level.begin(), level.end());
  }
  return out;
}

llvm::Expected<DeploymentSearch> kvopt::findSmallestDeployment(
    const ModelConfig &model, unsigned maxGpus, double target,
    const std::function<llvm::Expected<double>(const Deployment &)>
        &tokensPerSecond) {
  if (!(target > 0) || !std::isfinite(target))
    return makeFieldError("deployment search", "target tokens/s",
                          "must be positive, got " + std::to_string(target));
  DeploymentSearch search;
  unsigned foundAt = 0;
  for (const Deployment &d : candidateDeployments(model, maxGpus)) {
    if (foundAt && d.gpus() > foundAt)
      break;
    llvm::Expected<double> tps = tokensPerSecond(d);
    if (!tps)
      return tps.takeError();
    search.tried.push_back({d, *tps});
    if (*tps >= target && *tps > search.bestTokensPerSecond) {
      search.best = d;
      search.bestTokensPerSecond = *tps;
      foundAt = d.gpus();
    }
  }
  return search;
}
