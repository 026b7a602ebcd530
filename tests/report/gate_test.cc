// The gate, baselines, the CI files, and reports over directories of traces.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "report/ci_output.h"
#include "report/gate.h"
#include "report/json_report.h"
#include "report/suite.h"
#include "tests/report/test_support.h"

namespace heapgap::testing {
namespace {

using report::LeakKind;

SymbolizedFrame Frame(const std::string& function, const std::string& file = "", int line = 0) {
  SymbolizedFrame f;
  f.function = function;
  f.file = file;
  f.line = line;
  f.module = "/usr/bin/app";
  return f;
}

report::StackRecord Record(LeakKind kind, uint64_t bytes, uint64_t blocks,
                           std::vector<SymbolizedFrame> stack) {
  report::StackRecord r;
  r.kind = kind;
  r.bytes = bytes;
  r.blocks = blocks;
  r.stack = std::move(stack);
  return r;
}

report::Report MakeReport(std::vector<report::StackRecord> records, uint64_t peak = 1000,
                          const std::string& exe = "/usr/bin/app") {
  report::Report r;
  r.process.pid = 77;
  r.process.executable = exe;
  r.process.argv = {"app", "--case", "<1>"};
  r.peak_bytes = peak;
  for (const report::StackRecord& rec : records) {
    r.leak_check.by_kind[static_cast<int>(rec.kind)].Add(rec.bytes, rec.blocks);
  }
  r.leaks.records = std::move(records);
  r.leaks.total = r.leaks.records.size();
  return r;
}

TEST(GateTest, CountsTheChosenKindsOnly) {
  const report::Report r = MakeReport({
      Record(LeakKind::kDefinitelyLost, 100, 1, {Frame("a")}),
      Record(LeakKind::kIndirectlyLost, 50, 2, {Frame("b")}),
      Record(LeakKind::kStillReachable, 4096, 1, {Frame("c")}),
      Record(LeakKind::kUnchecked, 7, 1, {Frame("d")}),
  });
  report::GateOptions options;  // definite,indirect
  report::GateResult g = report::EvaluateGate({&r}, options);
  EXPECT_TRUE(g.failed);
  EXPECT_EQ(g.counted.bytes, 150u);
  EXPECT_EQ(g.counted.blocks, 3u);
  EXPECT_EQ(g.reason, "150 bytes in 3 blocks definitely lost or indirectly lost (none allowed)");
  EXPECT_EQ(g.record_counts[0], (std::vector<bool>{true, true, false, false}));

  absl::StatusOr<report::GateOptions> reachable = report::ParseFailOn("reachable", options);
  ASSERT_TRUE(reachable.ok());
  g = report::EvaluateGate({&r}, *reachable);
  EXPECT_EQ(g.counted.bytes, 4096u);
  absl::StatusOr<report::GateOptions> none = report::ParseFailOn("none", options);
  EXPECT_FALSE(report::EvaluateGate({&r}, *none).failed);
  absl::StatusOr<report::GateOptions> all = report::ParseFailOn("all,unchecked", options);
  EXPECT_EQ(report::EvaluateGate({&r}, *all).counted.bytes, 4253u);
  EXPECT_FALSE(report::ParseFailOn("definite,sometimes", options).ok());
}

TEST(GateTest, ThresholdsOnBytesAndBlocks) {
  const report::Report r = MakeReport({Record(LeakKind::kDefinitelyLost, 100, 4, {Frame("a")})});
  report::GateOptions options;
  options.max_bytes = 100;
  EXPECT_FALSE(report::EvaluateGate({&r}, options).failed);
  options.max_bytes = 99;
  report::GateResult g = report::EvaluateGate({&r}, options);
  EXPECT_TRUE(g.failed);
  EXPECT_TRUE(absl::StrContains(g.reason, "(limit 99 bytes)")) << g.reason;
  options.max_bytes = 1000;
  options.max_blocks = 3;
  g = report::EvaluateGate({&r}, options);
  EXPECT_TRUE(g.failed);
  EXPECT_TRUE(absl::StrContains(g.reason, "limit 1,000 bytes and 3 blocks")) << g.reason;
  options.max_blocks = 4;
  EXPECT_FALSE(report::EvaluateGate({&r}, options).failed);
}

TEST(GateTest, SumsOverProcessesAndCountsErrorsWhenAsked) {
  report::Report a = MakeReport({Record(LeakKind::kDefinitelyLost, 10, 1, {Frame("a")})});
  report::Report b = MakeReport({Record(LeakKind::kDefinitelyLost, 20, 1, {Frame("a")})});
  b.leak_check.error_count = 2;
  report::GateOptions options;
  options.max_bytes = 25;
  EXPECT_TRUE(report::EvaluateGate({&a, &b}, options).failed);
  options.max_bytes = 30;
  EXPECT_FALSE(report::EvaluateGate({&a, &b}, options).failed);
  absl::StatusOr<report::GateOptions> errors = report::ParseFailOn("errors", options);
  report::GateResult g = report::EvaluateGate({&a, &b}, *errors);
  EXPECT_TRUE(g.failed);
  EXPECT_EQ(g.reason, "2 bad releases (mismatched or invalid)");
}

TEST(GateTest, ABaselineLetsOnlyNewOrGrownStacksCount) {
  report::Baseline baseline;
  baseline.Add(MakeReport({Record(LeakKind::kDefinitelyLost, 100, 1, {Frame("old_leak"), Frame("main")}),
                           Record(LeakKind::kDefinitelyLost, 64, 2, {Frame("grows"), Frame("main")})},
                          /*peak=*/1000));
  // Same functions at other lines and addresses: still the same stacks.
  report::Report now = MakeReport(
      {Record(LeakKind::kDefinitelyLost, 100, 1, {Frame("old_leak", "/src/a.c", 99), Frame("main")}),
       Record(LeakKind::kDefinitelyLost, 96, 3, {Frame("grows"), Frame("main")}),
       Record(LeakKind::kDefinitelyLost, 8, 1, {Frame("brand_new"), Frame("main")}),
       Record(LeakKind::kStillReachable, 5000, 1, {Frame("cache"), Frame("main")})},
      /*peak=*/1050);
  report::GateOptions options;
  options.baseline = &baseline;
  report::GateResult g = report::EvaluateGate({&now}, options);
  EXPECT_TRUE(g.failed);
  EXPECT_EQ(g.counted.bytes, 32u + 8u);
  EXPECT_EQ(g.counted.blocks, 1u + 1u);
  EXPECT_EQ(g.record_counts[0], (std::vector<bool>{false, true, true, false}));
  EXPECT_TRUE(absl::StrContains(g.reason, "new or grown since the baseline")) << g.reason;

  // Nothing new: passes, and a 5% peak growth is within the default 10%.
  report::Report same = MakeReport(
      {Record(LeakKind::kDefinitelyLost, 100, 1, {Frame("old_leak"), Frame("main")})}, 1050);
  EXPECT_FALSE(report::EvaluateGate({&same}, options).failed);
  options.peak_tolerance_percent = 2;
  g = report::EvaluateGate({&same}, options);
  EXPECT_TRUE(g.failed);
  EXPECT_EQ(g.reason, "the peak of app grew from 1,000 to 1,050 bytes (+5.0%, tolerance 2%)");
  // Another program's peak is not compared.
  report::Report other = MakeReport({}, 99999, "/usr/bin/other");
  EXPECT_FALSE(report::EvaluateGate({&other}, options).failed);
}

TEST(GateTest, StackKeysUseFunctionsOrModuleOffsets) {
  SymbolizedFrame unknown;
  unknown.module = "/usr/lib/libx.so";
  unknown.module_offset = 0x1234;
  EXPECT_EQ(report::LeakStackKey(LeakKind::kDefinitelyLost, {Frame("f"), unknown}),
            "definitely_lost <- f <- libx.so+0x1234");
  EXPECT_NE(report::LeakStackKey(LeakKind::kDefinitelyLost, {Frame("f")}),
            report::LeakStackKey(LeakKind::kIndirectlyLost, {Frame("f")}));
}

TEST(CiOutputTest, XmlEscapingAndFileUris) {
  EXPECT_EQ(report::XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(report::XmlEscape("bell\x07 bad\xff ok\xc3\xa9"), "bell\xEF\xBF\xBD bad\xEF\xBF\xBD ok\xc3\xa9");
  EXPECT_EQ(report::FileUri("/src/my file#1.c"), "file:///src/my%20file%231.c");
  EXPECT_EQ(report::FileUri("rel/a.c"), "rel/a.c");
}

TEST(CiOutputTest, JUnitHasATestcasePerProcessAndAFailurePerCountedRecord) {
  report::Report leaky = MakeReport({Record(LeakKind::kDefinitelyLost, 100, 1, {Frame("leak<T>", "/src/a.c", 3)}),
                                     Record(LeakKind::kStillReachable, 5, 1, {Frame("keep")})});
  report::Report clean = MakeReport({}, 10, "/usr/bin/clean");
  report::GateOptions options;
  const report::GateResult g = report::EvaluateGate({&leaky, &clean}, options);
  const std::string xml = report::JUnitXml({&leaky, &clean}, options, g);
  EXPECT_TRUE(absl::StrContains(xml, "<testsuites name=\"heapgap\" tests=\"2\" failures=\"1\"")) << xml;
  EXPECT_TRUE(absl::StrContains(xml, "<testcase name=\"app (pid 77): --case &lt;1&gt;\" classname=\"heapgap.app\""))
      << xml;
  EXPECT_TRUE(absl::StrContains(xml, "<failure type=\"definitely_lost\" message=\"100 bytes in 1 block is definitely lost, allocated at leak&lt;T&gt; (/src/a.c:3)"))
      << xml;
  EXPECT_FALSE(absl::StrContains(xml, "type=\"still_reachable\"")) << xml;
  EXPECT_TRUE(absl::StrContains(xml, "<testcase name=\"clean (pid 77): --case &lt;1&gt;\"")) << xml;
  EXPECT_TRUE(absl::StrContains(xml, "gate failed: 100 bytes in 1 block")) << xml;
}

TEST(CiOutputTest, SarifHasAResultPerRecordWithItsSourceLocation) {
  report::Report leaky = MakeReport(
      {Record(LeakKind::kDefinitelyLost, 100, 1,
              {Frame("inlined_helper", "/usr/include/c++/12/bits/new_allocator.h", 137),
               Frame("leak", "/src/a b.c", 3), Frame("main", "/src/main.c", 9)}),
       Record(LeakKind::kStillReachable, 5, 1, {Frame("keep")})});
  report::GateOptions options;
  const report::GateResult g = report::EvaluateGate({&leaky}, options);
  const std::string sarif = report::SarifJson({&leaky}, options, g);
  for (const char* part : {"\"version\": \"2.1.0\"", "\"name\": \"heapgap\"", "\"ruleId\": \"definitely_lost\"",
                           "\"level\": \"error\"", "\"ruleId\": \"still_reachable\"", "\"level\": \"note\"",
                           "\"uri\": \"file:///src/a%20b.c\"", "\"startLine\": 3", "\"heapgapStack/v1\"",
                           "\"exitCodeDescription\": \"gate failed: "}) {
    EXPECT_TRUE(absl::StrContains(sarif, part)) << part << "\n" << sarif;
  }
}

// Traces for the directory tests: leaky (a lost block) and clean.
std::string WriteTrace(const std::string& dir, const std::string& name, int pid, bool leak) {
  TraceBuilder b;
  b.header().set_pid(pid);
  b.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
  const uint64_t stack = b.Stack({0x401100, 0x401200});
  std::vector<TestEvent> events = {Alloc(1, 0x1000, 100, stack), Alloc(2, 0x2000, 30, stack)};
  if (!leak) events.push_back(Free(3, 0x1000));
  events.push_back(Free(4, 0x2000));
  b.Events(1, events);
  b.Barrier(5);
  if (leak) {
    trace::Record scan;
    scan.mutable_leak_scan()->set_seq(5);
    scan.mutable_leak_scan()->add_address_delta(0x1000);
    scan.mutable_leak_scan()->add_kind(static_cast<uint32_t>(LeakKind::kDefinitelyLost));
    b.Raw(scan);
  }
  b.Trailer();
  const std::string path = dir + "/" + name;
  const std::string bytes = b.Bytes();
  FILE* f = fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  fwrite(bytes.data(), 1, bytes.size(), f);
  fclose(f);
  return path;
}

report::SymbolizerFactory Fake() {
  return [] { return FakeSymbolizer({{0x401100, "leak_here"}, {0x401200, "main"}}); };
}

TEST(SuiteTest, ADirectoryIsReportedPerProcessAndInTotal) {
  const std::string dir = ::testing::TempDir() + "heapgap-suite-test";
  mkdir(dir.c_str(), 0777);
  for (int i = 0; i < 6; ++i) {
    WriteTrace(dir, absl::StrCat("heapgap.prog.", 100 + i, ".trace"), 100 + i, i % 2 == 0);
  }
  WriteTrace(dir, "heapgap.prog.200.trace.1", 200, true);
  FILE* junk = fopen((dir + "/notes.txt").c_str(), "w");
  fclose(junk);
  FILE* broken = fopen((dir + "/heapgap.broken.1.trace").c_str(), "w");
  fputs("not a trace", broken);
  fclose(broken);

  absl::StatusOr<std::vector<std::string>> traces = report::TracesInDirectory(dir);
  ASSERT_TRUE(traces.ok());
  ASSERT_EQ(traces->size(), 8u);  // notes.txt is not a trace

  report::ReportOptions options;
  const std::vector<report::TraceReport> serial = report::ReportTraces(*traces, options, 1, Fake());
  const std::vector<report::TraceReport> parallel = report::ReportTraces(*traces, options, 4, Fake());
  ASSERT_EQ(serial.size(), parallel.size());
  for (size_t i = 0; i < serial.size(); ++i) {
    EXPECT_EQ(serial[i].trace, parallel[i].trace);
    EXPECT_EQ(serial[i].error, parallel[i].error);
    if (serial[i].report) EXPECT_EQ(report::JsonReport(*serial[i].report), report::JsonReport(*parallel[i].report));
  }
  const std::vector<const report::Report*> readable = report::Readable(parallel);
  EXPECT_EQ(readable.size(), 7u);
  const report::LeakCheck total = report::TotalLeakCheck(readable);
  EXPECT_EQ(total.of(LeakKind::kDefinitelyLost).bytes, 400u);  // four leaky processes
  EXPECT_EQ(total.of(LeakKind::kDefinitelyLost).blocks, 4u);

  const std::string text = report::SuiteText(dir, parallel, 5);
  EXPECT_TRUE(absl::StrContains(text, "TOTAL over 7 processes (1 unreadable):")) << text;
  EXPECT_TRUE(absl::StrContains(text, "definitely lost: 400 bytes in 4 blocks")) << text;
  EXPECT_TRUE(absl::StrContains(text, "cannot read: ")) << text;
  EXPECT_TRUE(absl::StrContains(text, "100 bytes in 1 block definitely lost at leak_here")) << text;
  const std::string json = report::SuiteJson(dir, parallel);
  EXPECT_TRUE(absl::StrContains(json, "\"processes\": 7")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"definitely_lost\": {\n        \"bytes\": 400")) << json;

  report::GateOptions gate;
  EXPECT_EQ(report::EvaluateGate(readable, gate).counted.bytes, 400u);

  // The directory's own JSON as a baseline: nothing is new.
  const std::string baseline_file = WriteTempFile("suite-baseline.json", json);
  absl::StatusOr<report::Baseline> from_json = report::LoadBaseline(baseline_file, options, 2, Fake());
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  gate.baseline = &*from_json;
  EXPECT_FALSE(report::EvaluateGate(readable, gate).failed);
  // A clean trace as the baseline: every leak is new.
  absl::StatusOr<report::Baseline> from_trace =
      report::LoadBaseline(dir + "/heapgap.prog.101.trace", options, 1, Fake());
  ASSERT_TRUE(from_trace.ok()) << from_trace.status();
  gate.baseline = &*from_trace;
  EXPECT_EQ(report::EvaluateGate(readable, gate).counted.bytes, 400u);
  // A JSON report of one trace works too.
  const std::string single = WriteTempFile("single-baseline.json", report::JsonReport(*readable[0]));
  absl::StatusOr<report::Baseline> from_single = report::LoadBaseline(single, options, 1, Fake());
  ASSERT_TRUE(from_single.ok()) << from_single.status();
  EXPECT_EQ(from_single->leaks.size(), 1u);
  EXPECT_FALSE(report::LoadBaseline(WriteTempFile("not-a-report.json", "{\"x\": 1}"), options, 1, Fake()).ok());
}

}  // namespace
}  // namespace heapgap::testing
