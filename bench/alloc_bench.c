// alloc_bench: an allocation-heavy workload for measuring tracing overhead.
//
// Usage: alloc_bench [THREADS [OPS_PER_THREAD]]   (defaults: 1 thread, 1000000)
//
// Each thread performs OPS malloc and OPS free calls: a sliding window of 1024
// live blocks, sizes 16..527 B from a fixed pseudo-random sequence, every
// malloc made 17..20 recursive calls deep, so a tracer has a real stack to
// capture. The same workload as the overhead table in the project's research
// notes, so figures can be put side by side.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kDepth = 20, kWindow = 1024, kMaxThreads = 64 };

static long g_ops = 1000000;

__attribute__((noinline)) void* alloc_at(int depth, size_t size) {
  if (depth > 0) {
    void* p = alloc_at(depth - 1, size);
    __asm__ volatile("" ::: "memory");  // keeps the recursion a real call chain
    return p;
  }
  return malloc(size);
}

static void* worker(void* arg) {
  void* window[kWindow];
  memset(window, 0, sizeof window);
  unsigned x = (unsigned)(uintptr_t)arg * 2654435761u + 1;
  for (long i = 0; i < g_ops; i++) {
    x = x * 1103515245u + 12345u;
    size_t size = 16 + (x >> 16) % 512;
    int k = (int)(i % kWindow);
    free(window[k]);
    window[k] = alloc_at(kDepth - (int)((x >> 8) % 4), size);
    ((char*)window[k])[0] = 1;
  }
  for (int k = 0; k < kWindow; k++) free(window[k]);
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (argc > 2) g_ops = atol(argv[2]);
  if (threads < 1 || threads > kMaxThreads || g_ops < 1) {
    fprintf(stderr, "usage: alloc_bench [THREADS (1..%d) [OPS_PER_THREAD]]\n", kMaxThreads);
    return 2;
  }
  pthread_t ids[kMaxThreads];
  for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, worker, (void*)(uintptr_t)t);
  for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
  printf("ops=%ld threads=%d\n", g_ops * threads, threads);
  return 0;
}
