// Writes synthetic traces with the generated protobuf classes, for tests.
#ifndef HEAPGAP_TESTS_REPORT_TRACE_BUILDER_H_
#define HEAPGAP_TESTS_REPORT_TRACE_BUILDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "trace.pb.h"

namespace heapgap::testing {

// Op numbers from proto/trace.proto.
enum : uint32_t {
  kMalloc = 1, kCalloc = 2, kRealloc = 3, kMemalign = 5, kNew = 10, kNewArray = 11,
  kNewAligned = 14, kFree = 32, kReallocFree = 33, kDelete = 35, kDeleteArray = 36,
  kDeleteSized = 37, kBreakMove = 64, kMmap = 66, kMunmap = 67, kThreadExit = 75,
};

// One event as a test writes it; as many aux entries are written as the op
// defines.
struct TestEvent {
  uint32_t op = 0;
  uint64_t seq = 0;
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t stack = 0;
  int64_t aux[3] = {};
  uint64_t time_ns = 0;        // 0: derived from seq
  uint64_t chunk_header = 0;   // 0: derived from size
  uint64_t mmapped_chunk_offset = 0;
};

TestEvent Alloc(uint64_t seq, uint64_t address, uint64_t size, uint64_t stack,
                uint32_t op = kMalloc);
TestEvent Free(uint64_t seq, uint64_t address, uint32_t op = kFree);
// realloc(old, size) that moved (or kept) the block: two events.
std::vector<TestEvent> Realloc(uint64_t seq, uint64_t old_address, uint64_t new_address,
                               uint64_t size, uint64_t stack);

class TraceBuilder {
 public:
  static constexpr uint64_t kStartMonoNs = 1'000'000'000;

  TraceBuilder();

  trace::Header& header() { return header_; }

  // A module with one executable segment [start, start + size).
  void AddModule(uint32_t id, const std::string& path, uint64_t start, uint64_t size,
                 bool is_heapgap = false);
  void UnloadModule(uint32_t id);

  // Interns a stack (return addresses, innermost first) and writes the nodes
  // not written before; returns the innermost node id.
  uint64_t Stack(const std::vector<uint64_t>& return_addresses);

  // One EventBatch of thread `thread_id`.
  void Events(uint32_t thread_id, const std::vector<TestEvent>& events, uint64_t lost_events = 0);
  void Barrier(uint64_t seq);
  void ProcessEnd(trace::ProcessEnd::How how, int status = 0, const std::string& detail = "");
  void Trailer(int exit_status = 0);
  void Raw(const trace::Record& record);

  // The file's bytes: the header first (written lazily, so tests can edit
  // it), then the records in the order added.
  std::string Bytes() const;
  // Writes Bytes() to a fresh file under the test's temporary directory.
  std::string WriteFile(const std::string& name) const;

  uint64_t events_written() const { return events_written_; }
  uint64_t last_time_ns() const { return last_time_ns_; }

 private:
  trace::Header header_;
  std::string body_;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> nodes_;  // (parent, address) -> id
  uint64_t next_node_ = 1;
  uint64_t events_written_ = 0;
  uint64_t last_time_ns_ = 0;
};

// Writes `bytes` to a fresh file under the test's temporary directory.
std::string WriteTempFile(const std::string& name, const std::string& bytes);

}  // namespace heapgap::testing

#endif  // HEAPGAP_TESTS_REPORT_TRACE_BUILDER_H_
