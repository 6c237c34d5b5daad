//===- MlirShim.cpp - kvrt C ABI on MLIR memref descriptors ---------------===//
//
// Part of the kv-opt runtime (no MLIR dependency). The functions that
// `kv-opt --kvtier-lower-to-runtime` calls from a lowered program, in the
// C-interface form of MLIR's func-to-LLVM lowering (`llvm.emit_c_interface`:
// `_mlir_ciface_<name>`, memrefs passed as pointers to their descriptors).
// Built as the shared library kvrt_mlir for mlir-runner
// (`--shared-libs=libkvrt_mlir.so`). See docs/lowering.md.
//
// One runtime cache per schedule file, created at the first call: the
// context (host backend, or CUDA with KVRT_MLIR_BACKEND=cuda), a cache of
// the lowered module's geometry whose HBM pool holds the plan's capacity
// (the schedule's recorded assumption), the schedule read, validated and
// its initial placement applied. The first decode position seen is the
// prompt length: each layer adopts the program's dense cache contents of
// tokens [0, prompt) at its first call. Each call of a layer then applies
// the schedule's migrations of (step, layer), appends the new token and
// attends; after every layer of a step the cache advances.
//
// Errors print `kvrt-mlir: error: ...` and exit with status 1 (a compiled
// program has no error path to return through).
//
//===----------------------------------------------------------------------===//
#include "kvrt/kvrt.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

/// A rank-1 memref descriptor (MLIR's StridedMemRefType<T, 1>).
template <typename T> struct MemRef1 {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
};

[[noreturn]] void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::fprintf(stderr, "kvrt-mlir: error: ");
  std::vfprintf(stderr, format, args);
  std::fprintf(stderr, "\n");
  va_end(args);
  std::fflush(stdout);
  std::exit(1);
}

void check(kvrt_status status, const char *what) {
  if (status != KVRT_OK)
    die("%s: %s", what, kvrt_last_error());
}

/// The contiguous data of a rank-1 memref of at least `count` elements.
template <typename T>
const T *dataOf(const MemRef1<T> *m, size_t count, const char *what) {
  if (!m || !m->aligned)
    die("%s: null memref", what);
  if (m->strides[0] != 1)
    die("%s: stride %lld, the runtime reads contiguous memrefs", what,
        (long long)m->strides[0]);
  if (m->sizes[0] < int64_t(count))
    die("%s: %lld elements, %zu expected", what, (long long)m->sizes[0],
        count);
  return m->aligned + m->offset;
}

/// The runtime state behind one schedule file.
struct Instance {
  kvrt_context *context = nullptr;
  kvrt_cache *cache = nullptr;
  kvrt_schedule *schedule = nullptr;
  kvrt_cache_config config{};
  /// The geometry the lowered program calls with (its dense caches hold
  /// `requested.max_blocks_per_seq * block_tokens` tokens per sequence).
  kvrt_cache_config requested{};
  uint32_t prompt = 0;
  uint32_t position = 0;
  std::vector<bool> adopted, attended;
  uint32_t attendedCount = 0;
  float *q = nullptr, *k = nullptr, *v = nullptr, *out = nullptr;
  size_t qBytes = 0, kvBytes = 0;
  std::string path;

  ~Instance() {
    if (context) {
      kvrt_buffer_free(context, q);
      kvrt_buffer_free(context, k);
      kvrt_buffer_free(context, v);
      kvrt_buffer_free(context, out);
    }
    kvrt_schedule_destroy(schedule);
    kvrt_cache_destroy(cache);
    kvrt_context_destroy(context);
  }
};

std::map<std::string, std::unique_ptr<Instance>> &instances() {
  static std::map<std::string, std::unique_ptr<Instance>> all;
  return all;
}

/// Prints the counters of every instance at exit when KVRT_MLIR_STATS is set.
void printStats() {
  for (auto &[path, inst] : instances()) {
    kvrt_counters c{};
    if (kvrt_counters_get(inst->cache, &c) != KVRT_OK)
      continue;
    uint32_t used = 0, capacity = 0;
    (void)used;
    kvrt_cache_tier_usage(inst->cache, KVRT_TIER_HBM, &used, &capacity);
    std::printf("kvrt-mlir: %s: %u layers, prompt %u, %u tokens; bytes read "
                "HBM %llu, DRAM %llu; promoted %llu B, demoted %llu B (%llu "
                "blocks); HBM slots %u, peak used %u\n",
                path.c_str(), inst->config.num_layers, inst->prompt,
                inst->position, (unsigned long long)c.bytes_read[0],
                (unsigned long long)c.bytes_read[1],
                (unsigned long long)c.bytes_promoted,
                (unsigned long long)c.bytes_demoted,
                (unsigned long long)c.blocks_migrated, capacity,
                (unsigned)c.peak_hbm_blocks);
  }
  std::fflush(stdout);
}

