// The exports (pprof, collapsed stacks) and the view's data and page, on
// synthetic traces with known stacks and on real sample programs run under
// `heapgap run`.
#include <fcntl.h>
#include <pty.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "profile.pb.h"
#include "report/export_collapsed.h"
#include "report/export_pprof.h"
#include "report/export_stacks.h"
#include "report/json_report.h"
#include "report/report.h"
#include "report/view_data.h"
#include "tests/report/test_support.h"
#include "viewer/trace_directory.h"
#include "viewer/view_page.h"

extern char** environ;

namespace heapgap::testing {
namespace {

namespace pb = perftools::profiles;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr uint64_t kMain = kProgramStart + 0x1000;
constexpr uint64_t kAllocA = kProgramStart + 0x1100;
constexpr uint64_t kAllocB = kProgramStart + 0x1200;
constexpr uint64_t kHelper = kProgramStart + 0x1300;
constexpr uint64_t kHeapStart = 0x10000;
constexpr uint64_t kBreak = 0x30000;

const std::map<uint64_t, std::string> kNames = {
    {kMain, "main"}, {kAllocA, "alloc_a"}, {kAllocB, "alloc_b"}, {kHelper, "helper"}};

// main -> alloc_a allocates 100 and 50 B; main -> helper -> alloc_b
// allocates 200 B (freed after the peak), 16 B at the top of the heap (leaked)
// and 40 B freed at once (temporary). Peak: 350 B in 3 blocks after event 4.
// Leaked: 50 B from alloc_a and 16 B from alloc_b.
struct KnownTrace {
  TraceBuilder builder;
  uint64_t stack_a = 0;
  uint64_t stack_b = 0;

