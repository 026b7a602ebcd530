#include "report/heap_segment.h"

#include <algorithm>
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
  chain_valid_ = false;
  if (!order_.empty()) RemoveGap(start_, order_.begin()->first);
  start_ = start;
  if (!order_.empty()) AddGap(start_, order_.begin()->first);
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

uint64_t HeapSegment::EndBefore(Order::const_iterator it) const {
  if (it == order_.begin()) return start_;
  const auto& previous = *std::prev(it);
  return previous.first + previous.second;
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

Chunk* HeapSegment::Find(uint64_t address) {
  auto it = chunks_.find(address);
  return it == chunks_.end() ? nullptr : &it->second;
}

const Chunk* HeapSegment::Find(uint64_t address) const {
  auto it = chunks_.find(address);
  return it == chunks_.end() ? nullptr : &it->second;
}

Chunk& HeapSegment::Insert(uint64_t address, const Chunk& chunk) {
  if (chunks_.contains(address)) Erase(address);
  Changed(address);
  auto next = order_.lower_bound(address);
  const uint64_t previous_end = EndBefore(next);
  const bool has_next = next != order_.end();
  const uint64_t next_start = has_next ? next->first : 0;
  if (has_next) RemoveGap(previous_end, next_start);
  if (!has_next) in_use_end_ = address + chunk.size;
  if (!released_.empty()) Touch(address, address + chunk.size);
  order_.emplace_hint(next, address, chunk.size);
  Chunk& inserted = chunks_.emplace(address, chunk).first->second;
  AddGap(previous_end, address);
  if (has_next) AddGap(address + chunk.size, next_start);
  Count(chunk, +1);
  return inserted;
}

void HeapSegment::Replace(uint64_t address, const Chunk& chunk) {
  Chunk& current = chunks_.at(address);
  if (chunk.size != current.size) {
    Erase(address);
    Insert(address, chunk);
    return;
  }
  Changed(address);
  Count(current, -1);
  current = chunk;
  Count(chunk, +1);
}

void HeapSegment::Erase(uint64_t address, uint64_t* gap_start, uint64_t* gap_end) {
  Changed(address);
  auto it = order_.find(address);
  auto found = chunks_.find(address);
  const uint64_t previous_end = EndBefore(it);
  const uint64_t chunk_end = address + found->second.size;
  auto next = std::next(it);
  RemoveGap(previous_end, address);
  uint64_t merged_end;
  if (next != order_.end()) {
    RemoveGap(chunk_end, next->first);
    AddGap(previous_end, next->first);
    merged_end = next->first;
  } else {
    // The topmost chunk: what lay below it joins the top.
    merged_end = end_ > chunk_end ? end_ : chunk_end;
    in_use_end_ = previous_end;
  }
  Count(found->second, -1);
  chunks_.erase(found);
  order_.erase(it);
  if (gap_start != nullptr) *gap_start = previous_end < address ? previous_end : address;
  if (gap_end != nullptr) *gap_end = merged_end;
}

void HeapSegment::SetState(uint64_t address, Chunk& chunk, ChunkState state) {
  if (chunk.state == state) return;
  Changed(address);
  Count(chunk, -1);
  chunk.state = state;
  Count(chunk, +1);
}

bool HeapSegment::ChunkBelow(uint64_t address, uint64_t* start) const {
  auto it = order_.lower_bound(address);
  if (it == order_.begin()) return false;
  *start = std::prev(it)->first;
  return true;
}

bool HeapSegment::ChunkAtOrAbove(uint64_t address, uint64_t* start) const {
  auto it = order_.lower_bound(address);
  if (it == order_.end()) return false;
  *start = it->first;
  return true;
}

uint64_t HeapSegment::EndBelow(uint64_t address) const {
  return EndBefore(order_.lower_bound(address));
}

void HeapSegment::Touch(uint64_t a, uint64_t b) {
  auto it = released_.upper_bound(a);
  if (it != released_.begin() && std::prev(it)->second > a) --it;
  while (it != released_.end() && it->first < b) {
    const uint64_t first = it->first, last = it->second;
    it = released_.erase(it);
    if (first < a) released_.emplace(first, a);
    if (last > b) {
      released_.emplace(b, last);
      break;
    }
  }
}

void HeapSegment::MarkHolesReleased() {
  uint64_t previous_end = start_;
  auto release = [this](uint64_t a, uint64_t b) {
    const uint64_t bytes = glibc::MallocTrimReleasable(a, b, page_);
    if (bytes == 0) return;
    const uint64_t first = glibc::AlignUp(a + glibc::kMallocChunkStruct, page_);
    Touch(first, first + bytes);  // no overlapping ranges
    released_.emplace(first, first + bytes);
  };
  for (const auto& [start, size] : order_) {
    if (start > previous_end) release(previous_end, start);
    previous_end = std::max(previous_end, start + size);
  }
}

uint64_t HeapSegment::released_hole_bytes() const {
  const uint64_t top = in_use_end();
  uint64_t bytes = 0;
  for (const auto& [first, last] : released_) {
    if (first >= top) break;
    bytes += std::min(last, top) - first;
  }
  return bytes;
}

const PinningChain& HeapSegment::pinning_chain() const {
  if (chain_valid_) return chain_;
  // Walk down from the top, stepping over cached chunks (freed, but not by
  // glibc) up to a limit: thousands of them can sit on top.
  constexpr int kMaxCachedSteps = 4096;
  chain_.top_end = 0;
  chain_.pinners.clear();
  chain_.truncated = false;
  int steps = 0;
  auto it = order_.rbegin();
  auto next_pinning = [&] {
    for (; it != order_.rend(); ++it) {
      if (chunks_.at(it->first).pinning()) return true;
      if (++steps > kMaxCachedSteps) {
        chain_.truncated = true;
        return false;
      }
    }
    return false;
  };
  bool more = next_pinning();
  if (more) chain_.top_end = it->first + it->second;
  while (more && chain_.pinners.size() < PinningChain::kMaxPinners) {
    const uint64_t start = it->first;
    const Chunk& c = chunks_.at(start);
    Pinner p;
    p.address = start + glibc::kChunkHeader;
    p.chunk_size = c.size;
    p.requested = c.requested;
    p.time_ns = c.time_ns;
    p.stack_id = c.stack_id;
    p.thread_id = c.thread_id;
    p.internal = c.state == ChunkState::kInternal;
    ++it;
    more = next_pinning();
    const uint64_t next_end = more ? it->first + it->second : chain_.truncated ? start : start_;
    p.bytes_released_if_freed = start + c.size > next_end ? start + c.size - next_end : 0;
    chain_.pinners.push_back(p);
  }
  // What the chain depends on: everything from the chunk below its last
  // pinner (or where the walk stopped) up.
  chain_floor_ = it != order_.rend() ? it->first : 0;
  chain_valid_ = true;
  return chain_;
}

uint64_t HeapSegment::in_use_bytes() const {
  return bytes_[0] + bytes_[1] + bytes_[2] + bytes_[3];
}

}  // namespace heapgap::report
