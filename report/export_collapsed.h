// Collapsed stacks: one line per stack, "outer;...;inner value", the input
// of flamegraph.pl, speedscope and most flame graph tools.
#ifndef HEAPGAP_REPORT_EXPORT_COLLAPSED_H_
#define HEAPGAP_REPORT_EXPORT_COLLAPSED_H_

#include <string>
#include <vector>

#include "report/export_stacks.h"
#include "report/stack_symbolizer.h"
#include "report/trace_analysis.h"

namespace heapgap::report {

// Stacks whose `measure` is 0 are left out; stacks that symbolize to the
// same names are merged. Lines are sorted. Frames are named by FrameName()
// with ';' replaced by ':' and control characters by spaces, so every line
// splits back into its frames; inlined calls are frames of their own. A
// block allocated without a recorded stack is under "[no stack recorded]".
std::string CollapsedStacks(const TraceAnalysis& analysis, const std::vector<StackValues>& stacks,
                            StackMeasure measure, StackSymbolizer& symbolizer);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_EXPORT_COLLAPSED_H_
