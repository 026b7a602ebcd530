// The functions libheapgap.so interposes. Each forwards to glibc's own entry
// point (exported __libc_* functions: no dlsym on the allocation path) and
// records what happened. exports.map keeps every other symbol local.
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <initializer_list>
#include <cstring>
#include <new>

#include "interpose/private_heap.h"
#include "interpose/recorder.h"

extern "C" {
void* __libc_malloc(size_t size);
void __libc_free(void* p);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
void* __libc_pvalloc(size_t size);
}

namespace heapgap {
namespace {

template <typename Fn>
Fn RealFunction(const char* name) {
  ++tls_state.in_tracer;
  void* f = dlsym(RTLD_NEXT, name);
  --tls_state.in_tracer;
  return reinterpret_cast<Fn>(f);
}

// heapgap's own allocations (tls_state.in_tracer) come from the private heap,
// so that the program's heap looks exactly as it would without heapgap.
inline void* TracerAllocate(size_t size, size_t alignment, void* (*fallback)(size_t, size_t)) {
  void* p = PrivateAllocate(size, alignment);
  return p ? p : fallback(size, alignment);
}
inline void* GlibcMalloc(size_t size, size_t) { return __libc_malloc(size); }
inline void* GlibcMemalign(size_t size, size_t alignment) { return __libc_memalign(alignment, size); }
inline bool InTracer() { return __builtin_expect(tls_state.in_tracer != 0, 0); }

void* PrivateRealloc(void* p, size_t size) {
  if (size == 0) {
    PrivateFree(p);
    return nullptr;
  }
  void* q = TracerAllocate(size, 16, GlibcMalloc);
  if (!q) return nullptr;
  const size_t old_size = PrivateSize(p);
  memcpy(q, p, old_size < size ? old_size : size);
  PrivateFree(p);
  return q;
}

// True when this call is recorded. Runs before glibc does: a break that
// moved since the last call moved between calls.
inline bool BeforeCall() {
  if (!ShouldRecord(tls_state)) return false;
  NoteBreakBeforeCall();
  return true;
}

#define HEAPGAP_RECORDED_ALLOC(operation, call, size, aux)              \
  do {                                                                  \
    if (!::heapgap::BeforeCall()) return call;                          \
    void* recorded_p = call;                                            \
    if (recorded_p != nullptr)                                          \
      ::heapgap::RecordAllocation(operation, recorded_p, size, aux);    \
    return recorded_p;                                                  \
  } while (0)

inline void RecordedFree(uint32_t operation, void* p, uint64_t size = 0) {
  if (__builtin_expect(InPrivateHeap(p), 0)) return PrivateFree(p);
  PendingRelease release;
  if (p != nullptr && BeforeCall() && BeginRelease(operation, p, release)) {
    if (release.unknown) {
      // glibc may abort on a pointer it never handed out: record it first.
      FinishRelease(release, operation, p, size);
      FlushNow();
      __libc_free(p);
      return;
    }
    __libc_free(p);
    FinishRelease(release, operation, p, size);
    return;
  }
  __libc_free(p);
}

void* ReallocImpl(uint32_t alloc_op, uint32_t free_op, void* p, size_t size) {
  if (__builtin_expect(InPrivateHeap(p), 0)) return PrivateRealloc(p, size);
  if (InTracer() && p == nullptr) return TracerAllocate(size, 16, GlibcMalloc);
  if (!BeforeCall()) return __libc_realloc(p, size);
  if (p == nullptr) {
    void* q = __libc_realloc(nullptr, size);
    if (q != nullptr) RecordAllocation(alloc_op, q, size, 0);
    return q;
  }
  PendingRelease release;
  if (!BeginRelease(free_op, p, release)) return __libc_realloc(p, size);
  void* q = __libc_realloc(p, size);
  if (q == nullptr && size != 0) {
    CancelRelease(release);  // failed: p is untouched
    return q;
  }
  FinishRelease(release, free_op, p, 0);
  if (q != nullptr) RecordAllocation(alloc_op, q, size, static_cast<int64_t>(reinterpret_cast<uintptr_t>(p)));
  return q;
}

inline void RecordCallIfTraced(uint32_t operation, uint64_t address, uint64_t size,
                               std::initializer_list<int64_t> aux) {
  if (!ShouldRecord(tls_state)) return;
  int64_t values[op::kMaxAux] = {0, 0, 0};
  int i = 0;
  for (int64_t v : aux) values[i++] = v;
  RecordCall(operation, address, size, values);
}

// ---- operator new ------------------------------------------------------------
// The fast path calls glibc directly. Only when memory runs out does it call
// libstdc++'s own operator new, which runs the new-handler and throws
// std::bad_alloc exactly as it would without heapgap.

using NewFn = void* (*)(size_t);
using NewNothrowFn = void* (*)(size_t, const std::nothrow_t&);
using NewAlignedFn = void* (*)(size_t, std::align_val_t);
using NewAlignedNothrowFn = void* (*)(size_t, std::align_val_t, const std::nothrow_t&);

template <typename Fn, typename... Args>
void* CallLibstdcxx(const char* name, Args... args) {
  Fn real = RealFunction<Fn>(name);
  if (!real) return nullptr;
  // Its internal malloc calls are not separate events: this new is recorded.
  ++tls_state.in_passthrough;
  struct Restore {
    ~Restore() { --tls_state.in_passthrough; }
  } restore;
  return real(args...);
}

inline bool ValidAlignment(size_t alignment) {
  return alignment != 0 && (alignment & (alignment - 1)) == 0;
}

// libstdc++ rounds the size up to the alignment for aligned_alloc.
inline size_t AlignedNewSize(size_t size, size_t alignment) {
  if (size == 0) size = 1;
  return (size + alignment - 1) & ~(alignment - 1);
}

}  // namespace
}  // namespace heapgap

