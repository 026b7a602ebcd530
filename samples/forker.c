// forker: a parent with two children, one that forks and one that execs.
//
// Usage: forker [PROGRAM]   (PROGRAM defaults to /bin/true)
//
// parent   make_shared_block: malloc(640), freed by the parent after both
//          children ended; parent_leak: malloc(1234), never freed.
//          Parent leaks 1234 B in 1 block; 2 allocations, 1 free.
// child 1  (fork, no exec) frees the inherited 640 B block (a block it never
//          allocated), then child_work leaks 7 blocks of 300 B = 2100 B and
//          the child returns 0 through exit().
// child 2  (fork + exec) exec_program copies PROGRAM's path into a block of
//          strlen(PROGRAM) + 1 bytes (still live when the image is replaced)
//          and execs PROGRAM with no arguments; the exec'd program is a
//          process of its own.
// The parent reports how each child ended and exits 0 if child 1 exited 0.
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sample_support.h"

enum { kSharedSize = 640, kParentLeakSize = 1234, kChildLeakCount = 7, kChildLeakSize = 300 };

static void* g_shared;

__attribute__((noinline)) void make_shared_block(void) {
  g_shared = malloc(kSharedSize);
  memset(g_shared, 1, kSharedSize);
}

__attribute__((noinline)) void parent_leak(void) {
  char* p = malloc(kParentLeakSize);
  memset(p, 2, kParentLeakSize);
  escape(p);
}

__attribute__((noinline)) void child_work(void) {
  for (int i = 0; i < kChildLeakCount; i++) {
    char* p = malloc(kChildLeakSize);
    memset(p, 3, kChildLeakSize);
    escape(p);
  }
}

__attribute__((noinline)) void exec_program(const char* program) {
  size_t size = strlen(program) + 1;
  char* path = malloc(size);
  memcpy(path, program, size);
  char* const child_argv[] = {path, NULL};
  execv(path, child_argv);
}

static void describe(const char* who, int status) {
  if (WIFEXITED(status)) {
    printf("forker: %s exited with status %d\n", who, WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    printf("forker: %s was killed by signal %d\n", who, WTERMSIG(status));
  }
}

int main(int argc, char** argv) {
  use_static_stdout();
  const char* program = argc > 1 ? argv[1] : "/bin/true";
  make_shared_block();
  parent_leak();
  printf("forker: parent leaks 1 block of %d B\n", kParentLeakSize);
  fflush(stdout);  // the children must not repeat the buffered text

  pid_t worker = fork();
  if (worker < 0) return 2;
  if (worker == 0) {
    free(g_shared);
    child_work();
    printf("forker: child leaks %d blocks of %d B\n", kChildLeakCount, kChildLeakSize);
    return 0;
  }
  int worker_status = 0;
  waitpid(worker, &worker_status, 0);

  pid_t execer = fork();
  if (execer < 0) return 2;
  if (execer == 0) {
    exec_program(program);
    _exit(127);
  }
  int execer_status = 0;
  waitpid(execer, &execer_status, 0);

  free(g_shared);
  describe("fork child", worker_status);
  describe("exec child", execer_status);
  return WIFEXITED(worker_status) && WEXITSTATUS(worker_status) == 0 ? 0 : 1;
}
