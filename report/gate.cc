#include "report/gate.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "report/format.h"

namespace heapgap::report {
namespace {

std::string ExecutableName(const ProcessFacts& p) {
  const std::string& path = p.executable;
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string BytesInBlocks(const ByteCount& c) {
  return absl::StrCat(WithThousands(c.bytes), " bytes in ", Count(c.blocks, "block", "blocks"));
}

}  // namespace

std::string LeakStackKey(LeakKind kind, const std::vector<SymbolizedFrame>& stack) {
  std::string key(LeakKindName(kind));
  for (const SymbolizedFrame& f : stack) {
    key += " <- ";
    if (!f.function.empty()) {
      key += f.function;
    } else {
      const size_t slash = f.module.rfind('/');
      absl::StrAppend(&key, slash == std::string::npos ? f.module : f.module.substr(slash + 1),
                      "+", HexAddress(f.module_offset));
    }
  }
  return key;
}

std::string KindsText(LeakKindMask mask) {
  std::vector<std::string> names;
  for (LeakKind kind : kLeakKindsInReportOrder) {
    if (mask & KindBit(kind)) names.emplace_back(LeakKindText(kind));
  }
  if (names.empty()) return "of no kind";
  if (names.size() == 1) return names[0];
  // "definitely lost, indirectly lost or unchecked"
  std::string last = names.back();
  names.pop_back();
  return absl::StrCat(absl::StrJoin(names, ", "), " or ", last);
}

void Baseline::Add(const Report& report) {
  for (const StackRecord& r : report.leaks.records) {
    leaks[LeakStackKey(r.kind, r.stack)].Add(r.bytes, r.blocks);
  }
  uint64_t& peak = peaks[ExecutableName(report.process)];
  peak = std::max(peak, report.peak_bytes);
}

absl::StatusOr<GateOptions> ParseFailOn(absl::string_view list, GateOptions options) {
  options.fail_on = 0;
  options.fail_on_errors = false;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (item == "all") {
      options.fail_on |= kCheckedLeakKinds;
    } else if (item == "none") {
    } else if (item == "errors" || item == "error") {
      options.fail_on_errors = true;
    } else if (std::optional<LeakKind> kind = ParseLeakKind(item)) {
      options.fail_on |= KindBit(*kind);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown kind '", item,
          "' in --fail-on; use definite, indirect, possible, reachable, unchecked, errors, all "
          "or none"));
    }
  }
  return options;
}

GateResult EvaluateGate(const std::vector<const Report*>& reports, const GateOptions& options) {
  GateResult result;
  std::vector<std::string> reasons;

  // Leaks: with a baseline, aggregate by key first (several stack ids can
  // symbolize alike), then count what is new or grew.
  absl::flat_hash_map<std::string, ByteCount> current;
  result.record_counts.resize(reports.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& report = *reports[i];
    result.record_counts[i].assign(report.leaks.records.size(), false);
    for (size_t j = 0; j < report.leaks.records.size(); ++j) {
      const StackRecord& r = report.leaks.records[j];
      if ((options.fail_on & KindBit(r.kind)) == 0) continue;
      if (options.baseline == nullptr) {
        result.counted.Add(r.bytes, r.blocks);
        result.record_counts[i][j] = true;
      } else {
        current[LeakStackKey(r.kind, r.stack)].Add(r.bytes, r.blocks);
      }
    }
    if (options.fail_on_errors) result.errors += report.leak_check.error_count;
  }
  if (options.baseline != nullptr) {
    absl::flat_hash_map<std::string, bool> grown;
    for (const auto& [key, now] : current) {
      auto it = options.baseline->leaks.find(key);
      const ByteCount before = it == options.baseline->leaks.end() ? ByteCount{} : it->second;
      if (now.bytes <= before.bytes && now.blocks <= before.blocks) continue;
      grown[key] = true;
      result.counted.Add(now.bytes > before.bytes ? now.bytes - before.bytes : 0,
                         now.blocks > before.blocks ? now.blocks - before.blocks : 0);
    }
    for (size_t i = 0; i < reports.size(); ++i) {
      for (size_t j = 0; j < reports[i]->leaks.records.size(); ++j) {
        const StackRecord& r = reports[i]->leaks.records[j];
        if ((options.fail_on & KindBit(r.kind)) == 0) continue;
        result.record_counts[i][j] = grown.contains(LeakStackKey(r.kind, r.stack));
      }
    }
  }

  const bool thresholds = options.max_bytes.has_value() || options.max_blocks.has_value();
  const bool over = thresholds ? (options.max_bytes && result.counted.bytes > *options.max_bytes) ||
                                     (options.max_blocks && result.counted.blocks > *options.max_blocks)
                               : result.counted.blocks > 0;
  if (over) {
    std::string limit;
    if (!thresholds) {
      limit = "none allowed";
    } else {
      std::vector<std::string> limits;
      if (options.max_bytes) limits.push_back(Count(*options.max_bytes, "byte", "bytes"));
      if (options.max_blocks) limits.push_back(Count(*options.max_blocks, "block", "blocks"));
      limit = absl::StrCat("limit ", absl::StrJoin(limits, " and "));
    }
    reasons.push_back(absl::StrCat(BytesInBlocks(result.counted), " ", KindsText(options.fail_on),
                                   options.baseline != nullptr ? ", new or grown since the baseline" : "",
                                   " (", limit, ")"));
  }
  if (result.errors != 0) {
    reasons.push_back(absl::StrCat(Count(result.errors, "bad release", "bad releases"),
                                   " (mismatched or invalid)"));
  }

  if (options.baseline != nullptr) {
    absl::flat_hash_map<std::string, uint64_t> peaks;
    for (const Report* report : reports) {
      uint64_t& peak = peaks[ExecutableName(report->process)];
      peak = std::max(peak, report->peak_bytes);
    }
    std::vector<std::string> names;
    for (const auto& [name, peak] : peaks) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      auto it = options.baseline->peaks.find(name);
      if (it == options.baseline->peaks.end()) continue;
      const double before = static_cast<double>(it->second);
      const double now = static_cast<double>(peaks[name]);
      if (now > before * (1.0 + options.peak_tolerance_percent / 100.0) && now > before) {
        reasons.push_back(absl::StrFormat(
            "the peak of %s grew from %s to %s bytes (%s%.1f%%, tolerance %g%%)", name,
            WithThousands(it->second), WithThousands(peaks[name]), before > 0 ? "+" : "",
            before > 0 ? 100.0 * (now - before) / before : 100.0, options.peak_tolerance_percent));
      }
    }
  }

  result.failed = !reasons.empty();
  if (result.failed) result.reason = absl::StrJoin(reasons, "; ");
  return result;
}

}  // namespace heapgap::report
