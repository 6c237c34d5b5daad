//===- kv-trace.cpp - Generate, convert, inspect and simulate traces -----===//
//
//   kv-trace generate --kind=seed-like --prompt=31299 --decode=10239 -o t.kvt
//   kv-trace convert in.csv -o out.kvt          (format from the extension)
//   kv-trace inspect t.kvt
//   kv-trace simulate t.kvt --hardware=gh200 --model=config.json --policy=all
//   kv-trace simulate --kind=seed-like --decode=256 --paper   (no file)
//   kv-trace presets
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Annealing.h"
#include "kvopt/Core/AtomicOutput.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/Limits.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/SeedCode.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/ToolHandlers.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Core/TraceIO.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace kvopt;
namespace cl = llvm::cl;

static cl::SubCommand generateCmd("generate", "write a synthetic trace");
static cl::SubCommand convertCmd("convert", "convert a trace between formats");
static cl::SubCommand inspectCmd("inspect",
                                 "print a trace's shape and statistics");
static cl::SubCommand simulateCmd("simulate", "simulate policies on a trace");
static cl::SubCommand presetsCmd("presets",
                                 "list hardware presets and policies");

static cl::opt<std::string> input(cl::Positional, cl::desc("<trace>"),
                                  cl::init(""), cl::sub(convertCmd),
                                  cl::sub(inspectCmd), cl::sub(simulateCmd));
static cl::opt<std::string> output("o", cl::desc("output file"), cl::init(""),
                                   cl::sub(generateCmd), cl::sub(convertCmd));
static cl::opt<std::string>
    format("format",
           cl::desc("binary | text | csv (default: from the extension)"),
           cl::init(""), cl::sub(generateCmd), cl::sub(convertCmd));

// Generator options (generate, and simulate without a trace file).
#define GEN_SUBS cl::sub(generateCmd), cl::sub(simulateCmd), cl::sub(inspectCmd)
static cl::opt<std::string>
    kind("kind", cl::desc("seed-like | zipf | sliding-window | uniform"),
         cl::init("seed-like"), GEN_SUBS);
static cl::opt<unsigned> layers("layers", cl::desc("layers"), cl::init(32),
                                GEN_SUBS);
static cl::opt<unsigned> batch("batch", cl::desc("sequences"), cl::init(1),
                               GEN_SUBS);
static cl::opt<unsigned> prompt("prompt", cl::desc("prompt tokens"),
                                cl::init(31299), GEN_SUBS);
static cl::opt<unsigned> decode("decode", cl::desc("decode steps"),
                                cl::init(256), GEN_SUBS);
static cl::opt<double> sparsity("sparsity", cl::desc("fraction not read"),
                                cl::init(0.6), GEN_SUBS);
static cl::opt<std::string>
    variation("variation", cl::desc("low | real | high (seed-like swap)"),
              cl::init(""), GEN_SUBS);
static cl::opt<double> swapFraction("swap",
                                    cl::desc("seed-like max swap fraction"),
                                    cl::init(0.1), GEN_SUBS);
static cl::opt<double> churn("churn", cl::desc("zipf/uniform churn"),
                             cl::init(0.05), GEN_SUBS);
static cl::opt<double> zipfS("zipf-exponent", cl::desc("Zipf exponent"),
                             cl::init(1.0), GEN_SUBS);
static cl::opt<unsigned> drift("drift",
                               cl::desc("Zipf drift transpositions/step"),
                               cl::init(16), GEN_SUBS);
static cl::opt<unsigned> window("window", cl::desc("sliding window tokens"),
                                cl::init(4096), GEN_SUBS);
static cl::opt<unsigned> sinks("sinks", cl::desc("attention sinks"),
                               cl::init(4), GEN_SUBS);
static cl::opt<uint64_t> seed("seed", cl::desc("generator seed"), cl::init(1),
                              GEN_SUBS);
