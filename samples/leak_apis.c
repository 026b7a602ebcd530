// leak_apis: every C allocation function, each leaving one block definitely
// lost and one still reachable (kept in a global array), plus a realloc
// chain. Every allocating function is named lc_*; expected classes at exit
// (requested sizes; pvalloc is left out: memcheck 3.19 aborts the program
// when it is called):
//   function            definitely lost      still reachable
//   lc_malloc           1 x 101 B            1 x 101 B
//   lc_calloc           1 x 3*37 = 111 B     1 x 111 B
//   lc_realloc          1 x 121 B            1 x 121 B   (realloc(NULL, 121))
//   lc_reallocarray     1 x 4*33 = 132 B     1 x 132 B
//   lc_memalign         1 x 141 B            1 x 141 B   (alignment 64)
//   lc_posix_memalign   1 x 151 B            1 x 151 B   (alignment 32)
//   lc_aligned_alloc    1 x 256 B            1 x 256 B   (alignment 128)
//   lc_valloc           1 x 161 B            1 x 161 B
//   lc_realloc_chain    1 x 5000 B (grown from 10 through 5 reallocs; freed
//                       blocks of the chain are not leaks), and a second
//                       chain ending in realloc(p, 0): nothing
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "sample_support.h"

void* g_kept[16];
static int g_kept_count;

static void keep_or_drop(void* p, size_t size, int keep) {
  memset(p, 7, size);
  if (keep) g_kept[g_kept_count++] = p;
}

__attribute__((noinline)) void lc_malloc(int keep) { keep_or_drop(malloc(101), 101, keep); }
__attribute__((noinline)) void lc_calloc(int keep) { keep_or_drop(calloc(3, 37), 111, keep); }
__attribute__((noinline)) void lc_realloc(int keep) { keep_or_drop(realloc(NULL, 121), 121, keep); }
__attribute__((noinline)) void lc_reallocarray(int keep) {
  keep_or_drop(reallocarray(NULL, 4, 33), 132, keep);
}
__attribute__((noinline)) void lc_memalign(int keep) { keep_or_drop(memalign(64, 141), 141, keep); }
__attribute__((noinline)) void lc_posix_memalign(int keep) {
  void* p = NULL;
  if (posix_memalign(&p, 32, 151) != 0) abort();
  keep_or_drop(p, 151, keep);
}
__attribute__((noinline)) void lc_aligned_alloc(int keep) {
  keep_or_drop(aligned_alloc(128, 256), 256, keep);
}
__attribute__((noinline)) void lc_valloc(int keep) { keep_or_drop(valloc(161), 161, keep); }

__attribute__((noinline)) void lc_realloc_chain(void) {
  char* volatile p = malloc(10);
  static const size_t sizes[] = {100, 1000, 3000, 200, 5000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    p = realloc(p, sizes[i]);
    memset(p, 1, sizes[i]);
  }
  p = NULL;
  char* q = malloc(40);
  q = realloc(q, 400);
  q = realloc(q, 0);  // frees the block (glibc returns NULL)
  escape(q);
}

__attribute__((noinline)) void scrub_stack(void) {
  volatile char area[16384];
  memset((char*)area, 0, sizeof area);
  escape((const void*)area);
}

int main(void) {
  use_static_stdout();
  for (int keep = 0; keep < 2; keep++) {
    lc_malloc(keep);
    lc_calloc(keep);
    lc_realloc(keep);
    lc_reallocarray(keep);
    lc_memalign(keep);
    lc_posix_memalign(keep);
    lc_aligned_alloc(keep);
    lc_valloc(keep);
  }
  lc_realloc_chain();
  scrub_stack();
  return 0;
}
