//===- kv-solve.cpp - Bound, schedule and gap from the command line -------===//
//
// kv-solve builds a placement problem (hardware preset or JSON, the seed's
// workload shape or a model config, a trace file or a seeded generator),
// calls the Planning driver (planPlacement, the same one kv-opt's pass
// calls) and prints the bound, the schedule's time, the gap and the
// status; optionally JSON, the schedule, the baselines' distance from the
// bound, and the exact model as SMT-LIB.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Annealing.h"
#include "kvopt/Core/AtomicOutput.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/Limits.h"
#include "kvopt/Core/ModelConfig.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Core/ToolHandlers.h"
#include "kvopt/Core/TraceIO.h"
#include "kvopt/Planning/Planner.h"
#include "kvopt/Solver/BruteForce.h"
#include "kvopt/Solver/ScheduleText.h"
#include "kvopt/Solver/Solver.h"
#include "kvopt/Solver/PlacementProgram.h"
#include "kvopt/Solver/SolverReport.h"
#include "kvopt/Solver/Z3Backend.h"
#include "kvopt/Target/SMTLIB/ExportPlacement.h"

#include "SolveReport.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>

/// Most threads for the bound (more only adds contention).
static constexpr unsigned kMaxSolverThreads = 256;

using namespace kvopt;
using namespace llvm;

static cl::OptionCategory cat("kv-solve options");

static cl::opt<std::string> hardware("hardware", cl::desc("hardware preset"),
                                     cl::init("paper"), cl::cat(cat));
static cl::opt<std::string> hardwareJson("hardware-json",
                                         cl::desc("memory system JSON file"),
                                         cl::cat(cat));
static cl::opt<std::string> modelConfig(
    "model", cl::desc("Hugging Face config.json (default: the seed's shape)"),
    cl::cat(cat));
static cl::opt<unsigned> layers("layers",
                                cl::desc("override the model's layer count"),
                                cl::init(0), cl::cat(cat));
static cl::opt<unsigned> prompt("prompt", cl::desc("prompt tokens"),
                                cl::init(1024), cl::cat(cat));
static cl::opt<unsigned> decode("decode", cl::desc("decode steps"),
                                cl::init(128), cl::cat(cat));
static cl::opt<unsigned> batch("batch", cl::desc("sequences"), cl::init(1),
                               cl::cat(cat));
static cl::opt<unsigned> blockTokens("block-tokens",
                                     cl::desc("granularity in tokens"),
                                     cl::init(1), cl::cat(cat));
static cl::opt<double> weightBytes(
    "weight-bytes", cl::desc("weight bytes read per (step, layer); "
                             "default: the workload's"),
    cl::init(-1), cl::cat(cat));
static cl::opt<uint64_t> capacityBlocks(
    "capacity-blocks", cl::desc("HBM blocks for KV (overrides the hardware)"),
    cl::init(0), cl::cat(cat));
static cl::opt<double> capacityFraction(
    "capacity-fraction",
    cl::desc("HBM blocks for KV as a fraction of all blocks at the end"),
    cl::init(0), cl::cat(cat));
static cl::opt<std::string> traceFile("trace", cl::desc("trace file"),
                                      cl::cat(cat));
static cl::opt<std::string> generator("generator",
                                      cl::desc("synthetic trace generator"),
                                      cl::init("seed-like"), cl::cat(cat));
static cl::opt<double> sparsity("sparsity", cl::desc("fraction not read"),
                                cl::init(0.6), cl::cat(cat));
static cl::opt<std::string> variation("variation",
                                      cl::desc("low, real or high"),
                                      cl::init("real"), cl::cat(cat));
static cl::opt<uint64_t> seed("seed", cl::desc("generator seed"), cl::init(1),
                              cl::cat(cat));
static cl::opt<bool> paperScale(
    "paper-scale",
    cl::desc("the seed's full study: prompt 31299, decode 10239"),
    cl::init(false), cl::cat(cat));
static cl::opt<std::string> method("method",
                                   cl::desc("auto, exact or lagrangian"),
                                   cl::init("auto"), cl::cat(cat));
static cl::opt<double> timeLimit("time-limit",
                                 cl::desc("seconds for the bound (0: none, "
                                          "repeatable; exact stops at 60 s)"),
                                 cl::init(0), cl::cat(cat));
