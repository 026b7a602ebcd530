// geo_trim: malloc_trim(0) gives the pages of a pinned hole back to the
// system (RSS falls) but cannot move the break below the pin.
//
// fill          allocates 20000 blocks of 1000 B and touches them
// keep_last     allocates one 100 B block on top of them
// drain         frees the 20000 blocks
// trim_now      calls malloc_trim(0)
// The program prints its RSS and break before and after malloc_trim. The
// report's record of the malloc_trim call carries the bytes the model
// expected it to release; the RSS drop must match it closely.
#include <stdint.h>
#include <stdlib.h>

#include "geo_support.h"

enum { kBlocks = 20000, kBlockSize = 1000 };

static void* g_blocks[kBlocks];
void* g_last;

__attribute__((noinline)) void fill(void) {
  for (int i = 0; i < kBlocks; i++) {
    g_blocks[i] = malloc(kBlockSize);
    geo_touch(g_blocks[i], kBlockSize);
  }
}

__attribute__((noinline)) void* keep_last(void) {
  void* p = malloc(100);
  geo_touch(p, 100);
  return p;
}

__attribute__((noinline)) void drain(void) {
  for (int i = 0; i < kBlocks; i++) free(g_blocks[i]);
}

__attribute__((noinline)) int trim_now(void) { return malloc_trim(0); }

int main(void) {
  use_static_stdout();
  const uintptr_t start = (uintptr_t)sbrk(0);
  fill();
  g_last = keep_last();
  drain();
  geo_print_break("before_trim", start);
  geo_print_rss("before_trim");
  const int released = trim_now();
  geo_print_break("after_trim", start);
  geo_print_rss("after_trim");
  printf("geo: trim_result %d\n", released);
  geo_print_break("end", start);
  geo_print_mallinfo("end");
  return 0;
}
