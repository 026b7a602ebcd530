// heapgap view: one self-contained HTML page for a trace, or for a directory
// of traces.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "report/view_progress.h"
#include "viewer/trace_directory.h"
#include "viewer/view_page.h"

namespace heapgap::cli {
namespace {

constexpr char kViewUsage[] =
    "Usage: heapgap view [OPTIONS] TRACE|DIR\n"
    "\n"
    "Writes one HTML file that shows a trace: a summary, the heap over time, flame\n"
    "graphs, the leak and peak tables with their stacks, and a map of the heap by\n"
    "address. It opens from disk in a browser, with no network and no server.\n"
    "For a directory of traces (e.g. from `heapgap run -o DIR/`), the page lists\n"
    "every process with its verdict, each opening its own view.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE    where to write the page (default: TRACE.html, or\n"
    "                       DIR/heapgap-view.html for a directory)\n"
    "  --max-records N      most stacks in each table (default 1000 for a trace,\n"
    "                       200 per process for a directory; 0 = all)\n"
    "  -q, --quiet          no progress and no closing message on standard error\n"
    "  -h, --help           show this help\n";

const std::vector<OptionSpec> kViewOptions = {
    {"output", 'o', true},
    {"max-records", 0, true},
    {"quiet", 'q', false},
    {"help", 'h', false},
};

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int Write(const std::string& path, const std::string& page, bool quiet) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << page;
  if (out) out.close();
  if (!out) return Fail(absl::StrCat("cannot write '", path, "': ", std::strerror(errno)));
  if (!quiet) {
    std::fprintf(stderr, "heapgap: wrote %s (%s)\n", path.c_str(),
                 absl::StrFormat("%.1f MB", static_cast<double>(page.size()) / 1e6).c_str());
  }
  return 0;
}

}  // namespace

int ViewCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kViewOptions, false);
  if (!parsed.ok()) {
    return Fail(absl::StrCat(parsed.status().message(), "; see 'heapgap view --help'"));
  }
  if (parsed->Has("help")) {
    std::fputs(kViewUsage, stdout);
    return 0;
  }
  if (parsed->positional.empty()) {
    return Fail("no trace given; usage: heapgap view [OPTIONS] TRACE|DIR");
  }
  if (parsed->positional.size() > 1) {
    return Fail(absl::StrCat("one trace or directory at a time, got ", parsed->positional.size(),
                             " arguments"));
  }
  const std::string& input = parsed->positional[0];
  const bool directory = IsDirectory(input);
  const bool quiet = parsed->Has("quiet");
  viewer::PageOptions options;
  options.max_records = directory ? 200 : 1000;
  if (auto max = parsed->Value("max-records")) {
    absl::StatusOr<uint64_t> n = ParseCount("max-records", *max);
    if (!n.ok()) return Fail(n.status().message());
    options.max_records = *n;
  }

  report::ProgressLine progress(!quiet);
  if (!directory) {
    absl::StatusOr<viewer::PageProcess> process =
        viewer::BuildPageProcess(input, options, progress);
    progress.Clear();
    if (!process.ok()) return Fail(process.status().message());
    const std::string output = parsed->Value("output").value_or(input + ".html");
    return Write(output, viewer::TracePage(*process), quiet);
  }

  absl::StatusOr<std::vector<std::string>> traces = viewer::TracesIn(input);
  if (!traces.ok()) return Fail(traces.status().message());
  if (traces->empty()) return Fail(absl::StrCat("no heapgap traces in '", input, "'"));
  std::vector<viewer::DirectoryEntry> entries;
  std::vector<viewer::PageProcess> processes;
  for (size_t i = 0; i < traces->size(); ++i) {
    const std::string& trace = (*traces)[i];
    progress.Show(absl::StrCat("heapgap: trace ", i + 1, " of ", traces->size()), true);
    viewer::DirectoryEntry entry;
    entry.trace = trace;
    absl::StatusOr<viewer::PageProcess> process =
        viewer::BuildPageProcess(trace, options, progress);
    if (process.ok()) {
      entry.process = static_cast<int>(processes.size());
      processes.push_back(*std::move(process));
    } else {
      entry.error = std::string(process.status().message());
    }
    entries.push_back(std::move(entry));
  }
  progress.Clear();
  const std::string output =
      parsed->Value("output").value_or(absl::StrCat(input, input.back() == '/' ? "" : "/",
                                                    "heapgap-view.html"));
  return Write(output, viewer::DirectoryPage(input, entries, processes), quiet);
}

}  // namespace heapgap::cli
