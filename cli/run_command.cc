// heapgap run: run a program with libheapgap.so preloaded, then summarize the
// trace of every process it started.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/gate_options.h"
#include "report/leak_output.h"
#include "report/suite.h"

extern char** environ;

namespace heapgap::cli {
namespace {

constexpr char kRunUsage[] =
    "Usage: heapgap run [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM with libheapgap.so preloaded. Every process it starts (fork\n"
    "children and exec'd programs included) writes a trace; when PROGRAM ends, a\n"
    "heap summary of each trace is printed on standard error.\n"
    "\n"
    "Options:\n"
    "  -o, --output PATTERN|DIR  where traces go: a file name pattern (%p pid,\n"
    "                            %e executable name, %% percent sign) or a\n"
    "                            directory (default: heapgap.%e.%p.trace in the\n"
    "                            current directory)\n"
    "  --stack-depth N           most frames kept per stack, 1..256 (default 64)\n"
    "  --quiet                   no summary, no messages from the tracer\n"
    "  -h, --help                show this help\n"
    "\n"
    "libheapgap.so is taken from $HEAPGAP_LIBRARY, else from ../lib or\n"
    "../lib/heapgap next to the heapgap executable.\n"
    "\n"
    "Exit status: PROGRAM's own, 128+N if it died of signal N, 127 if it cannot\n"
    "be found, 126 if it cannot be executed, 2 for bad usage; 99 (or\n"
    "--error-exitcode) when the gate fails, whatever PROGRAM's status.\n\n";

std::vector<OptionSpec> RunOptions() {
  std::vector<OptionSpec> specs = {
      {"output", 'o', true},
      {"stack-depth", 0, true},
      {"quiet", 'q', false},
      {"help", 'h', false},
  };
  for (const OptionSpec& spec : GateOptionSpecs()) specs.push_back(spec);
  return specs;
}

constexpr int kExitNotFound = 127;
constexpr int kExitNotExecutable = 126;
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

volatile sig_atomic_t g_child_pid = 0;

// Passes on signals sent to heapgap itself. Signals from the terminal
// (SI_KERNEL) already reach the program, which is in the same process group.
void ForwardSignal(int signal, siginfo_t* info, void*) {
  if (info != nullptr && info->si_code == SI_KERNEL) return;
  if (g_child_pid > 0) kill(g_child_pid, signal);
}

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string Directory(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

absl::StatusOr<std::string> FindPreloadLibrary() {
  if (const char* env = getenv("HEAPGAP_LIBRARY"); env != nullptr && *env != '\0') {
    if (!IsFile(env)) {
      return absl::NotFoundError(absl::StrCat("HEAPGAP_LIBRARY names '", env, "', which is not a file"));
    }
    return Absolute(env);
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return absl::NotFoundError("cannot find libheapgap.so: /proc/self/exe is unreadable; set HEAPGAP_LIBRARY");
  self[n] = '\0';
  const std::string dir = Directory(self);
  const std::string candidates[] = {dir + "/../lib/libheapgap.so", dir + "/../lib/heapgap/libheapgap.so"};
  for (const std::string& candidate : candidates) {
    if (IsFile(candidate)) {
      char resolved[PATH_MAX];
      return realpath(candidate.c_str(), resolved) != nullptr ? std::string(resolved) : candidate;
    }
  }
  return absl::NotFoundError(absl::StrCat("cannot find libheapgap.so (looked for ", candidates[0],
                                          " and ", candidates[1], "); set HEAPGAP_LIBRARY"));
}

// A fresh empty file for the tracer to list traces in.
absl::StatusOr<std::string> CreateManifest() {
  const char* tmp = getenv("TMPDIR");
  std::string dir = (tmp != nullptr && *tmp != '\0' && std::strchr(tmp, ':') == nullptr) ? tmp : "/tmp";
  std::string path = absl::StrCat(dir, "/heapgap-manifest-XXXXXX");
  int fd = mkstemp(path.data());
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create a file in ", dir, ": ", std::strerror(errno)));
  }
  close(fd);
  return path;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// The environment of the traced program: ours with the preload and options.
std::vector<std::string> TracedEnvironment(const std::string& library, const std::string& options) {
  std::vector<std::string> env;
  std::string preload = library;
  std::string heapgap_options = options;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view entry(*e);
    if (absl::StartsWith(entry, "LD_PRELOAD=")) {
      absl::string_view old = entry.substr(std::strlen("LD_PRELOAD="));
      if (!old.empty()) preload = absl::StrCat(library, ":", old);
    } else if (absl::StartsWith(entry, "HEAPGAP_OPTIONS=")) {
      // The user's options first: later keys win, so ours take precedence.
      absl::string_view old = entry.substr(std::strlen("HEAPGAP_OPTIONS="));
      if (!old.empty()) heapgap_options = absl::StrCat(old, ":", options);
    } else {
      env.emplace_back(entry);
    }
  }
  env.push_back("LD_PRELOAD=" + preload);
  env.push_back("HEAPGAP_OPTIONS=" + heapgap_options);
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Runs the program; returns its exit status in the shell's convention, or
// 126/127 after printing why it could not be started.
int RunProgram(std::vector<std::string> argv, std::vector<std::string> env) {
  std::vector<char*> argv_pointers = Pointers(argv);
  std::vector<char*> env_pointers = Pointers(env);

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    Fail(absl::StrCat("cannot create a pipe: ", std::strerror(errno)));
    return kExitNotExecutable;
  }
  // Block the forwarded signals until the handlers and the child pid are in
  // place; the child restores the defaults before it unblocks them.
  sigset_t forwarded, old_mask;
  sigemptyset(&forwarded);
  for (int s : kForwardedSignals) sigaddset(&forwarded, s);
  sigprocmask(SIG_BLOCK, &forwarded, &old_mask);
  struct sigaction old_actions[std::size(kForwardedSignals)];
  struct sigaction forward = {};
  forward.sa_sigaction = ForwardSignal;
  forward.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&forward.sa_mask);
  for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
    sigaction(kForwardedSignals[i], &forward, &old_actions[i]);
  }

