// leak_cpp_apis: every operator new, each leaving one block definitely lost
// and one still reachable, and new[] of objects with a destructor, whose
// pointer points 8 bytes into the block (behind the element count): memcheck
// calls such a block still reachable (its "newarray" heuristic), and so must
// heapgap. Every allocating function is named lc_*; expected classes at exit:
//   function                 definitely lost   still reachable
//   lc_new                   1 x 24 B          1 x 24 B
//   lc_new_array             1 x 40 B          1 x 40 B
//   lc_new_nothrow           1 x 56 B          1 x 56 B
//   lc_new_array_nothrow     1 x 72 B          1 x 72 B
//   lc_new_aligned           1 x 128 B         1 x 128 B   (alignas(64))
//   lc_new_array_aligned     1 x 256 B         1 x 256 B   (2 x alignas(64) x 128)
//   lc_new_array_cookie      -                 1 x 8+3*16 = 56 B
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <new>

#include "sample_support.h"

struct alignas(64) Aligned {
  char bytes[128];
};

struct WithDestructor {
  ~WithDestructor() { escape(this); }
  char bytes[16];
};

void* g_kept[16];
WithDestructor* g_array_with_cookie;
static int g_kept_count;

static void keep_or_drop(void* p, size_t size, bool keep) {
  std::memset(p, 7, size);
  if (keep) g_kept[g_kept_count++] = p;
}

__attribute__((noinline)) void lc_new(bool keep) {
  keep_or_drop(::operator new(24), 24, keep);
}
__attribute__((noinline)) void lc_new_array(bool keep) {
  keep_or_drop(new char[40], 40, keep);
}
__attribute__((noinline)) void lc_new_nothrow(bool keep) {
  keep_or_drop(::operator new(56, std::nothrow), 56, keep);
}
__attribute__((noinline)) void lc_new_array_nothrow(bool keep) {
  keep_or_drop(new (std::nothrow) char[72], 72, keep);
}
__attribute__((noinline)) void lc_new_aligned(bool keep) {
  keep_or_drop(new Aligned, sizeof(Aligned), keep);
}
__attribute__((noinline)) void lc_new_array_aligned(bool keep) {
  keep_or_drop(new Aligned[2], 2 * sizeof(Aligned), keep);
}
__attribute__((noinline)) void lc_new_array_cookie() {
  g_array_with_cookie = new WithDestructor[3];
}

__attribute__((noinline)) void scrub_stack() {
  volatile char area[16384];
  std::memset(const_cast<char*>(area), 0, sizeof area);
  escape(const_cast<const char*>(area));
}

int main() {
  use_static_stdout();
  for (bool keep : {false, true}) {
    lc_new(keep);
    lc_new_array(keep);
    lc_new_nothrow(keep);
    lc_new_array_nothrow(keep);
    lc_new_aligned(keep);
    lc_new_array_aligned(keep);
  }
  lc_new_array_cookie();
  scrub_stack();
  return 0;
}
