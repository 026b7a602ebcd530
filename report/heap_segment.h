// One contiguous heap: the main (brk) heap, or one thread arena heap. Keeps
// the chunks glibc considers in use (live blocks, blocks held in a tcache or
// fastbin, glibc's own chunks) and the free gaps between them, so that every
// figure the reports need stays up to date as chunks come and go.
//
// A gap is free memory below the topmost in-use chunk: a hole. Memory above
// the topmost in-use chunk up to the segment's end is glibc's top chunk.
//
// Chunks are found by address in a hash table (a freed block going into a
// cache, or a cached block allocated again, costs one lookup); their order
// is kept in a B-tree of start addresses and sizes, used only when chunks
// come or go.
#ifndef HEAPGAP_REPORT_HEAP_SEGMENT_H_
#define HEAPGAP_REPORT_HEAP_SEGMENT_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"  // GapSizes
#include "absl/container/flat_hash_map.h"

namespace heapgap::report {

enum class ChunkState : uint8_t {
  kLive,      // allocated by the program
  kTcache,    // freed, held in a thread's tcache
  kFastbin,   // freed, held in its arena's fastbin
  kInternal,  // glibc's own (a thread's tcache structure, a realloc or memalign remainder)
};

struct Chunk {
  uint64_t size = 0;        // chunk bytes, header included
  uint64_t requested = 0;   // bytes the program asked for; 0 for glibc's own
  uint64_t time_ns = 0;     // when it was allocated
  uint64_t stack_id = 0;    // allocation stack
  // The allocating thread; for a chunk in a tcache, the thread owning it.
  uint32_t thread_id = 0;
  ChunkState state = ChunkState::kLive;
  // Released by a realloc whose result is not known yet.
  bool realloc_pending = false;

  bool cached() const { return state == ChunkState::kTcache || state == ChunkState::kFastbin; }
  // Live for the program or held by glibc itself: not freeable by anyone.
  bool pinning() const { return state == ChunkState::kLive || state == ChunkState::kInternal; }
};

// A chunk of the pinning chain: a live chunk near the top of a heap.
struct Pinner {
  uint64_t address = 0;     // the block's address (user pointer)
  uint64_t chunk_size = 0;
  uint64_t requested = 0;   // bytes requested; 0 for glibc's own chunks
  uint64_t time_ns = 0;     // allocation time, CLOCK_MONOTONIC
  uint64_t stack_id = 0;
  uint32_t thread_id = 0;
  bool internal = false;    // glibc's own chunk (a thread's tcache structure)
  // Free bytes below it down to the next pinning chunk, plus its own size:
  // what joins the top chunk (and becomes trimmable) once it and every
  // pinner above it are freed.
  uint64_t bytes_released_if_freed = 0;
};

// The topmost chunks that pin (live, or glibc's own), topmost first.
struct PinningChain {
  static constexpr size_t kMaxPinners = 10;
  uint64_t top_end = 0;       // end of the topmost pinning chunk; 0 if none
  std::vector<Pinner> pinners;
  bool truncated = false;     // stopped after stepping over too many cached chunks
};

// Sizes of the gaps, for the largest one: small gaps in a histogram, large
// ones in an ordered multiset (they are few).
class GapSizes {
 public:
  void Add(uint64_t size);
  void Remove(uint64_t size);
  uint64_t Largest() const;

 private:
  static constexpr uint64_t kSmallLimit = 4096;
  static constexpr int kBuckets = kSmallLimit / 16;
  std::array<uint32_t, kBuckets> small_{};
  std::array<uint64_t, kBuckets / 64> nonempty_{};
  absl::btree_multiset<uint64_t> large_;
};

class HeapSegment {
 public:
  // In-use chunks by start address: their sizes.
  using Order = absl::btree_map<uint64_t, uint64_t>;

  // Chunks go from `start` (the first chunk's address) to `end` (the break,
  // or the heap's end). `page` is the page size. `hole_total`, if given, is
  // a counter shared by several segments that every change of this one's
  // holes is added to.
  HeapSegment(uint64_t start, uint64_t end, uint64_t page, uint64_t* hole_total = nullptr);
  ~HeapSegment();
  HeapSegment(const HeapSegment&) = delete;
  HeapSegment& operator=(const HeapSegment&) = delete;

  uint64_t start() const { return start_; }
  uint64_t end() const { return end_; }
  void set_end(uint64_t end) { end_ = end; }
  void set_start(uint64_t start);

