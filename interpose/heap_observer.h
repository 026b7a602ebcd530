// What the traced process can see of glibc's heap geometry cheaply: the main
// heap's break (glibc's cached __curbrk), thread arena heaps (heap_info at the
// 64 MiB-aligned base of an arena chunk), periodic samples (RSS, mallinfo2)
// and, at the clean end, a walk of the main heap chunk by chunk.
//
// glibc moves the break and maps arena heaps with internal calls no
// interposer sees (research: glibc-and-capture.md §2.7), so these are read,
// not intercepted.
#ifndef HEAPGAP_INTERPOSE_HEAP_OBSERVER_H_
#define HEAPGAP_INTERPOSE_HEAP_OBSERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "interpose/support.h"
#include "interpose/trace_encoding.h"

extern "C" void* __curbrk;  // glibc: the break as of its last brk call

namespace heapgap {

inline uint64_t CurrentBreak() {
  return reinterpret_cast<uint64_t>(*static_cast<void* volatile*>(&__curbrk));
}

// The last arena heap one thread saw, so repeated allocations in the same
// unchanged heap cost two loads and no lock.
struct ArenaHeapCache {
  uint64_t start;
  uint64_t size;
  uint64_t mprotect_size;
};

class HeapObserver {
 public:
  // glibc's HEAP_MAX_SIZE on x86-64 (without huge pages).
  static constexpr uint64_t kArenaHeapBytes = 64ull << 20;
  static constexpr size_t kMaxArenaHeaps = 256;

  void Init();
  uint64_t heap_start() const { return heap_start_; }

  // True when the break moved since it was last claimed; the caller records
  // the move. Exactly one caller claims each move.
  bool ClaimBreakMove(uint64_t& old_break, uint64_t& new_break) {
    new_break = CurrentBreak();
    old_break = known_break_.load(std::memory_order_relaxed);
    if (new_break == old_break) return false;
    return known_break_.compare_exchange_strong(old_break, new_break, std::memory_order_relaxed);
  }

  // For a live chunk of a thread arena: true when its heap's heap_info
  // changed since anyone last reported it; fills `heap`.
  bool ClaimArenaHeapChange(uint64_t address, ArenaHeapCache& cache, ArenaHeapValues& heap);

  // RSS, mallinfo2, the break and every known arena heap (read safely: they
  // may be unmapped by now).
  void TakeSample(SampleValues& sample, ArenaHeapValues* heaps);

  // Walks [heap_start, break) chunk by chunk into `chunks` (size | in-use).
  size_t WalkMainHeap(uint64_t* chunks, size_t capacity, uint64_t& brk, bool& complete);

  // Fork child: a new trace; what was reported belongs to the parent's.
  void ResetForNewTrace();

 private:
  uint64_t heap_start_ = 0;
  std::atomic<uint64_t> known_break_{0};
  SpinLock heaps_lock_;  // a leaf lock
  ArenaHeapValues heaps_[kMaxArenaHeaps] = {};
  size_t heap_count_ = 0;
};

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_HEAP_OBSERVER_H_
