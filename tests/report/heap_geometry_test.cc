// Heap geometry over a whole trace: the moments that matter, samples in
// their place among the events, the bounded time series, and the report's
// JSON and text sections built from a trace file.
#include "report/heap_geometry.h"

#include <vector>

#include "absl/strings/match.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "report/heap_params.h"
#include "report/json_report.h"
#include "report/text_report.h"
#include "tests/report/test_support.h"

namespace heapgap::testing {
namespace {

using google::protobuf::Struct;
using report::Event;
using report::HeapGeometry;

constexpr uint64_t kHeap = 0x555555559000;
constexpr uint64_t kFirst = kHeap + 0x290;
constexpr uint64_t kP = report::glibc::kPrevInUse;

class GeometryEvents {
 public:
  explicit GeometryEvents(HeapGeometry& geometry) : geometry_(geometry) {}

  uint64_t seq() const { return seq_; }
  uint64_t time() const { return 1000 * seq_; }

  void Apply(uint32_t op, uint64_t address, uint64_t size, uint64_t header,
             std::vector<int64_t> aux = {}, uint32_t thread = 1) {
    Event e;
    e.seq = ++seq_;
    e.time_ns = time();
    e.op = op;
    e.address = address;
    e.size = size;
    e.chunk_header = header;
    e.thread_id = thread;
    e.stack_id = 7;
    for (size_t i = 0; i < aux.size(); ++i) e.aux[i] = aux[i];
    geometry_.Apply(e);
  }
  void Alloc(uint64_t chunk, uint64_t size, uint64_t bits = kP) {
    Apply(1, chunk + 16, size - 16, size | bits);
  }
  void Free(uint64_t chunk, uint64_t size, uint64_t bits = kP) {
    Apply(32, chunk + 16, 0, size | bits);
  }
  void Break(uint64_t old_break, uint64_t new_break) {
    Apply(64, new_break, 0, 0, {static_cast<int64_t>(old_break), 0});
  }

 private:
  HeapGeometry& geometry_;
  uint64_t seq_ = 0;
};

trace::Header HeapHeader() {
  trace::Header header;
  header.set_heap_start(kHeap);
  header.set_page_size(4096);
  return header;
}

TEST(HeapGeometryTest, MomentsOfPeakFootprintAndWorstHoles) {
  HeapGeometry geometry;
  geometry.Start(HeapHeader());
  GeometryEvents ev(geometry);
  ev.Break(kHeap, kHeap + 0x60000);
  const uint64_t peak_time = ev.time();
  for (int i = 0; i < 80; ++i) ev.Alloc(kFirst + i * 0x1000, 0x1000);
  const uint64_t pin = kFirst + 80 * 0x1000;
  ev.Alloc(pin, 0x20);
  for (int i = 0; i < 60; ++i) ev.Free(kFirst + i * 0x1000, 0x1000, i == 0 ? kP : 0);
  const uint64_t worst_time = ev.time();
  for (int i = 0; i < 10; ++i) ev.Alloc(kFirst + i * 0x1000, 0x1000);
  geometry.Finish(ev.time() + 500);

  const report::HeapGeometryResult& r = geometry.result();
  EXPECT_TRUE(r.has_chunk_headers);
  ASSERT_TRUE(r.at_peak_footprint.valid);
  EXPECT_EQ(r.at_peak_footprint.time_ns, peak_time);
  EXPECT_EQ(r.at_peak_footprint.footprint_bytes, 0x60000u);
  ASSERT_TRUE(r.at_worst_holes.valid);
  EXPECT_EQ(r.at_worst_holes.time_ns, worst_time);
  EXPECT_EQ(r.at_worst_holes.hole_bytes, 60u * 0x1000);
  EXPECT_EQ(r.at_worst_holes.main.largest_hole_bytes, 60u * 0x1000);
  ASSERT_FALSE(r.at_worst_holes.main.pinners.empty());
  EXPECT_EQ(r.at_worst_holes.main.pinners[0].address, pin + 16);
  EXPECT_EQ(r.end.time_ns, ev.time() + 500);
  EXPECT_EQ(r.end.hole_bytes, 50u * 0x1000);
  EXPECT_EQ(r.end.main.live_blocks, 31u);
}

TEST(HeapGeometryTest, SamplesApplyAmongTheEventsByTheirSequenceNumber) {
  HeapGeometry geometry;
  geometry.Start(HeapHeader());
  const uint64_t heap = 0x7ffff0000000;
  // Written before the events it follows have been read, as the tracer may.
  trace::Sample sample;
  sample.set_seq(5);
  sample.set_time_ns(5000);
  sample.set_rss_bytes(1 << 20);
  sample.set_rss_hwm_bytes(3 << 20);
  trace::ArenaHeapState* state = sample.add_arena_heaps();
  state->set_start(heap);
  state->set_arena(heap + 0x30);
  state->set_size(0x21000);  // shrunk inside a free since seq 2
  geometry.AddSample(sample);

  GeometryEvents ev(geometry);
  auto arena_heap = [&](uint64_t size) {
    ev.Apply(65, heap, size, 0, {static_cast<int64_t>(size), static_cast<int64_t>(heap + 0x30), 0});
  };
  arena_heap(0x40000);                    // seq 1
  for (int i = 0; i < 3; ++i) ev.Apply(74, 0, 0, 0);  // seqs 2..4
  ev.Apply(74, 0, 0, 0);                  // seq 5: the sample goes before it
  ev.Apply(74, 0, 0, 0);
  ev.Apply(74, 0, 0, 0);
  arena_heap(0x30000);                    // seq 8: grew again
  geometry.Finish(ev.time());

  const report::HeapGeometryResult& r = geometry.result();
  ASSERT_EQ(r.end.arenas.size(), 1u);
  EXPECT_EQ(r.end.arenas[0].extent_bytes, 0x30000u);
  EXPECT_EQ(r.counters.heap_size_corrections, 1u);
  EXPECT_EQ(r.samples, 1u);
  EXPECT_EQ(r.rss_hwm_bytes, 3u << 20);
  ASSERT_EQ(r.rss.size(), 1u);
  EXPECT_EQ(r.rss[0].rss_bytes, 1u << 20);
}

TEST(HeapGeometryTest, TimelineKeepsAtMost2000Points) {
  HeapGeometry geometry;
  geometry.Start(HeapHeader());
  GeometryEvents ev(geometry);
  ev.Break(kHeap, kHeap + 0x100000);
  for (int i = 0; i < 50000; ++i) {
    ev.Alloc(kFirst + (i % 100) * 0x100, 0x100);
    ev.Free(kFirst + (i % 100) * 0x100, 0x100);
  }
  geometry.Finish(ev.time());
  const std::vector<report::TimelinePoint>& points = geometry.result().timeline;
  EXPECT_LE(points.size(), HeapGeometry::kMaxTimelinePoints);
  EXPECT_GE(points.size(), HeapGeometry::kMaxTimelinePoints / 4);
  for (size_t i = 1; i < points.size(); ++i) EXPECT_LT(points[i - 1].time_ns, points[i].time_ns);
  EXPECT_EQ(points.back().time_ns, ev.time());
  EXPECT_EQ(points.back().brk_extent_bytes, 0x100000u);
}

class HeapReportTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kBreak = kHeap + 0xe9000;
  static constexpr uint64_t kBlocks = 100;
  static constexpr uint64_t kBlock = 0x2000;
  static constexpr uint64_t kMapped = 0x7ffff7000010;
  static constexpr uint64_t kMappedChunk = 0x41000;

