// What the HTML view shows beyond the JSON report: a call tree of every
// allocation stack with its measures (for flame graphs), the heap over time,
// and the heap's chunks laid out by address at the peak and at the end.
//
// Everything is bounded whatever the length of the trace: the timeline has a
// fixed number of buckets, the call tree and the chunk lists are cut to
// limits, and the cuts are noted in the data. The schema is in
// docs/VIEWER.md.
#ifndef HEAPGAP_REPORT_VIEW_DATA_H_
#define HEAPGAP_REPORT_VIEW_DATA_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "report/stack_symbolizer.h"
#include "report/trace_analysis.h"

namespace heapgap::report {

struct ViewOptions {
  size_t max_tree_nodes = 200000;  // call tree nodes kept
  size_t max_chunks = 200000;      // chunks listed per heap map instant
  size_t timeline_buckets = 2048;  // at most; the width doubles to fit
};

// A series of values over time, downsampled into buckets of equal width that
// double (merging neighbours) when the series outgrows them. Each bucket
// keeps the smallest, largest and latest value of each channel.
class Timeline {
 public:
  enum Channel { kLive, kLiveBlocks, kHeapBreak, kMmapped, kArenas, kRss, kChannelCount };

  explicit Timeline(size_t buckets);

  void Add(Channel channel, uint64_t time_ns, uint64_t value);

  struct Cell {
    uint64_t min = 0;
    uint64_t max = 0;
    uint64_t last = 0;
    uint64_t last_time = 0;
    bool set = false;
  };
  using Bucket = std::array<Cell, kChannelCount>;

  bool empty() const { return !started_; }
  uint64_t base_ns() const { return base_ns_; }  // time of bucket 0's start
  uint64_t width_ns() const { return width_ns_; }
  // Buckets up to the last one that holds a value.
  size_t used() const { return used_; }
  const Bucket& bucket(size_t i) const { return buckets_[i]; }

 private:
  void Widen();

  std::vector<Bucket> buckets_;
  bool started_ = false;
  uint64_t base_ns_ = 0;
  uint64_t width_ns_ = 1000;
  size_t used_ = 0;
};

// Watches AnalyzeTrace for what the view needs and the analysis does not
// keep: the timeline, and the live chunks with their extents at the peak of
// the live heap and at the end.
class ViewCollector : public AnalysisObserver {
 public:
  explicit ViewCollector(const ViewOptions& options = {});

  void OnRecord(const trace::Record& record, uint64_t bytes_read) override;
  void OnEvent(const Event& event, const HeapReplay& replay) override;

  // A live block as the heap holds it.
  struct Chunk {
    uint64_t address = 0;      // the pointer the program got
    uint64_t size = 0;         // bytes requested
    uint64_t chunk_start = 0;  // glibc's chunk (or the mmapped chunk's mapping)
    uint64_t chunk_bytes = 0;
    uint64_t time_ns = 0;      // CLOCK_MONOTONIC of the allocation
    uint64_t stack_id = 0;
    uint64_t seq = 0;
    bool mmapped = false;
  };
  struct ArenaHeap {
    uint64_t size = 0;   // bytes in use (heap_info.size)
    uint64_t arena = 0;  // its malloc_state
  };
  // The heap at one instant.
  struct HeapState {
    uint64_t time_ns = 0;  // CLOCK_MONOTONIC
    uint64_t brk = 0;      // 0: not seen
    absl::flat_hash_map<uint64_t, ArenaHeap> arena_heaps;  // by start
    std::vector<Chunk> chunks;                             // any order
  };

  const Timeline& timeline() const { return timeline_; }
  // Call after AnalyzeTrace returned.
  HeapState PeakState() const;
  HeapState EndState() const;
  uint64_t rss_hwm_bytes() const { return rss_hwm_; }
  uint64_t samples() const { return samples_; }

 private:
  void Allocated(const Event& e);
  void Released(const Event& e);
  // `chunk` leaves the live set: keep it if it was live at the peak.
  void Forget(const Chunk& chunk);

  Timeline timeline_;
  absl::flat_hash_map<uint64_t, Chunk> live_;
  uint64_t mmapped_bytes_ = 0;
  uint64_t brk_ = 0;
  uint64_t last_time_ns_ = 0;
  absl::flat_hash_map<uint64_t, ArenaHeap> arena_heaps_;
  uint64_t rss_hwm_ = 0;
  uint64_t samples_ = 0;

  // The peak of the live heap: chunks allocated up to peak_seq_ and still
  // live, plus those released since (the journal).
  uint64_t peak_bytes_seen_ = 0;
  bool peak_seen_ = false;
  uint64_t peak_seq_ = 0;
  uint64_t peak_time_ns_ = 0;
  uint64_t peak_brk_ = 0;
  absl::flat_hash_map<uint64_t, ArenaHeap> peak_arena_heaps_;
  std::vector<Chunk> released_since_peak_;
};

// The view's data for one trace as compact JSON: call tree, timeline and
// heap maps. `collector` watched the AnalyzeTrace that made `analysis`.
std::string ViewDataJson(const TraceAnalysis& analysis, const ViewCollector& collector,
                         const ViewOptions& options, StackSymbolizer& symbolizer);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_VIEW_DATA_H_