static cl::opt<std::string> layerWindows(
    "layer-windows",
    cl::desc("per-layer sliding windows in tokens, a comma list of W or WxN "
             "(N layers of window W; 0 = global), one per layer: e.g. "
             "128x2,0x2. Local layers read only their window "
             "(docs/model.md, \"Sliding-window (local) layers\")"),
    cl::init(""), cl::sub(generateCmd));

// Simulation options.
static cl::opt<std::string> hardware("hardware",
                                     cl::desc("preset name or JSON file"),
                                     cl::init("paper"), cl::sub(simulateCmd));
static cl::opt<std::string>
    model("model",
          cl::desc("HF config.json (default: the seed's paper-mode model)"),
          cl::init(""), cl::sub(simulateCmd));
static cl::opt<bool>
    paperMode("paper",
              cl::desc("the seed's formulas (inclusive, 16 KiB, GiB capacity)"),
              cl::init(false), cl::sub(simulateCmd));
static cl::opt<bool> inclusive("inclusive",
                               cl::desc("standard model, inclusive hierarchy"),
                               cl::init(false), cl::sub(simulateCmd));
static cl::opt<std::string> policies("policy", cl::desc("comma list or 'all'"),
                                     cl::init("all"), cl::sub(simulateCmd));
static cl::opt<unsigned> block("block", cl::desc("tokens per block"),
                               cl::init(1), cl::sub(simulateCmd));
static cl::opt<unsigned> laWindow("la-window", cl::desc("lookahead window W"),
                                  cl::init(5), cl::sub(simulateCmd));
static cl::opt<double> laFraction("la-fraction",
                                  cl::desc("lookahead fraction R"),
                                  cl::init(0.5), cl::sub(simulateCmd));
static cl::opt<unsigned>
    anneal("anneal", cl::desc("SA iterations for 'sa' (0: use W, R)"),
           cl::init(0), cl::sub(simulateCmd));
static cl::opt<std::string> maxMemory(
    "max-memory",
    cl::desc("refuse a simulation whose residency and oracle indexes need "
             "more memory (e.g. 64GB; default: the memory available)"),
    cl::init(""), cl::sub(simulateCmd));
static cl::opt<double> fixedStep("fixed-step-us",
                                 cl::desc("fixed time per step (us)"),
                                 cl::init(0), cl::sub(simulateCmd));

// The seed authors' code (SeedCode.h): their simulator loop, quirks included.
static cl::opt<bool> seedCode(
    "seed-code",
    cl::desc("reproduce the seed authors' simulator code, quirks included "
             "(implies --paper, --block=1); policies: static, unlimited, "
             "reactive, page, lookahead, sa"),
    cl::init(false), cl::sub(simulateCmd));
static cl::opt<std::string> withoutQuirks(
    "without-quirks",
    cl::desc("--seed-code: comma list of quirks to switch off "
             "(promotion-pricing, whole-layer-eviction, page-geometry, "
             "conditional-charges, all)"),
    cl::init(""), cl::sub(simulateCmd));
static cl::opt<uint64_t>
    saSeed("sa-seed",
           cl::desc("--seed-code sa: the seed of Python's random (as "
                    "random.seed(N))"),
           cl::init(1), cl::sub(simulateCmd));
static cl::opt<unsigned> saSplits(
    "sa-splits",
    cl::desc("--seed-code sa: contiguous parts per evaluation, as their "
             "parallel SA (1 = their serial evaluate_latency)"),
    cl::init(1), cl::sub(simulateCmd));

