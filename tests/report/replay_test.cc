// Heap replay and analysis over synthetic traces: totals, leaks by stack, the
// peak and who held it, temporary allocations, realloc, order restoration.
#include <map>
#include <utility>

#include "gtest/gtest.h"
#include "report/report.h"
#include "tests/report/test_support.h"

namespace heapgap::testing {
namespace {

using Pair = std::pair<uint64_t, uint64_t>;

class ReplayTest : public ::testing::Test {
 protected:
  ReplayTest() {
    builder.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
    main_ = 0x401000;
    stack_a = builder.Stack({0x401100, main_});
    stack_b = builder.Stack({0x401200, main_});
    stack_c = builder.Stack({0x401300, 0x401310, main_});
  }

  report::Report BuildReport(const report::TraceAnalysis& analysis, size_t max_records = 0) {
    report::StackSymbolizer symbolizer = report::StackSymbolizer::AddressesOnly();
    report::ReportOptions options;
    options.max_records = max_records;
    return report::BuildReport(analysis, options, symbolizer);
  }

  TraceBuilder builder;
  uint64_t main_;
  uint64_t stack_a, stack_b, stack_c;
};

TEST_F(ReplayTest, TotalsCountEveryCallAndByte) {
  builder.Events(1, {Alloc(1, 0x1000, 100, stack_a), Alloc(2, 0x2000, 30, stack_b, kCalloc),
                     Alloc(3, 0x3000, 64, stack_c, kMemalign), Free(4, 0x2000),
                     Alloc(5, 0x4000, 8, stack_a, kNew), Free(6, 0x4000, kDeleteSized),
                     Alloc(7, 0x5000, 40, stack_b, kNewArray), Free(8, 0, kFree)});
  builder.Trailer(0);
  auto a = Analyze(builder, "totals");
  ASSERT_TRUE(a);
  const report::HeapTotals& t = a->replay.totals();
  EXPECT_EQ(t.allocations, 5);
  EXPECT_EQ(t.frees, 2);
  EXPECT_EQ(t.bytes_allocated, 100 + 30 + 64 + 8 + 40);
  EXPECT_EQ(t.null_frees, 1);
  EXPECT_EQ(t.unknown_frees, 0);
  EXPECT_EQ(a->replay.live_bytes(), 100 + 64 + 40);
  EXPECT_EQ(a->replay.live_blocks(), 3);
  EXPECT_TRUE(a->warnings.empty()) << a->warnings[0];

  report::Report r = BuildReport(*a);
  std::map<std::string, uint64_t> calls(r.calls.begin(), r.calls.end());
  EXPECT_EQ(calls, (std::map<std::string, uint64_t>{{"malloc", 1},
                                                    {"calloc", 1},
                                                    {"memalign", 1},
                                                    {"free", 2},
                                                    {"operator new", 1},
                                                    {"operator new[]", 1},
                                                    {"operator delete(sized)", 1}}));
  EXPECT_EQ(r.process.end, report::TraceEnd::kExit);
  EXPECT_EQ(r.process.exit_status, 0);
  EXPECT_EQ(r.process.pid, 4242);
  EXPECT_EQ(r.process.argv, (std::vector<std::string>{"testprog", "--flag"}));
}

TEST_F(ReplayTest, LeaksAreGroupedByStackLargestFirst) {
  builder.Events(1, {Alloc(1, 0x1000, 100, stack_a), Alloc(2, 0x1100, 100, stack_a),
                     Alloc(3, 0x2000, 500, stack_b), Alloc(4, 0x3000, 7, stack_c),
                     Free(5, 0x1000), Alloc(6, 0x4000, 0, stack_c)});
  builder.Trailer(0);
  auto a = Analyze(builder, "leaks");
  ASSERT_TRUE(a);
  report::Report r = BuildReport(*a);
  EXPECT_EQ(r.leaked_bytes, 607);
  EXPECT_EQ(r.leaked_blocks, 4);
  ASSERT_EQ(r.leaks.records.size(), 3);
  EXPECT_EQ(r.leaks.records[0].stack_id, stack_b);
  EXPECT_EQ(r.leaks.records[1].stack_id, stack_a);
  EXPECT_EQ(r.leaks.records[2].stack_id, stack_c);
  EXPECT_EQ((Pair{r.leaks.records[1].bytes, r.leaks.records[1].blocks}), (Pair{100, 1}));
  // A 0-byte block is still a leaked block.
  EXPECT_EQ((Pair{r.leaks.records[2].bytes, r.leaks.records[2].blocks}), (Pair{7, 2}));
  // Innermost first.
  ASSERT_EQ(r.leaks.records[2].stack.size(), 3);
  EXPECT_EQ(r.leaks.records[2].stack[0].address, 0x401300);
  EXPECT_EQ(r.leaks.records[2].stack[1].address, 0x401310);
  EXPECT_EQ(r.leaks.records[2].stack[2].address, main_);
  EXPECT_EQ(r.leaks.records[2].stack[0].module, "/usr/bin/testprog");
  EXPECT_EQ(r.leaks.records[2].stack[0].module_offset, 0x1300);

  report::Report cut = BuildReport(*a, /*max_records=*/1);
  EXPECT_EQ(cut.leaks.total, 3);
  ASSERT_EQ(cut.leaks.records.size(), 1);
  EXPECT_EQ(cut.leaks.records[0].stack_id, stack_b);
}

TEST_F(ReplayTest, PeakKeepsEachStacksShareAtThePeakInstant) {
  // Peak 1: A 300 + B 50 = 350 at seq 3. Then A is freed and B grows to 250:
  // the end composition (B only) differs from the peak's (mostly A).
  builder.Events(1, {Alloc(1, 0x1000, 200, stack_a), Alloc(2, 0x2000, 50, stack_b),
                     Alloc(3, 0x1100, 100, stack_a), Free(4, 0x1000), Free(5, 0x1100),
                     Alloc(6, 0x3000, 100, stack_b), Alloc(7, 0x3100, 100, stack_b),
                     Alloc(8, 0x5000, 10, stack_c), Free(9, 0x5000)});
  builder.Trailer(0);
  auto a = Analyze(builder, "peak");
  ASSERT_TRUE(a);
  report::Report r = BuildReport(*a);
  EXPECT_EQ(r.peak_bytes, 350);
  EXPECT_EQ(r.peak_blocks, 3);
  EXPECT_EQ(r.peak_time_ns, 3000);  // the builder puts event seq N at N us
  EXPECT_EQ(ByStack(r.peak), (std::map<uint64_t, Pair>{{stack_a, {300, 2}}, {stack_b, {50, 1}}}));
  EXPECT_EQ(r.peak.records[0].stack_id, stack_a);
  EXPECT_EQ(ByStack(r.leaks), (std::map<uint64_t, Pair>{{stack_b, {250, 3}}}));
}

TEST_F(ReplayTest, ALaterHigherPeakReplacesTheFirst) {
  builder.Events(1, {Alloc(1, 0x1000, 300, stack_a), Free(2, 0x1000),
                     Alloc(3, 0x2000, 200, stack_b), Alloc(4, 0x2100, 200, stack_c),
                     Free(5, 0x2000), Alloc(6, 0x6000, 1, stack_a)});
  builder.Trailer(0);
  auto a = Analyze(builder, "peak2");
  ASSERT_TRUE(a);
  report::Report r = BuildReport(*a);
  EXPECT_EQ(r.peak_bytes, 400);
  EXPECT_EQ(r.peak_time_ns, 4000);
  EXPECT_EQ(ByStack(r.peak), (std::map<uint64_t, Pair>{{stack_b, {200, 1}}, {stack_c, {200, 1}}}));
}

TEST_F(ReplayTest, PeakAtTheVeryEndIsTheLiveHeap) {
  builder.Events(1, {Alloc(1, 0x1000, 10, stack_a), Free(2, 0x1000), Alloc(3, 0x2000, 20, stack_b),
                     Alloc(4, 0x3000, 30, stack_c)});
  builder.Trailer(0);
  auto a = Analyze(builder, "peak-end");
  ASSERT_TRUE(a);
  report::Report r = BuildReport(*a);
  EXPECT_EQ(r.peak_bytes, 50);
  EXPECT_EQ(ByStack(r.peak), ByStack(r.leaks));
}

TEST_F(ReplayTest, TemporaryMeansReleasedByTheSameThreadsNextEvent) {
  // Thread 1: 0x1000 is released by its next event although thread 2 ran in
  // between; 0x2000 is not (0x3000 comes first); 0x3000 is.
  builder.Events(1, {Alloc(1, 0x1000, 10, stack_a), Free(3, 0x1000), Alloc(4, 0x2000, 10, stack_b),
                     Alloc(5, 0x3000, 10, stack_c), Free(6, 0x3000), Free(7, 0x2000)});
  // Thread 2: its next event releases another, unknown pointer.
  builder.Events(2, {Alloc(2, 0x9000, 10, stack_c), Free(8, 0x8000)});
  builder.Trailer(0);
  auto a = Analyze(builder, "temporary");
  ASSERT_TRUE(a);
  const report::HeapTotals& t = a->replay.totals();
  EXPECT_EQ(t.temporary_allocations, 2);
  EXPECT_EQ(t.unknown_frees, 1);
  report::Report r = BuildReport(*a);
  EXPECT_EQ(ByStack(r.most_temporary).size(), 2);
  EXPECT_EQ(r.most_temporary.records[0].temporary, 1);
  ASSERT_FALSE(r.most_allocations.records.empty());
  EXPECT_EQ(r.most_allocations.records[0].stack_id, stack_c);
  EXPECT_EQ(r.most_allocations.records[0].allocations, 2);
  EXPECT_FALSE(a->warnings.empty());  // the unknown free
}

TEST_F(ReplayTest, ReallocMovesTheBlockAndCountsOneCall) {
  std::vector<TestEvent> events = {Alloc(1, 0x1000, 16, stack_a)};
  for (const TestEvent& e : Realloc(2, 0x1000, 0x2000, 1000, stack_b)) events.push_back(e);
  for (const TestEvent& e : Realloc(4, 0x2000, 0x2000, 500, stack_b)) events.push_back(e);
  for (const TestEvent& e : Realloc(6, 0, 0x3000, 123, stack_c)) events.push_back(e);
  events.push_back(Alloc(8, 0x4000, 77, stack_a));
  events.push_back(Free(9, 0x4000, kReallocFree));  // realloc(p, 0)
  events.push_back(Alloc(10, 0x5000, 1, stack_a));
  builder.Events(1, events);
  builder.Trailer(0);
  auto a = Analyze(builder, "realloc");
  ASSERT_TRUE(a);
  const report::HeapTotals& t = a->replay.totals();
  EXPECT_EQ(t.allocations, 6);
  EXPECT_EQ(t.frees, 3);
  EXPECT_EQ(t.bytes_allocated, 16 + 1000 + 500 + 123 + 77 + 1);
  EXPECT_EQ(t.calls_by_op[kRealloc], 4);
  EXPECT_EQ(t.calls_by_op[kReallocFree], 0);
  EXPECT_EQ(t.calls_by_op[kMalloc], 3);
  // Resizes are not temporary; realloc(p, 0) right after malloc is.
  EXPECT_EQ(t.temporary_allocations, 1);
  EXPECT_EQ(t.unknown_frees, 0);
  report::Report r = BuildReport(*a);
  EXPECT_EQ(ByStack(r.leaks),
            (std::map<uint64_t, Pair>{{stack_b, {500, 1}}, {stack_c, {123, 1}}, {stack_a, {1, 1}}}));
  std::map<std::string, uint64_t> calls(r.calls.begin(), r.calls.end());
  EXPECT_EQ(calls, (std::map<std::string, uint64_t>{{"malloc", 3}, {"realloc", 4}}));
}

TEST_F(ReplayTest, ReallocToZeroAtTheEndOfTheTraceCountsItsCall) {
  builder.Events(1, {Alloc(1, 0x1000, 16, stack_a), Free(2, 0x1000, kReallocFree)});
  auto a = Analyze(builder, "realloc-zero-end");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->replay.totals().calls_by_op[kRealloc] + a->replay.totals().calls_by_op[kReallocFree], 1);
  EXPECT_EQ(a->replay.totals().temporary_allocations, 1);
}

TEST_F(ReplayTest, BarriersRestoreTheOrderAcrossThreads) {
  // Thread 1 frees 0x1000 (seq 2), thread 2 then gets the same address (seq
  // 3). Thread 2's batch is in the file first.
  builder.Events(2, {Alloc(3, 0x1000, 64, stack_b), Alloc(5, 0x2000, 8, stack_b)});
  builder.Events(1, {Alloc(1, 0x1000, 32, stack_a), Free(2, 0x1000), Alloc(4, 0x3000, 4, stack_a)});
  builder.Barrier(5);
  builder.Events(1, {Free(6, 0x2000)});
  builder.Barrier(7);
  builder.Trailer(0);
  auto a = Analyze(builder, "order");
  ASSERT_TRUE(a);
  const report::HeapTotals& t = a->replay.totals();
  EXPECT_EQ(t.unknown_frees, 0);
  EXPECT_EQ(t.reused_live_addresses, 0);
  EXPECT_EQ(t.frees, 2);
  EXPECT_EQ(a->replay.live_bytes(), 64 + 4);
  EXPECT_TRUE(a->warnings.empty()) << a->warnings[0];
  // Only events up to a barrier are held at once.
  EXPECT_EQ(a->max_buffered_events, 5);
  report::Report r = BuildReport(*a);
  EXPECT_EQ(ByStack(r.leaks), (std::map<uint64_t, Pair>{{stack_b, {64, 1}}, {stack_a, {4, 1}}}));
}

TEST_F(ReplayTest, WithoutBarriersTheEndOfTheFileReleasesEverythingSorted) {
  builder.Events(2, {Alloc(3, 0x1000, 64, stack_b)});
  builder.Events(1, {Alloc(1, 0x1000, 32, stack_a), Free(2, 0x1000)});
  auto a = Analyze(builder, "order-no-barrier");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->replay.totals().unknown_frees, 0);
  EXPECT_EQ(a->replay.totals().reused_live_addresses, 0);
  EXPECT_EQ(a->replay.live_bytes(), 64);
  EXPECT_EQ(a->process.end, report::TraceEnd::kTruncated);
}

