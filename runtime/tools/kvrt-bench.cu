//===- kvrt-bench.cu - GPU measurements for the time model ------*- CUDA
//-*-===//
//
// Measures, on the GPU it runs on:
//   1. HBM read bandwidth (a streaming read kernel);
//   2. zero-copy read bandwidth of pinned, mapped host memory from a kernel;
//   3. H2D and D2H cudaMemcpyAsync bandwidth (pinned), each alone and both
//      at once;
//   4. concurrent split-tier reads: one kernel reading a fraction f of its
//      bytes from HBM and 1-f from host memory at the same time, against
//      max() and sum() of the two tiers' times;
//   5. a decode loop through the kvrt runtime (split-tier attention + a
//      planned schedule of promotions/demotions) for several HBM fractions,
//      with the measured step time next to the time model's prediction
//        step_time = max(HBM/B_hbm, DRAM/B_dram, H2D/B_h2d, D2H/B_d2h)
//      from the bandwidths measured in 1-3 and the bytes kvrt counted;
//      run once per CUDA attention kernel (KVRT_CUDA_ATTENTION=legacy,
//      section "decode", then =tiled, section "decode-tiled") on the same
//      data, followed by a table comparing the two kernels plan by plan
//      (step ms, attention read GB/s, speed-up; section "kernels").
// Prints a table last; --csv FILE also writes the rows as CSV (also with
// --dry-run-host): checked before any measurement, written through a
// temporary and renamed over FILE only when the run succeeded.
//
// usage: kvrt-bench [--quick] [--csv FILE] [--system-dram] [--dry-run-host]
//
// --dry-run-host runs only the decode-loop section, on the host backend,
// with a small cache and placeholder bandwidths: it exercises the plans and
// the kvrt call sequence on a machine without a GPU (a CTest); its times
// mean nothing.
//
//===----------------------------------------------------------------------===//
#include "kvrt/kvrt.h"

#include <cuda_runtime.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace {

