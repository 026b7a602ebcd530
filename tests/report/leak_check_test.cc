// The leak check on synthetic traces: leak scan verdicts, unchecked blocks,
// records by stack and kind, release errors with both stacks, and how the
// text and JSON reports show them.
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "report/json_report.h"
#include "report/leak_check.h"
#include "report/report.h"
#include "report/text_report.h"
#include "tests/report/test_support.h"

namespace heapgap::testing {
namespace {

using report::LeakKind;

// A LeakScan record: blocks (address, kind), in any order.
trace::Record LeakScan(uint64_t seq, std::vector<std::pair<uint64_t, LeakKind>> blocks,
                       uint32_t threads_not_stopped = 0) {
  std::sort(blocks.begin(), blocks.end());
  trace::Record record;
  trace::LeakScan* scan = record.mutable_leak_scan();
  scan->set_seq(seq);
  scan->set_threads_scanned(1);
  scan->set_threads_not_stopped(threads_not_stopped);
  scan->set_root_bytes(4096);
  uint64_t previous = 0;
  for (const auto& [address, kind] : blocks) {
    scan->add_address_delta(static_cast<int64_t>(address - previous));
    scan->add_kind(static_cast<uint32_t>(kind));
    previous = address;
  }
  return record;
}

// (stack id, kind) -> (bytes, blocks) of the report's leak records.
std::map<std::pair<uint64_t, LeakKind>, std::pair<uint64_t, uint64_t>> Records(
    const report::Report& r) {
  std::map<std::pair<uint64_t, LeakKind>, std::pair<uint64_t, uint64_t>> out;
  for (const report::StackRecord& rec : r.leaks.records) {
    out[{rec.stack_id, rec.kind}] = {rec.bytes, rec.blocks};
  }
  return out;
}

report::Report Build(const TraceBuilder& b, const std::string& name,
                     const report::SuppressionSet* suppressions = nullptr) {
  std::unique_ptr<report::TraceAnalysis> a = Analyze(b, name);
  report::StackSymbolizer symbolizer =
      FakeSymbolizer({{0x401000, "make_list"}, {0x401100, "leak_here"}, {0x401200, "main"},
                      {0x401300, "release_here"}});
  report::ReportOptions options;
  options.suppressions = suppressions;
  return report::BuildReport(*a, options, symbolizer);
}

class LeakCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b_.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
    list_ = b_.Stack({0x401000, 0x401200});
    leak_ = b_.Stack({0x401100, 0x401200});
  }
  TraceBuilder b_;
  uint64_t list_ = 0;
  uint64_t leak_ = 0;
};

TEST_F(LeakCheckTest, ScanVerdictsGroupRecordsByStackAndKind) {
  b_.Events(1, {Alloc(1, 0x1000, 48, list_), Alloc(2, 0x2000, 48, list_), Alloc(3, 0x3000, 48, list_),
                Alloc(4, 0x4000, 100, leak_), Alloc(5, 0x5000, 400, leak_)});
  b_.Barrier(6);
  b_.Raw(LeakScan(6, {{0x1000, LeakKind::kDefinitelyLost},
                      {0x2000, LeakKind::kIndirectlyLost},
                      {0x3000, LeakKind::kIndirectlyLost},
                      {0x4000, LeakKind::kStillReachable},
                      {0x5000, LeakKind::kPossiblyLost}}));
  b_.Trailer();
  const report::Report r = Build(b_, "scan-kinds");
  const report::LeakCheck& c = r.leak_check;
  ASSERT_TRUE(c.scan.has_value());
  EXPECT_EQ(c.scan->blocks, 5u);
  EXPECT_EQ(c.of(LeakKind::kDefinitelyLost).bytes, 48u);
  EXPECT_EQ(c.of(LeakKind::kIndirectlyLost).bytes, 96u);
  EXPECT_EQ(c.of(LeakKind::kIndirectlyLost).blocks, 2u);
  EXPECT_EQ(c.of(LeakKind::kStillReachable).bytes, 100u);
  EXPECT_EQ(c.of(LeakKind::kPossiblyLost).bytes, 400u);
  EXPECT_EQ(c.of(LeakKind::kUnchecked).blocks, 0u);
  EXPECT_TRUE(c.notes.empty()) << c.notes[0];
  const auto records = Records(r);
  EXPECT_EQ(records.size(), 4u);
  EXPECT_EQ(records.at({list_, LeakKind::kDefinitelyLost}), std::make_pair(uint64_t{48}, uint64_t{1}));
  EXPECT_EQ(records.at({list_, LeakKind::kIndirectlyLost}), std::make_pair(uint64_t{96}, uint64_t{2}));
  EXPECT_EQ(records.at({leak_, LeakKind::kStillReachable}), std::make_pair(uint64_t{100}, uint64_t{1}));
  EXPECT_EQ(records.at({leak_, LeakKind::kPossiblyLost}), std::make_pair(uint64_t{400}, uint64_t{1}));
  // The largest record comes first.
  EXPECT_EQ(r.leaks.records[0].kind, LeakKind::kPossiblyLost);
}