static cl::opt<unsigned> windows("windows",
                                 cl::desc("multiplier windows"),
                                 cl::init(32), cl::cat(cat));
static cl::opt<unsigned> iterations("iterations",
                                    cl::desc("dual ascent iterations (0: by "
                                             "problem size, 8-60)"),
                                    cl::init(0), cl::cat(cat));
static cl::opt<unsigned> sampleStride(
    "sample-stride",
    cl::desc("optimise multipliers on every n-th block (0: by problem "
             "size, 1 up to 5e7 trace events)"),
    cl::init(0), cl::cat(cat));
static cl::opt<unsigned> threads("solver-threads", cl::desc("threads for the bound"), cl::init(1),
                                 cl::cat(cat));
static cl::opt<std::string> maxMemory(
    "max-memory",
    cl::desc("refuse a run whose index needs more memory (e.g. 64GB; "
             "default: the memory available)"),
    cl::cat(cat));
static cl::list<std::string>
    candidates("candidate", cl::desc("also try this core policy as schedule"),
               cl::cat(cat));
static cl::opt<bool> noPlanSchedule(
    "no-plan-schedule",
    cl::desc("skip the relaxed-plan schedule (one simulation less)"),
    cl::init(false), cl::cat(cat));
static cl::opt<bool> baselines("baselines",
                               cl::desc("simulate every baseline and print "
                                        "its distance from the bound"),
                               cl::init(false), cl::cat(cat));
static cl::opt<unsigned> saIterations(
    "sa-iterations",
    cl::desc("evaluations of the SA-guided search in --baselines (0 = skip)"),
    cl::init(40), cl::cat(cat));
static cl::opt<bool> json("json", cl::desc("print JSON"), cl::init(false),
                          cl::cat(cat));
static cl::opt<bool> printSchedule("print-schedule",
                                   cl::desc("print the schedule's moves"),
                                   cl::init(false), cl::cat(cat));
static cl::opt<bool> verifyReplay("verify-replay",
                                  cl::desc("replay the schedule and compare"),
                                  cl::init(false), cl::cat(cat));
static cl::opt<bool> quiet("quiet", cl::desc("no progress output"),
                           cl::init(false), cl::cat(cat));
static cl::opt<std::string> emitSmtlibPath(
    "emit-smtlib",
    cl::desc("write the exact model's decision form 'total <= T' as "
             "SMT-LIB to this file ('-' for stdout) and exit"),
    cl::cat(cat));
static cl::opt<std::string> smtlibThreshold(
    "smtlib-threshold",
    cl::desc("T for --emit-smtlib in scaled units, or 'optimum' / "
             "'optimum-minus-one' (solved with Z3 first)"),
    cl::init("optimum"), cl::cat(cat));

static cl::opt<std::string> replayPath(
    "replay",
    cl::desc("replay this schedule file (kvopt-schedule text, as written by "
             "--write-schedule) through the simulator on the problem and "
             "trace given, print its time and peak HBM occupancy, and exit"),
    cl::cat(cat));
static cl::opt<std::string> writeSchedulePath(
    "write-schedule",
    cl::desc("write the reported schedule to this file (kvopt-schedule "
             "text, replayable with --replay)"),
    cl::cat(cat));
static cl::opt<bool> bruteForce(
    "brute-force",
    cl::desc("also compute the true optimum by enumeration (tiny instances "
             "only) and compare it with the bound and the schedule"),
    cl::init(false), cl::cat(cat));

static int fail(Error e) {
  errs() << "kv-solve: error: " << errorToString(std::move(e)) << "\n";
  return 1;
}

