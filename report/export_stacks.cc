#include "report/export_stacks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "report/format.h"

namespace heapgap::report {

const std::vector<StackMeasureInfo>& StackMeasures() {
  static const std::vector<StackMeasureInfo> kMeasures = {
      {StackMeasure::kAllocatedBytes, "allocated", "allocated bytes", "bytes"},
      {StackMeasure::kAllocations, "allocations", "allocations", "count"},
      {StackMeasure::kPeakBytes, "peak", "live bytes at the peak", "bytes"},
      {StackMeasure::kPeakBlocks, "peak-blocks", "live blocks at the peak", "count"},
      {StackMeasure::kLeakedBytes, "leaked", "leaked bytes", "bytes"},
      {StackMeasure::kLeakedBlocks, "leaked-blocks", "leaked blocks", "count"},
      {StackMeasure::kTemporary, "temporary", "temporary allocations", "count"},
  };
  return kMeasures;
}

const StackMeasureInfo& MeasureInfo(StackMeasure measure) {
  return StackMeasures()[static_cast<int>(measure)];
}

std::optional<StackMeasure> ParseStackMeasure(absl::string_view key) {
  for (const StackMeasureInfo& info : StackMeasures()) {
    if (info.key == key) return info.measure;
  }
  return std::nullopt;
}

std::vector<StackValues> CollectStackValues(const TraceAnalysis& analysis) {
  const HeapReplay& replay = analysis.replay;
  std::vector<StackValues> out;
  out.reserve(replay.stacks().size());
  for (const StackStats& s : replay.stacks()) {
    StackValues v;
    v.stack_id = s.stack_id;
    v[StackMeasure::kAllocatedBytes] = s.bytes_allocated;
    v[StackMeasure::kAllocations] = s.allocations;
    v[StackMeasure::kPeakBytes] = replay.PeakBytes(s);
    v[StackMeasure::kPeakBlocks] = replay.PeakBlocks(s);
    v[StackMeasure::kLeakedBytes] = s.live_bytes;
    v[StackMeasure::kLeakedBlocks] = s.live_blocks;
    v[StackMeasure::kTemporary] = s.temporary;
    out.push_back(v);
  }
  std::sort(out.begin(), out.end(),
            [](const StackValues& a, const StackValues& b) { return a.stack_id < b.stack_id; });
  return out;
}

std::string FrameName(const SymbolizedFrame& frame) {
  if (!frame.function.empty()) return frame.function;
  if (!frame.module.empty()) {
    const size_t slash = frame.module.rfind('/');
    const absl::string_view base = slash == std::string::npos
                                       ? absl::string_view(frame.module)
                                       : absl::string_view(frame.module).substr(slash + 1);
    return absl::StrCat(base, "+", HexAddress(frame.module_offset));
  }
  return HexAddress(frame.address);
}

}  // namespace heapgap::report