Instance &getInstance(const char *path, const kvrt_cache_config &config,
                      uint32_t position) {
  auto &all = instances();
  auto it = all.find(path);
  if (it != all.end()) {
    const kvrt_cache_config &c = it->second->requested;
    if (c.num_layers != config.num_layers ||
        c.num_kv_heads != config.num_kv_heads ||
        c.num_q_heads != config.num_q_heads || c.head_dim != config.head_dim ||
        c.block_tokens != config.block_tokens ||
        c.num_seqs != config.num_seqs ||
        c.max_blocks_per_seq != config.max_blocks_per_seq)
      die("schedule '%s' is used by two caches of different geometry", path);
    return *it->second;
  }
  if (all.empty() && std::getenv("KVRT_MLIR_STATS"))
    std::atexit(printStats);
  auto inst = std::make_unique<Instance>();
  inst->path = path;
  check(kvrt_schedule_read(path, &inst->schedule), "reading the schedule");
  // The lowered graph attends every cached token ([0, position], checked
  // against its mask at each call); a windowed schedule would make the
  // runtime attend only each local layer's window, a different result.
  if (kvrt_schedule_has_windows(inst->schedule))
    die("schedule '%s' has sliding-window layers; the lowered graph attends "
        "every cached token, so its attention cannot run on a windowed "
        "schedule",
        path);
  kvrt_cache_config c = config;
  uint32_t blockTokens = kvrt_schedule_block_tokens(inst->schedule);
  if (blockTokens && blockTokens != c.block_tokens)
    die("schedule '%s' was planned with blocks of %u tokens, the lowered "
        "cache has blocks of %u tokens",
        path, blockTokens, c.block_tokens);
  // A plan covers the tokens it decodes (prompt + steps), which may be
  // fewer blocks than the program's dense cache: the runtime cache then
  // holds the plan's blocks, and a step beyond the plan is refused below.
  uint32_t planBlocks = kvrt_schedule_blocks_per_layer(inst->schedule);
  if (planBlocks % c.num_seqs == 0 &&
      planBlocks / c.num_seqs < c.max_blocks_per_seq &&
      planBlocks / c.num_seqs * c.block_tokens > position)
    c.max_blocks_per_seq = planBlocks / c.num_seqs;
  uint32_t blocks = c.num_layers * c.num_seqs * c.max_blocks_per_seq;
  // The HBM pool holds exactly the plan's capacity, so the runtime refuses
  // a schedule that would exceed it; DRAM holds every block.
  uint32_t planned = kvrt_schedule_hbm_capacity(inst->schedule);
  c.hbm_capacity_blocks = planned ? planned : c.hbm_capacity_blocks;
  c.dram_capacity_blocks = blocks;
  kvrt_context_options options;
  kvrt_context_options_init(&options);
  const char *backend = std::getenv("KVRT_MLIR_BACKEND");
  if (backend && std::strcmp(backend, "cuda") == 0)
    options.backend = KVRT_BACKEND_CUDA;
  else if (backend && std::strcmp(backend, "host") != 0)
    die("KVRT_MLIR_BACKEND='%s': expected host or cuda", backend);
  check(kvrt_context_create(&options, &inst->context), "creating the context");
  check(kvrt_cache_create(inst->context, &c, &inst->cache),
        "creating the cache");
  check(kvrt_schedule_validate(inst->cache, inst->schedule),
        "validating the schedule");
  check(kvrt_cache_apply_placement(inst->cache, inst->schedule),
        "applying the initial placement");
  check(kvrt_cache_get_config(inst->cache, &inst->config), "reading config");
  inst->requested = config;
  inst->prompt = inst->position = position;
  std::vector<uint32_t> lens(c.num_seqs, position);
  check(kvrt_cache_set_seq_lens(inst->cache, lens.data()), "setting lengths");
  inst->adopted.assign(c.num_layers, false);
  inst->attended.assign(c.num_layers, false);
  inst->qBytes = sizeof(float) * c.num_seqs * c.num_q_heads * c.head_dim;
  inst->kvBytes = sizeof(float) * c.num_seqs * c.num_kv_heads * c.head_dim;
  void *q, *k, *v, *out;
  check(kvrt_buffer_alloc(inst->context, inst->qBytes, &q), "allocating");
  check(kvrt_buffer_alloc(inst->context, inst->kvBytes, &k), "allocating");
  check(kvrt_buffer_alloc(inst->context, inst->kvBytes, &v), "allocating");
  check(kvrt_buffer_alloc(inst->context, inst->qBytes, &out), "allocating");
  inst->q = static_cast<float *>(q);
  inst->k = static_cast<float *>(k);
  inst->v = static_cast<float *>(v);
  inst->out = static_cast<float *>(out);
  Instance &ref = *inst;
  all.emplace(path, std::move(inst));
  return ref;
}

