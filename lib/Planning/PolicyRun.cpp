//===- PolicyRun.cpp - simulate one policy and collect report data --------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/Planner.h"

#include <algorithm>

using namespace kvopt;

namespace {
/// Averages consecutive (step, layer) outcomes into fixed-size buckets.
class SeriesBuilder {
public:
  SeriesBuilder(StepSeries &out, uint64_t totalSteps, unsigned points)
      : out(out),
        perBucket(std::max<uint64_t>(
            1, (totalSteps + std::max(1u, points) - 1) / std::max(1u, points))) {}

  void add(const StepResult &r) {
    if (count == perBucket)
      flush();
    if (count == 0)
      out.start.push_back(index);
    hbmBlocks += double(r.hbmBlocks);
    hbm += r.time.bytes.hbmRead + r.time.bytes.hbmWrite;
    dram += r.time.bytes.dramRead + r.time.bytes.dramWrite;
    h2d += r.time.bytes.h2d;
    d2h += r.time.bytes.d2h;
    seconds += r.time.seconds;
    ++count;
    ++index;
  }

  void flush() {
    if (count == 0)
      return;
    double n = double(count);
    out.hbmBlocks.push_back(hbmBlocks / n);
    out.hbmBytes.push_back(hbm / n);
    out.dramBytes.push_back(dram / n);
    out.h2dBytes.push_back(h2d / n);
    out.d2hBytes.push_back(d2h / n);
    out.seconds.push_back(seconds / n);
    count = 0;
    hbmBlocks = hbm = dram = h2d = d2h = seconds = 0;
  }

private:
  StepSeries &out;
  uint64_t perBucket;
  uint64_t count = 0, index = 0;
  double hbmBlocks = 0, hbm = 0, dram = 0, h2d = 0, d2h = 0, seconds = 0;
};
} // namespace

llvm::Expected<PolicyRun> kvopt::runPolicy(const Problem &problem,
                                           const TraceFactory &trace,
                                           Policy &policy,
                                           unsigned seriesPoints) {
  llvm::Expected<std::unique_ptr<TraceSource>> src = trace();
  if (!src)
    return src.takeError();
  PolicyRun run;
  uint32_t layers = problem.work.model.layers;
  run.layerReads.assign(layers, 0);
  run.layerHits.assign(layers, 0);
  uint64_t totalSteps = uint64_t(problem.work.decodeSteps) * layers;
  SeriesBuilder series(run.series, totalSteps, seriesPoints);
  SimOptions options;
  options.onStep = [&](const StepResult &r) {
    if (r.layer < layers) {
      run.layerReads[r.layer] += r.counts.reads;
      run.layerHits[r.layer] += r.counts.hits;
    }
    series.add(r);
  };
  llvm::Expected<SimMetrics> metrics =
      simulate(**src, problem, policy, options);
  if (!metrics)
    return metrics.takeError();
  series.flush();
  run.metrics = std::move(*metrics);
  return run;
}
