// The blocks the program holds right now, by address: what the exit-time
// leak scan floods through, and how a release is checked against the
// function family that allocated it. Sharded so that threads rarely meet on a
// lock; memory comes from mmap.
#ifndef HEAPGAP_INTERPOSE_LIVE_TABLE_H_
#define HEAPGAP_INTERPOSE_LIVE_TABLE_H_

#include <cstddef>
#include <cstdint>

#include "interpose/support.h"

namespace heapgap {

// Which family of functions allocated a block; releasing it with another
// family is an error (free of new, delete of new[], ...).
enum class AllocFamily : uint8_t { kMalloc = 0, kNew = 1, kNewArray = 2 };

// The family of an allocation or release op (trace_encoding.h).
AllocFamily FamilyOfOp(uint32_t op);

struct LiveBlock {
  uint64_t address;
  uint64_t size;  // bytes requested
  AllocFamily family;
  bool from_loader;  // allocated by the dynamic loader (DTVs, dynamic TLS): a root
};

class LiveTable {
 public:
  static constexpr int kShards = 64;

  void Insert(const LiveBlock& block);
  // Removes the block at `address`; false when there is none.
  bool Erase(uint64_t address, LiveBlock* removed);

  // Locks every shard (the leak scan reads the table while other threads are
  // stopped; none of them may hold a shard lock then).
  void LockAll();
  void UnlockAll();
  // Copies every block into `out` (capacity `n`); with all shards locked.
  size_t Snapshot(LiveBlock* out, size_t n) const;
  size_t SizeLocked() const;

  // Fork child: the locks of other threads are gone; the blocks are the
  // child's too.
  void ResetLocksAfterFork();

 private:
  struct Entry {
    uint64_t address;  // 0: empty
    uint64_t packed;   // size << 3 | from_loader << 2 | family
  };
  struct Shard {
    SpinLock lock;
    Entry* entries = nullptr;
    size_t capacity = 0;  // a power of two
    size_t count = 0;
    char padding[32];
  };
  static size_t ShardOf(uint64_t address);
  static bool Grow(Shard& shard);

  Shard shards_[kShards] = {};
};

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_LIVE_TABLE_H_