using heapgap::CallLibstdcxx;
using heapgap::RecordedFree;
namespace op = heapgap::op;

extern "C" {

__attribute__((visibility("default"))) void* malloc(size_t size) {
  if (heapgap::InTracer()) return heapgap::TracerAllocate(size, 16, heapgap::GlibcMalloc);
  HEAPGAP_RECORDED_ALLOC(op::kMalloc, __libc_malloc(size), size, 0);
}

__attribute__((visibility("default"))) void free(void* p) { RecordedFree(op::kFree, p); }

__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) {
  if (heapgap::InTracer()) {
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) return __libc_calloc(n, size);
    void* p = heapgap::PrivateAllocate(bytes, 16);  // zeroed
    return p ? p : __libc_calloc(n, size);
  }
  HEAPGAP_RECORDED_ALLOC(op::kCalloc, __libc_calloc(n, size), static_cast<uint64_t>(n) * size, 0);
}

__attribute__((visibility("default"))) void* realloc(void* p, size_t size) {
  return heapgap::ReallocImpl(op::kRealloc, op::kReallocFree, p, size);
}

__attribute__((visibility("default"))) void* reallocarray(void* p, size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return heapgap::ReallocImpl(op::kReallocArray, op::kReallocArrayFree, p, bytes);
}

__attribute__((visibility("default"))) void* memalign(size_t alignment, size_t size) {
  if (heapgap::InTracer() && heapgap::ValidAlignment(alignment))
    return heapgap::TracerAllocate(size, alignment, heapgap::GlibcMemalign);
  HEAPGAP_RECORDED_ALLOC(op::kMemalign, __libc_memalign(alignment, size), size,
                         static_cast<int64_t>(alignment));
}

__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t size) {
  if (heapgap::InTracer() && heapgap::ValidAlignment(alignment))
    return heapgap::TracerAllocate(size, alignment, heapgap::GlibcMemalign);
  // In glibc 2.36 aligned_alloc is an alias of memalign.
  HEAPGAP_RECORDED_ALLOC(op::kAlignedAlloc, __libc_memalign(alignment, size), size,
                         static_cast<int64_t>(alignment));
}

