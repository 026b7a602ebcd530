// Reports over many traces at once: the traces of one `heapgap run` (a test
// suite with fork and exec children), or a directory of them. Traces are
// analysed in parallel, each worker with its own symbolizer.
#ifndef HEAPGAP_REPORT_SUITE_H_
#define HEAPGAP_REPORT_SUITE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "report/gate.h"
#include "report/leak_check.h"
#include "report/report.h"
#include "report/stack_symbolizer.h"

namespace heapgap::report {

struct TraceReport {
  std::string trace;
  std::unique_ptr<Report> report;  // null when the trace could not be read
  std::string error;               // why, one line
  // The few lines `heapgap run` prints for the trace (heap and leak summary),
  // each prefixed with "==PID== ".
  std::string summary;
};

// The trace files in `directory` (names ending in ".trace", or with ".trace."
// followed by a suffix), sorted by name.
absl::StatusOr<std::vector<std::string>> TracesInDirectory(const std::string& directory);

using SymbolizerFactory = std::function<StackSymbolizer()>;

// Analyses each trace and builds its report with `options`, on `threads`
// workers (0: one per core, never more than traces). The results keep the
// order of `traces`. `make_symbolizer` defaults to the real symbolizer.
std::vector<TraceReport> ReportTraces(const std::vector<std::string>& traces,
                                      const ReportOptions& options, unsigned threads = 0,
                                      const SymbolizerFactory& make_symbolizer = {});

// The readable reports, in order.
std::vector<const Report*> Readable(const std::vector<TraceReport>& reports);

// Leak kinds, suppressed blocks and errors summed over reports.
LeakCheck TotalLeakCheck(const std::vector<const Report*>& reports);

// Text for a directory: a block per process (how it ended, its LEAK SUMMARY,
// its `top` largest leak records), then the LEAK SUMMARY over all of them.
std::string SuiteText(const std::string& directory, const std::vector<TraceReport>& reports,
                      size_t top);
// JSON for a directory (docs/REPORT_JSON.md, "Directories").
std::string SuiteJson(const std::string& directory, const std::vector<TraceReport>& reports);

// Reads a baseline: a JSON report (of a trace or a directory), a trace, or a
// directory of traces. Traces are reported with `options` (suppressions
// included) first.
absl::StatusOr<Baseline> LoadBaseline(const std::string& path, const ReportOptions& options,
                                      unsigned threads = 0,
                                      const SymbolizerFactory& make_symbolizer = {});

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_SUITE_H_
