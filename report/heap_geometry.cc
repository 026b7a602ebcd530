#include "report/heap_geometry.h"

#include <algorithm>
#include <utility>

namespace heapgap::report {
namespace {

// Keeps every other element (the first, third, ...) of `points`.
template <typename T>
void HalveResolution(std::vector<T>& points) {
  size_t kept = 0;
  for (size_t i = 0; i < points.size(); i += 2) points[kept++] = std::move(points[i]);
  points.resize(kept);
}

}  // namespace

HeapGeometry::HeapGeometry() : model_(std::make_unique<HeapModel>(HeapModel::Config{})) {}
HeapGeometry::~HeapGeometry() = default;
HeapGeometry::HeapGeometry(HeapGeometry&&) = default;
HeapGeometry& HeapGeometry::operator=(HeapGeometry&&) = default;

void HeapGeometry::Start(const trace::Header& header) {
  HeapModel::Config config;
  config.heap_start = header.heap_start();
  config.page_size = header.page_size() != 0 ? header.page_size() : 4096;
  config.forked = header.forked();
  model_ = std::make_unique<HeapModel>(config);
  result_ = HeapGeometryResult();
  result_.initial_params = model_->params();
}

void HeapGeometry::SetMallocSettings(const trace::MallocSettings& settings) {
  model_->SetMallocSettings(settings);
  result_.initial_params = model_->params();
  result_.settings_applied = model_->settings_applied();
}

void HeapGeometry::AddSample(const trace::Sample& sample) {
  // Samples are written in order; a late one (out of order) goes first.
  if (sample.seq() <= last_seq_) {
    ApplySample(sample);
    return;
  }
  samples_.push_back(sample);
}

void HeapGeometry::ReleaseSamplesThrough(uint64_t barrier) {
  while (!samples_.empty() && samples_.front().seq() <= barrier) {
    ApplySample(samples_.front());
    samples_.pop_front();
  }
}

void HeapGeometry::ApplySample(const trace::Sample& sample) {
  ++result_.samples;
  result_.rss_hwm_bytes = std::max(result_.rss_hwm_bytes, sample.rss_hwm_bytes());
  for (const trace::ArenaHeapState& heap : sample.arena_heaps()) model_->CorrectArenaHeap(heap);
  if (sample.final()) {
    result_.final_mallinfo = sample.mallinfo();
    result_.final_rss_bytes = sample.rss_bytes();
  }
  result_.rss.push_back(RssPoint{sample.time_ns(), sample.rss_bytes(), sample.rss_hwm_bytes()});
  if (result_.rss.size() > kMaxTimelinePoints) HalveResolution(result_.rss);
}

void HeapGeometry::Apply(const Event& e) {
  while (!samples_.empty() && samples_.front().seq() <= e.seq) {
    ApplySample(samples_.front());
    samples_.pop_front();
  }
  model_->Apply(e);
  last_time_ns_ = e.time_ns;
  last_seq_ = e.seq;
  if (e.chunk_header != 0) result_.has_chunk_headers = true;
  const uint64_t footprint = model_->footprint_bytes();
  if (footprint > max_footprint_) {
    max_footprint_ = footprint;
    Snapshot(result_.at_peak_footprint, e.time_ns, e.seq);
  }
  const uint64_t holes = model_->hole_bytes();
  if (holes > max_holes_) {
    max_holes_ = holes;
    Snapshot(result_.at_worst_holes, e.time_ns, e.seq);
  }
  if (e.time_ns >= next_point_ns_) AddTimelinePoint(e.time_ns);
}

void HeapGeometry::Snapshot(HeapMoment& moment, uint64_t time_ns, uint64_t seq) {
  moment.valid = true;
  moment.time_ns = time_ns;
  moment.seq = seq;
  moment.footprint_bytes = model_->footprint_bytes();
  moment.hole_bytes = model_->hole_bytes();
  moment.live_bytes = model_->live_requested();
  moment.mmapped_bytes = model_->mmapped_bytes();
  moment.mmapped_blocks = model_->mmapped_blocks();
  moment.main = model_->MainFigures(kMaxPinners);
  if (model_->arena_count() != 0 || !moment.arenas.empty()) {
    moment.arenas = model_->ThreadArenaFigures(kMaxPinners);
  }
}

void HeapGeometry::AddTimelinePoint(uint64_t time_ns) {
  TimelinePoint point;
  point.time_ns = time_ns;
  point.brk_extent_bytes = model_->brk_extent();
  point.mmapped_bytes = model_->mmapped_bytes();
  point.live_bytes = model_->live_requested();
  point.hole_bytes = model_->hole_bytes();
  point.footprint_bytes = model_->footprint_bytes();
  if (model_->arena_count() != 0) {
    for (const auto& [key, extent] : model_->ThreadArenaExtents()) {
      auto column = std::find(arena_columns_.begin(), arena_columns_.end(), key);
      if (column == arena_columns_.end()) {
        arena_columns_.push_back(key);
        column = arena_columns_.end() - 1;
      }
      const size_t index = static_cast<size_t>(column - arena_columns_.begin());
      if (point.arena_extent_bytes.size() <= index) point.arena_extent_bytes.resize(index + 1);
      point.arena_extent_bytes[index] = extent;
    }
  }
  result_.timeline.push_back(std::move(point));
  if (result_.timeline.size() >= kMaxTimelinePoints) {
    HalveResolution(result_.timeline);
    timeline_interval_ns_ *= 2;
  }
  next_point_ns_ = time_ns + timeline_interval_ns_;
}

void HeapGeometry::SetHeapWalk(const trace::HeapWalk& walk) { walk_ = walk; }

void HeapGeometry::Finish(uint64_t end_time_ns) {
  while (!samples_.empty()) {
    ApplySample(samples_.front());
    samples_.pop_front();
  }
  model_->Finish();
  const uint64_t end = std::max(end_time_ns, last_time_ns_);
  Snapshot(result_.end, end, last_seq_);
  if (result_.timeline.empty() || result_.timeline.back().time_ns < end) AddTimelinePoint(end);
  result_.timeline_arenas = arena_columns_;
  result_.final_params = model_->params();
  result_.threshold_changes = model_->threshold_changes();
  result_.allocator_calls = model_->allocator_calls();
  result_.counters = model_->counters();
  result_.mmapped_allocations = model_->mmapped_allocations();
  if (walk_) result_.walk = model_->CheckHeapWalk(*walk_);
  if (result_.final_mallinfo) result_.predicted_mallinfo = model_->PredictMallinfo();
}

}  // namespace heapgap::report
