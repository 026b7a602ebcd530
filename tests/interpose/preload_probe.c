// A program run under libheapgap.so by preload_test.cc; argv[1] picks the
// scenario. Built with -fno-builtin so the compiler keeps every call.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void* volatile sink;

__attribute__((noinline)) void* alloc_site(size_t n) { return malloc(n); }

static int basic(void) {
  void* a = alloc_site(100);
  void* b = alloc_site(100);
  void* c = alloc_site(100);
  free(b);
  void* d = calloc(10, 20);
  void* e = realloc(a, 5000);
  void* f = realloc(NULL, 64);
  void* g = NULL;
  if (posix_memalign(&g, 64, 256) != 0) return 1;
  void* h = aligned_alloc(4096, 4096);
  sink = realloc(f, 0);  // frees f, returns NULL
  sink = c; sink = d; sink = e; sink = g; sink = h;
  return 0;
}

#define RING 256
static void* volatile ring[RING];
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

static void* churn(void* arg) {
  unsigned x = (unsigned)(uintptr_t)arg * 2654435761u + 1;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1103515245u + 12345u;
    void* p = malloc(16 + (x >> 16) % 200);
    pthread_mutex_lock(&ring_lock);
    int k = (int)((x >> 8) % RING);
    void* old = ring[k];
    ring[k] = p;
    pthread_mutex_unlock(&ring_lock);
    free(old);  // often a block another thread allocated
  }
  return NULL;
}

static int threads(void) {
  pthread_t t[4];
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, churn, (void*)(uintptr_t)i);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  for (int k = 0; k < RING; ++k) free(ring[k]);
  return 0;
}

static int forking(void) {
  sink = alloc_site(1000);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 5; ++i) sink = alloc_site(77);
    exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

static int errno_contract(void) {
  void* p = malloc(10);
  errno = 1234;
  free(p);
  if (errno != 1234) return 1;
  void* q = NULL;
  if (posix_memalign(&q, 3, 10) != EINVAL) return 2;
  if (posix_memalign(&q, 0, 10) != EINVAL) return 3;
  errno = 0;
  if (malloc(SIZE_MAX - 4096) != NULL || errno != ENOMEM) return 4;
  errno = 0;
  if (calloc(SIZE_MAX / 2, 4) != NULL || errno != ENOMEM) return 5;
  errno = 0;
  if (reallocarray(NULL, SIZE_MAX / 2, 4) != NULL || errno != ENOMEM) return 6;
  void* r = malloc(32);
  errno = 0;
  if (realloc(r, SIZE_MAX - 4096) != NULL || errno != ENOMEM) return 7;
  free(r);  // still valid after the failed realloc
  void* a = aligned_alloc(256, 512);
  if (((uintptr_t)a & 255) != 0) return 8;
  free(a);
  return 0;
}

struct node {
  struct node* next;
  char pad[24];
};
void* g_reach;
char* g_interior;

// The stores below must reach memory even though the blocks are dropped
// right after: the compiler knows malloc's result is fresh memory.
static void escape(void* p) { __asm__ volatile("" : : "r"(p) : "memory"); }

// Leak classes known by construction (memcheck agrees):
// definitely 100 + 32 + 32 (cycle leader) = 164 B in 3 blocks,
// indirectly 32 + 32 = 64 B in 2, possibly 300 B in 1, reachable 200 B in 1.
__attribute__((noinline)) static void make_leaks(void) {
  void* volatile lost = alloc_site(100);
  lost = NULL;
  struct node* head = alloc_site(sizeof *head);
  head->next = alloc_site(sizeof *head);
  head->next->next = NULL;
  escape(head);
  head = NULL;
  g_reach = alloc_site(200);
  g_interior = (char*)alloc_site(300) + 100;
  struct node* a = alloc_site(sizeof *a);
  struct node* b = alloc_site(sizeof *b);
  a->next = b;
  b->next = a;
  escape(a);
  escape(b);
  a = b = NULL;
  (void)lost;
}

// A block from malloc released with free of an interior pointer: glibc
// aborts; the trace must still hold the release, with its stack.
__attribute__((noinline)) static void bad_free(void) {
  char* p = alloc_site(64);
  free(p + 16);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "basic";
  if (!strcmp(mode, "basic")) return basic();
  if (!strcmp(mode, "threads")) return threads();
  if (!strcmp(mode, "fork")) return forking();
  if (!strcmp(mode, "errno")) return errno_contract();
  if (!strcmp(mode, "dlopen") && argc > 2) {
    // Loaded, used and unloaded between two flushes.
    void* h = dlopen(argv[2], RTLD_NOW);
    if (!h) return 3;
    void (*f)(void) = (void (*)(void))dlsym(h, "plugin_alloc");
    f();
    dlclose(h);
    return 0;
  }
  if (!strcmp(mode, "vfork")) {
    sink = alloc_site(11);
    pid_t pid = vfork();
    if (pid == 0) {
      execl("/bin/true", "true", (char*)NULL);
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    sink = alloc_site(99);  // the parent still traces
    return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
  }
  if (!strcmp(mode, "leaks")) {
    make_leaks();
    return 0;
  }
  if (!strcmp(mode, "bad_free")) {
    bad_free();
    return 0;
  }
  if (!strcmp(mode, "exec")) {
    sink = alloc_site(55);
    execl("/bin/true", "true", (char*)NULL);
    return 1;
  }
  if (!strcmp(mode, "_exit")) {
    sink = alloc_site(66);
    _exit(7);
  }
  if (!strcmp(mode, "abort")) {
    sink = alloc_site(88);
    abort();
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
