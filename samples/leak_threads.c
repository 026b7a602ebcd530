// leak_threads: blocks whose only pointers live in threads. Every allocating
// function is named lc_*; expected classes at exit (requested sizes):
//   lc_exited_tls     definitely lost  4 x 100 B  kept only in the __thread
//                                                 variable of threads that
//                                                 have exited
//   lc_exited_stack   definitely lost  4 x 200 B  kept only in a local of
//                                                 those threads
//   lc_joined         still reachable  4 x 300 B  returned through
//                                                 pthread_join into a global
//   lc_live_stack     still reachable  1 x 400 B  on the stack of a thread
//                                                 still blocked at exit
// glibc keeps the stacks (and static TLS) of exited threads mapped for reuse;
// what is left there is no root: memcheck releases those stacks before its
// check, and they belong to no live thread.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sample_support.h"

enum { kThreads = 4 };

__thread void* t_kept;
void* g_joined[kThreads];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static int g_live_ready;

__attribute__((noinline)) void lc_exited_tls(void) {
  t_kept = malloc(100);
  memset(t_kept, 1, 100);
}

__attribute__((noinline)) void* lc_exited_stack(void) {
  void* p = malloc(200);
  memset(p, 2, 200);
  return p;
}

__attribute__((noinline)) void* lc_joined(void) {
  void* p = malloc(300);
  memset(p, 3, 300);
  return p;
}

__attribute__((noinline)) void* lc_live_stack(void) {
  void* p = malloc(400);
  memset(p, 4, 400);
  return p;
}

static void* short_lived(void* unused) {
  (void)unused;
  lc_exited_tls();
  void* volatile local = lc_exited_stack();
  escape((const void*)&local);
  return lc_joined();
}

static void* blocked_forever(void* unused) {
  (void)unused;
  void* volatile local = lc_live_stack();
  escape((const void*)&local);
  pthread_mutex_lock(&g_lock);
  g_live_ready = 1;
  pthread_cond_signal(&g_cond);
  for (;;) pthread_cond_wait(&g_cond, &g_lock);
  return NULL;
}

int main(void) {
  use_static_stdout();
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; i++) {
    if (pthread_create(&threads[i], NULL, short_lived, NULL) != 0) return 1;
  }
  for (int i = 0; i < kThreads; i++) pthread_join(threads[i], &g_joined[i]);
  pthread_t live;
  if (pthread_create(&live, NULL, blocked_forever, NULL) != 0) return 1;
  pthread_mutex_lock(&g_lock);
  while (!g_live_ready) pthread_cond_wait(&g_cond, &g_lock);
  pthread_mutex_unlock(&g_lock);
  return 0;
}
