//===- TextReport.cpp - the readable table and the JSON report ------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/Report.h"
#include "kvopt/Core/AtomicOutput.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

using namespace kvopt;

namespace {
/// One row of the policy table.
struct Row {
  std::string name;
  const PolicyRun *run;
  bool ignoresCapacity;
};
} // namespace

static std::vector<Row> tableRows(const PlanResult &result) {
  std::vector<Row> rows;
  rows.push_back({"plan (" + result.planner + ")", &result.plan, false});
  for (const PolicyRun &b : result.baselines)
    rows.push_back({b.metrics.policy, &b, b.ignoresCapacity});
  return rows;
}

/// Bytes as "12.3 GB" (or MB / KB / B below a GB).
static std::string gb(double bytes) {
  char buf[32];
  if (bytes >= 1e9 || bytes == 0)
    std::snprintf(buf, sizeof(buf), "%.1f GB", bytes / 1e9);
  else if (bytes >= 1e6)
    std::snprintf(buf, sizeof(buf), "%.1f MB", bytes / 1e6);
  else if (bytes >= 1e3)
    std::snprintf(buf, sizeof(buf), "%.1f KB", bytes / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%.0f B", bytes);
  return buf;
}

/// A duration with a readable unit ("4.011 s", "2.247 ms", "103.5 us").
static std::string duration(double seconds) {
  char buf[32];
  if (seconds >= 1 || seconds == 0)
    std::snprintf(buf, sizeof(buf), "%.6g s", seconds);
  else if (seconds >= 1e-3)
    std::snprintf(buf, sizeof(buf), "%.6g ms", seconds * 1e3);
  else if (seconds >= 1e-6)
    std::snprintf(buf, sizeof(buf), "%.6g us", seconds * 1e6);
  else
    std::snprintf(buf, sizeof(buf), "%.6g ns", seconds * 1e9);
  return buf;
}

/// Bandwidth as "4.90 TB/s" or "450 GB/s".
static std::string bw(double bytesPerSecond) {
  char buf[32];
  if (bytesPerSecond >= 1e12)
    std::snprintf(buf, sizeof(buf), "%.2f TB/s", bytesPerSecond / 1e12);
  else
    std::snprintf(buf, sizeof(buf), "%.0f GB/s", bytesPerSecond / 1e9);
  return buf;
}

void kvopt::writeTextReport(llvm::raw_ostream &os, const Problem &problem,
                            const PlanResult &result,
                            const ReportContext &ctx) {
  const MemorySystem &mem = problem.mem;
  const Workload &w = problem.work;
  os << "kv-opt plan: " << ctx.title << "\n";
  for (const auto &[key, value] : ctx.facts)
    os << llvm::format("  %-12s", key.c_str()) << value << "\n";
  os << llvm::format("  %-12s", "hardware") << mem.name << ": "
     << mem.hbm().name << " " << gb(mem.hbm().capacityBytes) << " "
     << bw(mem.hbm().readBandwidth) << " | " << mem.dram().name << " "
     << gb(mem.dram().capacityBytes) << " " << bw(mem.dram().readBandwidth)
     << " | link " << bw(mem.hostToDeviceBandwidth()) << " H2D, "
     << bw(mem.deviceToHostBandwidth()) << " D2H\n";
  os << llvm::format("  %-12s", "capacity") << problem.capacityBlocks
     << " HBM blocks of " << w.blockBytes() << " B for KV ("
     << gb(double(problem.capacityBlocks) * double(w.blockBytes()))
     << " after " << gb(w.residentWeightBytes()) << " of weights)\n";
  os << llvm::format("  %-12s", "balanced") << "bandwidth-proportional HBM "
     << "share of reads "
     << llvm::format("%.1f%%", 100 * problem.model.bandwidthBalancedFraction())
     << "\n\n";

  os << llvm::format("bound     %14s   proven lower bound on total decode "
                     "time (tightest: %s)\n",
                     duration(result.boundSeconds).c_str(),
                     result.boundMethod.c_str());
  for (const auto &[name, value] : result.bounds)
    os << llvm::format("  %-16s %14s\n", name.c_str(),
                       duration(value).c_str());
  os << llvm::format("schedule  %14s   simulated; schedule/bound %.4f, gap "
                     "(schedule - bound) / schedule = %.2f%% [%s]\n",
                     duration(result.scheduleSeconds).c_str(),
                     result.boundSeconds > 0
                         ? result.scheduleSeconds / result.boundSeconds
                         : 1.0,
                     100 * result.gap, planStatusName(result.status));
  for (const std::string &note : result.notes)
    os << "  note: " << note << "\n";
  os << llvm::format("solve     %14s\n\n",
                     duration(result.solveSeconds).c_str());

  os << llvm::format("%-34s %14s %12s %9s %9s %10s %10s\n", "policy",
                     "time/token", "tokens/s", "KV hit", "agg-BW", "migrated",
                     "vs bound");
  for (const Row &row : tableRows(result)) {
    const SimMetrics &m = row.run->metrics;
    double perToken =
        m.decodedTokens ? m.totalSeconds / double(m.decodedTokens) : 0;
    double vsBound =
        result.boundSeconds > 0 ? m.totalSeconds / result.boundSeconds : 0;
    double moved = double(m.promotedEntries + m.demotedEntries) *
                   double(w.entryBytes());
    os << llvm::format("%-34s %14s %12.1f %8.1f%% %8.1f%% %10s %9.3fx%s\n",
                       row.name.c_str(), duration(perToken).c_str(),
                       m.tokensPerSecond,
                       100 * m.kvHitRate, 100 * m.aggregateUtilisation,
                       gb(moved).c_str(), vsBound,
                       row.ignoresCapacity ? "*" : "");
  }
  if (!result.baselines.empty())
    os << "  * ignores the HBM capacity: may run below the bound.\n";
}

static llvm::json::Object metricsJson(const SimMetrics &m) {
  return llvm::json::Object{
      {"policy", m.policy},
      {"total_seconds", m.totalSeconds},
      {"tokens_per_second", m.tokensPerSecond},
      {"decoded_tokens", int64_t(m.decodedTokens)},
      {"steps", int64_t(m.steps)},
      {"kv_hit_rate", m.kvHitRate},
      {"byte_hit_rate", m.byteHitRate},
      {"aggregate_bandwidth_utilisation", m.aggregateUtilisation},
      {"peak_hbm_blocks", int64_t(m.peakHbmBlocks)},
      {"capacity_blocks", int64_t(m.capacityBlocks)},
      {"promoted_blocks", int64_t(m.promotedBlocks)},
      {"demoted_blocks", int64_t(m.demotedBlocks)},
      {"bytes",
       llvm::json::Object{{"hbm_read", m.bytes.hbmRead},
                          {"hbm_write", m.bytes.hbmWrite},
                          {"dram_read", m.bytes.dramRead},
                          {"dram_write", m.bytes.dramWrite},
                          {"h2d", m.bytes.h2d},
                          {"d2h", m.bytes.d2h}}},
  };
}

void kvopt::writeJsonReport(llvm::raw_ostream &os, const Problem &problem,
                            const PlanResult &result,
                            const ReportContext &ctx) {
  llvm::json::Object facts;
  for (const auto &[key, value] : ctx.facts)
    facts[key] = value;
  llvm::json::Array baselines;
  for (const PolicyRun &b : result.baselines) {
    llvm::json::Object o = metricsJson(b.metrics);
    o["ignores_capacity"] = b.ignoresCapacity;
    baselines.push_back(std::move(o));
  }
  llvm::json::Array notes;
  for (const std::string &n : result.notes)
    notes.push_back(n);
  llvm::json::Array layerSplit;
  for (size_t l = 0; l < result.plan.layerReads.size(); ++l)
    layerSplit.push_back(result.plan.layerReads[l]
                             ? double(result.plan.layerHits[l]) /
                                   double(result.plan.layerReads[l])
                             : 0.0);
  llvm::json::Object bounds;
  for (const auto &[name, value] : result.bounds)
    bounds[name] = value;
  llvm::json::Object root{
      {"title", ctx.title},
      {"time_model", kTimeModelVersion},
      {"inputs", std::move(facts)},
      {"hardware", problem.mem.name},
      {"capacity_blocks", int64_t(problem.capacityBlocks)},
      {"block_bytes", int64_t(problem.work.blockBytes())},
      {"balanced_hbm_fraction", problem.model.bandwidthBalancedFraction()},
      {"planner", result.planner},
      {"status", planStatusName(result.status)},
      {"bound_seconds", result.boundSeconds},
      {"schedule_seconds", result.scheduleSeconds},
      {"gap", result.gap},
      {"gap_definition", "(schedule - bound) / schedule"},
      {"schedule_over_bound", result.boundSeconds > 0
                                  ? result.scheduleSeconds / result.boundSeconds
                                  : 1.0},
      {"bound_method", result.boundMethod},
      {"bounds", std::move(bounds)},
      {"solve_seconds", result.solveSeconds},
      {"migrations", int64_t(result.schedule.totalMoves())},
      {"notes", std::move(notes)},
      {"plan", metricsJson(result.plan.metrics)},
      {"plan_layer_hit_rate", std::move(layerSplit)},
      {"baselines", std::move(baselines)},
  };
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}

llvm::Error
kvopt::writeFile(const std::string &path,
                 const std::function<void(llvm::raw_ostream &)> &render) {
  return writeOutput(path, [&](llvm::raw_ostream &os) { render(os); });
}
