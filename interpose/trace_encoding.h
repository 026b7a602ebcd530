// The records of proto/trace.proto as the preload library writes them.
//
// Each Append* function adds one delimited Record (varint length, then the
// Record bytes) to `out` and returns false, leaving `out` unchanged, when it
// does not fit. Field numbers here must match proto/trace.proto.
#ifndef HEAPGAP_INTERPOSE_TRACE_ENCODING_H_
#define HEAPGAP_INTERPOSE_TRACE_ENCODING_H_

#include <cstddef>
#include <cstdint>

#include "interpose/wire_encoder.h"

namespace heapgap {

// Values of heapgap.trace.Op.
namespace op {
enum : uint32_t {
  kMalloc = 1,
  kCalloc = 2,
  kRealloc = 3,
  kReallocArray = 4,
  kMemalign = 5,
  kPosixMemalign = 6,
  kAlignedAlloc = 7,
  kValloc = 8,
  kPvalloc = 9,
  kNew = 10,
  kNewArray = 11,
  kNewNothrow = 12,
  kNewArrayNothrow = 13,
  kNewAligned = 14,
  kNewArrayAligned = 15,
  kNewAlignedNothrow = 16,
  kNewArrayAlignedNothrow = 17,
  kFree = 32,
  kReallocFree = 33,
  kReallocArrayFree = 34,
  kDelete = 35,
  kDeleteArray = 36,
  kDeleteSized = 37,
  kDeleteArraySized = 38,
  kDeleteNothrow = 39,
  kDeleteArrayNothrow = 40,
  kDeleteAligned = 41,
  kDeleteArrayAligned = 42,
  kDeleteAlignedSized = 43,
  kDeleteArrayAlignedSized = 44,
  kDeleteAlignedNothrow = 45,
  kDeleteArrayAlignedNothrow = 46,
  kBreakMove = 64,
  kArenaHeap = 65,
  kMmap = 66,
  kMunmap = 67,
  kMremap = 68,
  kBrk = 69,
  kSbrk = 70,
  kMadvise = 71,
  kMallocTrim = 72,
  kMallopt = 73,
  kThreadStart = 74,
  kThreadExit = 75,
};
constexpr int kMaxAux = 3;
// How many EventBatch.aux entries an event of this op carries.
constexpr int AuxCount(uint32_t o) {
  switch (o) {
    case kRealloc:
    case kReallocArray:
    case kMemalign:
    case kPosixMemalign:
    case kAlignedAlloc:
    case kNewAligned:
    case kNewArrayAligned:
    case kNewAlignedNothrow:
    case kNewArrayAlignedNothrow:
    case kMunmap:
    case kBrk:
    case kSbrk:
    case kMallocTrim:
      return 1;
    case kBreakMove:
    case kMadvise:
      return 2;
    case kArenaHeap:
    case kMmap:
    case kMremap:
    case kMallopt:
      return 3;
    default:
      return 0;
  }
}
constexpr bool HasAux(uint32_t o) { return AuxCount(o) != 0; }
}  // namespace op

// glibc chunk header bits (malloc/malloc.c).
constexpr uint64_t kChunkPrevInUse = 1;
constexpr uint64_t kChunkMmapped = 2;
constexpr uint64_t kChunkNonMainArena = 4;

// One event as buffered in the traced process, before encoding.
struct RawEvent {
  uint32_t op;
  uint32_t unused;
  uint64_t seq;
  uint64_t time_ns;
  uint64_t address;
  uint64_t size;
  uint64_t stack_id;
  uint64_t chunk_header;
  uint64_t mmapped_chunk_offset;  // prev_size of an mmapped chunk
  int64_t aux[op::kMaxAux];
};

struct BatchInfo {
  uint32_t thread_id = 0;
  int64_t tid = 0;
  uint64_t lost_events = 0;
};

// Scratch bytes AppendEventBatch needs for `n` events.
constexpr size_t EventBatchScratchBytes(size_t n) { return n * 12 * 10; }
// Scratch bytes AppendStackNodes needs for `n` nodes.
constexpr size_t StackNodesScratchBytes(size_t n) { return n * 2 * 10; }

bool AppendEventBatch(const BatchInfo& info, const RawEvent* events, size_t n, uint8_t* scratch,
                      size_t scratch_size, wire::Writer& out);

bool AppendStackNodes(uint64_t first_id, const uint64_t* parent_ids, const uint64_t* return_addresses,
                      size_t n, uint8_t* scratch, size_t scratch_size, wire::Writer& out);

bool AppendBarrier(uint64_t seq, wire::Writer& out);

bool AppendModuleUnload(uint32_t module_id, wire::Writer& out);

struct TrailerInfo {
  int32_t exit_status = 0;
  uint64_t end_time_mono_ns = 0;
  uint64_t events = 0;
  uint64_t lost_events = 0;
};
bool AppendTrailer(const TrailerInfo& info, wire::Writer& out);

// Values of heapgap.trace.ProcessEnd.How.
enum class EndHow : uint32_t { kExitImmediate = 1, kAbort = 2, kExec = 3 };
bool AppendProcessEnd(EndHow how, int32_t status, uint64_t time_ns, const char* detail,
                      wire::Writer& out);

// Wraps an already encoded message as Record field `record_field`.
bool AppendRecord(uint32_t record_field, const wire::Writer& message, wire::Writer& out);

// glibc's struct mallinfo2, field for field.
struct MallocInfoValues {
  uint64_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
struct ArenaHeapValues {
  uint64_t start, size, mprotect_size, arena, previous;
  bool gone;
};
struct SampleValues {
  uint64_t time_ns = 0;
  uint64_t seq = 0;
  uint64_t rss_bytes = 0;
  uint64_t rss_hwm_bytes = 0;
  uint64_t vm_bytes = 0;
  uint64_t brk = 0;
  MallocInfoValues mallinfo{};
  const ArenaHeapValues* arena_heaps = nullptr;
  size_t arena_heap_count = 0;
  bool final = false;
};
bool AppendSample(const SampleValues& sample, wire::Writer& out);

// `environment` holds `environment_count` NUL-terminated "NAME=value" strings.
bool AppendMallocSettings(const char* glibc_tunables, const char* const* environment,
                          size_t environment_count, uint32_t cpu_count, wire::Writer& out);

// chunks[i]: size | 1 when in use; see HeapWalk in trace.proto.
bool AppendHeapWalk(uint64_t heap_start, uint64_t brk, const uint64_t* chunks, size_t n,
                    bool complete, uint8_t* scratch, size_t scratch_size, wire::Writer& out);

// Record oneof field numbers.
enum RecordField : uint32_t {
  kRecordHeader = 1,
  kRecordModuleLoad = 2,
  kRecordModuleUnload = 3,
  kRecordStackNodes = 4,
  kRecordEvents = 5,
  kRecordBarrier = 6,
  kRecordTrailer = 7,
  kRecordProcessEnd = 8,
  kRecordMallocSettings = 9,
  kRecordSample = 10,
  kRecordHeapWalk = 11,
  kRecordLeakScan = 12,
};

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_TRACE_ENCODING_H_
