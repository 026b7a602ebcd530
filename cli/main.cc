// heapgap: run a program under the tracer, and report on its traces.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "absl/strings/str_replace.h"
#include "cli/commands.h"

namespace heapgap::cli {

int Fail(absl::string_view message) {
  // One line, whatever the message holds.
  std::string line = absl::StrReplaceAll(message, {{"\n", " "}, {"\r", " "}});
  std::fprintf(stderr, "heapgap: error: %s\n", line.c_str());
  return kExitUsage;
}

namespace {

constexpr char kUsage[] =
    "Usage: heapgap COMMAND [OPTIONS] ...\n"
    "\n"
    "Finds heap leaks and shows what the heap held at its peak, by tracing every\n"
    "allocation of a program with a preloaded library.\n"
    "\n"
    "Commands:\n"
    "  run [OPTIONS] [--] PROGRAM [ARGS...]   run PROGRAM traced, print a heap summary\n"
    "  report [OPTIONS] TRACE|DIR             analyse a trace (or all in DIR): leaks, peak,\n"
    "                                         top stacks\n"
    "  view [OPTIONS] TRACE|DIR               write one HTML page that shows the trace(s)\n"
    "  export --format pprof|collapsed TRACE  the stacks for pprof or flame graph tools\n"
    "\n"
    "Options:\n"
    "  -h, --help      show this help (`heapgap COMMAND --help` for a command's options)\n"
    "  --version       show the version\n"
    "\n"
    "Exit status: 0 on success, 2 for bad usage or input; `run` exits with the\n"
    "program's own status (128+N if it died of signal N); 99 when a leak gate\n"
    "fails (see `heapgap run --help`).\n";

int Main(int argc, char** argv) {
  // Errors reach the user as one "heapgap: error:" line; libprotobuf's own
  // log lines about bad input would only repeat them.
  google::protobuf::SetLogHandler(nullptr);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Fail("no command given; see 'heapgap --help'");
  const std::string& command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("heapgap %s\n", HEAPGAP_VERSION);
    return 0;
  }
  if (command == "report") return ReportCommand(rest);
  if (command == "run") return RunCommand(rest);
  if (command == "view") return ViewCommand(rest);
  if (command == "export") return ExportCommand(rest);
  if (!command.empty() && command[0] == '-') {
    return Fail(absl::StrCat("unknown option '", command, "'; see 'heapgap --help'"));
  }
  return Fail(absl::StrCat("unknown command '", command, "'; see 'heapgap --help'"));
}

}  // namespace
}  // namespace heapgap::cli

int main(int argc, char** argv) { return heapgap::cli::Main(argc, argv); }