#define CUDA_CHECK(expr)                                                       \
  do {                                                                         \
    cudaError_t e_ = (expr);                                                   \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,       \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

#define KVRT_CHECK(expr)                                                       \
  do {                                                                         \
    kvrt_status s_ = (expr);                                                   \
    if (s_ != KVRT_OK) {                                                       \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,       \
                   kvrt_last_error());                                         \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

constexpr unsigned kMagic = 0x9e3779b9u;

__device__ __forceinline__ unsigned fold(int4 v) {
  return static_cast<unsigned>(v.x ^ v.y ^ v.z ^ v.w);
}

/// Streams through n int4 values; the sink write never happens in practice
/// but keeps the loads alive.
__global__ void readKernel(const int4 *__restrict__ p, size_t n,
                           unsigned long long *sink) {
  unsigned acc = 0;
  size_t stride = size_t(gridDim.x) * blockDim.x;
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    int4 a = p[i], b = p[i + stride], c = p[i + 2 * stride],
         d = p[i + 3 * stride];
    acc ^= fold(a) ^ fold(b) ^ fold(c) ^ fold(d);
  }
  for (; i < n; i += stride)
    acc ^= fold(p[i]);
  if (acc == kMagic)
    atomicAdd(sink, 1ull);
}

/// Chunks of HBM and host memory interleaved in proportion and handed out
/// by a global counter, so both tiers are read at the same time and CTAs
/// that finish HBM chunks move on to host chunks.
__global__ void
splitReadKernel(const int4 *__restrict__ hbm, const int4 *__restrict__ host,
                unsigned long long chunksHbm, unsigned long long chunksHost,
                unsigned chunkElems, unsigned long long *counter,
                unsigned long long *sink) {
  __shared__ unsigned long long chunk;
  const unsigned long long total = chunksHbm + chunksHost;
  unsigned acc = 0;
  for (;;) {
    if (threadIdx.x == 0)
      chunk = atomicAdd(counter, 1ull);
    __syncthreads();
    unsigned long long c = chunk;
    __syncthreads();
    if (c >= total)
      break;
    unsigned long long d0 = c * chunksHost / total;
    unsigned long long d1 = (c + 1) * chunksHost / total;
    const int4 *src =
        d1 > d0 ? host + d0 * chunkElems : hbm + (c - d0) * chunkElems;
    for (unsigned i = threadIdx.x; i < chunkElems; i += blockDim.x)
      acc ^= fold(src[i]);
  }
  if (acc == kMagic)
    atomicAdd(sink, 1ull);
}

struct Timer {
  cudaEvent_t start, stop;
  Timer() {
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~Timer() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  float ms() {
    float t = 0;
    CUDA_CHECK(cudaEventSynchronize(stop));
    CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
    return t;
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Row {
  std::string section, name;
  double value;
  std::string unit;
  std::string note;
};

std::vector<Row> rows;

void record(const std::string &section, const std::string &name, double value,
            const std::string &unit, const std::string &note = "") {
  rows.push_back({section, name, value, unit, note});
  std::printf("  %-34s %12.3f %-6s %s\n", name.c_str(), value, unit.c_str(),
              note.c_str());
  std::fflush(stdout);
}

struct Env {
  int sms = 0;
  cudaStream_t stream = nullptr;
  unsigned long long *sink = nullptr, *counter = nullptr;
  bool quick = false;
};

/// Median GB/s of reading `bytes` at p with the streaming kernel.
double readBandwidth(const Env &env, const void *p, size_t bytes, int reps) {
  Timer t;
  std::vector<double> gbs;
  for (int r = 0; r < reps + 2; ++r) {
    CUDA_CHECK(cudaEventRecord(t.start, env.stream));
    readKernel<<<env.sms * 4, 512, 0, env.stream>>>(
        static_cast<const int4 *>(p), bytes / 16, env.sink);
    CUDA_CHECK(cudaEventRecord(t.stop, env.stream));
    double ms = t.ms();
    if (r >= 2)
      gbs.push_back(bytes / ms / 1e6);
  }
  CUDA_CHECK(cudaGetLastError());
  return median(gbs);
}

double copyBandwidth(const Env &env, void *dst, const void *src, size_t bytes,
                     int reps) {
  Timer t;
  std::vector<double> gbs;
  for (int r = 0; r < reps + 1; ++r) {
    CUDA_CHECK(cudaEventRecord(t.start, env.stream));
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, env.stream));
    CUDA_CHECK(cudaEventRecord(t.stop, env.stream));
    double ms = t.ms();
    if (r >= 1)
      gbs.push_back(bytes / ms / 1e6);
  }
  return median(gbs);
}

/// Both directions at once on two streams; returns GB/s of each direction.
void bidirectional(size_t bytes, void *dev0, void *host0, void *dev1,
                   void *host1, double *h2d, double *d2h) {
  cudaStream_t s[2];
  Timer t[2];
  for (auto &x : s)
    CUDA_CHECK(cudaStreamCreateWithFlags(&x, cudaStreamNonBlocking));
  std::vector<double> a, b;
  for (int r = 0; r < 4; ++r) {
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaEventRecord(t[0].start, s[0]));
    CUDA_CHECK(cudaEventRecord(t[1].start, s[1]));
    CUDA_CHECK(
        cudaMemcpyAsync(dev0, host0, bytes, cudaMemcpyHostToDevice, s[0]));
    CUDA_CHECK(
        cudaMemcpyAsync(host1, dev1, bytes, cudaMemcpyDeviceToHost, s[1]));
    CUDA_CHECK(cudaEventRecord(t[0].stop, s[0]));
    CUDA_CHECK(cudaEventRecord(t[1].stop, s[1]));
    double ma = t[0].ms(), mb = t[1].ms();
    if (r >= 1) {
      a.push_back(bytes / ma / 1e6);
      b.push_back(bytes / mb / 1e6);
    }
  }
  *h2d = median(a);
  *d2h = median(b);
  for (auto &x : s)
    cudaStreamDestroy(x);
}

struct Bandwidths {
  double hbm = 0, dram = 0, h2d = 0, d2h = 0;
};

void measureSplit(const Env &env, const int4 *hbm, const int4 *host,
                  size_t totalBytes, const Bandwidths &bw) {
  std::printf("\n[4] concurrent split-tier reads, %.2f GiB per run\n",
              totalBytes / double(1 << 30));
  const unsigned chunkElems = 16384; // 256 KiB
  const size_t chunkBytes = chunkElems * 16ull;
  const unsigned long long chunks = totalBytes / chunkBytes;
  double fStar = bw.hbm / (bw.hbm + bw.dram);
  std::vector<double> fractions = {1.0, 0.99, 0.95, 0.9, 0.8, 0.5, 0.0};
  fractions.push_back(fStar);
  Timer t;
  for (double f : fractions) {
    unsigned long long ch =
        static_cast<unsigned long long>(std::llround(chunks * f));
    unsigned long long cd = chunks - ch;
    std::vector<double> times;
    for (int r = 0; r < 4; ++r) {
      CUDA_CHECK(cudaMemsetAsync(env.counter, 0, sizeof(unsigned long long),
                                 env.stream));
      CUDA_CHECK(cudaEventRecord(t.start, env.stream));
      splitReadKernel<<<env.sms * 4, 512, 0, env.stream>>>(
          hbm, host, ch, cd, chunkElems, env.counter, env.sink);
      CUDA_CHECK(cudaEventRecord(t.stop, env.stream));
      double ms = t.ms();
      if (r >= 1)
        times.push_back(ms);
    }
    CUDA_CHECK(cudaGetLastError());
    double ms = median(times);
    double tH = ch * chunkBytes / bw.hbm / 1e6,
           tD = cd * chunkBytes / bw.dram / 1e6;
    char name[64], note[160];
    std::snprintf(name, sizeof(name), "split f_hbm=%.3f%s", f,
                  f == fStar ? " (B-prop.)" : "");
    std::snprintf(note, sizeof(note),
                  "ms=%.3f model max=%.3f sum=%.3f -> measured/max=%.2f", ms,
                  std::max(tH, tD), tH + tD, ms / std::max(tH, tD));
    record("split", name, chunks * chunkBytes / ms / 1e6, "GB/s", note);
  }
}

/// The bench's synthetic plan: a window of `hbmPerSeq` blocks of every
/// sequence starts in HBM (blocks [0, hbmPerSeq)); with migrations, every
/// step and layer slides each sequence's window by one block: its first
/// block is demoted and the block after its end (wrapping) promoted.
kvrt_schedule *makePlan(const kvrt_cache_config &c, uint32_t hbmPerSeq,
                        uint32_t steps, bool migrate) {
  uint32_t perLayer = c.num_seqs * c.max_blocks_per_seq;
  const uint32_t nb = c.max_blocks_per_seq;
  kvrt_schedule *s = nullptr;
  KVRT_CHECK(kvrt_schedule_create(c.num_layers, perLayer, steps, &s));
  for (uint32_t l = 0; l < c.num_layers; ++l)
    for (uint32_t q = 0; q < c.num_seqs; ++q)
      if (hbmPerSeq)
        KVRT_CHECK(kvrt_schedule_set_placement(s, l, q * nb, hbmPerSeq,
                                               KVRT_TIER_HBM));
  if (!migrate || hbmPerSeq == 0 || hbmPerSeq >= nb)
    return s;
  std::vector<kvrt_migration> ms;
  for (uint32_t step = 0; step < steps; ++step)
    for (uint32_t l = 0; l < c.num_layers; ++l)
      for (uint32_t q = 0; q < c.num_seqs; ++q) {
        uint32_t down = q * nb + step % nb;
        uint32_t up = q * nb + (step + hbmPerSeq) % nb;
        ms.push_back({step, l, down, 1, KVRT_DEMOTE});
        ms.push_back({step, l, up, 1, KVRT_PROMOTE});
      }
  KVRT_CHECK(kvrt_schedule_add_migrations(s, ms.data(), ms.size()));
  return s;
}

/// One plan's decode loop: measured and modelled step time and the rate
/// attention read the KV cache at.
struct DecodeResult {
  std::string plan;
  double fraction = 0, ms = 0, modelMs = 0, readGBs = 0;
};

/// Sets KVRT_CUDA_ATTENTION for the caches created until the returned
/// object is destroyed, then restores the caller's value.
struct ScopedKernel {
  std::string saved;
  bool had = false;
  explicit ScopedKernel(const char *kernel) {
    const char *env = std::getenv("KVRT_CUDA_ATTENTION");
    had = env != nullptr;
    if (env)
      saved = env;
    setenv("KVRT_CUDA_ATTENTION", kernel, 1);
  }
  ~ScopedKernel() {
    if (had)
      setenv("KVRT_CUDA_ATTENTION", saved.c_str(), 1);
    else
      unsetenv("KVRT_CUDA_ATTENTION");
  }
};

/// The decode loop of every plan with the attention kernel `kernel`; rows
/// go to `section`.
std::vector<DecodeResult> measureDecode(const Bandwidths &bw, bool quick,
                                        bool systemDram, bool hostDryRun,
                                        const char *kernel,
                                        const std::string &section) {
  ScopedKernel scoped(kernel);
  std::vector<DecodeResult> results;
  kvrt_context_options o;
  kvrt_context_options_init(&o);
  o.backend = hostDryRun ? KVRT_BACKEND_HOST : KVRT_BACKEND_CUDA;
  if (systemDram)
    o.flags = KVRT_FLAG_DRAM_SYSTEM_MEMORY;
  kvrt_context *ctx = nullptr;
  KVRT_CHECK(kvrt_context_create(&o, &ctx));
  // LLaMA-3.1-8B-shaped cache: 32 layers, 8 KV heads, 32 query heads,
  // head dim 128, bf16, 16-token blocks (4 KiB per token per layer).
  kvrt_cache_config c{};
  c.num_layers = hostDryRun ? 4 : 32;
  c.num_kv_heads = 8;
  c.num_q_heads = 32;
  c.head_dim = 128;
  c.block_tokens = 16;
  c.num_seqs = quick ? 1 : 4;
  c.max_blocks_per_seq = quick ? 128 : 512; // 2K / 8K tokens per sequence
  if (hostDryRun)
    c.max_blocks_per_seq = 16;
  c.dtype = KVRT_DTYPE_BF16;
  uint32_t total = 0;
  kvrt_cache *cache = nullptr;
  // Fewer sequences if the pools (HBM and pinned DRAM, each the whole
  // cache) cannot be allocated here.
  for (;;) {
    total = c.num_layers * c.num_seqs * c.max_blocks_per_seq;
    c.hbm_capacity_blocks = total;
    c.dram_capacity_blocks = total;
    kvrt_status st = kvrt_cache_create(ctx, &c, &cache);
    if (st == KVRT_OK)
      break;
    if (st != KVRT_ERR_ALLOCATION || c.num_seqs == 1) {
      std::fprintf(stderr, "kvrt_cache_create: %s\n", kvrt_last_error());
      std::exit(1);
    }
    std::printf("  (%s; retrying with %u sequences)\n", kvrt_last_error(),
                c.num_seqs / 2);
    c.num_seqs /= 2;
  }
  std::printf("\n[5] decode loop: %u layers, %u seqs x %u tokens, %.2f GiB "
              "of KV (bf16), attention kernel %s\n",
              c.num_layers, c.num_seqs, c.max_blocks_per_seq * c.block_tokens,
              total * double(kvrt_block_bytes(&c)) / (1 << 30), kernel);
  size_t qn = size_t(c.num_seqs) * c.num_q_heads * c.head_dim;
  size_t kn = size_t(c.num_seqs) * c.num_kv_heads * c.head_dim;
  std::vector<float> q(qn), k(kn), v(kn);
  std::vector<uint32_t> lens(c.num_seqs), start(c.num_seqs);
  for (uint32_t s = 0; s < c.num_seqs; ++s)
    start[s] = c.max_blocks_per_seq * c.block_tokens - 64;
  KVRT_CHECK(kvrt_gen_queries(&c, 1, 0, 0, q.data()));
  KVRT_CHECK(kvrt_gen_step_kv(&c, 1, 0, start.data(), k.data(), v.data()));
  void *dq, *dk, *dv, *dout;
  KVRT_CHECK(kvrt_buffer_alloc(ctx, qn * 4, &dq));
  KVRT_CHECK(kvrt_buffer_alloc(ctx, kn * 4, &dk));
  KVRT_CHECK(kvrt_buffer_alloc(ctx, kn * 4, &dv));
  KVRT_CHECK(kvrt_buffer_alloc(ctx, qn * 4, &dout));
  KVRT_CHECK(kvrt_buffer_upload(ctx, dq, q.data(), qn * 4));
  KVRT_CHECK(kvrt_buffer_upload(ctx, dk, k.data(), kn * 4));
  KVRT_CHECK(kvrt_buffer_upload(ctx, dv, v.data(), kn * 4));

  const uint32_t warmup = 3, measured = quick ? 8 : 20;
  double fStar = bw.hbm / (bw.hbm + bw.dram);
  struct Plan {
    const char *name;
    double fraction;
    bool migrate;
  };
  std::vector<Plan> plans = {{"all-HBM", 1.0, false},
                             {"B-prop. static", fStar, false},
                             {"B-prop. + migrations", fStar, true},
                             {"half + migrations", 0.5, true},
                             {"all-DRAM", 0.0, false}};
  for (const Plan &p : plans) {
    uint32_t hbmPerSeq =
        static_cast<uint32_t>(std::lround(p.fraction * c.max_blocks_per_seq));
    // A migrating plan needs a block outside its window to slide onto.
    if (p.migrate)
      hbmPerSeq = std::max(1u, std::min(hbmPerSeq, c.max_blocks_per_seq - 1));
    kvrt_schedule *plan = makePlan(c, hbmPerSeq, warmup + measured, p.migrate);
    KVRT_CHECK(kvrt_schedule_validate(cache, plan));
    KVRT_CHECK(kvrt_cache_apply_placement(cache, plan));
    KVRT_CHECK(kvrt_cache_set_seq_lens(cache, start.data()));
    KVRT_CHECK(kvrt_cache_fill_random(cache, 1));
    KVRT_CHECK(kvrt_cache_synchronize(cache));
    lens = start;
    kvrt_counters before{}, after{};
    double modelMax = 0, modelSum = 0;
    for (uint32_t step = 0; step < warmup + measured; ++step) {
      if (step == warmup)
        KVRT_CHECK(kvrt_counters_reset(cache));
      KVRT_CHECK(kvrt_counters_get(cache, &before));
      KVRT_CHECK(kvrt_step_begin(cache));
      for (uint32_t l = 0; l < c.num_layers; ++l) {
        KVRT_CHECK(kvrt_schedule_apply_step(cache, plan, step, l));
        KVRT_CHECK(kvrt_attention_step(cache, l, (const float *)dq,
                                       (const float *)dk, (const float *)dv,
                                       (float *)dout));
      }
      KVRT_CHECK(kvrt_step_end(cache));
      KVRT_CHECK(kvrt_cache_advance(cache));
      KVRT_CHECK(kvrt_counters_get(cache, &after));
      if (step < warmup)
        continue;
      double readH = double(after.bytes_read[0] - before.bytes_read[0]);
      double readD = double(after.bytes_read[1] - before.bytes_read[1]);
      double appH = double(after.bytes_appended[0] - before.bytes_appended[0]);
      double appD = double(after.bytes_appended[1] - before.bytes_appended[1]);
      double prom = double(after.bytes_promoted - before.bytes_promoted);
      double dem = double(after.bytes_demoted - before.bytes_demoted);
      double tH = (readH + appH + prom + dem) / (bw.hbm * 1e9);
      double tD = (readD + appD + prom + dem) / (bw.dram * 1e9);
      double tUp = (prom + readD) / (bw.h2d * 1e9);
      double tDown = (dem + appD) / (bw.d2h * 1e9);
      modelMax += std::max(std::max(tH, tD), std::max(tUp, tDown));
      modelSum += tH + tD;
    }
    kvrt_counters total{};
    KVRT_CHECK(kvrt_counters_get(cache, &total));
    double measuredMs = 1e3 * total.step_seconds_total / total.steps;
    double maxMs = 1e3 * modelMax / measured, sumMs = 1e3 * modelSum / measured;
    double readGBs = (total.bytes_read[0] + total.bytes_read[1]) / 1e6 /
                     (measuredMs * total.steps);
    char name[64], note[200];
    std::snprintf(name, sizeof(name), "decode %s f=%.3f", p.name,
                  double(hbmPerSeq) / c.max_blocks_per_seq);
    std::snprintf(note, sizeof(note),
                  "model max=%.3f ms sum=%.3f ms measured/model=%.2f; "
                  "attention reads %.1f GB/s; per step HBM %.1f MB DRAM %.1f "
                  "MB H2D %.2f MB D2H %.2f MB",
                  maxMs, sumMs, measuredMs / maxMs, readGBs,
                  total.bytes_read[0] / 1e6 / total.steps,
                  total.bytes_read[1] / 1e6 / total.steps,
                  total.bytes_promoted / 1e6 / total.steps,
                  total.bytes_demoted / 1e6 / total.steps);
    record(section, name, measuredMs, "ms", note);
    results.push_back({p.name, double(hbmPerSeq) / c.max_blocks_per_seq,
                       measuredMs, maxMs, readGBs});
    kvrt_schedule_destroy(plan);
  }
  for (void *b : {dq, dk, dv, dout})
    kvrt_buffer_free(ctx, b);
  kvrt_cache_destroy(cache);
  kvrt_context_destroy(ctx);
  return results;
}

/// The two kernels side by side, plan by plan (same cache shape, data,
/// plans and step count), printed and recorded in section "kernels".
void compareKernels(const std::vector<DecodeResult> &legacy,
                    const std::vector<DecodeResult> &tiled) {
  std::printf("\n==== attention kernels on the same decode loop "
              "(KVRT_CUDA_ATTENTION) ====\n");
  std::printf("%-22s %6s %10s %10s %10s %10s %10s %8s\n", "plan", "f_hbm",
              "model ms", "legacy ms", "legacy GB/s", "tiled ms", "tiled GB/s",
              "speed-up");
  for (size_t i = 0; i < legacy.size() && i < tiled.size(); ++i) {
    const DecodeResult &a = legacy[i], &b = tiled[i];
    double speedUp = a.ms / b.ms;
    std::printf("%-22s %6.3f %10.3f %10.3f %10.1f %10.3f %10.1f %7.2fx\n",
                a.plan.c_str(), a.fraction, a.modelMs, a.ms, a.readGBs, b.ms,
                b.readGBs, speedUp);
    char name[64], note[200];
    std::snprintf(name, sizeof(name), "tiled speed-up %s", a.plan.c_str());
    std::snprintf(note, sizeof(note),
                  "legacy %.3f ms (%.1f GB/s), tiled %.3f ms (%.1f GB/s), "
                  "model %.3f ms; tiled/model %.2f",
                  a.ms, a.readGBs, b.ms, b.readGBs, a.modelMs,
                  b.ms / a.modelMs);
    rows.push_back({"kernels", name, speedUp, "x", note});
  }
  std::fflush(stdout);
}

/// Why `path` cannot be the --csv output, checked before any measurement:
/// empty when it can be.
std::string csvProblem(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return "is a directory";
    if (!S_ISREG(st.st_mode))
      return ""; // /dev/null, a pipe: written at the end, directly
    if (::access(path.c_str(), W_OK) != 0)
      return std::strerror(errno);
  }
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir.empty())
    dir = "/";
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return "directory '" + dir + "' does not exist";
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return "directory '" + dir + "' is not writable";
  return "";
}

