// One allocation or release, decoded from an EventBatch.
#ifndef HEAPGAP_REPORT_EVENT_H_
#define HEAPGAP_REPORT_EVENT_H_

#include <cstdint>

#include "report/op.h"

namespace heapgap::report {

struct Event {
  uint64_t seq = 0;       // global order across threads
  uint64_t time_ns = 0;   // CLOCK_MONOTONIC
  uint64_t address = 0;   // allocation: the pointer returned; release: the pointer released
  uint64_t size = 0;      // allocation: bytes requested; sized delete: the size passed
  uint64_t stack_id = 0;  // innermost stack node, 0 = none
  uint64_t chunk_header = 0;  // glibc's size word before the block, 0 = unknown
  // For a chunk with the mmapped bit: the offset of its mapping's start
  // before the chunk (non-zero for aligned allocations).
  uint64_t mmapped_chunk_offset = 0;
  // Per op (see Op in proto/trace.proto), e.g. realloc: [old pointer];
  // aligned allocations: [alignment]; unused entries are 0.
  int64_t aux[kMaxAux] = {};
  uint32_t thread_id = 0;
  uint32_t op = 0;        // heapgap::trace::Op
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_EVENT_H_
