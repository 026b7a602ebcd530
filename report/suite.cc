#include "report/suite.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "report/format.h"
#include "report/json_report.h"
#include "report/json_writer.h"
#include "report/leak_output.h"
#include "report/text_report.h"
#include "report/trace_analysis.h"

namespace heapgap::report {
namespace {

bool IsTraceName(absl::string_view name) {
  return absl::EndsWith(name, ".trace") || absl::StrContains(name, ".trace.");
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string EndLine(const ProcessFacts& p) {
  std::string how = TraceEndName(p.end);
  if (p.end == TraceEnd::kExit || p.end == TraceEnd::kExitImmediate) {
    absl::StrAppend(&how, ", status ", p.exit_status.value_or(0));
  } else if (p.end == TraceEnd::kExec) {
    absl::StrAppend(&how, " of '", p.exec_path, "'");
  }
  return how;
}

void WriteCount(absl::string_view key, const ByteCount& c, JsonWriter& w) {
  w.Key(key);
  w.BeginObject();
  w.Key("bytes");
  w.Uint(c.bytes);
  w.Key("blocks");
  w.Uint(c.blocks);
  w.EndObject();
}

// Baselines from JSON reports.
const google::protobuf::Value* Member(const google::protobuf::Value& v, const std::string& key) {
  if (v.kind_case() != google::protobuf::Value::kStructValue) return nullptr;
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? nullptr : &it->second;
}

std::string StringOf(const google::protobuf::Value* v) {
  return v != nullptr && v->kind_case() == google::protobuf::Value::kStringValue ? v->string_value()
                                                                                  : std::string();
}

uint64_t NumberOf(const google::protobuf::Value* v) {
  return v != nullptr && v->kind_case() == google::protobuf::Value::kNumberValue &&
                 v->number_value() > 0
             ? static_cast<uint64_t>(v->number_value())
             : 0;
}

// Adds one JSON report's leaks and peak to `baseline`.
void AddJsonReport(const google::protobuf::Value& report, Baseline& baseline) {
  Report r;
  if (const google::protobuf::Value* process = Member(report, "process")) {
    r.process.executable = StringOf(Member(*process, "exe"));
  }
  if (const google::protobuf::Value* peak = Member(report, "peak")) {
    r.peak_bytes = NumberOf(Member(*peak, "live_bytes"));
  }
  const google::protobuf::Value* leaks = Member(report, "leaks");
  const google::protobuf::Value* records = leaks ? Member(*leaks, "records") : nullptr;
  if (records != nullptr && records->kind_case() == google::protobuf::Value::kListValue) {
    for (const google::protobuf::Value& rv : records->list_value().values()) {
      StackRecord record;
      record.bytes = NumberOf(Member(rv, "bytes"));
      record.blocks = NumberOf(Member(rv, "blocks"));
      record.kind = ParseLeakKind(StringOf(Member(rv, "kind"))).value_or(LeakKind::kUnchecked);
      const google::protobuf::Value* stack = Member(rv, "stack");
      if (stack != nullptr && stack->kind_case() == google::protobuf::Value::kListValue) {
        for (const google::protobuf::Value& fv : stack->list_value().values()) {
          SymbolizedFrame frame;
          frame.function = StringOf(Member(fv, "function"));
          frame.module = StringOf(Member(fv, "module"));
          uint64_t offset = 0;
          const std::string hex = StringOf(Member(fv, "module_offset"));
          if (absl::StartsWith(hex, "0x") && absl::SimpleHexAtoi(hex.substr(2), &offset)) {
            frame.module_offset = offset;
          }
          record.stack.push_back(std::move(frame));
        }
      }
      r.leaks.records.push_back(std::move(record));
    }
  }
  baseline.Add(r);
}

absl::StatusOr<Baseline> BaselineFromJson(const std::string& path, const std::string& text) {
  google::protobuf::Value root;
  google::protobuf::util::JsonParseOptions parse_options;
  parse_options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(text, &root, parse_options).ok() ||
      root.kind_case() != google::protobuf::Value::kStructValue) {
    return absl::InvalidArgumentError(
        absl::StrCat("baseline '", path, "' is not a heapgap JSON report"));
  }
  Baseline baseline;
  baseline.source = path;
  const google::protobuf::Value* processes = Member(root, "processes");
  if (processes != nullptr && processes->kind_case() == google::protobuf::Value::kListValue) {
    for (const google::protobuf::Value& report : processes->list_value().values()) {
      AddJsonReport(report, baseline);
    }
  } else if (Member(root, "leaks") != nullptr) {
    AddJsonReport(root, baseline);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("baseline '", path, "' is JSON but not a heapgap report (no \"leaks\")"));
  }
  return baseline;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> TracesInDirectory(const std::string& directory) {
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot read directory '", directory, "': ", std::strerror(errno)));
  }
  std::vector<std::string> traces;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (!IsTraceName(name)) continue;
    const std::string path = absl::StrCat(directory, absl::EndsWith(directory, "/") ? "" : "/", name);
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) traces.push_back(path);
  }
  closedir(dir);
  std::sort(traces.begin(), traces.end());
  return traces;
}