namespace {

int fail(llvm::Error e) {
  llvm::errs() << "kv-trace: error: " << llvm::toString(std::move(e)) << "\n";
  return 1;
}

/// Forwards a trace and reports how far through it a long phase is: after
/// the first second, at every new tenth and at least every 10 s, with the
/// time left (`[  12.0 s] simulating belady:  40% (about 18 s left)`).
class ProgressSource : public TraceSource {
public:
  ProgressSource(std::unique_ptr<TraceSource> inner, std::string phase)
      : inner(std::move(inner)), phase(std::move(phase)),
        total(this->inner->header().recordCount()) {}
  const TraceHeader &header() const override { return inner->header(); }
  llvm::Expected<bool> next(TraceRecord &rec) override {
    llvm::Expected<bool> more = inner->next(rec);
    if (more && *more) {
      ++done;
      report();
    }
    return more;
  }
  llvm::Expected<std::unique_ptr<TraceSource>> reopen() const override {
    return inner->reopen();
  }
  std::string describe() const override { return inner->describe(); }

private:
  using Clock = std::chrono::steady_clock;
  void report() {
    double t = std::chrono::duration<double>(Clock::now() - start).count();
    double frac = total ? double(done) / double(total) : 0;
    int tenth = int(frac * 10);
    if (t < 1.0 || (tenth == lastTenth && t - lastPrint < 10))
      return;
    lastTenth = tenth;
    lastPrint = t;
    llvm::errs() << llvm::format("[%7.1f s] %s: %3d%%", t, phase.c_str(),
                                 int(frac * 100));
    if (frac >= 0.01 && frac < 1.0)
      llvm::errs() << llvm::format(" (about %.0f s left)",
                                   t / frac * (1 - frac));
    llvm::errs() << "\n";
  }

