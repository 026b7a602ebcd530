// Memory for allocations heapgap itself causes inside the traced process
// (thread creation for the flush thread, atfork and exit handler lists, dlsym
// errors). They must not come from glibc's heap: one small block there would
// move every later chunk and change the program's heap geometry, the very
// thing heapgap measures. Blocks live in one reserved range, so a free of
// any pointer is routed here by an address check.
#ifndef HEAPGAP_INTERPOSE_PRIVATE_HEAP_H_
#define HEAPGAP_INTERPOSE_PRIVATE_HEAP_H_

#include <cstddef>
#include <cstdint>

namespace heapgap {

// The reserved range; empty until first use.
extern uintptr_t g_private_heap_begin;
extern uintptr_t g_private_heap_end;

inline bool InPrivateHeap(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return a - g_private_heap_begin < g_private_heap_end - g_private_heap_begin;
}

// nullptr when the range is exhausted (the caller then uses glibc).
void* PrivateAllocate(size_t size, size_t alignment);
void PrivateFree(void* p);
// Usable size of a private block.
size_t PrivateSize(const void* p);
// Fork child: a lock held by a thread that no longer exists.
void ResetPrivateHeapAfterFork();

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_PRIVATE_HEAP_H_
