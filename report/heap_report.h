// The heap geometry part of a report: the figures of HeapGeometry with
// stacks symbolized and times made relative to the start of tracing, and
// its text section and JSON object (docs/REPORT_JSON.md, "heap").
#ifndef HEAPGAP_REPORT_HEAP_REPORT_H_
#define HEAPGAP_REPORT_HEAP_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "report/heap_geometry.h"
#include "report/json_writer.h"
#include "report/stack_symbolizer.h"
#include "symbolizer/symbolizer.h"

namespace heapgap::report {

struct TraceAnalysis;

struct PinnerRecord {
  Pinner pinner;
  uint64_t time_ns = 0;  // allocation time, since the start of tracing
  uint64_t age_ns = 0;   // at the moment the figures describe
  std::vector<SymbolizedFrame> stack;
};

struct ArenaRecord {
  HeapFigures figures;  // figures.pinners are replaced by `pinners`
  std::vector<PinnerRecord> pinners;
};

struct MomentRecord {
  bool valid = false;
  uint64_t time_ns = 0;  // since the start of tracing
  uint64_t footprint_bytes = 0;
  uint64_t hole_bytes = 0;  // all heaps
  uint64_t live_bytes = 0;
  uint64_t mmapped_bytes = 0;
  uint64_t mmapped_blocks = 0;
  ArenaRecord main;
  std::vector<ArenaRecord> arenas;
};

struct ThresholdChangeRecord {
  ThresholdChange change;
  uint64_t time_ns = 0;  // since the start of tracing
  std::vector<SymbolizedFrame> freed_block_stack;
};

struct AllocatorCallRecord {
  AllocatorCall call;
  uint64_t time_ns = 0;
  std::vector<SymbolizedFrame> stack;
  // malloc_trim: RSS of the last sample before and the first sample after
  // the call; 0 when there was none.
  uint64_t rss_before_bytes = 0;
  uint64_t rss_after_bytes = 0;
};

struct HeapGeometryReport {
  bool available = false;  // the trace records chunk headers
  MomentRecord end;
  MomentRecord at_peak_footprint;
  MomentRecord at_worst_holes;
  uint64_t rss_hwm_bytes = 0;
  uint64_t mmapped_allocations = 0;
  MallocParams initial_params;
  MallocParams final_params;
  std::vector<std::string> settings_applied;
  std::vector<ThresholdChangeRecord> threshold_changes;
  std::vector<AllocatorCallRecord> allocator_calls;
  ModelCounters counters;
  HeapWalkCheck walk;
  bool has_mallinfo = false;
  trace::MallocInfo mallinfo;
  PredictedMallinfo predicted_mallinfo;
  // One line per difference between the model and glibc's own view at exit.
  std::vector<std::string> differences;
  // One line per place where the figures are estimates.
  std::vector<std::string> estimates;
  // Times since the start of tracing.
  std::vector<TimelinePoint> timeline;
  std::vector<uint64_t> timeline_arenas;
  std::vector<RssPoint> rss;
};

HeapGeometryReport BuildHeapGeometryReport(const TraceAnalysis& analysis,
                                           StackSymbolizer& symbolizer);

// The HEAP GEOMETRY section; `top` limits pinning chains (0 = all).
void AppendHeapGeometryText(const HeapGeometryReport& report, size_t top, std::string* out);

// The value of the report's "heap" key.
void WriteHeapGeometryJson(const HeapGeometryReport& report, JsonWriter& w);

// 310 MiB, 4.0 KiB, 48 B.
std::string HumanBytes(uint64_t bytes);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_HEAP_REPORT_H_
