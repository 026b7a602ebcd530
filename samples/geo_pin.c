// geo_pin: a 40-byte block allocated at the top of the main heap keeps a
// freed working set of about 10 MiB from going back to the system.
//
// build_working_set  allocates 5000 blocks of 200..4000 B (pseudo-random sizes)
// cache_insert       allocates one 40 B block: it lands at the top of the heap
// drop_working_set   frees the 5000 blocks
// The program then measures its heap itself: how far the break is above its
// start, and mallinfo2. glibc cannot trim the heap below the live 40 B block:
// the freed blocks form holes (free chunks that are not the top), except
// those kept in the tcache. heapgap's report of the same run must show those
// holes, within a few percent, and name cache_insert as the block pinning them.
#include <stdint.h>
#include <stdlib.h>

#include "geo_support.h"

enum { kBlocks = 5000 };

static void* g_blocks[kBlocks];
void* g_cache_entry;

__attribute__((noinline)) void build_working_set(void) {
  uint32_t seed = 12345;
  for (int i = 0; i < kBlocks; i++) {
    seed = seed * 1103515245u + 12345u;
    const size_t size = 200 + (seed >> 8) % 3800;
    g_blocks[i] = malloc(size);
    geo_touch(g_blocks[i], size);
  }
}

__attribute__((noinline)) void* cache_insert(void) {
  void* p = malloc(40);
  geo_touch(p, 40);
  return p;
}

__attribute__((noinline)) void drop_working_set(void) {
  for (int i = 0; i < kBlocks; i++) free(g_blocks[i]);
}

int main(void) {
  use_static_stdout();
  const uintptr_t start = (uintptr_t)sbrk(0);
  build_working_set();
  geo_print_break("filled", start);
  g_cache_entry = cache_insert();
  drop_working_set();
  geo_print_break("end", start);
  geo_print_mallinfo("end");
  geo_print_rss("end");
  return 0;
}
