// A model of glibc 2.36's heaps driven by the trace's events: where every
// chunk lies (from the chunk headers the tracer read), which freed chunks
// glibc still holds in a thread's tcache or an arena's fastbin, and the
// segments the heaps span: the main heap [heap_start, break), each thread
// arena heap, and each mmapped chunk.
//
// From it come, at any instant, the figures of the heap geometry report:
// extent, live bytes, holes, free top, pinned bytes, what glibc would trim
// by itself and what malloc_trim(0) could release, and the pinning chain.
//
// What the model cannot see makes some figures estimates: glibc moves
// chunks between its bins and the tcache inside malloc without any visible
// call (smallbin and unsorted-bin stashing), so holes are upper bounds; and
// thread arena heaps shrink inside free, which the model simulates and the
// periodic samples correct.
//
// Cost per event: a few O(log n) operations on the chunks of one segment.
#ifndef HEAPGAP_REPORT_HEAP_MODEL_H_
#define HEAPGAP_REPORT_HEAP_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "report/event.h"
#include "report/heap_params.h"
#include "report/heap_segment.h"
#include "trace.pb.h"

namespace heapgap::report {

// The geometry of one arena (the main heap, or a thread arena with its
// heaps) at one instant. Byte counts are in glibc's view: blocks held in a
// tcache or fastbin are in use for glibc.
struct HeapFigures {
  bool main = true;
  uint64_t arena = 0;           // thread arena: its malloc_state address (0 if unseen)
  uint32_t heaps = 0;           // thread arena: heaps in its chain
  uint64_t start = 0;           // main: heap start; thread arena: its first heap
  uint64_t extent_bytes = 0;    // main: break - heap start; thread arena: sum of heap sizes
  uint64_t max_extent_bytes = 0;  // the largest extent up to this instant
  uint64_t live_bytes = 0;      // requested by the program
  uint64_t live_chunk_bytes = 0;
  uint64_t live_blocks = 0;
  uint64_t hole_bytes = 0;      // free below the topmost in-use chunk
  uint64_t hole_count = 0;
  uint64_t largest_hole_bytes = 0;
  uint64_t top_free_bytes = 0;  // between the topmost in-use chunk and the end
  uint64_t tcache_bytes = 0;    // freed, held in tcaches
  uint64_t fastbin_bytes = 0;   // freed, held in fastbins
  uint64_t internal_bytes = 0;  // glibc's own chunks (tcache structures)
  // Free or cached memory below the topmost live chunk: no trim can return
  // it while that chunk lives.
  uint64_t pinned_bytes = 0;
  uint64_t trimmable_bytes = 0;  // what glibc would trim at the next large free
  // What malloc_trim(0) could release: whole free pages inside holes (and,
  // main heap, the top), less pages an earlier malloc_trim already released
  // that no chunk has touched since.
  uint64_t malloc_trim_releasable_bytes = 0;
  uint64_t released_by_malloc_trim_bytes = 0;  // those pages
  std::vector<Pinner> pinners;   // topmost first
  bool pinners_truncated = false;  // the walk stopped early (many cached chunks on top)
};

// The mmap threshold moved because a mmapped block above it was freed.
struct ThresholdChange {
  uint64_t time_ns = 0;
  uint64_t seq = 0;
  uint64_t old_mmap_threshold = 0;
  uint64_t new_mmap_threshold = 0;
  uint64_t old_trim_threshold = 0;
  uint64_t new_trim_threshold = 0;
  uint64_t freed_block_bytes = 0;   // requested size of the freed block
  uint64_t freed_block_stack = 0;   // its allocation stack
  // While this threshold was in force: heap allocations of chunks at or
  // above the threshold in force before any dynamic change, which glibc
  // would otherwise have mmapped.
  uint64_t heap_allocations_instead_of_mmap = 0;
  uint64_t heap_bytes_instead_of_mmap = 0;
};

// A mallopt call or malloc_trim call the program made.
struct AllocatorCall {
  uint64_t time_ns = 0;
  uint64_t seq = 0;
  uint64_t stack_id = 0;
  bool trim = false;       // malloc_trim; otherwise mallopt
  int param = 0;           // mallopt parameter
  int64_t value = 0;       // mallopt value, malloc_trim pad
  int64_t result = 0;
  // malloc_trim: what the model expected it to release (whole free pages in
  // holes, and the main heap's top).
  uint64_t predicted_release_bytes = 0;
};

// Where the model had to guess or correct itself; each non-zero count is an
// estimate in the figures.
struct ModelCounters {
  uint64_t events_without_chunk_header = 0;
  uint64_t unknown_releases = 0;         // a release of a chunk the model does not hold
  uint64_t overlaps_repaired = 0;        // an allocation over chunks the model held in use
  uint64_t overlap_bytes_repaired = 0;
  uint64_t cached_below_freed = 0;       // a P bit said free where the model cached a chunk
  uint64_t unexplained_in_use_below = 0;  // a P bit said in use where the model had free memory
  uint64_t tcache_structs_placed = 0;    // threads' tcache structures inferred
  uint64_t memalign_remainders = 0;      // leading chunks of aligned allocations inferred
  uint64_t realloc_remainders = 0;       // tails freed by a shrinking realloc
  uint64_t fastbin_stashes = 0;          // fastbin chunks moved into a tcache by malloc
  uint64_t consolidations = 0;
  uint64_t simulated_heap_trims = 0;     // thread arena heaps shrunk inside free
  uint64_t simulated_heap_deletions = 0;
  uint64_t heap_size_corrections = 0;    // a sample or heap record disagreed with the model
  uint64_t program_break_calls = 0;      // the program's own brk/sbrk
  uint64_t program_mapping_calls = 0;    // the program's own mmap/munmap/mremap/madvise
};

// The main heap walked at exit against the model.
struct HeapWalkCheck {
  bool available = false;
  bool complete = false;
  uint64_t walk_chunks = 0;
  uint64_t matching_chunks = 0;   // same start, size and in-use state
  uint64_t in_use_only_in_walk = 0;  // glibc in use, the model free
  uint64_t in_use_only_in_walk_bytes = 0;
  uint64_t in_use_only_in_model = 0;  // glibc free, the model in use
  uint64_t in_use_only_in_model_bytes = 0;
  uint64_t size_mismatches = 0;   // both in use, different sizes
  uint64_t walk_brk = 0, model_brk = 0;
  uint64_t walk_hole_bytes = 0, model_hole_bytes = 0;
  uint64_t walk_hole_count = 0, model_hole_count = 0;
  uint64_t walk_largest_hole = 0, model_largest_hole = 0;
  uint64_t walk_top_bytes = 0, model_top_bytes = 0;
  uint64_t walk_in_use_bytes = 0, model_in_use_bytes = 0;
  // A few differences, one line each: "chunk at heap+0x1a0 (0x410 B): in use in glibc, free in the model".
  std::vector<std::string> examples;
};

// mallinfo2() as the model predicts it (all arenas together).
struct PredictedMallinfo {
  uint64_t arena = 0;
  uint64_t ordblks = 0;
  uint64_t smblks = 0;
  uint64_t hblks = 0;
  uint64_t hblkhd = 0;
  uint64_t fsmblks = 0;
  uint64_t uordblks = 0;
  uint64_t fordblks = 0;
  uint64_t keepcost = 0;
};

class HeapModel {
 public:
  struct Config {
    uint64_t heap_start = 0;  // Header.heap_start; 0 = unknown
    uint64_t page_size = 4096;
    // A fork child: its heap (and the forking thread's tcache) are the
    // parent's, unknown to the model.
    bool forked = false;
  };

