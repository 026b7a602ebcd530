// Restores the global order of events written by many threads.
//
// Each thread's batches are in order, but batches of different threads
// interleave arbitrarily in the file. A Barrier{seq} record promises that every
// event with a smaller sequence number was written before it, so events are
// buffered until a barrier and then released sorted. Memory is bounded by the
// events written between two barriers.
#ifndef HEAPGAP_REPORT_EVENT_ORDERER_H_
#define HEAPGAP_REPORT_EVENT_ORDERER_H_

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "report/event.h"

namespace heapgap::report {

class EventOrderer {
 public:
  // Where decoded events are appended, in any order.
  std::vector<Event>* buffer() { return &pending_; }

  // Passes every buffered event with seq < barrier to `sink` in seq order.
  template <typename Sink>
  void ReleaseBefore(uint64_t barrier, Sink&& sink) {
    Release(barrier, /*all=*/false, sink);
  }
  // Passes every buffered event to `sink` in seq order (end of the trace).
  template <typename Sink>
  void ReleaseAll(Sink&& sink) {
    Release(0, /*all=*/true, sink);
  }

  // Events that arrived after a barrier that should have preceded them: they
  // are released late, out of order. Always 0 for a well-formed trace.
  uint64_t late_events() const { return late_events_; }
  // The most events buffered at once.
  size_t max_buffered() const { return max_buffered_; }

 private:
  template <typename Sink>
  void Release(uint64_t barrier, bool all, Sink& sink) {
    const size_t n = pending_.size();
    if (n == 0) return;
    max_buffered_ = std::max(max_buffered_, n);
    bool sorted = true;
    for (size_t i = 1; i < n; ++i) {
      if (pending_[i].seq < pending_[i - 1].seq) {
        sorted = false;
        break;
      }
    }
    if (sorted) {
      size_t end = n;
      if (!all) {
        auto it = std::lower_bound(pending_.begin(), pending_.end(), barrier,
                                   [](const Event& e, uint64_t seq) { return e.seq < seq; });
        end = static_cast<size_t>(it - pending_.begin());
      }
      for (size_t i = 0; i < end; ++i) Emit(pending_[i], sink);
      pending_.erase(pending_.begin(), pending_.begin() + end);
      return;
    }
    // Each batch is already in order, so the buffer is a few sorted runs
    // (about one per thread): merge them. Small (seq, index) keys are moved
    // rather than whole events.
    keys_.clear();
    keys_.reserve(n);
    for (size_t i = 0; i < n; ++i) keys_.emplace_back(pending_[i].seq, static_cast<uint32_t>(i));
    MergeRuns();
    size_t end = n;
    if (!all) {
      auto it = std::lower_bound(keys_.begin(), keys_.end(), std::make_pair(barrier, uint32_t{0}));
      end = static_cast<size_t>(it - keys_.begin());
    }
    for (size_t i = 0; i < end; ++i) Emit(pending_[keys_[i].second], sink);
    kept_.clear();
    for (size_t i = end; i < n; ++i) kept_.push_back(pending_[keys_[i].second]);
    pending_.swap(kept_);
  }

  // Sorts keys_ by merging its ascending runs pairwise, O(n log runs).
  void MergeRuns() {
    runs_.clear();
    runs_.push_back(0);
    for (size_t i = 1; i < keys_.size(); ++i) {
      if (keys_[i] < keys_[i - 1]) runs_.push_back(i);
    }
    runs_.push_back(keys_.size());
    while (runs_.size() > 2) {
      const size_t run_count = runs_.size() - 1;
      merged_.resize(keys_.size());
      size_t kept = 0;
      for (size_t r = 0; r < run_count; r += 2) {
        const size_t begin = runs_[r];
        const size_t middle = runs_[r + 1];
        const size_t end = r + 1 < run_count ? runs_[r + 2] : middle;
        std::merge(keys_.begin() + begin, keys_.begin() + middle, keys_.begin() + middle,
                   keys_.begin() + end, merged_.begin() + begin);
        runs_[kept++] = begin;
      }
      runs_[kept++] = keys_.size();
      runs_.resize(kept);
      keys_.swap(merged_);
    }
  }

  template <typename Sink>
  void Emit(const Event& event, Sink& sink) {
    if (event.seq < last_released_seq_) {
      ++late_events_;
    } else {
      last_released_seq_ = event.seq;
    }
    sink(event);
  }

  std::vector<Event> pending_;
  std::vector<Event> kept_;
  std::vector<std::pair<uint64_t, uint32_t>> keys_;
  std::vector<std::pair<uint64_t, uint32_t>> merged_;
  std::vector<size_t> runs_;  // start of each ascending run in keys_, then its size
  uint64_t last_released_seq_ = 0;
  uint64_t late_events_ = 0;
  size_t max_buffered_ = 0;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_EVENT_ORDERER_H_