__attribute__((visibility("default"))) int posix_memalign(void** out, size_t alignment, size_t size) {
  // The checks of glibc's __posix_memalign, in the same order.
  if (alignment % sizeof(void*) != 0 || !heapgap::ValidAlignment(alignment / sizeof(void*)) ||
      alignment == 0)
    return EINVAL;
  if (heapgap::InTracer()) {
    *out = heapgap::TracerAllocate(size, alignment, heapgap::GlibcMemalign);
    return *out ? 0 : ENOMEM;
  }
  const bool traced = heapgap::BeforeCall();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  if (traced) heapgap::RecordAllocation(op::kPosixMemalign, p, size, static_cast<int64_t>(alignment));
  *out = p;
  return 0;
}

__attribute__((visibility("default"))) void* valloc(size_t size) {
  if (heapgap::InTracer()) return heapgap::TracerAllocate(size, 4096, heapgap::GlibcMemalign);
  HEAPGAP_RECORDED_ALLOC(op::kValloc, __libc_valloc(size), size, 0);
}

__attribute__((visibility("default"))) void* pvalloc(size_t size) {
  if (heapgap::InTracer())
    return heapgap::TracerAllocate((size + 4095) & ~size_t{4095}, 4096, heapgap::GlibcMemalign);
  HEAPGAP_RECORDED_ALLOC(op::kPvalloc, __libc_pvalloc(size), size, 0);
}


__attribute__((visibility("default"))) size_t malloc_usable_size(void* p) {
  using Fn = size_t (*)(void*);
  if (heapgap::InPrivateHeap(p)) return heapgap::PrivateSize(p);
  static Fn real = heapgap::RealFunction<Fn>("malloc_usable_size");
  return real(p);
}

// ---- The program's own address-space calls ---------------------------------
// glibc's malloc maps and moves memory through internal aliases that never
// come here; these are calls the program (or a library) makes itself.

extern "C" void* __sbrk(intptr_t increment);
extern "C" int __libc_mallopt(int param, int value);

__attribute__((visibility("default"))) void* mmap(void* addr, size_t length, int prot, int flags,
                                                  int fd, off_t offset) {
  using Fn = void* (*)(void*, size_t, int, int, int, off_t);
  static Fn real = heapgap::RealFunction<Fn>("mmap");
  void* r = real(addr, length, prot, flags, fd, offset);
  if (r != MAP_FAILED)
    heapgap::RecordCallIfTraced(op::kMmap, reinterpret_cast<uintptr_t>(r), length,
                                {static_cast<int64_t>(static_cast<uint32_t>(prot)) |
                                     (static_cast<int64_t>(static_cast<uint32_t>(flags)) << 32),
                                 fd, offset});
  return r;
}

__attribute__((visibility("default"))) void* mmap64(void* addr, size_t length, int prot, int flags,
                                                    int fd, off_t offset) {
  return mmap(addr, length, prot, flags, fd, offset);
}

__attribute__((visibility("default"))) int munmap(void* addr, size_t length) {
  using Fn = int (*)(void*, size_t);
  static Fn real = heapgap::RealFunction<Fn>("munmap");
  int r = real(addr, length);
  heapgap::RecordCallIfTraced(op::kMunmap, reinterpret_cast<uintptr_t>(addr), length, {r});
  return r;
}

__attribute__((visibility("default"))) void* mremap(void* old_address, size_t old_size,
                                                    size_t new_size, int flags, ...) {
  using Fn = void* (*)(void*, size_t, size_t, int, ...);
  static Fn real = heapgap::RealFunction<Fn>("mremap");
  void* new_address = nullptr;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    new_address = va_arg(ap, void*);
    va_end(ap);
  }
  void* r = (flags & MREMAP_FIXED) ? real(old_address, old_size, new_size, flags, new_address)
                                   : real(old_address, old_size, new_size, flags);
  if (r != MAP_FAILED)
    heapgap::RecordCallIfTraced(op::kMremap, reinterpret_cast<uintptr_t>(r), new_size,
                                {static_cast<int64_t>(reinterpret_cast<uintptr_t>(old_address)),
                                 static_cast<int64_t>(old_size), flags});
  return r;
}

__attribute__((visibility("default"))) int brk(void* address) {
  using Fn = int (*)(void*);
  static Fn real = heapgap::RealFunction<Fn>("brk");
  int r = real(address);
  heapgap::RecordCallIfTraced(op::kBrk, reinterpret_cast<uintptr_t>(address), 0, {r});
  return r;
}

