#include "tests/report/trace_builder.h"

#include <fstream>
#include <sstream>

#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"

namespace heapgap::testing {
namespace {

// Aux entries per op, as proto/trace.proto lists them.
int AuxCount(uint32_t op) {
  if (op == 3 || op == 4 || op == 5 || op == 6 || op == 7 || (op >= 14 && op <= 17)) return 1;
  if (op == 67 || op == 69 || op == 70 || op == 72) return 1;
  if (op == 64 || op == 71) return 2;
  if (op == 65 || op == 66 || op == 68 || op == 73) return 3;
  return 0;
}

void Append(const trace::Record& record, std::string* out) {
  std::ostringstream stream;
  google::protobuf::util::SerializeDelimitedToOstream(record, &stream);
  *out += stream.str();
}

}  // namespace

TestEvent Alloc(uint64_t seq, uint64_t address, uint64_t size, uint64_t stack, uint32_t op) {
  TestEvent e;
  e.op = op;
  e.seq = seq;
  e.address = address;
  e.size = size;
  e.stack = stack;
  if (op == kMemalign || op == kNewAligned) e.aux[0] = 16;
  return e;
}

TestEvent Free(uint64_t seq, uint64_t address, uint32_t op) {
  TestEvent e;
  e.op = op;
  e.seq = seq;
  e.address = address;
  return e;
}

std::vector<TestEvent> Realloc(uint64_t seq, uint64_t old_address, uint64_t new_address,
                               uint64_t size, uint64_t stack) {
  std::vector<TestEvent> events;
  if (old_address != 0) events.push_back(Free(seq, old_address, kReallocFree));
  TestEvent grown = Alloc(seq + 1, new_address, size, stack, kRealloc);
  grown.aux[0] = static_cast<int64_t>(old_address);
  events.push_back(grown);
  return events;
}

TraceBuilder::TraceBuilder() {
  header_.set_magic("heapgap-trace");
  header_.set_format_version(1);
  header_.set_heapgap_version("0.1.0");
  header_.set_pid(4242);
  header_.set_parent_pid(4241);
  header_.set_executable("/usr/bin/testprog");
  header_.add_argv("testprog");
  header_.add_argv("--flag");
  header_.set_start_time_mono_ns(kStartMonoNs);
  header_.set_page_size(4096);
  header_.set_stack_depth(64);
}

void TraceBuilder::AddModule(uint32_t id, const std::string& path, uint64_t start, uint64_t size,
                             bool is_heapgap) {
  trace::Record record;
  trace::ModuleLoad* load = record.mutable_module_load();
  load->set_module_id(id);
  load->set_path(path);
  load->set_load_bias(start);
  load->set_is_heapgap(is_heapgap);
  trace::Segment* segment = load->add_segments();
  segment->set_start(start);
  segment->set_size(size);
  segment->set_flags(5);
  Append(record, &body_);
}

void TraceBuilder::UnloadModule(uint32_t id) {
  // Like the tracer, forget interned nodes: later stacks get new ones.
  nodes_.clear();
  trace::Record record;
  record.mutable_module_unload()->set_module_id(id);
  Append(record, &body_);
}

uint64_t TraceBuilder::Stack(const std::vector<uint64_t>& return_addresses) {
  trace::Record record;
  trace::StackNodes* nodes = record.mutable_stack_nodes();
  uint64_t parent = 0;
  uint64_t previous_address = 0;
  // Outermost frame first: parents are written before their children.
  for (auto it = return_addresses.rbegin(); it != return_addresses.rend(); ++it) {
    auto [entry, inserted] = nodes_.try_emplace({parent, *it}, next_node_);
    if (inserted) {
      const uint64_t id = next_node_++;
      if (nodes->parent_distance_size() == 0) nodes->set_first_id(id);
      nodes->add_parent_distance(parent == 0 ? 0 : id - parent);
      nodes->add_return_address_delta(static_cast<int64_t>(*it - previous_address));
      previous_address = *it;
    }
    parent = entry->second;
  }
  if (nodes->parent_distance_size() != 0) Append(record, &body_);
  return parent;
}

void TraceBuilder::Events(uint32_t thread_id, const std::vector<TestEvent>& events,
                          uint64_t lost_events) {
  trace::Record record;
  trace::EventBatch* batch = record.mutable_events();
  batch->set_thread_id(thread_id);
  batch->set_tid(10000 + thread_id);
  batch->set_lost_events(lost_events);
  auto time_of = [](const TestEvent& e) {
    return e.time_ns != 0 ? e.time_ns : kStartMonoNs + 1000 * e.seq;
  };
  if (!events.empty()) {
    batch->set_base_seq(events[0].seq);
    batch->set_base_time_ns(time_of(events[0]));
  }
  uint64_t seq = batch->base_seq(), time = batch->base_time_ns(), address = 0;
  for (const TestEvent& e : events) {
    batch->add_op(e.op);
    batch->add_seq_delta(e.seq - seq);
    batch->add_time_delta(time_of(e) - time);
    batch->add_address_delta(static_cast<int64_t>(e.address - address));
    batch->add_size(e.size);
    batch->add_stack_id(e.stack);
    const uint64_t header = e.chunk_header != 0 ? e.chunk_header
                            : e.size == 0        ? 0
                                                 : ((e.size + 8 + 15) & ~uint64_t{15}) | 1;
    batch->add_chunk_header(header);
    if (header & 2) batch->add_mmapped_chunk_offset(e.mmapped_chunk_offset);
    for (int k = 0; k < AuxCount(e.op); ++k) batch->add_aux(e.aux[k]);
    seq = e.seq;
    time = time_of(e);
    address = e.address;
    last_time_ns_ = std::max(last_time_ns_, time);
  }
  events_written_ += events.size();
  Append(record, &body_);
}

void TraceBuilder::Barrier(uint64_t seq) {
  trace::Record record;
  record.mutable_barrier()->set_seq(seq);
  Append(record, &body_);
}

void TraceBuilder::ProcessEnd(trace::ProcessEnd::How how, int status, const std::string& detail) {
  trace::Record record;
  trace::ProcessEnd* end = record.mutable_process_end();
  end->set_how(how);
  end->set_status(status);
  end->set_time_ns(last_time_ns_ + 500);
  end->set_detail(detail);
  Append(record, &body_);
}

void TraceBuilder::Trailer(int exit_status) {
  trace::Record record;
  trace::Trailer* trailer = record.mutable_trailer();
  trailer->set_exit_status(exit_status);
  trailer->set_end_time_mono_ns(last_time_ns_ + 1000);
  trailer->set_events(events_written_);
  Append(record, &body_);
}

void TraceBuilder::Raw(const trace::Record& record) { Append(record, &body_); }

std::string TraceBuilder::Bytes() const {
  trace::Record record;
  *record.mutable_header() = header_;
  std::string bytes;
  Append(record, &bytes);
  return bytes + body_;
}

std::string TraceBuilder::WriteFile(const std::string& name) const {
  return WriteTempFile(name, Bytes());
}

std::string WriteTempFile(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + "heapgap_report_test_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  EXPECT_TRUE(out) << "cannot write " << path;
  return path;
}

}  // namespace heapgap::testing