  explicit HeapModel(Config config);
  ~HeapModel();
  HeapModel(const HeapModel&) = delete;
  HeapModel& operator=(const HeapModel&) = delete;

  // The settings in force at start (thresholds, tcache size).
  void SetMallocSettings(const trace::MallocSettings& settings);
  // One event, in the global order.
  void Apply(const Event& event);
  // A sample's reading of a thread arena heap. Shrinks and unmaps happen
  // inside free, where the tracer cannot read the heap, so only samples see
  // them; a sample reads the heap a little after its place among the events,
  // so a larger size is left to the heap records that follow.
  void CorrectArenaHeap(const trace::ArenaHeapState& state);
  // Settles a realloc left pending by the last events.
  void Finish();

  const MallocParams& params() const { return params_; }
  const std::vector<std::string>& settings_applied() const { return settings_applied_; }

  // Figures of the moment, O(1).
  uint64_t footprint_bytes() const { return brk_extent() + thread_heap_bytes_ + mmapped_bytes_; }
  uint64_t brk_extent() const { return main_->extent(); }
  uint64_t max_brk_extent() const { return max_brk_extent_; }
  uint64_t brk() const { return main_->end(); }
  uint64_t thread_heap_bytes() const { return thread_heap_bytes_; }
  uint64_t mmapped_bytes() const { return mmapped_bytes_; }
  uint64_t mmapped_blocks() const { return mmapped_.size(); }
  uint64_t mmapped_allocations() const { return mmapped_allocations_; }
  uint64_t hole_bytes() const { return hole_bytes_; }  // all heaps
  uint64_t live_requested() const;                     // all heaps and mmapped blocks
  uint64_t arena_count() const { return arenas_.size(); }

  // Figures of each arena, O(pinners + cached chunks near the top) each.
  HeapFigures MainFigures(size_t max_pinners) const;
  std::vector<HeapFigures> ThreadArenaFigures(size_t max_pinners) const;
  // (first heap address, extent) of every thread arena, by address.
  std::vector<std::pair<uint64_t, uint64_t>> ThreadArenaExtents() const;

  const std::vector<ThresholdChange>& threshold_changes() const { return threshold_changes_; }
  const std::vector<AllocatorCall>& allocator_calls() const { return allocator_calls_; }
  const ModelCounters& counters() const { return counters_; }

