// apis: one call of each C allocation API, each from its own function.
//
// Expected leaks (requested sizes), one block per function:
//   call_malloc           malloc(101)                         101 B
//   call_calloc           calloc(3, 34)                       102 B
//   call_realloc_grow     malloc(16), then realloc to 1000   1000 B
//   call_realloc_shrink   malloc(500), then realloc to 50      50 B
//   call_realloc_null     realloc(NULL, 123)                  123 B
//   call_reallocarray     reallocarray(NULL, 5, 26)           130 B
//   call_memalign         memalign(64, 200)                   200 B
//   call_posix_memalign   posix_memalign(128, 300)            300 B
//   call_aligned_alloc    aligned_alloc(256, 512)             512 B
//   call_valloc           valloc(700)                         700 B
//   call_pvalloc          pvalloc(900)                        900 B
// Total leaked: 4118 B in 11 blocks. Not leaked:
//   call_realloc_zero     malloc(77), then realloc(p, 0), which frees it
//   call_free             malloc(55), then free
// Calls: malloc 5, calloc 1, realloc 4, reallocarray 1, memalign 1,
// posix_memalign 1, aligned_alloc 1, valloc 1, pvalloc 1, free 1.
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sample_support.h"

static void* g_kept[16];
static int g_kept_count;

static void keep(void* p) { g_kept[g_kept_count++] = p; }

static int aligned_to(const void* p, uintptr_t alignment) {
  return ((uintptr_t)p % alignment) == 0;
}

__attribute__((noinline)) void call_malloc(void) { keep(malloc(101)); }

__attribute__((noinline)) void call_calloc(void) { keep(calloc(3, 34)); }

__attribute__((noinline)) void call_realloc_grow(void) {
  char* p = malloc(16);
  memset(p, 1, 16);
  keep(realloc(p, 1000));
}

__attribute__((noinline)) void call_realloc_shrink(void) {
  char* p = malloc(500);
  memset(p, 2, 500);
  keep(realloc(p, 50));
}

__attribute__((noinline)) void call_realloc_null(void) { keep(realloc(NULL, 123)); }

// glibc's realloc(p, 0) frees p and returns NULL.
__attribute__((noinline)) int call_realloc_zero(void) {
  char* p = malloc(77);
  escape(p);
  return realloc(p, 0) == NULL;
}

__attribute__((noinline)) void call_reallocarray(void) { keep(reallocarray(NULL, 5, 26)); }

__attribute__((noinline)) int call_memalign(void) {
  void* p = memalign(64, 200);
  keep(p);
  return aligned_to(p, 64);
}

__attribute__((noinline)) int call_posix_memalign(void) {
  void* p = NULL;
  int rc = posix_memalign(&p, 128, 300);
  keep(p);
  return rc == 0 && aligned_to(p, 128);
}

__attribute__((noinline)) int call_aligned_alloc(void) {
  void* p = aligned_alloc(256, 512);
  keep(p);
  return aligned_to(p, 256);
}

__attribute__((noinline)) int call_valloc(void) {
  void* p = valloc(700);
  keep(p);
  return aligned_to(p, 4096);
}

__attribute__((noinline)) int call_pvalloc(void) {
  void* p = pvalloc(900);
  keep(p);
  return aligned_to(p, 4096);
}

__attribute__((noinline)) void call_free(void) {
  char* p = malloc(55);
  escape(p);
  free(p);
}

int main(void) {
  use_static_stdout();
  int ok = 1;
  call_malloc();
  call_calloc();
  call_realloc_grow();
  call_realloc_shrink();
  call_realloc_null();
  ok &= call_realloc_zero();
  call_reallocarray();
  ok &= call_memalign();
  ok &= call_posix_memalign();
  ok &= call_aligned_alloc();
  ok &= call_valloc();
  ok &= call_pvalloc();
  call_free();
  for (int i = 0; i < g_kept_count; i++) ok &= g_kept[i] != NULL;
  printf("apis: %d blocks kept, alignment and results %s\n", g_kept_count, ok ? "as expected" : "WRONG");
  printf("apis: expected: 4118 B in 11 blocks leaked, one per API\n");
  return ok ? 0 : 1;
}