  // The chunk at `address`, or nullptr. Valid until the next Insert or Erase.
  Chunk* Find(uint64_t address);
  const Chunk* Find(uint64_t address) const;
  // Adds an in-use chunk; one already at `address` is replaced. The
  // reference is valid until the next Insert or Erase.
  Chunk& Insert(uint64_t address, const Chunk& chunk);
  // Replaces the description of the chunk at `address`, which exists.
  void Replace(uint64_t address, const Chunk& chunk);
  // Removes the chunk at `address`, which exists; gives the free chunk it
  // becomes part of as glibc would coalesce it: [*gap_start, *gap_end),
  // where *gap_end is the segment's end when it merged into the top.
  void Erase(uint64_t address, uint64_t* gap_start = nullptr, uint64_t* gap_end = nullptr);
  // Changes the state of `chunk`, found at `address`, keeping the byte
  // counts right.
  void SetState(uint64_t address, Chunk& chunk, ChunkState state);

  bool empty() const { return order_.empty(); }
  size_t size() const { return order_.size(); }
  // The in-use chunks' starts and sizes, ascending.
  const Order& order() const { return order_; }
  // The nearest chunk starting below `address`: its start in *start; false if none.
  bool ChunkBelow(uint64_t address, uint64_t* start) const;
  // The first chunk starting at or above `address`.
  bool ChunkAtOrAbove(uint64_t address, uint64_t* start) const;
  // End of the nearest chunk starting below `address`, or the segment's
  // start if none.
  uint64_t EndBelow(uint64_t address) const;

  // Figures in glibc's view: tcache and fastbin chunks are in use.
  uint64_t hole_bytes() const { return hole_bytes_; }
  uint64_t hole_count() const { return hole_count_; }
  uint64_t largest_hole() const { return gap_sizes_.Largest(); }
  // Whole pages malloc_trim's madvise pass could release inside holes.
  uint64_t hole_releasable_bytes() const { return hole_releasable_; }
  // End of the topmost in-use chunk (the segment's start if none).
  uint64_t in_use_end() const { return order_.empty() ? start_ : in_use_end_; }
  // Free memory between the topmost in-use chunk and the end: glibc's top.
  uint64_t top_free() const {
    const uint64_t top = in_use_end();
    return end_ > top ? end_ - top : 0;
  }
  uint64_t extent() const { return end_ > start_ ? end_ - start_ : 0; }
  // The pinning chain, kept until a change at or above its lowest chunk.
  const PinningChain& pinning_chain() const;

  // malloc_trim(0) just ran: the whole pages inside holes are no longer
  // resident until a chunk is placed over them again.
  void MarkHolesReleased();
  // Bytes of those pages that are still untouched and below the topmost
  // in-use chunk.
  uint64_t released_hole_bytes() const;

  uint64_t live_requested() const { return live_requested_; }
  uint64_t live_chunk_bytes() const { return bytes_[static_cast<int>(ChunkState::kLive)]; }
  uint64_t live_blocks() const { return counts_[static_cast<int>(ChunkState::kLive)]; }
  uint64_t bytes_in(ChunkState state) const { return bytes_[static_cast<int>(state)]; }
  uint64_t count_in(ChunkState state) const { return counts_[static_cast<int>(state)]; }
  uint64_t in_use_bytes() const;

 private:
  void AddGap(uint64_t a, uint64_t b);
  void RemoveGap(uint64_t a, uint64_t b);
  // The end of the chunk before position `it` of order_ (or the start).
  uint64_t EndBefore(Order::const_iterator it) const;
  void Count(const Chunk& chunk, int sign);
  // A change at `address`: the pinning chain no longer holds if it reaches there.
  void Changed(uint64_t address) {
    if (address >= chain_floor_) chain_valid_ = false;
  }
  // A chunk placed over [a, b): its pages are resident again.
  void Touch(uint64_t a, uint64_t b);

  uint64_t start_;
  uint64_t end_;
  uint64_t page_;
  uint64_t* hole_total_;
  absl::flat_hash_map<uint64_t, Chunk> chunks_;
  Order order_;
  uint64_t in_use_end_ = 0;  // end of the topmost chunk, when there is one
  uint64_t hole_bytes_ = 0;
  uint64_t hole_count_ = 0;
  uint64_t hole_releasable_ = 0;
  GapSizes gap_sizes_;
  uint64_t live_requested_ = 0;
  std::array<uint64_t, 4> bytes_{};
  std::array<uint64_t, 4> counts_{};
  // Page ranges [first, second) malloc_trim released, not touched since.
  absl::btree_map<uint64_t, uint64_t> released_;
  mutable PinningChain chain_;
  mutable bool chain_valid_ = false;
  mutable uint64_t chain_floor_ = 0;  // lowest address the chain depends on
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_HEAP_SEGMENT_H_
