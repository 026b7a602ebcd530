// leak_children: a parent, a fork child and an exec'd child, each with one
// block definitely lost and one still reachable. Every allocating function is
// named lc_*; expected classes, per process (requested sizes):
//   parent       lc_parent_lost  definitely lost 111 B   lc_parent_kept  still reachable 222 B
//   fork child   lc_fork_lost    definitely lost 333 B   lc_fork_kept    still reachable 444 B
//   exec child   lc_exec_lost    definitely lost 555 B   lc_exec_kept    still reachable 666 B
// The children are forked before the parent allocates anything, so the fork
// child inherits none of these blocks. The exec child is this program run
// again (argv[0], which must be a path) with the argument "exec-child".
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sample_support.h"

void* g_kept;

static void drop(void* p, size_t size) {
  void* volatile q = p;
  memset(q, 1, size);
  q = NULL;
}

__attribute__((noinline)) void lc_parent_lost(void) { drop(malloc(111), 111); }
__attribute__((noinline)) void lc_parent_kept(void) { g_kept = malloc(222); }
__attribute__((noinline)) void lc_fork_lost(void) { drop(malloc(333), 333); }
__attribute__((noinline)) void lc_fork_kept(void) { g_kept = malloc(444); }
__attribute__((noinline)) void lc_exec_lost(void) { drop(malloc(555), 555); }
__attribute__((noinline)) void lc_exec_kept(void) { g_kept = malloc(666); }

__attribute__((noinline)) void scrub_stack(void) {
  volatile char area[16384];
  memset((char*)area, 0, sizeof area);
  escape((const void*)area);
}

int main(int argc, char** argv) {
  use_static_stdout();
  if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
    lc_exec_lost();
    lc_exec_kept();
    scrub_stack();
    return 0;
  }
  pid_t fork_child = fork();
  if (fork_child == 0) {
    lc_fork_lost();
    lc_fork_kept();
    scrub_stack();
    exit(0);
  }
  pid_t exec_child = fork();
  if (exec_child == 0) {
    char* child_argv[] = {argv[0], "exec-child", NULL};
    execv(argv[0], child_argv);
    _exit(127);
  }
  int status_fork = 0, status_exec = 0;
  waitpid(fork_child, &status_fork, 0);
  waitpid(exec_child, &status_exec, 0);
  lc_parent_lost();
  lc_parent_kept();
  scrub_stack();
  return WIFEXITED(status_fork) && WEXITSTATUS(status_fork) == 0 && WIFEXITED(status_exec) &&
                 WEXITSTATUS(status_exec) == 0
             ? 0
             : 1;
}
