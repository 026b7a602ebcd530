// heapgap report: analyse one trace, or a directory of traces, print the
// report, and gate on the leaks.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/gate_options.h"
#include "report/ci_output.h"
#include "report/json_report.h"
#include "report/report.h"
#include "report/suite.h"
#include "report/text_report.h"

namespace heapgap::cli {
namespace {

constexpr char kReportUsage[] =
    "Usage: heapgap report [OPTIONS] TRACE|DIRECTORY\n"
    "\n"
    "Reads a trace written by `heapgap run` (or by libheapgap.so preloaded directly)\n"
    "and prints the heap summary, the leak summary by kind, leaks by stack, release\n"
    "errors, the heap at its peak, and the stacks with the most and the most\n"
    "temporary allocations. Given a directory, reports every trace in it (one per\n"
    "process, analysed in parallel) and the total over all of them.\n"
    "\n"
    "Options:\n"
    "  --format FORMAT      text (default), json (schema: docs/REPORT_JSON.md),\n"
    "                       junit or sarif\n"
    "  --top N              stacks per list in the text report, and in the JSON\n"
    "                       most_allocations and most_temporary lists (default 10, 0 = all)\n"
    "  --max-records N      JSON only: most leak and peak records (default 0 = all)\n"
    "  -o, --output FILE    write the report to FILE instead of standard output\n"
    "  -h, --help           show this help\n"
    "\n";

std::vector<OptionSpec> ReportOptions() {
  std::vector<OptionSpec> specs = {
      {"format", 0, true},   {"top", 0, true},      {"max-records", 0, true},
      {"output", 'o', true}, {"help", 'h', false},
  };
  for (const OptionSpec& spec : GateOptionSpecs()) specs.push_back(spec);
  return specs;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Keeps the first `max` leak and peak records of each report (0 = all):
// --max-records applies to the output, after the gate saw every record.
void CutRecords(std::vector<report::TraceReport>& reports, size_t max) {
  if (max == 0) return;
  for (report::TraceReport& r : reports) {
    if (!r.report) continue;
    for (report::StackRecordList* list : {&r.report->leaks, &r.report->peak}) {
      if (list->records.size() > max) list->records.resize(max);
    }
  }
}

int Emit(const std::string& text, const std::optional<std::string>& path) {
  if (path) {
    absl::Status written = WriteFile(*path, text);
    if (!written.ok()) return Fail(written.message());
    return 0;
  }
  std::cout << text;
  std::cout.flush();
  if (!std::cout) return Fail("cannot write the report to standard output");
  return 0;
}

}  // namespace

int ReportCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, ReportOptions(), false);
  if (!parsed.ok()) return Fail(absl::StrCat(parsed.status().message(), "; see 'heapgap report --help'"));
  if (parsed->Has("help")) {
    std::fputs(kReportUsage, stdout);
    std::fputs(kGateOptionsHelp, stdout);
    std::fputs(
        "\nExit status: 0 on success, 2 for bad usage or input, 99 (or --error-exitcode)\n"
        "when the gate fails.\n",
        stdout);
    return 0;
  }
  const std::string format = parsed->Value("format").value_or("text");
  if (format != "text" && format != "json" && format != "junit" && format != "sarif") {
    return Fail(absl::StrCat("unknown format '", format, "'; use text, json, junit or sarif"));
  }
  report::ReportOptions options;
  if (auto top = parsed->Value("top")) {
    absl::StatusOr<uint64_t> n = ParseCount("top", *top);
    if (!n.ok()) return Fail(n.status().message());
    options.top = *n;
  }
  size_t max_records = 0;
  if (auto max = parsed->Value("max-records")) {
    absl::StatusOr<uint64_t> n = ParseCount("max-records", *max);
    if (!n.ok()) return Fail(n.status().message());
    max_records = *n;
  }
  if (parsed->positional.empty()) {
    return Fail("no trace given; usage: heapgap report [OPTIONS] TRACE|DIRECTORY");
  }
  if (parsed->positional.size() > 1) {
    return Fail(absl::StrCat("one trace or directory at a time, got ", parsed->positional.size(),
                             " arguments"));
  }
  absl::StatusOr<GateSettings> settings = ParseGateSettings(*parsed);
  if (!settings.ok()) return Fail(settings.status().message());
  options.suppressions = settings->suppressions.get();

  const std::string& input = parsed->positional[0];
  const bool directory = IsDirectory(input);
  const bool all_records =
      settings->needs_all_records() || format == "junit" || format == "sarif" || directory;
  // The text report of one trace shows `top` stacks per list; symbolize no
  // more than that unless every record is needed.
  options.max_records = all_records ? 0 : format == "text" ? options.top : max_records;

  std::vector<std::string> traces;
  if (directory) {
    absl::StatusOr<std::vector<std::string>> listed = report::TracesInDirectory(input);
    if (!listed.ok()) return Fail(listed.status().message());
    if (listed->empty()) return Fail(absl::StrCat("no traces in directory '", input, "'"));
    traces = std::move(*listed);
  } else {
    traces.push_back(input);
  }
  std::vector<report::TraceReport> reports =
      report::ReportTraces(traces, options, settings->jobs);
  if (!directory && !reports[0].report) return Fail(reports[0].error);
  if (report::Readable(reports).empty()) {
    return Fail(absl::StrCat("none of the ", reports.size(), " traces in '", input,
                             "' can be read; the first: ", reports[0].error));
  }
  for (const report::TraceReport& r : reports) {
    if (!r.report) std::fprintf(stderr, "heapgap: warning: cannot read %s: %s\n", r.trace.c_str(), r.error.c_str());
  }

  absl::StatusOr<report::GateResult> gate =
      FinishReports(*settings, options, reports, directory ? input : std::string());
  if (!gate.ok()) return Fail(gate.status().message());

  const std::vector<const report::Report*> readable = report::Readable(reports);
  std::string text;
  if (format == "junit") {
    text = report::JUnitXml(readable, settings->options, *gate);
  } else if (format == "sarif") {
    text = report::SarifJson(readable, settings->options, *gate);
  } else {
    CutRecords(reports, max_records);
    if (directory) {
      text = format == "json" ? report::SuiteJson(input, reports)
                              : report::SuiteText(input, reports, options.top);
    } else {
      text = format == "json" ? report::JsonReport(*reports[0].report)
                              : report::TextReport(*reports[0].report, options.top);
    }
  }
  if (int status = Emit(text, parsed->Value("output")); status != 0) return status;
  if (settings->enabled && gate->failed) {
    PrintGateFailure(*gate);
    return settings->exit_code;
  }
  return 0;
}

}  // namespace heapgap::cli
