// The leak scan a traced process wrote at its clean exit (trace::LeakScan):
// a verdict per block live at the scan, applied to the heap replay at the
// scan's place in the event order.
#ifndef HEAPGAP_REPORT_LEAK_SCAN_H_
#define HEAPGAP_REPORT_LEAK_SCAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/event.h"
#include "report/heap_replay.h"
#include "trace.pb.h"

namespace heapgap::report {

// What a report says about the scan besides the verdicts.
struct LeakScanFacts {
  uint64_t seq = 0;                   // covers blocks allocated by events before seq
  uint64_t time_ns = 0;               // CLOCK_MONOTONIC
  uint64_t blocks = 0;                // verdicts in the record
  uint32_t threads_scanned = 0;
  uint32_t threads_not_stopped = 0;   // stack scanned without registers
  uint64_t root_bytes = 0;
  bool anonymous_mappings_are_roots = false;
  std::vector<std::string> notes;     // the tracer's remarks
  uint64_t blocks_not_live = 0;       // verdicts for addresses the replay did not hold
  uint64_t unknown_kinds = 0;         // verdicts of kinds this reader does not know
};

// Holds a LeakScan record until the replay reaches its sequence number, then
// gives the replay's live blocks their verdicts.
class LeakScanApplier {
 public:
  // Takes a scan record (a later one replaces an earlier one not yet
  // applied). False with `error` set when its columns disagree.
  bool Take(const trace::LeakScan& scan, std::string* error);

  // Call before the replay applies each event, in the restored order.
  void BeforeEvent(const Event& event, HeapReplay& replay) {
    if (pending_ && event.seq >= facts_->seq) Apply(replay);
  }
  // Call after the last event, before HeapReplay::Finish().
  void Finish(HeapReplay& replay) {
    if (pending_) Apply(replay);
  }

  // The scan's facts; nullopt when the trace held no scan.
  const std::optional<LeakScanFacts>& facts() const { return facts_; }

 private:
  void Apply(HeapReplay& replay);

  bool pending_ = false;
  std::optional<LeakScanFacts> facts_;
  std::vector<uint64_t> addresses_;
  std::vector<uint8_t> kinds_;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_LEAK_SCAN_H_
