//===- HtmlReport.cpp - a self-contained HTML page with SVG plots ---------===//
//
// Part of kv-opt. No scripts, no external assets: the page opens anywhere.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/Report.h"

#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>

using namespace kvopt;

namespace {
constexpr double kW = 760, kH = 260, kLeft = 70, kRight = 20, kTop = 30,
                 kBottom = 40;

struct Line {
  std::string label;
  std::string color;
  const std::vector<double> *values;
};

std::string escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

/// A line chart of equally spaced samples; `hline` draws a dashed limit.
void lineChart(llvm::raw_ostream &os, const std::string &title,
               const std::string &yUnit, double yScale,
               const std::vector<Line> &lines, double hline = -1,
               const std::string &hlineLabel = "") {
  size_t n = 0;
  double ymax = hline > 0 ? hline : 0;
  for (const Line &l : lines) {
    n = std::max(n, l.values->size());
    for (double v : *l.values)
      ymax = std::max(ymax, v);
  }
  ymax = ymax > 0 ? ymax * 1.08 : 1;
  double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto x = [&](size_t i) {
    return kLeft + (n > 1 ? pw * double(i) / double(n - 1) : 0);
  };
  auto y = [&](double v) { return kTop + ph * (1 - v / ymax); };
  os << llvm::format("<svg width=\"%.0f\" height=\"%.0f\" "
                     "xmlns=\"http://www.w3.org/2000/svg\" "
                     "font-family=\"sans-serif\" font-size=\"11\">\n",
                     kW, kH);
  os << "<text x=\"" << kLeft << "\" y=\"18\" font-size=\"13\">"
     << escape(title) << "</text>\n";
  os << llvm::format("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" "
                     "height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>\n",
                     kLeft, kTop, pw, ph);
  for (int t = 0; t <= 4; ++t) {
    double v = ymax * t / 4;
    os << llvm::format("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">"
                       "%.3g</text>\n",
                       kLeft - 4, y(v) + 4, v / yScale);
  }
  os << llvm::format("<text x=\"12\" y=\"%.0f\" transform=\"rotate(-90 12 "
                     "%.0f)\">%s</text>\n",
                     kTop + ph / 2, kTop + ph / 2, escape(yUnit).c_str());
  os << llvm::format("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">"
                     "decode progress (step x layer) →</text>\n",
                     kLeft + pw / 2, kH - 8);
  if (hline > 0) {
    os << llvm::format("<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
                       "stroke=\"#c00\" stroke-dasharray=\"5,4\"/>\n",
                       kLeft, kLeft + pw, y(hline), y(hline));
    os << llvm::format("<text x=\"%.0f\" y=\"%.1f\" fill=\"#c00\" "
                       "text-anchor=\"end\">%s</text>\n",
                       kLeft + pw - 4, y(hline) - 4,
                       escape(hlineLabel).c_str());
  }
  double legendX = kLeft + 8;
  for (const Line &l : lines) {
    os << "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" << l.color
       << "\" points=\"";
    for (size_t i = 0; i < l.values->size(); ++i)
      os << llvm::format("%.1f,%.1f ", x(i), y((*l.values)[i]));
    os << "\"/>\n";
    os << llvm::format("<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" "
                       "height=\"10\" fill=\"%s\"/>",
                       legendX, kTop + 6, l.color.c_str());
    os << llvm::format("<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", legendX + 14,
                       kTop + 15, escape(l.label).c_str());
    legendX += 24 + 7 * double(l.label.size());
  }
  os << "</svg>\n";
}

/// Horizontal bars of throughput normalised to the Static baseline, with the
/// bound's throughput as a dashed line (the honest version of the seed's
/// Fig. 3).
void policyBars(llvm::raw_ostream &os, const PlanResult &result) {
  struct Bar {
    std::string name;
    double seconds;
  };
  std::vector<Bar> bars;
  bars.push_back({"plan (" + result.planner + ")", result.scheduleSeconds});
  double staticSeconds = 0;
  for (const PolicyRun &b : result.baselines) {
    bars.push_back({b.metrics.policy, b.metrics.totalSeconds});
    if (b.metrics.policy == "static")
      staticSeconds = b.metrics.totalSeconds;
  }
  if (staticSeconds <= 0)
    staticSeconds = result.scheduleSeconds;
  double boundSpeedup =
      result.boundSeconds > 0 ? staticSeconds / result.boundSeconds : 0;
  double maxSpeedup = boundSpeedup;
  for (const Bar &b : bars)
    if (b.seconds > 0)
      maxSpeedup = std::max(maxSpeedup, staticSeconds / b.seconds);
  maxSpeedup = std::max(1.0, maxSpeedup) * 1.1;
  double rowH = 22, left = 170, pw = kW - left - 60;
  double h = kTop + rowH * double(bars.size()) + 30;
  os << llvm::format("<svg width=\"%.0f\" height=\"%.0f\" "
                     "xmlns=\"http://www.w3.org/2000/svg\" "
                     "font-family=\"sans-serif\" font-size=\"11\">\n",
                     kW, h);
  os << "<text x=\"10\" y=\"18\" font-size=\"13\">Throughput normalised to "
        "Static (higher is better); dashed: the proven bound</text>\n";
  for (size_t i = 0; i < bars.size(); ++i) {
    double s = bars[i].seconds > 0 ? staticSeconds / bars[i].seconds : 0;
    double yy = kTop + rowH * double(i);
    os << llvm::format("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s"
                       "</text>\n",
                       left - 6, yy + 14, escape(bars[i].name).c_str());
    os << llvm::format("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.1f\" "
                       "height=\"16\" fill=\"%s\"/>\n",
                       left, yy + 2, pw * s / maxSpeedup,
                       i == 0 ? "#2a7" : "#789");
    os << llvm::format("<text x=\"%.1f\" y=\"%.0f\">%.2fx</text>\n",
                       left + pw * s / maxSpeedup + 4, yy + 14, s);
  }
  if (boundSpeedup > 0) {
    double bx = left + pw * boundSpeedup / maxSpeedup;
    os << llvm::format("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" "
                       "stroke=\"#c00\" stroke-dasharray=\"5,4\"/>\n",
                       bx, bx, kTop, h - 24);
    os << llvm::format("<text x=\"%.1f\" y=\"%.0f\" fill=\"#c00\" "
                       "text-anchor=\"middle\">bound %.2fx</text>\n",
                       bx, h - 10, boundSpeedup);
  }
  os << "</svg>\n";
}
} // namespace