  KnownTrace() {
    builder.header().set_heap_start(kHeapStart);
    builder.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
    stack_a = builder.Stack({kAllocA, kMain});
    stack_b = builder.Stack({kAllocB, kHelper, kMain});
    TestEvent brk;
    brk.op = kBreakMove;
    brk.seq = 1;
    brk.address = kBreak;
    brk.aux[0] = kHeapStart;
    builder.Events(1, {brk, Alloc(2, 0x10010, 100, stack_a), Alloc(3, 0x10090, 200, stack_b),
                       Alloc(4, 0x10170, 50, stack_a), Free(5, 0x10090),
                       Alloc(6, 0x20000, 16, stack_b), Free(7, 0x10010),
                       Alloc(8, 0x18000, 40, stack_b), Free(9, 0x18000)});
    builder.Barrier(10);
    builder.Trailer();
  }
};

// A directory of this process's own under the test's temporary directory,
// so that runs side by side do not share files.
const std::string& ScratchDir() {
  static const std::string dir = [] {
    std::string pattern = ::testing::TempDir() + "viewer_test.XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    static const std::string made = pattern;
    std::atexit([] { std::filesystem::remove_all(made); });
    return pattern + "/";
  }();
  return dir;
}

std::unique_ptr<report::TraceAnalysis> AnalyzeWith(const TraceBuilder& builder,
                                                   const std::string& name,
                                                   report::AnalysisObserver* observer = nullptr) {
  const std::string path = ScratchDir() + name;
  std::ofstream(path, std::ios::binary) << builder.Bytes();
  absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> analysis =
      report::AnalyzeTrace(path, observer);
  EXPECT_TRUE(analysis.ok()) << analysis.status();
  return analysis.ok() ? std::move(*analysis) : nullptr;
}

// Sums each sample type's values.
std::map<std::string, int64_t> Totals(const pb::Profile& profile) {
  std::map<std::string, int64_t> totals;
  for (const pb::Sample& sample : profile.sample()) {
    for (int i = 0; i < sample.value_size(); ++i) {
      totals[profile.string_table(profile.sample_type(i).type())] += sample.value(i);
    }
  }
  return totals;
}

// The report's figures under the pprof sample type names.
std::map<std::string, int64_t> ReportTotals(const report::Report& r) {
  return {
      {"alloc_objects", static_cast<int64_t>(r.totals.allocations)},
      {"alloc_space", static_cast<int64_t>(r.totals.bytes_allocated)},
      {"peak_inuse_objects", static_cast<int64_t>(r.peak_blocks)},
      {"peak_inuse_space", static_cast<int64_t>(r.peak_bytes)},
      {"leak_objects", static_cast<int64_t>(r.leaked_blocks)},
      {"leak_space", static_cast<int64_t>(r.leaked_bytes)},
      {"temporary_objects", static_cast<int64_t>(r.totals.temporary_allocations)},
  };
}

// Function names of a sample's locations, leaf first.
std::vector<std::string> SampleFunctions(const pb::Profile& profile, const pb::Sample& sample) {
  std::map<uint64_t, const pb::Location*> locations;
  for (const pb::Location& l : profile.location()) locations[l.id()] = &l;
  std::map<uint64_t, const pb::Function*> functions;
  for (const pb::Function& f : profile.function()) functions[f.id()] = &f;
  std::vector<std::string> names;
  for (uint64_t id : sample.location_id()) {
    const pb::Location* location = locations.at(id);
    for (const pb::Line& line : location->line()) {
      names.push_back(profile.string_table(functions.at(line.function_id())->name()));
    }
  }
  return names;
}

pb::Profile ParseGzipped(const std::string& bytes) {
  absl::StatusOr<std::string> raw = report::Gunzip(bytes);
  EXPECT_TRUE(raw.ok()) << raw.status();
  pb::Profile profile;
  EXPECT_TRUE(raw.ok() && profile.ParseFromString(*raw));
  return profile;
}

Struct ParseJson(const std::string& json) {
  Struct out;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

const Value& Field(const Struct& s, const std::string& key) {
  static const Value kNull;
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << key;
  return it == s.fields().end() ? kNull : it->second;
}

double Sum(const Value& list) {
  double sum = 0;
  for (const Value& v : list.list_value().values()) sum += v.number_value();
  return sum;
}

TEST(StackValues, SumToTheReportTotals) {
  KnownTrace known;
  auto analysis = AnalyzeWith(known.builder, "values.trace");
  ASSERT_NE(analysis, nullptr);
  const std::vector<report::StackValues> stacks = report::CollectStackValues(*analysis);
  ASSERT_EQ(stacks.size(), 2u);
  EXPECT_EQ(stacks[0].stack_id, known.stack_a);
  EXPECT_EQ(stacks[0][report::StackMeasure::kAllocatedBytes], 150u);
  EXPECT_EQ(stacks[0][report::StackMeasure::kPeakBytes], 150u);
  EXPECT_EQ(stacks[0][report::StackMeasure::kPeakBlocks], 2u);
  EXPECT_EQ(stacks[0][report::StackMeasure::kLeakedBytes], 50u);
  EXPECT_EQ(stacks[1][report::StackMeasure::kAllocations], 3u);
  EXPECT_EQ(stacks[1][report::StackMeasure::kPeakBytes], 200u);
  EXPECT_EQ(stacks[1][report::StackMeasure::kLeakedBytes], 16u);
  EXPECT_EQ(stacks[1][report::StackMeasure::kTemporary], 1u);
  EXPECT_EQ(report::ParseStackMeasure("leaked"), report::StackMeasure::kLeakedBytes);
  EXPECT_FALSE(report::ParseStackMeasure("nonsense").has_value());
}

TEST(Collapsed, KnownStacksOuterFirst) {
  KnownTrace known;
  auto analysis = AnalyzeWith(known.builder, "collapsed.trace");
  ASSERT_NE(analysis, nullptr);
  report::StackSymbolizer symbolizer = FakeSymbolizer(kNames);
  const auto stacks = report::CollectStackValues(*analysis);
  EXPECT_EQ(report::CollapsedStacks(*analysis, stacks, report::StackMeasure::kAllocatedBytes,
                                    symbolizer),
            "main;alloc_a 150\nmain;helper;alloc_b 256\n");
  EXPECT_EQ(report::CollapsedStacks(*analysis, stacks, report::StackMeasure::kLeakedBytes,
                                    symbolizer),
            "main;alloc_a 50\nmain;helper;alloc_b 16\n");
  EXPECT_EQ(report::CollapsedStacks(*analysis, stacks, report::StackMeasure::kTemporary,
                                    symbolizer),
            "main;helper;alloc_b 1\n");
}

TEST(Collapsed, NamesCannotBreakTheFormat) {
  KnownTrace known;
  auto analysis = AnalyzeWith(known.builder, "collapsed_names.trace");
  ASSERT_NE(analysis, nullptr);
  report::StackSymbolizer symbolizer = FakeSymbolizer(
      {{kMain, "main"}, {kAllocA, "odd;name\nwith newline"}, {kAllocB, "b"}, {kHelper, "h"}});
  const std::string text =
      report::CollapsedStacks(*analysis, report::CollectStackValues(*analysis),
                              report::StackMeasure::kLeakedBytes, symbolizer);
  EXPECT_EQ(text, "main;h;b 16\nmain;odd:name with newline 50\n");
}

TEST(Collapsed, UnnamedFramesUseModuleAndOffset) {
  KnownTrace known;
  auto analysis = AnalyzeWith(known.builder, "collapsed_unnamed.trace");
  ASSERT_NE(analysis, nullptr);
  report::StackSymbolizer symbolizer = FakeSymbolizer({{kMain, "main"}});
  const std::string text =
      report::CollapsedStacks(*analysis, report::CollectStackValues(*analysis),
                              report::StackMeasure::kLeakedBytes, symbolizer);
  EXPECT_EQ(text, "main;testprog+0x1100 50\nmain;testprog+0x1300;testprog+0x1200 16\n");
}

TEST(Pprof, ParsesAndSumsToTheReport) {
  KnownTrace known;
  auto analysis = AnalyzeWith(known.builder, "pprof.trace");
  ASSERT_NE(analysis, nullptr);
  report::StackSymbolizer symbolizer = FakeSymbolizer(kNames);
  const pb::Profile built =
      report::BuildPprofProfile(*analysis, report::CollectStackValues(*analysis), symbolizer);
  absl::StatusOr<std::string> zipped = report::Gzip(built.SerializeAsString());
  ASSERT_TRUE(zipped.ok());
  ASSERT_GE(zipped->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*zipped)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*zipped)[1]), 0x8b);
  const pb::Profile profile = ParseGzipped(*zipped);