  std::unique_ptr<TraceSource> inner;
  std::string phase;
  uint64_t total, done = 0;
  Clock::time_point start = Clock::now();
  int lastTenth = -1;
  double lastPrint = 0;
};

/// What simulating `policyNames` on a trace of shape `h` with `w`'s blocks
/// needs at most, estimated before anything is allocated: the residency
/// (20 B per block: state, cold list, missing sets; 80 B per (layer, seq);
/// a bit per token for the read sets), the stream's read sets (a token id
/// per token), and for 'belady' its interval index (28 B per block read at
/// least once: counts, offsets, keys, starts, the event list).
uint64_t simulationBytes(const TraceHeader &h, const Workload &w,
                         const std::vector<std::string> &policyNames) {
  long double chains = (long double)h.batch * h.layers;
  long double tokens = chains * ((long double)h.promptLen + h.decodeSteps);
  long double blocks = chains * w.blocksPerSeqLayer();
  bool belady = llvm::is_contained(policyNames, "belady");
  long double need = blocks * (20 + (belady ? 28 : 0)) + chains * 80 +
                     tokens / 8 + tokens * 4;
  return need > 1.8e19L ? UINT64_MAX : uint64_t(need);
}

/// Parses --layer-windows: "W" or "WxN" items, comma separated, each W a
/// whole number of tokens below 2^31 and N a positive layer count.
llvm::Expected<std::vector<uint32_t>> parseLayerWindows(llvm::StringRef text) {
  std::vector<uint32_t> out;
  llvm::SmallVector<llvm::StringRef> items;
  text.split(items, ',');
  for (llvm::StringRef item : items) {
    auto [w, n] = item.trim().split('x');
    uint64_t window = 0, count = 1;
    bool hasCount = item.contains('x');
    if (w.getAsInteger(10, window) || window > 0x7fffffffu ||
        (hasCount && (n.getAsInteger(10, count) || count == 0)) ||
        out.size() + count > uint64_t(kMaxLayers))
      return makeFieldError("kv-trace generate", "layer-windows",
                            "'" + item.str() +
                                "' is not a window W or WxN (W tokens, 0 = "
                                "global, below 2^31; N layers >= 1) in '" +
                                text.str() + "'");
    out.insert(out.end(), count, uint32_t(window));
  }
  return out;
}

llvm::Expected<GeneratorParams> generatorParams() {
  GeneratorParams g;
  if (!layerWindows.empty()) {
    auto w = parseLayerWindows(layerWindows);
    if (!w)
      return w.takeError();
    g.layerWindows = std::move(*w);
  }
  auto k = parseGeneratorKind(kind);
  if (!k)
    return k.takeError();
  g.kind = *k;
  g.layers = layers;
  g.batch = batch;
  g.promptLen = prompt;
  g.decodeSteps = decode;
  g.sparsity = sparsity;
  g.swapFraction = swapFraction;
  if (!variation.empty()) {
    auto v = variationSwapFraction(variation);
    if (!v)
      return v.takeError();
    g.swapFraction = *v;
  }
  g.churn = churn;
  g.zipfExponent = zipfS;
  g.drift = drift;
  g.window = window;
  g.sinks = sinks;
  g.seed = seed;
  if (layers > uint64_t(kMaxLayers) || batch > uint64_t(kMaxBatch) ||
      uint64_t(prompt) + decode > uint64_t(kMaxTokens))
    return makeFieldError("kv-trace", layers > uint64_t(kMaxLayers) ? "layers"
                                      : batch > uint64_t(kMaxBatch)
                                          ? "batch"
                                          : "prompt + decode",
                          "above the supported limit (layers, batch <= 65536; "
                          "prompt + decode <= 2147483647)");
  if (auto e = g.validate())
    return std::move(e);
  return g;
}

llvm::Expected<std::unique_ptr<TraceSource>> openInput() {
  if (!input.empty())
    return openTrace(input);
  auto g = generatorParams();
  if (!g)
    return g.takeError();
  return makeGenerator(*g);
}

std::string formatFor(const std::string &path) {
  if (!format.empty())
    return format;
  llvm::StringRef p(path);
  if (p.ends_with(".csv"))
    return "csv";
  if (p.ends_with(".txt"))
    return "text";
  return "binary";
}

/// Writes the trace to a temporary next to `path` and renames it over
/// `path` only when the whole trace was written: a bad input never replaces
/// an existing output with a partial one.
int writeTo(TraceSource &src, const std::string &path) {
  if (path.empty())
    return fail(makeFieldError("kv-trace", "o", "no output file (-o)"));
  std::string f = formatFor(path);
  if (f != "binary" && f != "text" && f != "csv")
    return fail(makeFieldError("kv-trace", "format",
                               "unknown format '" + f +
                                   "' (binary, text, csv)"));
  OutputSet outputs;
  llvm::Expected<std::string> temp = outputs.temporaryFor(path, "-o");
  if (!temp)
    return fail(temp.takeError());
  // Errors name the user's file, not the temporary.
  auto named = [&](llvm::Error e) {
    std::string msg = llvm::toString(std::move(e));
    for (size_t at; (at = msg.find(*temp)) != std::string::npos;)
      msg.replace(at, temp->size(), path);
    return fail(llvm::createStringError(llvm::inconvertibleErrorCode(),
                                        msg.c_str()));
  };
  uint64_t bytes = 0;
  if (f == "binary") {
    auto n = writeBinaryTrace(src, *temp);
    if (!n)
      return named(n.takeError());
    bytes = *n;
  } else if (llvm::Error e = f == "text" ? writeTextTrace(src, *temp)
                                         : writeSeedCsvTrace(src, *temp)) {
    return named(std::move(e));
  }
  if (llvm::Error e = outputs.commit())
    return fail(std::move(e));
  if (f == "binary")
    llvm::outs() << "wrote " << path << ": " << bytes << " bytes ("
                 << llvm::formatv("{0:f2}",
                                  double(bytes) / src.header().recordCount())
                 << " B/record)\n";
  else
    llvm::outs() << "wrote " << path << " (" << f << ")\n";
  return 0;
}

int inspect() {
  auto src = openInput();
  if (!src)
    return fail(src.takeError());
  const TraceHeader h = (*src)->header();
  auto t0 = std::chrono::steady_clock::now();
  auto st = computeTraceStats(**src);
  if (!st)
    return fail(st.takeError());
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  llvm::outs() << "trace      " << (*src)->describe() << "\n"
               << "layers     " << h.layers << "\nbatch      " << h.batch
               << "\nprompt     " << h.promptLen << "\ndecode     "
               << h.decodeSteps << "\nrecords    " << st->records
               << "\naccesses   " << st->accesses << "\nadded      "
               << st->added << "\nremoved    " << st->removed << "\nmax set    "
               << st->maxReadSet
               << llvm::formatv("\nmean set   {0:f1}\nchanges/record "
                                "{1:f1}\nread in    {2:f2} s\n",
                                double(st->accesses) / st->records,
                                double(st->added + st->removed) / st->records,
                                secs);
  return 0;
}

llvm::Expected<MemorySystem> loadHardware() {
  if (llvm::StringRef(hardware).ends_with(".json"))
    return loadMemorySystemJSON(hardware);
  return getHardwarePreset(hardware);
}

int simulateSeedCodeAll(TraceSource &src, const Problem &problem) {
  auto quirks = SeedQuirks::withoutList(withoutQuirks);
  if (!quirks)
    return fail(quirks.takeError());
  std::vector<std::string> names;
  if (policies == "all") {
    names = {"static", "unlimited", "reactive", "page", "lookahead"};
  } else {
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(policies).split(parts, ',', -1, false);
    for (auto p : parts)
      names.push_back(p.str());
  }
  llvm::outs() << "seed code (" << quirks->describe() << "), max_KV_num "
               << problem.capacityBlocks + 1 << "\n\n";
  llvm::outs() << llvm::formatv("{0,-24} {1,22} {2,10} {3,8} {4,12} {5,8}\n",
                                "policy", "total (ns)", "alpha", "KV hit",
                                "promoted", "wall s");
  for (const std::string &name : names) {
    auto t0 = std::chrono::steady_clock::now();
    SeedCodeResult r;
    std::string label = name;
    if (name == "sa") {
      SeedAnnealParams ap;
      ap.iterations = anneal > 0 ? unsigned(anneal) : 40u;
      ap.seed = saSeed;
      ap.splits = saSplits;
      ap.quirks = *quirks;
      auto a = annealSeedCode(src, problem, ap);
      if (!a)
        return fail(a.takeError());
      for (size_t i = 0; i < a->history.size(); ++i)
        llvm::outs() << llvm::formatv(
            "  sa {0,2}: W={1} R={2:f4} {3:f2} ns{4}\n", i,
            a->history[i].window, a->history[i].topk, a->history[i].totalNs,
            a->history[i].accepted ? " accepted" : "");
      // The row shows the best point's own run (with --sa-splits > 1 the
      // search's total is the sum over the parts instead).
      SeedCodeConfig best;
      best.policy = SeedPolicy::Lookahead;
      best.window = a->bestWindow;
      best.topk = a->bestTopk;
      best.quirks = *quirks;
      auto m = simulateSeedCode(src, problem, best);
      if (!m)
        return fail(m.takeError());
      r = *m;
      if (saSplits <= 1)
        r.totalNs = a->bestNs;
      label =
          llvm::formatv("sa best (W={0}, R={1:f2})", a->bestWindow, a->bestTopk)
              .str();
    } else {
      auto p = parseSeedPolicy(name);
      if (!p)
        return fail(p.takeError());
      SeedCodeConfig c;
      c.policy = *p;
      c.window = laWindow;
      c.topk = laFraction;
      c.quirks = *quirks;
      auto m = simulateSeedCode(src, problem, c);
      if (!m)
        return fail(m.takeError());
      r = *m;
      if (*p == SeedPolicy::Lookahead)
        label = llvm::formatv("lookahead(W={0},R={1})", unsigned(laWindow),
                              double(laFraction))
                    .str();
    }
    double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    llvm::outs() << llvm::formatv(
        "{0,-24} {1,22:f2} {2,9:f4}% {3,7:f1}% {4,12} {5,8:f2}\n", label,
        r.totalNs, 100 * r.meanAlpha,
        r.accesses ? 100.0 * double(r.hits) / double(r.accesses) : 0.0,
        r.promotions, wall);
  }
  return 0;
}

int simulateAll() {
  if (anneal > kMaxAnnealIterations)
    return fail(makeFieldError("kv-trace simulate", "anneal",
                               std::to_string(anneal) +
                                   " is above the limit of " +
                                   std::to_string(kMaxAnnealIterations) +
                                   " (each iteration simulates the trace)"));
  auto src = openInput();
  if (!src)
    return fail(src.takeError());
  const TraceHeader h = (*src)->header();
  auto mem = loadHardware();
  if (!mem)
    return fail(mem.takeError());
  Workload w;
  if (model.empty()) {
    w = makePaperWorkload(h.promptLen, h.decodeSteps);
    w.model.layers = h.layers;
    w.model.slidingWindow.assign(h.layers, 0);
  } else {
    ConfigReadReport report;
    auto m = loadModelConfig(model, &report);
    if (!m)
      return fail(m.takeError());
    for (const std::string &line : report.warningLines())
      llvm::errs() << "kv-trace: warning: " << model << ": " << line << "\n";
    w.model = *m;
    w.promptLen = h.promptLen;
    w.decodeSteps = h.decodeSteps;
    if (paperMode) {
      w.entryBytesOverride = kPaperEntryBytes;
      w.weightBytesPerLayerStepOverride = kPaperWeightBytesPerLayerStep;
      w.residentWeightBytesOverride = kPaperResidentWeightBytes;
    }
  }
  w.batch = h.batch;
  w.tokensPerBlock = seedCode ? 1 : unsigned(block);
  if (seedCode && !paperMode && !model.empty()) {
    w.entryBytesOverride = kPaperEntryBytes;
    w.weightBytesPerLayerStepOverride = kPaperWeightBytesPerLayerStep;
    w.residentWeightBytesOverride = kPaperResidentWeightBytes;
  }
  if (seedCode)
    paperMode = true;
  TimeModelMode mode =
      paperMode ? TimeModelMode::Paper : TimeModelMode::Standard;
  Hierarchy hier =
      paperMode || inclusive ? Hierarchy::Inclusive : Hierarchy::Exclusive;
  auto problem = Problem::create(*mem, w, mode, hier, fixedStep * 1e-6);
  if (!problem)
    return fail(problem.takeError());
  if (seedCode)
    return simulateSeedCodeAll(**src, *problem);
  std::vector<std::string> names;
  if (policies == "all") {
    names = listPolicyNames();
  } else {
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(policies).split(parts, ',', -1, false);
    for (auto p : parts)
      names.push_back(p.str());
  }
  {
    uint64_t bytes = simulationBytes(h, w, names);
    if (auto e = checkMemoryEstimate(
            bytes, "simulating " + std::to_string(h.recordCount()) +
                       " records of " + (*src)->describe()))
      return fail(std::move(e));
  }
  llvm::outs() << "trace " << (*src)->describe() << "\nhardware " << mem->name
               << ": " << mem->description << "\nmodel " << w.model.name
               << ", entry " << w.entryBytes() << " B, weights/step "
               << llvm::formatv("{0:f0}", w.weightBytesPerLayerStep())
               << " B, block " << w.tokensPerBlock << " tokens, HBM capacity "
               << problem->capacityBlocks << " blocks, time model "
               << (paperMode ? "seed-compat (paper)" : kTimeModelVersion)
               << (hier == Hierarchy::Inclusive ? " inclusive" : " exclusive")
               << "\n\n";
  llvm::outs() << llvm::formatv(
      "{0,-22} {1,12} {2,12} {3,10} {4,8} {5,8} {6,8} "
      "{7,10} {8,12} {9,8}\n",
      "policy", "time (s)", "ms/token", "tokens/s", "KV hit", "alpha", "util",
      "peak HBM", "promoted", "wall s");
  for (const std::string &name : names) {
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<Policy> policy;
    if (name == "sa" && anneal > 0) {
      AnnealParams ap;
      ap.iterations = anneal;
      auto r = annealLookahead(**src, *problem, ap);
      if (!r)
        return fail(r.takeError());
      for (size_t i = 0; i < r->history.size(); ++i)
        llvm::outs() << llvm::formatv(
            "  sa {0,2}: W={1} R={2:f2} {3:f6} s{4}\n", i, r->history[i].window,
            r->history[i].fraction, r->history[i].seconds,
            r->history[i].accepted ? " accepted" : "");
      policy = createLookaheadPolicy(r->bestWindow, r->bestFraction);
    } else {
      auto p = createPolicyByName(name, laWindow, laFraction);
      if (!p)
        return fail(p.takeError());
      policy = std::move(*p);
    }
    auto fresh = (*src)->reopen();
    if (!fresh)
      return fail(fresh.takeError());
    ProgressSource watched(std::move(*fresh), "simulating " + name);
    auto m = simulate(watched, *problem, *policy);
    if (!m)
      return fail(m.takeError());
    double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    llvm::outs() << llvm::formatv(
        "{0,-22} {1,12:f4} {2,12:f4} {3,10:f1} {4,7:f1}% {5,7:f1}% {6,7:f1}% "
        "{7,10} {8,12} {9,8:f1}\n",
        m->policy, m->totalSeconds, 1e3 * m->totalSeconds / m->decodedTokens,
        m->tokensPerSecond, 100 * m->kvHitRate, 100 * m->byteHitRate,
        100 * m->aggregateUtilisation, m->peakHbmBlocks, m->promotedBlocks,
        wall);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // kv-trace's options live in its subcommands; the top level holds only
  // the global options libLLVM registers, which --help should not list.
  for (auto &entry : cl::getRegisteredOptions(cl::SubCommand::getTopLevel()))
    if (entry.first != "help" && entry.first != "version")
      entry.second->setHiddenFlag(cl::ReallyHidden);
  installToolHandlers("kv-trace");
  cl::ParseCommandLineOptions(
      argc, argv, "kv-trace: access traces and the placement simulator\n");
  if (!maxMemory.empty()) {
    llvm::Expected<uint64_t> bytes = parseByteSize(maxMemory, "max-memory");
    if (!bytes)
      return fail(bytes.takeError());
    setMemoryLimitBytes(*bytes);
  }
  if (generateCmd) {
    auto g = generatorParams();
    if (!g)
      return fail(g.takeError());
    auto src = makeGenerator(*g);
    if (!src)
      return fail(src.takeError());
    return writeTo(**src, output);
  }
  if (convertCmd) {
    if (input.empty())
      return fail(
          makeFieldError("kv-trace convert", "input", "no input trace"));
    auto src = openTrace(input);
    if (!src)
      return fail(src.takeError());
    return writeTo(**src, output);
  }
  if (inspectCmd)
    return inspect();
  if (simulateCmd)
    return simulateAll();
  if (presetsCmd) {
    for (const std::string &n : listHardwarePresets()) {
      MemorySystem m = cantFail(getHardwarePreset(n));
      llvm::outs() << llvm::formatv("{0,-18} {1}{2}\n", n, m.description,
                                    m.unverified ? " [unverified]" : "");
    }
    llvm::outs() << "\npolicies: " << llvm::join(listPolicyNames(), ", ")
                 << ", sa\n";
    return 0;
  }
  llvm::errs() << "kv-trace: give a subcommand (generate, convert, inspect, "
                  "simulate, presets); --help for options\n";
  return 1;
}