TEST_F(ReplayTest, ForkChildFreesOfParentBlocksAreInherited) {
  builder.header().set_forked(true);
  builder.Events(1, {Free(1, 0x7000), Alloc(2, 0x1000, 10, stack_a)});
  builder.Trailer(0);
  auto a = Analyze(builder, "forked");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->replay.totals().inherited_frees, 1);
  EXPECT_EQ(a->replay.totals().unknown_frees, 0);
  EXPECT_TRUE(a->process.forked);
  EXPECT_TRUE(a->warnings.empty()) << a->warnings[0];
}

TEST_F(ReplayTest, AllocationAtALiveAddressReplacesTheBlock) {
  builder.Events(1, {Alloc(1, 0x1000, 10, stack_a), Alloc(2, 0x1000, 20, stack_b)}, 1);
  builder.Trailer(0);
  auto a = Analyze(builder, "reuse");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->replay.totals().reused_live_addresses, 1);
  EXPECT_EQ(a->replay.live_bytes(), 20);
  EXPECT_EQ(a->lost_events, 1);
  EXPECT_EQ(a->warnings.size(), 2);  // lost events, reused address
}

TEST_F(ReplayTest, MismatchedReleaseIsCounted) {
  builder.Events(1, {Alloc(1, 0x1000, 10, stack_a, kNewArray), Free(2, 0x1000, kDelete),
                     Alloc(3, 0x2000, 10, stack_a, kNew), Free(4, 0x2000, kDeleteSized)});
  builder.Trailer(0);
  auto a = Analyze(builder, "mismatch");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->replay.totals().mismatched_frees, 1);
}

