// stress: programs that push a heap tracer where it is weakest. Each mode
// prints one line saying what it did and exits 0 when everything worked the
// way it must without a tracer; anything else is a failure.
//
// Usage: stress MODE [ARGS...]
//   fork-exec FORKS SELF   16 threads allocate while the main thread forks
//                          FORKS times; each child allocates a little
//                          (every other one) and execs `SELF child`
//   child                  allocates a few blocks and exits 0
//   signals MS             SIGPROF every 200 us for MS milliseconds; the
//                          handler allocates heavily while 4 threads and the
//                          main thread run a malloc/free loop
//   threads WAVES          WAVES waves of 16 threads (joined, detached, and
//                          pthread_exit from a nested call) that allocate
//   dlopen PLUGIN LOOPS    dlopen/dlclose PLUGIN LOOPS times; its functions
//                          allocate, its blocks are freed after dlclose
//   recursion DEPTH        recursion DEPTH frames deep on a large thread stack,
//                          allocating every 64 frames and freeing on the way up
//   churn COUNTER_FILE     4 threads allocate and free forever, counting
//                          completed allocations in a shared file (for a test
//                          that SIGKILLs the process at a random moment)
//   vfork SELF COUNT       vfork + exec `SELF child` COUNT times
//   spawn SELF COUNT       posix_spawn `SELF child` COUNT times
//   clone COUNT            clone() without CLONE_VM COUNT times; each child
//                          allocates and _exits with a status
//   longjmp LOOPS          longjmp out of nested frames that allocate, and out
//                          of a qsort comparator
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static void die(const char* what) {
  fprintf(stderr, "stress: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void* checked_malloc(size_t size) {
  void* p = malloc(size);
  if (p == NULL) die("malloc");
  memset(p, 0x5a, size);
  return p;
}

static int wait_ok(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "stress: child %d killed by signal %d\n", (int)pid, WTERMSIG(status));
  } else {
    fprintf(stderr, "stress: child %d exited with status %d\n", (int)pid, WEXITSTATUS(status));
  }
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// ---- child: what exec'd children run.
static int child_mode(void) {
  void* blocks[8];
  for (int i = 0; i < 8; i++) blocks[i] = checked_malloc(64 * (i + 1));
  for (int i = 0; i < 8; i += 2) free(blocks[i]);
  return 0;
}

// ---- fork-exec
static atomic_int g_stop;

static void* allocating_thread(void* arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void* window[32] = {0};
  // Bursts with short pauses: 16 busy threads on a small machine would
  // otherwise starve the forking thread.
  struct timespec pause = {0, 200 * 1000};
  while (!atomic_load(&g_stop)) {
    for (int i = 0; i < 200; i++) {
      int slot = rand_r(&seed) % 32;
      free(window[slot]);
      window[slot] = checked_malloc(16 + rand_r(&seed) % 4000);
    }
    nanosleep(&pause, NULL);
  }
  for (int i = 0; i < 32; i++) free(window[i]);
  return NULL;
}

static int fork_exec_mode(int forks, const char* self) {
  enum { kThreads = 16 };
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; i++) {
    if (pthread_create(&threads[i], NULL, allocating_thread, (void*)(uintptr_t)(i + 1)) != 0) die("pthread_create");
  }
  int ok = 0;
  for (int i = 0; i < forks; i++) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      if (i % 2 == 0) free(checked_malloc(100 + i));  // glibc's malloc is fork-safe
      execl(self, self, "child", (char*)NULL);
      _exit(127);
    }
    ok += wait_ok(pid);
  }
  atomic_store(&g_stop, 1);
  for (int i = 0; i < kThreads; i++) pthread_join(threads[i], NULL);
  printf("fork-exec: %d of %d children exited 0\n", ok, forks);
  return ok == forks ? 0 : 1;
}

// ---- signals
static atomic_long g_handler_runs;

