// geo_dynamic: glibc's dynamic mmap threshold. Freeing a mmapped 1 MiB block
// raises the mmap threshold to its size (and the trim threshold to twice
// that), so the 512 KiB blocks allocated afterwards come from the brk heap,
// and the heap keeps a free top of up to the new trim threshold.
//
// one_big        allocates and frees a 1 MiB block (mmapped)
// half_megs      allocates 4 blocks of 512 KiB: from the heap now
// drop_halves    frees the last three; the 1.6 MiB top they leave is below
//                the new trim threshold (2 MiB), so glibc keeps it, where
//                with the default 128 KiB it would have trimmed it
#include <stdint.h>
#include <stdlib.h>

#include "geo_support.h"

enum { kHalves = 4, kHalfSize = 512 * 1024 };

static void* g_halves[kHalves];

__attribute__((noinline)) void one_big(void) {
  void* p = malloc(1 << 20);
  geo_touch(p, 1 << 20);
  free(p);
}

__attribute__((noinline)) void half_megs(void) {
  for (int i = 0; i < kHalves; i++) {
    g_halves[i] = malloc(kHalfSize);
    geo_touch(g_halves[i], kHalfSize);
  }
}

__attribute__((noinline)) void drop_halves(void) {
  for (int i = 1; i < kHalves; i++) free(g_halves[i]);
}

int main(void) {
  use_static_stdout();
  const uintptr_t start = (uintptr_t)sbrk(0);
  one_big();
  half_megs();
  geo_print_break("halves", start);
  geo_print_mallinfo("halves");
  drop_halves();
  geo_print_break("end", start);
  geo_print_mallinfo("end");
  return 0;
}