  ASSERT_GT(profile.string_table_size(), 0);
  EXPECT_EQ(profile.string_table(0), "");
  std::vector<std::string> types;
  for (const pb::ValueType& t : profile.sample_type()) types.push_back(profile.string_table(t.type()));
  EXPECT_EQ(types, (std::vector<std::string>{"alloc_objects", "alloc_space", "peak_inuse_objects",
                                             "peak_inuse_space", "leak_objects", "leak_space",
                                             "temporary_objects"}));
  EXPECT_EQ(profile.string_table(profile.default_sample_type()), "peak_inuse_space");

  const report::Report r = report::BuildReport(*analysis, {}, symbolizer);
  EXPECT_EQ(Totals(profile), ReportTotals(r));
  EXPECT_EQ(r.leaked_bytes, 66u);
  EXPECT_EQ(r.peak_bytes, 350u);

  ASSERT_EQ(profile.sample_size(), 2);
  EXPECT_EQ(SampleFunctions(profile, profile.sample(0)),
            (std::vector<std::string>{"alloc_a", "main"}));
  EXPECT_EQ(SampleFunctions(profile, profile.sample(1)),
            (std::vector<std::string>{"alloc_b", "helper", "main"}));
  // main's return address is one location shared by both samples; locations
  // point at the call site, inside the program's mapping.
  EXPECT_EQ(profile.location_size(), 4);
  ASSERT_EQ(profile.mapping_size(), 1);
  const pb::Mapping& mapping = profile.mapping(0);
  EXPECT_EQ(profile.string_table(mapping.filename()), "/usr/bin/testprog");
  EXPECT_TRUE(mapping.has_functions());
  for (const pb::Location& l : profile.location()) {
    EXPECT_EQ(l.mapping_id(), mapping.id());
    EXPECT_GE(l.address(), mapping.memory_start());
    EXPECT_LT(l.address(), mapping.memory_limit());
  }
  const std::set<uint64_t> call_sites = {kMain - 1, kAllocA - 1, kAllocB - 1, kHelper - 1};
  for (const pb::Location& l : profile.location()) EXPECT_TRUE(call_sites.count(l.address()));
}

TEST(Pprof, InlinedFramesShareOneLocation) {
  KnownTrace known;
  auto analysis = AnalyzeWith(known.builder, "pprof_inline.trace");
  ASSERT_NE(analysis, nullptr);
  // alloc_a's return address holds an inlined call to "inner".
  report::StackSymbolizer symbolizer(
      [](const ModuleInfo& module, uint64_t address) {
        SymbolizedFrame frame;
        frame.address = address;
        frame.module = module.path;
        frame.function = kNames.count(address) ? kNames.at(address) : "?";
        frame.file = "prog.c";
        frame.line = static_cast<int>(address & 0xfff);
        std::vector<SymbolizedFrame> frames;
        if (address == kAllocA) {
          SymbolizedFrame inner = frame;
          inner.function = "inner";
          inner.inlined = true;
          inner.line = 7;
          frames.push_back(inner);
        }
        frames.push_back(frame);
        return frames;
      });
  const pb::Profile profile =
      report::BuildPprofProfile(*analysis, report::CollectStackValues(*analysis), symbolizer);
  EXPECT_EQ(SampleFunctions(profile, profile.sample(0)),
            (std::vector<std::string>{"inner", "alloc_a", "main"}));
  EXPECT_EQ(profile.sample(0).location_id_size(), 2);
  EXPECT_TRUE(profile.mapping(0).has_inline_frames());
  EXPECT_TRUE(profile.mapping(0).has_line_numbers());
}