TEST_F(LeakCheckTest, TheScanAppliesAtItsSequenceNumberNotWhereItsRecordIs) {
  // The record comes before the events it covers are released by a barrier,
  // and a block allocated after the scan's seq is unchecked.
  b_.Events(1, {Alloc(1, 0x1000, 10, leak_), Alloc(2, 0x2000, 20, leak_)});
  b_.Raw(LeakScan(3, {{0x1000, LeakKind::kDefinitelyLost}, {0x2000, LeakKind::kStillReachable}}));
  b_.Events(1, {Free(4, 0x2000), Alloc(5, 0x2000, 30, leak_)});
  b_.Barrier(6);
  b_.Trailer();
  const report::Report r = Build(b_, "scan-order");
  const report::LeakCheck& c = r.leak_check;
  EXPECT_EQ(c.of(LeakKind::kDefinitelyLost).bytes, 10u);
  EXPECT_EQ(c.of(LeakKind::kStillReachable).blocks, 0u);  // freed after the scan
  EXPECT_EQ(c.of(LeakKind::kUnchecked).bytes, 30u);       // reused address, later block
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_TRUE(absl::StrContains(c.notes[0], "after the leak scan")) << c.notes[0];
}

TEST_F(LeakCheckTest, WithoutAScanEveryBlockIsUncheckedAndTheReportSaysWhy) {
  b_.Events(1, {Alloc(1, 0x1000, 10, leak_), Alloc(2, 0x2000, 20, list_)});
  b_.Barrier(3);
  b_.ProcessEnd(trace::ProcessEnd::ABORT);
  const report::Report r = Build(b_, "no-scan");
  const report::LeakCheck& c = r.leak_check;
  EXPECT_FALSE(c.scan.has_value());
  EXPECT_EQ(c.of(LeakKind::kUnchecked).bytes, 30u);
  EXPECT_EQ(c.of(LeakKind::kUnchecked).blocks, 2u);
  EXPECT_EQ(c.of(LeakKind::kDefinitelyLost).blocks, 0u);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_TRUE(absl::StrContains(c.notes[0], "abort()")) << c.notes[0];
  for (const report::StackRecord& rec : r.leaks.records) EXPECT_EQ(rec.kind, LeakKind::kUnchecked);

  const std::string text = report::TextReport(r, 10);
  EXPECT_TRUE(absl::StrContains(text, "unchecked: 30 bytes in 2 blocks (no leak scan)")) << text;
  EXPECT_TRUE(absl::StrContains(text, "note: no leak scan: the process ended by abort()")) << text;
  const std::string json = report::JsonReport(r);
  EXPECT_TRUE(absl::StrContains(json, "\"unchecked\": {\n      \"bytes\": 30,\n      \"blocks\": 2"))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"checked\": false")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"kind\": \"unchecked\"")) << json;
}

