//===- Deployment.h - Tensor/pipeline/data-parallel sharding ----*- C++ -*-===//
//
// Part of kv-opt. A deployment serves one model on tp x pp x dp GPUs: tensor
// parallelism (TP) splits every layer's heads and matrices over tp GPUs,
// pipeline parallelism (PP) splits the layers into pp consecutive stages, and
// data parallelism (DP) runs dp independent replicas. Each GPU then holds one
// shard: its share of the KV cache and of the weights. This header computes
// the shards as serving engines (vLLM, TensorRT-LLM, SGLang) lay them out,
// groups identical shards with their multiplicity, and combines per-stage
// decode times into the deployment's time (pipeline bubble model). The rules
// and their sources are in docs/deployment.md; MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_DEPLOYMENT_H
#define KVOPT_CORE_DEPLOYMENT_H

#include "kvopt/Core/ModelConfig.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kvopt {

/// How a model is spread over GPUs.
struct Deployment {
  unsigned tp = 1; ///< tensor-parallel GPUs per stage
  unsigned pp = 1; ///< pipeline stages
  unsigned dp = 1; ///< independent replicas
  /// GPUs used: tp * pp * dp.
  unsigned gpus() const { return tp * pp * dp; }
  /// True for tp = pp = dp = 1 (one GPU, today's single-GPU plan).
  bool isSingleGpu() const { return tp == 1 && pp == 1 && dp == 1; }
  /// "tp=2 pp=1 dp=1".
  std::string str() const;
  /// Checks the deployment against the model; errors name the option and
  /// the value: every factor positive; tp divides the query heads; tp
  /// divides the KV heads or is a multiple of them (GQA/MHA; MLA any tp
  /// dividing the heads); pp at most the number of layers.
  llvm::Error validate(const ModelConfig &model) const;
};

/// The layers of each PP stage: layers / pp each, the last stage taking the
/// remainder (vLLM's get_pp_indices). Requires 1 <= pp <= layers.
std::vector<unsigned> stageLayerCounts(unsigned layers, unsigned pp);

/// What one GPU holds. Identical GPUs share one Shard with a multiplicity.
struct Shard {
  /// PP stages this shard stands for (identical stages are merged).
  std::vector<unsigned> stages;
  /// First model layer of the first such stage, and the layer count.
  unsigned firstLayer = 0, layers = 0;
  /// KV heads this GPU caches (GQA/MHA; 1 latent for MLA).
  unsigned kvHeads = 0;
  /// GPUs of one TP group holding the same KV heads: 1 when TP divides the
  /// KV heads, tp / kv_heads when TP exceeds them, tp for MLA latents.
  unsigned kvReplicas = 1;
  /// KV bytes of one token in one layer on this GPU.
  uint64_t kvBytesPerTokenPerLayer = 0;
  /// Weight bytes resident on this GPU.
  double residentWeightBytes = 0;
  /// Weight bytes this GPU reads per (token, layer) decode step.
  double weightBytesPerLayerStep = 0;
  /// The stage holds the input embedding / the LM head.
  bool embedding = false, lmHead = false;
  /// Sliding window per layer of the shard (0: full attention).
  std::vector<unsigned> slidingWindow;
  /// GPUs running this shard: tp * dp * stages.size().
  unsigned multiplicity = 0;

  /// KV bytes this GPU holds for `batch` sequences of `tokens` tokens
  /// (sliding-window layers hold at most their window).
  double kvBytes(uint64_t tokens, uint64_t batch) const;
  /// HBM this GPU needs: resident weights + kvBytes(tokens, batch).
  double hbmBytesNeeded(uint64_t tokens, uint64_t batch) const {
    return residentWeightBytes + kvBytes(tokens, batch);
  }
  /// "stages 0-2 (layers 0..41 each 42), kv heads 1 (x2 replicas)" etc.
  std::string describe() const;
};

/// Per-GPU weight bytes of a set of consecutive layers under TP (resident,
/// and read per decode step of `batch` sequences: the routed experts the
/// batch is expected to touch), excluding embedding and LM head.
struct LayerWeights {
  double resident = 0;
  double active = 0;
};
LayerWeights shardLayerWeights(const ModelConfig &model, unsigned tp,
                               unsigned firstLayer, unsigned layers,
                               unsigned batch = 1);
/// Bytes of the input embedding or of the LM head on one GPU (vocab x
/// hidden / tp: vocabulary-parallel, as engines shard both).
double shardVocabWeightBytes(const ModelConfig &model, unsigned tp);

/// The distinct shards of `deployment`, in stage order of their first stage,
/// with the weights read per step for `batch` sequences per replica.
/// Errors: deployment.validate().
llvm::Expected<std::vector<Shard>> shardModel(const ModelConfig &model,
                                              const Deployment &deployment,
                                              unsigned batch = 1);

/// The time of one decode run of a pipeline, from per-stage times.
struct PipelineTime {
  /// Seconds of the whole run (all decode tokens of the batch).
  double seconds = 0;
  /// Micro-batches in flight.
  unsigned microbatches = 1;
  /// Fraction of stage-time idle: 1 - sum(stage busy) / (pp * seconds).
  double bubbleFraction = 0;
};

/// Combines per-stage run times (stage order) into the pipeline's time. The
/// batch is split into m = min(pp, batch) micro-batches; each micro-batch
/// re-reads a stage's weights, so stage s is busy
///   T'_s = T_s + (m - 1) * reread_s
/// where T_s is the stage's planned time for the whole batch and reread_s
/// the time of one extra pass over its weights. A token round of the batch
/// takes max(max_s T'_s, sum_s T'_s / m): each stage serves all m
/// micro-batches per round, and a micro-batch's next token waits for its
/// previous one to leave the last stage. pp = 1 returns T_0 unchanged.
PipelineTime combinePipeline(const std::vector<double> &stageSeconds,
                             const std::vector<double> &rereadSeconds,
                             uint64_t batch);

/// All valid deployments on at most `maxGpus` GPUs, by GPU count, then by
/// (dp, pp) ascending and tp descending.
std::vector<Deployment> candidateDeployments(const ModelConfig &model,
                                             unsigned maxGpus);

/// The result of searching for the smallest deployment.
struct DeploymentSearch {
  /// The deployment found (the fastest among those on the fewest GPUs
  /// reaching the target), if any.
  std::optional<Deployment> best;
  double bestTokensPerSecond = 0;
  /// Every candidate evaluated, with its tokens/s (0 when it does not fit).
  std::vector<std::pair<Deployment, double>> tried;
};

/// Evaluates candidateDeployments(model, maxGpus) in order with
/// `tokensPerSecond` (0: the deployment does not fit; an error aborts) and
/// stops after the first GPU count on which one reaches `target`.
llvm::Expected<DeploymentSearch> findSmallestDeployment(
    const ModelConfig &model, unsigned maxGpus, double target,
    const std::function<llvm::Expected<double>(const Deployment &)>
        &tokensPerSecond);

} // namespace kvopt

#endif // KVOPT_CORE_DEPLOYMENT_H