TEST(Gzip, RoundTripsAndRejectsGarbage) {
  const std::string text(100000, 'x');
  absl::StatusOr<std::string> zipped = report::Gzip(text);
  ASSERT_TRUE(zipped.ok());
  EXPECT_LT(zipped->size(), text.size() / 10);
  absl::StatusOr<std::string> back = report::Gunzip(*zipped);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, text);
  EXPECT_FALSE(report::Gunzip("not gzip at all").ok());
  EXPECT_FALSE(report::Gunzip(zipped->substr(0, zipped->size() / 2)).ok());
}

TEST(Timeline, DownsamplesIntoBoundedBuckets) {
  report::Timeline timeline(64);
  for (uint64_t i = 0; i < 100000; ++i) {
    timeline.Add(report::Timeline::kLive, 5000 + i * 1000, i % 1000);
  }
  EXPECT_EQ(timeline.base_ns(), 5000u);
  EXPECT_LE(timeline.used(), 64u);
  EXPECT_GE(timeline.used() * timeline.width_ns(), 99999u * 1000);
  uint64_t min = UINT64_MAX, max = 0;
  for (size_t i = 0; i < timeline.used(); ++i) {
    const auto& cell = timeline.bucket(i)[report::Timeline::kLive];
    ASSERT_TRUE(cell.set);
    min = std::min(min, cell.min);
    max = std::max(max, cell.max);
  }
  EXPECT_EQ(min, 0u);
  EXPECT_EQ(max, 999u);
  EXPECT_EQ(timeline.bucket(timeline.used() - 1)[report::Timeline::kLive].last, 99999u % 1000);
  EXPECT_FALSE(timeline.bucket(0)[report::Timeline::kRss].set);
}

TEST(ViewCollector, HeapAtThePeakAndAtTheEnd) {
  KnownTrace known;
  report::ViewCollector collector;
  auto analysis = AnalyzeWith(known.builder, "collector.trace", &collector);
  ASSERT_NE(analysis, nullptr);
  auto addresses = [](const report::ViewCollector::HeapState& state) {
    std::set<uint64_t> out;
    for (const auto& c : state.chunks) out.insert(c.address);
    return out;
  };
  const auto peak = collector.PeakState();
  EXPECT_EQ(addresses(peak), (std::set<uint64_t>{0x10010, 0x10090, 0x10170}));
  EXPECT_EQ(peak.brk, kBreak);
  EXPECT_EQ(analysis->SinceStart(peak.time_ns), 4000u);
  const auto end = collector.EndState();
  EXPECT_EQ(addresses(end), (std::set<uint64_t>{0x10170, 0x20000}));
  for (const auto& c : end.chunks) {
    EXPECT_EQ(c.chunk_start, c.address - 16);
    EXPECT_EQ(c.chunk_bytes, (c.size + 8 + 15) & ~uint64_t{15});
  }
}

