//===- Report.h - text, JSON and HTML reports of a plan ---------*- C++ -*-===//
//
// Part of kv-opt. Renders a PlanResult: a readable table (policy, time per
// token, tokens/s, HBM hit rate, aggregated-bandwidth utilisation, gap to
// the bound), JSON for machines, and a self-contained HTML page with SVG
// plots (HBM occupancy and per-step tier traffic over time, policy bars).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_PLANNING_REPORT_H
#define KVOPT_PLANNING_REPORT_H

#include "kvopt/Planning/Planner.h"

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace kvopt {

/// What the report says about the inputs (free-form lines, in order).
struct ReportContext {
  std::string title;
  std::vector<std::pair<std::string, std::string>> facts;
};

void writeTextReport(llvm::raw_ostream &os, const Problem &problem,
                     const PlanResult &result, const ReportContext &ctx);
void writeJsonReport(llvm::raw_ostream &os, const Problem &problem,
                     const PlanResult &result, const ReportContext &ctx);
void writeHtmlReport(llvm::raw_ostream &os, const Problem &problem,
                     const PlanResult &result, const ReportContext &ctx);

/// Writes `render` output to `path` ("-" = stdout); errors name the path.
llvm::Error writeFile(const std::string &path,
                      const std::function<void(llvm::raw_ostream &)> &render);

} // namespace kvopt

#endif // KVOPT_PLANNING_REPORT_H
