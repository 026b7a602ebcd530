// Writes a synthetic trace of N events and times reading and replaying it
// (best of three runs).
//
//   report_benchmark [EVENTS] [PATH]
//
// Two threads allocate and free in batches of 4096 events with a barrier
// after each pair of batches, the way the tracer flushes; about 100,000 blocks
// stay live, spread over 1,000 stacks. Blocks are 48-byte chunks; freed
// addresses are reused last-in first-out, as glibc's caches hand them out.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/util/delimited_message_util.h"
#include "report/trace_analysis.h"
#include "trace.pb.h"

namespace {

using heapgap::trace::Record;

void Write(const Record& record, std::ofstream& out) {
  google::protobuf::util::SerializeDelimitedToOstream(record, &out);
}

void WriteTrace(const std::string& path, uint64_t events) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  Record record;
  auto* header = record.mutable_header();
  header->set_magic("heapgap-trace");
  header->set_format_version(1);
  header->set_pid(1);
  header->set_executable("/bench");
  header->set_start_time_mono_ns(1);
  Write(record, out);

  record.Clear();
  auto* module = record.mutable_module_load();
  module->set_module_id(1);
  module->set_path("/bench");
  module->set_load_bias(0x400000);
  auto* segment = module->add_segments();
  segment->set_start(0x400000);
  segment->set_size(0x100000);
  Write(record, out);

  constexpr int kStacks = 1000;
  record.Clear();
  auto* nodes = record.mutable_stack_nodes();
  nodes->set_first_id(1);
  nodes->add_parent_distance(0);
  nodes->add_return_address_delta(0x401000);
  for (int i = 0; i < kStacks; ++i) {
    nodes->add_parent_distance(i + 1);  // every leaf's parent is node 1
    nodes->add_return_address_delta(i == 0 ? 0x10 : 0x10);
  }
  Write(record, out);

  constexpr int kBatch = 4096;
  constexpr size_t kLive = 100000;
  std::mt19937_64 random(42);
  std::vector<uint64_t> live[2];
  // Freed addresses, reused last-in first-out as glibc's tcache and fastbins
  // hand them out again.
  std::vector<uint64_t> freed[2];
  uint64_t next_address[2] = {0x10000000, 0x80000000};
  uint64_t seq = 0, time = 1000;
  uint64_t written = 0;
  while (written < events) {
    for (int thread = 0; thread < 2 && written < events; ++thread) {
      record.Clear();
      auto* batch = record.mutable_events();
      batch->set_thread_id(thread + 1);
      batch->set_base_seq(seq);
      batch->set_base_time_ns(time);
      uint64_t previous_address = 0;
      for (int i = 0; i < kBatch && written < events; ++i, ++written) {
        std::vector<uint64_t>& mine = live[thread];
        const bool allocate = mine.size() < kLive / 2 ? random() % 4 != 0 : random() % 2 == 0;
        uint64_t address;
        if (allocate || mine.empty()) {
          if (!freed[thread].empty()) {
            address = freed[thread].back();
            freed[thread].pop_back();
          } else {
            address = next_address[thread] += 48;
          }
          mine.push_back(address);
          batch->add_op(1);
          batch->add_size(16 + random() % 256);
          batch->add_stack_id(2 + random() % kStacks);
        } else {
          const size_t k = random() % mine.size();
          address = mine[k];
          mine[k] = mine.back();
          mine.pop_back();
          freed[thread].push_back(address);
          batch->add_op(32);
          batch->add_size(0);
          batch->add_stack_id(0);
        }
        batch->add_seq_delta(i == 0 ? 0 : 2);  // threads interleave: even/odd
        batch->add_time_delta(10);
        batch->add_address_delta(static_cast<int64_t>(address - previous_address));
        batch->add_chunk_header(0x31);  // 48-byte chunks, the address stride
        previous_address = address;
      }
      Write(record, out);
      seq += 1;
    }
    seq += 2 * kBatch;
    time += 10 * kBatch;
    record.Clear();
    record.mutable_barrier()->set_seq(seq);
    Write(record, out);
  }
  record.Clear();
  record.mutable_trailer()->set_events(events);
  Write(record, out);
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  const std::string path = argc > 2 ? argv[2] : "/tmp/heapgap-benchmark.trace";
  WriteTrace(path, events);
  // The best of three runs: the machine may be shared.
  double seconds = 0;
  absl::StatusOr<std::unique_ptr<heapgap::report::TraceAnalysis>> analysis;
  for (int run = 0; run < 3; ++run) {
    const auto start = std::chrono::steady_clock::now();
    analysis = heapgap::report::AnalyzeTrace(path);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (run == 0 || s < seconds) seconds = s;
    if (!analysis.ok()) {
      std::fprintf(stderr, "%s\n", std::string(analysis.status().message()).c_str());
      return 1;
    }
  }
  const auto& a = **analysis;
  std::printf("%llu events in %.3f s: %.1f M events/s; %llu allocations, %llu live blocks, "
              "peak %llu bytes, at most %llu events buffered, %zu warnings\n",
              static_cast<unsigned long long>(a.events), seconds, a.events / seconds / 1e6,
              static_cast<unsigned long long>(a.replay.totals().allocations),
              static_cast<unsigned long long>(a.replay.live_blocks()),
              static_cast<unsigned long long>(a.replay.peak_bytes()),
              static_cast<unsigned long long>(a.max_buffered_events), a.warnings.size());
  for (const std::string& w : a.warnings) std::printf("warning: %s\n", w.c_str());
  return 0;
}