TEST(ViewData, TreeHeapMapsAndTimeline) {
  KnownTrace known;
  report::ViewCollector collector;
  auto analysis = AnalyzeWith(known.builder, "viewdata.trace", &collector);
  ASSERT_NE(analysis, nullptr);
  report::StackSymbolizer symbolizer = FakeSymbolizer(kNames);
  const Struct view =
      ParseJson(report::ViewDataJson(*analysis, collector, report::ViewOptions{}, symbolizer));

  // Root, main, alloc_a, helper, alloc_b; each measure sums to its total.
  const Struct& tree = Field(view, "tree").struct_value();
  EXPECT_EQ(Field(tree, "parent").list_value().values_size(), 5);
  const Struct& self = Field(tree, "self").struct_value();
  EXPECT_EQ(Sum(Field(self, "allocated")), 406);
  EXPECT_EQ(Sum(Field(self, "peak")), 350);
  EXPECT_EQ(Sum(Field(self, "leaked")), 66);
  EXPECT_EQ(Sum(Field(self, "temporary")), 1);
  // Stack ids in order, each mapped to the node where it ends (alloc_a: 2,
  // alloc_b: 4).
  const auto& ids = Field(tree, "stack_id").list_value().values();
  const auto& ends = Field(tree, "stack_node").list_value().values();
  ASSERT_EQ(ids.size(), 2);
  ASSERT_EQ(ends.size(), 2);
  EXPECT_EQ(ids[0].number_value(), known.stack_a);
  EXPECT_EQ(ids[1].number_value(), known.stack_b);
  EXPECT_EQ(ends[0].number_value(), 2);
  EXPECT_EQ(ends[1].number_value(), 4);

  const auto& maps = Field(view, "heap_maps").list_value().values();
  ASSERT_EQ(maps.size(), 2);
  EXPECT_EQ(Field(maps[0].struct_value(), "name").string_value(), "peak");
  const Struct& end = maps[1].struct_value();
  EXPECT_EQ(Field(end, "name").string_value(), "end");
  const auto& regions = Field(end, "regions").list_value().values();
  ASSERT_EQ(regions.size(), 1);
  const Struct& main_heap = regions[0].struct_value();
  EXPECT_EQ(Field(main_heap, "kind").string_value(), "main");
  EXPECT_EQ(Field(main_heap, "start").string_value(), "0x10000");
  EXPECT_EQ(Field(main_heap, "end").string_value(), "0x30000");
  EXPECT_EQ(Field(main_heap, "live_bytes").number_value(), 66);
  // Chunks [0x10160, 0x101a0) and [0x1fff0, 0x20010): the gaps below the top
  // chunk, and the free space above it up to the break.
  EXPECT_EQ(Field(main_heap, "hole_bytes").number_value(), (0x10160 - 0x10000) + (0x1fff0 - 0x101a0));
  EXPECT_EQ(Field(main_heap, "top_free_bytes").number_value(), 0x30000 - 0x20010);
  const Struct& chunk = Field(main_heap, "chunk").struct_value();
  const auto& offsets = Field(chunk, "offset").list_value().values();
  ASSERT_EQ(offsets.size(), 2);
  EXPECT_EQ(offsets[1].number_value(), 0x1fff0 - 0x10000);

  const Struct& timeline = Field(view, "timeline").struct_value();
  const Struct& series = Field(timeline, "series").struct_value();
  const Struct& live = Field(series, "live_bytes").struct_value();
  double max = 0;
  for (const Value& v : Field(live, "max").list_value().values()) max = std::max(max, v.number_value());
  EXPECT_EQ(max, 350);
  EXPECT_TRUE(series.fields().count("heap_extent"));
}

TEST(ViewData, CallTreeCutToTheHeaviestNodes) {
  // 300 stacks of two frames each under main: 601 nodes with the root.
  TraceBuilder builder;
  builder.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
  std::vector<TestEvent> events;
  for (uint64_t i = 0; i < 300; ++i) {
    const uint64_t stack = builder.Stack({kProgramStart + 0x2000 + 16 * i, kProgramStart + 0x8000 + 16 * i, kMain});
    events.push_back(Alloc(i + 1, 0x100000 + 0x1000 * i, 10 + i, stack));
  }
  builder.Events(1, events);
  builder.Barrier(1000);
  builder.Trailer();
  report::ViewCollector collector;
  auto analysis = AnalyzeWith(builder, "prune.trace", &collector);
  ASSERT_NE(analysis, nullptr);
  report::StackSymbolizer symbolizer = report::StackSymbolizer::AddressesOnly();
  report::ViewOptions options;
  options.max_tree_nodes = 50;
  const Struct view = ParseJson(report::ViewDataJson(*analysis, collector, options, symbolizer));
  const Struct& tree = Field(view, "tree").struct_value();
  const auto& parents = Field(tree, "parent").list_value().values();
  EXPECT_EQ(parents.size(), 50);
  for (int i = 1; i < parents.size(); ++i) EXPECT_LT(parents[i].number_value(), i);
  // Nothing is lost: folded nodes count in their callers.
  EXPECT_EQ(Sum(Field(Field(tree, "self").struct_value(), "allocated")), 300 * 10 + 299 * 300 / 2);
  EXPECT_EQ(Field(view, "notes").list_value().values_size(), 1);
}

