// heapgap export: a trace's allocation stacks in formats other tools read.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "report/export_collapsed.h"
#include "report/export_pprof.h"
#include "report/export_stacks.h"
#include "report/stack_symbolizer.h"
#include "report/trace_analysis.h"
#include "report/view_progress.h"

namespace heapgap::cli {
namespace {

constexpr char kExportUsage[] =
    "Usage: heapgap export --format pprof|collapsed [OPTIONS] TRACE\n"
    "\n"
    "Writes the allocation stacks of a trace for other tools:\n"
    "  pprof      pprof's profile.proto, gzipped (pprof, go tool pprof, speedscope,\n"
    "             and other profile viewers), with sample types alloc_objects,\n"
    "             alloc_space, peak_inuse_objects, peak_inuse_space, leak_objects,\n"
    "             leak_space and temporary_objects\n"
    "  collapsed  one line per stack, \"outer;...;inner value\" (flamegraph.pl,\n"
    "             speedscope, inferno)\n"
    "\n"
    "Options:\n"
    "  --format pprof|collapsed  the output format (required)\n"
    "  --value MEASURE      collapsed: what each stack weighs (default peak):\n"
    "                       allocated, allocations, peak, peak-blocks, leaked,\n"
    "                       leaked-blocks, temporary\n"
    "  -o, --output FILE    write to FILE instead of standard output (pprof is\n"
    "                       binary: it is not written to a terminal)\n"
    "  -q, --quiet          no progress on standard error\n"
    "  -h, --help           show this help\n";

const std::vector<OptionSpec> kExportOptions = {
    {"format", 0, true}, {"value", 0, true},   {"output", 'o', true},
    {"quiet", 'q', false}, {"help", 'h', false},
};

}  // namespace

int ExportCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kExportOptions, false);
  if (!parsed.ok()) {
    return Fail(absl::StrCat(parsed.status().message(), "; see 'heapgap export --help'"));
  }
  if (parsed->Has("help")) {
    std::fputs(kExportUsage, stdout);
    return 0;
  }
  const std::optional<std::string> format = parsed->Value("format");
  if (!format) return Fail("no format given; use --format pprof or --format collapsed");
  if (*format != "pprof" && *format != "collapsed") {
    return Fail(absl::StrCat("unknown format '", *format, "'; use pprof or collapsed"));
  }
  report::StackMeasure measure = report::StackMeasure::kPeakBytes;
  if (auto value = parsed->Value("value")) {
    if (*format != "collapsed") return Fail("--value applies to --format collapsed only");
    std::optional<report::StackMeasure> m = report::ParseStackMeasure(*value);
    if (!m) {
      std::vector<std::string> keys;
      for (const report::StackMeasureInfo& info : report::StackMeasures()) {
        keys.emplace_back(info.key);
      }
      return Fail(absl::StrCat("unknown value '", *value, "'; use one of ",
                               absl::StrJoin(keys, ", ")));
    }
    measure = *m;
  }
  if (parsed->positional.empty()) {
    return Fail("no trace given; usage: heapgap export --format pprof|collapsed TRACE");
  }
  if (parsed->positional.size() > 1) {
    return Fail(absl::StrCat("one trace at a time, got ", parsed->positional.size(), " arguments"));
  }
  const std::optional<std::string> output = parsed->Value("output");
  if (*format == "pprof" && !output && isatty(STDOUT_FILENO) == 1) {
    return Fail("a pprof profile is binary; write it to a file with -o FILE or redirect it");
  }

  const std::string& path = parsed->positional[0];
  report::ProgressLine progress(!parsed->Has("quiet"));
  report::ReadProgress read_progress(progress, path, nullptr);
  absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> analysis =
      report::AnalyzeTrace(path, &read_progress);
  progress.Clear();
  if (!analysis.ok()) return Fail(analysis.status().message());
  report::StackSymbolizer symbolizer;
  const std::vector<report::StackValues> stacks = report::CollectStackValues(**analysis);
  std::string data;
  if (*format == "collapsed") {
    data = report::CollapsedStacks(**analysis, stacks, measure, symbolizer);
  } else {
    const std::string serialized =
        report::BuildPprofProfile(**analysis, stacks, symbolizer).SerializeAsString();
    absl::StatusOr<std::string> zipped = report::Gzip(serialized);
    if (!zipped.ok()) return Fail(zipped.status().message());
    data = *std::move(zipped);
  }

  if (output) {
    std::ofstream out(*output, std::ios::binary | std::ios::trunc);
    if (out) out << data;
    if (out) out.close();
    if (!out) return Fail(absl::StrCat("cannot write '", *output, "': ", std::strerror(errno)));
    return 0;
  }
  std::cout << data;
  std::cout.flush();
  if (!std::cout) return Fail("cannot write to standard output");
  return 0;
}

}  // namespace heapgap::cli
