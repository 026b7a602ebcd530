// The report as text for a terminal: a valgrind-like heap summary followed by
// heaptrack_print-like top lists.
#ifndef HEAPGAP_REPORT_TEXT_REPORT_H_
#define HEAPGAP_REPORT_TEXT_REPORT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "report/report.h"
#include "report/trace_analysis.h"

namespace heapgap::report {

// The full report; each top list shows at most `top` stacks (0 = all).
std::string TextReport(const Report& report, size_t top);

// The few lines `heapgap run` prints for each trace, each starting with
// `prefix` (e.g. "==1234== "): trace path, in use at exit, total heap usage,
// peak, and warnings; `extra_lines` (each already prefixed) come before the
// closing "For stacks" line.
std::string SummaryLines(const TraceAnalysis& analysis, absl::string_view prefix,
                         absl::string_view extra_lines = {});

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_TEXT_REPORT_H_