TEST(ViewData, HeapMapsMergeChunksBeyondTheLimit) {
  TraceBuilder builder;
  builder.header().set_heap_start(kHeapStart);
  builder.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
  const uint64_t stack = builder.Stack({kAllocA, kMain});
  TestEvent brk;
  brk.op = kBreakMove;
  brk.seq = 1;
  brk.address = kHeapStart + 1000 * 0x40 + 0x1000;
  std::vector<TestEvent> events = {brk};
  for (uint64_t i = 0; i < 1000; ++i) events.push_back(Alloc(i + 2, kHeapStart + 0x10 + 0x40 * i, 40, stack));
  builder.Events(1, events);
  builder.Barrier(5000);
  builder.Trailer();
  report::ViewCollector collector;
  auto analysis = AnalyzeWith(builder, "merge.trace", &collector);
  ASSERT_NE(analysis, nullptr);
  report::StackSymbolizer symbolizer = FakeSymbolizer(kNames);
  report::ViewOptions options;
  options.max_chunks = 200;
  const Struct view = ParseJson(report::ViewDataJson(*analysis, collector, options, symbolizer));
  const Struct& end = Field(view, "heap_maps").list_value().values(1).struct_value();
  EXPECT_TRUE(Field(end, "merged").bool_value());
  EXPECT_EQ(Field(end, "chunks").number_value(), 1000);
  const Struct& region = Field(end, "regions").list_value().values(0).struct_value();
  const Struct& chunk = Field(region, "chunk").struct_value();
  EXPECT_LE(Field(chunk, "offset").list_value().values_size(), 200);
  EXPECT_EQ(Sum(Field(chunk, "count")), 1000);
  EXPECT_EQ(Sum(Field(chunk, "size")), 40000);
  // The topmost chunks stay whole.
  const auto& counts = Field(chunk, "count").list_value().values();
  EXPECT_EQ(counts[counts.size() - 1].number_value(), 1);
  EXPECT_GT(counts[0].number_value(), 1);
}

TEST(Page, TraceStringsCannotEscapeTheirElements) {
  KnownTrace known;
  known.builder.header().add_argv("</script><script>alert(2)</script>");
  report::ViewCollector collector;
  auto analysis = AnalyzeWith(known.builder, "page.trace", &collector);
  ASSERT_NE(analysis, nullptr);
  report::StackSymbolizer symbolizer = FakeSymbolizer({{kMain, "main"},
                                                       {kAllocA, "</script><img src=x onerror=alert(1)>"},
                                                       {kAllocB, "<!-- b & c -->"},
                                                       {kHelper, "helper"}});
  viewer::PageProcess process;
  process.report_json =
      viewer::CompactJson(report::JsonReport(report::BuildReport(*analysis, {}, symbolizer)));
  process.view_json = report::ViewDataJson(*analysis, collector, report::ViewOptions{}, symbolizer);
  const std::string page = viewer::TracePage(process);
  EXPECT_FALSE(absl::StrContains(page, "<img"));
  EXPECT_FALSE(absl::StrContains(page, "<!--  b"));
  EXPECT_FALSE(absl::StrContains(page, "alert(2)</script>"));
  // Exactly the page's own three script elements: two of data, one of code.
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(page, "<script")).size() - 1, 3u);
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(page, "</script>")).size() - 1, 3u);
  EXPECT_TRUE(absl::StrContains(page, "\\u003cimg src=x onerror=alert(1)\\u003e"));
  EXPECT_TRUE(absl::StrContains(page, "id=\"heapgap-report-0\""));
  EXPECT_TRUE(absl::StrContains(page, "id=\"heapgap-view-0\""));
  EXPECT_TRUE(absl::StrContains(page, "Content-Security-Policy"));
  EXPECT_FALSE(absl::StrContains(page, "@HEAPGAP_"));
}

TEST(Page, CompactJsonKeepsStrings) {
  EXPECT_EQ(viewer::CompactJson("{\n  \"a b\": [1, 2],\n  \"c\": \"x \\\" y\\\\\"\n}\n"),
            "{\"a b\":[1,2],\"c\":\"x \\\" y\\\\\"}");
}

TEST(TraceDirectory, ListsTracesByContentOrName) {
  const std::string dir = ScratchDir() + "traces/";
  mkdir(dir.c_str(), 0700);
  KnownTrace known;
  auto write = [&dir](const std::string& name, const std::string& bytes) {
    std::ofstream(dir + name, std::ios::binary) << bytes;
  };
  write("a.trace", "");
  write("b.trace.1", known.builder.Bytes());
  write("c.bin", known.builder.Bytes());
  write("notes.txt", "hello");
  write("page.html", "<!DOCTYPE html>");
  write("d.trace.x", "");
  mkdir((dir + "sub.trace").c_str(), 0700);
  absl::StatusOr<std::vector<std::string>> traces = viewer::TracesIn(dir);
  ASSERT_TRUE(traces.ok());
  EXPECT_EQ(*traces, (std::vector<std::string>{dir + "a.trace", dir + "b.trace.1", dir + "c.bin"}));
  EXPECT_FALSE(viewer::TracesIn(dir + "missing").ok());
}

