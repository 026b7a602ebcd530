// Per allocation stack, the figures that the exports (pprof, collapsed
// stacks) and the HTML view show, from the same replay the reports use.
#ifndef HEAPGAP_REPORT_EXPORT_STACKS_H_
#define HEAPGAP_REPORT_EXPORT_STACKS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "report/trace_analysis.h"
#include "symbolizer/symbolizer.h"

namespace heapgap::report {

// What a stack is measured by.
enum class StackMeasure {
  kAllocatedBytes,  // sum of requested sizes of all its allocations
  kAllocations,     // number of allocations
  kPeakBytes,       // bytes live at the peak of the live heap
  kPeakBlocks,      // blocks live at the peak
  kLeakedBytes,     // bytes in use at exit
  kLeakedBlocks,    // blocks in use at exit
  kTemporary,       // allocations released by the thread's next event
};
inline constexpr int kStackMeasureCount = 7;

struct StackMeasureInfo {
  StackMeasure measure;
  absl::string_view key;    // command-line and JSON name: "allocated", "peak", ...
  absl::string_view label;  // for people: "allocated bytes", ...
  absl::string_view unit;   // "bytes" or "count"
};

// All measures, in enum order.
const std::vector<StackMeasureInfo>& StackMeasures();
const StackMeasureInfo& MeasureInfo(StackMeasure measure);
// The measure whose key is `key`, if any.
std::optional<StackMeasure> ParseStackMeasure(absl::string_view key);

struct StackValues {
  uint64_t stack_id = 0;
  uint64_t values[kStackMeasureCount] = {};

  uint64_t operator[](StackMeasure m) const { return values[static_cast<int>(m)]; }
  uint64_t& operator[](StackMeasure m) { return values[static_cast<int>(m)]; }
};

// One entry per allocation stack the replay saw (stack 0, "no stack
// recorded", included when it allocated), in ascending stack id order. Summed
// over all entries each measure equals the report's total: allocations,
// bytes allocated, peak live bytes and blocks, leaked bytes and blocks,
// temporary allocations.
std::vector<StackValues> CollectStackValues(const TraceAnalysis& analysis);

// How a frame is named where only one name fits (collapsed stacks, pprof
// functions, flame graphs): the function when known, else
// "module+0xoffset" with the module's file name, else the address.
std::string FrameName(const SymbolizedFrame& frame);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_EXPORT_STACKS_H_