void kvopt::writeHtmlReport(llvm::raw_ostream &os, const Problem &problem,
                            const PlanResult &result,
                            const ReportContext &ctx) {
  os << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>kv-opt: "
     << escape(ctx.title)
     << "</title>\n<style>body{font-family:sans-serif;margin:24px;max-width:"
        "820px}pre{background:#f6f6f6;padding:8px;overflow-x:auto}</style>"
        "</head><body>\n<h1>kv-opt plan</h1>\n<pre>";
  std::string text;
  llvm::raw_string_ostream ts(text);
  writeTextReport(ts, problem, result, ctx);
  os << escape(ts.str()) << "</pre>\n<h2>Policies</h2>\n";
  policyBars(os, result);
  const StepSeries &s = result.plan.series;
  os << "<h2>HBM occupancy of the plan</h2>\n";
  std::vector<Line> occupancy = {{"plan", "#2a7", &s.hbmBlocks}};
  for (const PolicyRun &b : result.baselines)
    if (b.metrics.policy == "reactive" || b.metrics.policy == "static")
      occupancy.push_back({b.metrics.policy,
                           b.metrics.policy == "static" ? "#999" : "#d80",
                           &b.series.hbmBlocks});
  lineChart(os, "KV blocks resident in HBM", "blocks", 1, occupancy,
            double(problem.capacityBlocks), "capacity");
  os << "<h2>Per-step traffic of the plan</h2>\n";
  lineChart(os, "Bytes per step on each resource", "MB per step", 1e6,
            {{"HBM", "#2a7", &s.hbmBytes},
             {"DRAM", "#36c", &s.dramBytes},
             {"link H2D", "#d80", &s.h2dBytes},
             {"link D2H", "#a3a", &s.d2hBytes}});
  lineChart(os, "Step time", "microseconds", 1e-6,
            {{"plan", "#2a7", &s.seconds}});
  os << "</body></html>\n";
}
