#include "interpose/trace_encoding.h"

namespace heapgap {
namespace {

using wire::LengthDelimitedFieldSize;
using wire::Tag;
using wire::VarintSize;
using wire::Writer;

// Size of a Record holding one message of `message_size` bytes, including the
// delimiting length prefix.
size_t DelimitedRecordSize(uint32_t record_field, size_t message_size) {
  const size_t record = LengthDelimitedFieldSize(record_field, message_size);
  return VarintSize(record) + record;
}

void PutRecordPrefix(uint32_t record_field, size_t message_size, Writer& out) {
  out.Varint(LengthDelimitedFieldSize(record_field, message_size));
  out.Varint(Tag(record_field, wire::kLengthDelimited));
  out.Varint(message_size);
}

size_t PackedSize(uint32_t field, const Writer& column) {
  return column.size() == 0 ? 0 : LengthDelimitedFieldSize(field, column.size());
}

size_t UintFieldSize(uint32_t field, uint64_t v) {
  return v == 0 ? 0 : VarintSize(Tag(field, wire::kVarint)) + VarintSize(v);
}

}  // namespace

bool AppendRecord(uint32_t record_field, const Writer& message, Writer& out) {
  if (message.overflow()) return false;
  if (out.remaining() < DelimitedRecordSize(record_field, message.size())) return false;
  PutRecordPrefix(record_field, message.size(), out);
  out.Raw(message.data(), message.size());
  return !out.overflow();
}

bool AppendEventBatch(const BatchInfo& info, const RawEvent* events, size_t n, uint8_t* scratch,
                      size_t scratch_size, Writer& out) {
  if (scratch_size < EventBatchScratchBytes(n)) return false;
  // One scratch region per column; each entry takes at most 10 bytes.
  // Columns 5..12 and 14 of EventBatch. aux holds up to kMaxAux entries per
  // event, the others one.
  constexpr int kColumns = 9;
  Writer col[kColumns];
  uint8_t* region = scratch;
  for (int c = 0; c < kColumns; ++c) {
    const size_t bytes = (c == 7 ? op::kMaxAux : 1) * n * 10;
    col[c] = Writer(region, bytes);
    region += bytes;
  }
  Writer& ops = col[0];
  Writer& seqs = col[1];
  Writer& times = col[2];
  Writer& addresses = col[3];
  Writer& sizes = col[4];
  Writer& stacks = col[5];
  Writer& chunks = col[6];
  Writer& aux = col[7];
  Writer& offsets = col[8];

  const uint64_t base_seq = n ? events[0].seq : 0;
  const uint64_t base_time = n ? events[0].time_ns : 0;
  uint64_t prev_seq = base_seq;
  uint64_t prev_time = base_time;
  uint64_t prev_address = 0;
  // Each column region holds 10 bytes per event, the most a varint takes.
  for (size_t i = 0; i < n; ++i) {
    const RawEvent& e = events[i];
    ops.VarintUnchecked(e.op);
    seqs.VarintUnchecked(e.seq - prev_seq);
    // Times of one thread never go backwards (CLOCK_MONOTONIC read in program
    // order); clamp anyway so a bad clock cannot produce a huge varint.
    times.VarintUnchecked(e.time_ns >= prev_time ? e.time_ns - prev_time : 0);
    addresses.VarintUnchecked(wire::ZigZag(static_cast<int64_t>(e.address - prev_address)));
    sizes.VarintUnchecked(e.size);
    stacks.VarintUnchecked(e.stack_id);
    chunks.VarintUnchecked(e.chunk_header);
    for (int a = 0; a < op::AuxCount(e.op); ++a) aux.VarintUnchecked(wire::ZigZag(e.aux[a]));
    if (e.chunk_header & kChunkMmapped) offsets.VarintUnchecked(e.mmapped_chunk_offset);
    prev_seq = e.seq;
    prev_time = e.time_ns >= prev_time ? e.time_ns : prev_time;
    prev_address = e.address;
  }
  for (const Writer& c : col)
    if (c.overflow()) return false;

  const size_t message_size =
      UintFieldSize(1, info.thread_id) + UintFieldSize(2, static_cast<uint64_t>(info.tid)) +
      UintFieldSize(3, base_seq) + UintFieldSize(4, base_time) + PackedSize(5, ops) +
      PackedSize(6, seqs) + PackedSize(7, times) + PackedSize(8, addresses) +
      PackedSize(9, sizes) + PackedSize(10, stacks) + PackedSize(11, chunks) +
      PackedSize(12, aux) + UintFieldSize(13, info.lost_events) + PackedSize(14, offsets);
  if (out.remaining() < DelimitedRecordSize(kRecordEvents, message_size)) return false;
  PutRecordPrefix(kRecordEvents, message_size, out);
  out.UintField(1, info.thread_id);
  out.IntField(2, info.tid);
  out.UintField(3, base_seq);
  out.UintField(4, base_time);
  for (int c = 0; c < 8; ++c) out.MessageField(5 + c, col[c]);
  out.UintField(13, info.lost_events);
  out.MessageField(14, offsets);
  return !out.overflow();
}

bool AppendStackNodes(uint64_t first_id, const uint64_t* parent_ids, const uint64_t* return_addresses,
                      size_t n, uint8_t* scratch, size_t scratch_size, Writer& out) {
  if (scratch_size < StackNodesScratchBytes(n)) return false;
  Writer parents(scratch, n * 10);
  Writer addresses(scratch + n * 10, n * 10);
  uint64_t prev_address = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t id = first_id + i;
    parents.Varint(parent_ids[i] == 0 ? 0 : id - parent_ids[i]);
    addresses.Varint(wire::ZigZag(static_cast<int64_t>(return_addresses[i] - prev_address)));
    prev_address = return_addresses[i];
  }
  if (parents.overflow() || addresses.overflow()) return false;
  const size_t message_size =
      UintFieldSize(1, first_id) + PackedSize(2, parents) + PackedSize(3, addresses);
  if (out.remaining() < DelimitedRecordSize(kRecordStackNodes, message_size)) return false;
  PutRecordPrefix(kRecordStackNodes, message_size, out);
  out.UintField(1, first_id);
  out.MessageField(2, parents);
  out.MessageField(3, addresses);
  return !out.overflow();
}

