// crasher: ends in the way the command line asks, after allocating a little.
//
// Usage: crasher exit N | _exit N | abort | segv | kill MILLISECONDS
//   exit N    returns N from main (exit handlers run)
//   _exit N   calls _exit(N) (exit handlers skipped)
//   abort     calls abort(): killed by SIGABRT (6)
//   segv      writes through a null pointer: killed by SIGSEGV (11)
//   kill MS   two threads allocate and free as fast as they can; after MS
//             milliseconds the main thread sends itself SIGKILL (9)
// Every mode first calls before_end, which leaks 3 blocks of 48 B.
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sample_support.h"

enum { kLeakCount = 3, kLeakSize = 48, kWindow = 256 };

__attribute__((noinline)) void before_end(void) {
  for (int i = 0; i < kLeakCount; i++) {
    char* p = malloc(kLeakSize);
    memset(p, 1, kLeakSize);
    escape(p);
  }
}

// Keeps a sliding window of live blocks, so that frees and allocations mix.
__attribute__((noinline)) void* churn_worker(void* seed_arg) {
  void* window[kWindow] = {0};
  unsigned x = (unsigned)(uintptr_t)seed_arg * 2654435761u + 1;
  for (unsigned long i = 0;; i++) {
    x = x * 1103515245u + 12345u;
    size_t k = i % kWindow;
    free(window[k]);
    window[k] = malloc(16 + (x >> 16) % 1024);
    escape(window[k]);
  }
  return NULL;
}

static void sleep_ms(long ms) {
  struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&delay, &delay) != 0) {
  }
}

static int usage(void) {
  fprintf(stderr, "usage: crasher exit N | _exit N | abort | segv | kill MILLISECONDS\n");
  return 2;
}

int main(int argc, char** argv) {
  use_static_stdout();
  if (argc < 2) return usage();
  const char* mode = argv[1];
  long arg = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
  before_end();
  printf("crasher: %s %ld\n", mode, arg);
  fflush(stdout);  // the abnormal endings below would lose buffered text

  if (strcmp(mode, "exit") == 0) return (int)arg;
  if (strcmp(mode, "_exit") == 0) _exit((int)arg);
  if (strcmp(mode, "abort") == 0) abort();
  if (strcmp(mode, "segv") == 0) {
    volatile int* volatile nowhere = NULL;
    *nowhere = 1;
    return 0;
  }
  if (strcmp(mode, "kill") == 0) {
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) pthread_create(&threads[t], NULL, churn_worker, (void*)(uintptr_t)(t + 1));
    sleep_ms(arg);
    raise(SIGKILL);
  }
  return usage();
}
