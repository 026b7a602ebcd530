// Helpers for the heap geometry samples (geo_*.c): each measures its own heap
// natively, without allocating, and prints the figures as "geo: KEY VALUE"
// lines that the integration tests compare with heapgap's report of the same
// run.
#ifndef HEAPGAP_SAMPLES_GEO_SUPPORT_H_
#define HEAPGAP_SAMPLES_GEO_SUPPORT_H_

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sample_support.h"

// Resident set size in bytes, from /proc/self/statm (no stdio: fopen allocates).
static inline long geo_rss_bytes(void) {
  char text[128] = {0};
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  long total_pages = 0, resident_pages = 0;
  if (sscanf(text, "%ld %ld", &total_pages, &resident_pages) != 2) return -1;
  return resident_pages * sysconf(_SC_PAGESIZE);
}

// The break's distance from `start` (sbrk(0) when main began).
static inline void geo_print_break(const char* label, uintptr_t start) {
  printf("geo: %s_break_above_start %zu\n", label, (size_t)((uintptr_t)sbrk(0) - start));
}

static inline void geo_print_rss(const char* label) {
  printf("geo: %s_rss %ld\n", label, geo_rss_bytes());
}

// glibc's own statistics, all arenas together.
static inline void geo_print_mallinfo(const char* label) {
  struct mallinfo2 m = mallinfo2();
  printf("geo: %s_arena %zu\n", label, m.arena);
  printf("geo: %s_ordblks %zu\n", label, m.ordblks);
  printf("geo: %s_smblks %zu\n", label, m.smblks);
  printf("geo: %s_hblks %zu\n", label, m.hblks);
  printf("geo: %s_hblkhd %zu\n", label, m.hblkhd);
  printf("geo: %s_fsmblks %zu\n", label, m.fsmblks);
  printf("geo: %s_uordblks %zu\n", label, m.uordblks);
  printf("geo: %s_fordblks %zu\n", label, m.fordblks);
  printf("geo: %s_keepcost %zu\n", label, m.keepcost);
}

// Touches every page of a block, so that it is resident.
static inline void geo_touch(void* p, size_t size) {
  memset(p, 0x5a, size);
  escape(p);
}

#endif  // HEAPGAP_SAMPLES_GEO_SUPPORT_H_
