// geo_mmap: blocks above the mmap threshold get their own mappings and leave
// no hole in the heap when freed.
//
// map_blocks     allocates 8 blocks of 1 MiB (each mmapped) and a 100 B block
// unmap_blocks   frees the 8 large blocks
// The program measures mallinfo2 while the large blocks are live (hblks 8)
// and at the end; the break does not move for them.
#include <stdint.h>
#include <stdlib.h>

#include "geo_support.h"

enum { kBlocks = 8, kBlockSize = 1 << 20 };

static void* g_blocks[kBlocks];
void* g_small;

__attribute__((noinline)) void map_blocks(void) {
  for (int i = 0; i < kBlocks; i++) {
    g_blocks[i] = malloc(kBlockSize);
    geo_touch(g_blocks[i], kBlockSize);
  }
  g_small = malloc(100);
  geo_touch(g_small, 100);
}

__attribute__((noinline)) void unmap_blocks(void) {
  for (int i = 0; i < kBlocks; i++) free(g_blocks[i]);
}

int main(void) {
  use_static_stdout();
  const uintptr_t start = (uintptr_t)sbrk(0);
  map_blocks();
  geo_print_break("mapped", start);
  geo_print_mallinfo("mapped");
  unmap_blocks();
  geo_print_break("end", start);
  geo_print_mallinfo("end");
  return 0;
}
