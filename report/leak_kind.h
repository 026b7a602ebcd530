// What a memcheck-style leak check makes of a block still allocated at the end
// of a trace (heapgap::trace::LeakKind in proto/trace.proto), plus "unchecked"
// for blocks no leak scan classified.
#ifndef HEAPGAP_REPORT_LEAK_KIND_H_
#define HEAPGAP_REPORT_LEAK_KIND_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace heapgap::report {

// The values of the classified kinds equal the trace's LeakKind values.
enum class LeakKind : uint8_t {
  kUnchecked = 0,       // the process ended without a scan (_exit, abort, signal,
                        // exec, truncation), or the block came after it
  kStillReachable = 1,
  kDefinitelyLost = 2,
  kIndirectlyLost = 3,
  kPossiblyLost = 4,
};

inline constexpr int kLeakKindCount = 5;

// The kinds in the order reports list them (memcheck's LEAK SUMMARY order,
// unchecked last).
inline constexpr LeakKind kLeakKindsInReportOrder[] = {
    LeakKind::kDefinitelyLost, LeakKind::kIndirectlyLost, LeakKind::kPossiblyLost,
    LeakKind::kStillReachable, LeakKind::kUnchecked,
};

// JSON names: "definitely_lost", "indirectly_lost", "possibly_lost",
// "still_reachable", "unchecked".
absl::string_view LeakKindName(LeakKind kind);
// Words for text reports, as memcheck writes them: "definitely lost", ...
absl::string_view LeakKindText(LeakKind kind);

// A set of kinds as a bit mask (bit = 1 << kind).
using LeakKindMask = uint32_t;
constexpr LeakKindMask KindBit(LeakKind kind) { return 1u << static_cast<int>(kind); }
inline constexpr LeakKindMask kAllLeakKinds = (1u << kLeakKindCount) - 1;
inline constexpr LeakKindMask kCheckedLeakKinds = kAllLeakKinds & ~KindBit(LeakKind::kUnchecked);

// One kind from a name as users write it: memcheck's short names ("definite",
// "indirect", "possible", "reachable"), the JSON names, and "unchecked".
std::optional<LeakKind> ParseLeakKind(absl::string_view name);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_LEAK_KIND_H_
