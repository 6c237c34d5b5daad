//===- DeploymentPlan.h - plan every distinct shard of a deployment -*- C++ -*-===//
//
// Part of kv-opt. The MLIR-free driver behind `--kvtier-plan-deployment`:
// each distinct shard of a deployment (one GPU's share, identical GPUs
// planned once) is a Problem planned by planPlacement, distinct shards in
// parallel; the deployment's decode time combines the PP stages with the
// pipeline model of docs/model.md; the reports give tokens/s, per-GPU HBM
// needs and the smallest deployment reaching a throughput.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_PLANNING_DEPLOYMENTPLAN_H
#define KVOPT_PLANNING_DEPLOYMENTPLAN_H

#include "kvopt/Core/Deployment.h"
#include "kvopt/Core/SharedTier.h"
#include "kvopt/Planning/Planner.h"

#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kvopt {

/// The workload of one GPU running `shard`: the shard's layers and KV heads,
/// its weights (resident and read per layer step); lengths, batch and block
/// of `whole` (the whole model's workload).
Workload shardWorkload(const Workload &whole, const Shard &shard);

/// One distinct shard: its problem, trace and (after planning) result.
struct ShardPlan {
  Shard shard;
  Problem problem;
  TraceFactory trace;
  /// Report lines describing the inputs (as the single-GPU report has).
  std::vector<std::pair<std::string, std::string>> facts;
  PlanResult result;
  /// Seconds of one extra pass over the shard's weights for the whole
  /// decode (each further micro-batch of a pipeline costs this much).
  double rereadSeconds = 0;
};

struct DeploymentPlan {
  std::string model;
  Deployment deployment;
  /// The machine: its name, GPUs, GPUs per shared slow tier and how many of
  /// them are busy under this deployment.
  std::string system;
  unsigned systemGpus = 1, gpusPerSlowTier = 1, activePerSlowTier = 1;
  std::vector<ShardPlan> shards;
  /// For each PP stage, the index of its shard.
  std::vector<unsigned> stageShard;
  /// Decode run of every replica: tokens per sequence and sequences.
  uint64_t decodeSteps = 0, batch = 0;
  /// Combined over the stages: the schedules' and the bounds' times.
  PipelineTime schedule, bound;
  /// Decode tokens per second of the whole deployment (dp replicas), from
  /// the schedules, and the most the bounds allow.
  double tokensPerSecond = 0, boundTokensPerSecond = 0;
  /// Context (tokens per sequence) for the HBM need, and the largest need
  /// of any GPU (weights + KV of `batch` sequences of that context).
  uint64_t targetTokens = 0;
  double hbmNeededPerGpu = 0;
  /// Smallest-deployment search, when asked for.
  double searchTarget = 0;
  std::optional<DeploymentSearch> search;
};

/// Plans every shard of `plan` (distinct shards in parallel threads, each
/// planned with `options` as if alone, so its result does not depend on the
/// other shards) and fills the combined fields. Errors: a shard's
/// planning failure, naming the shard.
llvm::Error planDeployment(DeploymentPlan &plan, const PlanOptions &options);

/// The deployment report: the machine, each distinct shard (multiplicity,
/// per-GPU KV and weights, bound, schedule, HBM need), the pipeline, the
/// throughput and the search.
void writeDeploymentTextReport(llvm::raw_ostream &os,
                               const DeploymentPlan &plan);
void writeDeploymentJsonReport(llvm::raw_ostream &os,
                               const DeploymentPlan &plan);

} // namespace kvopt

#endif // KVOPT_PLANNING_DEPLOYMENTPLAN_H
