// The recording core shared by the interposed functions: per-thread event
// buffers, the global order, flushing to the trace, and the process
// lifecycle (start, fork, exec, exit).
//
// Lock order (never acquire against it): loader lock (dl_iterate_phdr) →
// flush lock → registry lock → a thread slot's lock. The module tracker's and
// the stack interner's locks are leaves. Stacks are captured before any
// heapgap lock is taken, because libunwind may take the loader lock.
#ifndef HEAPGAP_INTERPOSE_RECORDER_H_
#define HEAPGAP_INTERPOSE_RECORDER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "interpose/trace_encoding.h"

namespace heapgap {

struct ThreadSlot;

// Per-thread state. Initial-exec TLS of trivial types only: touching it never
// allocates and never runs a constructor or destructor.
struct ThreadState {
  ThreadSlot* slot;
  uint32_t in_tracer;  // heapgap's own code runs: its allocations go to the private heap
  uint32_t in_passthrough;  // forwarding to libstdc++'s operator new: not separate events
  uint32_t in_unwind;  // inside libunwind: a nested event is recorded without a stack
  uint32_t in_record;  // holding heapgap locks: a nested event is counted as lost
};
extern __thread ThreadState tls_state __attribute__((tls_model("initial-exec")));

extern std::atomic<bool> g_tracing;

// Starts tracing on first use when possible. True when events are recorded.
bool StartTracingIfNeeded();

inline bool ShouldRecord(const ThreadState& t) {
  if (__builtin_expect((t.in_tracer | t.in_passthrough) != 0, 0)) return false;
  if (__builtin_expect(g_tracing.load(std::memory_order_relaxed), 1)) return true;
  return StartTracingIfNeeded();
}

// An allocation that glibc has completed. `aux` as defined in trace.proto.
void RecordAllocation(uint32_t op, void* address, uint64_t size, int64_t aux);

// Writes every buffered event now.
void FlushNow();

// Any other event (the program's own mmap, brk, mallopt, ...), with the
// caller's stack. `aux` holds op::AuxCount(op) values.
void RecordCall(uint32_t op, uint64_t address, uint64_t size, const int64_t* aux);

// Called before glibc runs: a break move seen now happened between calls.
void NoteBreakBeforeCall();

// A release is ordered *before* glibc frees the block, so that an address
// reused by another thread right away is always seen freed first.
struct PendingRelease {
  ThreadSlot* slot = nullptr;
  uint64_t saved_pending = 0;
  uint64_t seq = 0;
  uint64_t time_ns = 0;
  uint64_t chunk_header = 0;
  uint64_t chunk_offset = 0;
  uint64_t address = 0;
  uint64_t stack = 0;          // captured for a suspicious release only
  bool unknown = false;        // heapgap never handed this pointer out
  bool erased = false;         // removed from the live set (restored on cancel)
  uint64_t erased_size = 0;
  uint8_t erased_family = 0;
};
// False when this release is not recorded (the caller then just frees).
// A release of a pointer heapgap never handed out (`unknown`) may make glibc
// abort: record it and call FlushNow() before calling glibc.
bool BeginRelease(uint32_t op, void* address, PendingRelease& release);
void FinishRelease(PendingRelease& release, uint32_t op, void* address, uint64_t size);
// The release did not happen (a failed realloc).
void CancelRelease(PendingRelease& release);

// Process lifecycle.
void OnLibraryLoad();                        // the library's constructor
void BeforeExec(const char* path);           // flush; the image is about to be replaced
void BeforeImmediateExit(int status);        // _exit, _Exit
void BeforeAbort();

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_RECORDER_H_