/// Writes `text` to `path`: a regular file through a temporary next to it,
/// renamed over it only when completely written (an existing file keeps its
/// permissions), so a failure leaves the old file byte-identical. Prints the
/// error naming the file and returns false on failure.
bool writeCsv(const std::string &path, const std::string &text) {
  auto fail = [&](const char *reason) {
    std::fprintf(stderr, "kvrt-bench: cannot write '%s' (--csv): %s\n",
                 path.c_str(), reason);
    return false;
  };
  struct stat st;
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    std::FILE *f = std::fopen(path.c_str(), "w");
    if (!f)
      return fail(std::strerror(errno));
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    ok = std::fflush(f) == 0 && ok;
    int err = errno;
    ok = std::fclose(f) == 0 && ok;
    return ok ? true : fail(std::strerror(err ? err : errno));
  }
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string temp = dir + "." + base + ".tmp-XXXXXX";
  int fd = ::mkstemp(&temp[0]);
  if (fd < 0)
    return fail(std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(temp.c_str());
      return fail(std::strerror(err));
    }
    done += size_t(n);
  }
  if (exists)
    ::fchmod(fd, st.st_mode & 07777);
  else
    ::fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return fail(std::strerror(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return fail(std::strerror(err));
  }
  return true;
}

/// The recorded rows as CSV.
std::string csvText(const char *device) {
  std::string out = "device,section,measurement,value,unit,note\n";
  char buf[1024];
  for (const Row &r : rows) {
    std::snprintf(buf, sizeof(buf), "\"%s\",%s,\"%s\",%.6f,%s,\"%s\"\n",
                  device, r.section.c_str(), r.name.c_str(), r.value,
                  r.unit.c_str(), r.note.c_str());
    out += buf;
  }
  return out;
}

} // namespace

