// The preload library writes the trace format by hand; these tests parse its
// bytes with the classes generated from proto/trace.proto and compare every
// field, on randomized input.
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "interpose/trace_encoding.h"
#include "trace.pb.h"

namespace heapgap {
namespace {

std::vector<trace::Record> ParseRecords(const uint8_t* data, size_t size) {
  std::vector<trace::Record> records;
  size_t pos = 0;
  while (pos < size) {
    uint64_t length = 0;
    int shift = 0;
    while (true) {
      const uint8_t byte = data[pos++];
      length |= static_cast<uint64_t>(byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) break;
    }
    trace::Record record;
    EXPECT_TRUE(record.ParseFromArray(data + pos, static_cast<int>(length)));
    pos += length;
    records.push_back(record);
  }
  EXPECT_EQ(pos, size);
  return records;
}

class WireEncoderTest : public ::testing::Test {
 protected:
  std::vector<uint8_t> out_storage_ = std::vector<uint8_t>(1 << 22);
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(1 << 22);
  wire::Writer out_{out_storage_.data(), out_storage_.size()};
};

TEST_F(WireEncoderTest, RandomEventBatchesRoundTrip) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 200; ++round) {
    out_.Clear();
    const size_t n = rng() % 1100;
    std::vector<RawEvent> events(n);
    uint64_t seq = rng() % 1000000;
    uint64_t time = rng();
    for (size_t i = 0; i < n; ++i) {
      RawEvent& e = events[i];
      const uint32_t ops[] = {op::kMalloc,     op::kFree,       op::kRealloc,    op::kReallocFree,
                              op::kMemalign,   op::kNewArrayAlignedNothrow,  op::kDeleteSized,
                              op::kBreakMove,  op::kArenaHeap,  op::kMmap,       op::kMadvise,
                              op::kMallocTrim, op::kThreadStart};
      e.op = ops[rng() % 13];
      e.unused = 0;
      seq += 1 + rng() % 5;
      e.seq = seq;
      time += rng() % 100000;
      e.time_ns = time;
      // Addresses anywhere, including ones that make deltas negative.
      e.address = (rng() % 4 == 0) ? rng() : 0x7f0000000000ull + (rng() % (1ull << 32));
      e.size = (rng() % 3 == 0) ? rng() : rng() % 4096;
      e.stack_id = rng() % 3 == 0 ? 0 : rng() % 100000;
      e.chunk_header = rng() % 2 ? rng() : 0;
      e.mmapped_chunk_offset = (e.chunk_header & kChunkMmapped) ? rng() % 100000 : 0;
      for (int a = 0; a < op::kMaxAux; ++a)
        e.aux[a] = a < op::AuxCount(e.op) ? static_cast<int64_t>(rng()) : 0;
    }
    BatchInfo info{static_cast<uint32_t>(rng() % 100 + 1), static_cast<int64_t>(rng() % 4000000),
                   rng() % 3};
    ASSERT_TRUE(AppendEventBatch(info, events.data(), n, scratch_.data(), scratch_.size(), out_));
    auto records = ParseRecords(out_.data(), out_.size());
    ASSERT_EQ(records.size(), 1u);
    ASSERT_TRUE(records[0].has_events());
    const trace::EventBatch& b = records[0].events();
    EXPECT_EQ(b.thread_id(), info.thread_id);
    EXPECT_EQ(b.tid(), info.tid);
    EXPECT_EQ(b.lost_events(), info.lost_events);
    ASSERT_EQ(static_cast<size_t>(b.op_size()), n);
    ASSERT_EQ(static_cast<size_t>(b.seq_delta_size()), n);
    ASSERT_EQ(static_cast<size_t>(b.time_delta_size()), n);
    ASSERT_EQ(static_cast<size_t>(b.address_delta_size()), n);
    ASSERT_EQ(static_cast<size_t>(b.size_size()), n);
    ASSERT_EQ(static_cast<size_t>(b.stack_id_size()), n);
    ASSERT_EQ(static_cast<size_t>(b.chunk_header_size()), n);
    uint64_t s = b.base_seq(), t = b.base_time_ns(), a = 0;
    int aux_index = 0;
    int offset_index = 0;
    for (size_t i = 0; i < n; ++i) {
      s += b.seq_delta(i);
      t += b.time_delta(i);
      a += static_cast<uint64_t>(b.address_delta(i));
      EXPECT_EQ(b.op(i), events[i].op);
      EXPECT_EQ(s, events[i].seq);
      EXPECT_EQ(t, events[i].time_ns);
      EXPECT_EQ(a, events[i].address);
      EXPECT_EQ(b.size(i), events[i].size);
      EXPECT_EQ(b.stack_id(i), events[i].stack_id);
      EXPECT_EQ(b.chunk_header(i), events[i].chunk_header);
      for (int a = 0; a < op::AuxCount(events[i].op); ++a) {
        ASSERT_LT(aux_index, b.aux_size());
        EXPECT_EQ(b.aux(aux_index++), events[i].aux[a]);
      }
      if (events[i].chunk_header & kChunkMmapped) {
        ASSERT_LT(offset_index, b.mmapped_chunk_offset_size());
        EXPECT_EQ(b.mmapped_chunk_offset(offset_index++), events[i].mmapped_chunk_offset);
      }
    }
    EXPECT_EQ(aux_index, b.aux_size());
    EXPECT_EQ(offset_index, b.mmapped_chunk_offset_size());
  }
}

