// measure_run: runs a command and reports its wall time, CPU time and peak RSS.
//
// Usage: measure_run RESULT_FILE PROGRAM [ARGS...]
// Writes "WALL_NS MAX_RSS_KIB EXIT_STATUS CPU_NS" to RESULT_FILE (exit status
// as a shell reports it: 128+N for a death by signal N; CPU time is user plus
// system time of the process tree it waited for) and exits 0, or exits 2 if
// the command could not be started.
//
// Why not measure from Python: Linux folds the RSS high-water mark of the
// image a process replaces into its ru_maxrss, so a child forked from a
// Python interpreter reports at least the interpreter's footprint. Forked from
// this small program, a child's ru_maxrss is its own (and that of the
// descendants it waited for).
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1000000000LL + now.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: measure_run RESULT_FILE PROGRAM [ARGS...]\n");
    return 2;
  }
  FILE* result = fopen(argv[1], "w");
  if (result == NULL) {
    perror(argv[1]);
    return 2;
  }
  long long start = monotonic_ns();
  pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return 2;
  }
  if (child == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  if (wait4(child, &status, 0, &usage) < 0) {
    perror("wait4");
    return 2;
  }
  long long wall_ns = monotonic_ns() - start;
  int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  long long cpu_ns = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
                     (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
  fprintf(result, "%lld %ld %d %lld\n", wall_ns, usage.ru_maxrss, exit_status, cpu_ns);
  return fclose(result) == 0 ? 0 : 2;
}
