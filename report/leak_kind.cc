#include "report/leak_kind.h"

namespace heapgap::report {

absl::string_view LeakKindName(LeakKind kind) {
  switch (kind) {
    case LeakKind::kStillReachable: return "still_reachable";
    case LeakKind::kDefinitelyLost: return "definitely_lost";
    case LeakKind::kIndirectlyLost: return "indirectly_lost";
    case LeakKind::kPossiblyLost: return "possibly_lost";
    case LeakKind::kUnchecked: break;
  }
  return "unchecked";
}

absl::string_view LeakKindText(LeakKind kind) {
  switch (kind) {
    case LeakKind::kStillReachable: return "still reachable";
    case LeakKind::kDefinitelyLost: return "definitely lost";
    case LeakKind::kIndirectlyLost: return "indirectly lost";
    case LeakKind::kPossiblyLost: return "possibly lost";
    case LeakKind::kUnchecked: break;
  }
  return "unchecked";
}

std::optional<LeakKind> ParseLeakKind(absl::string_view name) {
  if (name == "definite" || name == "definitely_lost") return LeakKind::kDefinitelyLost;
  if (name == "indirect" || name == "indirectly_lost") return LeakKind::kIndirectlyLost;
  if (name == "possible" || name == "possibly_lost") return LeakKind::kPossiblyLost;
  if (name == "reachable" || name == "still_reachable") return LeakKind::kStillReachable;
  if (name == "unchecked") return LeakKind::kUnchecked;
  return std::nullopt;
}

}  // namespace heapgap::report