  pid_t pid = fork();
  if (pid == 0) {
    for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
      sigaction(kForwardedSignals[i], &old_actions[i], nullptr);
    }
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    close(error_pipe[0]);
    execvpe(argv_pointers[0], argv_pointers.data(), env_pointers.data());
    int error = errno;
    ssize_t ignored = write(error_pipe[1], &error, sizeof error);
    (void)ignored;
    _exit(kExitNotFound);
  }
  int fork_error = errno;
  if (pid > 0) g_child_pid = pid;
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  close(error_pipe[1]);
  if (pid < 0) {
    close(error_pipe[0]);
    Fail(absl::StrCat("cannot start '", argv[0], "': ", std::strerror(fork_error)));
    return kExitNotExecutable;
  }

  int exec_error = 0;
  ssize_t got;
  do {
    got = read(error_pipe[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  close(error_pipe[0]);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child_pid = 0;
  for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
    sigaction(kForwardedSignals[i], &old_actions[i], nullptr);
  }

  if (got == sizeof exec_error) {
    Fail(absl::StrCat("cannot run '", argv[0], "': ", std::strerror(exec_error)));
    return exec_error == ENOENT || exec_error == ENOTDIR ? kExitNotFound : kExitNotExecutable;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void PrintSummaries(const std::vector<report::TraceReport>& reports, const std::string& program,
                    const std::string& output_dir) {
  if (reports.empty()) {
    // The tracer could not create its trace there and said so in its own line.
    if (access(output_dir.c_str(), W_OK | X_OK) != 0) return;
    std::fprintf(stderr,
                 "==heapgap== no trace was written: '%s' may be statically linked, or it cleared "
                 "LD_PRELOAD\n",
                 program.c_str());
    return;
  }
  for (const report::TraceReport& r : reports) {
    if (!r.report) {
      std::fprintf(stderr, "==heapgap== cannot read %s: %s\n", r.trace.c_str(), r.error.c_str());
      continue;
    }
    std::fputs(r.summary.c_str(), stderr);
  }
  if (reports.size() > 1) {
    const std::vector<const report::Report*> readable = report::Readable(reports);
    std::fprintf(stderr, "==heapgap== TOTAL over %zu processes:\n", readable.size());
    std::fputs(report::LeakSummaryText(report::TotalLeakCheck(readable), "==heapgap== ").c_str(),
               stderr);
  }
}

// Creates `path` as a directory if missing, and its parents (like mkdir -p).
bool MakeDirectory(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash != 0 && !MakeDirectory(path.substr(0, slash))) return false;
  return mkdir(path.c_str(), 0777) == 0 || errno == EEXIST;
}

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, RunOptions(), /*stop_at_positional=*/true);
  if (!parsed.ok()) return Fail(absl::StrCat(parsed.status().message(), "; see 'heapgap run --help'"));
  if (parsed->Has("help")) {
    std::fputs(kRunUsage, stdout);
    std::fputs(kGateOptionsHelp, stdout);
    return 0;
  }
  if (parsed->positional.empty()) return Fail("no program given; usage: heapgap run [OPTIONS] [--] PROGRAM [ARGS...]");
  const bool quiet = parsed->Has("quiet");
  absl::StatusOr<GateSettings> settings = ParseGateSettings(*parsed);
  if (!settings.ok()) return Fail(settings.status().message());

  std::string options;
  std::string output_dir = ".";  // where the traces go
  if (auto output = parsed->Value("output")) {
    if (output->empty()) return Fail("option '--output' needs a non-empty value");
    if (output->find(':') != std::string::npos) {
      return Fail(absl::StrCat("the output path '", *output, "' must not contain ':'"));
    }
    // "DIR/": every trace of the run goes into DIR, created if missing.
    if (output->back() == '/' && !MakeDirectory(output->substr(0, output->size() - 1))) {
      return Fail(absl::StrCat("cannot create the output directory '", *output,
                               "': ", std::strerror(errno)));
    }
    // Absolute, so that traces land here even if the program changes directory.
    options = absl::StrCat("output=", Absolute(*output));
    struct stat st;
    const bool is_directory = stat(output->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    output_dir = output->back() == '/' || is_directory ? *output : Directory(Absolute(*output));
  }
  if (auto depth = parsed->Value("stack-depth")) {
    absl::StatusOr<uint64_t> n = ParseCount("stack-depth", *depth);
    if (!n.ok()) return Fail(n.status().message());
    if (*n < 1 || *n > 256) return Fail(absl::StrCat("option '--stack-depth' must be 1..256, not ", *n));
    options = absl::StrCat(options, options.empty() ? "" : ":", "stack_depth=", *n);
  }
  if (quiet) options = absl::StrCat(options, options.empty() ? "" : ":", "quiet=1");

  absl::StatusOr<std::string> library = FindPreloadLibrary();
  if (!library.ok()) return Fail(library.status().message());
  if (library->find_first_of(": ") != std::string::npos) {
    return Fail(absl::StrCat("the path of libheapgap.so ('", *library, "') must not contain ':' or spaces"));
  }
  absl::StatusOr<std::string> manifest = CreateManifest();
  if (!manifest.ok()) return Fail(manifest.status().message());
  options = absl::StrCat(options, options.empty() ? "" : ":", "manifest=", *manifest);

  const std::string program = parsed->positional[0];
  const int status = RunProgram(parsed->positional, TracedEnvironment(*library, options));
  const std::vector<std::string> traces = ReadLines(*manifest);
  unlink(manifest->c_str());
  const bool not_started = traces.empty() && (status == kExitNotFound || status == kExitNotExecutable);
  if (not_started || (quiet && !settings->enabled && !settings->needs_all_records())) return status;

  report::ReportOptions report_options;
  report_options.suppressions = settings->suppressions.get();
  report_options.max_records = settings->needs_all_records() ? 0 : 10;
  const std::vector<report::TraceReport> reports =
      report::ReportTraces(traces, report_options, settings->jobs);
  if (!quiet) PrintSummaries(reports, program, output_dir);
  absl::StatusOr<report::GateResult> gate =
      FinishReports(*settings, report_options, reports,
                    traces.size() > 1 ? Directory(traces[0]) : std::string());
  if (!gate.ok()) {
    Fail(gate.status().message());
    return settings->enabled ? settings->exit_code : status;
  }
  if (settings->enabled && gate->failed) {
    PrintGateFailure(*gate);
    return settings->exit_code;
  }
  return status;
}

}  // namespace heapgap::cli
