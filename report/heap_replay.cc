#include "report/heap_replay.h"

#include "report/op.h"

namespace heapgap::report {
namespace {

// Which allocator family an op belongs to: a block must be released by the
// family that allocated it.
enum class Family { kC, kNew, kNewArray };

constexpr Family FamilyOf(uint32_t op) {
  if (op <= 9 || (op >= 32 && op <= 34)) return Family::kC;
  if (op <= 17) return op % 2 == 0 ? Family::kNew : Family::kNewArray;
  return op % 2 == 1 ? Family::kNew : Family::kNewArray;  // 35..46: delete odd, delete[] even
}

}  // namespace

HeapReplay::ThreadState& HeapReplay::Thread(uint32_t thread_id) {
  // Thread ids count up from 1: small ones index a table directly.
  if (thread_id < kDirectThreadIds) {
    if (thread_id >= thread_slots_.size()) thread_slots_.resize(thread_id + 1, kNoSlot);
    uint32_t& slot = thread_slots_[thread_id];
    if (slot == kNoSlot) {
      slot = static_cast<uint32_t>(threads_.size());
      threads_.emplace_back();
    }
    return threads_[slot];
  }
  auto [it, inserted] = thread_index_.try_emplace(thread_id, static_cast<uint32_t>(threads_.size()));
  if (inserted) threads_.emplace_back();
  return threads_[it->second];
}

uint32_t HeapReplay::StackIndex(uint64_t stack_id) {
  if (stack_id != cached_stack_id_) {
    auto [it, inserted] = stack_index_.try_emplace(stack_id, static_cast<uint32_t>(stacks_.size()));
    if (inserted) {
      stacks_.emplace_back();
      stacks_.back().stack_id = stack_id;
    }
    cached_stack_id_ = stack_id;
    cached_stack_index_ = it->second;
  }
  return cached_stack_index_;
}

void HeapReplay::Apply(const Event& e) {
  last_time_ns_ = e.time_ns;
  const OpKind kind = ClassifyOp(e.op);
  if (kind != OpKind::kAllocation && kind != OpKind::kRelease) {
    // Address-space events do not change the live blocks, and do not count
    // as a thread's next event for temporary allocations.
    if (kind == OpKind::kUnknown) ++totals_.unknown_ops;
    return;
  }
  ThreadState& thread = Thread(e.thread_id);
  if (thread.realloc_pending) SettleRealloc(thread, &e);
  if (kind == OpKind::kAllocation) {
    Allocate(e, thread);
  } else {
    Release(e, thread);
  }
}

void HeapReplay::Forget(const LiveBlock& block) {
  if (peak_unsaved_) {
    // The total is about to fall from a new maximum: from now on stacks keep
    // their value at this instant before they change.
    ++snapshot_epoch_;
    peak_unsaved_ = false;
  }
  StackStats& s = stacks_[block.stack];
  Touch(s);
  s.live_bytes -= block.size;
  s.live_blocks -= 1;
  live_bytes_ -= block.size;
}

void HeapReplay::Allocate(const Event& e, ThreadState& thread) {
  ++totals_.calls_by_op[e.op];
  thread.last_was_allocation = false;
  if (e.address == 0) {
    ++totals_.failed_allocations;
    return;
  }
  ++totals_.allocations;
  totals_.bytes_allocated += e.size;
  const uint32_t stack = StackIndex(e.stack_id);
  LiveBlock block{e.size, e.time_ns, stack, e.thread_id, e.op,
                  static_cast<uint8_t>(LeakKind::kUnchecked)};
  auto [it, inserted] = live_.try_emplace(e.address, block);
  if (!inserted) {
    // The previous block's release was not recorded (a lost event): it is
    // gone, the new one takes its place.
    ++totals_.reused_live_addresses;
    Forget(it->second);
    it->second = block;
  }
  StackStats& s = stacks_[stack];
  Touch(s);
  s.allocations += 1;
  s.bytes_allocated += e.size;
  s.live_bytes += e.size;
  s.live_blocks += 1;
  live_bytes_ += e.size;
  if (live_bytes_ > peak_bytes_) {
    peak_bytes_ = live_bytes_;
    peak_blocks_ = live_.size();
    peak_time_ns_ = e.time_ns;
    peak_unsaved_ = true;
  }
  thread.last_was_allocation = true;
  thread.last_allocation_address = e.address;
}

void HeapReplay::Release(const Event& e, ThreadState& thread) {
  const bool realloc = IsReallocFreeOp(e.op);
  // A realloc call is counted once, under its allocation op: by its
  // allocation half, or when it turns out to have none (SettleRealloc).
  if (!realloc) ++totals_.calls_by_op[e.op];
  const bool was_newest = thread.last_was_allocation && thread.last_allocation_address == e.address;
  thread.last_was_allocation = false;
  if (e.address == 0) {
    ++totals_.null_frees;
    if (realloc) ++totals_.calls_by_op[ReallocOpFor(e.op)];
    return;
  }
  auto it = live_.find(e.address);
  if (it == live_.end()) {
    ++(forked_ ? totals_.inherited_frees : totals_.unknown_frees);
    // A fork child releases its parent's blocks; the tracer gives a release
    // a stack when it never handed the pointer out at all.
    if (!forked_ || e.stack_id != 0) RecordError(ReleaseErrorKind::kInvalid, e, nullptr);
    if (realloc) {
      thread.realloc_pending = true;
      thread.realloc_freed_newest = false;
      thread.realloc_op = e.op;
      thread.realloc_address = e.address;
    }
    return;
  }
  const LiveBlock block = it->second;
  live_.erase(it);
  ++totals_.frees;
  if (FamilyOf(block.op) != FamilyOf(e.op)) {
    ++totals_.mismatched_frees;
    RecordError(ReleaseErrorKind::kMismatched, e, &block);
  }
  Forget(block);
  if (realloc) {
    thread.realloc_pending = true;
    thread.realloc_freed_newest = was_newest;
    thread.realloc_op = e.op;
    thread.realloc_address = e.address;
    thread.realloc_stack = block.stack;
  } else if (was_newest) {
    ++totals_.temporary_allocations;
    ++stacks_[block.stack].temporary;
  }
}

void HeapReplay::SettleRealloc(ThreadState& thread, const Event* next) {
  thread.realloc_pending = false;
  if (next != nullptr && next->op == ReallocOpFor(thread.realloc_op) &&
      static_cast<uint64_t>(next->aux[0]) == thread.realloc_address) {
    return;  // a resize: its allocation half counts the call
  }
  // realloc(p, 0), or a realloc whose allocation half was lost: the block
  // was simply released.
  ++totals_.calls_by_op[ReallocOpFor(thread.realloc_op)];
  if (thread.realloc_freed_newest) {
    ++totals_.temporary_allocations;
    ++stacks_[thread.realloc_stack].temporary;
  }
}

void HeapReplay::RecordError(ReleaseErrorKind kind, const Event& release, const LiveBlock* block) {
  const uint32_t alloc_op = block != nullptr ? block->op : 0;
  const uint64_t alloc_stack = block != nullptr ? stacks_[block->stack].stack_id : 0;
  auto [it, inserted] = release_error_index_.try_emplace(
      std::make_tuple(static_cast<uint8_t>(kind), alloc_op, release.op, alloc_stack,
                      release.stack_id),
      static_cast<uint32_t>(release_errors_.size()));
  if (inserted) {
    ReleaseError error;
    error.kind = kind;
    error.alloc_op = alloc_op;
    error.free_op = release.op;
    error.alloc_stack_id = alloc_stack;
    error.free_stack_id = release.stack_id;
    error.address = release.address;
    error.size = block != nullptr ? block->size : 0;
    error.time_ns = release.time_ns;
    error.thread_id = release.thread_id;
    release_errors_.push_back(error);
  }
  ++release_errors_[it->second].count;
}

uint64_t HeapReplay::SetLeakKinds(const std::vector<uint64_t>& addresses,
                                  const std::vector<uint8_t>& kinds) {
  uint64_t not_live = 0;
  for (size_t i = 0; i < addresses.size() && i < kinds.size(); ++i) {
    auto it = live_.find(addresses[i]);
    if (it == live_.end()) {
      ++not_live;
      continue;
    }
    it->second.leak_kind = kinds[i];
  }
  return not_live;
}

void HeapReplay::Finish() {
  for (ThreadState& thread : threads_) {
    if (thread.realloc_pending) SettleRealloc(thread, nullptr);
  }
  if (peak_unsaved_) {
    // The heap ended at its peak: every stack's peak value is its live value.
    ++snapshot_epoch_;
    peak_unsaved_ = false;
  }
}

}  // namespace heapgap::report
