#include "interpose/private_heap.h"

#include <cstring>

#include "interpose/support.h"

namespace heapgap {

constinit uintptr_t g_private_heap_begin = 0;
constinit uintptr_t g_private_heap_end = 0;

namespace {

constexpr size_t kReservedBytes = 64u << 20;
constexpr int kClasses = 27;  // 16 B .. 1 GiB, powers of two
constexpr size_t kHeaderBytes = 16;

struct Header {
  uint64_t block_start;  // start of the class block holding this allocation
  uint64_t size_class;
};

struct FreeBlock {
  FreeBlock* next;
};

constinit SpinLock g_lock;
constinit uintptr_t g_bump = 0;
constinit FreeBlock* g_free[kClasses] = {};

int ClassFor(size_t bytes) {
  int c = 4;
  while ((size_t{1} << c) < bytes) ++c;
  return c - 4;
}

bool Reserve() {
  void* p = MapPages(kReservedBytes);
  if (!p) return false;
  g_bump = reinterpret_cast<uintptr_t>(p);
  g_private_heap_begin = g_bump;
  g_private_heap_end = g_bump + kReservedBytes;
  return true;
}

}  // namespace

void* PrivateAllocate(size_t size, size_t alignment) {
  if (alignment < 16) alignment = 16;
  if (size > (size_t{1} << 30) || alignment > (size_t{1} << 20)) return nullptr;
  const size_t needed = size + kHeaderBytes + (alignment > 16 ? alignment : 0);
  const int c = ClassFor(needed);
  if (c >= kClasses) return nullptr;
  const size_t block_bytes = size_t{1} << (c + 4);
  // Never wait: a signal handler may interrupt the holder on this very
  // thread. The caller falls back to glibc's heap then.
  if (!g_lock.TryLock()) return nullptr;
  struct Unlock {
    ~Unlock() { g_lock.Unlock(); }
  } unlock;
  if (g_private_heap_begin == 0 && !Reserve()) return nullptr;
  uintptr_t block;
  if (g_free[c]) {
    block = reinterpret_cast<uintptr_t>(g_free[c]);
    g_free[c] = g_free[c]->next;
  } else {
    if (g_bump + block_bytes > g_private_heap_end) return nullptr;
    block = g_bump;
    g_bump += block_bytes;
  }
  const uintptr_t user = (block + kHeaderBytes + alignment - 1) & ~(alignment - 1);
  auto* header = reinterpret_cast<Header*>(user - kHeaderBytes);
  header->block_start = block;
  header->size_class = static_cast<uint64_t>(c);
  void* result = reinterpret_cast<void*>(user);
  memset(result, 0, size);  // calloc callers rely on it; reused blocks are dirty
  return result;
}

void PrivateFree(void* p) {
  if (!p) return;
  const auto* header = reinterpret_cast<const Header*>(static_cast<char*>(p) - kHeaderBytes);
  auto* block = reinterpret_cast<FreeBlock*>(header->block_start);
  const int c = static_cast<int>(header->size_class);
  SpinLockHolder hold(g_lock);
  block->next = g_free[c];
  g_free[c] = block;
}

size_t PrivateSize(const void* p) {
  const auto* header = reinterpret_cast<const Header*>(static_cast<const char*>(p) - kHeaderBytes);
  const size_t block_bytes = size_t{1} << (header->size_class + 4);
  return header->block_start + block_bytes - reinterpret_cast<uintptr_t>(p);
}

void ResetPrivateHeapAfterFork() { g_lock.ResetAfterFork(); }

}  // namespace heapgap
