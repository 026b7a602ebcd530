// fragment: a small live block at the top of the brk heap keeps ~20 MB of
// freed heap from being returned to the system.
//
// fill       allocates 20000 blocks of 1000 B (19.07 MiB of brk heap)
// make_pin   allocates one 4096 B block, which lands at the top of the heap
// drain      frees the 20000 blocks
// The pin is never freed. Expected figures (requested sizes, all from malloc):
//   leaked at exit: 4096 B in 1 block, allocated by make_pin
//   peak live heap: 20004096 B in 20001 blocks (after make_pin, before drain)
//   totals: 20001 allocations, 20000 frees, 20004096 B allocated
// The program prints how far the break (sbrk(0)) moved and glibc's mallinfo2
// after drain: the break stays ~19 MiB above its start although 4 KiB are
// live, and mallinfo2 shows the gap as free bytes (fordblks) that are not at
// the releasable top (keepcost). RSS goes to stderr, since it varies.
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sample_support.h"

enum { kBlockCount = 20000, kBlockSize = 1000, kPinSize = 4096 };

static void* g_blocks[kBlockCount];
void* g_pin;

// Resident set size in KiB, read without stdio (fopen would allocate).
static long rss_kib(void) {
  char text[128] = {0};
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  long total_pages = 0, resident_pages = 0;
  if (sscanf(text, "%ld %ld", &total_pages, &resident_pages) != 2) return -1;
  return resident_pages * (sysconf(_SC_PAGESIZE) / 1024);
}

__attribute__((noinline)) void fill(void) {
  for (int i = 0; i < kBlockCount; i++) {
    g_blocks[i] = malloc(kBlockSize);
    memset(g_blocks[i], 1, kBlockSize);
  }
}

__attribute__((noinline)) void* make_pin(size_t size) {
  void* p = malloc(size);
  memset(p, 2, size);
  return p;
}

__attribute__((noinline)) void drain(void) {
  for (int i = 0; i < kBlockCount; i++) free(g_blocks[i]);
}

int main(void) {
  use_static_stdout();
  uintptr_t brk_start = (uintptr_t)sbrk(0);
  fprintf(stderr, "fragment: rss at start %ld KiB\n", rss_kib());
  fill();
  uintptr_t brk_filled = (uintptr_t)sbrk(0);
  g_pin = make_pin(kPinSize);
  drain();
  uintptr_t brk_drained = (uintptr_t)sbrk(0);
  struct mallinfo2 info = mallinfo2();
  fprintf(stderr, "fragment: rss after drain %ld KiB (pin still live)\n", rss_kib());

  printf("fragment: fill allocated %d blocks of %d B; make_pin keeps 1 block of %d B\n",
         kBlockCount, kBlockSize, kPinSize);
  printf("fragment: break moved up %zu B during fill\n", (size_t)(brk_filled - brk_start));
  printf("fragment: break is %zu B above its start after drain\n",
         (size_t)(brk_drained - brk_start));
  printf("fragment: mallinfo2 arena %zu, in use %zu, free %zu, releasable top %zu\n",
         info.arena, info.uordblks, info.fordblks, info.keepcost);
  printf("fragment: expected: 4096 B in 1 block leaked (make_pin); "
         "peak 20004096 B in 20001 blocks\n");
  return 0;
}
