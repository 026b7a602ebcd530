// glibc 2.36 malloc on x86-64: the constants and the tunable parameters that
// decide where a freed block goes (tcache, fastbin, free chunk, munmap) and
// when the heap gives memory back. Sources: malloc/malloc.c, malloc/arena.c
// (see the research notes on glibc for how each was checked).
#ifndef HEAPGAP_REPORT_HEAP_PARAMS_H_
#define HEAPGAP_REPORT_HEAP_PARAMS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "trace.pb.h"

namespace heapgap::report {
namespace glibc {

// Chunk size word bits.
inline constexpr uint64_t kPrevInUse = 1;
inline constexpr uint64_t kIsMmapped = 2;
inline constexpr uint64_t kNonMainArena = 4;
inline constexpr uint64_t kSizeBits = 7;

inline constexpr uint64_t kMinChunk = 32;        // MINSIZE
inline constexpr uint64_t kChunkHeader = 16;     // user pointer - chunk start
inline constexpr uint64_t kMallocChunkStruct = 48;  // sizeof(struct malloc_chunk), malloc_trim
inline constexpr uint64_t kDefaultTopPad = 128 << 10;
inline constexpr uint64_t kDefaultTrimThreshold = 128 << 10;
inline constexpr uint64_t kDefaultMmapThreshold = 128 << 10;
inline constexpr uint64_t kMaxMmapThreshold = 32 << 20;  // DEFAULT_MMAP_THRESHOLD_MAX
inline constexpr uint64_t kDefaultMmapMax = 65536;
inline constexpr uint64_t kArenaHeapBytes = 64 << 20;    // HEAP_MAX_SIZE
inline constexpr uint64_t kFastbinConsolidationThreshold = 64 << 10;
inline constexpr uint64_t kDefaultMaxFast = 128;         // set_max_fast(DEFAULT_MXFAST)
inline constexpr uint64_t kMaxFastRequest = 160;         // MAX_FAST_SIZE
inline constexpr uint64_t kMinLargeChunk = 1024;         // MIN_LARGE_SIZE
inline constexpr uint32_t kTcacheMaxBins = 64;
inline constexpr uint32_t kDefaultTcacheCount = 7;
inline constexpr uint32_t kMaxTcacheCount = 65535;
inline constexpr uint64_t kMaxTcacheRequest = 1032;
// The per-thread tcache_perthread_struct, allocated from the thread's arena
// on its first malloc or free: the first chunk of the main heap.
inline constexpr uint64_t kTcacheStructChunk = 0x290;
// Where chunks start in a thread arena heap: after heap_info (0x30), and in
// an arena's first heap also after its malloc_state (0x898), aligned.
inline constexpr uint64_t kHeapInfoBytes = 0x30;
inline constexpr uint64_t kFirstHeapChunkOffset = 0x8d0;

// mallopt parameters (malloc.h).
inline constexpr int kMallocMxFast = 1;
inline constexpr int kMallocTrimThreshold = -1;
inline constexpr int kMallocTopPad = -2;
inline constexpr int kMallocMmapThreshold = -3;
inline constexpr int kMallocMmapMax = -4;
inline constexpr int kMallocArenaTest = -7;
inline constexpr int kMallocArenaMax = -8;

constexpr uint64_t ChunkSize(uint64_t header) { return header & ~kSizeBits; }
// request2size: the chunk a request of `bytes` needs.
constexpr uint64_t RequestToChunk(uint64_t bytes) {
  const uint64_t size = (bytes + 8 + 15) & ~uint64_t{15};
  return size < kMinChunk ? kMinChunk : size;
}
// csize2tidx: the tcache bin of a chunk size.
constexpr uint64_t TcacheIndex(uint64_t chunk_size) {
  return chunk_size < kMinChunk ? 0 : (chunk_size - kMinChunk + 15) / 16;
}
constexpr uint64_t AlignDown(uint64_t value, uint64_t alignment) {
  return value & ~(alignment - 1);
}
constexpr uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}
// What systrim/heap_trim give back from a top chunk of `top` bytes with
// `pad` kept: ALIGN_DOWN(top - MINSIZE - 1 - pad, page), or 0.
constexpr uint64_t TrimmableTop(uint64_t top, uint64_t pad, uint64_t page) {
  if (top < kMinChunk + 1) return 0;
  const uint64_t area = top - kMinChunk - 1;
  return area <= pad ? 0 : AlignDown(area - pad, page);
}
// What malloc_trim's madvise pass releases inside the free chunk [a, b).
constexpr uint64_t MallocTrimReleasable(uint64_t a, uint64_t b, uint64_t page) {
  if (b <= a || b - a <= page - 1 + kMallocChunkStruct) return 0;
  const uint64_t first_page = AlignUp(a + kMallocChunkStruct, page);
  if (b <= first_page) return 0;
  const uint64_t rest = b - first_page;
  return rest > page - 1 ? AlignDown(rest, page) : 0;
}

}  // namespace glibc

// The allocator parameters in force (mp_ and global_max_fast in malloc.c).
struct MallocParams {
  uint64_t mmap_threshold = glibc::kDefaultMmapThreshold;
  uint64_t trim_threshold = glibc::kDefaultTrimThreshold;
  uint64_t top_pad = glibc::kDefaultTopPad;
  uint64_t mmap_max = glibc::kDefaultMmapMax;
  uint64_t max_fast = glibc::kDefaultMaxFast;  // largest chunk a fastbin takes
  uint32_t tcache_count = glibc::kDefaultTcacheCount;
  uint32_t tcache_bins = glibc::kTcacheMaxBins;
  uint64_t arena_max = 0;  // 0: glibc's default, 8 per CPU
  // Set by mallopt or a tunable of the thresholds, pad or mmap count: the
  // mmap threshold no longer follows freed mmapped blocks.
  bool no_dyn_threshold = false;
};

// glibc's setters with their range checks; false when glibc refuses the value.
bool SetMmapThreshold(uint64_t value, MallocParams& params);
bool SetTrimThreshold(uint64_t value, MallocParams& params);
bool SetTopPad(uint64_t value, MallocParams& params);
bool SetMmapMax(uint64_t value, MallocParams& params);
bool SetMaxFast(uint64_t value, MallocParams& params);
bool SetTcacheCount(uint64_t value, MallocParams& params);
bool SetTcacheMax(uint64_t value, MallocParams& params);

// Applies mallopt(param, value) as glibc does; returns glibc's result.
bool ApplyMallopt(int param, int64_t value, MallocParams& params);

// Applies the start-up settings: MALLOC_*_ environment variables, then
// GLIBC_TUNABLES (glibc.malloc.*). Each setting applied is described in
// `applied` ("glibc.malloc.mmap_threshold=65536").
void ApplyMallocSettings(const trace::MallocSettings& settings, MallocParams& params,
                         std::vector<std::string>& applied);

// The name of a mallopt parameter ("M_MMAP_THRESHOLD"), or its number.
std::string MalloptName(int param);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_HEAP_PARAMS_H_