TEST_F(WireEncoderTest, StackNodesRoundTrip) {
  std::mt19937_64 rng(7);
  const size_t n = 5000;
  const uint64_t first_id = 1 + rng() % 1000;
  std::vector<uint64_t> parents(n), addresses(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t id = first_id + i;
    parents[i] = rng() % 4 == 0 ? 0 : 1 + rng() % (id - 1 ? id - 1 : 1);
    if (parents[i] >= id) parents[i] = 0;
    addresses[i] = rng() % 5 == 0 ? rng() : 0x7f0000000000ull + rng() % 100000000;
  }
  ASSERT_TRUE(AppendStackNodes(first_id, parents.data(), addresses.data(), n, scratch_.data(),
                               scratch_.size(), out_));
  auto records = ParseRecords(out_.data(), out_.size());
  ASSERT_EQ(records.size(), 1u);
  const trace::StackNodes& s = records[0].stack_nodes();
  EXPECT_EQ(s.first_id(), first_id);
  ASSERT_EQ(static_cast<size_t>(s.parent_distance_size()), n);
  ASSERT_EQ(static_cast<size_t>(s.return_address_delta_size()), n);
  uint64_t address = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t id = first_id + i;
    const uint64_t distance = s.parent_distance(i);
    EXPECT_EQ(distance == 0 ? 0 : id - distance, parents[i]);
    address += static_cast<uint64_t>(s.return_address_delta(i));
    EXPECT_EQ(address, addresses[i]);
  }
}

TEST_F(WireEncoderTest, SmallRecordsRoundTrip) {
  ASSERT_TRUE(AppendBarrier(987654321, out_));
  ASSERT_TRUE(AppendModuleUnload(42, out_));
  TrailerInfo trailer{-3, 123456789, 1000, 7};
  ASSERT_TRUE(AppendTrailer(trailer, out_));
  ASSERT_TRUE(AppendProcessEnd(EndHow::kExec, 0, 55, "/bin/true", out_));
  ASSERT_TRUE(AppendProcessEnd(EndHow::kExitImmediate, 3, 56, nullptr, out_));
  auto records = ParseRecords(out_.data(), out_.size());
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].barrier().seq(), 987654321u);
  EXPECT_EQ(records[1].module_unload().module_id(), 42u);
  EXPECT_EQ(records[2].trailer().exit_status(), -3);
  EXPECT_EQ(records[2].trailer().end_time_mono_ns(), 123456789u);
  EXPECT_EQ(records[2].trailer().events(), 1000u);
  EXPECT_EQ(records[2].trailer().lost_events(), 7u);
  EXPECT_EQ(records[3].process_end().how(), trace::ProcessEnd::EXEC);
  EXPECT_EQ(records[3].process_end().detail(), "/bin/true");
  EXPECT_EQ(records[4].process_end().how(), trace::ProcessEnd::EXIT_IMMEDIATE);
  EXPECT_EQ(records[4].process_end().status(), 3);
}

