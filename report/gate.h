// The CI gate: decides from the reports of one run (one trace, or every trace
// of a test suite) whether the run fails, and says why in one line.
//
// Counted are the unsuppressed blocks of the kinds in `fail_on`, over all
// reports together. Without thresholds any counted block fails the gate; with
// --fail-above-bytes / --fail-above-blocks, exceeding either does. With a
// baseline only what is new or grew counts: leak records are matched by kind
// and symbolized stack (function names, or module+offset where unknown), never
// by stack ids; and each executable's peak may not grow by more than the
// tolerance.
#ifndef HEAPGAP_REPORT_GATE_H_
#define HEAPGAP_REPORT_GATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "report/leak_check.h"
#include "report/leak_kind.h"
#include "report/report.h"

namespace heapgap::report {

// The exit status of `heapgap run` and `heapgap report` when the gate fails,
// unless --error-exitcode says otherwise.
inline constexpr int kGateFailedExitCode = 99;

// What an earlier run left: leaks by kind and stack, and peaks.
struct Baseline {
  std::string source;  // the file or directory it was read from
  absl::flat_hash_map<std::string, ByteCount> leaks;  // by LeakStackKey
  absl::flat_hash_map<std::string, uint64_t> peaks;   // executable base name -> largest peak

  void Add(const Report& report);
};

struct GateOptions {
  LeakKindMask fail_on = KindBit(LeakKind::kDefinitelyLost) | KindBit(LeakKind::kIndirectlyLost);
  bool fail_on_errors = false;             // mismatched and invalid releases
  std::optional<uint64_t> max_bytes;       // fail when more bytes count
  std::optional<uint64_t> max_blocks;      // fail when more blocks count
  const Baseline* baseline = nullptr;
  double peak_tolerance_percent = 10.0;    // with a baseline
};

// Parses --fail-on: a comma-separated list of definite, indirect, possible,
// reachable, unchecked, errors, or all (the four memcheck kinds) or none.
absl::StatusOr<GateOptions> ParseFailOn(absl::string_view list, GateOptions options);

struct GateResult {
  bool failed = false;
  std::string reason;  // one line when failed
  ByteCount counted;   // bytes and blocks that count (new or grown with a baseline)
  uint64_t errors = 0;  // release errors that count
  // Per report, per leak record (Report::leaks.records): whether it counts.
  std::vector<std::vector<bool>> record_counts;
};

GateResult EvaluateGate(const std::vector<const Report*>& reports, const GateOptions& options);

// The key a baseline matches leak records by: the kind and the frames.
std::string LeakStackKey(LeakKind kind, const std::vector<SymbolizedFrame>& stack);

// "definitely or indirectly lost" for the kinds in `mask`.
std::string KindsText(LeakKindMask mask);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_GATE_H_
