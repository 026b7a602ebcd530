#include "report/leak_check.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "report/format.h"

namespace heapgap::report {
namespace {

int KindOrder(LeakKind kind) {
  for (int i = 0; i < kLeakKindCount; ++i) {
    if (kLeakKindsInReportOrder[i] == kind) return i;
  }
  return kLeakKindCount;
}

std::string HowEnded(const ProcessFacts& p) {
  switch (p.end) {
    case TraceEnd::kExitImmediate: return absl::StrCat("_exit(", p.exit_status.value_or(0), ")");
    case TraceEnd::kAbort: return "abort()";
    case TraceEnd::kExec: return "exec";
    case TraceEnd::kTruncated: return "a crash, a signal or a truncated trace";
    case TraceEnd::kExit: return "exit";
  }
  return "exit";
}

void AddNotes(const TraceAnalysis& a, LeakCheck& check) {
  const ByteCount& unchecked = check.of(LeakKind::kUnchecked);
  const ByteCount& unchecked_suppressed =
      check.suppressed_by_kind[static_cast<int>(LeakKind::kUnchecked)];
  const uint64_t blocks = unchecked.blocks + unchecked_suppressed.blocks;
  const uint64_t bytes = unchecked.bytes + unchecked_suppressed.bytes;
  if (!check.scan) {
    if (a.process.end == TraceEnd::kExit) {
      check.notes.push_back(absl::StrCat(
          "the trace holds no leak scan (written by an older heapgap, or the scan was disabled): ",
          Count(bytes, "byte", "bytes"), " in ", Count(blocks, "block", "blocks"),
          " in use at exit are unchecked"));
    } else {
      check.notes.push_back(absl::StrCat(
          "no leak scan: the process ended by ", HowEnded(a.process),
          ", so no exit handler could scan it; ", Count(bytes, "byte", "bytes"), " in ",
          Count(blocks, "block", "blocks"), " in use at the end are unchecked"));
    }
    return;
  }
  const LeakScanFacts& scan = *check.scan;
  if (blocks != 0) {
    check.notes.push_back(absl::StrCat(Count(blocks, "block", "blocks"),
                                       " in use at the end were allocated after the leak scan "
                                       "or missing from it: unchecked"));
  }
  if (scan.blocks_not_live != 0) {
    check.notes.push_back(absl::StrCat(
        "the leak scan classified ", Count(scan.blocks_not_live, "block", "blocks"),
        " the trace does not hold live (lost events?)"));
  }
  if (scan.unknown_kinds != 0) {
    check.notes.push_back(absl::StrCat(scan.unknown_kinds,
                                       " verdicts of kinds this heapgap does not know count as "
                                       "unchecked"));
  }
  if (scan.threads_not_stopped != 0) {
    check.notes.push_back(absl::StrCat(
        Count(scan.threads_not_stopped, "thread", "threads"),
        " did not stop for the leak scan: their stacks were scanned without their registers"));
  }
  for (const std::string& note : scan.notes) {
    check.notes.push_back(absl::StrCat("leak scan: ", note));
  }
}

}  // namespace

const char* ReleaseErrorKindName(ReleaseErrorKind kind) {
  return kind == ReleaseErrorKind::kMismatched ? "mismatched_free" : "invalid_free";
}

LeakCheck CheckLeaks(const TraceAnalysis& a, const LeakCheckOptions& options,
                     StackSymbolizer& symbolizer) {
  LeakCheck check;
  check.scan = a.leak_scan;
  const SuppressionSet* suppressions =
      options.suppressions != nullptr && options.suppressions->size() != 0 ? options.suppressions
                                                                            : nullptr;
  if (suppressions != nullptr) {
    for (const Suppression& s : suppressions->suppressions()) {
      SuppressionUse use;
      use.name = s.name;
      use.origin = s.origin;
      use.description = s.description;
      use.built_in = s.style == Suppression::Style::kBuiltIn;
      check.suppressions.push_back(std::move(use));
    }
  }

  // Group the live blocks by (stack, kind).
  absl::flat_hash_map<std::pair<uint64_t, uint8_t>, LeakRecord> groups;
  a.replay.ForEachLiveBlock([&groups](const LiveBlockInfo& block) {
    LeakRecord& r = groups[{block.stack_id, static_cast<uint8_t>(block.kind)}];
    if (r.blocks == 0) {
      r.kind = block.kind;
      r.stack_id = block.stack_id;
      r.op = block.op;
    }
    r.bytes += block.size;
    r.blocks += 1;
  });
  absl::flat_hash_map<uint64_t, const StackStats*> stats;
  for (const StackStats& s : a.replay.stacks()) stats[s.stack_id] = &s;

  std::vector<LeakRecord> kept;
  for (auto& [key, record] : groups) {
    if (auto it = stats.find(record.stack_id); it != stats.end()) {
      record.allocations = it->second->allocations;
      record.bytes_allocated = it->second->bytes_allocated;
      record.temporary = it->second->temporary;
    }
    const int kind = static_cast<int>(record.kind);
    if (suppressions != nullptr) {
      record.stack = symbolizer.Symbolize(record.stack_id, a.stacks, a.modules);
      const std::string allocator = AllocatorFrameName(record.op);
      const int match = suppressions->MatchLeak({allocator, &record.stack}, record.kind);
      if (match >= 0) {
        SuppressionUse& use = check.suppressions[match];
        use.records += 1;
        use.bytes += record.bytes;
        use.blocks += record.blocks;
        check.suppressed.Add(record.bytes, record.blocks);
        check.suppressed_by_kind[kind].Add(record.bytes, record.blocks);
        continue;
      }
    }
    check.by_kind[kind].Add(record.bytes, record.blocks);
    kept.push_back(std::move(record));
  }
  auto order = [](const LeakRecord& x, const LeakRecord& y) {
    return std::make_tuple(-static_cast<int64_t>(x.bytes), KindOrder(x.kind), x.stack_id) <
           std::make_tuple(-static_cast<int64_t>(y.bytes), KindOrder(y.kind), y.stack_id);
  };
  check.records_total = kept.size();
  const size_t keep = options.max_records == 0 ? kept.size()
                                               : std::min(options.max_records, kept.size());
  std::partial_sort(kept.begin(), kept.begin() + keep, kept.end(), order);
  kept.resize(keep);
  if (suppressions == nullptr) {
    for (LeakRecord& r : kept) r.stack = symbolizer.Symbolize(r.stack_id, a.stacks, a.modules);
  }
  check.records = std::move(kept);

  for (const ReleaseError& error : a.replay.release_errors()) {
    ReleaseErrorRecord record;
    record.error = error;
    if (error.alloc_stack_id != 0) {
      record.alloc_stack = symbolizer.Symbolize(error.alloc_stack_id, a.stacks, a.modules);
    }
    if (error.free_stack_id != 0) {
      record.free_stack = symbolizer.Symbolize(error.free_stack_id, a.stacks, a.modules);
    }
    if (suppressions != nullptr) {
      const std::string releaser = AllocatorFrameName(error.free_op);
      const int match = suppressions->MatchReleaseError({releaser, &record.free_stack});
      if (match >= 0) {
        check.suppressions[match].errors += error.count;
        check.suppressed_errors += error.count;
        continue;
      }
    }
    check.error_count += error.count;
    check.errors.push_back(std::move(record));
  }
  AddNotes(a, check);
  return check;
}

}  // namespace heapgap::report
