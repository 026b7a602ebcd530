#include "report/trace_analysis.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "report/event_decoder.h"
#include "report/event_orderer.h"
#include "report/trace_reader.h"

namespace heapgap::report {

const char* TraceEndName(TraceEnd end) {
  switch (end) {
    case TraceEnd::kExit: return "exit";
    case TraceEnd::kTruncated: return "truncated";
    case TraceEnd::kExitImmediate: return "_exit";
    case TraceEnd::kAbort: return "abort";
    case TraceEnd::kExec: return "exec";
  }
  return "truncated";
}

namespace {

void SetProcessEnd(const std::optional<trace::Trailer>& trailer,
                   const std::optional<trace::ProcessEnd>& process_end, TraceAnalysis& a) {
  ProcessFacts& p = a.process;
  uint64_t end_time = a.replay.last_time_ns();
  if (trailer) {
    p.end = TraceEnd::kExit;
    p.exit_status = trailer->exit_status();
    if (trailer->end_time_mono_ns() != 0) end_time = trailer->end_time_mono_ns();
  } else if (process_end && process_end->how() != trace::ProcessEnd::HOW_UNSPECIFIED) {
    switch (process_end->how()) {
      case trace::ProcessEnd::EXIT_IMMEDIATE:
        p.end = TraceEnd::kExitImmediate;
        p.exit_status = process_end->status();
        break;
      case trace::ProcessEnd::ABORT:
        p.end = TraceEnd::kAbort;
        break;
      default:
        p.end = TraceEnd::kExec;
        p.exec_path = process_end->detail();
        break;
    }
    if (process_end->time_ns() != 0) end_time = process_end->time_ns();
  } else {
    p.end = TraceEnd::kTruncated;
  }
  p.duration_ns = a.SinceStart(end_time);
}

// Allocators that replace glibc's malloc when a program links or preloads them.
constexpr absl::string_view kOwnAllocators[] = {"libjemalloc", "libtcmalloc", "libmimalloc",
                                               "libhoard", "libsnmalloc", "librpmalloc"};

// What heapgap sees of a program that brings its own allocator.
void AddAllocatorWarnings(bool clean_exit, TraceAnalysis& a) {
  std::vector<std::string> named;
  for (size_t i = 0; i < a.modules.size(); ++i) {
    const std::string& path = a.modules.module(i).info.path;
    const absl::string_view name = absl::string_view(path).substr(path.rfind('/') + 1);
    for (absl::string_view allocator : kOwnAllocators) {
      if (absl::StartsWith(name, allocator) &&
          std::find(named.begin(), named.end(), allocator) == named.end()) {
        named.emplace_back(allocator);
        a.warnings.push_back(absl::StrCat(
            "the process loaded ", name, ", an allocator of its own: malloc, free and operator "
            "new/delete reach libheapgap.so first and are recorded, and it passes them to "
            "__libc_malloc and friends (glibc's malloc, unless ", allocator, " replaces those "
            "too); allocations through ", allocator, "'s own interface (mallocx, tc_malloc, "
            "mi_malloc, ...) are not recorded"));
      }
    }
  }
  const auto& calls = a.replay.totals().calls_by_op;
  const bool no_calls = std::all_of(calls.begin(), calls.end(), [](uint64_t n) { return n == 0; });
  if (clean_exit && no_calls) {
    a.warnings.push_back(
        "no allocation was recorded: either the program allocated nothing, or it brings its own "
        "malloc (defined in the executable, or in a library loaded before libheapgap.so), whose "
        "blocks heapgap cannot see");
  }
}

void AddWarnings(const TraceReader& reader, const std::optional<trace::Trailer>& trailer,
                 const EventOrderer& orderer, TraceAnalysis& a) {
  auto warn = [&a](auto&&... parts) { a.warnings.push_back(absl::StrCat(parts...)); };
  const HeapTotals& t = a.replay.totals();
  switch (a.process.end) {
    case TraceEnd::kTruncated:
      warn("the trace is truncated: the process ended without a clean exit (crash, kill or full "
           "disk); blocks in use at exit are those live where the trace stops");
      break;
    case TraceEnd::kExitImmediate:
      warn("the process ended with _exit(", a.process.exit_status.value_or(0),
           "): exit handlers and destructors did not run, so blocks they would have released "
           "count as in use at exit");
      break;
    case TraceEnd::kAbort:
      warn("the process called abort(): blocks in use at exit are those live at the abort");
      break;
    case TraceEnd::kExec:
      warn("the process image was replaced by exec of '", a.process.exec_path,
           "': blocks in use at exit are those live at the exec, which the kernel released");
      break;
    case TraceEnd::kExit:
      break;
  }
  if (reader.ends_mid_record()) {
    warn("the last ", reader.trailing_bytes(),
         " bytes of the trace do not form a complete record and were ignored");
  }
  if (a.lost_events != 0) {
    warn(a.lost_events, " events could not be recorded (allocations in signal handlers that "
         "interrupted the tracer); totals and leaks are approximate");
  }
  if (t.unknown_frees != 0) {
    warn(t.unknown_frees, " releases of pointers that were never seen allocated (lost events, "
         "or blocks allocated before tracing began)");
  }
  if (t.reused_live_addresses != 0) {
    warn(t.reused_live_addresses,
         " allocations returned an address that was still live (its release was not recorded)");
  }
  if (t.mismatched_frees != 0) {
    warn(t.mismatched_frees, " blocks were released by a function of another family than the "
         "one that allocated them (malloc/delete, new/free, new[]/delete or new/delete[])");
  }
  if (orderer.late_events() != 0) {
    warn(orderer.late_events(), " events came after a barrier that should have preceded them; "
         "their order may be wrong");
  }
  if (t.unknown_ops != 0) {
    warn(t.unknown_ops, " events of kinds this version of heapgap does not know were ignored");
  }
  if (trailer && trailer->events() != 0 && trailer->events() != a.events) {
    warn("the trailer counts ", trailer->events(), " events, the trace holds ", a.events);
  }
  AddAllocatorWarnings(trailer.has_value(), a);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TraceAnalysis>> AnalyzeTrace(const std::string& path,
                                                            AnalysisObserver* observer) {
  absl::StatusOr<std::unique_ptr<TraceReader>> opened = TraceReader::Open(path);
  if (!opened.ok()) return opened.status();
  TraceReader& reader = **opened;

  auto analysis = std::make_unique<TraceAnalysis>();
  TraceAnalysis& a = *analysis;
  a.path = path;
  a.header = reader.header();
  a.process.pid = a.header.pid();
  a.process.parent_pid = a.header.parent_pid();
  a.process.executable = a.header.executable();
  a.process.argv.assign(a.header.argv().begin(), a.header.argv().end());
  a.process.forked = a.header.forked();
  a.replay = HeapReplay(a.header.forked());
  a.geometry.Start(a.header);

  EventOrderer orderer;
  HeapReplay& replay = a.replay;
  LeakScanApplier leak_scan;
  HeapGeometry& geometry = a.geometry;
  auto apply = [&replay, &leak_scan, &geometry, observer](const Event& e) {
    leak_scan.BeforeEvent(e, replay);
    replay.Apply(e);
    geometry.Apply(e);
    if (observer != nullptr) observer->OnEvent(e, replay);
  };
  std::optional<trace::Trailer> trailer;
  std::optional<trace::ProcessEnd> process_end;
  uint64_t batch_lost_events = 0;
  std::string error;
  for (;;) {
    absl::StatusOr<const trace::Record*> next = reader.Next();
    if (!next.ok()) return next.status();
    const trace::Record* record = *next;
    if (record == nullptr) break;
    switch (record->kind_case()) {
      case trace::Record::kModuleLoad:
        a.modules.Load(record->module_load());
        break;
      case trace::Record::kModuleUnload:
        a.modules.Unload(record->module_unload().module_id());
        break;
      case trace::Record::kStackNodes:
        if (!a.stacks.Add(record->stack_nodes(), a.modules, &error)) {
          return reader.CorruptRecord(error);
        }
        break;
      case trace::Record::kEvents: {
        const trace::EventBatch& batch = record->events();
        if (!DecodeEventBatch(batch, orderer.buffer(), &error)) return reader.CorruptRecord(error);
        a.events += batch.op_size();
        batch_lost_events += batch.lost_events();
        // Events after an exec record mean the exec failed and the process went on.
        if (process_end && process_end->how() == trace::ProcessEnd::EXEC && batch.op_size() != 0) {
          process_end.reset();
        }
        break;
      }
      case trace::Record::kBarrier:
        orderer.ReleaseBefore(record->barrier().seq(), apply);
        geometry.ReleaseSamplesThrough(record->barrier().seq());
        break;
      case trace::Record::kMallocSettings:
        geometry.SetMallocSettings(record->malloc_settings());
        break;
      case trace::Record::kSample:
        geometry.AddSample(record->sample());
        break;
      case trace::Record::kHeapWalk:
        geometry.SetHeapWalk(record->heap_walk());
        break;
      case trace::Record::kTrailer:
        trailer = record->trailer();
        break;
      case trace::Record::kProcessEnd:
        process_end = record->process_end();
        break;
      case trace::Record::kLeakScan:
        if (!leak_scan.Take(record->leak_scan(), &error)) return reader.CorruptRecord(error);
        break;
      default:
        break;
    }
    if (observer != nullptr) observer->OnRecord(*record, reader.bytes_read());
  }
  orderer.ReleaseAll(apply);
  leak_scan.Finish(replay);
  replay.Finish();
  a.leak_scan = leak_scan.facts();

  a.records = reader.records_read();
  a.max_buffered_events = orderer.max_buffered();
  a.lost_events = batch_lost_events;
  if (trailer && trailer->lost_events() > a.lost_events) a.lost_events = trailer->lost_events();
  SetProcessEnd(trailer, process_end, a);
  geometry.Finish(a.header.start_time_mono_ns() + a.process.duration_ns);
  AddWarnings(reader, trailer, orderer, a);
  return analysis;
}

}  // namespace heapgap::report