TEST_F(ReplayTest, HowTheProcessEnded) {
  {
    TraceBuilder b;
    b.Events(1, {Alloc(1, 0x1000, 10, 0)});
    b.ProcessEnd(trace::ProcessEnd::EXIT_IMMEDIATE, 4);
    auto a = Analyze(b, "end-exit");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->process.end, report::TraceEnd::kExitImmediate);
    EXPECT_EQ(a->process.exit_status, 4);
    EXPECT_EQ(a->process.duration_ns, 1500);
  }
  {
    TraceBuilder b;
    b.Events(1, {Alloc(1, 0x1000, 10, 0)});
    b.ProcessEnd(trace::ProcessEnd::ABORT);
    auto a = Analyze(b, "end-abort");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->process.end, report::TraceEnd::kAbort);
    EXPECT_FALSE(a->process.exit_status.has_value());
  }
  {
    TraceBuilder b;
    b.Events(1, {Alloc(1, 0x1000, 10, 0)});
    b.ProcessEnd(trace::ProcessEnd::EXEC, 0, "/bin/true");
    auto a = Analyze(b, "end-exec");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->process.end, report::TraceEnd::kExec);
    EXPECT_EQ(a->process.exec_path, "/bin/true");
  }
  {
    // The exec failed: the process went on and exited.
    TraceBuilder b;
    b.Events(1, {Alloc(1, 0x1000, 10, 0)});
    b.ProcessEnd(trace::ProcessEnd::EXEC, 0, "/no/such");
    b.Events(1, {Free(2, 0x1000)});
    auto a = Analyze(b, "end-exec-failed");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->process.end, report::TraceEnd::kTruncated);
  }
  {
    TraceBuilder b;
    b.Events(1, {Alloc(1, 0x1000, 10, 0)});
    b.Trailer(3);
    auto a = Analyze(b, "end-trailer");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->process.end, report::TraceEnd::kExit);
    EXPECT_EQ(a->process.exit_status, 3);
    EXPECT_EQ(a->process.duration_ns, 2000);
  }
}

