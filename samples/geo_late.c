// geo_late: which live block pins a freed working set is the one allocated
// late, on top of it, not the one allocated early, below it.
//
// early_setup     allocates a 64 B block before anything else (bottom of the heap)
// build_table     allocates 4000 blocks of 2000 B
// late_note       allocates a 24 B block after them (top of the heap)
// drop_table      frees the 4000 blocks
// Both small blocks stay live. The report's pinning chain must start with
// late_note's block, which pins the ~7.7 MiB below it; early_setup's block
// pins nothing that a trim could return.
#include <stdint.h>
#include <stdlib.h>

#include "geo_support.h"

enum { kBlocks = 4000, kBlockSize = 2000 };

static void* g_table[kBlocks];
void* g_early;
void* g_late;

__attribute__((noinline)) void* early_setup(void) {
  void* p = malloc(64);
  geo_touch(p, 64);
  return p;
}

__attribute__((noinline)) void build_table(void) {
  for (int i = 0; i < kBlocks; i++) {
    g_table[i] = malloc(kBlockSize);
    geo_touch(g_table[i], kBlockSize);
  }
}

__attribute__((noinline)) void* late_note(void) {
  void* p = malloc(24);
  geo_touch(p, 24);
  return p;
}

__attribute__((noinline)) void drop_table(void) {
  for (int i = 0; i < kBlocks; i++) free(g_table[i]);
}

int main(void) {
  use_static_stdout();
  const uintptr_t start = (uintptr_t)sbrk(0);
  g_early = early_setup();
  build_table();
  g_late = late_note();
  drop_table();
  geo_print_break("end", start);
  geo_print_mallinfo("end");
  return 0;
}