TEST_F(LeakCheckTest, TextAndJsonShowTheLeakSummaryLikeMemcheck) {
  b_.Events(1, {Alloc(1, 0x1000, 1000, leak_), Alloc(2, 0x2000, 24, list_)});
  b_.Barrier(3);
  b_.Raw(LeakScan(3, {{0x1000, LeakKind::kDefinitelyLost}, {0x2000, LeakKind::kStillReachable}},
                  /*threads_not_stopped=*/1));
  b_.Trailer();
  const report::Report r = Build(b_, "summary");
  const std::string text = report::TextReport(r, 10);
  for (const char* line : {"LEAK SUMMARY:\n", "   definitely lost: 1,000 bytes in 1 blocks\n",
                           "   indirectly lost: 0 bytes in 0 blocks\n",
                           "     possibly lost: 0 bytes in 0 blocks\n",
                           "   still reachable: 24 bytes in 1 blocks\n",
                           "        suppressed: 0 bytes in 0 blocks\n",
                           "definitely lost: 1,000 bytes in 1 block allocated at:",
                           "did not stop for the leak scan"}) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\n" << text;
  }
  EXPECT_FALSE(absl::StrContains(text, "unchecked:")) << text;
  const std::string json = report::JsonReport(r);
  for (const char* member : {"\"definitely_lost\": {\n      \"bytes\": 1000,\n      \"blocks\": 1",
                             "\"still_reachable\": {\n      \"bytes\": 24,", "\"checked\": true",
                             "\"threads_not_stopped\": 1", "\"kind\": \"definitely_lost\"",
                             "\"errors\": []", "\"suppressions\": []"}) {
    EXPECT_TRUE(absl::StrContains(json, member)) << member << "\n" << json;
  }
}

TEST_F(LeakCheckTest, ScanColumnsOfDifferentLengthsAreACorruptTrace) {
  trace::Record record = LeakScan(1, {{0x1000, LeakKind::kDefinitelyLost}});
  record.mutable_leak_scan()->add_kind(1);
  b_.Raw(record);
  const std::string path = b_.WriteFile("scan-corrupt");
  absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> a = report::AnalyzeTrace(path);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::StrContains(a.status().message(), "leak scan")) << a.status();
}

TEST_F(LeakCheckTest, UnknownVerdictsCountAsUnchecked) {
  b_.Events(1, {Alloc(1, 0x1000, 10, leak_)});
  b_.Barrier(2);
  trace::Record record = LeakScan(2, {{0x1000, LeakKind::kDefinitelyLost}});
  record.mutable_leak_scan()->set_kind(0, 17);
  b_.Raw(record);
  b_.Trailer();
  const report::Report r = Build(b_, "scan-unknown-kind");
  EXPECT_EQ(r.leak_check.of(LeakKind::kUnchecked).bytes, 10u);
  EXPECT_EQ(r.leak_check.scan->unknown_kinds, 1u);
}

TEST_F(LeakCheckTest, MismatchedAndInvalidReleasesKeepBothStacks) {
  const uint64_t release = b_.Stack({0x401300, 0x401200});
  TestEvent bad_delete = Free(3, 0x1000, kDelete);
  bad_delete.stack = release;
  TestEvent again = Free(5, 0x2000, kDelete);
  again.stack = release;
  TestEvent invalid = Free(6, 0x9000, kFree);
  invalid.stack = release;
  b_.Events(1, {Alloc(1, 0x1000, 64, leak_), Alloc(2, 0x2000, 64, leak_), bad_delete,
                Alloc(4, 0x3000, 8, list_, kNewArray), again, invalid, Free(7, 0x3000, kDelete)});
  b_.Barrier(8);
  b_.Trailer();
  const report::Report r = Build(b_, "release-errors");
  const report::LeakCheck& c = r.leak_check;
  ASSERT_EQ(c.errors.size(), 3u);
  EXPECT_EQ(c.error_count, 4u);
  const report::ReleaseErrorRecord& mismatch = c.errors[0];
  EXPECT_EQ(mismatch.error.kind, report::ReleaseErrorKind::kMismatched);
  EXPECT_EQ(mismatch.error.count, 2u);  // same stacks, same functions
  EXPECT_EQ(mismatch.error.address, 0x1000u);
  EXPECT_EQ(mismatch.error.size, 64u);
  ASSERT_FALSE(mismatch.alloc_stack.empty());
  EXPECT_EQ(mismatch.alloc_stack[0].function, "leak_here");
  ASSERT_FALSE(mismatch.free_stack.empty());
  EXPECT_EQ(mismatch.free_stack[0].function, "release_here");
  EXPECT_EQ(c.errors[1].error.kind, report::ReleaseErrorKind::kInvalid);
  EXPECT_TRUE(c.errors[1].alloc_stack.empty());
  EXPECT_EQ(c.errors[1].free_stack[0].function, "release_here");
  // new[] released by delete: the stack of the release was not recorded.
  EXPECT_EQ(c.errors[2].error.alloc_op, static_cast<uint32_t>(kNewArray));
  EXPECT_TRUE(c.errors[2].free_stack.empty());

  const std::string text = report::TextReport(r, 10);
  for (const char* part : {"ERRORS: 4 bad releases", "Mismatched release: operator delete of a block of 64 bytes from malloc",
                           "(2 times)", "Invalid release: free of 0x9000, which was never allocated",
                           "released at:\n      #0 release_here", "allocated at:\n      #0 leak_here",
                           "(release stack not recorded)"}) {
    EXPECT_TRUE(absl::StrContains(text, part)) << part << "\n" << text;
  }
  const std::string json = report::JsonReport(r);
  for (const char* part : {"\"kind\": \"mismatched_free\"", "\"kind\": \"invalid_free\"",
                           "\"free_function\": \"operator delete\"", "\"alloc_function\": \"malloc\"",
                           "\"alloc_function\": null", "\"address\": \"0x9000\""}) {
    EXPECT_TRUE(absl::StrContains(json, part)) << part << "\n" << json;
  }
}