TEST_F(ReplayTest, TracerFramesAreDroppedAndUnloadedModulesKeepTheirNames) {
  TraceBuilder b;
  b.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
  b.AddModule(2, "/usr/lib/libheapgap.so", 0x7000000, 0x10000, /*is_heapgap=*/true);
  b.AddModule(3, "/usr/lib/libplugin.so", 0x9000000, 0x10000);
  const uint64_t first = b.Stack({0x7000100, 0x9000100, 0x401000});
  b.UnloadModule(3);
  b.AddModule(4, "/usr/lib/libother.so", 0x9000000, 0x10000);
  const uint64_t second = b.Stack({0x9000100, 0x401000});
  b.Events(1, {Alloc(1, 0x1000, 10, first), Alloc(2, 0x2000, 20, second)});
  b.Trailer(0);
  auto a = Analyze(b, "modules");
  ASSERT_TRUE(a);
  report::StackSymbolizer symbolizer = FakeSymbolizer({{0x401000, "main"}});
  report::Report r = report::BuildReport(*a, report::ReportOptions{}, symbolizer);
  ASSERT_EQ(r.leaks.records.size(), 2);
  const auto& frames_second = r.leaks.records[0].stack;
  const auto& frames_first = r.leaks.records[1].stack;
  ASSERT_EQ(frames_first.size(), 2);
  EXPECT_EQ(frames_first[0].module, "/usr/lib/libplugin.so");
  EXPECT_EQ(frames_first[1].function, "main");
  ASSERT_EQ(frames_second.size(), 2);
  EXPECT_EQ(frames_second[0].module, "/usr/lib/libother.so");
}

TEST_F(ReplayTest, FramesOutsideEveryModuleKeepTheirAddress) {
  const uint64_t stray = builder.Stack({0xdead0000, 0x401000});
  builder.Events(1, {Alloc(1, 0x1000, 10, stray), Alloc(2, 0x2000, 5, 0)});
  builder.Trailer(0);
  auto a = Analyze(builder, "stray");
  ASSERT_TRUE(a);
  report::Report r = BuildReport(*a);
  ASSERT_EQ(r.leaks.records.size(), 2);
  ASSERT_EQ(r.leaks.records[0].stack.size(), 2);
  EXPECT_EQ(r.leaks.records[0].stack[0].address, 0xdead0000);
  EXPECT_EQ(r.leaks.records[0].stack[0].module, "");
  EXPECT_TRUE(r.leaks.records[1].stack.empty());  // stack id 0: none recorded
}

}  // namespace
}  // namespace heapgap::testing