static void allocating_handler(int signal) {
  (void)signal;
  int saved = errno;
  // Sizes above the tcache limit, so the handler never touches the tcache
  // bins the interrupted loops use: without a tracer this is safe.
  void* blocks[16];
  for (int i = 0; i < 16; i++) blocks[i] = malloc(1100 + 64 * i);
  for (int i = 0; i < 16; i += 2) blocks[i] = realloc(blocks[i], 3000 + 8 * i);
  for (int i = 0; i < 16; i++) free(blocks[i]);
  atomic_fetch_add(&g_handler_runs, 1);
  errno = saved;
}

static long tcache_loop(double until_ms) {
  // One size class that stays in the thread's tcache: malloc and free never
  // take an arena lock here, so a handler that allocates cannot deadlock.
  long loops = 0;
  while (now_ms() < until_ms) {
    for (int i = 0; i < 1000; i++) {
      volatile char* p = malloc(24);
      p[0] = 1;
      free((void*)p);
    }
    loops++;
  }
  return loops;
}

static double g_until_ms;
static pthread_barrier_t g_barrier;

static void* signal_thread(void* arg) {
  (void)arg;
  free(malloc(24));  // set up the tcache before signals arrive
  pthread_barrier_wait(&g_barrier);
  tcache_loop(g_until_ms);
  // Thread exit returns the tcache to the arena under its lock: no handler now.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPROF);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_barrier_wait(&g_barrier);
  return NULL;
}

static int signals_mode(int ms) {
  enum { kThreads = 4 };
  struct sigaction action = {0};
  action.sa_handler = allocating_handler;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGPROF, &action, NULL) != 0) die("sigaction");
  free(malloc(24));
  for (int i = 0; i < 16; i++) free(malloc(1100 + 64 * i));  // arena set up
  pthread_barrier_init(&g_barrier, NULL, kThreads + 1);
  g_until_ms = now_ms() + ms;
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; i++) {
    if (pthread_create(&threads[i], NULL, signal_thread, NULL) != 0) die("pthread_create");
  }
  pthread_barrier_wait(&g_barrier);
  struct itimerval timer = {{0, 200}, {0, 200}};
  setitimer(ITIMER_PROF, &timer, NULL);
  tcache_loop(g_until_ms);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, NULL);
  pthread_barrier_wait(&g_barrier);
  for (int i = 0; i < kThreads; i++) pthread_join(threads[i], NULL);
  signal(SIGPROF, SIG_IGN);
  long runs = atomic_load(&g_handler_runs);
  printf("signals: handlers ran %s\n", runs > 10 ? "many times" : "too few times");
  return runs > 10 ? 0 : 1;
}

// ---- threads
static __thread char* t_name;

__attribute__((noinline)) static void exit_from_nested_call(void* block) {
  free(block);
  pthread_exit(NULL);
}

static void* storm_thread(void* arg) {
  uintptr_t index = (uintptr_t)arg;
  t_name = checked_malloc(32);
  void* blocks[4];
  for (int i = 0; i < 4; i++) blocks[i] = checked_malloc(100 * (i + 1) + index);
  for (int i = 0; i < 4; i++) free(blocks[i]);
  free(t_name);
  if (index % 3 == 2) exit_from_nested_call(checked_malloc(48));
  return NULL;
}

static int threads_mode(int waves) {
  enum { kPerWave = 16 };
  atomic_int created = 0;
  for (int w = 0; w < waves; w++) {
    pthread_t threads[kPerWave];
    for (int i = 0; i < kPerWave; i++) {
      if (pthread_create(&threads[i], NULL, storm_thread, (void*)(uintptr_t)i) != 0) die("pthread_create");
      created++;
    }
    for (int i = 0; i < kPerWave; i++) {
      if (i % 4 == 3) {
        pthread_detach(threads[i]);
      } else {
        pthread_join(threads[i], NULL);
      }
    }
  }
  usleep(50 * 1000);  // let the detached threads finish
  printf("threads: %d threads created\n", (int)created);
  return 0;
}

