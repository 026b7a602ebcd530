#include "report/json_report.h"

#include "report/format.h"
#include "report/json_writer.h"
#include "report/leak_output.h"

namespace heapgap::report {
namespace {

// `with_kind`: leak records, which carry their leak kind.
void WriteRecords(const StackRecordList& list, JsonWriter& w, bool with_kind = false) {
  w.Key("stacks");
  w.Uint(list.total);
  w.Key("records");
  w.BeginArray();
  for (const StackRecord& r : list.records) {
    w.BeginObject();
    w.Key("bytes");
    w.Uint(r.bytes);
    w.Key("blocks");
    w.Uint(r.blocks);
    w.Key("allocations");
    w.Uint(r.allocations);
    w.Key("bytes_allocated");
    w.Uint(r.bytes_allocated);
    w.Key("temporary");
    w.Uint(r.temporary);
    w.Key("stack_id");
    w.Uint(r.stack_id);
    if (with_kind) {
      w.Key("kind");
      w.String(LeakKindName(r.kind));
    }
    w.Key("stack");
    WriteStackJson(r.stack, w);
    w.EndObject();
  }
  w.EndArray();
}

void WriteCounts(const std::vector<std::pair<std::string, uint64_t>>& counts, JsonWriter& w) {
  w.BeginObject();
  for (const auto& [name, n] : counts) {
    w.Key(name);
    w.Uint(n);
  }
  w.EndObject();
}

}  // namespace

std::string JsonReport(const Report& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("heapgap_version");
  w.String(r.heapgap_version);
  w.Key("trace");
  w.String(r.trace);

  const ProcessFacts& p = r.process;
  w.Key("process");
  w.BeginObject();
  w.Key("pid");
  w.Int(p.pid);
  w.Key("parent_pid");
  w.Int(p.parent_pid);
  w.Key("exe");
  w.String(p.executable);
  w.Key("argv");
  w.BeginArray();
  for (const std::string& arg : p.argv) w.String(arg);
  w.EndArray();
  w.Key("forked");
  w.Bool(p.forked);
  w.Key("exit_status");
  if (p.exit_status) {
    w.Int(*p.exit_status);
  } else {
    w.Null();
  }
  w.Key("clean_exit");
  w.Bool(p.end == TraceEnd::kExit);
  w.Key("end");
  w.String(TraceEndName(p.end));
  if (p.end == TraceEnd::kExec) {
    w.Key("exec_path");
    w.String(p.exec_path);
  }
  w.Key("duration_ns");
  w.Uint(p.duration_ns);
  w.EndObject();

  w.Key("warnings");
  w.BeginArray();
  for (const std::string& warning : r.warnings) w.String(warning);
  w.EndArray();

  const HeapTotals& t = r.totals;
  w.Key("totals");
  w.BeginObject();
  w.Key("allocations");
  w.Uint(t.allocations);
  w.Key("frees");
  w.Uint(t.frees);
  w.Key("bytes_allocated");
  w.Uint(t.bytes_allocated);
  w.Key("temporary_allocations");
  w.Uint(t.temporary_allocations);
  w.Key("calls");
  WriteCounts(r.calls, w);
  w.Key("unknown_frees");
  w.Uint(t.unknown_frees);
  w.Key("inherited_frees");
  w.Uint(t.inherited_frees);
  w.Key("lost_events");
  w.Uint(r.lost_events);
  w.Key("failed_allocations");
  w.Uint(t.failed_allocations);
  w.Key("null_frees");
  w.Uint(t.null_frees);
  w.Key("reused_live_addresses");
  w.Uint(t.reused_live_addresses);
  w.Key("mismatched_frees");
  w.Uint(t.mismatched_frees);
  w.Key("mmapped_allocations");
  w.Uint(r.heap.mmapped_allocations);
  w.EndObject();

  w.Key("leaks");
  w.BeginObject();
  w.Key("bytes");
  w.Uint(r.leaked_bytes);
  w.Key("blocks");
  w.Uint(r.leaked_blocks);
  WriteLeakKindsJson(r.leak_check, w);
  WriteRecords(r.leaks, w, /*with_kind=*/true);
  w.EndObject();

  w.Key("errors");
  WriteReleaseErrorsJson(r.leak_check, w);
  w.Key("suppressions");
  WriteSuppressionsJson(r.leak_check, w);

  w.Key("peak");
  w.BeginObject();
  w.Key("live_bytes");
  w.Uint(r.peak_bytes);
  w.Key("blocks");
  w.Uint(r.peak_blocks);
  w.Key("time_ns");
  w.Uint(r.peak_time_ns);
  w.Key("footprint_bytes");
  w.Uint(r.heap.at_peak_footprint.footprint_bytes);
  w.Key("footprint_time_ns");
  w.Uint(r.heap.at_peak_footprint.time_ns);
  w.Key("rss_hwm_bytes");
  w.Uint(r.heap.rss_hwm_bytes);
  WriteRecords(r.peak, w);
  w.EndObject();

  w.Key("most_allocations");
  w.BeginObject();
  WriteRecords(r.most_allocations, w);
  w.EndObject();

  w.Key("most_temporary");
  w.BeginObject();
  WriteRecords(r.most_temporary, w);
  w.EndObject();

  w.Key("heap");
  WriteHeapGeometryJson(r.heap, w);

  w.EndObject();
  return out;
}

}  // namespace heapgap::report