/// Writes tokens [0, prompt) of `layer` from the dense caches
/// ([seq][kv_head][max_tokens][head_dim], f32) into the runtime's blocks.
void adopt(Instance &inst, uint32_t layer, const float *kDense,
           const float *vDense) {
  const kvrt_cache_config &c = inst.config;
  uint32_t maxTokens =
      inst.requested.max_blocks_per_seq * inst.requested.block_tokens;
  size_t half = size_t(c.num_kv_heads) * c.block_tokens * c.head_dim;
  std::vector<float> block(2 * half);
  for (uint32_t s = 0; s < c.num_seqs; ++s)
    for (uint32_t j = 0; j * c.block_tokens < inst.prompt; ++j) {
      std::fill(block.begin(), block.end(), 0.0f);
      for (uint32_t h = 0; h < c.num_kv_heads; ++h)
        for (uint32_t o = 0; o < c.block_tokens; ++o) {
          uint32_t t = j * c.block_tokens + o;
          if (t >= inst.prompt)
            break;
          size_t src = ((size_t(s) * c.num_kv_heads + h) * maxTokens + t) *
                       c.head_dim;
          size_t dst = (size_t(h) * c.block_tokens + o) * c.head_dim;
          std::memcpy(&block[dst], kDense + src, c.head_dim * sizeof(float));
          std::memcpy(&block[half + dst], vDense + src,
                      c.head_dim * sizeof(float));
        }
      check(kvrt_cache_write_block(inst.cache, layer,
                                   s * c.max_blocks_per_seq + j, block.data()),
            "writing the prompt's blocks");
    }
  inst.adopted[layer] = true;
}



/// Checks that the additive `mask` over the cache's tokens hides exactly
/// the tokens after `position`: 0 on [0, position], at most -1e9 (or -inf)
/// after, so exp() of every hidden score is 0 in f32 and the masked
/// attention over the whole cache equals the runtime's over [0, position].
void checkCausalMask(const MemRef1<float> *mask, int64_t maxTokens,
                     int64_t layer, int64_t position) {
  const float *m = dataOf(mask, size_t(maxTokens), "mask");
  for (int64_t t = 0; t < maxTokens; ++t) {
    bool visible = t <= position;
    if (visible ? m[t] == 0.0f : m[t] <= -1e9f)
      continue;
    die("layer %lld at position %lld: mask[%lld] = %g, but the runtime "
        "attends exactly tokens [0, %lld] (the mask must be 0 there and "
        "<= -1e9 after)",
        (long long)layer, (long long)position, (long long)t, double(m[t]),
        (long long)position);
  }
}

} // namespace

