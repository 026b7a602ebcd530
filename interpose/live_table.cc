#include "interpose/live_table.h"

#include "interpose/trace_encoding.h"

namespace heapgap {
namespace {

inline uint64_t Mix(uint64_t a) {
  a ^= a >> 33;
  a *= 0xff51afd7ed558ccdull;
  a ^= a >> 33;
  return a;
}

inline uint64_t Pack(const LiveBlock& b) {
  return (b.size << 3) | (b.from_loader ? 4u : 0u) | static_cast<uint64_t>(b.family);
}

inline LiveBlock Unpack(uint64_t address, uint64_t packed) {
  return LiveBlock{address, packed >> 3, static_cast<AllocFamily>(packed & 3), (packed & 4) != 0};
}

}  // namespace

AllocFamily FamilyOfOp(uint32_t o) {
  switch (o) {
    case op::kNew:
    case op::kNewNothrow:
    case op::kNewAligned:
    case op::kNewAlignedNothrow:
    case op::kDelete:
    case op::kDeleteSized:
    case op::kDeleteNothrow:
    case op::kDeleteAligned:
    case op::kDeleteAlignedSized:
    case op::kDeleteAlignedNothrow:
      return AllocFamily::kNew;
    case op::kNewArray:
    case op::kNewArrayNothrow:
    case op::kNewArrayAligned:
    case op::kNewArrayAlignedNothrow:
    case op::kDeleteArray:
    case op::kDeleteArraySized:
    case op::kDeleteArrayNothrow:
    case op::kDeleteArrayAligned:
    case op::kDeleteArrayAlignedSized:
    case op::kDeleteArrayAlignedNothrow:
      return AllocFamily::kNewArray;
    default:
      return AllocFamily::kMalloc;
  }
}

size_t LiveTable::ShardOf(uint64_t address) { return Mix(address >> 4) % kShards; }

bool LiveTable::Grow(Shard& shard) {
  const size_t capacity = shard.capacity ? shard.capacity * 2 : 1024;
  auto* fresh = static_cast<Entry*>(MapPages(capacity * sizeof(Entry)));
  if (!fresh) return false;
  for (size_t i = 0; i < shard.capacity; ++i) {
    const Entry& e = shard.entries[i];
    if (e.address == 0) continue;
    size_t j = Mix(e.address) & (capacity - 1);
    while (fresh[j].address != 0) j = (j + 1) & (capacity - 1);
    fresh[j] = e;
  }
  UnmapPages(shard.entries, shard.capacity * sizeof(Entry));
  shard.entries = fresh;
  shard.capacity = capacity;
  return true;
}

void LiveTable::Insert(const LiveBlock& block) {
  Shard& shard = shards_[ShardOf(block.address)];
  SpinLockHolder hold(shard.lock);
  if ((shard.count + 1) * 4 > shard.capacity * 3 && !Grow(shard)) return;
  const size_t mask = shard.capacity - 1;
  for (size_t j = Mix(block.address) & mask;; j = (j + 1) & mask) {
    Entry& e = shard.entries[j];
    if (e.address == block.address) {  // a missed release: replace
      e.packed = Pack(block);
      return;
    }
    if (e.address == 0) {
      e = Entry{block.address, Pack(block)};
      ++shard.count;
      return;
    }
  }
}

bool LiveTable::Erase(uint64_t address, LiveBlock* removed) {
  Shard& shard = shards_[ShardOf(address)];
  SpinLockHolder hold(shard.lock);
  if (shard.capacity == 0) return false;
  const size_t mask = shard.capacity - 1;
  size_t j = Mix(address) & mask;
  for (;; j = (j + 1) & mask) {
    const Entry& e = shard.entries[j];
    if (e.address == 0) return false;
    if (e.address == address) break;
  }
  *removed = Unpack(address, shard.entries[j].packed);
  // Backward-shift deletion keeps probe chains intact without tombstones.
  size_t hole = j;
  for (size_t k = (hole + 1) & mask; shard.entries[k].address != 0; k = (k + 1) & mask) {
    const size_t home = Mix(shard.entries[k].address) & mask;
    // Move k into the hole if its home is not in (hole, k].
    const bool in_between = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
    if (!in_between) {
      shard.entries[hole] = shard.entries[k];
      hole = k;
    }
  }
  shard.entries[hole] = Entry{0, 0};
  --shard.count;
  return true;
}

void LiveTable::LockAll() {
  for (Shard& s : shards_) s.lock.Lock();
}

void LiveTable::UnlockAll() {
  for (Shard& s : shards_) s.lock.Unlock();
}

size_t LiveTable::SizeLocked() const {
  size_t n = 0;
  for (const Shard& s : shards_) n += s.count;
  return n;
}

size_t LiveTable::Snapshot(LiveBlock* out, size_t n) const {
  size_t k = 0;
  for (const Shard& s : shards_)
    for (size_t i = 0; i < s.capacity && k < n; ++i)
      if (s.entries[i].address != 0) out[k++] = Unpack(s.entries[i].address, s.entries[i].packed);
  return k;
}

void LiveTable::ResetLocksAfterFork() {
  for (Shard& s : shards_) s.lock.ResetAfterFork();
}

}  // namespace heapgap
