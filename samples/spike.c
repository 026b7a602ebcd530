// spike: a short-lived working set that sets the peak, then a smaller steady
// one.
//
// Phases (requested sizes, all from malloc):
//   load_config    10 blocks x 500 B        live for the whole run
//   build_spike    64 blocks x 256 KiB      = 16 MiB, freed by drop_spike
//   build_steady  200 blocks x 4096 B       = 819200 B, live until the end
// Peak live heap: 16777216 + 5000 = 16782216 B in 74 blocks, reached at the
// last build_spike allocation; at the peak build_spike holds 16777216 B in 64
// blocks and load_config 5000 B in 10 blocks.
// Totals: 274 allocations, 274 frees, 17601416 B allocated; nothing leaks.
// (Blocks of 256 KiB are above glibc's initial mmap threshold; whether glibc
// maps them or takes them from the heap does not change the live-heap figures.)
#include <stdlib.h>
#include <string.h>

#include "sample_support.h"

enum {
  kConfigCount = 10,
  kConfigSize = 500,
  kSpikeCount = 64,
  kSpikeSize = 256 * 1024,
  kSteadyCount = 200,
  kSteadySize = 4096,
};

static void* g_config[kConfigCount];
static void* g_spike[kSpikeCount];
static void* g_steady[kSteadyCount];

__attribute__((noinline)) void load_config(void) {
  for (int i = 0; i < kConfigCount; i++) {
    g_config[i] = malloc(kConfigSize);
    memset(g_config[i], 1, kConfigSize);
  }
}

__attribute__((noinline)) void build_spike(void) {
  for (int i = 0; i < kSpikeCount; i++) {
    g_spike[i] = malloc(kSpikeSize);
    memset(g_spike[i], 2, kSpikeSize);
  }
}

__attribute__((noinline)) void drop_spike(void) {
  for (int i = 0; i < kSpikeCount; i++) free(g_spike[i]);
}

__attribute__((noinline)) void build_steady(void) {
  for (int i = 0; i < kSteadyCount; i++) {
    g_steady[i] = malloc(kSteadySize);
    memset(g_steady[i], 3, kSteadySize);
  }
}

__attribute__((noinline)) void release_all(void) {
  for (int i = 0; i < kSteadyCount; i++) free(g_steady[i]);
  for (int i = 0; i < kConfigCount; i++) free(g_config[i]);
}

int main(void) {
  use_static_stdout();
  load_config();
  build_spike();
  drop_spike();
  build_steady();
  release_all();
  printf("spike: load_config keeps %d blocks of %d B\n", kConfigCount, kConfigSize);
  printf("spike: build_spike holds %d blocks of %d B, then frees them\n", kSpikeCount, kSpikeSize);
  printf("spike: build_steady holds %d blocks of %d B\n", kSteadyCount, kSteadySize);
  printf("spike: expected peak: %d B in %d blocks; nothing leaks\n",
         kSpikeCount * kSpikeSize + kConfigCount * kConfigSize, kSpikeCount + kConfigCount);
  return 0;
}
