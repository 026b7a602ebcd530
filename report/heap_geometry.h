// The heap geometry of a whole trace: drives the heap model with the events
// in their global order and the periodic samples in their place among them,
// and keeps the moments that matter (peak footprint, worst holes, the end),
// a downsampled time series for viewers, and the checks of the model against
// glibc's own view at exit (the heap walk and mallinfo2).
//
// Work per event: the model's, plus O(1) here except at a new maximum of
// footprint or holes, where the figures of every arena are taken.
#ifndef HEAPGAP_REPORT_HEAP_GEOMETRY_H_
#define HEAPGAP_REPORT_HEAP_GEOMETRY_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "report/event.h"
#include "report/heap_model.h"
#include "trace.pb.h"

namespace heapgap::report {

// The geometry at one instant.
struct HeapMoment {
  bool valid = false;
  uint64_t time_ns = 0;     // CLOCK_MONOTONIC
  uint64_t seq = 0;
  uint64_t footprint_bytes = 0;  // brk extent + thread arena heaps + mmapped blocks
  uint64_t hole_bytes = 0;       // all heaps
  uint64_t live_bytes = 0;       // requested, all heaps and mmapped blocks
  uint64_t mmapped_bytes = 0;
  uint64_t mmapped_blocks = 0;
  HeapFigures main;
  std::vector<HeapFigures> arenas;  // thread arenas by address
};

struct TimelinePoint {
  uint64_t time_ns = 0;
  uint64_t brk_extent_bytes = 0;
  std::vector<uint64_t> arena_extent_bytes;  // thread arenas, in order of first appearance
  uint64_t mmapped_bytes = 0;
  uint64_t live_bytes = 0;
  uint64_t hole_bytes = 0;
  uint64_t footprint_bytes = 0;
};

struct RssPoint {
  uint64_t time_ns = 0;
  uint64_t rss_bytes = 0;
  uint64_t rss_hwm_bytes = 0;
};

struct HeapGeometryResult {
  bool has_chunk_headers = false;  // the trace records chunk headers at all
  HeapMoment end;
  HeapMoment at_peak_footprint;
  HeapMoment at_worst_holes;
  uint64_t rss_hwm_bytes = 0;      // the largest VmHWM of any sample
  uint64_t samples = 0;
  // At most kMaxTimelinePoints points each.
  std::vector<TimelinePoint> timeline;
  std::vector<uint64_t> timeline_arenas;  // first heap address of each thread arena column
  std::vector<RssPoint> rss;
  MallocParams initial_params;
  MallocParams final_params;
  std::vector<std::string> settings_applied;  // from the environment and GLIBC_TUNABLES
  std::vector<ThresholdChange> threshold_changes;
  std::vector<AllocatorCall> allocator_calls;
  ModelCounters counters;
  uint64_t mmapped_allocations = 0;
  HeapWalkCheck walk;
  std::optional<trace::MallocInfo> final_mallinfo;  // the final sample's
  PredictedMallinfo predicted_mallinfo;
  // RSS the final sample saw: compare with what the model says is resident at most.
  uint64_t final_rss_bytes = 0;
};

class HeapGeometry {
 public:
  static constexpr size_t kMaxTimelinePoints = 2000;
  static constexpr size_t kMaxPinners = PinningChain::kMaxPinners;

  HeapGeometry();
  ~HeapGeometry();
  HeapGeometry(HeapGeometry&&);
  HeapGeometry& operator=(HeapGeometry&&);

  // Before anything else: the heap's start and the page size.
  void Start(const trace::Header& header);
  void SetMallocSettings(const trace::MallocSettings& settings);
  // A sample describes the state after every event with a lower sequence
  // number; it is applied once those are (see ReleaseSamplesThrough).
  void AddSample(const trace::Sample& sample);
  // Every event below `barrier` has been applied.
  void ReleaseSamplesThrough(uint64_t barrier);
  void Apply(const Event& event);
  void SetHeapWalk(const trace::HeapWalk& walk);
  // After the last event; `end_time_ns` is when the trace ends.
  void Finish(uint64_t end_time_ns);

  const HeapGeometryResult& result() const { return result_; }
  const HeapModel* model() const { return model_.get(); }

 private:
  void ApplySample(const trace::Sample& sample);
  void Snapshot(HeapMoment& moment, uint64_t time_ns, uint64_t seq);
  void AddTimelinePoint(uint64_t time_ns);

  std::unique_ptr<HeapModel> model_;
  HeapGeometryResult result_;
  std::deque<trace::Sample> samples_;
  std::optional<trace::HeapWalk> walk_;
  std::vector<uint64_t> arena_columns_;  // thread arena extents' order in timeline points
  uint64_t max_footprint_ = 0;
  uint64_t max_holes_ = 0;
  uint64_t timeline_interval_ns_ = 100'000;
  uint64_t next_point_ns_ = 0;
  uint64_t rss_interval_ns_ = 0;
  uint64_t last_time_ns_ = 0;
  uint64_t last_seq_ = 0;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_HEAP_GEOMETRY_H_