__attribute__((visibility("default"))) void* sbrk(intptr_t increment) {
  void* r = __sbrk(increment);
  if (increment != 0)
    heapgap::RecordCallIfTraced(op::kSbrk, reinterpret_cast<uintptr_t>(r), 0, {increment});
  return r;
}

__attribute__((visibility("default"))) int madvise(void* address, size_t length, int advice) {
  using Fn = int (*)(void*, size_t, int);
  static Fn real = heapgap::RealFunction<Fn>("madvise");
  int r = real(address, length, advice);
  heapgap::RecordCallIfTraced(op::kMadvise, reinterpret_cast<uintptr_t>(address), length,
                              {advice, r});
  return r;
}

__attribute__((visibility("default"))) int malloc_trim(size_t pad) {
  using Fn = int (*)(size_t);
  static Fn real = heapgap::RealFunction<Fn>("malloc_trim");
  const bool traced = heapgap::BeforeCall();
  int r = real(pad);
  if (traced) heapgap::RecordCallIfTraced(op::kMallocTrim, 0, pad, {r});
  return r;
}

__attribute__((visibility("default"))) int mallopt(int param, int value) {
  const bool traced = heapgap::BeforeCall();
  int r = __libc_mallopt(param, value);
  if (traced) heapgap::RecordCallIfTraced(op::kMallopt, 0, 0, {param, value, r});
  return r;
}

// ---- dlclose: stacks through the module must be written while it is loaded --

__attribute__((visibility("default"))) int dlclose(void* handle) {
  using Fn = int (*)(void*);
  static Fn real = heapgap::RealFunction<Fn>("dlclose");
  if (heapgap::ShouldRecord(heapgap::tls_state)) heapgap::FlushNow();
  return real(handle);
}

// ---- exec, _exit, abort: write what is buffered before the image goes ---------

__attribute__((visibility("default"))) int execve(const char* path, char* const argv[],
                                                  char* const envp[]) {
  using Fn = int (*)(const char*, char* const[], char* const[]);
  static Fn real = heapgap::RealFunction<Fn>("execve");
  heapgap::BeforeExec(path);
  return real(path, argv, envp);
}

__attribute__((visibility("default"))) int execv(const char* path, char* const argv[]) {
  using Fn = int (*)(const char*, char* const[]);
  static Fn real = heapgap::RealFunction<Fn>("execv");
  heapgap::BeforeExec(path);
  return real(path, argv);
}

__attribute__((visibility("default"))) int execvp(const char* file, char* const argv[]) {
  using Fn = int (*)(const char*, char* const[]);
  static Fn real = heapgap::RealFunction<Fn>("execvp");
  heapgap::BeforeExec(file);
  return real(file, argv);
}

__attribute__((visibility("default"))) int execvpe(const char* file, char* const argv[],
                                                   char* const envp[]) {
  using Fn = int (*)(const char*, char* const[], char* const[]);
  static Fn real = heapgap::RealFunction<Fn>("execvpe");
  heapgap::BeforeExec(file);
  return real(file, argv, envp);
}

__attribute__((visibility("default"))) int fexecve(int fd, char* const argv[], char* const envp[]) {
  using Fn = int (*)(int, char* const[], char* const[]);
  static Fn real = heapgap::RealFunction<Fn>("fexecve");
  heapgap::BeforeExec("(fexecve)");
  return real(fd, argv, envp);
}

__attribute__((visibility("default"))) int execveat(int dirfd, const char* path, char* const argv[],
                                                    char* const envp[], int flags) {
  using Fn = int (*)(int, const char*, char* const[], char* const[], int);
  static Fn real = heapgap::RealFunction<Fn>("execveat");
  heapgap::BeforeExec(path);
  return real(dirfd, path, argv, envp, flags);
}

