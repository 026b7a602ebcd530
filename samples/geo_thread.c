// geo_thread: a pin in a thread arena. A worker thread allocates 2000 blocks
// of 4000 B in its own arena heap, then one 64 B block (worker_pin) on top of
// them, then frees the 2000 blocks and exits. Its arena heap cannot shrink
// below the pin, so about 7.8 MiB stay mapped in it.
// The main thread measures after joining the worker: the break, and
// mallinfo2, whose arena and free figures cover the main heap and the
// thread arena together.
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "geo_support.h"

enum { kBlocks = 2000, kBlockSize = 4000 };

static void* g_blocks[kBlocks];
void* g_worker_pin;

__attribute__((noinline)) void worker_fill(void) {
  for (int i = 0; i < kBlocks; i++) {
    g_blocks[i] = malloc(kBlockSize);
    geo_touch(g_blocks[i], kBlockSize);
  }
}

__attribute__((noinline)) void* worker_pin(void) {
  void* p = malloc(64);
  geo_touch(p, 64);
  return p;
}

__attribute__((noinline)) void worker_drain(void) {
  for (int i = 0; i < kBlocks; i++) free(g_blocks[i]);
}

static void* worker(void* arg) {
  (void)arg;
  worker_fill();
  g_worker_pin = worker_pin();
  worker_drain();
  return NULL;
}

int main(void) {
  use_static_stdout();
  const uintptr_t start = (uintptr_t)sbrk(0);
  pthread_t thread;
  if (pthread_create(&thread, NULL, worker, NULL) != 0) return 1;
  pthread_join(thread, NULL);
  geo_print_break("end", start);
  geo_print_mallinfo("end");
  return 0;
}
