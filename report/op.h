// Classification and names of the allocator operations recorded in a trace
// (heapgap::trace::Op in proto/trace.proto).
#ifndef HEAPGAP_REPORT_OP_H_
#define HEAPGAP_REPORT_OP_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace heapgap::report {

// The op numbers as recorded; mirrors heapgap::trace::Op without pulling the
// generated header into every user.
enum class OpKind : uint8_t {
  kInvalid,
  kAllocation,
  kRelease,
  kAddressSpace,  // break moves, arena heaps, mmap & co., thread start and exit
  kUnknown,
};

constexpr uint32_t kFirstAllocationOp = 1;    // MALLOC
constexpr uint32_t kLastAllocationOp = 17;    // NEW_ARRAY_ALIGNED_NOTHROW
constexpr uint32_t kFirstReleaseOp = 32;      // FREE
constexpr uint32_t kLastReleaseOp = 46;       // DELETE_ARRAY_ALIGNED_NOTHROW
constexpr uint32_t kFirstAddressSpaceOp = 64;  // BREAK_MOVE
constexpr uint32_t kLastAddressSpaceOp = 75;   // THREAD_EXIT
constexpr int kMaxAux = 3;                     // most aux entries of one event

constexpr uint32_t kOpRealloc = 3;
constexpr uint32_t kOpReallocArray = 4;
constexpr uint32_t kOpReallocFree = 33;
constexpr uint32_t kOpReallocArrayFree = 34;

// kUnknown: an op from a newer writer (above THREAD_EXIT) that this reader
// skips. kInvalid: a value no writer may produce.
constexpr OpKind ClassifyOp(uint32_t op) {
  if (op >= kFirstAllocationOp && op <= kLastAllocationOp) return OpKind::kAllocation;
  if (op >= kFirstReleaseOp && op <= kLastReleaseOp) return OpKind::kRelease;
  if (op >= kFirstAddressSpaceOp && op <= kLastAddressSpaceOp) return OpKind::kAddressSpace;
  if (op > kLastAddressSpaceOp) return OpKind::kUnknown;
  return OpKind::kInvalid;
}

// How many EventBatch.aux entries an event of this op carries (see Op in
// proto/trace.proto). 0 for ops this reader does not know.
constexpr int OpAuxCount(uint32_t op) {
  switch (op) {
    case 3:   // REALLOC
    case 4:   // REALLOCARRAY
    case 5:   // MEMALIGN
    case 6:   // POSIX_MEMALIGN
    case 7:   // ALIGNED_ALLOC
    case 14:  // NEW_ALIGNED
    case 15:  // NEW_ARRAY_ALIGNED
    case 16:  // NEW_ALIGNED_NOTHROW
    case 17:  // NEW_ARRAY_ALIGNED_NOTHROW
    case 67:  // MUNMAP
    case 69:  // BRK
    case 70:  // SBRK
    case 72:  // MALLOC_TRIM
      return 1;
    case 64:  // BREAK_MOVE
    case 71:  // MADVISE
      return 2;
    case 65:  // ARENA_HEAP
    case 66:  // MMAP
    case 68:  // MREMAP
    case 73:  // MALLOPT
      return 3;
    default:
      return 0;
  }
}

// glibc's chunk header bit for a block that has its own mapping.
constexpr uint64_t kChunkMmapped = 2;

constexpr bool IsReallocOp(uint32_t op) { return op == kOpRealloc || op == kOpReallocArray; }
constexpr bool IsReallocFreeOp(uint32_t op) {
  return op == kOpReallocFree || op == kOpReallocArrayFree;
}
// The allocation op that completes a realloc whose release part is `op`.
constexpr uint32_t ReallocOpFor(uint32_t release_op) {
  return release_op == kOpReallocArrayFree ? kOpReallocArray : kOpRealloc;
}

// The function called, as reports name it: "malloc", "operator new[]",
// "operator delete(aligned, sized)" for operator delete(void*, size_t,
// std::align_val_t), ... Both halves of a realloc are "realloc". Empty for an
// op that is not an allocation or release.
absl::string_view OpFunctionName(uint32_t op);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_OP_H_