// The execl family is variadic; glibc implements it with internal calls that
// an interposer never sees, so build argv here and go through the above.
#define HEAPGAP_COLLECT_ARGS(first, args, envp_out)                      \
  size_t count = 1;                                                       \
  {                                                                       \
    va_list ap;                                                           \
    va_start(ap, first);                                                  \
    while (va_arg(ap, const char*) != nullptr) ++count;                   \
    va_end(ap);                                                           \
  }                                                                       \
  const char* args[count + 1];                                            \
  {                                                                       \
    va_list ap;                                                           \
    va_start(ap, first);                                                  \
    args[0] = first;                                                      \
    for (size_t i = 1; i <= count; ++i) args[i] = va_arg(ap, const char*); \
    envp_out = va_arg(ap, char* const*);                                  \
    va_end(ap);                                                           \
  }

__attribute__((visibility("default"))) int execl(const char* path, const char* arg, ...) {
  char* const* unused_envp;
  HEAPGAP_COLLECT_ARGS(arg, args, unused_envp);
  (void)unused_envp;
  return execv(path, const_cast<char* const*>(args));
}

__attribute__((visibility("default"))) int execlp(const char* file, const char* arg, ...) {
  char* const* unused_envp;
  HEAPGAP_COLLECT_ARGS(arg, args, unused_envp);
  (void)unused_envp;
  return execvp(file, const_cast<char* const*>(args));
}

__attribute__((visibility("default"))) int execle(const char* path, const char* arg, ...) {
  char* const* envp;
  HEAPGAP_COLLECT_ARGS(arg, args, envp);
  return execve(path, const_cast<char* const*>(args), envp);
}

__attribute__((visibility("default"))) void _exit(int status) {
  heapgap::BeforeImmediateExit(status);
  for (;;) syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"))) void _Exit(int status) { _exit(status); }

__attribute__((visibility("default"))) void abort(void) {
  using Fn = void (*)(void);
  static Fn real = heapgap::RealFunction<Fn>("abort");
  heapgap::BeforeAbort();
  real();
  __builtin_trap();
}

}  // extern "C"

// ---- operator new / delete: all 20 replaceable forms libstdc++ exports -------

#define HEAPGAP_EXPORT __attribute__((visibility("default")))

