// Replays ordered allocation events and keeps what the reports need: the live
// blocks, totals, and per allocation stack the bytes live now, the bytes live
// at the peak of the heap, and allocation counts.
//
// Work per event is O(1) (two hash lookups); memory is bounded by the live
// blocks and the number of distinct allocation stacks.
#ifndef HEAPGAP_REPORT_HEAP_REPLAY_H_
#define HEAPGAP_REPORT_HEAP_REPLAY_H_

#include <array>
#include <cstdint>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "report/event.h"
#include "report/leak_kind.h"

namespace heapgap::report {

struct HeapTotals {
  uint64_t allocations = 0;      // successful allocations, realloc results included
  uint64_t frees = 0;            // releases of live blocks, realloc's release included
  uint64_t bytes_allocated = 0;  // sum of requested sizes of all allocations
  // Allocations whose next event in the same thread released them (a block
  // resized by realloc is not temporary).
  uint64_t temporary_allocations = 0;
  uint64_t unknown_frees = 0;    // releases of pointers never allocated
  uint64_t inherited_frees = 0;  // in a fork child: releases of blocks from the parent
  uint64_t failed_allocations = 0;  // allocation calls that returned NULL
  uint64_t null_frees = 0;          // free(NULL), delete nullptr
  uint64_t reused_live_addresses = 0;  // allocations at an address already live
  // Released by a function of another family than the allocator's (malloc
  // and free, new and delete, new[] and delete[]).
  uint64_t mismatched_frees = 0;
  uint64_t unknown_ops = 0;  // events of kinds this reader does not know
  // Calls per op number; a realloc call counts under REALLOC (or
  // REALLOCARRAY) only, whether or not it released a block.
  std::array<uint64_t, 64> calls_by_op{};
};

// A release that the allocator should not have been asked for: a block
// released by a function of another family than its allocator's, or a pointer
// that was never handed out. Errors with the same kind, functions and stacks
// are counted together; the first occurrence gives address, size and time.
enum class ReleaseErrorKind : uint8_t { kMismatched, kInvalid };

struct ReleaseError {
  ReleaseErrorKind kind = ReleaseErrorKind::kInvalid;
  uint32_t alloc_op = 0;         // 0 for an invalid release
  uint32_t free_op = 0;
  uint64_t alloc_stack_id = 0;   // 0 for an invalid release, or no stack
  uint64_t free_stack_id = 0;    // 0 when the trace holds no release stack
  uint64_t address = 0;
  uint64_t size = 0;             // the block's requested size (mismatched only)
  uint64_t time_ns = 0;          // CLOCK_MONOTONIC
  uint32_t thread_id = 0;
  uint64_t count = 0;
};

// A block live at the end of the replay, as ForEachLiveBlock() shows it.
struct LiveBlockInfo {
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t stack_id = 0;
  uint64_t time_ns = 0;
  uint32_t thread_id = 0;
  uint32_t op = 0;
  LeakKind kind = LeakKind::kUnchecked;  // the leak scan's verdict, if any
};

struct StackStats {
  uint64_t stack_id = 0;
  uint64_t allocations = 0;
  uint64_t bytes_allocated = 0;
  uint64_t temporary = 0;
  uint64_t live_bytes = 0;
  uint64_t live_blocks = 0;
  // The values at the peak, valid when `epoch` is the replay's snapshot epoch;
  // otherwise the stack has not changed since the peak and live_* hold them.
  uint64_t snapshot_bytes = 0;
  uint64_t snapshot_blocks = 0;
  uint64_t epoch = 0;
};

class HeapReplay {
 public:
  // `forked`: the trace's process began as a fork child, so releases of
  // unknown pointers are blocks inherited from the parent.
  explicit HeapReplay(bool forked = false) : forked_(forked) {}

  void Apply(const Event& event);
  // Settles what depends on events that never came (a realloc release at the
  // very end). Call once after the last Apply().
  void Finish();

  const HeapTotals& totals() const { return totals_; }
  uint64_t live_bytes() const { return live_bytes_; }
  uint64_t live_blocks() const { return live_.size(); }
  uint64_t peak_bytes() const { return peak_bytes_; }
  uint64_t peak_blocks() const { return peak_blocks_; }
  uint64_t peak_time_ns() const { return peak_time_ns_; }  // CLOCK_MONOTONIC
  uint64_t last_time_ns() const { return last_time_ns_; }

