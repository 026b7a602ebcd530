// leak_roots: blocks kept alive by each kind of root a leak checker must scan,
// and one block nothing keeps.
//
// Every allocating function is named lc_*; a memcheck-style check at exit
// must give (requested sizes):
//   lc_global        still reachable  100 B   a pointer in .bss
//   lc_tls           still reachable  200 B   a pointer only in the main
//                                             thread's __thread variable
//   lc_stack         still reachable  300 B   a pointer only in a local of a
//                                             function that calls exit()
//   lc_register      still reachable  400 B   a pointer only in register r12
//                                             of a thread spinning at exit
//                                             (kept XOR-hidden in memory)
//   lc_plugin_keep   still reachable  500 B   a pointer in the data of a
//                                             dlopen'ed library (leak_plugin)
//   lc_dropped       definitely lost  600 B   the pointer is overwritten
// Usage: leak_roots PLUGIN.so
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample_support.h"

#define HIDE_KEY ((uintptr_t)0x5a5a5a5a5a5a5a5aull)

void* g_global;
__thread void* t_tls;
static volatile uintptr_t g_hidden_for_thread;
static volatile int g_thread_ready;

__attribute__((noinline)) void lc_global(void) {
  g_global = malloc(100);
  memset(g_global, 1, 100);
}

__attribute__((noinline)) void lc_tls(void) {
  t_tls = malloc(200);
  memset(t_tls, 2, 200);
}

__attribute__((noinline)) void* lc_stack(void) {
  void* p = malloc(300);
  memset(p, 3, 300);
  return p;
}

__attribute__((noinline)) void lc_register(void) {
  void* p = malloc(400);
  memset(p, 4, 400);
  g_hidden_for_thread = (uintptr_t)p ^ HIDE_KEY;
  p = NULL;
  escape(&p);
}

__attribute__((noinline)) void lc_dropped(void) {
  void* volatile p = malloc(600);
  memset(p, 6, 600);
  p = NULL;
}

// Holds the block's address only in r12 and spins until the process exits.
static void* spin_with_pointer_in_register(void* unused) {
  (void)unused;
  __asm__ volatile(
      "mov %0, %%r12\n\t"
      "xor %1, %%r12\n\t"
      "movl $1, %2\n\t"
      "1: pause\n\t"
      "jmp 1b\n\t"
      :
      : "m"(g_hidden_for_thread), "r"(HIDE_KEY), "m"(g_thread_ready)
      : "r12", "memory");
  return NULL;
}

// Overwrites the dead part of the stack, so no stale copy of a dropped
// pointer survives below main's frame.
__attribute__((noinline)) void scrub_stack(void) {
  volatile char area[16384];
  memset((char*)area, 0, sizeof area);
  escape((const void*)area);
}

// Keeps `p` in its own frame, then exits from below it.
__attribute__((noinline)) void exit_with_local(void* p) {
  void* volatile keep = p;
  escape((const void*)&keep);
  printf("leak_roots: exiting with the stack block in a local\n");
  fflush(stdout);
  exit(0);
}

int main(int argc, char** argv) {
  use_static_stdout();
  if (argc < 2) {
    fprintf(stderr, "usage: leak_roots PLUGIN.so\n");
    return 2;
  }
  void* plugin = dlopen(argv[1], RTLD_NOW);
  if (plugin == NULL) {
    fprintf(stderr, "leak_roots: %s\n", dlerror());
    return 2;
  }
  void (*keep)(void) = (void (*)(void))dlsym(plugin, "lc_plugin_keep");
  if (keep == NULL) return 2;

  lc_global();
  lc_tls();
  keep();
  lc_dropped();
  lc_register();
  // The hidden pointer is only a value; clear it once the thread holds it.
  pthread_t spinner;
  if (pthread_create(&spinner, NULL, spin_with_pointer_in_register, NULL) != 0) return 1;
  while (!g_thread_ready) {
  }
  g_hidden_for_thread = 0;
  scrub_stack();
  exit_with_local(lc_stack());
}
