// Classification and names of the allocator operations recorded in a trace
// (heapgap::trace::Op in proto/trace.proto).
#ifndef HEAPGAP_REPORT_OP_H_
#define HEAPGAP_REPORT_OP_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace heapgap::report {

// The op numbers as recorded; mirrors heapgap::trace::Op without pulling the
// generated header into every user.
enum class OpKind : uint8_t { kInvalid, kAllocation, kRelease, kUnknown };

constexpr uint32_t kFirstAllocationOp = 1;    // MALLOC
constexpr uint32_t kLastAllocationOp = 17;    // NEW_ARRAY_ALIGNED_NOTHROW
constexpr uint32_t kFirstReleaseOp = 32;      // FREE
constexpr uint32_t kLastReleaseOp = 46;       // DELETE_ARRAY_ALIGNED_NOTHROW
constexpr uint32_t kFirstReservedOp = 64;     // address-space events, not yet defined

constexpr uint32_t kOpRealloc = 3;
constexpr uint32_t kOpReallocArray = 4;
constexpr uint32_t kOpReallocFree = 33;
constexpr uint32_t kOpReallocArrayFree = 34;

// kUnknown: an op from a newer writer (64 and up) that this reader skips.
// kInvalid: a value no writer may produce.
constexpr OpKind ClassifyOp(uint32_t op) {
  if (op >= kFirstAllocationOp && op <= kLastAllocationOp) return OpKind::kAllocation;
  if (op >= kFirstReleaseOp && op <= kLastReleaseOp) return OpKind::kRelease;
  if (op >= kFirstReservedOp) return OpKind::kUnknown;
  return OpKind::kInvalid;
}

// True for the ops whose event carries one entry in EventBatch.aux.
constexpr bool OpHasAux(uint32_t op) {
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
      return true;
    default:
      return false;
  }
}

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
