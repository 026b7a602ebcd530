// geo_swiss: swiss-cheese frees. 10000 blocks of 300 B are allocated and
// every other one is freed: each freed block is a hole too small for any
// page to be released, wedged between two live blocks. The first 7 freed
// stay in the tcache (glibc counts them in use); the others are free chunks.
#include <stdint.h>
#include <stdlib.h>

#include "geo_support.h"

enum { kBlocks = 10000, kBlockSize = 300 };

static void* g_blocks[kBlocks];

__attribute__((noinline)) void allocate_all(void) {
  for (int i = 0; i < kBlocks; i++) {
    g_blocks[i] = malloc(kBlockSize);
    geo_touch(g_blocks[i], kBlockSize);
  }
}

__attribute__((noinline)) void free_every_other(void) {
  for (int i = 0; i < kBlocks; i += 2) {
    free(g_blocks[i]);
    g_blocks[i] = NULL;
  }
}

int main(void) {
  use_static_stdout();
  const uintptr_t start = (uintptr_t)sbrk(0);
  allocate_all();
  free_every_other();
  geo_print_break("end", start);
  geo_print_mallinfo("end");
  return 0;
}
