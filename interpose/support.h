// Small building blocks for code that runs inside the traced process: they
// never allocate from the traced heap and never call back into it.
#ifndef HEAPGAP_INTERPOSE_SUPPORT_H_
#define HEAPGAP_INTERPOSE_SUPPORT_H_

#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace heapgap {

// A lock that spins briefly and then sleeps in the kernel (futex), so that
// waiters do not burn the CPU while a holder writes the trace. Async-signal
// safe; never allocates. (Named for its fast path.)
class SpinLock {
 public:
  void Lock() {
    int expected = kFree;
    if (state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire)) return;
    for (int spins = 0; spins < 100; ++spins) {
      __builtin_ia32_pause();
      expected = kFree;
      if (state_.load(std::memory_order_relaxed) == kFree &&
          state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire))
        return;
    }
    // Mark that someone sleeps; whoever unlocks then wakes a sleeper.
    while (state_.exchange(kLockedWithWaiters, std::memory_order_acquire) != kFree)
      syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, kLockedWithWaiters, nullptr, nullptr, 0);
  }
  bool TryLock() {
    int expected = kFree;
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire);
  }
  void Unlock() {
    if (state_.exchange(kFree, std::memory_order_release) == kLockedWithWaiters)
      syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
  // Only in a fork child, where the holder no longer exists.
  void ResetAfterFork() { state_.store(kFree, std::memory_order_relaxed); }

 private:
  static constexpr int kFree = 0;
  static constexpr int kLocked = 1;
  static constexpr int kLockedWithWaiters = 2;
  std::atomic<int> state_{kFree};
};

class SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinLockHolder() { lock_.Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock& lock_;
};

// heapgap's own mappings, so that the leak scan does not take its buffers
// (full of block addresses) for the program's roots.
void NoteOwnMapping(uintptr_t begin, size_t bytes);
void ForgetOwnMapping(uintptr_t begin);
// True when [begin, end) overlaps one of heapgap's own mappings.
bool OverlapsOwnMapping(uintptr_t begin, uintptr_t end);
void ResetOwnMappingsAfterFork();

// Zeroed private memory straight from the kernel, or nullptr. Raw system
// calls: libheapgap interposes mmap and munmap, and its own mappings are not
// the program's.
inline void* MapPages(size_t bytes) {
  long p = syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p < 0 && p > -4096) return nullptr;
  NoteOwnMapping(static_cast<uintptr_t>(p), bytes);
  return reinterpret_cast<void*>(p);
}
inline void UnmapPages(void* p, size_t bytes) {
  if (!p) return;
  ForgetOwnMapping(reinterpret_cast<uintptr_t>(p));
  syscall(SYS_munmap, p, bytes);
}

// Copies memory that may be unmapped under us (another thread may trim the
// heap): returns the bytes copied, never faults.
inline size_t SafeRead(void* dst, uint64_t src, size_t bytes) {
  iovec local{dst, bytes};
  iovec remote{reinterpret_cast<void*>(src), bytes};
  ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  return n < 0 ? 0 : static_cast<size_t>(n);
}

// A growable array of trivially copyable T in mmap'd memory.
template <typename T>
class MappedArray {
 public:
  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

  bool PushBack(const T& value) {
    if (size_ == capacity_ && !Grow(size_ + 1)) return false;
    data_[size_++] = value;
    return true;
  }
  bool Append(const T* values, size_t n) {
    if (size_ + n > capacity_ && !Grow(size_ + n)) return false;
    memcpy(static_cast<void*>(data_ + size_), values, n * sizeof(T));
    size_ += n;
    return true;
  }
  void Clear() { size_ = 0; }
  void Truncate(size_t n) {
    if (n < size_) size_ = n;
  }
  // Forgets the memory without unmapping it (fork child reusing state).
  void Release() {
    UnmapPages(data_, capacity_ * sizeof(T));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

 private:
  bool Grow(size_t needed) {
    size_t capacity = capacity_ ? capacity_ * 2 : 4096 / sizeof(T) + 1;
    while (capacity < needed) capacity *= 2;
    T* fresh = static_cast<T*>(MapPages(capacity * sizeof(T)));
    if (!fresh) return false;
    if (size_) memcpy(static_cast<void*>(fresh), data_, size_ * sizeof(T));
    UnmapPages(data_, capacity_ * sizeof(T));
    data_ = fresh;
    capacity_ = capacity;
    return true;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

inline uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Bounded string building without stdio (snprintf may allocate).
class StringBuilder {
 public:
  StringBuilder(char* buf, size_t capacity) : buf_(buf), capacity_(capacity) { Terminate(); }
  StringBuilder& Add(const char* s) {
    while (s && *s && len_ + 1 < capacity_) buf_[len_++] = *s++;
    Terminate();
    return *this;
  }
  StringBuilder& Add(const char* s, size_t n) {
    for (size_t i = 0; i < n && len_ + 1 < capacity_; ++i) buf_[len_++] = s[i];
    Terminate();
    return *this;
  }
  StringBuilder& AddUint(uint64_t v) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (n > 0 && len_ + 1 < capacity_) buf_[len_++] = digits[--n];
    Terminate();
    return *this;
  }
  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }
  bool truncated() const { return len_ + 1 >= capacity_; }

 private:
  void Terminate() {
    if (capacity_) buf_[len_ < capacity_ ? len_ : capacity_ - 1] = '\0';
  }
  char* buf_;
  size_t capacity_;
  size_t len_ = 0;
};

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_SUPPORT_H_
