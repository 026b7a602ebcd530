#include "report/heap_segment.h"

#include <iterator>

#include "report/heap_params.h"

namespace heapgap::report {

void GapSizes::Add(uint64_t size) {
  if (size >= kSmallLimit) {
    large_.insert(size);
    return;
  }
  const uint64_t bucket = size >> 4;
  if (small_[bucket]++ == 0) nonempty_[bucket >> 6] |= uint64_t{1} << (bucket & 63);
}

void GapSizes::Remove(uint64_t size) {
  if (size >= kSmallLimit) {
    auto it = large_.find(size);
    if (it != large_.end()) large_.erase(it);
    return;
  }
  const uint64_t bucket = size >> 4;
  if (small_[bucket] == 0) return;
  if (--small_[bucket] == 0) nonempty_[bucket >> 6] &= ~(uint64_t{1} << (bucket & 63));
}

uint64_t GapSizes::Largest() const {
  if (!large_.empty()) return *large_.rbegin();
  for (int word = static_cast<int>(nonempty_.size()) - 1; word >= 0; --word) {
    if (nonempty_[word] == 0) continue;
    const int bit = 63 - __builtin_clzll(nonempty_[word]);
    return static_cast<uint64_t>(word * 64 + bit) << 4;
  }
  return 0;
}

HeapSegment::HeapSegment(uint64_t start, uint64_t end, uint64_t page, uint64_t* hole_total)
    : start_(start), end_(end), page_(page == 0 ? 4096 : page), hole_total_(hole_total) {}

HeapSegment::~HeapSegment() {
  if (hole_total_ != nullptr) *hole_total_ -= hole_bytes_;
}

void HeapSegment::set_start(uint64_t start) {
  if (start == start_) return;
  if (!chunks_.empty()) RemoveGap(start_, chunks_.begin()->first);
  start_ = start;
  if (!chunks_.empty()) AddGap(start_, chunks_.begin()->first);
}

void HeapSegment::AddGap(uint64_t a, uint64_t b) {
  if (b <= a) return;
  const uint64_t size = b - a;
  hole_bytes_ += size;
  if (hole_total_ != nullptr) *hole_total_ += size;
  ++hole_count_;
  hole_releasable_ += glibc::MallocTrimReleasable(a, b, page_);
  gap_sizes_.Add(size);
}

void HeapSegment::RemoveGap(uint64_t a, uint64_t b) {
  if (b <= a) return;
  const uint64_t size = b - a;
  hole_bytes_ -= size;
  if (hole_total_ != nullptr) *hole_total_ -= size;
  --hole_count_;
  hole_releasable_ -= glibc::MallocTrimReleasable(a, b, page_);
  gap_sizes_.Remove(size);
}

uint64_t HeapSegment::EndBefore(Iterator it) const {
  if (it == chunks_.begin()) return start_;
  const auto& previous = *std::prev(it);
  return previous.first + previous.second.size;
}

void HeapSegment::Count(const Chunk& chunk, int sign) {
  const int state = static_cast<int>(chunk.state);
  if (sign > 0) {
    bytes_[state] += chunk.size;
    counts_[state] += 1;
    if (chunk.state == ChunkState::kLive) live_requested_ += chunk.requested;
  } else {
    bytes_[state] -= chunk.size;
    counts_[state] -= 1;
    if (chunk.state == ChunkState::kLive) live_requested_ -= chunk.requested;
  }
}

HeapSegment::Iterator HeapSegment::Insert(uint64_t address, const Chunk& chunk) {
  Iterator next = chunks_.lower_bound(address);
  if (next != chunks_.end() && next->first == address) {
    Erase(next);
    next = chunks_.lower_bound(address);
  }
  return InsertBefore(next, address, chunk);
}

HeapSegment::Iterator HeapSegment::InsertBefore(Iterator next, uint64_t address,
                                                const Chunk& chunk) {
  const uint64_t previous_end = EndBefore(next);
  const bool has_next = next != chunks_.end();
  const uint64_t next_start = has_next ? next->first : 0;
  if (has_next) RemoveGap(previous_end, next_start);
  // Inserting invalidates `next`.
  Iterator it = chunks_.emplace_hint(next, address, chunk);
  AddGap(previous_end, address);
  if (has_next) AddGap(address + chunk.size, next_start);
  Count(chunk, +1);
  return it;
}

void HeapSegment::Erase(Iterator it, uint64_t* gap_start, uint64_t* gap_end) {
  const uint64_t previous_end = EndBefore(it);
  const uint64_t address = it->first;
  const uint64_t chunk_end = address + it->second.size;
  Iterator next = std::next(it);
  RemoveGap(previous_end, address);
  uint64_t merged_end;
  if (next != chunks_.end()) {
    RemoveGap(chunk_end, next->first);
    AddGap(previous_end, next->first);
    merged_end = next->first;
  } else {
    // The topmost chunk: what lay below it joins the top.
    merged_end = end_ > chunk_end ? end_ : chunk_end;
  }
  Count(it->second, -1);
  chunks_.erase(it);
  if (gap_start != nullptr) *gap_start = previous_end < address ? previous_end : address;
  if (gap_end != nullptr) *gap_end = merged_end;
}

void HeapSegment::SetState(Iterator it, ChunkState state) {
  if (it->second.state == state) return;
  Count(it->second, -1);
  it->second.state = state;
  Count(it->second, +1);
}

HeapSegment::Iterator HeapSegment::Replace(Iterator it, const Chunk& chunk) {
  if (chunk.size != it->second.size) {
    const uint64_t address = it->first;
    Erase(it);
    return Insert(address, chunk);
  }
  Count(it->second, -1);
  it->second = chunk;
  Count(chunk, +1);
  return it;
}

HeapSegment::Iterator HeapSegment::ChunkEndingAt(uint64_t address) {
  Iterator it = chunks_.lower_bound(address);
  if (it == chunks_.begin()) return chunks_.end();
  --it;
  return it->first + it->second.size == address ? it : chunks_.end();
}

uint64_t HeapSegment::GapStartBelow(uint64_t address) {
  const uint64_t previous_end = EndBefore(chunks_.lower_bound(address));
  return previous_end < address ? previous_end : address;
}

uint64_t HeapSegment::in_use_end() const {
  if (chunks_.empty()) return start_;
  const auto& last = *chunks_.rbegin();
  return last.first + last.second.size;
}

uint64_t HeapSegment::in_use_bytes() const {
  return bytes_[0] + bytes_[1] + bytes_[2] + bytes_[3];
}

}  // namespace heapgap::report