HEAPGAP_EXPORT void* operator new(size_t size) {
  if (heapgap::InTracer()) return heapgap::TracerAllocate(size ? size : 1, 16, heapgap::GlibcMalloc);
  const bool traced = heapgap::BeforeCall();
  void* p = __libc_malloc(size ? size : 1);
  if (__builtin_expect(p == nullptr, 0)) p = CallLibstdcxx<heapgap::NewFn>("_Znwm", size);
  if (traced && p) heapgap::RecordAllocation(op::kNew, p, size, 0);
  return p;
}
HEAPGAP_EXPORT void* operator new[](size_t size) {
  if (heapgap::InTracer()) return heapgap::TracerAllocate(size ? size : 1, 16, heapgap::GlibcMalloc);
  const bool traced = heapgap::BeforeCall();
  void* p = __libc_malloc(size ? size : 1);
  if (__builtin_expect(p == nullptr, 0)) p = CallLibstdcxx<heapgap::NewFn>("_Znam", size);
  if (traced && p) heapgap::RecordAllocation(op::kNewArray, p, size, 0);
  return p;
}
HEAPGAP_EXPORT void* operator new(size_t size, const std::nothrow_t& tag) noexcept {
  if (heapgap::InTracer()) return heapgap::TracerAllocate(size ? size : 1, 16, heapgap::GlibcMalloc);
  const bool traced = heapgap::BeforeCall();
  void* p = __libc_malloc(size ? size : 1);
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewNothrowFn>("_ZnwmRKSt9nothrow_t", size, std::cref(tag).get());
  if (traced && p) heapgap::RecordAllocation(op::kNewNothrow, p, size, 0);
  return p;
}
HEAPGAP_EXPORT void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  if (heapgap::InTracer()) return heapgap::TracerAllocate(size ? size : 1, 16, heapgap::GlibcMalloc);
  const bool traced = heapgap::BeforeCall();
  void* p = __libc_malloc(size ? size : 1);
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewNothrowFn>("_ZnamRKSt9nothrow_t", size, std::cref(tag).get());
  if (traced && p) heapgap::RecordAllocation(op::kNewArrayNothrow, p, size, 0);
  return p;
}
HEAPGAP_EXPORT void* operator new(size_t size, std::align_val_t alignment) {
  const bool traced = heapgap::BeforeCall();
  const size_t a = static_cast<size_t>(alignment);
  void* p = heapgap::ValidAlignment(a) ? __libc_memalign(a, heapgap::AlignedNewSize(size, a)) : nullptr;
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewAlignedFn>("_ZnwmSt11align_val_t", size, alignment);
  if (traced && p) heapgap::RecordAllocation(op::kNewAligned, p, size, static_cast<int64_t>(a));
  return p;
}
HEAPGAP_EXPORT void* operator new[](size_t size, std::align_val_t alignment) {
  const bool traced = heapgap::BeforeCall();
  const size_t a = static_cast<size_t>(alignment);
  void* p = heapgap::ValidAlignment(a) ? __libc_memalign(a, heapgap::AlignedNewSize(size, a)) : nullptr;
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewAlignedFn>("_ZnamSt11align_val_t", size, alignment);
  if (traced && p) heapgap::RecordAllocation(op::kNewArrayAligned, p, size, static_cast<int64_t>(a));
  return p;
}
HEAPGAP_EXPORT void* operator new(size_t size, std::align_val_t alignment,
                                  const std::nothrow_t& tag) noexcept {
  const bool traced = heapgap::BeforeCall();
  const size_t a = static_cast<size_t>(alignment);
  void* p = heapgap::ValidAlignment(a) ? __libc_memalign(a, heapgap::AlignedNewSize(size, a)) : nullptr;
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewAlignedNothrowFn>("_ZnwmSt11align_val_tRKSt9nothrow_t", size,
                                                    alignment, std::cref(tag).get());
  if (traced && p) heapgap::RecordAllocation(op::kNewAlignedNothrow, p, size, static_cast<int64_t>(a));
  return p;
}
HEAPGAP_EXPORT void* operator new[](size_t size, std::align_val_t alignment,
                                    const std::nothrow_t& tag) noexcept {
  const bool traced = heapgap::BeforeCall();
  const size_t a = static_cast<size_t>(alignment);
  void* p = heapgap::ValidAlignment(a) ? __libc_memalign(a, heapgap::AlignedNewSize(size, a)) : nullptr;
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewAlignedNothrowFn>("_ZnamSt11align_val_tRKSt9nothrow_t", size,
                                                    alignment, std::cref(tag).get());
  if (traced && p) heapgap::RecordAllocation(op::kNewArrayAlignedNothrow, p, size, static_cast<int64_t>(a));
  return p;
}

HEAPGAP_EXPORT void operator delete(void* p) noexcept { RecordedFree(op::kDelete, p); }
HEAPGAP_EXPORT void operator delete[](void* p) noexcept { RecordedFree(op::kDeleteArray, p); }
HEAPGAP_EXPORT void operator delete(void* p, size_t size) noexcept {
  RecordedFree(op::kDeleteSized, p, size);
}
HEAPGAP_EXPORT void operator delete[](void* p, size_t size) noexcept {
  RecordedFree(op::kDeleteArraySized, p, size);
}
HEAPGAP_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept {
  RecordedFree(op::kDeleteNothrow, p);
}
HEAPGAP_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept {
  RecordedFree(op::kDeleteArrayNothrow, p);
}
HEAPGAP_EXPORT void operator delete(void* p, std::align_val_t) noexcept {
  RecordedFree(op::kDeleteAligned, p);
}
HEAPGAP_EXPORT void operator delete[](void* p, std::align_val_t) noexcept {
  RecordedFree(op::kDeleteArrayAligned, p);
}
HEAPGAP_EXPORT void operator delete(void* p, size_t size, std::align_val_t) noexcept {
  RecordedFree(op::kDeleteAlignedSized, p, size);
}
HEAPGAP_EXPORT void operator delete[](void* p, size_t size, std::align_val_t) noexcept {
  RecordedFree(op::kDeleteArrayAlignedSized, p, size);
}
HEAPGAP_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  RecordedFree(op::kDeleteAlignedNothrow, p);
}
HEAPGAP_EXPORT void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  RecordedFree(op::kDeleteArrayAlignedNothrow, p);
}

__attribute__((constructor)) static void HeapgapConstructor() { heapgap::OnLibraryLoad(); }
