// geo_mallopt: thresholds set with mallopt. The mmap threshold goes down to
// 64 KiB, so 100000 B blocks are mmapped; the trim threshold and top pad
// are set too, and fastbins are switched off (M_MXFAST 0). Setting any
// threshold also fixes the mmap threshold: freeing a mmapped block no longer
// raises it.
//
// set_thresholds   the four mallopt calls
// big_blocks       allocates 20 blocks of 100000 B (mmapped), frees 1
// small_churn      allocates 1000 blocks of 100 B and frees them
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "geo_support.h"

enum { kBig = 20, kBigSize = 100000, kSmall = 1000 };

static void* g_big[kBig];
static void* g_small[kSmall];

__attribute__((noinline)) int set_thresholds(void) {
  int ok = 1;
  ok &= mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  ok &= mallopt(M_TRIM_THRESHOLD, 256 * 1024);
  ok &= mallopt(M_TOP_PAD, 64 * 1024);
  ok &= mallopt(M_MXFAST, 0);
  return ok;
}

__attribute__((noinline)) void big_blocks(void) {
  for (int i = 0; i < kBig; i++) {
    g_big[i] = malloc(kBigSize);
    geo_touch(g_big[i], kBigSize);
  }
  free(g_big[0]);
  g_big[0] = NULL;
}

__attribute__((noinline)) void small_churn(void) {
  for (int i = 0; i < kSmall; i++) {
    g_small[i] = malloc(100);
    geo_touch(g_small[i], 100);
  }
  for (int i = 0; i < kSmall; i++) free(g_small[i]);
}

int main(void) {
  use_static_stdout();
  const uintptr_t start = (uintptr_t)sbrk(0);
  printf("geo: mallopt_ok %d\n", set_thresholds());
  big_blocks();
  small_churn();
  geo_print_break("end", start);
  geo_print_mallinfo("end");
  return 0;
}
