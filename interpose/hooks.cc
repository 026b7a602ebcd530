// The functions libheapgap.so interposes. Each forwards to glibc's own entry
// point (exported __libc_* functions: no dlsym on the allocation path) and
// records what happened. exports.map keeps every other symbol local.
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <new>

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

inline void* Recorded(uint32_t operation, void* p, uint64_t size, int64_t aux = 0) {
  if (p != nullptr && ShouldRecord(tls_state)) RecordAllocation(operation, p, size, aux);
  return p;
}

inline void RecordedFree(uint32_t operation, void* p, uint64_t size = 0) {
  PendingRelease release;
  if (p != nullptr && ShouldRecord(tls_state) && BeginRelease(p, release)) {
    __libc_free(p);
    FinishRelease(release, operation, p, size);
    return;
  }
  __libc_free(p);
}

void* ReallocImpl(uint32_t alloc_op, uint32_t free_op, void* p, size_t size) {
  if (p == nullptr) return Recorded(alloc_op, __libc_realloc(nullptr, size), size, 0);
  PendingRelease release;
  if (!ShouldRecord(tls_state) || !BeginRelease(p, release)) return __libc_realloc(p, size);
  void* q = __libc_realloc(p, size);
  if (q == nullptr && size != 0) {
    CancelRelease(release);  // failed: p is untouched
    return q;
  }
  FinishRelease(release, free_op, p, 0);
  if (q != nullptr) RecordAllocation(alloc_op, q, size, static_cast<int64_t>(reinterpret_cast<uintptr_t>(p)));
  return q;
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
  ++tls_state.in_tracer;
  struct Restore {
    ~Restore() { --tls_state.in_tracer; }
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
using heapgap::Recorded;
using heapgap::RecordedFree;
namespace op = heapgap::op;

extern "C" {

__attribute__((visibility("default"))) void* malloc(size_t size) {
  return Recorded(op::kMalloc, __libc_malloc(size), size);
}

__attribute__((visibility("default"))) void free(void* p) { RecordedFree(op::kFree, p); }

__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) {
  return Recorded(op::kCalloc, __libc_calloc(n, size), static_cast<uint64_t>(n) * size);
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
  return Recorded(op::kMemalign, __libc_memalign(alignment, size), size,
                  static_cast<int64_t>(alignment));
}

__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t size) {
  // In glibc 2.36 aligned_alloc is an alias of memalign.
  return Recorded(op::kAlignedAlloc, __libc_memalign(alignment, size), size,
                  static_cast<int64_t>(alignment));
}

__attribute__((visibility("default"))) int posix_memalign(void** out, size_t alignment, size_t size) {
  // The checks of glibc's __posix_memalign, in the same order.
  if (alignment % sizeof(void*) != 0 || !heapgap::ValidAlignment(alignment / sizeof(void*)) ||
      alignment == 0)
    return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = Recorded(op::kPosixMemalign, p, size, static_cast<int64_t>(alignment));
  return 0;
}

__attribute__((visibility("default"))) void* valloc(size_t size) {
  return Recorded(op::kValloc, __libc_valloc(size), size);
}

__attribute__((visibility("default"))) void* pvalloc(size_t size) {
  return Recorded(op::kPvalloc, __libc_pvalloc(size), size);
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
  void* p = __libc_malloc(size ? size : 1);
  if (__builtin_expect(p == nullptr, 0)) p = CallLibstdcxx<heapgap::NewFn>("_Znwm", size);
  return Recorded(op::kNew, p, size);
}
HEAPGAP_EXPORT void* operator new[](size_t size) {
  void* p = __libc_malloc(size ? size : 1);
  if (__builtin_expect(p == nullptr, 0)) p = CallLibstdcxx<heapgap::NewFn>("_Znam", size);
  return Recorded(op::kNewArray, p, size);
}
HEAPGAP_EXPORT void* operator new(size_t size, const std::nothrow_t& tag) noexcept {
  void* p = __libc_malloc(size ? size : 1);
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewNothrowFn>("_ZnwmRKSt9nothrow_t", size, std::cref(tag).get());
  return Recorded(op::kNewNothrow, p, size);
}
HEAPGAP_EXPORT void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  void* p = __libc_malloc(size ? size : 1);
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewNothrowFn>("_ZnamRKSt9nothrow_t", size, std::cref(tag).get());
  return Recorded(op::kNewArrayNothrow, p, size);
}
HEAPGAP_EXPORT void* operator new(size_t size, std::align_val_t alignment) {
  const size_t a = static_cast<size_t>(alignment);
  void* p = heapgap::ValidAlignment(a) ? __libc_memalign(a, heapgap::AlignedNewSize(size, a)) : nullptr;
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewAlignedFn>("_ZnwmSt11align_val_t", size, alignment);
  return Recorded(op::kNewAligned, p, size, static_cast<int64_t>(a));
}
HEAPGAP_EXPORT void* operator new[](size_t size, std::align_val_t alignment) {
  const size_t a = static_cast<size_t>(alignment);
  void* p = heapgap::ValidAlignment(a) ? __libc_memalign(a, heapgap::AlignedNewSize(size, a)) : nullptr;
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewAlignedFn>("_ZnamSt11align_val_t", size, alignment);
  return Recorded(op::kNewArrayAligned, p, size, static_cast<int64_t>(a));
}
HEAPGAP_EXPORT void* operator new(size_t size, std::align_val_t alignment,
                                  const std::nothrow_t& tag) noexcept {
  const size_t a = static_cast<size_t>(alignment);
  void* p = heapgap::ValidAlignment(a) ? __libc_memalign(a, heapgap::AlignedNewSize(size, a)) : nullptr;
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewAlignedNothrowFn>("_ZnwmSt11align_val_tRKSt9nothrow_t", size,
                                                    alignment, std::cref(tag).get());
  return Recorded(op::kNewAlignedNothrow, p, size, static_cast<int64_t>(a));
}
HEAPGAP_EXPORT void* operator new[](size_t size, std::align_val_t alignment,
                                    const std::nothrow_t& tag) noexcept {
  const size_t a = static_cast<size_t>(alignment);
  void* p = heapgap::ValidAlignment(a) ? __libc_memalign(a, heapgap::AlignedNewSize(size, a)) : nullptr;
  if (__builtin_expect(p == nullptr, 0))
    p = CallLibstdcxx<heapgap::NewAlignedNothrowFn>("_ZnamSt11align_val_tRKSt9nothrow_t", size,
                                                    alignment, std::cref(tag).get());
  return Recorded(op::kNewArrayAlignedNothrow, p, size, static_cast<int64_t>(a));
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