  HeapWalkCheck CheckHeapWalk(const trace::HeapWalk& walk) const;
  PredictedMallinfo PredictMallinfo() const;

  const HeapSegment& main_heap() const { return *main_; }

 private:
  struct Arena;
  struct Heap;
  struct Thread;
  struct PendingRealloc {
    bool active = false;
    uint64_t address = 0;
    uint64_t header = 0;
    uint64_t mmapped_offset = 0;
  };
  struct MmappedBlock {
    uint64_t mapping_bytes = 0;
    uint64_t requested = 0;
    uint64_t stack_id = 0;
  };

  Thread& ThreadFor(uint32_t thread_id);
  // The segment holding a heap chunk with this header (creating a thread
  // arena heap on first sight); `arena` receives its arena.
  HeapSegment* SegmentFor(uint64_t header, uint64_t chunk, Arena** arena);
  // The segment and arena holding `chunk` by address alone.
  HeapSegment* SegmentByAddress(uint64_t chunk, Arena** arena);
  Heap& HeapAt(uint64_t heap_start);
  Arena& ArenaFor(uint64_t key);

  void Allocate(const Event& e, Thread& thread);
  void AllocateMmapped(const Event& e, Thread& thread);
  void AllocateHeap(const Event& e, Thread& thread, bool in_place_realloc);
  // The leading and trailing parts _int_memalign freed around an aligned
  // block [chunk, chunk + size).
  void CarveAligned(HeapSegment& segment, Arena& arena, Thread& thread, const Event& e,
                    uint64_t chunk, uint64_t size, uint64_t below_end, bool below_in_use,
                    uint64_t alignment, uint64_t request);
  void Release(const Event& e, Thread& thread);
  // Frees a block as __libc_free does; `realloc` for realloc's own release
  // (no dynamic threshold change).
  void FreeBlock(uint64_t address, uint64_t header, Thread& thread, bool realloc, uint64_t time_ns,
                 uint64_t seq);
  // _int_free of an in-use chunk: tcache, fastbin, or coalesce (and trim).
  void FreeChunk(HeapSegment& segment, Arena& arena, uint64_t address, Chunk& chunk,
                 Thread* thread);
  void SettlePendingRealloc(Thread& thread, uint64_t time_ns, uint64_t seq);
  // A cached chunk is allocated again: it leaves its tcache or fastbin (and
  // a fastbin hit moves the rest of that fastbin into the tcache).
  void TakeFromCache(uint64_t address, const Chunk& chunk, Arena& arena, Thread& allocating);
  // Bookkeeping of the tcache or fastbin a chunk leaves.
  void Uncache(const Chunk& chunk, Arena& arena);
  // Removes a chunk the model held in use (cached or not) that glibc has free.
  void EraseCached(HeapSegment& segment, Arena& arena, uint64_t address);
  // The P bit of the chunk at `chunk` says the chunk below is free: if the
  // model holds the chunk at `below`, ending there, in a cache, glibc merged it.
  void RepairCachedBelow(HeapSegment& segment, Arena& arena, uint64_t chunk, uint64_t below);
  void Consolidate(Arena& arena);
  void ConsolidateAll();
  void HeapTrim(Arena& arena);
  void FlushTcache(Thread& thread);
  void BreakMove(const Event& e);
  void ArenaHeap(const Event& e);
  // A heap's state from a heap record (`from_sample` false) or a sample.
  void UpdateArenaHeap(const trace::ArenaHeapState& state, bool from_sample);
  void SetHeapSize(Heap& heap, uint64_t size);
  void RemoveHeap(Heap& heap);
  HeapFigures Figures(const Arena& arena, size_t max_pinners) const;

  Config config_;
  MallocParams params_;
  uint64_t base_mmap_threshold_;  // before any dynamic change
  std::vector<std::string> settings_applied_;
  std::unique_ptr<HeapSegment> main_;
  std::unique_ptr<Arena> main_arena_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Arena>> arenas_;  // thread arenas by first heap
  absl::flat_hash_map<uint64_t, std::unique_ptr<Heap>> heaps_;    // by heap start
  Heap* last_heap_ = nullptr;
  absl::flat_hash_map<uint64_t, MmappedBlock> mmapped_;  // by block address
  std::vector<std::unique_ptr<Thread>> threads_;         // by thread id
  absl::flat_hash_map<uint32_t, std::unique_ptr<Thread>> other_threads_;
  Thread* last_thread_ = nullptr;
  bool any_thread_seen_ = false;

  uint64_t thread_heap_bytes_ = 0;
  uint64_t mmapped_bytes_ = 0;
  uint64_t mmapped_live_requested_ = 0;
  uint64_t mmapped_allocations_ = 0;
  uint64_t hole_bytes_ = 0;
  uint64_t max_brk_extent_ = 0;
  std::vector<ThresholdChange> threshold_changes_;
  std::vector<AllocatorCall> allocator_calls_;
  ModelCounters counters_;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_HEAP_MODEL_H_
