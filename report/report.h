// A report: the facts of one trace in the form both output formats print,
// with stacks symbolized.
#ifndef HEAPGAP_REPORT_REPORT_H_
#define HEAPGAP_REPORT_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "report/heap_replay.h"
#include "report/heap_report.h"
#include "report/leak_check.h"
#include "report/leak_kind.h"
#include "report/stack_symbolizer.h"
#include "report/suppressions.h"
#include "report/trace_analysis.h"
#include "symbolizer/symbolizer.h"

namespace heapgap::report {

// Heap usage attributed to one allocation stack.
struct StackRecord {
  uint64_t bytes = 0;        // live bytes (at exit or at the peak)
  uint64_t blocks = 0;
  uint64_t allocations = 0;  // all allocations from this stack
  uint64_t bytes_allocated = 0;
  uint64_t temporary = 0;
  uint64_t stack_id = 0;
  LeakKind kind = LeakKind::kUnchecked;  // leak records only
  std::vector<SymbolizedFrame> stack;  // innermost first
};

// A list of records, possibly cut to its first entries.
struct StackRecordList {
  size_t total = 0;  // records before the cut
  std::vector<StackRecord> records;
};

struct Report {
  std::string heapgap_version;
  std::string trace;
  ProcessFacts process;
  std::vector<std::string> warnings;

  HeapTotals totals;
  uint64_t lost_events = 0;
  // Calls per function (OpFunctionName), non-zero ones only, in a fixed
  // order: the C functions first, then operator new and delete.
  std::vector<std::pair<std::string, uint64_t>> calls;

  uint64_t leaked_bytes = 0;   // in use at exit
  uint64_t leaked_blocks = 0;
  StackRecordList leaks;       // by (stack, kind), unsuppressed, by bytes descending
  // Kinds, suppressions, release errors and notes of the leak check.
  LeakCheck leak_check;

  uint64_t peak_bytes = 0;
  uint64_t peak_blocks = 0;
  uint64_t peak_time_ns = 0;   // since the start of tracing
  StackRecordList peak;        // by bytes live at the peak, descending

  StackRecordList most_allocations;  // by number of allocations
  StackRecordList most_temporary;    // by number of temporary allocations

  // Where freed memory stays: holes, pinned bytes, trims (heap_report.h).
  HeapGeometryReport heap;
};

struct ReportOptions {
  // Most records in the leak and peak lists; 0 = all.
  size_t max_records = 0;
  // Most records in the most-allocations and most-temporary lists; 0 = all.
  size_t top = 10;
  // Suppressions applied to leaks and release errors; none when null.
  const SuppressionSet* suppressions = nullptr;
};

Report BuildReport(const TraceAnalysis& analysis, const ReportOptions& options,
                   StackSymbolizer& symbolizer);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_REPORT_H_