// ---- dlopen
static int dlopen_mode(const char* plugin, int loops) {
  void** kept = checked_malloc(sizeof(void*) * loops);
  for (int i = 0; i < loops; i++) {
    void* handle = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
      fprintf(stderr, "stress: dlopen: %s\n", dlerror());
      return 1;
    }
    void* (*make)(int) = (void* (*)(int))dlsym(handle, "plugin_make");
    int (*check)(void) = (int (*)(void))dlsym(handle, "plugin_check");
    if (make == NULL || check == NULL || check() != 1) {
      fprintf(stderr, "stress: plugin functions missing or wrong\n");
      return 1;
    }
    kept[i] = make(i);
    if (dlclose(handle) != 0) {
      fprintf(stderr, "stress: dlclose: %s\n", dlerror());
      return 1;
    }
  }
  for (int i = 0; i < loops; i++) free(kept[i]);
  free(kept);
  printf("dlopen: %d loads and unloads\n", loops);
  return 0;
}

// ---- recursion
static long g_recursion_blocks;

__attribute__((noinline)) static long recurse(long depth) {
  void* block = NULL;
  if (depth % 64 == 0) {
    block = checked_malloc(32 + depth % 256);
    g_recursion_blocks++;
  }
  long below = depth == 0 ? 0 : recurse(depth - 1) + 1;
  free(block);
  __asm__ volatile("" ::: "memory");  // not a tail call
  return below;
}

static void* recursion_thread(void* arg) {
  long depth = (long)(intptr_t)arg;
  return (void*)(intptr_t)recurse(depth);
}

static int recursion_mode(long depth) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512u << 20);
  pthread_t thread;
  if (pthread_create(&thread, &attr, recursion_thread, (void*)(intptr_t)depth) != 0) die("pthread_create");
  void* result;
  pthread_join(thread, &result);
  long reached = (long)(intptr_t)result;
  printf("recursion: depth %ld, %ld blocks\n", reached, g_recursion_blocks);
  return reached == depth ? 0 : 1;
}

// ---- churn
static atomic_long* g_counter;

__attribute__((noinline)) static void* churn_allocate(size_t size) { return checked_malloc(size); }

static void* churn_thread(void* arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void* window[64] = {0};
  for (;;) {
    int slot = rand_r(&seed) % 64;
    free(window[slot]);
    window[slot] = churn_allocate(8 + rand_r(&seed) % 2000);
    atomic_fetch_add(g_counter, 1);
  }
  return NULL;
}

static int churn_mode(const char* counter_file) {
  int fd = open(counter_file, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 4096) != 0) die("counter file");
  g_counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (g_counter == MAP_FAILED) die("mmap");
  pthread_t threads[4];
  for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, churn_thread, (void*)(uintptr_t)(i + 1));
  printf("churn: started\n");
  fflush(stdout);
  for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
  return 0;
}

// ---- vfork, posix_spawn, clone
static int vfork_mode(const char* self, int count) {
  volatile int ok = 0;
  for (volatile int i = 0; i < count; i++) {
    void* keep = checked_malloc(200 + i);
    pid_t pid = vfork();
    if (pid < 0) die("vfork");
    if (pid == 0) {
      execl(self, self, "child", (char*)NULL);
      _exit(127);
    }
    ok += wait_ok(pid);
    free(keep);
  }
  printf("vfork: %d of %d children exited 0\n", ok, count);
  return ok == count ? 0 : 1;
}

static int spawn_mode(const char* self, int count) {
  int ok = 0;
  for (int i = 0; i < count; i++) {
    void* keep = checked_malloc(300 + i);
    pid_t pid;
    char* argv[] = {(char*)self, "child", NULL};
    int error = posix_spawn(&pid, self, NULL, NULL, argv, environ);
    if (error != 0) {
      errno = error;
      die("posix_spawn");
    }
    ok += wait_ok(pid);
    free(keep);
  }
  printf("spawn: %d of %d children exited 0\n", ok, count);
  return ok == count ? 0 : 1;
}