// ------------------------------------------------ real programs, real CLI

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Outcome RunProgram(std::vector<std::string> argv) {
  std::vector<char*> pointers;
  for (std::string& a : argv) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  const std::string out_path = ScratchDir() + "command.out";
  const std::string err_path = ScratchDir() + "command.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  Outcome outcome;
  if (posix_spawn(&pid, pointers[0], &actions, nullptr, pointers.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  outcome.out = ReadFile(out_path);
  outcome.err = ReadFile(err_path);
  return outcome;
}

// Runs a sample under `heapgap run` into a fresh directory; returns its trace.
std::string TraceSample(const std::string& sample) {
  const std::string dir = ScratchDir() + sample + "/";
  RunProgram({"/bin/rm", "-rf", dir});
  mkdir(dir.c_str(), 0700);
  const Outcome run = RunProgram({HEAPGAP_BINARY, "run", "-q", "-o", dir, std::string(HEAPGAP_SAMPLES) + "/" + sample});
  EXPECT_EQ(run.status, 0) << run.err;
  absl::StatusOr<std::vector<std::string>> traces = viewer::TracesIn(dir);
  EXPECT_TRUE(traces.ok() && traces->size() == 1);
  return traces.ok() && !traces->empty() ? traces->front() : "";
}

TEST(ExportCommand, PprofOfARealProgramEqualsItsReport) {
  const std::string trace = TraceSample("leaky");
  ASSERT_FALSE(trace.empty());
  const std::string output = trace + ".pb.gz";
  const Outcome exported = RunProgram({HEAPGAP_BINARY, "export", "--format", "pprof", "-o", output, trace});
  ASSERT_EQ(exported.status, 0) << exported.err;
  EXPECT_EQ(exported.err, "");
  const pb::Profile profile = ParseGzipped(ReadFile(output));

  absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> analysis = report::AnalyzeTrace(trace);
  ASSERT_TRUE(analysis.ok());
  report::StackSymbolizer symbolizer;
  const report::Report r = report::BuildReport(**analysis, {}, symbolizer);
  EXPECT_EQ(Totals(profile), ReportTotals(r));
  EXPECT_EQ(r.leaked_bytes, 41160u);

  std::set<std::string> functions;
  for (const pb::Function& f : profile.function()) functions.insert(profile.string_table(f.name()));
  for (const char* name : {"leak_small", "leak_big", "list_push", "leak_list", "churn", "main"}) {
    EXPECT_TRUE(functions.count(name)) << name;
  }
  ASSERT_GT(profile.mapping_size(), 0);
  EXPECT_TRUE(absl::EndsWith(profile.string_table(profile.mapping(0).filename()), "/leaky"));
  EXPECT_TRUE(profile.mapping(0).has_line_numbers());
  std::set<uint64_t> mapping_ids, location_ids;
  for (const pb::Mapping& m : profile.mapping()) mapping_ids.insert(m.id());
  for (const pb::Location& l : profile.location()) {
    location_ids.insert(l.id());
    if (l.mapping_id() != 0) {
      EXPECT_TRUE(mapping_ids.count(l.mapping_id()));
    }
  }
  for (const pb::Sample& s : profile.sample()) {
    for (uint64_t id : s.location_id()) EXPECT_TRUE(location_ids.count(id));
  }
}

TEST(ExportCommand, CollapsedLeaksOfARealProgram) {
  const std::string trace = TraceSample("leaky");
  ASSERT_FALSE(trace.empty());
  const Outcome exported =
      RunProgram({HEAPGAP_BINARY, "export", "--format", "collapsed", "--value", "leaked", trace});
  ASSERT_EQ(exported.status, 0) << exported.err;
  std::map<std::string, uint64_t> by_leaf;
  uint64_t total = 0;
  for (absl::string_view line : absl::StrSplit(exported.out, '\n', absl::SkipEmpty())) {
    const size_t space = line.rfind(' ');
    ASSERT_NE(space, absl::string_view::npos) << line;
    const uint64_t value = std::stoull(std::string(line.substr(space + 1)));
    const std::string path(line.substr(0, space));
    // The frames from main on; libc's start-up frames are above it.
    const size_t main = path.rfind(";main;");
    ASSERT_NE(main, std::string::npos) << path;
    total += value;
    by_leaf[path.substr(main + 1)] += value;
  }
  EXPECT_EQ(total, 41160u);
  EXPECT_EQ(by_leaf["main;leak_small"], 1000u);
  EXPECT_EQ(by_leaf["main;leak_big"], 40000u);
  EXPECT_EQ(by_leaf["main;leak_list;list_push"], 160u);
}

TEST(ExportCommand, Errors) {
  EXPECT_EQ(RunProgram({HEAPGAP_BINARY, "export", "/nonexistent"}).status, 2);
  const Outcome bad = RunProgram({HEAPGAP_BINARY, "export", "--format", "svg", "/nonexistent"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "unknown format 'svg'")) << bad.err;
  const Outcome value = RunProgram({HEAPGAP_BINARY, "export", "--format", "collapsed", "--value", "x", "t"});
  EXPECT_EQ(value.status, 2);
  EXPECT_TRUE(absl::StrContains(value.err, "allocated, allocations, peak")) << value.err;
  const Outcome missing = RunProgram({HEAPGAP_BINARY, "export", "--format", "pprof", "-o", "/dev/null", "/nonexistent"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(missing.err, '\n', absl::SkipEmpty())).size(), 1u);
}

TEST(ViewCommand, WritesOnePageAndSaysWhere) {
  const std::string trace = TraceSample("fragment");
  ASSERT_FALSE(trace.empty());
  const Outcome view = RunProgram({HEAPGAP_BINARY, "view", trace});
  ASSERT_EQ(view.status, 0) << view.err;
  // stderr is not a terminal: no progress, just where the page went.
  EXPECT_TRUE(absl::StartsWith(view.err, "heapgap: wrote " + trace + ".html (")) << view.err;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(view.err, '\n', absl::SkipEmpty())).size(), 1u);
  const std::string page = ReadFile(trace + ".html");
  EXPECT_TRUE(absl::StartsWith(page, "<!DOCTYPE html>"));
  EXPECT_TRUE(absl::StrContains(page, "make_pin"));
  EXPECT_FALSE(absl::StrContains(page, "http://"));
  EXPECT_FALSE(absl::StrContains(page, "https://"));

  const std::string dir = trace.substr(0, trace.rfind('/'));
  const Outcome quiet = RunProgram({HEAPGAP_BINARY, "view", "-q", "-o", dir + "/all.html", dir});
  ASSERT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
  EXPECT_TRUE(absl::StrContains(ReadFile(dir + "/all.html"), "id=\"heapgap-index\""));

  EXPECT_EQ(RunProgram({HEAPGAP_BINARY, "view"}).status, 2);
  EXPECT_EQ(RunProgram({HEAPGAP_BINARY, "view", "/nonexistent"}).status, 2);
  const std::string empty = ScratchDir() + "empty";
  mkdir(empty.c_str(), 0700);
  const Outcome none = RunProgram({HEAPGAP_BINARY, "view", empty});
  EXPECT_EQ(none.status, 2);
  EXPECT_TRUE(absl::StrContains(none.err, "no heapgap traces")) << none.err;
}