std::vector<TraceReport> ReportTraces(const std::vector<std::string>& traces,
                                      const ReportOptions& options, unsigned threads,
                                      const SymbolizerFactory& make_symbolizer) {
  std::vector<TraceReport> results(traces.size());
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, traces.size()));
  std::atomic<size_t> next{0};
  auto work = [&]() {
    StackSymbolizer symbolizer = make_symbolizer ? make_symbolizer() : StackSymbolizer();
    for (size_t i = next++; i < traces.size(); i = next++) {
      TraceReport& out = results[i];
      out.trace = traces[i];
      absl::StatusOr<std::unique_ptr<TraceAnalysis>> analysis = AnalyzeTrace(traces[i]);
      if (!analysis.ok()) {
        out.error = std::string(analysis.status().message());
        continue;
      }
      out.report = std::make_unique<Report>(BuildReport(**analysis, options, symbolizer));
      const std::string prefix = absl::StrCat("==", (*analysis)->process.pid, "== ");
      out.summary = SummaryLines(**analysis, prefix, LeakSummaryText(out.report->leak_check, prefix));
    }
  };
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }
  return results;
}

std::vector<const Report*> Readable(const std::vector<TraceReport>& reports) {
  std::vector<const Report*> out;
  for (const TraceReport& r : reports) {
    if (r.report) out.push_back(r.report.get());
  }
  return out;
}

LeakCheck TotalLeakCheck(const std::vector<const Report*>& reports) {
  LeakCheck total;
  for (const Report* report : reports) {
    const LeakCheck& c = report->leak_check;
    for (int k = 0; k < kLeakKindCount; ++k) {
      total.by_kind[k].Add(c.by_kind[k].bytes, c.by_kind[k].blocks);
      total.suppressed_by_kind[k].Add(c.suppressed_by_kind[k].bytes, c.suppressed_by_kind[k].blocks);
    }
    total.suppressed.Add(c.suppressed.bytes, c.suppressed.blocks);
    total.error_count += c.error_count;
    total.suppressed_errors += c.suppressed_errors;
    if (total.suppressions.empty()) {
      total.suppressions = c.suppressions;
    } else {
      for (size_t i = 0; i < c.suppressions.size() && i < total.suppressions.size(); ++i) {
        total.suppressions[i].records += c.suppressions[i].records;
        total.suppressions[i].bytes += c.suppressions[i].bytes;
        total.suppressions[i].blocks += c.suppressions[i].blocks;
        total.suppressions[i].errors += c.suppressions[i].errors;
      }
    }
  }
  // Every process scanned: the total is as checked as its parts.
  bool all_scanned = !reports.empty();
  for (const Report* report : reports) all_scanned = all_scanned && report->leak_check.scan;
  if (all_scanned) total.scan = LeakScanFacts{};
  return total;
}

