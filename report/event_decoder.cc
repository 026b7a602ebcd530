#include "report/event_decoder.h"

#include "absl/strings/str_cat.h"
#include "report/op.h"

namespace heapgap::report {

bool DecodeEventBatch(const trace::EventBatch& batch, std::vector<Event>* out, std::string* error) {
  const int n = batch.op_size();
  auto column_ok = [&](int size, const char* name) {
    if (size == n) return true;
    *error = absl::StrCat("event batch column ", name, " has ", size, " entries for ", n, " ops");
    return false;
  };
  if (!column_ok(batch.seq_delta_size(), "seq_delta") ||
      !column_ok(batch.time_delta_size(), "time_delta") ||
      !column_ok(batch.address_delta_size(), "address_delta") ||
      !column_ok(batch.size_size(), "size") || !column_ok(batch.stack_id_size(), "stack_id")) {
    return false;
  }
  // chunk_header is 0 when unknown; a writer that never knows it may leave the
  // column out entirely.
  const bool has_chunk_headers = batch.chunk_header_size() != 0;
  if (has_chunk_headers && !column_ok(batch.chunk_header_size(), "chunk_header")) return false;

  int aux_needed = 0;
  bool unknown_ops = false;
  for (uint32_t op : batch.op()) {
    const OpKind kind = ClassifyOp(op);
    if (kind == OpKind::kInvalid) {
      *error = absl::StrCat("event batch has op ", op, ", which no writer produces");
      return false;
    }
    unknown_ops |= kind == OpKind::kUnknown;
    aux_needed += OpAuxCount(op);
  }
  if (batch.aux_size() != aux_needed) {
    *error = absl::StrCat("event batch has ", batch.aux_size(), " aux entries, its ops need ",
                          aux_needed,
                          unknown_ops ? " (it has ops this heapgap does not know; a newer heapgap "
                                        "may read it)"
                                      : "");
    return false;
  }
  int offsets_needed = 0;
  for (uint64_t header : batch.chunk_header()) offsets_needed += (header & kChunkMmapped) != 0;
  if (batch.mmapped_chunk_offset_size() != offsets_needed) {
    *error = absl::StrCat("event batch has ", batch.mmapped_chunk_offset_size(),
                          " mmapped chunk offsets for ", offsets_needed, " mmapped chunks");
    return false;
  }

  const size_t first = out->size();
  out->resize(first + n);
  Event* events = out->data() + first;
  const uint32_t* ops = batch.op().data();
  const uint64_t* seq_deltas = batch.seq_delta().data();
  const uint64_t* time_deltas = batch.time_delta().data();
  const int64_t* address_deltas = batch.address_delta().data();
  const uint64_t* sizes = batch.size().data();
  const uint64_t* stack_ids = batch.stack_id().data();
  const uint64_t* chunk_headers = batch.chunk_header().data();
  const int64_t* aux = batch.aux().data();
  const uint64_t* mmapped_offsets = batch.mmapped_chunk_offset().data();
  uint64_t seq = batch.base_seq();
  uint64_t time = batch.base_time_ns();
  uint64_t address = 0;
  const uint32_t thread_id = batch.thread_id();
  for (int i = 0; i < n; ++i) {
    Event& e = events[i];
    seq += seq_deltas[i];
    time += time_deltas[i];
    address += static_cast<uint64_t>(address_deltas[i]);
    e.seq = seq;
    e.time_ns = time;
    e.address = address;
    e.size = sizes[i];
    e.stack_id = stack_ids[i];
    e.chunk_header = has_chunk_headers ? chunk_headers[i] : 0;
    e.mmapped_chunk_offset = (e.chunk_header & kChunkMmapped) != 0 ? *mmapped_offsets++ : 0;
    e.op = ops[i];
    const int aux_count = OpAuxCount(ops[i]);
    for (int k = 0; k < kMaxAux; ++k) e.aux[k] = k < aux_count ? *aux++ : 0;
    e.thread_id = thread_id;
  }
  return true;
}

}  // namespace heapgap::report