bool AppendBarrier(uint64_t seq, Writer& out) {
  uint8_t buf[16];
  Writer m(buf, sizeof buf);
  m.UintField(1, seq);
  return AppendRecord(kRecordBarrier, m, out);
}

bool AppendModuleUnload(uint32_t module_id, Writer& out) {
  uint8_t buf[16];
  Writer m(buf, sizeof buf);
  m.UintField(1, module_id);
  return AppendRecord(kRecordModuleUnload, m, out);
}

bool AppendTrailer(const TrailerInfo& info, Writer& out) {
  uint8_t buf[64];
  Writer m(buf, sizeof buf);
  m.IntField(1, info.exit_status);
  m.UintField(2, info.end_time_mono_ns);
  m.UintField(3, info.events);
  m.UintField(4, info.lost_events);
  return AppendRecord(kRecordTrailer, m, out);
}

bool AppendProcessEnd(EndHow how, int32_t status, uint64_t time_ns, const char* detail,
                      Writer& out) {
  uint8_t buf[4200];
  Writer m(buf, sizeof buf);
  m.UintField(1, static_cast<uint32_t>(how));
  m.IntField(2, status);
  m.UintField(3, time_ns);
  if (detail) {
    size_t len = strlen(detail);
    if (len > 4096) len = 4096;
    m.BytesField(4, detail, len);
  }
  return AppendRecord(kRecordProcessEnd, m, out);
}

bool AppendSample(const SampleValues& v, Writer& out) {
  uint8_t info_buf[128];
  Writer info(info_buf, sizeof info_buf);
  const MallocInfoValues& m = v.mallinfo;
  info.UintField(1, m.arena);
  info.UintField(2, m.ordblks);
  info.UintField(3, m.smblks);
  info.UintField(4, m.hblks);
  info.UintField(5, m.hblkhd);
  info.UintField(6, m.usmblks);
  info.UintField(7, m.fsmblks);
  info.UintField(8, m.uordblks);
  info.UintField(9, m.fordblks);
  info.UintField(10, m.keepcost);
  // A sample lists at most this many arena heaps (glibc allows 8 per CPU,
  // each with a few heaps).
  constexpr size_t kMaxHeaps = 256;
  uint8_t sample_buf[256 + kMaxHeaps * 64];
  Writer sample(sample_buf, sizeof sample_buf);
  sample.UintField(1, v.time_ns);
  sample.UintField(2, v.seq);
  sample.UintField(3, v.rss_bytes);
  sample.UintField(4, v.rss_hwm_bytes);
  sample.UintField(5, v.vm_bytes);
  sample.UintField(6, v.brk);
  sample.RequiredMessageField(7, info);
  for (size_t i = 0; i < v.arena_heap_count && i < kMaxHeaps; ++i) {
    const ArenaHeapValues& h = v.arena_heaps[i];
    uint8_t heap_buf[64];
    Writer heap(heap_buf, sizeof heap_buf);
    heap.UintField(1, h.start);
    heap.UintField(2, h.size);
    heap.UintField(3, h.mprotect_size);
    heap.UintField(4, h.arena);
    heap.UintField(5, h.previous);
    heap.BoolField(6, h.gone);
    sample.RequiredMessageField(8, heap);
  }
  sample.BoolField(9, v.final);
  return AppendRecord(kRecordSample, sample, out);
}

bool AppendMallocSettings(const char* glibc_tunables, const char* const* environment,
                          size_t environment_count, uint32_t cpu_count, Writer& out) {
  uint8_t buf[16 * 1024];
  Writer m(buf, sizeof buf);
  m.StringField(1, glibc_tunables);
  for (size_t i = 0; i < environment_count; ++i) m.StringField(2, environment[i]);
  m.UintField(3, cpu_count);
  return AppendRecord(kRecordMallocSettings, m, out);
}

bool AppendHeapWalk(uint64_t heap_start, uint64_t brk, const uint64_t* chunks, size_t n,
                    bool complete, uint8_t* scratch, size_t scratch_size, Writer& out) {
  if (scratch_size < n * 10) return false;
  Writer column(scratch, n * 10);
  for (size_t i = 0; i < n; ++i) column.VarintUnchecked(chunks[i]);
  const size_t message_size = UintFieldSize(1, heap_start) + UintFieldSize(2, brk) +
                              PackedSize(3, column) + UintFieldSize(4, complete ? 1 : 0);
  if (out.remaining() < DelimitedRecordSize(kRecordHeapWalk, message_size)) return false;
  PutRecordPrefix(kRecordHeapWalk, message_size, out);
  out.UintField(1, heap_start);
  out.UintField(2, brk);
  out.MessageField(3, column);
  out.BoolField(4, complete);
  return !out.overflow();
}

}  // namespace heapgap
