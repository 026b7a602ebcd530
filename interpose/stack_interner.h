// Interns call stacks as a trie of (caller node, return address) nodes so
// that each distinct stack is written to the trace once and events carry only
// the id of their innermost node. Shared by all threads; each thread keeps a
// small cache of whole-stack hashes in front of it (see recorder.cc).
#ifndef HEAPGAP_INTERPOSE_STACK_INTERNER_H_
#define HEAPGAP_INTERPOSE_STACK_INTERNER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "interpose/support.h"
#include "interpose/trace_writer.h"

namespace heapgap {

class StackInterner {
 public:
  // Most nodes written per StackNodes record.
  static constexpr size_t kNodesPerRecord = 8192;

  // Id of the innermost node of `frames` (innermost first), or 0 when memory
  // for the table cannot be had.
  uint64_t Intern(const uintptr_t* frames, int n);

  // Forgets every node, so that stacks seen later get new nodes (a module was
  // unloaded and its addresses may come back meaning something else). Ids
  // keep increasing; nodes not yet written are still written.
  void Forget();

  // Changes whenever leaf ids cached outside the interner become invalid.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Writes the nodes created since the last call.
  bool DrainNodes(TraceWriter& writer, uint8_t* scratch, size_t scratch_size);

  // Fork child: a new trace, whose node ids start again at 1.
  void ResetForNewTrace();

 private:
  struct Entry {
    uint64_t parent;
    uint64_t address;
    uint64_t id;  // 0: empty
  };
  uint64_t FindOrInsert(uint64_t parent, uint64_t address);
  bool GrowTable();

  SpinLock lock_;  // guards everything below; a leaf lock
  Entry* table_ = nullptr;
  size_t capacity_ = 0;  // a power of two
  size_t count_ = 0;
  uint64_t next_id_ = 1;
  uint64_t pending_first_id_ = 1;
  MappedArray<uint64_t> pending_parents_;
  MappedArray<uint64_t> pending_addresses_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_STACK_INTERNER_H_