std::string SuiteText(const std::string& directory, const std::vector<TraceReport>& reports,
                      size_t top) {
  std::string out;
  const std::vector<const Report*> readable = Readable(reports);
  absl::StrAppend(&out, "heapgap ", HEAPGAP_VERSION, " report of ", directory, ": ",
                  Count(reports.size(), "trace", "traces"), "\n");
  for (const TraceReport& tr : reports) {
    if (!tr.report) {
      absl::StrAppend(&out, "\n== ", tr.trace, ": cannot read: ", tr.error, "\n");
      continue;
    }
    const Report& r = *tr.report;
    const ProcessFacts& p = r.process;
    absl::StrAppend(&out, "\n== ", tr.trace, "\n   process ", p.pid,
                    p.forked ? " (fork child of " : " (parent ", p.parent_pid, "): ",
                    p.argv.empty() ? p.executable : absl::StrJoin(p.argv, " "), "\n",
                    "   ended: ", EndLine(p), "; in use at the end: ", WithThousands(r.leaked_bytes),
                    " bytes in ", WithThousands(r.leaked_blocks), " blocks; peak ",
                    WithThousands(r.peak_bytes), " bytes\n");
    out += LeakSummaryText(r.leak_check, "   ");
    const size_t shown = top == 0 ? r.leaks.records.size() : std::min(top, r.leaks.records.size());
    for (size_t i = 0; i < shown; ++i) {
      const StackRecord& rec = r.leaks.records[i];
      absl::StrAppend(&out, "   ", WithThousands(rec.bytes), " bytes in ",
                      Count(rec.blocks, "block", "blocks"), " ", LeakKindText(rec.kind), " at ",
                      rec.stack.empty() ? std::string("(no stack recorded)") : FrameText(rec.stack[0]),
                      "\n");
    }
    if (r.leaks.total > shown) {
      absl::StrAppend(&out, "   ... and ", Count(r.leaks.total - shown, "more record", "more records"),
                      "\n");
    }
  }
  const LeakCheck total = TotalLeakCheck(readable);
  absl::StrAppend(&out, "\nTOTAL over ", Count(readable.size(), "process", "processes"),
                  reports.size() > readable.size()
                      ? absl::StrCat(" (", reports.size() - readable.size(), " unreadable)")
                      : "",
                  ":\n");
  out += LeakSummaryText(total);
  out += SuppressionsUsedText(total);
  return out;
}

std::string SuiteJson(const std::string& directory, const std::vector<TraceReport>& reports) {
  const std::vector<const Report*> readable = Readable(reports);
  const LeakCheck total = TotalLeakCheck(readable);
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("heapgap_version");
  w.String(HEAPGAP_VERSION);
  w.Key("directory");
  w.String(directory);
  w.Key("traces");
  w.Uint(reports.size());
  w.Key("unreadable");
  w.BeginArray();
  for (const TraceReport& tr : reports) {
    if (tr.report) continue;
    w.BeginObject();
    w.Key("trace");
    w.String(tr.trace);
    w.Key("error");
    w.String(tr.error);
    w.EndObject();
  }
  w.EndArray();
  w.Key("total");
  w.BeginObject();
  w.Key("processes");
  w.Uint(readable.size());
  w.Key("leaks");
  w.BeginObject();
  ByteCount live;
  uint64_t peak = 0;
  for (const Report* r : readable) {
    live.Add(r->leaked_bytes, r->leaked_blocks);
    peak = std::max(peak, r->peak_bytes);
  }
  w.Key("bytes");
  w.Uint(live.bytes);
  w.Key("blocks");
  w.Uint(live.blocks);
  for (LeakKind kind : kLeakKindsInReportOrder) WriteCount(LeakKindName(kind), total.of(kind), w);
  WriteCount("suppressed", total.suppressed, w);
  w.EndObject();
  w.Key("errors");
  w.Uint(total.error_count);
  w.Key("largest_peak_bytes");
  w.Uint(peak);
  w.Key("suppressions");
  WriteSuppressionsJson(total, w);
  w.EndObject();
  w.Key("processes");
  w.BeginArray();
  for (const Report* r : readable) w.Raw(JsonReport(*r));
  w.EndArray();
  w.EndObject();
  return out;
}

absl::StatusOr<Baseline> LoadBaseline(const std::string& path, const ReportOptions& options,
                                      unsigned threads, const SymbolizerFactory& make_symbolizer) {
  std::vector<std::string> traces;
  if (IsDirectory(path)) {
    absl::StatusOr<std::vector<std::string>> listed = TracesInDirectory(path);
    if (!listed.ok()) return listed.status();
    if (listed->empty()) {
      return absl::NotFoundError(absl::StrCat("baseline directory '", path, "' holds no traces"));
    }
    traces = std::move(*listed);
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read baseline '", path, "': ", std::strerror(errno)));
    }
    std::stringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    const size_t first = content.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && content[first] == '{') return BaselineFromJson(path, content);
    traces.push_back(path);
  }
  ReportOptions all = options;
  all.max_records = 0;
  std::vector<TraceReport> reports = ReportTraces(traces, all, threads, make_symbolizer);
  Baseline baseline;
  baseline.source = path;
  for (const TraceReport& r : reports) {
    if (!r.report) return absl::InvalidArgumentError(absl::StrCat("baseline: ", r.error));
    baseline.Add(*r.report);
  }
  return baseline;
}

}  // namespace heapgap::report
