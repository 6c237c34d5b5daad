//===- DeploymentPlan.cpp - plan every distinct shard of a deployment -----===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/DeploymentPlan.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <thread>

using namespace kvopt;

Workload kvopt::shardWorkload(const Workload &whole, const Shard &shard) {
  Workload w = whole;
  w.model.layers = shard.layers;
  if (w.model.attention != AttentionKind::MLA)
    w.model.kvHeads = shard.kvHeads;
  w.model.slidingWindow = shard.slidingWindow;
  w.residentWeightBytesOverride = shard.residentWeightBytes;
  w.weightBytesPerLayerStepOverride = shard.weightBytesPerLayerStep;
  return w;
}

llvm::Error kvopt::planDeployment(DeploymentPlan &plan,
                                  const PlanOptions &options) {
  size_t n = plan.shards.size();
  if (n == 0)
    return llvm::createStringError("deployment has no shard to plan");
  // Distinct shards run side by side. Each keeps the options as given (its
  // thread count too): the solver's bound may differ in its last bits with
  // the thread count, and a shard must get the plan it gets alone.
  const PlanOptions &each = options;
  std::mutex progressLock;
  std::vector<std::string> errors(n);
  auto run = [&](size_t i) {
    ShardPlan &sp = plan.shards[i];
    PlanOptions mine = each;
    if (options.progress && n > 1)
      mine.progress = [&, i](const std::string &line) {
        std::lock_guard<std::mutex> guard(progressLock);
        options.progress("shard " + std::to_string(i) + ": " + line);
      };
    llvm::Expected<PlanResult> r =
        planPlacement(sp.problem, sp.trace, mine);
    if (!r) {
      errors[i] = llvm::toString(r.takeError());
      return;
    }
    sp.result = std::move(*r);
    scheduleLayerStats(sp.problem, sp.result.schedule, sp.result.plan);
  };
  if (n == 1) {
    run(0);
  } else {
    std::vector<std::thread> workers;
    for (size_t i = 0; i < n; ++i)
      workers.emplace_back(run, i);
    for (std::thread &t : workers)
      t.join();
  }
  for (size_t i = 0; i < n; ++i)
    if (!errors[i].empty())
      return llvm::createStringError("shard " + std::to_string(i) + " (" +
                                     plan.shards[i].shard.describe() +
                                     "): " + errors[i]);

  std::vector<double> schedule, bound, reread;
  for (unsigned s = 0; s < plan.stageShard.size(); ++s) {
    ShardPlan &sp = plan.shards[plan.stageShard[s]];
    const Workload &w = sp.problem.work;
    sp.rereadSeconds = double(w.decodeSteps) * w.model.layers *
                       w.weightBytesPerLayerStep() /
                       sp.problem.mem.hbm().readBandwidth;
    schedule.push_back(sp.result.scheduleSeconds);
    bound.push_back(sp.result.boundSeconds);
    reread.push_back(sp.rereadSeconds);
  }
  plan.schedule = combinePipeline(schedule, reread, plan.batch);
  plan.bound = combinePipeline(bound, reread, plan.batch);
  double tokens =
      double(plan.deployment.dp) * double(plan.batch) * double(plan.decodeSteps);
  plan.tokensPerSecond =
      plan.schedule.seconds > 0 ? tokens / plan.schedule.seconds : 0;
  plan.boundTokensPerSecond =
      plan.bound.seconds > 0 ? tokens / plan.bound.seconds : 0;
  plan.hbmNeededPerGpu = 0;
  for (const ShardPlan &sp : plan.shards)
    plan.hbmNeededPerGpu =
        std::max(plan.hbmNeededPerGpu,
                 sp.shard.hbmBytesNeeded(plan.targetTokens, plan.batch));
  return llvm::Error::success();
}

/// Bytes as "12.345 GB".
static std::string gb(double bytes) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.3f GB", bytes / 1e9);
  return buf;
}