  const std::vector<StackStats>& stacks() const { return stacks_; }
  // Release errors grouped by kind, functions and stacks, in order of first
  // occurrence.
  const std::vector<ReleaseError>& release_errors() const { return release_errors_; }

  // Gives each block in `addresses` that is live now the verdict at the same
  // index of `kinds` (LeakKind values); returns how many addresses are not
  // live. Blocks allocated later start unchecked.
  uint64_t SetLeakKinds(const std::vector<uint64_t>& addresses, const std::vector<uint8_t>& kinds);

  // Calls `visit(const LiveBlockInfo&)` for every live block, in no
  // particular order.
  template <typename Visit>
  void ForEachLiveBlock(Visit&& visit) const {
    for (const auto& [address, block] : live_) {
      LiveBlockInfo info;
      info.address = address;
      info.size = block.size;
      info.stack_id = stacks_[block.stack].stack_id;
      info.time_ns = block.time_ns;
      info.thread_id = block.thread_id;
      info.op = block.op;
      info.kind = static_cast<LeakKind>(block.leak_kind);
      visit(info);
    }
  }
  // A stack's live bytes and blocks at the peak.
  uint64_t PeakBytes(const StackStats& s) const {
    return s.epoch == snapshot_epoch_ ? s.snapshot_bytes : s.live_bytes;
  }
  uint64_t PeakBlocks(const StackStats& s) const {
    return s.epoch == snapshot_epoch_ ? s.snapshot_blocks : s.live_blocks;
  }

 private:
  struct LiveBlock {
    uint64_t size;
    uint64_t time_ns;
    uint32_t stack;  // index into stacks_
    uint32_t thread_id;
    uint32_t op;
    uint8_t leak_kind;  // LeakKind
  };
  // What the previous event of a thread leaves for its next event to settle.
  struct ThreadState {
    bool last_was_allocation = false;
    uint64_t last_allocation_address = 0;
    // A realloc released `realloc_address`; its allocation half, if any, is
    // the thread's next event.
    bool realloc_pending = false;
    bool realloc_freed_newest = false;  // the released block was the thread's last allocation
    uint32_t realloc_op = 0;            // the release op
    uint64_t realloc_address = 0;
    uint32_t realloc_stack = 0;
  };

  void Allocate(const Event& e, ThreadState& thread);
  void Release(const Event& e, ThreadState& thread);
  void SettleRealloc(ThreadState& thread, const Event* next);
  // Removes a live block's bytes from the totals and its stack.
  void Forget(const LiveBlock& block);
  void RecordError(ReleaseErrorKind kind, const Event& release, const LiveBlock* block);
  uint32_t StackIndex(uint64_t stack_id);
  ThreadState& Thread(uint32_t thread_id);
  // Before a stack's live values change: keep its value at the peak.
  void Touch(StackStats& s) {
    if (s.epoch != snapshot_epoch_) {
      s.snapshot_bytes = s.live_bytes;
      s.snapshot_blocks = s.live_blocks;
      s.epoch = snapshot_epoch_;
    }
  }

  bool forked_;
  HeapTotals totals_;
  absl::flat_hash_map<uint64_t, LiveBlock> live_;
  uint64_t live_bytes_ = 0;
  uint64_t peak_bytes_ = 0;
  uint64_t peak_blocks_ = 0;
  uint64_t peak_time_ns_ = 0;
  uint64_t last_time_ns_ = 0;
  // The live total is at a new maximum not yet saved in a snapshot.
  bool peak_unsaved_ = false;
  uint64_t snapshot_epoch_ = 0;

  std::vector<StackStats> stacks_;
  absl::flat_hash_map<uint64_t, uint32_t> stack_index_;
  std::vector<ReleaseError> release_errors_;
  // (kind, alloc op, free op, alloc stack id, free stack id) -> index.
  absl::flat_hash_map<std::tuple<uint8_t, uint32_t, uint32_t, uint64_t, uint64_t>, uint32_t>
      release_error_index_;
  uint64_t cached_stack_id_ = UINT64_MAX;
  uint32_t cached_stack_index_ = 0;

  static constexpr uint32_t kDirectThreadIds = 1 << 16;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  std::vector<ThreadState> threads_;
  std::vector<uint32_t> thread_slots_;                    // thread id -> index, small ids
  absl::flat_hash_map<uint32_t, uint32_t> thread_index_;  // the same, other ids
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_HEAP_REPLAY_H_