extern "C" void _mlir_ciface_kvrt_mlir_attention(
    MemRef1<int8_t> *path, int64_t layers, int64_t kvHeads, int64_t qHeads,
    int64_t headDim, int64_t blockTokens, int64_t batch, int64_t maxTokens,
    float scale, int64_t layer, int64_t position, MemRef1<float> *q,
    MemRef1<float> *kNew, MemRef1<float> *vNew, MemRef1<float> *kCache,
    MemRef1<float> *vCache, MemRef1<float> *out) {
  if (!path || !path->aligned || path->sizes[0] < 1)
    die("no schedule path");
  std::string file(reinterpret_cast<const char *>(path->aligned + path->offset),
                   size_t(path->sizes[0]));
  file = file.c_str(); // The global holds a terminating NUL.
  if (layers < 1 || kvHeads < 1 || qHeads < 1 || headDim < 1 ||
      blockTokens < 1 || batch < 1 || maxTokens < blockTokens ||
      maxTokens % blockTokens != 0 || layer < 0 || layer >= layers ||
      position < 0 || position >= maxTokens)
    die("bad call: layers %lld, kv_heads %lld, q_heads %lld, head_dim %lld, "
        "block %lld, batch %lld, max_tokens %lld, layer %lld, position %lld",
        (long long)layers, (long long)kvHeads, (long long)qHeads,
        (long long)headDim, (long long)blockTokens, (long long)batch,
        (long long)maxTokens, (long long)layer, (long long)position);
  kvrt_cache_config config{};
  config.num_layers = uint32_t(layers);
  config.num_kv_heads = uint32_t(kvHeads);
  config.num_q_heads = uint32_t(qHeads);
  config.head_dim = uint32_t(headDim);
  config.block_tokens = uint32_t(blockTokens);
  config.num_seqs = uint32_t(batch);
  config.max_blocks_per_seq = uint32_t(maxTokens / blockTokens);
  config.dtype = KVRT_DTYPE_F32;
  config.scale = scale;
  Instance &inst = getInstance(file.c_str(), config, uint32_t(position));
  uint32_t l = uint32_t(layer);
  size_t dense = size_t(batch) * kvHeads * maxTokens * headDim;
  if (!inst.adopted[l])
    adopt(inst, l, dataOf(kCache, dense, "key cache"),
          dataOf(vCache, dense, "value cache"));
  if (uint32_t(position) != inst.position)
    die("layer %u decodes position %lld, but the runtime's cache holds %u "
        "tokens",
        l, (long long)position, inst.position);
  if (inst.attended[l])
    die("layer %u attended twice at position %u", l, inst.position);
  uint32_t step = inst.position - inst.prompt;
  if (step >= kvrt_schedule_num_steps(inst.schedule))
    die("decode step %u (position %u) is beyond the schedule's %u steps", step,
        inst.position, kvrt_schedule_num_steps(inst.schedule));
  check(kvrt_schedule_apply_step(inst.cache, inst.schedule, step, l),
        "applying the step's migrations");
  size_t qCount = inst.qBytes / sizeof(float);
  size_t kvCount = inst.kvBytes / sizeof(float);
  check(kvrt_buffer_upload(inst.context, inst.q, dataOf(q, qCount, "query"),
                           inst.qBytes),
        "uploading the query");
  check(kvrt_buffer_upload(inst.context, inst.k, dataOf(kNew, kvCount, "key"),
                           inst.kvBytes),
        "uploading the key");
  check(kvrt_buffer_upload(inst.context, inst.v,
                           dataOf(vNew, kvCount, "value"), inst.kvBytes),
        "uploading the value");
  check(kvrt_attention_step(inst.cache, l, inst.q, inst.k, inst.v, inst.out),
        "attention");
  float *dst = const_cast<float *>(dataOf(out, qCount, "output"));
  check(kvrt_buffer_download(inst.context, dst, inst.out, inst.qBytes),
        "downloading the output");
  inst.attended[l] = true;
  if (++inst.attendedCount == inst.config.num_layers) {
    check(kvrt_cache_advance(inst.cache), "advancing the cache");
    ++inst.position;
    inst.attendedCount = 0;
    inst.attended.assign(inst.config.num_layers, false);
  }
}

/// attention over the whole cache with an additive mask (the TOSA form of
/// docs/lowering.md): the mask is checked, then the same call as above.
extern "C" void _mlir_ciface_kvrt_mlir_attention_masked(
    MemRef1<int8_t> *path, int64_t layers, int64_t kvHeads, int64_t qHeads,
    int64_t headDim, int64_t blockTokens, int64_t batch, int64_t maxTokens,
    float scale, int64_t layer, int64_t position, MemRef1<float> *q,
    MemRef1<float> *kNew, MemRef1<float> *vNew, MemRef1<float> *kCache,
    MemRef1<float> *vCache, MemRef1<float> *out, MemRef1<float> *mask) {
  if (maxTokens < 1 || position < 0 || position >= maxTokens)
    die("bad call: max_tokens %lld, position %lld", (long long)maxTokens,
        (long long)position);
  checkCausalMask(mask, maxTokens, layer, position);
  _mlir_ciface_kvrt_mlir_attention(path, layers, kvHeads, qHeads, headDim,
                                   blockTokens, batch, maxTokens, scale, layer,
                                   position, q, kNew, vNew, kCache, vCache,
                                   out);
}
