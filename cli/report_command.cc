// heapgap report: analyse one trace and print the report.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "report/json_report.h"
#include "report/report.h"
#include "report/stack_symbolizer.h"
#include "report/text_report.h"
#include "report/trace_analysis.h"

namespace heapgap::cli {
namespace {

constexpr char kReportUsage[] =
    "Usage: heapgap report [OPTIONS] TRACE\n"
    "\n"
    "Reads a trace written by `heapgap run` (or by libheapgap.so preloaded directly)\n"
    "and prints the heap summary, leaks by stack, the heap at its peak, and the\n"
    "stacks with the most and the most temporary allocations.\n"
    "\n"
    "Options:\n"
    "  --format text|json   output format (default text; JSON schema: docs/REPORT_JSON.md)\n"
    "  --top N              stacks per list in the text report, and in the JSON\n"
    "                       most_allocations and most_temporary lists (default 10, 0 = all)\n"
    "  --max-records N      JSON only: most leak and peak records (default 0 = all)\n"
    "  -o, --output FILE    write the report to FILE instead of standard output\n"
    "  -h, --help           show this help\n";

const std::vector<OptionSpec> kReportOptions = {
    {"format", 0, true}, {"top", 0, true},  {"max-records", 0, true},
    {"output", 'o', true}, {"help", 'h', false},
};

}  // namespace

int ReportCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kReportOptions, false);
  if (!parsed.ok()) return Fail(absl::StrCat(parsed.status().message(), "; see 'heapgap report --help'"));
  if (parsed->Has("help")) {
    std::fputs(kReportUsage, stdout);
    return 0;
  }
  const std::string format = parsed->Value("format").value_or("text");
  if (format != "text" && format != "json") {
    return Fail(absl::StrCat("unknown format '", format, "'; use text or json"));
  }
  report::ReportOptions options;
  if (auto top = parsed->Value("top")) {
    absl::StatusOr<uint64_t> n = ParseCount("top", *top);
    if (!n.ok()) return Fail(n.status().message());
    options.top = *n;
  }
  if (auto max = parsed->Value("max-records")) {
    absl::StatusOr<uint64_t> n = ParseCount("max-records", *max);
    if (!n.ok()) return Fail(n.status().message());
    options.max_records = *n;
  }
  if (parsed->positional.empty()) return Fail("no trace given; usage: heapgap report [OPTIONS] TRACE");
  if (parsed->positional.size() > 1) {
    return Fail(absl::StrCat("one trace at a time, got ", parsed->positional.size(), " arguments"));
  }
  // The text report shows `top` stacks per list; symbolize no more than that.
  if (format == "text") options.max_records = options.top;

  absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> analysis =
      report::AnalyzeTrace(parsed->positional[0]);
  if (!analysis.ok()) return Fail(analysis.status().message());
  report::StackSymbolizer symbolizer;
  const report::Report built = report::BuildReport(**analysis, options, symbolizer);
  const std::string text =
      format == "json" ? report::JsonReport(built) : report::TextReport(built, options.top);

  if (auto path = parsed->Value("output")) {
    std::ofstream out(*path, std::ios::binary | std::ios::trunc);
    if (out) out << text;
    if (out) out.close();
    if (!out) {
      return Fail(absl::StrCat("cannot write '", *path, "': ", std::strerror(errno)));
    }
    return 0;
  }
  std::cout << text;
  std::cout.flush();
  if (!std::cout) return Fail("cannot write the report to standard output");
  return 0;
}

}  // namespace heapgap::cli