TEST_F(WireEncoderTest, GeometryRecordsRoundTrip) {
  ArenaHeapValues heaps[2] = {{0x7f0000000000, 0x21000, 0x22000, 0x7f0000000020, 0, false},
                              {0x7f0004000000, 0x1000, 0x1000, 0x7f0000000020, 0x7f0000000000, true}};
  SampleValues sample;
  sample.time_ns = 99;
  sample.seq = 1234;
  sample.rss_bytes = 4096 * 300;
  sample.rss_hwm_bytes = 4096 * 400;
  sample.vm_bytes = 1 << 30;
  sample.brk = 0x555555600000;
  sample.mallinfo = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  sample.arena_heaps = heaps;
  sample.arena_heap_count = 2;
  sample.final = true;
  ASSERT_TRUE(AppendSample(sample, out_));
  const char* env[] = {"MALLOC_ARENA_MAX=2", "MALLOC_TRIM_THRESHOLD_=0"};
  ASSERT_TRUE(AppendMallocSettings("glibc.malloc.tcache_count=0", env, 2, 8, out_));
  const uint64_t chunks[] = {0x291, 0x71, 0x70, 0x20c10};
  ASSERT_TRUE(AppendHeapWalk(0x555555554000, 0x555555575000, chunks, 4, true, scratch_.data(),
                             scratch_.size(), out_));
  auto records = ParseRecords(out_.data(), out_.size());
  ASSERT_EQ(records.size(), 3u);
  const trace::Sample& s = records[0].sample();
  EXPECT_EQ(s.time_ns(), 99u);
  EXPECT_EQ(s.seq(), 1234u);
  EXPECT_EQ(s.rss_bytes(), 4096u * 300);
  EXPECT_EQ(s.rss_hwm_bytes(), 4096u * 400);
  EXPECT_EQ(s.brk(), 0x555555600000u);
  EXPECT_EQ(s.mallinfo().arena(), 1u);
  EXPECT_EQ(s.mallinfo().keepcost(), 10u);
  ASSERT_EQ(s.arena_heaps_size(), 2);
  EXPECT_EQ(s.arena_heaps(1).previous(), 0x7f0000000000u);
  EXPECT_TRUE(s.arena_heaps(1).gone());
  EXPECT_TRUE(s.final());
  const trace::MallocSettings& m = records[1].malloc_settings();
  EXPECT_EQ(m.glibc_tunables(), "glibc.malloc.tcache_count=0");
  ASSERT_EQ(m.environment_size(), 2);
  EXPECT_EQ(m.environment(1), "MALLOC_TRIM_THRESHOLD_=0");
  EXPECT_EQ(m.cpu_count(), 8u);
  const trace::HeapWalk& w = records[2].heap_walk();
  EXPECT_EQ(w.heap_start(), 0x555555554000u);
  ASSERT_EQ(w.chunks_size(), 4);
  EXPECT_EQ(w.chunks(3), 0x20c10u);
  EXPECT_TRUE(w.complete());
}

TEST_F(WireEncoderTest, RecordThatDoesNotFitLeavesOutputUnchanged) {
  std::vector<uint8_t> tiny(40);
  wire::Writer small(tiny.data(), tiny.size());
  ASSERT_TRUE(AppendBarrier(1, small));
  const size_t before = small.size();
  std::vector<RawEvent> events(100, RawEvent{op::kMalloc, 0, 1, 1, 0x1000, 10, 1, 0x21, 0, {0, 0, 0}});
  EXPECT_FALSE(AppendEventBatch(BatchInfo{}, events.data(), events.size(), scratch_.data(),
                                scratch_.size(), small));
  EXPECT_EQ(small.size(), before);
  EXPECT_FALSE(small.overflow());
}

}  // namespace
}  // namespace heapgap
