#include "report/text_report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "report/format.h"
#include "report/leak_output.h"

namespace heapgap::report {
namespace {

std::string Bytes(uint64_t n) { return Count(n, "byte", "bytes"); }
std::string Blocks(uint64_t n) { return Count(n, "block", "blocks"); }

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  return absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

void AppendStack(const StackRecord& r, std::string& out) {
  if (r.stack.empty()) {
    absl::StrAppend(&out, "      ", r.stack_id == 0 ? "(no stack recorded)" : "(unknown stack)",
                    "\n");
    return;
  }
  for (size_t i = 0; i < r.stack.size(); ++i) {
    absl::StrAppend(&out, "      #", i, " ", FrameText(r.stack[i]), "\n");
  }
}

// A top list: heading, then each record's `describe` line and its stack.
template <typename Describe>
void AppendList(absl::string_view heading, const StackRecordList& list, size_t top,
                Describe describe, std::string& out) {
  absl::StrAppend(&out, "\n", heading, "\n");
  if (list.records.empty()) {
    out += "  none\n";
    return;
  }
  const size_t shown = top == 0 ? list.records.size() : std::min(top, list.records.size());
  for (size_t i = 0; i < shown; ++i) {
    absl::StrAppend(&out, "  ", describe(list.records[i]), "\n");
    AppendStack(list.records[i], out);
  }
  if (list.total > shown) {
    absl::StrAppend(&out, "  ... and ", Count(list.total - shown, "more stack", "more stacks"),
                    " (--top N shows more)\n");
  }
}

std::string EndText(const ProcessFacts& p) {
  switch (p.end) {
    case TraceEnd::kExit:
      return absl::StrCat("exit status ", p.exit_status.value_or(0));
    case TraceEnd::kExitImmediate:
      return absl::StrCat("_exit(", p.exit_status.value_or(0), ")");
    case TraceEnd::kAbort:
      return "abort()";
    case TraceEnd::kExec:
      return absl::StrCat("exec of '", p.exec_path, "'");
    case TraceEnd::kTruncated:
      return "trace truncated";
  }
  return "";
}

}  // namespace

std::string TextReport(const Report& r, size_t top) {
  std::string out;
  const ProcessFacts& p = r.process;
  absl::StrAppend(&out, "heapgap ", r.heapgap_version, " report of ", r.trace, "\n");
  absl::StrAppend(&out, "process ", p.pid, p.forked ? " (fork child of " : " (parent ",
                  p.parent_pid, "): ", p.argv.empty() ? p.executable : absl::StrJoin(p.argv, " "),
                  "\n");
  absl::StrAppend(&out, "ended: ", EndText(p), " after ", FormatDuration(p.duration_ns), "\n");
  for (const std::string& warning : r.warnings) absl::StrAppend(&out, "warning: ", warning, "\n");

  const HeapTotals& t = r.totals;
  out += "\nHEAP SUMMARY:\n";
  absl::StrAppend(&out, "    in use at exit: ", Bytes(r.leaked_bytes), " in ",
                  Blocks(r.leaked_blocks), "\n");
  absl::StrAppend(&out, "  total heap usage: ", WithThousands(t.allocations), " allocs, ",
                  WithThousands(t.frees), " frees, ", Bytes(t.bytes_allocated), " allocated\n");
  absl::StrAppend(&out, "    peak live heap: ", Bytes(r.peak_bytes), " in ", Blocks(r.peak_blocks),
                  " at ", FormatDuration(r.peak_time_ns), "\n");
  absl::StrAppend(&out, "         temporary: ", WithThousands(t.temporary_allocations), " (",
                  Percent(t.temporary_allocations, t.allocations), " of allocations)\n");
  std::vector<std::string> calls;
  for (const auto& [name, n] : r.calls) calls.push_back(absl::StrCat(name, " ", WithThousands(n)));
  if (!calls.empty()) absl::StrAppend(&out, "             calls: ", absl::StrJoin(calls, ", "), "\n");
  if (t.inherited_frees != 0) {
    absl::StrAppend(&out, "   inherited frees: ", WithThousands(t.inherited_frees),
                    " (blocks allocated by the parent before fork)\n");
  }

  absl::StrAppend(&out, "\n", LeakSummaryText(r.leak_check));
  const ByteCount& suppressed = r.leak_check.suppressed;
  AppendList(
      absl::StrCat("LEAKS BY STACK: ", Bytes(r.leaked_bytes - suppressed.bytes), " in ",
                   Blocks(r.leaked_blocks - suppressed.blocks), " from ",
                   Count(r.leaks.total, "stack", "stacks"),
                   suppressed.blocks == 0
                       ? ""
                       : absl::StrCat(" (", Bytes(suppressed.bytes), " in ",
                                      Blocks(suppressed.blocks), " suppressed)")),
      r.leaks, top,
      [](const StackRecord& rec) {
        // Unchecked records keep the plain wording; the summary says why.
        return absl::StrCat(rec.kind == LeakKind::kUnchecked
                                ? ""
                                : absl::StrCat(LeakKindText(rec.kind), ": "),
                            Bytes(rec.bytes), " in ", Blocks(rec.blocks), " allocated at:");
      },
      out);
  out += ReleaseErrorsText(r.leak_check);
  out += SuppressionsUsedText(r.leak_check);
  AppendList(
      absl::StrCat("PEAK CONTRIBUTIONS: ", Bytes(r.peak_bytes), " in ", Blocks(r.peak_blocks),
                   " at ", FormatDuration(r.peak_time_ns)),
      r.peak, top,
      [&r](const StackRecord& rec) {
        return absl::StrCat(Bytes(rec.bytes), " (", Percent(rec.bytes, r.peak_bytes), ") in ",
                            Blocks(rec.blocks), " allocated at:");
      },
      out);
  AppendList(
      "MOST ALLOCATIONS", r.most_allocations, top,
      [](const StackRecord& rec) {
        return absl::StrCat(Count(rec.allocations, "allocation", "allocations"), " (",
                            Bytes(rec.bytes_allocated), ", ", WithThousands(rec.temporary),
                            " temporary) at:");
      },
      out);
  AppendList(
      "MOST TEMPORARY ALLOCATIONS", r.most_temporary, top,
      [](const StackRecord& rec) {
        return absl::StrCat(Count(rec.temporary, "temporary allocation", "temporary allocations"),
                            " of ", WithThousands(rec.allocations), " at:");
      },
      out);
  AppendHeapGeometryText(r.heap, top, &out);
  return out;
}

std::string SummaryLines(const TraceAnalysis& a, absl::string_view prefix,
                         absl::string_view extra_lines) {
  const HeapReplay& replay = a.replay;
  const HeapTotals& t = replay.totals();
  std::string out;
  absl::StrAppend(&out, prefix, "heapgap trace: ", a.path, "\n");
  absl::StrAppend(&out, prefix, "HEAP SUMMARY:\n");
  absl::StrAppend(&out, prefix, "    in use at exit: ", Bytes(replay.live_bytes()), " in ",
                  Blocks(replay.live_blocks()), "\n");
  absl::StrAppend(&out, prefix, "  total heap usage: ", WithThousands(t.allocations), " allocs, ",
                  WithThousands(t.frees), " frees, ", Bytes(t.bytes_allocated), " allocated\n");
  absl::StrAppend(&out, prefix, "    peak live heap: ", Bytes(replay.peak_bytes()), " in ",
                  Blocks(replay.peak_blocks()), " at ",
                  FormatDuration(a.SinceStart(replay.peak_time_ns())), "\n");
  for (const std::string& warning : a.warnings) {
    absl::StrAppend(&out, prefix, "warning: ", warning, "\n");
  }
  out.append(extra_lines.data(), extra_lines.size());
  absl::StrAppend(&out, prefix, "For stacks: heapgap report ", a.path, "\n");
  return out;
}

}  // namespace heapgap::report
