// The leak check of one trace: every block still allocated at the end with
// its kind (the leak scan's verdict, or unchecked), grouped by allocation stack
// and kind, suppressions applied, and the release errors seen on the way.
#ifndef HEAPGAP_REPORT_LEAK_CHECK_H_
#define HEAPGAP_REPORT_LEAK_CHECK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/heap_replay.h"
#include "report/leak_kind.h"
#include "report/leak_scan.h"
#include "report/stack_symbolizer.h"
#include "report/suppressions.h"
#include "report/trace_analysis.h"
#include "symbolizer/symbolizer.h"

namespace heapgap::report {

struct ByteCount {
  uint64_t bytes = 0;
  uint64_t blocks = 0;

  void Add(uint64_t b, uint64_t n) {
    bytes += b;
    blocks += n;
  }
};

// One leak record: the blocks of one kind allocated from one stack.
struct LeakRecord {
  LeakKind kind = LeakKind::kUnchecked;
  uint64_t bytes = 0;
  uint64_t blocks = 0;
  uint64_t stack_id = 0;
  uint32_t op = 0;  // the allocating function of the first block
  // From the stack's statistics over the whole trace.
  uint64_t allocations = 0;
  uint64_t bytes_allocated = 0;
  uint64_t temporary = 0;
  std::vector<SymbolizedFrame> stack;  // innermost first
};

// How much one suppression matched.
struct SuppressionUse {
  std::string name;
  std::string origin;       // "FILE:LINE" or "built-in"
  std::string description;  // built-in ones
  bool built_in = false;
  uint64_t records = 0;     // leak records
  uint64_t bytes = 0;
  uint64_t blocks = 0;
  uint64_t errors = 0;      // release errors
};

// A release error with its stacks symbolized.
struct ReleaseErrorRecord {
  ReleaseError error;
  std::vector<SymbolizedFrame> alloc_stack;  // empty for an invalid release
  std::vector<SymbolizedFrame> free_stack;   // empty when the trace holds none
};

// "mismatched_free" or "invalid_free".
const char* ReleaseErrorKindName(ReleaseErrorKind kind);

struct LeakCheck {
  std::optional<LeakScanFacts> scan;  // nullopt: the process had no leak scan
  // Blocks in use at the end that no suppression matched, per kind (index:
  // LeakKind value).
  std::array<ByteCount, kLeakKindCount> by_kind{};
  ByteCount suppressed;
  std::array<ByteCount, kLeakKindCount> suppressed_by_kind{};
  // Unsuppressed records, by bytes descending; `records_total` before the cut.
  std::vector<LeakRecord> records;
  size_t records_total = 0;
  // Every suppression in the set, in its order.
  std::vector<SuppressionUse> suppressions;
  std::vector<ReleaseErrorRecord> errors;  // unsuppressed, in order of first occurrence
  uint64_t error_count = 0;                // occurrences of those
  uint64_t suppressed_errors = 0;          // occurrences
  // One-line explanations: why blocks are unchecked, scan limitations.
  std::vector<std::string> notes;

  const ByteCount& of(LeakKind kind) const { return by_kind[static_cast<int>(kind)]; }
};

struct LeakCheckOptions {
  const SuppressionSet* suppressions = nullptr;  // none when null
  size_t max_records = 0;                        // 0 = all
};

LeakCheck CheckLeaks(const TraceAnalysis& analysis, const LeakCheckOptions& options,
                     StackSymbolizer& symbolizer);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_LEAK_CHECK_H_
