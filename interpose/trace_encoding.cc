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
  constexpr int kColumns = 8;
  Writer col[kColumns];
  for (int c = 0; c < kColumns; ++c) col[c] = Writer(scratch + c * n * 10, n * 10);
  Writer& ops = col[0];
  Writer& seqs = col[1];
  Writer& times = col[2];
  Writer& addresses = col[3];
  Writer& sizes = col[4];
  Writer& stacks = col[5];
  Writer& chunks = col[6];
  Writer& aux = col[7];

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
    if (op::HasAux(e.op)) aux.VarintUnchecked(wire::ZigZag(e.aux));
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
      PackedSize(12, aux) + UintFieldSize(13, info.lost_events);
  if (out.remaining() < DelimitedRecordSize(kRecordEvents, message_size)) return false;
  PutRecordPrefix(kRecordEvents, message_size, out);
  out.UintField(1, info.thread_id);
  out.IntField(2, info.tid);
  out.UintField(3, base_seq);
  out.UintField(4, base_time);
  for (int c = 0; c < kColumns; ++c) out.MessageField(5 + c, col[c]);
  out.UintField(13, info.lost_events);
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

}  // namespace heapgap
