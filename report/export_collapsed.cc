#include "report/export_collapsed.h"

#include <map>

#include "absl/strings/str_cat.h"

namespace heapgap::report {
namespace {

// A frame name that cannot break the line format.
std::string CollapsedName(const SymbolizedFrame& frame) {
  std::string name = FrameName(frame);
  for (char& c : name) {
    if (c == ';') {
      c = ':';
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return name;
}

}  // namespace

std::string CollapsedStacks(const TraceAnalysis& analysis, const std::vector<StackValues>& stacks,
                            StackMeasure measure, StackSymbolizer& symbolizer) {
  std::map<std::string, uint64_t> lines;
  for (const StackValues& s : stacks) {
    const uint64_t value = s[measure];
    if (value == 0) continue;
    const std::vector<SymbolizedFrame> frames =
        symbolizer.Symbolize(s.stack_id, analysis.stacks, analysis.modules);
    std::string path;
    if (frames.empty()) {
      path = s.stack_id == 0 ? "[no stack recorded]" : "[unknown stack]";
    }
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      if (!path.empty()) path += ';';
      path += CollapsedName(*it);
    }
    lines[path] += value;
  }
  std::string out;
  for (const auto& [path, value] : lines) absl::StrAppend(&out, path, " ", value, "\n");
  return out;
}

}  // namespace heapgap::report
