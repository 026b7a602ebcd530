// Helpers shared by the report tests.
#ifndef HEAPGAP_TESTS_REPORT_TEST_SUPPORT_H_
#define HEAPGAP_TESTS_REPORT_TEST_SUPPORT_H_

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "report/report.h"
#include "report/stack_symbolizer.h"
#include "report/trace_analysis.h"
#include "tests/report/trace_builder.h"

namespace heapgap::testing {

inline constexpr uint64_t kProgramStart = 0x400000;
inline constexpr uint64_t kProgramSize = 0x100000;

// Writes the trace and analyses it; fails the test on an error.
inline std::unique_ptr<report::TraceAnalysis> Analyze(const TraceBuilder& builder,
                                                      const std::string& name) {
  const std::string path = builder.WriteFile(name);
  absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> analysis = report::AnalyzeTrace(path);
  EXPECT_TRUE(analysis.ok()) << analysis.status();
  if (!analysis.ok()) return nullptr;
  return std::move(*analysis);
}

// A symbolizer that names each return address from a table ("?" if absent).
inline report::StackSymbolizer FakeSymbolizer(std::map<uint64_t, std::string> names) {
  return report::StackSymbolizer([names](const ModuleInfo& module, uint64_t address) {
    SymbolizedFrame frame;
    frame.address = address;
    frame.module = module.path;
    frame.module_offset = address - module.load_bias;
    auto it = names.find(address);
    if (it != names.end()) frame.function = it->second;
    return std::vector<SymbolizedFrame>{frame};
  });
}

// The per-stack records of `list` as stack id -> (bytes, blocks).
inline std::map<uint64_t, std::pair<uint64_t, uint64_t>> ByStack(
    const report::StackRecordList& list) {
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> out;
  for (const report::StackRecord& r : list.records) out[r.stack_id] = {r.bytes, r.blocks};
  return out;
}

}  // namespace heapgap::testing

#endif  // HEAPGAP_TESTS_REPORT_TEST_SUPPORT_H_
