#include "interpose/heap_observer.h"

#include <fcntl.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

extern "C" void* __sbrk(intptr_t increment);  // sbrk without heapgap's hook

namespace heapgap {
namespace {

// glibc 2.36 struct _heap_info (malloc/arena.c).
struct HeapInfo {
  uint64_t arena;  // mstate ar_ptr
  uint64_t previous;
  uint64_t size;
  uint64_t mprotect_size;
};

ssize_t ReadFile(const char* path, char* buf, size_t capacity) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t total = 0;
  while (total < capacity) {
    ssize_t n = read(fd, buf + total, capacity - total);
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  close(fd);
  return static_cast<ssize_t>(total);
}

uint64_t ParseHex(const char*& p) {
  uint64_t v = 0;
  for (;; ++p) {
    const char c = *p;
    if (c >= '0' && c <= '9') v = v * 16 + static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + static_cast<uint64_t>(c - 'a' + 10);
    else return v;
  }
}

// The value of "Name:   123 kB" in /proc/self/status, in bytes.
uint64_t StatusKilobytes(const char* status, const char* name) {
  const char* p = strstr(status, name);
  if (!p) return 0;
  p += strlen(name);
  while (*p == ' ' || *p == '\t' || *p == ':') ++p;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  return v * 1024;
}

// Start of the [heap] mapping, or 0 when the process has no brk heap yet.
uint64_t FindHeapMapping() {
  static char maps[256 * 1024];
  ssize_t n = ReadFile("/proc/self/maps", maps, sizeof maps - 1);
  if (n <= 0) return 0;
  maps[n] = '\0';
  const char* heap = strstr(maps, "[heap]");
  if (!heap) return 0;
  const char* line = heap;
  while (line > maps && line[-1] != '\n') --line;
  return ParseHex(line);
}

}  // namespace

void HeapObserver::Init() {
  // Before glibc's first brk the heap will start at the current break.
  heap_start_ = FindHeapMapping();
  if (heap_start_ == 0) heap_start_ = reinterpret_cast<uint64_t>(__sbrk(0));
  // Unknown: the first check reports the break as it is now.
  known_break_.store(0, std::memory_order_relaxed);
}

bool HeapObserver::ClaimArenaHeapChange(uint64_t address, ArenaHeapCache& cache,
                                        ArenaHeapValues& heap) {
  const uint64_t start = address & ~(kArenaHeapBytes - 1);
  // The chunk at `address` is live, so its heap is mapped: a plain read.
  const auto* info = reinterpret_cast<const volatile HeapInfo*>(start);
  const uint64_t size = info->size;
  const uint64_t mprotect_size = info->mprotect_size;
  if (cache.start == start && cache.size == size && cache.mprotect_size == mprotect_size) return false;
  cache = ArenaHeapCache{start, size, mprotect_size};
  heap = ArenaHeapValues{start, size, mprotect_size, info->arena, info->previous, false};
  SpinLockHolder hold(heaps_lock_);
  for (size_t i = 0; i < heap_count_; ++i) {
    ArenaHeapValues& known = heaps_[i];
    if (known.start != start) continue;
    if (known.size == size && known.mprotect_size == mprotect_size && !known.gone) return false;
    known = heap;
    return true;
  }
  if (heap_count_ < kMaxArenaHeaps) heaps_[heap_count_++] = heap;
  return true;
}

void HeapObserver::TakeSample(SampleValues& sample, ArenaHeapValues* heaps) {
  static char status[8192];
  ssize_t n = ReadFile("/proc/self/status", status, sizeof status - 1);
  status[n > 0 ? n : 0] = '\0';
  sample.rss_bytes = StatusKilobytes(status, "VmRSS");
  sample.rss_hwm_bytes = StatusKilobytes(status, "VmHWM");
  sample.vm_bytes = StatusKilobytes(status, "VmSize");
  sample.brk = CurrentBreak();
  const struct mallinfo2 m = mallinfo2();
  sample.mallinfo = MallocInfoValues{m.arena,   m.ordblks,  m.smblks,   m.hblks,    m.hblkhd,
                                     m.usmblks, m.fsmblks,  m.uordblks, m.fordblks, m.keepcost};
  size_t count;
  {
    SpinLockHolder hold(heaps_lock_);
    count = heap_count_;
    memcpy(heaps, heaps_, count * sizeof(ArenaHeapValues));
  }
  // Shrinks and unmaps happen inside free, where nothing can read the heap
  // safely; a sample sees them.
  for (size_t i = 0; i < count; ++i) {
    HeapInfo info;
    if (heaps[i].gone) continue;
    if (SafeRead(&info, heaps[i].start, sizeof info) != sizeof info) {
      heaps[i].gone = true;
      continue;
    }
    heaps[i].size = info.size;
    heaps[i].mprotect_size = info.mprotect_size;
    heaps[i].arena = info.arena;
    heaps[i].previous = info.previous;
  }
  {
    SpinLockHolder hold(heaps_lock_);
    for (size_t i = 0; i < count && i < heap_count_; ++i)
      if (heaps_[i].start == heaps[i].start) heaps_[i] = heaps[i];
  }
  sample.arena_heaps = heaps;
  sample.arena_heap_count = count;
}

size_t HeapObserver::WalkMainHeap(uint64_t* chunks, size_t capacity, uint64_t& brk, bool& complete) {
  brk = CurrentBreak();
  complete = false;
  if (heap_start_ == 0 || brk <= heap_start_) {
    complete = brk == heap_start_;
    return 0;
  }
  // Copy the heap in windows with SafeRead: another thread may still be
  // running and shrink it under us.
  constexpr size_t kWindow = 1 << 20;
  static uint8_t window[kWindow + 16];
  uint64_t window_start = 0, window_end = 0;
  auto read_word = [&](uint64_t address, uint64_t& value) {
    if (address < window_start || address + 8 > window_end) {
      const size_t got = SafeRead(window, address, kWindow);
      window_start = address;
      window_end = address + got;
      if (got < 8) return false;
    }
    memcpy(&value, window + (address - window_start), 8);
    return true;
  };
  size_t n = 0;
  uint64_t p = heap_start_;
  while (n < capacity) {
    uint64_t header;
    if (!read_word(p + 8, header)) return n;
    const uint64_t size = header & ~7ull;
    if (size < 32 || (size & 15) != 0 || p + size > brk) return n;
    const uint64_t next = p + size;
    if (next == brk) {  // the top chunk: free, and the last one
      chunks[n++] = size;
      complete = true;
      return n;
    }
    uint64_t next_header;
    if (!read_word(next + 8, next_header)) return n;
    chunks[n++] = size | (next_header & kChunkPrevInUse);
    p = next;
  }
  return n;
}

void HeapObserver::ResetForNewTrace() {
  heaps_lock_.ResetAfterFork();
  // The child's heap is the parent's copy: same geometry, reported afresh.
  heap_count_ = 0;
  known_break_.store(0, std::memory_order_relaxed);
}

}  // namespace heapgap