  HeapReportTest() {
    builder.header().set_heap_start(kHeap);
    builder.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
    fill_stack = builder.Stack({0x401100, 0x401000});
    pin_stack = builder.Stack({0x401200, 0x401000});

    trace::Record settings;
    settings.mutable_malloc_settings()->set_cpu_count(2);
    builder.Raw(settings);

    std::vector<TestEvent> events;
    uint64_t seq = 1;
    TestEvent brk;
    brk.op = kBreakMove;
    brk.seq = seq++;
    brk.address = kBreak;
    brk.aux[0] = static_cast<int64_t>(kHeap);
    events.push_back(brk);
    for (uint64_t i = 0; i < kBlocks; ++i) {
      TestEvent e = Alloc(seq++, kFirst + i * kBlock + 16, kBlock - 16, fill_stack);
      e.chunk_header = kBlock | kP;
      events.push_back(e);
    }
    pin = kFirst + kBlocks * kBlock;
    TestEvent p = Alloc(seq++, pin + 16, 16, pin_stack);
    p.chunk_header = 0x20 | kP;
    events.push_back(p);
    for (uint64_t i = 0; i < kBlocks; ++i) {
      TestEvent e = Free(seq++, kFirst + i * kBlock + 16);
      e.chunk_header = kBlock | (i == 0 ? kP : 0);
      events.push_back(e);
    }
    TestEvent mapped = Alloc(seq++, kMapped, 0x40000, fill_stack);
    mapped.chunk_header = kMappedChunk | 2;
    events.push_back(mapped);
    builder.Events(1, events);
    builder.Barrier(seq);

    const uint64_t top = kBreak - pin - 0x20;
    trace::Record sample;
    trace::Sample* s = sample.mutable_sample();
    s->set_seq(seq);
    s->set_final(true);
    s->set_rss_bytes(2 << 20);
    s->set_rss_hwm_bytes(5 << 20);
    trace::MallocInfo* m = s->mutable_mallinfo();
    m->set_arena(kBreak - kHeap);
    m->set_ordblks(2);
    m->set_hblks(1);
    m->set_hblkhd(kMappedChunk);
    m->set_keepcost(top);
    m->set_fordblks(kBlocks * kBlock + top);
    m->set_uordblks(0x290 + 0x20);
    builder.Raw(sample);

    trace::Record walk;
    trace::HeapWalk* w = walk.mutable_heap_walk();
    w->set_heap_start(kHeap);
    w->set_brk(kBreak);
    w->add_chunks(0x290 | 1);
    w->add_chunks(kBlocks * kBlock);
    w->add_chunks(0x20 | 1);
    w->add_chunks(top);
    w->set_complete(true);
    builder.Raw(walk);
    builder.Trailer(0);
  }