static int clone_child(void* arg) {
  int index = (int)(intptr_t)arg;
  char* text = checked_malloc(64);
  snprintf(text, 64, "clone child %d", index);
  void* more = checked_malloc(4096);
  free(more);
  int status = (int)strlen(text) % 7;
  free(text);
  _exit(status);
}

static int clone_mode(int count) {
  enum { kStackBytes = 1 << 20 };
  char* stack = mmap(NULL, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED) die("mmap");
  int ok = 0;
  for (int i = 0; i < count; i++) {
    void* keep = checked_malloc(100 + i);
    pid_t pid = clone(clone_child, stack + kStackBytes, SIGCHLD, (void*)(intptr_t)i);
    if (pid < 0) die("clone");
    int status;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) die("waitpid");
    }
    char expected[64];
    snprintf(expected, sizeof expected, "clone child %d", i);
    ok += WIFEXITED(status) && WEXITSTATUS(status) == (int)strlen(expected) % 7;
    free(keep);
  }
  printf("clone: %d of %d children exited as expected\n", ok, count);
  return ok == count ? 0 : 1;
}

// ---- longjmp
static jmp_buf g_jump;
static int g_compared;
static volatile int g_jump_armed = 1;

__attribute__((noinline)) static void nested_allocations(int level) {
  char* block = checked_malloc(40 + level);
  block[0] = (char)level;
  if (level == 0 && g_jump_armed) longjmp(g_jump, 7);  // the blocks above stay allocated
  if (level > 0) nested_allocations(level - 1);
  free(block);
}

static int compare_and_jump(const void* a, const void* b) {
  free(checked_malloc(16));
  if (++g_compared == 20) longjmp(g_jump, 9);
  return *(const int*)a - *(const int*)b;
}

static int longjmp_mode(int loops) {
  volatile int sum = 0;
  for (volatile int i = 0; i < loops; i++) {
    int value = setjmp(g_jump);
    if (value == 0) nested_allocations(10);
    sum += value;
    g_compared = 0;
    int numbers[64];
    for (int k = 0; k < 64; k++) numbers[k] = (k * 37) % 64;
    value = setjmp(g_jump);
    if (value == 0) qsort(numbers, 64, sizeof(int), compare_and_jump);
    sum += value;
  }
  printf("longjmp: %d\n", sum);
  return sum == 16 * loops ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: stress MODE [ARGS...]\n");
    return 2;
  }
  const char* mode = argv[1];
  if (strcmp(mode, "child") == 0) return child_mode();
  if (strcmp(mode, "fork-exec") == 0 && argc == 4) return fork_exec_mode(atoi(argv[2]), argv[3]);
  if (strcmp(mode, "signals") == 0 && argc == 3) return signals_mode(atoi(argv[2]));
  if (strcmp(mode, "threads") == 0 && argc == 3) return threads_mode(atoi(argv[2]));
  if (strcmp(mode, "dlopen") == 0 && argc == 4) return dlopen_mode(argv[2], atoi(argv[3]));
  if (strcmp(mode, "recursion") == 0 && argc == 3) return recursion_mode(atol(argv[2]));
  if (strcmp(mode, "churn") == 0 && argc == 3) return churn_mode(argv[2]);
  if (strcmp(mode, "vfork") == 0 && argc == 4) return vfork_mode(argv[2], atoi(argv[3]));
  if (strcmp(mode, "spawn") == 0 && argc == 4) return spawn_mode(argv[2], atoi(argv[3]));
  if (strcmp(mode, "clone") == 0 && argc == 3) return clone_mode(atoi(argv[2]));
  if (strcmp(mode, "longjmp") == 0 && argc == 3) return longjmp_mode(atoi(argv[2]));
  fprintf(stderr, "stress: unknown mode or wrong arguments: %s\n", mode);
  return 2;
}