// Runs `argv` with standard error on a pseudo-terminal; returns what it
// wrote there.
std::string TerminalStderr(std::vector<std::string> argv) {
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return "openpty failed";
  std::vector<char*> pointers;
  for (std::string& a : argv) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, slave, 2);
  posix_spawn_file_actions_addclose(&actions, master);
  pid_t pid = 0;
  const bool spawned =
      posix_spawn(&pid, pointers[0], &actions, nullptr, pointers.data(), environ) == 0;
  posix_spawn_file_actions_destroy(&actions);
  close(slave);
  std::string out;
  char buffer[4096];
  // Read until the child has gone and the terminal reports its end (EIO).
  for (ssize_t n; spawned && (n = read(master, buffer, sizeof buffer)) > 0;) out.append(buffer, n);
  close(master);
  if (spawned) waitpid(pid, nullptr, 0);
  return out;
}

TEST(ViewCommand, ProgressOnlyOnATerminal) {
  const std::string trace = TraceSample("leaky");
  ASSERT_FALSE(trace.empty());
  const std::string shown = TerminalStderr({HEAPGAP_BINARY, "view", "-o", trace + ".tty.html", trace});
  // The line is rewritten in place and cleared before the closing message.
  EXPECT_TRUE(absl::StrContains(shown, "\rheapgap: symbolizing the stacks of ")) << shown;
  EXPECT_TRUE(absl::StrContains(shown, "\r\033[Kheapgap: wrote " + trace + ".tty.html")) << shown;
  EXPECT_EQ(TerminalStderr({HEAPGAP_BINARY, "view", "-q", "-o", trace + ".tty.html", trace}), "");
  const std::string exported = TerminalStderr({HEAPGAP_BINARY, "export", "--format", "collapsed", "-o", "/dev/null", trace});
  EXPECT_FALSE(absl::StrContains(exported, "wrote")) << exported;
}

}  // namespace
}  // namespace heapgap::testing
