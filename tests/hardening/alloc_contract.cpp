// alloc_contract: the C and C++ allocation contract as a program observes it.
// Prints one line per check: results, errno values, usable sizes and
// alignment failures. A tracer must not change a single line, so the test
// compares this output with and without heapgap. Exits 1 if a check that
// holds for glibc fails (misaligned block, calloc not zeroed, ...).
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <initializer_list>
#include <new>

namespace {

int g_failures = 0;

void Check(bool ok, const char* what) {
  if (!ok) {
    printf("FAILED: %s\n", what);
    ++g_failures;
  }
}

const char* ErrnoName(int e) {
  switch (e) {
    case 0: return "0";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EXDEV: return "EXDEV (unchanged)";
    default: return "other";
  }
}

// Keeps the compiler from reasoning about malloc's results.
void* volatile g_sink;
// What posix_memalign's out parameter holds before the call.
char g_unset_marker;
void* const kUnset = &g_unset_marker;
template <typename T>
T Opaque(T value) {
  __asm__ volatile("" : "+r"(value));
  return value;
}

bool Aligned(const void* p, size_t alignment) { return reinterpret_cast<uintptr_t>(p) % alignment == 0; }

void Failures() {
  const size_t huge = Opaque(SIZE_MAX - 4096);
  errno = 0;
  void* p = malloc(huge);
  printf("malloc(huge): %s errno=%s\n", p ? "ptr" : "NULL", ErrnoName(errno));
  errno = 0;
  p = calloc(Opaque(SIZE_MAX / 2), 3);
  printf("calloc(overflow): %s errno=%s\n", p ? "ptr" : "NULL", ErrnoName(errno));
  errno = 0;
  p = calloc(huge, 1);
  printf("calloc(huge): %s errno=%s\n", p ? "ptr" : "NULL", ErrnoName(errno));
  errno = 0;
  p = reallocarray(nullptr, Opaque(SIZE_MAX / 2), 3);
  printf("reallocarray(NULL, overflow): %s errno=%s\n", p ? "ptr" : "NULL", ErrnoName(errno));
  char* block = static_cast<char*>(malloc(32));
  memcpy(block, "still here", 11);
  errno = 0;
  p = reallocarray(block, Opaque(SIZE_MAX / 4), 8);
  printf("reallocarray(p, overflow): %s errno=%s, old block '%s'\n", p ? "ptr" : "NULL", ErrnoName(errno), block);
  errno = 0;
  p = realloc(block, huge);
  printf("realloc(p, huge): %s errno=%s, old block '%s'\n", p ? "ptr" : "NULL", ErrnoName(errno), block);
  free(block);
  errno = 0;
  p = memalign(64, huge);
  printf("memalign(64, huge): %s errno=%s\n", p ? "ptr" : "NULL", ErrnoName(errno));
  errno = 0;
  p = valloc(huge);
  printf("valloc(huge): %s errno=%s\n", p ? "ptr" : "NULL", ErrnoName(errno));
  errno = 0;
  p = pvalloc(huge);
  printf("pvalloc(huge): %s errno=%s\n", p ? "ptr" : "NULL", ErrnoName(errno));
}

void BadAlignments() {
  const size_t bad[] = {0, 1, 3, 4, 12, 24, 100, 4097, Opaque(SIZE_MAX / 2 + 1), SIZE_MAX};
  for (size_t alignment : bad) {
    errno = EXDEV;
    void* p = aligned_alloc(alignment, 64);
    // Only a power of two is an alignment a block can be checked against.
    const bool power_of_two = alignment != 0 && (alignment & (alignment - 1)) == 0;
    printf("aligned_alloc(%zu, 64): %s errno=%s\n", alignment,
           p ? (!power_of_two || Aligned(p, alignment) ? "ptr" : "MISALIGNED ptr") : "NULL", ErrnoName(errno));
    free(p);
    void* out = kUnset;
    errno = EXDEV;
    int r = posix_memalign(&out, alignment, 64);
    printf("posix_memalign(%zu, 64): returns %s, out %s, errno=%s\n", alignment, ErrnoName(r),
           out == kUnset ? "unchanged" : (out ? "ptr" : "NULL"), ErrnoName(errno));
    if (r == 0) free(out);
    errno = EXDEV;
    p = memalign(alignment, 64);
    printf("memalign(%zu, 64): %s errno=%s\n", alignment, p ? "ptr" : "NULL", ErrnoName(errno));
    free(p);
  }
  void* out = kUnset;
  int r = posix_memalign(&out, 64, Opaque(SIZE_MAX - 4096));
  printf("posix_memalign(64, huge): returns %s, out %s\n", ErrnoName(r), out == kUnset ? "unchanged" : "changed");
}

void SpecialCases() {
  errno = EXDEV;
  void* p = malloc(0);
  printf("malloc(0): %s, usable %zu, errno=%s\n", p ? "ptr" : "NULL", malloc_usable_size(p), ErrnoName(errno));
  free(p);
  errno = EXDEV;
  free(nullptr);
  printf("free(NULL): errno=%s\n", ErrnoName(errno));
  errno = EXDEV;
  p = realloc(nullptr, 100);
  printf("realloc(NULL, 100): %s, usable %zu, errno=%s\n", p ? "ptr" : "NULL", malloc_usable_size(p), ErrnoName(errno));
  errno = EXDEV;
  void* q = realloc(p, 0);
  printf("realloc(p, 0): %s, errno=%s\n", q ? "ptr" : "NULL", ErrnoName(errno));
  free(q);
  errno = EXDEV;
  p = calloc(0, 10);
  printf("calloc(0, 10): %s, errno=%s\n", p ? "ptr" : "NULL", ErrnoName(errno));
  free(p);
  printf("malloc_usable_size(NULL): %zu\n", malloc_usable_size(nullptr));

  // calloc hands out zeroed memory even where a freed block was dirty.
  for (size_t size : {24, 1000, 5000, 200000}) {
    char* dirty = static_cast<char*>(malloc(size));
    memset(dirty, 0xff, size);
    free(dirty);
    char* zeroed = static_cast<char*>(calloc(1, size));
    bool all_zero = true;
    for (size_t i = 0; i < size; ++i) all_zero &= zeroed[i] == 0;
    Check(all_zero, "calloc returns zeroed memory");
    free(zeroed);
  }

  // realloc keeps the contents across moves and in place.
  char* grow = static_cast<char*>(malloc(16));
  for (int i = 0; i < 16; ++i) grow[i] = static_cast<char>(i);
  bool kept = true;
  for (size_t size : {32, 100, 5000, 300000, 20, 8}) {
    grow = static_cast<char*>(realloc(grow, size));
    for (int i = 0; i < 8; ++i) kept &= grow[i] == static_cast<char>(i);
  }
  Check(kept, "realloc keeps the contents");
  free(grow);
}

void ErrnoOnSuccess() {
  // Successful calls leave errno alone.
  int changed = 0;
  for (int i = 0; i < 200; ++i) {
    errno = EXDEV;
    void* blocks[8];
    blocks[0] = malloc(i * 37 + 1);
    blocks[1] = calloc(i + 1, 13);
    blocks[2] = realloc(nullptr, i * 11 + 5);
    blocks[2] = realloc(blocks[2], i * 300 + 5);
    blocks[3] = memalign(64, i + 1);
    blocks[4] = aligned_alloc(128, 128 * (i % 5 + 1));
    blocks[5] = valloc(i + 1);
    blocks[6] = nullptr;
    posix_memalign(&blocks[6], 256, i + 3);
    blocks[7] = reallocarray(nullptr, i + 1, 9);
    for (void* b : blocks) free(b);
    int* object = new int[i + 1];
    delete[] object;
    changed += errno != EXDEV;
  }
  printf("errno changed by successful calls: %d of 200 rounds\n", changed);
}

void Alignment() {
  int misaligned[12] = {};
  const char* names[12] = {"malloc", "calloc", "realloc", "new", "new[]", "memalign", "posix_memalign",
                           "aligned_alloc", "valloc", "pvalloc", "new(align)", "new[](align)"};
  for (size_t size = 1; size <= 4200; size += 37) {
    void* p = malloc(size);
    misaligned[0] += !Aligned(p, 16);
    void* c = calloc(1, size);
    misaligned[1] += !Aligned(c, 16);
    p = realloc(p, size * 3);
    misaligned[2] += !Aligned(p, 16);
    char* n = new char[size];
    misaligned[4] += !Aligned(n, __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    auto* one = new long double;
    misaligned[3] += !Aligned(one, __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    free(p);
    free(c);
    delete[] n;
    delete one;
    for (size_t alignment = 8; alignment <= 65536; alignment *= 2) {
      void* m = memalign(alignment, size);
      misaligned[5] += !Aligned(m, alignment);
      void* pm = nullptr;
      if (posix_memalign(&pm, alignment, size) != 0) ++misaligned[6];
      misaligned[6] += !Aligned(pm, alignment);
      void* a = aligned_alloc(alignment, size);
      misaligned[7] += !Aligned(a, alignment);
      void* na = ::operator new(size, std::align_val_t{alignment});
      misaligned[10] += !Aligned(na, alignment);
      void* naa = ::operator new[](size, std::align_val_t{alignment});
      misaligned[11] += !Aligned(naa, alignment);
      free(m);
      free(pm);
      free(a);
      ::operator delete(na, std::align_val_t{alignment});
      ::operator delete[](naa, size, std::align_val_t{alignment});
    }
    void* v = valloc(size);
    misaligned[8] += !Aligned(v, 4096);
    void* pv = pvalloc(size);
    misaligned[9] += !Aligned(pv, 4096) || malloc_usable_size(pv) < ((size + 4095) & ~size_t{4095});
    free(v);
    free(pv);
  }
  for (int i = 0; i < 12; ++i) {
    printf("alignment %s: %d misaligned\n", names[i], misaligned[i]);
    Check(misaligned[i] == 0, names[i]);
  }
}

void UsableSizes() {
  printf("usable sizes:");
  for (size_t size : {1, 8, 24, 25, 100, 1000, 1032, 1033, 4096, 100000, 140000, 1 << 20}) {
    void* p = malloc(size);
    printf(" %zu->%zu", size, malloc_usable_size(p));
    Check(malloc_usable_size(p) >= size, "malloc_usable_size covers the request");
    free(p);
  }
  printf("\n");
}

int g_handler_calls = 0;
void CountingHandler() {
  if (++g_handler_calls == 3) std::set_new_handler(nullptr);
}
void ThrowingHandler() { throw std::bad_alloc(); }

void OperatorNew() {
  const size_t huge = Opaque(SIZE_MAX - 4096);
  try {
    g_sink = ::operator new(huge);
    printf("new(huge): returned\n");
  } catch (const std::bad_alloc& e) {
    printf("new(huge): std::bad_alloc '%s'\n", e.what());
  }
  try {
    g_sink = ::operator new[](huge);
    printf("new[](huge): returned\n");
  } catch (const std::bad_alloc& e) {
    printf("new[](huge): std::bad_alloc\n");
  }
  try {
    g_sink = ::operator new(huge, std::align_val_t{64});
    printf("new(huge, align 64): returned\n");
  } catch (const std::bad_alloc& e) {
    printf("new(huge, align 64): std::bad_alloc\n");
  }
  g_sink = ::operator new(huge, std::nothrow);
  printf("new(huge, nothrow): %s\n", g_sink ? "ptr" : "nullptr");
  g_sink = ::operator new[](huge, std::align_val_t{128}, std::nothrow);
  printf("new[](huge, align 128, nothrow): %s\n", g_sink ? "ptr" : "nullptr");
  try {
    size_t count = Opaque(SIZE_MAX / 4);
    int* array = new int[count];
    printf("new int[overflow]: returned %p\n", static_cast<void*>(array));
  } catch (const std::bad_array_new_length&) {
    printf("new int[overflow]: std::bad_array_new_length\n");
  } catch (const std::bad_alloc&) {
    printf("new int[overflow]: std::bad_alloc\n");
  }

  // The new-handler is called until it gives up (here: uninstalls itself).
  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  try {
    g_sink = ::operator new(huge);
  } catch (const std::bad_alloc&) {
    printf("new(huge) with a handler: bad_alloc after %d handler calls\n", g_handler_calls);
  }
  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  try {
    g_sink = ::operator new(huge, std::align_val_t{256});
  } catch (const std::bad_alloc&) {
    printf("new(huge, align 256) with a handler: bad_alloc after %d handler calls\n", g_handler_calls);
  }
  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  g_sink = ::operator new[](huge, std::nothrow);
  printf("new[](huge, nothrow) with a handler: %s after %d handler calls\n", g_sink ? "ptr" : "nullptr",
         g_handler_calls);
  std::set_new_handler(ThrowingHandler);
  g_sink = ::operator new(huge, std::nothrow);
  printf("new(huge, nothrow) with a throwing handler: %s\n", g_sink ? "ptr" : "nullptr");
  std::set_new_handler(nullptr);

  // A handler that frees memory lets the retry succeed.
  static void* reserve = malloc(1 << 20);
  std::set_new_handler([] {
    free(reserve);
    reserve = nullptr;
    std::set_new_handler(nullptr);
  });
  void* small = ::operator new(64);
  printf("new(64) with a handler installed: %s, handler %s\n", small ? "ptr" : "nullptr",
         reserve ? "not called" : "called");
  ::operator delete(small, 64);
  std::set_new_handler(nullptr);
  free(reserve);
}

}  // namespace

int main() {
  setvbuf(stdout, nullptr, _IOFBF, 1 << 16);
  Failures();
  BadAlignments();
  SpecialCases();
  ErrnoOnSuccess();
  Alignment();
  UsableSizes();
  OperatorNew();
  printf("%s\n", g_failures == 0 ? "contract holds" : "CONTRACT BROKEN");
  return g_failures == 0 ? 0 : 1;
}
