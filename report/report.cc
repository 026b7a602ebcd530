#include "report/report.h"

#include <algorithm>

#include "report/op.h"

namespace heapgap::report {
namespace {

// Sorts `stats` by `key` descending (ties: smaller stack id first), keeps
// the first `limit` (0 = all) and symbolizes them.
template <typename Key, typename Fill>
StackRecordList TopStacks(const TraceAnalysis& a, size_t limit, StackSymbolizer& symbolizer,
                          Key key, Fill fill) {
  std::vector<const StackStats*> chosen;
  for (const StackStats& s : a.replay.stacks()) {
    if (key(s) != 0) chosen.push_back(&s);
  }
  StackRecordList list;
  list.total = chosen.size();
  auto by_key = [&key](const StackStats* x, const StackStats* y) {
    const uint64_t kx = key(*x), ky = key(*y);
    return kx != ky ? kx > ky : x->stack_id < y->stack_id;
  };
  const size_t keep = limit == 0 ? chosen.size() : std::min(limit, chosen.size());
  std::partial_sort(chosen.begin(), chosen.begin() + keep, chosen.end(), by_key);
  chosen.resize(keep);
  for (const StackStats* s : chosen) {
    StackRecord record;
    record.allocations = s->allocations;
    record.bytes_allocated = s->bytes_allocated;
    record.temporary = s->temporary;
    record.stack_id = s->stack_id;
    fill(*s, record);
    record.stack = symbolizer.Symbolize(s->stack_id, a.stacks, a.modules);
    list.records.push_back(std::move(record));
  }
  return list;
}

// Adds `n` to the entry named `name`, appending it if new.
void AddCount(std::vector<std::pair<std::string, uint64_t>>& counts, absl::string_view name,
              uint64_t n) {
  auto it = std::find_if(counts.begin(), counts.end(),
                         [name](const auto& entry) { return entry.first == name; });
  if (it == counts.end()) {
    counts.emplace_back(std::string(name), n);
  } else {
    it->second += n;
  }
}

// The op numbers in the order their names appear in reports.
constexpr uint32_t kOpsInReportOrder[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  32, 33, 34,
                                          10, 12, 14, 16, 11, 13, 15, 17, 35, 37, 39, 41,
                                          43, 45, 36, 38, 40, 42, 44, 46};

}  // namespace

Report BuildReport(const TraceAnalysis& a, const ReportOptions& options,
                   StackSymbolizer& symbolizer) {
  const HeapReplay& replay = a.replay;
  Report r;
  r.heapgap_version = HEAPGAP_VERSION;
  r.trace = a.path;
  r.process = a.process;
  r.warnings = a.warnings;
  r.totals = replay.totals();
  r.lost_events = a.lost_events;

  for (uint32_t op : kOpsInReportOrder) {
    const uint64_t n = r.totals.calls_by_op[op];
    if (n == 0) continue;
    AddCount(r.calls, OpFunctionName(op), n);
  }

  r.leaked_bytes = replay.live_bytes();
  r.leaked_blocks = replay.live_blocks();
  LeakCheckOptions leak_options;
  leak_options.suppressions = options.suppressions;
  leak_options.max_records = options.max_records;
  r.leak_check = CheckLeaks(a, leak_options, symbolizer);
  r.leaks.total = r.leak_check.records_total;
  for (LeakRecord& leak : r.leak_check.records) {
    StackRecord record;
    record.bytes = leak.bytes;
    record.blocks = leak.blocks;
    record.allocations = leak.allocations;
    record.bytes_allocated = leak.bytes_allocated;
    record.temporary = leak.temporary;
    record.stack_id = leak.stack_id;
    record.kind = leak.kind;
    record.stack = std::move(leak.stack);
    r.leaks.records.push_back(std::move(record));
  }
  r.leak_check.records.clear();  // moved into r.leaks

  r.peak_bytes = replay.peak_bytes();
  r.peak_blocks = replay.peak_blocks();
  r.peak_time_ns = a.SinceStart(replay.peak_time_ns());
  r.peak = TopStacks(
      a, options.max_records, symbolizer,
      [&replay](const StackStats& s) {
        return replay.PeakBlocks(s) == 0 ? 0 : replay.PeakBytes(s) + 1;
      },
      [&replay](const StackStats& s, StackRecord& record) {
        record.bytes = replay.PeakBytes(s);
        record.blocks = replay.PeakBlocks(s);
      });

  auto no_live = [](const StackStats&, StackRecord&) {};
  r.most_allocations = TopStacks(
      a, options.top, symbolizer, [](const StackStats& s) { return s.allocations; }, no_live);
  r.most_temporary = TopStacks(
      a, options.top, symbolizer, [](const StackStats& s) { return s.temporary; }, no_live);
  r.heap = BuildHeapGeometryReport(a, symbolizer);
  return r;
}

}  // namespace heapgap::report
