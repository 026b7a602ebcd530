// Decoding EventBatch columns, including the address-space ops and the
// columns that only some events use.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "report/event_decoder.h"
#include "tests/report/test_support.h"

namespace heapgap::testing {
namespace {

struct Column {
  uint32_t op;
  uint64_t seq_delta, time_delta;
  int64_t address_delta;
  uint64_t size, stack, chunk_header;
};

trace::EventBatch Batch(const std::vector<Column>& columns) {
  trace::EventBatch batch;
  batch.set_thread_id(3);
  batch.set_base_seq(100);
  batch.set_base_time_ns(5000);
  for (const Column& c : columns) {
    batch.add_op(c.op);
    batch.add_seq_delta(c.seq_delta);
    batch.add_time_delta(c.time_delta);
    batch.add_address_delta(c.address_delta);
    batch.add_size(c.size);
    batch.add_stack_id(c.stack);
    batch.add_chunk_header(c.chunk_header);
  }
  return batch;
}

TEST(EventDecoderTest, DeltasAuxAndMmappedOffsetsLandOnTheirEvents) {
  trace::EventBatch batch = Batch({
      {kMemalign, 0, 10, 0x10000, 4096, 7, 0x2002},  // mmapped chunk
      {kBreakMove, 3, 5, 0x5000, 0, 0, 0},
      {kMmap, 1, 1, -0x3000, 8192, 2, 0},
      {kFree, 2, 4, 0x10000 - 0x12000, 0, 0, 0x2002},  // mmapped again
      {kThreadExit, 1, 1, -0x10000, 0, 0, 0},
  });
  for (int64_t aux : {64, 0x500000, 17, 3, 1 << 8, -1}) batch.add_aux(aux);
  batch.add_mmapped_chunk_offset(48);
  batch.add_mmapped_chunk_offset(16);
  std::vector<report::Event> events;
  std::string error;
  ASSERT_TRUE(report::DecodeEventBatch(batch, &events, &error)) << error;
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].seq, 100u);
  EXPECT_EQ(events[0].time_ns, 5010u);
  EXPECT_EQ(events[0].address, 0x10000u);
  EXPECT_EQ(events[0].aux[0], 64);
  EXPECT_EQ(events[0].aux[1], 0);
  EXPECT_EQ(events[0].mmapped_chunk_offset, 48u);
  EXPECT_EQ(events[0].thread_id, 3u);
  EXPECT_EQ(events[1].seq, 103u);
  EXPECT_EQ(events[1].address, 0x15000u);
  EXPECT_EQ(events[1].aux[0], 0x500000);
  EXPECT_EQ(events[1].aux[1], 17);
  EXPECT_EQ(events[2].address, 0x12000u);
  EXPECT_EQ(events[2].aux[0], 3);
  EXPECT_EQ(events[2].aux[1], 256);
  EXPECT_EQ(events[2].aux[2], -1);
  EXPECT_EQ(events[3].address, 0x10000u);
  EXPECT_EQ(events[3].mmapped_chunk_offset, 16u);
  EXPECT_EQ(events[3].time_ns, 5020u);
  EXPECT_EQ(events[4].seq, 107u);
  EXPECT_EQ(events[4].address, 0u);
}

TEST(EventDecoderTest, InconsistentColumnsAreRejected) {
  std::vector<report::Event> events;
  std::string error;
  trace::EventBatch missing_offset = Batch({{kMalloc, 0, 0, 0x1000, 200000, 0, 0x31002}});
  EXPECT_FALSE(report::DecodeEventBatch(missing_offset, &events, &error));
  EXPECT_TRUE(absl::StrContains(error, "0 mmapped chunk offsets for 1")) << error;

  trace::EventBatch short_aux = Batch({{kMmap, 0, 0, 0x1000, 4096, 0, 0}});
  short_aux.add_aux(1);
  EXPECT_FALSE(report::DecodeEventBatch(short_aux, &events, &error));
  EXPECT_TRUE(absl::StrContains(error, "1 aux entries, its ops need 3")) << error;

  trace::EventBatch unknown_with_aux = Batch({{90, 0, 0, 0, 0, 0, 0}});
  unknown_with_aux.add_aux(1);
  EXPECT_FALSE(report::DecodeEventBatch(unknown_with_aux, &events, &error));
  EXPECT_TRUE(absl::StrContains(error, "newer heapgap")) << error;
  EXPECT_TRUE(events.empty());
}

TEST(EventDecoderTest, AddressSpaceEventsAreNotHeapEvents) {
  TraceBuilder b;
  TestEvent mmap = Alloc(2, 0x7000000, 8192, 0, kMmap);
  TestEvent brk = Alloc(3, 0x900000, 0, 0, kBreakMove);
  brk.aux[0] = 0x800000;
  TestEvent munmap = Free(5, 0x7000000, kMunmap);
  b.Events(1, {Alloc(1, 0x1000, 10, 0), mmap, brk, Free(4, 0x1000), munmap,
               Free(6, 0x7000000, kThreadExit)});
  b.Events(2, {Alloc(7, 0x2000, 5, 0), Free(8, 0, /*op=*/90)});  // an op from a newer writer
  auto a = Analyze(b, "address-space");
  ASSERT_TRUE(a);
  const report::HeapTotals& t = a->replay.totals();
  EXPECT_EQ(t.allocations, 2);
  EXPECT_EQ(t.frees, 1);
  EXPECT_EQ(t.bytes_allocated, 15);
  EXPECT_EQ(t.unknown_frees, 0);
  EXPECT_EQ(t.temporary_allocations, 1);  // mmap and the break move do not count
  EXPECT_EQ(t.unknown_ops, 1);
  EXPECT_EQ(a->replay.live_bytes(), 5);
  ASSERT_EQ(a->warnings.size(), 2u);  // truncated; the unknown op
  EXPECT_TRUE(absl::StrContains(a->warnings[1], "does not know")) << a->warnings[1];
}

}  // namespace
}  // namespace heapgap::testing