static std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

void kvopt::writeDeploymentTextReport(llvm::raw_ostream &os,
                                      const DeploymentPlan &p) {
  const Deployment &d = p.deployment;
  os << "kv-opt deployment: " << p.model << ", " << d.str() << " ("
     << d.gpus() << " GPUs) on " << p.system << " (" << p.systemGpus
     << " GPUs";
  if (p.gpusPerSlowTier > 1)
    os << ", " << p.gpusPerSlowTier << " per shared slow tier, "
       << p.activePerSlowTier << " busy";
  os << ")\n";
  os << "  decode: " << p.decodeSteps << " tokens x " << p.batch
     << " sequences per replica\n";
  for (size_t i = 0; i < p.shards.size(); ++i) {
    const ShardPlan &sp = p.shards[i];
    const Shard &s = sp.shard;
    const MemorySystem &mem = sp.problem.mem;
    os << "shard " << i << " x" << s.multiplicity << " GPUs: " << s.describe()
       << "\n";
    os << "  per GPU: KV " << s.kvBytesPerTokenPerLayer
       << " B per token per layer; weights " << gb(s.residentWeightBytes)
       << " resident, " << num(s.weightBytesPerLayerStep)
       << " B read per layer step\n";
    os << "  memory: HBM " << gb(mem.hbm().capacityBytes) << ", "
       << mem.dram().name << " " << gb(mem.dram().capacityBytes) << " at "
       << num(mem.dram().readBandwidth / 1e9) << " GB/s, link "
       << num(mem.hostToDeviceBandwidth() / 1e9) << "/"
       << num(mem.deviceToHostBandwidth() / 1e9) << " GB/s; "
       << sp.problem.capacityBlocks << " HBM blocks for KV\n";
    os << "  plan (" << sp.result.planner << ", "
       << kvopt::planStatusName(sp.result.status)
       << "): bound " << num(sp.result.boundSeconds) << " s, schedule "
       << num(sp.result.scheduleSeconds) << " s, gap "
       << llvm::format("%.2f%%", 100 * sp.result.gap) << ", "
       << sp.result.schedule.totalMoves() << " moves\n";
    double need = s.hbmBytesNeeded(p.targetTokens, p.batch);
    os << "  HBM needed at " << p.targetTokens << " tokens x " << p.batch
       << ": " << gb(need) << " (" << gb(s.residentWeightBytes)
       << " weights + " << gb(s.kvBytes(p.targetTokens, p.batch))
       << " KV); "
       << (need <= mem.hbm().capacityBytes
               ? std::string("fits in HBM")
               : gb(need - mem.hbm().capacityBytes) + " beyond HBM")
       << "\n";
  }
  os << "pipeline: " << d.pp << " stage" << (d.pp == 1 ? "" : "s") << ", "
     << p.schedule.microbatches << " micro-batch"
     << (p.schedule.microbatches == 1 ? "" : "es") << ", bubble "
     << llvm::format("%.1f%%", 100 * p.schedule.bubbleFraction) << "\n";
  os << "decode time: schedule " << num(p.schedule.seconds) << " s, bound "
     << num(p.bound.seconds) << " s\n";
  os << "throughput: " << num(p.tokensPerSecond) << " tokens/s ("
     << d.dp << " replica" << (d.dp == 1 ? "" : "s") << " x " << p.batch
     << " sequences); at most " << num(p.boundTokensPerSecond)
     << " tokens/s by the bound\n";
  os << "HBM needed per GPU at " << p.targetTokens
     << " tokens: " << gb(p.hbmNeededPerGpu) << "\n";
  if (p.search) {
    os << "smallest deployment for " << num(p.searchTarget) << " tokens/s: ";
    if (p.search->best)
      os << p.search->best->str() << " (" << p.search->best->gpus()
         << " GPUs, " << num(p.search->bestTokensPerSecond) << " tokens/s)\n";
    else
      os << "none within the machine\n";
    for (const auto &[cand, tps] : p.search->tried)
      os << "  tried " << cand.str() << ": "
         << (tps > 0 ? num(tps) + " tokens/s" : std::string("does not fit"))
         << "\n";
  }
}