TEST_F(LeakCheckTest, AForkChildFreeingItsParentsBlocksIsNoError) {
  b_.header().set_forked(true);
  const uint64_t release = b_.Stack({0x401300, 0x401200});
  TestEvent invalid = Free(2, 0x9000, kFree);
  invalid.stack = release;  // the tracer says: never handed out
  b_.Events(1, {Free(1, 0x8000), invalid});
  b_.Barrier(3);
  b_.Trailer();
  const report::Report r = Build(b_, "fork-child-frees");
  EXPECT_EQ(r.totals.inherited_frees, 2u);
  ASSERT_EQ(r.leak_check.errors.size(), 1u);
  EXPECT_EQ(r.leak_check.errors[0].error.address, 0x9000u);
}

TEST_F(LeakCheckTest, SuppressedRecordsLeaveTheListsAndAreCounted) {
  b_.Events(1, {Alloc(1, 0x1000, 100, leak_), Alloc(2, 0x2000, 48, list_), Alloc(3, 0x3000, 48, list_)});
  b_.Barrier(4);
  b_.Raw(LeakScan(4, {{0x1000, LeakKind::kDefinitelyLost},
                      {0x2000, LeakKind::kDefinitelyLost},
                      {0x3000, LeakKind::kStillReachable}}));
  b_.Trailer();
  report::SuppressionSet suppressions;
  ASSERT_TRUE(suppressions.AddText("leak:make_list\n", "test.supp").ok());
  const report::Report r = Build(b_, "suppressed", &suppressions);
  const report::LeakCheck& c = r.leak_check;
  EXPECT_EQ(c.suppressed.bytes, 96u);
  EXPECT_EQ(c.suppressed.blocks, 2u);
  EXPECT_EQ(c.of(LeakKind::kDefinitelyLost).bytes, 100u);
  EXPECT_EQ(c.of(LeakKind::kStillReachable).blocks, 0u);
  ASSERT_EQ(r.leaks.records.size(), 1u);
  EXPECT_EQ(r.leaks.records[0].stack_id, leak_);
  ASSERT_EQ(c.suppressions.size(), 1u);
  EXPECT_EQ(c.suppressions[0].records, 2u);
  EXPECT_EQ(c.suppressions[0].bytes, 96u);
  EXPECT_EQ(c.suppressions[0].origin, "test.supp:1");
  const std::string text = report::TextReport(r, 10);
  EXPECT_TRUE(absl::StrContains(text, "suppressed: 96 bytes in 2 blocks")) << text;
  EXPECT_TRUE(absl::StrContains(text, "SUPPRESSIONS USED:\n  leak:make_list (test.supp:1): 2 records, 96 bytes in 2 blocks"))
      << text;
  const std::string json = report::JsonReport(r);
  EXPECT_TRUE(absl::StrContains(json, "\"name\": \"leak:make_list\"")) << json;
}

}  // namespace
}  // namespace heapgap::testing