  TraceBuilder builder;
  uint64_t fill_stack = 0;
  uint64_t pin_stack = 0;
  uint64_t pin = 0;
};

TEST_F(HeapReportTest, JsonHasTheHeapObjectAndItsMoments) {
  auto a = Analyze(builder, "heap_json");
  ASSERT_TRUE(a);
  report::StackSymbolizer symbolizer =
      FakeSymbolizer({{0x401100, "fill"}, {0x401200, "make_pin"}, {0x401000, "main"}});
  const std::string json = report::JsonReport(report::BuildReport(*a, {}, symbolizer));
  Struct root;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &root).ok()) << json;
  const auto& f = root.fields();
  EXPECT_EQ(f.at("totals").struct_value().fields().at("mmapped_allocations").number_value(), 1);
  const auto& peak = f.at("peak").struct_value().fields();
  EXPECT_EQ(peak.at("footprint_bytes").number_value(), (kBreak - kHeap) + kMappedChunk);
  EXPECT_EQ(peak.at("rss_hwm_bytes").number_value(), 5 << 20);

  const auto& heap = f.at("heap").struct_value().fields();
  EXPECT_TRUE(heap.at("available").bool_value());
  EXPECT_EQ(heap.at("brk_extent_bytes").number_value(), kBreak - kHeap);
  EXPECT_EQ(heap.at("max_brk_extent_bytes").number_value(), kBreak - kHeap);
  EXPECT_EQ(heap.at("live_bytes").number_value(), 16);
  EXPECT_EQ(heap.at("hole_bytes").number_value(), kBlocks * kBlock);
  EXPECT_EQ(heap.at("largest_hole_bytes").number_value(), kBlocks * kBlock);
  EXPECT_EQ(heap.at("top_free_bytes").number_value(), kBreak - pin - 0x20);
  EXPECT_EQ(heap.at("pinned_bytes").number_value(), kBlocks * kBlock);
  EXPECT_EQ(heap.at("trimmable_bytes").number_value(), 0);
  EXPECT_GT(heap.at("malloc_trim_releasable_bytes").number_value(), (kBlocks - 1) * kBlock);
  EXPECT_EQ(heap.at("arenas").list_value().values_size(), 0);
  const auto& pinner = heap.at("pinners").list_value().values(0).struct_value().fields();
  EXPECT_EQ(pinner.at("size").number_value(), 16);
  EXPECT_EQ(pinner.at("bytes_released_if_freed").number_value(), kBlocks * kBlock + 0x20);
  EXPECT_EQ(pinner.at("stack").list_value().values(0).struct_value().fields().at("function")
                .string_value(),
            "make_pin");
  EXPECT_GT(pinner.at("time_ns").number_value(), 0);

  for (const char* moment : {"at_peak_footprint", "at_worst_holes"}) {
    const auto& m = heap.at(moment).struct_value().fields();
    for (const char* key : {"brk_extent_bytes", "hole_bytes", "pinned_bytes", "pinners", "arenas",
                            "time_ns", "footprint_bytes", "malloc_trim_releasable_bytes"}) {
      EXPECT_TRUE(m.contains(key)) << moment << "." << key;
    }
  }
  EXPECT_EQ(heap.at("at_worst_holes").struct_value().fields().at("hole_bytes").number_value(),
            kBlocks * kBlock);
  EXPECT_EQ(heap.at("at_peak_footprint").struct_value().fields().at("footprint_bytes")
                .number_value(),
            (kBreak - kHeap) + kMappedChunk);

  const auto& check = heap.at("model_check").struct_value().fields();
  EXPECT_EQ(check.at("differences").list_value().values_size(), 0) << json;
  const auto& walk = check.at("heap_walk").struct_value().fields();
  EXPECT_EQ(walk.at("hole_bytes").struct_value().fields().at("glibc").number_value(),
            walk.at("hole_bytes").struct_value().fields().at("model").number_value());
  EXPECT_GT(heap.at("timeline").struct_value().fields().at("points").list_value().values_size(), 0);
}

TEST_F(HeapReportTest, TextNamesThePinAndWhatItPins) {
  auto a = Analyze(builder, "heap_text");
  ASSERT_TRUE(a);
  report::StackSymbolizer symbolizer =
      FakeSymbolizer({{0x401100, "fill"}, {0x401200, "make_pin"}, {0x401000, "main"}});
  const std::string text = report::TextReport(report::BuildReport(*a, {}, symbolizer), 10);
  EXPECT_TRUE(absl::StrContains(text, "HEAP GEOMETRY")) << text;
  EXPECT_TRUE(absl::StrContains(text, "16 B from make_pin (/usr/bin/testprog+0x1200), allocated at "))
      << text;
  EXPECT_TRUE(absl::StrContains(text, ", pins 800 KiB")) << text;
  EXPECT_TRUE(absl::StrContains(text, "model check: matches the heap walk at exit")) << text;
}

}  // namespace
}  // namespace heapgap::testing
