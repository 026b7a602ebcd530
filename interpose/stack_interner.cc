#include "interpose/stack_interner.h"

#include "interpose/trace_encoding.h"

namespace heapgap {
namespace {

inline uint64_t HashNode(uint64_t parent, uint64_t address) {
  uint64_t h = (parent * 0x9E3779B97F4A7C15ull) ^ address;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

}  // namespace

bool StackInterner::GrowTable() {
  const size_t capacity = capacity_ ? capacity_ * 2 : 1 << 14;
  auto* fresh = static_cast<Entry*>(MapPages(capacity * sizeof(Entry)));
  if (!fresh) return false;
  for (size_t i = 0; i < capacity_; ++i) {
    const Entry& e = table_[i];
    if (e.id == 0) continue;
    size_t j = HashNode(e.parent, e.address) & (capacity - 1);
    while (fresh[j].id != 0) j = (j + 1) & (capacity - 1);
    fresh[j] = e;
  }
  UnmapPages(table_, capacity_ * sizeof(Entry));
  table_ = fresh;
  capacity_ = capacity;
  return true;
}

uint64_t StackInterner::FindOrInsert(uint64_t parent, uint64_t address) {
  if ((count_ + 1) * 2 > capacity_ && !GrowTable()) return 0;
  size_t j = HashNode(parent, address) & (capacity_ - 1);
  for (;; j = (j + 1) & (capacity_ - 1)) {
    Entry& e = table_[j];
    if (e.id == 0) break;
    if (e.parent == parent && e.address == address) return e.id;
  }
  if (!pending_parents_.PushBack(parent)) return 0;
  if (!pending_addresses_.PushBack(address)) {
    pending_parents_.Truncate(pending_parents_.size() - 1);
    return 0;
  }
  table_[j] = Entry{parent, address, next_id_};
  ++count_;
  return next_id_++;
}

uint64_t StackInterner::Intern(const uintptr_t* frames, int n) {
  SpinLockHolder hold(lock_);
  uint64_t node = 0;
  for (int i = n - 1; i >= 0; --i) {
    node = FindOrInsert(node, frames[i]);
    if (node == 0) return 0;
  }
  return node;
}

void StackInterner::Forget() {
  SpinLockHolder hold(lock_);
  if (table_) memset(static_cast<void*>(table_), 0, capacity_ * sizeof(Entry));
  count_ = 0;
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

bool StackInterner::DrainNodes(TraceWriter& writer, uint8_t* scratch, size_t scratch_size) {
  SpinLockHolder hold(lock_);
  bool ok = true;
  size_t done = 0;
  const size_t total = pending_parents_.size();
  while (ok && done < total) {
    const size_t n = total - done < kNodesPerRecord ? total - done : kNodesPerRecord;
    ok = writer.MakeRoom(StackNodesScratchBytes(n) + 64) &&
         AppendStackNodes(pending_first_id_ + done, pending_parents_.data() + done,
                          pending_addresses_.data() + done, n, scratch, scratch_size,
                          writer.buffer());
    done += n;
  }
  pending_first_id_ += total;
  pending_parents_.Clear();
  pending_addresses_.Clear();
  return ok;
}

void StackInterner::ResetForNewTrace() {
  lock_.ResetAfterFork();
  Forget();
  next_id_ = 1;
  pending_first_id_ = 1;
  pending_parents_.Clear();
  pending_addresses_.Clear();
}

}  // namespace heapgap