/// Write the exact model's decision form "total <= T" as SMT-LIB. T is
/// given in scaled units or derived from the optimum that Z3's C++ API
/// finds for the same program.
static Error writeSmtlib(const Problem &problem, const TraceSource &trace,
                         OutputSet &outputs) {
  auto prog = solver::buildPlacementProgram(problem, trace);
  if (!prog)
    return prog.takeError();
  std::string threshold = smtlibThreshold, comment;
  Error exportError = Error::success();
  if (threshold == "optimum" || threshold == "optimum-minus-one") {
    auto sol = solver::solveWithZ3(*prog, false, timeLimit > 0 ? timeLimit : 60);
    if (!sol)
      return sol.takeError();
    if (sol->status != solver::Z3Solution::Status::Optimal)
      return makeFieldError("kv-solve", "smtlib-threshold",
                            "Z3 did not find the optimum within the time "
                            "limit; give the threshold in units instead");
    APInt opt;
    if (StringRef(sol->objectiveExact).getAsInteger(10, opt))
      return makeFieldError("kv-solve", "smtlib-threshold",
                            "the optimum '" + sol->objectiveExact +
                                "' is not an integer");
    opt = opt.zext(128);
    if (threshold == "optimum-minus-one") {
      if (opt.isZero())
        return makeFieldError("kv-solve", "smtlib-threshold",
                              "the optimum is 0; optimum - 1 is negative");
      opt -= 1;
    }
    comment = "; optimum found by Z3 (C++ API): " + sol->objectiveExact +
              " units = " + std::to_string(prog->toSeconds(sol->objectiveUnits)) +
              " s\n";
    threshold = llvm::toString(opt, 10, false);
  }
  Error written = outputs.write(
      emitSmtlibPath,
      [&](raw_ostream &os) {
        os << "; kv-opt placement program (docs/bound.md section 2), "
           << prog->variables() << " variables, " << prog->constraints.size()
           << " constraints\n; time unit: 1/" << prog->unitsPerSecond
           << " s; decision form: total <= " << threshold << "\n"
           << comment;
        exportError = smtlib::exportPlacementSMTLIB(*prog, threshold, os);
      },
      "emit-smtlib");
  if (written) {
    consumeError(std::move(exportError));
    return written;
  }
  return exportError;
}

/// Bounds on the options that size the run: an error names the option and
/// the value instead of a thread-creation abort or a run that never ends.
static Error checkLimits() {
  if (!(std::isfinite(timeLimit) && timeLimit >= 0))
    return makeFieldError("kv-solve", "time-limit",
                          "must be a finite number of seconds >= 0 (0: "
                          "none), got " +
                              std::to_string(timeLimit));
  if (threads == 0 || threads > kMaxSolverThreads)
    return makeFieldError("kv-solve", "solver-threads",
                          "must be in 1.." + std::to_string(kMaxSolverThreads) +
                              ", got " + std::to_string(threads));
  if (saIterations > kMaxAnnealIterations)
    return makeFieldError("kv-solve", "sa-iterations",
                          std::to_string(saIterations) +
                              " is above the limit of " +
                              std::to_string(kMaxAnnealIterations));
  if (!maxMemory.empty()) {
    Expected<uint64_t> bytes = parseByteSize(maxMemory, "max-memory");
    if (!bytes)
      return bytes.takeError();
    setMemoryLimitBytes(*bytes);
  }
  if (layers > kMaxLayers)
    return makeFieldError("kv-solve", "layers",
                          std::to_string(layers) +
                              " is above the supported limit of " +
                              std::to_string(kMaxLayers));
  if (!(capacityFraction >= 0 && capacityFraction <= 1))
    return makeFieldError("kv-solve", "capacity-fraction",
                          "must be in [0, 1], got " +
                              std::to_string(capacityFraction));
  if (!(std::isfinite(weightBytes)))
    return makeFieldError("kv-solve", "weight-bytes", "must be finite");
  return Error::success();
}

static std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", s);
  return buf;
}

/// --replay: the schedule file's time and peak occupancy on this problem.
static Error replaySchedule(const Problem &problem, const TraceSource &trace) {
  auto buf = MemoryBuffer::getFile(replayPath);
  if (!buf)
    return makeFieldError(replayPath, "file", buf.getError().message());
  auto sched = solver::readScheduleText((*buf)->getBuffer(), replayPath,
                                        solver::ScheduleShape::of(problem.work));
  if (!sched)
    return sched.takeError();
  auto src = trace.reopen();
  if (!src)
    return src.takeError();
  auto pol = createSchedulePolicy(*sched, "replay");
  auto m = simulate(**src, problem, *pol);
  if (!m)
    return m.takeError();
  outs() << "replay: " << replayPath << "\n"
         << "time: " << seconds(m->totalSeconds) << " s\n"
         << "peak HBM: " << m->peakHbmBlocks << "/" << problem.capacityBlocks
         << " blocks\n"
         << "moves: " << m->promotedBlocks << " promoted, " << m->demotedBlocks
         << " demoted blocks\n";
  return Error::success();
}