int main(int argc, char **argv) {
  Env env;
  const char *csv = nullptr;
  bool systemDram = false, hostDryRun = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick"))
      env.quick = true;
    else if (!std::strcmp(argv[i], "--csv") && i + 1 < argc)
      csv = argv[++i];
    else if (!std::strcmp(argv[i], "--system-dram"))
      systemDram = true;
    else if (!std::strcmp(argv[i], "--dry-run-host"))
      hostDryRun = true;
    else {
      std::fprintf(stderr, "usage: kvrt-bench [--quick] [--csv FILE] "
                           "[--system-dram] [--dry-run-host]\n");
      return 2;
    }
  }
  // A CSV that cannot be written is refused before any measurement.
  if (csv) {
    std::string why = csvProblem(csv);
    if (!why.empty()) {
      std::fprintf(stderr, "kvrt-bench: cannot write '%s' (--csv): %s\n", csv,
                   why.c_str());
      return 1;
    }
  }
  if (hostDryRun) {
    std::printf("kvrt-bench --dry-run-host: decode plans on the host backend "
                "(placeholder bandwidths; times are meaningless)\n");
    Bandwidths fake;
    fake.hbm = 3000;
    fake.dram = fake.h2d = fake.d2h = 50;
    // The host backend has one kernel: both runs exercise the calls and
    // the comparison table only.
    auto legacy = measureDecode(fake, true, false, true, "legacy", "decode");
    auto tiled =
        measureDecode(fake, true, false, true, "tiled", "decode-tiled");
    compareKernels(legacy, tiled);
    if (csv && !writeCsv(csv, csvText("host backend (dry run)")))
      return 1;
    std::printf("kvrt-bench --dry-run-host: done\n");
    return 0;
  }
  int device = 0;
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  CUDA_CHECK(cudaSetDevice(device));
  env.sms = prop.multiProcessorCount;
  int pageable = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&pageable, cudaDevAttrPageableMemoryAccess,
                                    device));
  std::printf("kvrt-bench on %s: %d SMs, %.1f GiB, pageable memory access %s\n",
              prop.name, env.sms, prop.totalGlobalMem / double(1 << 30),
              pageable ? "yes (GH200-class)" : "no (PCIe host)");
  CUDA_CHECK(cudaStreamCreateWithFlags(&env.stream, cudaStreamNonBlocking));
  CUDA_CHECK(cudaMalloc(&env.sink, sizeof(unsigned long long)));
  CUDA_CHECK(cudaMalloc(&env.counter, sizeof(unsigned long long)));

  const size_t hbmBytes = (env.quick ? 512ull : 4096ull) << 20;
  size_t hostBytes = (env.quick ? 256ull : 1024ull) << 20;
  void *dev = nullptr, *dev2 = nullptr, *host = nullptr, *host2 = nullptr,
       *hostDev = nullptr;
  CUDA_CHECK(cudaMalloc(&dev, hbmBytes));
  CUDA_CHECK(cudaMemset(dev, 1, hbmBytes));
  // Pinned memory may be limited (containers, sandboxes): halve until the
  // two pinned buffers fit, down to 64 MiB.
  for (;;) {
    cudaError_t a = cudaHostAlloc(&host, hostBytes, cudaHostAllocMapped);
    cudaError_t b = a == cudaSuccess
                        ? cudaHostAlloc(&host2, hostBytes, cudaHostAllocMapped)
                        : a;
    if (a == cudaSuccess && b == cudaSuccess)
      break;
    cudaGetLastError();
    if (host)
      cudaFreeHost(host);
    host = host2 = nullptr;
    if (hostBytes <= (64ull << 20)) {
      std::fprintf(stderr, "cannot pin 2 x %zu bytes of host memory: %s\n",
                   hostBytes, cudaGetErrorString(b));
      return 1;
    }
    hostBytes /= 2;
    std::printf("  (pinned allocation failed; retrying with %zu MiB)\n",
                hostBytes >> 20);
  }
  CUDA_CHECK(cudaMalloc(&dev2, hostBytes));
  CUDA_CHECK(cudaMemset(dev2, 2, hostBytes));
  std::memset(host, 3, hostBytes);
  std::memset(host2, 4, hostBytes);
  CUDA_CHECK(cudaHostGetDevicePointer(&hostDev, host, 0));

  Bandwidths bw;
  std::printf("\n[1-3] bandwidths (median GB/s, 1 GB = 1e9 B)\n");
  bw.hbm = readBandwidth(env, dev, hbmBytes, 10);
  record("bandwidth", "HBM read (kernel)", bw.hbm, "GB/s");
  bw.dram = readBandwidth(env, hostDev, hostBytes, 5);
  record("bandwidth", "pinned host zero-copy read (kernel)", bw.dram, "GB/s");
  bw.h2d = copyBandwidth(env, dev2, host, hostBytes, 5);
  record("bandwidth", "H2D cudaMemcpyAsync (pinned)", bw.h2d, "GB/s");
  bw.d2h = copyBandwidth(env, host2, dev2, hostBytes, 5);
  record("bandwidth", "D2H cudaMemcpyAsync (pinned)", bw.d2h, "GB/s");
  double biH2d = 0, biD2h = 0;
  bidirectional(hostBytes, dev2, host, dev, host2, &biH2d, &biD2h);
  record("bandwidth", "H2D while D2H runs", biH2d, "GB/s");
  record("bandwidth", "D2H while H2D runs", biD2h, "GB/s");
  record("bandwidth", "bandwidth-proportional f_hbm",
         bw.hbm / (bw.hbm + bw.dram), "", "B_hbm / (B_hbm + B_zero-copy)");

  measureSplit(env, static_cast<const int4 *>(dev),
               static_cast<const int4 *>(hostDev), hostBytes, bw);
  CUDA_CHECK(cudaFree(dev));
  CUDA_CHECK(cudaFree(dev2));
  CUDA_CHECK(cudaFreeHost(host));
  CUDA_CHECK(cudaFreeHost(host2));

  auto legacy = measureDecode(bw, env.quick, systemDram && pageable, false,
                              "legacy", "decode");
  auto tiled = measureDecode(bw, env.quick, systemDram && pageable, false,
                             "tiled", "decode-tiled");
  compareKernels(legacy, tiled);

  std::printf("\n==== kvrt-bench summary (%s) ====\n", prop.name);
  std::printf("%-12s %-36s %12s %-6s\n", "section", "measurement", "value",
              "unit");
  for (const Row &r : rows)
    std::printf("%-12s %-36s %12.3f %-6s\n", r.section.c_str(), r.name.c_str(),
                r.value, r.unit.c_str());
  if (csv && !writeCsv(csv, csvText(prop.name)))
    return 1;
  return 0;
}
