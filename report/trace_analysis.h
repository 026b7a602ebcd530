// Reads a whole trace once: restores the event order, replays the heap and
// keeps the process facts, the module map and stack table needed to report.
#ifndef HEAPGAP_REPORT_TRACE_ANALYSIS_H_
#define HEAPGAP_REPORT_TRACE_ANALYSIS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "report/event.h"
#include "report/heap_geometry.h"
#include "report/heap_replay.h"
#include "report/leak_scan.h"
#include "report/module_map.h"
#include "report/stack_table.h"
#include "trace.pb.h"

namespace heapgap::report {

// How the traced process's trace ends.
enum class TraceEnd {
  kExit,       // a Trailer: exit() or return from main, every destructor ran
  kTruncated,  // no Trailer and no ProcessEnd: crash, kill, full disk
  kExitImmediate,  // _exit / _Exit
  kAbort,
  kExec,       // the process image was replaced; its successor has its own trace
};

// "exit", "truncated", "_exit", "abort", "exec".
const char* TraceEndName(TraceEnd end);

struct ProcessFacts {
  int64_t pid = 0;
  int64_t parent_pid = 0;
  std::string executable;
  std::vector<std::string> argv;
  bool forked = false;
  TraceEnd end = TraceEnd::kTruncated;
  std::optional<int> exit_status;  // exit() or _exit() status when known
  std::string exec_path;           // end == kExec: the program executed
  uint64_t duration_ns = 0;        // from the start of tracing to the end seen
};

struct TraceAnalysis {
  std::string path;
  trace::Header header;
  ProcessFacts process;
  // One-line notes for the reader of a report: truncation, lost events,
  // anomalies that make the numbers approximate.
  std::vector<std::string> warnings;
  uint64_t lost_events = 0;
  uint64_t events = 0;
  uint64_t records = 0;
  uint64_t max_buffered_events = 0;  // memory bound of order restoration

  ModuleMap modules;
  StackTable stacks;
  HeapReplay replay;
  // The heaps' layout over time: holes, pinned memory, trims (see heap_geometry.h).
  HeapGeometry geometry;
  // The leak scan of a clean exit, already applied to the replay's live
  // blocks; nullopt when the trace has none.
  std::optional<LeakScanFacts> leak_scan;

  // Nanoseconds since the start of tracing for a CLOCK_MONOTONIC time.
  uint64_t SinceStart(uint64_t mono_ns) const {
    return mono_ns > header.start_time_mono_ns() ? mono_ns - header.start_time_mono_ns() : 0;
  }
};

// Watches an analysis while it reads, for progress and for views that need
// more than the analysis keeps. The defaults do nothing.
class AnalysisObserver {
 public:
  virtual ~AnalysisObserver() = default;
  // After each record; `bytes_read` counts from the start of the file.
  virtual void OnRecord(const trace::Record& /*record*/, uint64_t /*bytes_read*/) {}
  // After the replay applied `event`, in the restored order.
  virtual void OnEvent(const Event& /*event*/, const HeapReplay& /*replay*/) {}
};

// Reads and replays the trace at `path`. Errors are one-line messages naming
// the file (see TraceReader); a truncated trace is not an error.
absl::StatusOr<std::unique_ptr<TraceAnalysis>> AnalyzeTrace(const std::string& path,
                                                            AnalysisObserver* observer = nullptr);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_TRACE_ANALYSIS_H_