/// --brute-force: the enumerated optimum against the reported numbers.
static Error checkBruteForce(const Problem &problem, const TraceSource &trace,
                             const PlanResult &r) {
  auto bf = solver::bruteForceOptimum(problem, trace);
  if (!bf)
    return bf.takeError();
  double opt = bf->optimumSeconds;
  auto rel = [&](double v) { return (v - opt) / opt; };
  outs() << "brute-force optimum: " << seconds(opt) << " s (" << bf->work
         << " records enumerated, peak HBM " << bf->metrics.peakHbmBlocks
         << " blocks)\n";
  outs() << "  bound vs brute force: "
         << (r.boundSeconds <= opt * (1 + 1e-9) ? "valid" : "INVALID")
         << llvm::format(" (%+.4f%%)", rel(r.boundSeconds) * 100) << "\n";
  outs() << "  schedule vs brute force: "
         << llvm::format("%+.4f%%", rel(r.scheduleSeconds) * 100) << "\n";
  double exact = r.solver.exactOptimum;
  if (exact >= 0) {
    outs() << "  z3 exact optimum vs brute force: ";
    if (std::abs(rel(exact)) <= 1e-9)
      outs() << "equal (relative difference <= 1e-9)\n";
    else
      outs() << llvm::format("DIFFERENT (%+.4f%%)", rel(exact) * 100)
             << "\n";
  }
  return Error::success();
}

static Expected<Problem> makeProblem() {
  Expected<MemorySystem> mem = hardwareJson.empty()
                                   ? getHardwarePreset(hardware)
                                   : Expected<MemorySystem>(MemorySystem());
  if (!hardwareJson.empty())
    mem = loadMemorySystemJSON(hardwareJson);
  if (!mem)
    return mem.takeError();
  Workload w = makePaperWorkload(prompt, decode);
  if (paperScale) {
    w.promptLen = 31299;
    w.decodeSteps = 10239;
  }
  if (!modelConfig.empty()) {
    ConfigReadReport report;
    auto m = loadModelConfig(modelConfig, &report);
    if (!m)
      return m.takeError();
    for (const std::string &line : report.warningLines())
      llvm::errs() << "kv-solve: warning: " << modelConfig << ": " << line
                   << "\n";
    w.model = *m;
    w.entryBytesOverride = 0;
    w.weightBytesPerLayerStepOverride = -1;
    w.residentWeightBytesOverride = -1;
  }
  if (layers)
    w.model.layers = layers;
  w.batch = batch;
  w.tokensPerBlock = blockTokens;
  if (weightBytes >= 0)
    w.weightBytesPerLayerStepOverride = weightBytes;
  if (capacityBlocks || capacityFraction > 0) {
    // The weights must still fit: check with a capacity of one block.
    w.residentWeightBytesOverride = 0;
  }
  auto p = Problem::create(*mem, w);
  if (!p)
    return p.takeError();
  if (capacityFraction > 0) {
    uint64_t all = uint64_t(w.batch) * w.model.layers * w.blocksPerSeqLayer();
    uint64_t c = uint64_t(capacityFraction * double(all));
    if (c == 0)
      return makeFieldError("kv-solve", "capacity-fraction",
                            "gives no HBM block for the KV cache");
    *p = p->withCapacityBlocks(c);
  }
  if (capacityBlocks)
    *p = p->withCapacityBlocks(capacityBlocks);
  return p;
}