void kvopt::writeDeploymentJsonReport(llvm::raw_ostream &os,
                                      const DeploymentPlan &p) {
  llvm::json::OStream j(os, 2);
  auto deployment = [&](const Deployment &d) {
    j.attribute("tp", d.tp);
    j.attribute("pp", d.pp);
    j.attribute("dp", d.dp);
    j.attribute("gpus", d.gpus());
  };
  j.object([&] {
    j.attribute("model", p.model);
    j.attributeObject("deployment", [&] { deployment(p.deployment); });
    j.attribute("system", p.system);
    j.attribute("system_gpus", p.systemGpus);
    j.attribute("gpus_per_slow_tier", p.gpusPerSlowTier);
    j.attribute("busy_per_slow_tier", p.activePerSlowTier);
    j.attribute("decode_tokens", int64_t(p.decodeSteps));
    j.attribute("batch", int64_t(p.batch));
    j.attributeArray("shards", [&] {
      for (const ShardPlan &sp : p.shards)
        j.object([&] {
          const Shard &s = sp.shard;
          j.attributeArray("stages", [&] {
            for (unsigned st : s.stages)
              j.value(st);
          });
          j.attribute("multiplicity", s.multiplicity);
          j.attribute("first_layer", s.firstLayer);
          j.attribute("layers", s.layers);
          j.attribute("kv_heads", s.kvHeads);
          j.attribute("kv_replicas", s.kvReplicas);
          j.attribute("kv_bytes_per_token_per_layer",
                      int64_t(s.kvBytesPerTokenPerLayer));
          j.attribute("resident_weight_bytes", s.residentWeightBytes);
          j.attribute("weight_bytes_per_layer_step",
                      s.weightBytesPerLayerStep);
          j.attribute("hbm_bytes", sp.problem.mem.hbm().capacityBytes);
          j.attribute("hbm_kv_blocks", int64_t(sp.problem.capacityBlocks));
          j.attribute("hbm_bytes_needed",
                      s.hbmBytesNeeded(p.targetTokens, p.batch));
          j.attribute("planner", sp.result.planner);
          j.attribute("status", kvopt::planStatusName(sp.result.status));
          j.attribute("bound_seconds", sp.result.boundSeconds);
          j.attribute("schedule_seconds", sp.result.scheduleSeconds);
          j.attribute("gap", sp.result.gap);
          j.attribute("moves", int64_t(sp.result.schedule.totalMoves()));
        });
    });
    j.attribute("microbatches", p.schedule.microbatches);
    j.attribute("bubble_fraction", p.schedule.bubbleFraction);
    j.attribute("schedule_seconds", p.schedule.seconds);
    j.attribute("bound_seconds", p.bound.seconds);
    j.attribute("tokens_per_second", p.tokensPerSecond);
    j.attribute("bound_tokens_per_second", p.boundTokensPerSecond);
    j.attribute("target_tokens", int64_t(p.targetTokens));
    j.attribute("hbm_bytes_needed_per_gpu", p.hbmNeededPerGpu);
    if (p.search) {
      j.attributeObject("search", [&] {
        j.attribute("target_tokens_per_second", p.searchTarget);
        if (p.search->best)
          j.attributeObject("best", [&] {
            deployment(*p.search->best);
            j.attribute("tokens_per_second", p.search->bestTokensPerSecond);
          });
        else
          j.attribute("best", nullptr);
        j.attributeArray("tried", [&] {
          for (const auto &[d, tps] : p.search->tried)
            j.object([&] {
              deployment(d);
              j.attribute("tokens_per_second", tps);
            });
        });
      });
    }
  });
  os << "\n";
}