static Expected<std::unique_ptr<TraceSource>> makeTrace(const Problem &p) {
  if (!traceFile.empty())
    return openTrace(traceFile);
  GeneratorParams g;
  auto kind = parseGeneratorKind(generator);
  if (!kind)
    return kind.takeError();
  g.kind = *kind;
  g.layers = p.work.model.layers;
  g.batch = p.work.batch;
  g.promptLen = p.work.promptLen;
  g.decodeSteps = p.work.decodeSteps;
  g.seed = seed;
  g.sparsity = sparsity;
  auto swap = variationSwapFraction(variation);
  if (!swap)
    return swap.takeError();
  g.swapFraction = *swap;
  if (p.work.hasWindows())
    for (uint32_t l = 0; l < g.layers; ++l)
      g.layerWindows.push_back(p.work.windowOf(l));
  return makeGenerator(g);
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  installToolHandlers("kv-solve");
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "kv-solve: a provable bound on decode time, a schedule, and the gap\n");
  if (auto e = checkLimits())
    return fail(std::move(e));
  OutputSet outputs;
  if (!emitSmtlibPath.empty())
    if (auto e = outputs.declare(emitSmtlibPath, "emit-smtlib"))
      return fail(std::move(e));
  if (!writeSchedulePath.empty())
    if (auto e = outputs.declare(writeSchedulePath, "write-schedule"))
      return fail(std::move(e));
  auto problem = makeProblem();
  if (!problem)
    return fail(problem.takeError());
  auto trace = makeTrace(*problem);
  if (!trace)
    return fail(trace.takeError());
  if (auto e = checkTraceMatchesWorkload((*trace)->header(), problem->work,
                                         (*trace)->describe()))
    return fail(std::move(e));
  if (!emitSmtlibPath.empty()) {
    if (auto e = writeSmtlib(*problem, **trace, outputs))
      return fail(std::move(e));
    if (auto e = outputs.commit())
      return fail(std::move(e));
    return 0;
  }
  if (!replayPath.empty()) {
    if (auto e = replaySchedule(*problem, **trace))
      return fail(std::move(e));
    return 0;
  }
  // Checked here too, so a bad method fails before the trace is indexed.
  if (auto m = solver::parseSolveMethod(method); !m)
    return fail(m.takeError());
  PlanOptions opts;
  opts.solver = method;
  opts.timeLimitSeconds = timeLimit;
  opts.threads = threads;
  opts.windows = windows;
  opts.iterations = iterations;
  opts.sampleStride = sampleStride;
  opts.planSchedule = !noPlanSchedule;
  opts.candidates.assign(candidates.begin(), candidates.end());
  // The solver's recording run is a simulation of its schedule; a replay
  // through createSchedulePolicy (bit-for-bit equal) only on request.
  opts.replaySchedule = verifyReplay;
  opts.strictReplay = true;
  // With --baselines the driver simulates every core policy and the plan
  // is the fastest capacity-feasible one among them and the solver's.
  opts.baselines = baselines;
  if (!quiet)
    opts.progress = [](const std::string &line) {
      errs() << "kv-solve: " << line << "\n";
    };
  const TraceSource &src = **trace;
  TraceFactory factory = [&src]() { return src.reopen(); };
  auto t0 = std::chrono::steady_clock::now();
  auto r = planPlacement(*problem, factory, opts);
  if (!r)
    return fail(r.takeError());
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                    .count();
  std::vector<SimMetrics> base;
  if (baselines) {
    for (const PolicyRun &run : r->baselines)
      base.push_back(run.metrics);
    // A policy may refuse an input (Belady's interval limit): listed as
    // not run, with its reason.
    for (const auto &[name, why] : r->skippedBaselines) {
      SimMetrics skipped;
      skipped.policy = name + " [not run: " + why + "]";
      base.push_back(std::move(skipped));
    }
    if (saIterations) {
      AnnealParams ap;
      ap.iterations = saIterations;
      auto sa = annealLookahead(src, *problem, ap);
      if (!sa)
        return fail(sa.takeError());
      SimMetrics m = sa->best;
      m.policy = "sa-guided (W=" + std::to_string(sa->bestWindow) + ", R=" +
                 std::to_string(sa->bestFraction).substr(0, 4) + ")";
      base.push_back(std::move(m));
    }
  }
  if (::json) // the option, not llvm::json
    printSolveJson(outs(), *problem, **trace, *r, base, wall);
  else
    printSolveText(outs(), *problem, **trace, *r, base, wall);
  if (printSchedule)
    solver::printSchedule(outs(), r->schedule);
  if (bruteForce)
    if (auto e = checkBruteForce(*problem, **trace, *r))
      return fail(std::move(e));
  if (!writeSchedulePath.empty()) {
    if (auto e = outputs.write(
            writeSchedulePath,
            [&](raw_ostream &os) {
              solver::writeScheduleText(
                  os, solver::ScheduleShape::of(problem->work), r->schedule);
            },
            "write-schedule"))
      return fail(std::move(e));
  }
  if (auto e = outputs.commit())
    return fail(std::move(e));
  return 0;
}
