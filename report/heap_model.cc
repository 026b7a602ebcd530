#include "report/heap_model.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "report/op.h"

namespace heapgap::report {
namespace {

using glibc::ChunkSize;

constexpr int kFastbinClasses = 10;  // NFASTBINS
constexpr uint32_t kDirectThreadIds = 1 << 16;

constexpr int FastbinClass(uint64_t chunk_size) {
  return static_cast<int>((chunk_size >> 4) - 2);
}

// For a memalign-family allocation that glibc serves with _int_memalign:
// the alignment it uses and the bytes it is asked for. False when glibc
// serves it as a plain malloc (alignment up to 16).
bool MemalignRequest(const Event& e, uint64_t page, uint64_t* alignment, uint64_t* request) {
  uint64_t a = static_cast<uint64_t>(e.aux[0]);
  uint64_t bytes = e.size;
  switch (e.op) {
    case 5:  // memalign
    case 6:  // posix_memalign
    case 7:  // aligned_alloc
      break;
    case 8:  // valloc
      a = page;
      break;
    case 9:  // pvalloc
      a = page;
      bytes = glibc::AlignUp(bytes == 0 ? 1 : bytes, page);
      break;
    case 14:
    case 15:
    case 16:
    case 17:  // aligned operator new: aligned_alloc(a, size rounded up to a)
      if (a == 0) return false;
      bytes = glibc::AlignUp(bytes == 0 ? 1 : bytes, a);
      break;
    default:
      return false;
  }
  // _mid_memalign's adjustments.
  if (a <= 16) return false;
  if (a < glibc::kMinChunk) a = glibc::kMinChunk;
  if ((a & (a - 1)) != 0) {
    uint64_t power = 32;
    while (power < a) power <<= 1;
    a = power;
  }
  *alignment = a;
  *request = bytes;
  return true;
}

// Lazily cleaned lists of chunk addresses (a tcache bin, a fastbin): entries
// whose chunk left the list are dropped when met, or when they pile up.
struct AddressStack {
  std::vector<uint64_t> entries;
  uint32_t valid = 0;  // entries still describing a chunk in this list

  void Push(uint64_t address) {
    entries.push_back(address);
    ++valid;
  }
  // Drops `address` if it is among the last few entries (LIFO lists hand
  // out their last entry, so it nearly always is).
  void RemoveNearTop(uint64_t address) {
    constexpr size_t kSearched = 16;
    const size_t stop = entries.size() > kSearched ? entries.size() - kSearched : 0;
    for (size_t i = entries.size(); i > stop; --i) {
      if (entries[i - 1] == address) {
        entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i - 1));
        return;
      }
    }
  }
  template <typename IsMember>
  void CompactIfStale(IsMember is_member) {
    if (entries.size() <= 2 * static_cast<size_t>(valid) + 64) return;
    absl::flat_hash_set<uint64_t> seen;
    std::vector<uint64_t> kept;
    for (uint64_t address : entries) {
      if (is_member(address) && seen.insert(address).second) kept.push_back(address);
    }
    entries.swap(kept);
  }
};

}  // namespace

struct HeapModel::Arena {
  uint64_t key = 0;      // the first heap's start; 0 for the main arena
  bool main = false;
  uint64_t address = 0;  // malloc_state, once a heap record named it
  std::vector<Heap*> heaps;  // oldest first
  std::array<AddressStack, kFastbinClasses> fastbins;
  uint64_t fastbin_chunks = 0;
  // Where exited threads' tcache structures were: a thread that takes this
  // arena over gets its own structure there (an exact fit) if still free.
  std::vector<uint64_t> freed_tcache_structs;
  uint64_t max_extent = 0;
};

struct HeapModel::Heap {
  Heap(uint64_t heap_start, uint64_t page, uint64_t* hole_total)
      : start(heap_start),
        segment(heap_start + glibc::kFirstHeapChunkOffset, heap_start, page, hole_total) {}
  uint64_t start;
  HeapSegment segment;
  Arena* arena = nullptr;
  uint64_t size = 0;  // heap_info.size
  bool size_known = false;
};

struct HeapModel::Thread {
  uint32_t id = 0;
  bool exited = false;
  bool seen_heap_allocation = false;
  uint64_t tcache_struct = 0;  // chunk address of its tcache_perthread_struct, when placed
  Arena* arena = nullptr;      // arena of its last heap allocation
  std::unique_ptr<std::array<AddressStack, glibc::kTcacheMaxBins>> tcache;
  PendingRealloc pending;

  AddressStack& Bin(uint64_t index) {
    if (!tcache) tcache = std::make_unique<std::array<AddressStack, glibc::kTcacheMaxBins>>();
    return (*tcache)[index];
  }
};

HeapModel::HeapModel(Config config) : config_(config) {
  if (config_.page_size == 0) config_.page_size = 4096;
  main_ = std::make_unique<HeapSegment>(config_.heap_start, config_.heap_start, config_.page_size,
                                        &hole_bytes_);
  main_arena_ = std::make_unique<Arena>();
  main_arena_->main = true;
  base_mmap_threshold_ = params_.mmap_threshold;
}

HeapModel::~HeapModel() {
  // Segments report their holes to hole_bytes_ as they go: heaps first.
  heaps_.clear();
  main_.reset();
}

void HeapModel::SetMallocSettings(const trace::MallocSettings& settings) {
  ApplyMallocSettings(settings, params_, settings_applied_);
  base_mmap_threshold_ = params_.mmap_threshold;
}

HeapModel::Thread& HeapModel::ThreadFor(uint32_t thread_id) {
  if (last_thread_ != nullptr && last_thread_->id == thread_id) return *last_thread_;
  std::unique_ptr<Thread>* slot;
  if (thread_id < kDirectThreadIds) {
    if (thread_id >= threads_.size()) threads_.resize(thread_id + 1);
    slot = &threads_[thread_id];
  } else {
    slot = &other_threads_[thread_id];
  }
  if (!*slot) {
    *slot = std::make_unique<Thread>();
    (*slot)->id = thread_id;
    // The thread that forked keeps the parent's tcache structure.
    (*slot)->seen_heap_allocation = config_.forked && !any_thread_seen_;
    any_thread_seen_ = true;
  }
  last_thread_ = slot->get();
  return *last_thread_;
}

HeapModel::Arena& HeapModel::ArenaFor(uint64_t key) {
  std::unique_ptr<Arena>& arena = arenas_[key];
  if (!arena) {
    arena = std::make_unique<Arena>();
    arena->key = key;
  }
  return *arena;
}

HeapModel::Heap& HeapModel::HeapAt(uint64_t heap_start) {
  if (last_heap_ != nullptr && last_heap_->start == heap_start) return *last_heap_;
  std::unique_ptr<Heap>& heap = heaps_[heap_start];
  if (!heap) {
    // Until a heap record says otherwise, a heap is the first of its arena.
    heap = std::make_unique<Heap>(heap_start, config_.page_size, &hole_bytes_);
    heap->arena = &ArenaFor(heap_start);
    heap->arena->heaps.push_back(heap.get());
  }
  last_heap_ = heap.get();
  return *heap;
}

HeapSegment* HeapModel::SegmentFor(uint64_t header, uint64_t chunk, Arena** arena) {
  if ((header & glibc::kNonMainArena) == 0) {
    *arena = main_arena_.get();
    return main_.get();
  }
  Heap& heap = HeapAt(glibc::AlignDown(chunk, glibc::kArenaHeapBytes));
  *arena = heap.arena;
  return &heap.segment;
}

HeapSegment* HeapModel::SegmentByAddress(uint64_t chunk, Arena** arena) {
  const uint64_t base = glibc::AlignDown(chunk, glibc::kArenaHeapBytes);
  if (last_heap_ != nullptr && last_heap_->start == base) {
    *arena = last_heap_->arena;
    return &last_heap_->segment;
  }
  auto it = heaps_.find(base);
  if (it != heaps_.end()) {
    *arena = it->second->arena;
    return &it->second->segment;
  }
  *arena = main_arena_.get();
  return main_.get();
}

uint64_t HeapModel::live_requested() const {
  uint64_t total = main_->live_requested() + mmapped_live_requested_;
  for (const auto& [start, heap] : heaps_) total += heap->segment.live_requested();
  return total;
}

// ---- Events ------------------------------------------------------------------

void HeapModel::Apply(const Event& e) {
  switch (ClassifyOp(e.op)) {
    case OpKind::kAllocation: {
      Thread& thread = ThreadFor(e.thread_id);
      if (thread.pending.active &&
          !(IsReallocOp(e.op) && static_cast<uint64_t>(e.aux[0]) == thread.pending.address)) {
        SettlePendingRealloc(thread, e.time_ns, e.seq);
      }
      Allocate(e, thread);
      return;
    }
    case OpKind::kRelease: {
      Thread& thread = ThreadFor(e.thread_id);
      if (thread.pending.active) SettlePendingRealloc(thread, e.time_ns, e.seq);
      Release(e, thread);
      return;
    }
    case OpKind::kAddressSpace:
      break;
    default:
      return;
  }
  switch (e.op) {
    case 64:  // BREAK_MOVE
      BreakMove(e);
      break;
    case 65:  // ARENA_HEAP
      ArenaHeap(e);
      break;
    case 66:  // MMAP
    case 67:  // MUNMAP
    case 68:  // MREMAP
    case 71:  // MADVISE
      ++counters_.program_mapping_calls;
      break;
    case 69:  // BRK
    case 70:  // SBRK
      ++counters_.program_break_calls;
      break;
    case 72: {  // MALLOC_TRIM: consolidates every arena, then releases pages
      ConsolidateAll();
      AllocatorCall call;
      call.time_ns = e.time_ns;
      call.seq = e.seq;
      call.stack_id = e.stack_id;
      call.trim = true;
      call.value = static_cast<int64_t>(e.size);
      call.result = e.aux[0];
      // The break has not moved yet: its move is the next event.
      uint64_t released = 0;
      auto release_holes = [&released](HeapSegment& segment) {
        released += segment.hole_releasable_bytes() - std::min(segment.hole_releasable_bytes(),
                                                               segment.released_hole_bytes());
        segment.MarkHolesReleased();
      };
      release_holes(*main_);
      for (const auto& [start, heap] : heaps_) release_holes(heap->segment);
      released += glibc::TrimmableTop(main_->top_free(), e.size, config_.page_size);
      call.predicted_release_bytes = released;
      allocator_calls_.push_back(call);
      break;
    }
    case 73: {  // MALLOPT: consolidates the main arena first
      Consolidate(*main_arena_);
      AllocatorCall call;
      call.time_ns = e.time_ns;
      call.seq = e.seq;
      call.stack_id = e.stack_id;
      call.param = static_cast<int>(e.aux[0]);
      call.value = e.aux[1];
      call.result = e.aux[2];
      if (call.result == 1) ApplyMallopt(call.param, call.value, params_);
      allocator_calls_.push_back(call);
      break;
    }
    case 74:  // THREAD_START
      ThreadFor(e.thread_id);
      break;
    case 75: {  // THREAD_EXIT: the thread's tcache goes back to its arena
      Thread& thread = ThreadFor(e.thread_id);
      if (thread.pending.active) SettlePendingRealloc(thread, e.time_ns, e.seq);
      FlushTcache(thread);
      break;
    }
    default:
      break;
  }
}

void HeapModel::Finish() {
  auto settle = [this](std::unique_ptr<Thread>& thread) {
    if (thread && thread->pending.active) SettlePendingRealloc(*thread, 0, 0);
  };
  for (auto& thread : threads_) settle(thread);
  for (auto& [id, thread] : other_threads_) settle(thread);
}

void HeapModel::SettlePendingRealloc(Thread& thread, uint64_t time_ns, uint64_t seq) {
  // realloc(p, 0), or a realloc whose allocation half was not recorded: p
  // was freed as free(p) frees it.
  const PendingRealloc pending = thread.pending;
  thread.pending.active = false;
  FreeBlock(pending.address, pending.header, thread, /*realloc=*/false, time_ns, seq);
}

void HeapModel::Allocate(const Event& e, Thread& thread) {
  if (e.address == 0) return;  // failed
  if (ChunkSize(e.chunk_header) < glibc::kMinChunk) {
    ++counters_.events_without_chunk_header;
    if (thread.pending.active) SettlePendingRealloc(thread, e.time_ns, e.seq);
    return;
  }
  const bool mmapped = (e.chunk_header & glibc::kIsMmapped) != 0;
  if (IsReallocOp(e.op) && thread.pending.active) {
    const PendingRealloc old = thread.pending;
    thread.pending.active = false;
    const bool old_mmapped = (old.header & glibc::kIsMmapped) != 0 ||
                             (old.header == 0 && mmapped_.contains(old.address));
    if (e.address == old.address && mmapped == old_mmapped) {
      if (mmapped) {
        AllocateMmapped(e, thread);  // mremap in place replaces the mapping
      } else {
        AllocateHeap(e, thread, /*in_place_realloc=*/true);
      }
      return;
    }
    // Moved: glibc allocated the new block, copied, then freed the old one.
    if (mmapped) {
      AllocateMmapped(e, thread);
    } else {
      AllocateHeap(e, thread, false);
    }
    FreeBlock(old.address, old.header, thread, /*realloc=*/true, e.time_ns, e.seq);
    return;
  }
  if (mmapped) {
    AllocateMmapped(e, thread);
  } else {
    AllocateHeap(e, thread, false);
  }
}

void HeapModel::AllocateMmapped(const Event& e, Thread& thread) {
  const uint64_t mapping = e.mmapped_chunk_offset + ChunkSize(e.chunk_header);
  auto [it, inserted] = mmapped_.try_emplace(e.address);
  if (!inserted) {
    mmapped_bytes_ -= it->second.mapping_bytes;
    mmapped_live_requested_ -= it->second.requested;
  }
  it->second = MmappedBlock{mapping, e.size, e.stack_id};
  mmapped_bytes_ += mapping;
  mmapped_live_requested_ += e.size;
  ++mmapped_allocations_;
  // A large request goes through _int_malloc, which consolidated the
  // fastbins of the thread's arena first.
  Arena* arena = thread.arena != nullptr ? thread.arena : main_arena_.get();
  if (arena->fastbin_chunks != 0) Consolidate(*arena);
}

void HeapModel::AllocateHeap(const Event& e, Thread& thread, bool in_place_realloc) {
  const uint64_t size = ChunkSize(e.chunk_header);
  const uint64_t chunk = e.address - glibc::kChunkHeader;
  Arena* arena;
  HeapSegment& segment = *SegmentFor(e.chunk_header, chunk, &arena);
  // Without a heap start in the header, the main heap starts at its first chunk.
  if (segment.start() == 0 && segment.empty()) segment.set_start(chunk);
  Chunk info;
  info.size = size;
  info.requested = e.size;
  info.time_ns = e.time_ns;
  info.stack_id = e.stack_id;
  info.thread_id = e.thread_id;
  info.state = ChunkState::kLive;
  thread.arena = arena;
  if (size >= base_mmap_threshold_ && size < params_.mmap_threshold &&
      !threshold_changes_.empty() && !in_place_realloc) {
    // Without the dynamic threshold, glibc would have mmapped this block.
    ++threshold_changes_.back().heap_allocations_instead_of_mmap;
    threshold_changes_.back().heap_bytes_instead_of_mmap += size;
  }

  Chunk* existing = segment.Find(chunk);
  if (in_place_realloc && existing != nullptr) {
    const uint64_t old_size = existing->size;
    segment.Replace(chunk, info);
    // _int_realloc frees what it does not keep with _int_free, so it may sit
    // in a cache like any freed chunk: a shrinking realloc its tail; a
    // growing one the rest of the free chunk after it, which it took whole
    // (unless that was the top, which simply shrinks).
    uint64_t rest_end = chunk + old_size;
    if (size > old_size && !segment.ChunkAtOrAbove(chunk + 1, &rest_end)) rest_end = 0;
    if (rest_end >= chunk + size + glibc::kMinChunk) {
      Chunk rest;
      rest.size = rest_end - chunk - size;
      rest.time_ns = e.time_ns;
      rest.thread_id = e.thread_id;
      rest.state = ChunkState::kInternal;
      ++counters_.realloc_remainders;
      FreeChunk(segment, *arena, chunk + size, segment.Insert(chunk + size, rest), &thread);
    }
    return;
  }
  if (existing != nullptr && existing->realloc_pending) {
    // Another thread's realloc moved this block and freed it; glibc handed
    // the address out again before that realloc's result was seen.
    Thread& owner = ThreadFor(existing->thread_id);
    const PendingRealloc pending = owner.pending;
    owner.pending.active = false;
    if (pending.active && pending.address == e.address) {
      FreeChunk(segment, *arena, chunk, *existing, &owner);
    } else {
      existing->realloc_pending = false;
    }
    existing = segment.Find(chunk);
  }
  // A large request (not served by the tcache) consolidates the fastbins.
  if (size >= glibc::kMinLargeChunk && arena->fastbin_chunks != 0 &&
      !(existing != nullptr && existing->state == ChunkState::kTcache)) {
    Consolidate(*arena);
    existing = segment.Find(chunk);
  }
  const bool below_in_use = (e.chunk_header & glibc::kPrevInUse) != 0;
  const bool first_heap_allocation = !thread.seen_heap_allocation;
  thread.seen_heap_allocation = true;
  uint64_t below;
  if (existing != nullptr && existing->cached() && existing->size == size &&
      !first_heap_allocation) {
    // The common case: a cached chunk handed out again, in place.
    TakeFromCache(chunk, *existing, *arena, thread);
    segment.Replace(chunk, info);
    if (!below_in_use && segment.ChunkBelow(chunk, &below)) RepairCachedBelow(segment, *arena, chunk, below);
    return;
  }
  if (existing != nullptr) {
    if (existing->cached()) {
      TakeFromCache(chunk, *existing, *arena, thread);
    } else {
      // Still live in the model: its release was not recorded.
      ++counters_.overlaps_repaired;
      counters_.overlap_bytes_repaired += existing->size;
    }
  }
  // Chunks the model holds in use where glibc just handed out memory were in
  // fact free (released without a record, or consolidated unseen).
  if (segment.ChunkBelow(chunk, &below) && below + segment.Find(below)->size > chunk) {
    ++counters_.overlaps_repaired;
    counters_.overlap_bytes_repaired += segment.Find(below)->size;
    EraseCached(segment, *arena, below);
  }
  uint64_t above;
  while (segment.ChunkAtOrAbove(chunk + 1, &above) && above < chunk + size) {
    ++counters_.overlaps_repaired;
    counters_.overlap_bytes_repaired += segment.Find(above)->size;
    EraseCached(segment, *arena, above);
  }
  if (segment.Find(chunk) != nullptr) {
    segment.Replace(chunk, info);
  } else {
    segment.Insert(chunk, info);
  }

  // The P bit says whether the chunk right below is in use.
  if (!below_in_use && segment.ChunkBelow(chunk, &below)) {
    RepairCachedBelow(segment, *arena, chunk, below);
  }
  const uint64_t below_end = segment.EndBelow(chunk);
  uint64_t alignment, request;
  if (MemalignRequest(e, config_.page_size, &alignment, &request)) {
    CarveAligned(segment, *arena, thread, e, chunk, size, below_end, below_in_use, alignment,
                 request);
    return;
  }
  const bool gap_below = below_in_use && below_end < chunk && chunk > segment.start();
  if (first_heap_allocation) {
    // The thread's tcache structure came from its arena just before its
    // first block: right below it, or where an exited thread's was.
    Chunk tcache_struct;
    tcache_struct.size = glibc::kTcacheStructChunk;
    tcache_struct.time_ns = e.time_ns;
    tcache_struct.thread_id = e.thread_id;
    tcache_struct.state = ChunkState::kInternal;
    if (gap_below && chunk - below_end >= glibc::kTcacheStructChunk) {
      thread.tcache_struct = chunk - glibc::kTcacheStructChunk;
      segment.Insert(thread.tcache_struct, tcache_struct);
      ++counters_.tcache_structs_placed;
      return;
    }
    std::vector<uint64_t>& reusable = arena->freed_tcache_structs;
    while (!reusable.empty()) {
      const uint64_t address = reusable.back();
      reusable.pop_back();
      Arena* owner;
      HeapSegment& home = *SegmentByAddress(address, &owner);
      uint64_t next;
      const bool free_below = home.EndBelow(address) <= address;
      const bool free_above = !home.ChunkAtOrAbove(address, &next) ||
                              next >= address + glibc::kTcacheStructChunk;
      if (owner != arena || !free_below || !free_above) continue;
      thread.tcache_struct = address;
      home.Insert(address, tcache_struct);
      ++counters_.tcache_structs_placed;
      break;
    }
  }
  if (gap_below) ++counters_.unexplained_in_use_below;
}

void HeapModel::RepairCachedBelow(HeapSegment& segment, Arena& arena, uint64_t chunk,
                                  uint64_t below) {
  const Chunk* c = segment.Find(below);
  if (c != nullptr && c->cached() && below + c->size == chunk) {
    // glibc merged it: the model's cache simulation missed a move.
    ++counters_.cached_below_freed;
    EraseCached(segment, arena, below);
  }
}

void HeapModel::CarveAligned(HeapSegment& segment, Arena& arena, Thread& thread, const Event& e,
                             uint64_t chunk, uint64_t size, uint64_t below_end, bool below_in_use,
                             uint64_t alignment, uint64_t request) {
  // _int_memalign took a chunk of request2size(nb + alignment + MINSIZE),
  // placed the block at the first aligned spot at least MINSIZE into it,
  // and freed the leading part and any tail of MINSIZE or more with
  // _int_free. The larger chunk began where the free memory below the block
  // begins, if glibc's arithmetic from there lands on the block.
  uint64_t lead = 0;
  if (below_end < chunk) {
    uint64_t aligned = glibc::AlignUp(below_end + glibc::kChunkHeader, alignment) -
                       glibc::kChunkHeader;
    if (aligned - below_end < glibc::kMinChunk) aligned += alignment;
    if (aligned != chunk) {
      if (below_in_use) ++counters_.unexplained_in_use_below;
      return;
    }
    lead = chunk - below_end;
  }
  const uint64_t nb = glibc::RequestToChunk(request);
  const uint64_t carved = glibc::RequestToChunk(nb + alignment + glibc::kMinChunk);
  const uint64_t tail = carved > lead + size ? carved - lead - size : 0;
  Chunk part;
  part.time_ns = e.time_ns;
  part.thread_id = e.thread_id;
  part.state = ChunkState::kInternal;
  if (lead != 0 && below_in_use) {
    // The leading part is in use for glibc: it went to a cache. (Otherwise
    // it merged with the free memory below.)
    part.size = lead;
    ++counters_.memalign_remainders;
    FreeChunk(segment, arena, below_end, segment.Insert(below_end, part), &thread);
  }
  if (tail >= glibc::kMinChunk) {
    const uint64_t tail_start = chunk + size;
    uint64_t next;
    if (segment.ChunkAtOrAbove(tail_start, &next) && next < tail_start + tail) return;
    part.size = tail;
    ++counters_.memalign_remainders;
    FreeChunk(segment, arena, tail_start, segment.Insert(tail_start, part), &thread);
  }
}

void HeapModel::Uncache(const Chunk& chunk, Arena& arena) {
  if (chunk.state == ChunkState::kTcache) {
    Thread& owner = ThreadFor(chunk.thread_id);
    if (owner.tcache) {
      AddressStack& bin = owner.Bin(glibc::TcacheIndex(chunk.size));
      if (bin.valid > 0) --bin.valid;
    }
  } else if (chunk.state == ChunkState::kFastbin) {
    AddressStack& fastbin = arena.fastbins[FastbinClass(chunk.size)];
    if (fastbin.valid > 0) --fastbin.valid;
    if (arena.fastbin_chunks > 0) --arena.fastbin_chunks;
  }
}

void HeapModel::EraseCached(HeapSegment& segment, Arena& arena, uint64_t address) {
  Uncache(*segment.Find(address), arena);
  segment.Erase(address);
}

void HeapModel::TakeFromCache(uint64_t taken, const Chunk& cached, Arena& arena,
                              Thread& allocating) {
  const Chunk chunk = cached;
  Uncache(chunk, arena);
  // Caches are LIFO: the chunk is normally the last one in.
  if (chunk.state == ChunkState::kTcache) {
    Thread& owner = ThreadFor(chunk.thread_id);
    if (owner.tcache) owner.Bin(glibc::TcacheIndex(chunk.size)).RemoveNearTop(taken);
    return;
  }
  if (chunk.state != ChunkState::kFastbin) return;
  arena.fastbins[FastbinClass(chunk.size)].RemoveNearTop(taken);
  // A fastbin chunk: _int_malloc moves the rest of its fastbin into the
  // allocating thread's tcache, while there is room.
  const uint64_t index = glibc::TcacheIndex(chunk.size);
  if (allocating.exited || params_.tcache_count == 0 || index >= params_.tcache_bins) return;
  AddressStack& fastbin = arena.fastbins[FastbinClass(chunk.size)];
  AddressStack& bin = allocating.Bin(index);
  while (bin.valid < params_.tcache_count && !fastbin.entries.empty()) {
    const uint64_t address = fastbin.entries.back();
    fastbin.entries.pop_back();
    if (address == taken) continue;
    Arena* owner;
    HeapSegment& segment = *SegmentByAddress(address, &owner);
    Chunk* other = segment.Find(address);
    if (owner != &arena || other == nullptr || other->state != ChunkState::kFastbin ||
        other->size != chunk.size) {
      continue;
    }
    Uncache(*other, arena);
    segment.SetState(address, *other, ChunkState::kTcache);
    other->thread_id = allocating.id;
    bin.Push(address);
    ++counters_.fastbin_stashes;
  }
}

void HeapModel::Release(const Event& e, Thread& thread) {
  if (e.address == 0) return;
  if (IsReallocFreeOp(e.op)) {
    // Settled by the thread's next event: the realloc's result.
    thread.pending = PendingRealloc{true, e.address, e.chunk_header, e.mmapped_chunk_offset};
    if ((e.chunk_header & glibc::kIsMmapped) == 0) {
      Arena* arena;
      HeapSegment& segment =
          e.chunk_header != 0 ? *SegmentFor(e.chunk_header, e.address - glibc::kChunkHeader, &arena)
                              : *SegmentByAddress(e.address - glibc::kChunkHeader, &arena);
      Chunk* chunk = segment.Find(e.address - glibc::kChunkHeader);
      if (chunk != nullptr && chunk->state == ChunkState::kLive) {
        chunk->realloc_pending = true;
        chunk->thread_id = thread.id;
      }
    }
    return;
  }
  FreeBlock(e.address, e.chunk_header, thread, /*realloc=*/false, e.time_ns, e.seq);
}

void HeapModel::FreeBlock(uint64_t address, uint64_t header, Thread& thread, bool realloc,
                          uint64_t time_ns, uint64_t seq) {
  const bool mmapped = (header & glibc::kIsMmapped) != 0 ||
                       (header == 0 && mmapped_.contains(address));
  if (mmapped) {
    auto it = mmapped_.find(address);
    uint64_t requested = 0, stack = 0;
    if (it != mmapped_.end()) {
      mmapped_bytes_ -= it->second.mapping_bytes;
      mmapped_live_requested_ -= it->second.requested;
      requested = it->second.requested;
      stack = it->second.stack_id;
      mmapped_.erase(it);
    } else {
      ++counters_.unknown_releases;
    }
    // __libc_free raises the mmap threshold to a freed mmapped chunk's size
    // (the raw size word, M bit included); realloc's munmap does not.
    if (!realloc && header != 0 && !params_.no_dyn_threshold && header > params_.mmap_threshold &&
        header <= glibc::kMaxMmapThreshold) {
      ThresholdChange change;
      change.time_ns = time_ns;
      change.seq = seq;
      change.old_mmap_threshold = params_.mmap_threshold;
      change.old_trim_threshold = params_.trim_threshold;
      params_.mmap_threshold = ChunkSize(header);
      params_.trim_threshold = 2 * params_.mmap_threshold;
      change.new_mmap_threshold = params_.mmap_threshold;
      change.new_trim_threshold = params_.trim_threshold;
      change.freed_block_bytes = requested;
      change.freed_block_stack = stack;
      // The raw size word (M bit set) exceeds a threshold equal to the chunk
      // size: glibc sets the same values again.
      if (change.new_mmap_threshold != change.old_mmap_threshold ||
          change.new_trim_threshold != change.old_trim_threshold) {
        threshold_changes_.push_back(change);
      }
    }
    return;
  }
  const uint64_t chunk = address - glibc::kChunkHeader;
  Arena* arena;
  HeapSegment& segment =
      header != 0 ? *SegmentFor(header, chunk, &arena) : *SegmentByAddress(chunk, &arena);
  Chunk* c = segment.Find(chunk);
  if (c == nullptr || c->state != ChunkState::kLive) {
    ++counters_.unknown_releases;
    return;
  }
  c->realloc_pending = false;
  uint64_t below;
  if (header != 0 && (header & glibc::kPrevInUse) == 0 && segment.ChunkBelow(chunk, &below)) {
    RepairCachedBelow(segment, *arena, chunk, below);
    c = segment.Find(chunk);
  }
  FreeChunk(segment, *arena, chunk, *c, &thread);
}

void HeapModel::FreeChunk(HeapSegment& segment, Arena& arena, uint64_t address, Chunk& chunk,
                          Thread* thread) {
  const uint64_t size = chunk.size;
  chunk.realloc_pending = false;
  if (thread != nullptr && !thread->exited && params_.tcache_count > 0) {
    const uint64_t index = glibc::TcacheIndex(size);
    if (index < params_.tcache_bins) {
      AddressStack& bin = thread->Bin(index);
      if (bin.valid < params_.tcache_count) {
        segment.SetState(address, chunk, ChunkState::kTcache);
        chunk.thread_id = thread->id;
        bin.Push(address);
        bin.CompactIfStale([&](uint64_t a) {
          Arena* owner;
          const Chunk* c = SegmentByAddress(a, &owner)->Find(a);
          return c != nullptr && c->state == ChunkState::kTcache && c->thread_id == thread->id;
        });
        return;
      }
    }
  }
  if (size <= params_.max_fast) {
    segment.SetState(address, chunk, ChunkState::kFastbin);
    AddressStack& fastbin = arena.fastbins[FastbinClass(size)];
    fastbin.Push(address);
    ++arena.fastbin_chunks;
    fastbin.CompactIfStale([&](uint64_t a) {
      Arena* owner;
      const Chunk* c = SegmentByAddress(a, &owner)->Find(a);
      return owner == &arena && c != nullptr && c->state == ChunkState::kFastbin;
    });
    return;
  }
  uint64_t gap_start, gap_end;
  segment.Erase(address, &gap_start, &gap_end);
  if (gap_end - gap_start < glibc::kFastbinConsolidationThreshold) return;
  if (arena.fastbin_chunks != 0) Consolidate(arena);
  // The main heap's trim shows as a break move; a thread arena heap's
  // shrink happens unseen and is simulated.
  if (!arena.main) HeapTrim(arena);
}

void HeapModel::Consolidate(Arena& arena) {
  if (arena.fastbin_chunks == 0) {
    for (AddressStack& fastbin : arena.fastbins) {
      fastbin.entries.clear();
      fastbin.valid = 0;
    }
    return;
  }
  ++counters_.consolidations;
  for (AddressStack& fastbin : arena.fastbins) {
    for (uint64_t address : fastbin.entries) {
      Arena* owner;
      HeapSegment& segment = arena.main ? *main_ : *SegmentByAddress(address, &owner);
      const Chunk* c = segment.Find(address);
      if (c != nullptr && c->state == ChunkState::kFastbin) segment.Erase(address);
    }
    fastbin.entries.clear();
    fastbin.valid = 0;
  }
  arena.fastbin_chunks = 0;
}

void HeapModel::ConsolidateAll() {
  Consolidate(*main_arena_);
  for (auto& [key, arena] : arenas_) Consolidate(*arena);
}

void HeapModel::HeapTrim(Arena& arena) {
  if (arena.heaps.empty()) return;
  // Newer heaps that are entirely free go away while the previous heap has
  // room enough to take over (heap_trim's hysteresis).
  while (arena.heaps.size() > 1) {
    Heap* newest = arena.heaps.back();
    Heap* previous = arena.heaps[arena.heaps.size() - 2];
    if (!newest->segment.empty() || !previous->size_known) break;
    const uint64_t tail = previous->segment.top_free();
    const uint64_t unreserved =
        glibc::kArenaHeapBytes > previous->size ? glibc::kArenaHeapBytes - previous->size : 0;
    if (tail + unreserved < params_.top_pad + glibc::kMinChunk + config_.page_size) break;
    ++counters_.simulated_heap_deletions;
    RemoveHeap(*newest);
  }
  Heap& heap = *arena.heaps.back();
  if (!heap.size_known) return;
  const uint64_t top = heap.segment.top_free();
  if (top < params_.trim_threshold) return;
  const uint64_t extra = glibc::TrimmableTop(top, params_.top_pad, config_.page_size);
  if (extra == 0 || extra >= heap.size) return;
  ++counters_.simulated_heap_trims;
  SetHeapSize(heap, heap.size - extra);
}

void HeapModel::FlushTcache(Thread& thread) {
  // tcache_thread_shutdown: every cached chunk is freed with the tcache
  // already gone, then the tcache structure itself.
  thread.exited = true;
  if (thread.tcache) {
    for (uint64_t index = 0; index < glibc::kTcacheMaxBins; ++index) {
      AddressStack& bin = (*thread.tcache)[index];
      for (auto entry = bin.entries.rbegin(); entry != bin.entries.rend(); ++entry) {
        Arena* arena;
        HeapSegment& segment = *SegmentByAddress(*entry, &arena);
        Chunk* c = segment.Find(*entry);
        if (c == nullptr || c->state != ChunkState::kTcache || c->thread_id != thread.id) continue;
        FreeChunk(segment, *arena, *entry, *c, nullptr);
      }
    }
    thread.tcache.reset();
  }
  if (thread.tcache_struct != 0) {
    Arena* arena;
    HeapSegment& segment = *SegmentByAddress(thread.tcache_struct, &arena);
    Chunk* c = segment.Find(thread.tcache_struct);
    if (c != nullptr && c->state == ChunkState::kInternal) {
      FreeChunk(segment, *arena, thread.tcache_struct, *c, nullptr);
      arena->freed_tcache_structs.push_back(thread.tcache_struct);
    }
    thread.tcache_struct = 0;
  }
}

void HeapModel::BreakMove(const Event& e) {
  const uint64_t new_break = e.address;
  if (main_->start() == 0 && main_->empty()) main_->set_start(new_break);
  const bool grew = new_break > main_->end();
  main_->set_end(new_break);
  max_brk_extent_ = std::max(max_brk_extent_, main_->extent());
  // Growth by a call means sysmalloc ran: _int_malloc consolidated the
  // fastbins before giving up on the top chunk.
  if (grew && e.aux[1] != 0 && main_arena_->fastbin_chunks != 0) Consolidate(*main_arena_);
}

void HeapModel::SetHeapSize(Heap& heap, uint64_t size) {
  thread_heap_bytes_ += size - heap.size;
  heap.size = size;
  heap.size_known = true;
  heap.segment.set_end(heap.start + size);
  Arena& arena = *heap.arena;
  uint64_t extent = 0;
  for (const Heap* h : arena.heaps) extent += h->size;
  arena.max_extent = std::max(arena.max_extent, extent);
}

void HeapModel::RemoveHeap(Heap& heap) {
  thread_heap_bytes_ -= heap.size;
  std::vector<Heap*>& list = heap.arena->heaps;
  list.erase(std::remove(list.begin(), list.end(), &heap), list.end());
  if (last_heap_ == &heap) last_heap_ = nullptr;
  heaps_.erase(heap.start);
}

void HeapModel::ArenaHeap(const Event& e) {
  trace::ArenaHeapState state;
  state.set_start(e.address);
  state.set_size(e.size);
  state.set_mprotect_size(static_cast<uint64_t>(e.aux[0]));
  state.set_arena(static_cast<uint64_t>(e.aux[1]));
  state.set_previous(static_cast<uint64_t>(e.aux[2]));
  UpdateArenaHeap(state, /*from_sample=*/false);
}

void HeapModel::CorrectArenaHeap(const trace::ArenaHeapState& state) {
  UpdateArenaHeap(state, /*from_sample=*/true);
}

void HeapModel::UpdateArenaHeap(const trace::ArenaHeapState& state, bool from_sample) {
  if (from_sample && !state.gone()) {
    auto known = heaps_.find(state.start());
    if (known != heaps_.end() && known->second->size_known && state.size() >= known->second->size) {
      return;
    }
  }
  if (state.gone()) {
    auto it = heaps_.find(state.start());
    if (it == heaps_.end()) return;
    ++counters_.heap_size_corrections;
    RemoveHeap(*it->second);
    return;
  }
  Heap& heap = HeapAt(state.start());
  if (state.arena() != 0) {
    const uint64_t key = glibc::AlignDown(state.arena(), glibc::kArenaHeapBytes);
    if (heap.arena->key != key) {
      // A later heap of an existing arena, first taken for a new arena.
      Arena* old_arena = heap.arena;
      std::vector<Heap*>& old_list = old_arena->heaps;
      old_list.erase(std::remove(old_list.begin(), old_list.end(), &heap), old_list.end());
      Arena& arena = ArenaFor(key);
      arena.heaps.push_back(&heap);
      heap.arena = &arena;
      if (old_list.empty()) {
        // Its fastbins and threads belong to the real arena.
        for (int cls = 0; cls < kFastbinClasses; ++cls) {
          AddressStack& from = old_arena->fastbins[cls];
          AddressStack& to = arena.fastbins[cls];
          to.entries.insert(to.entries.end(), from.entries.begin(), from.entries.end());
          to.valid += from.valid;
        }
        arena.fastbin_chunks += old_arena->fastbin_chunks;
        auto repoint = [&](std::unique_ptr<Thread>& t) {
          if (t && t->arena == old_arena) t->arena = &arena;
        };
        for (auto& t : threads_) repoint(t);
        for (auto& [id, t] : other_threads_) repoint(t);
        arenas_.erase(old_arena->key);
      }
    }
    heap.arena->address = state.arena();
  }
  heap.segment.set_start(state.start() + (state.previous() == 0 ? glibc::kFirstHeapChunkOffset
                                                                : glibc::kHeapInfoBytes));
  if (heap.size_known && heap.size != state.size()) {
    // Sizes only ever grow between heap records unless the model missed
    // (or mis-simulated) a shrink.
    if (state.size() < heap.size) ++counters_.heap_size_corrections;
  }
  SetHeapSize(heap, state.size());
}

// ---- Figures -------------------------------------------------------------------

namespace {

// The topmost chunk that pins (live, or glibc's own) at or below `it`,
// stepping over cached chunks; false when there is none or too many cached
// chunks are in the way (`truncated`).
// pinned bytes and the pinning chain of one heap segment.
void AddPinning(const HeapSegment& segment, size_t max_pinners, HeapFigures& f) {
  const PinningChain& chain = segment.pinning_chain();
  f.pinners_truncated |= chain.truncated;
  if (chain.top_end == 0) return;
  const uint64_t pinning = segment.live_chunk_bytes() + segment.bytes_in(ChunkState::kInternal);
  const uint64_t below = chain.top_end > segment.start() ? chain.top_end - segment.start() : 0;
  f.pinned_bytes += below > pinning ? below - pinning : 0;
  const size_t n = std::min(max_pinners, chain.pinners.size());
  f.pinners.assign(chain.pinners.begin(), chain.pinners.begin() + static_cast<std::ptrdiff_t>(n));
}

void AddSegment(const HeapSegment& segment, HeapFigures& f) {
  f.live_bytes += segment.live_requested();
  f.live_chunk_bytes += segment.live_chunk_bytes();
  f.live_blocks += segment.live_blocks();
  f.hole_bytes += segment.hole_bytes();
  f.hole_count += segment.hole_count();
  f.largest_hole_bytes = std::max(f.largest_hole_bytes, segment.largest_hole());
  const uint64_t released = std::min(segment.released_hole_bytes(), segment.hole_releasable_bytes());
  f.malloc_trim_releasable_bytes += segment.hole_releasable_bytes() - released;
  f.released_by_malloc_trim_bytes += released;
  f.tcache_bytes += segment.bytes_in(ChunkState::kTcache);
  f.fastbin_bytes += segment.bytes_in(ChunkState::kFastbin);
  f.internal_bytes += segment.bytes_in(ChunkState::kInternal);
}

}  // namespace

HeapFigures HeapModel::Figures(const Arena& arena, size_t max_pinners) const {
  HeapFigures f;
  f.main = arena.main;
  const uint64_t page = config_.page_size;
  if (arena.main) {
    const HeapSegment& segment = *main_;
    f.start = segment.start();
    f.extent_bytes = segment.extent();
    f.max_extent_bytes = max_brk_extent_;
    AddSegment(segment, f);
    f.top_free_bytes = segment.top_free();
    if (f.top_free_bytes >= params_.trim_threshold) {
      f.trimmable_bytes = glibc::TrimmableTop(f.top_free_bytes, params_.top_pad, page);
    }
    // malloc_trim(0) also trims the main heap's top with no pad.
    f.malloc_trim_releasable_bytes += glibc::TrimmableTop(f.top_free_bytes, 0, page);
    AddPinning(segment, max_pinners, f);
    return f;
  }
  f.arena = arena.address;
  f.start = arena.key;
  f.heaps = static_cast<uint32_t>(arena.heaps.size());
  f.max_extent_bytes = arena.max_extent;
  for (size_t i = 0; i < arena.heaps.size(); ++i) {
    const Heap& heap = *arena.heaps[i];
    const HeapSegment& segment = heap.segment;
    f.extent_bytes += heap.size;
    AddSegment(segment, f);
    const bool newest = i + 1 == arena.heaps.size();
    if (newest) {
      f.top_free_bytes = segment.top_free();
      if (f.top_free_bytes >= params_.trim_threshold) {
        f.trimmable_bytes = glibc::TrimmableTop(f.top_free_bytes, params_.top_pad, page);
      }
      AddPinning(segment, max_pinners, f);
    } else {
      // An older heap's top became an ordinary free chunk when the next heap
      // was made, and no shrink ever reaches it.
      const uint64_t tail = segment.top_free();
      if (tail != 0) {
        f.hole_bytes += tail;
        f.hole_count += 1;
        f.largest_hole_bytes = std::max(f.largest_hole_bytes, tail);
        f.malloc_trim_releasable_bytes +=
            glibc::MallocTrimReleasable(segment.in_use_end(), segment.end(), page);
      }
      const uint64_t used = segment.live_chunk_bytes() + segment.bytes_in(ChunkState::kInternal);
      f.pinned_bytes += segment.extent() > used ? segment.extent() - used : 0;
    }
  }
  f.max_extent_bytes = std::max(f.max_extent_bytes, f.extent_bytes);
  return f;
}

HeapFigures HeapModel::MainFigures(size_t max_pinners) const {
  return Figures(*main_arena_, max_pinners);
}

std::vector<HeapFigures> HeapModel::ThreadArenaFigures(size_t max_pinners) const {
  std::vector<const Arena*> order;
  for (const auto& [key, arena] : arenas_) order.push_back(arena.get());
  std::sort(order.begin(), order.end(),
            [](const Arena* a, const Arena* b) { return a->key < b->key; });
  std::vector<HeapFigures> out;
  out.reserve(order.size());
  for (const Arena* arena : order) out.push_back(Figures(*arena, max_pinners));
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> HeapModel::ThreadArenaExtents() const {
  std::vector<std::pair<uint64_t, uint64_t>> keyed;
  for (const auto& [key, arena] : arenas_) {
    uint64_t extent = 0;
    for (const Heap* heap : arena->heaps) extent += heap->size;
    keyed.emplace_back(key, extent);
  }
  std::sort(keyed.begin(), keyed.end());
  return keyed;
}

// ---- Checks ----------------------------------------------------------------------

HeapWalkCheck HeapModel::CheckHeapWalk(const trace::HeapWalk& walk) const {
  HeapWalkCheck c;
  c.available = true;
  c.complete = walk.complete();
  c.walk_chunks = walk.chunks_size();
  c.walk_brk = walk.brk();
  c.model_brk = main_->end();
  const uint64_t heap_start = walk.heap_start();
  auto example = [&](uint64_t address, uint64_t size, const char* what) {
    if (c.examples.size() < 8) {
      c.examples.push_back(absl::StrFormat("chunk at heap+0x%x (%u B): %s", address - heap_start,
                                           size, what));
    }
  };
  const HeapSegment::Order& model = main_->order();
  auto m = model.begin();
  uint64_t p = heap_start;
  const int n = walk.chunks_size();
  for (int i = 0; i < n; ++i) {
    const uint64_t value = walk.chunks(i);
    const uint64_t size = value & ~uint64_t{15};
    const bool top = c.complete && i == n - 1;
    const bool in_use = !top && (value & 1) != 0;
    // Model chunks that start before this walk chunk and were not matched
    // lie inside free memory of the walk (or straddle chunks).
    for (; m != model.end() && m->first < p; ++m) {
      const uint64_t model_size = m->second;
      ++c.in_use_only_in_model;
      c.in_use_only_in_model_bytes += model_size;
      example(m->first, model_size, "free in glibc, in use in the model");
    }
    if (top) {
      c.walk_top_bytes = size;
    } else if (in_use) {
      c.walk_in_use_bytes += size;
      if (m != model.end() && m->first == p) {
        const uint64_t model_size = m->second;
        if (model_size == size) {
          ++c.matching_chunks;
        } else {
          ++c.size_mismatches;
          example(p, size, absl::StrFormat("in use in both, %u B in the model", model_size).c_str());
        }
        ++m;
      } else {
        ++c.in_use_only_in_walk;
        c.in_use_only_in_walk_bytes += size;
        example(p, size, "in use in glibc, free in the model");
      }
    } else {
      ++c.walk_hole_count;
      c.walk_hole_bytes += size;
      c.walk_largest_hole = std::max(c.walk_largest_hole, size);
      if (m == model.end() || m->first >= p + size) ++c.matching_chunks;
    }
    p += size;
  }
  if (c.complete) {
    for (; m != model.end(); ++m) {
      const uint64_t model_size = m->second;
      ++c.in_use_only_in_model;
      c.in_use_only_in_model_bytes += model_size;
      example(m->first, model_size, "above glibc's top chunk, in use in the model");
    }
  }
  c.model_hole_bytes = main_->hole_bytes();
  c.model_hole_count = main_->hole_count();
  c.model_largest_hole = main_->largest_hole();
  c.model_top_bytes = main_->top_free();
  c.model_in_use_bytes = main_->in_use_bytes();
  return c;
}

PredictedMallinfo HeapModel::PredictMallinfo() const {
  PredictedMallinfo m;
  m.arena = brk_extent() + thread_heap_bytes_;
  uint64_t free_bytes = 0;
  auto add = [&](const HeapFigures& f) {
    // Free chunks in bins and the top; fastbin chunks are free to mallinfo.
    free_bytes += f.hole_bytes + f.top_free_bytes;
    m.ordblks += f.hole_count + 1;
  };
  const HeapFigures main = MainFigures(0);
  add(main);
  m.keepcost = main.top_free_bytes;
  for (const HeapFigures& f : ThreadArenaFigures(0)) add(f);
  auto add_fast = [&](const HeapSegment& segment) {
    m.smblks += segment.count_in(ChunkState::kFastbin);
    m.fsmblks += segment.bytes_in(ChunkState::kFastbin);
  };
  add_fast(*main_);
  for (const auto& [start, heap] : heaps_) add_fast(heap->segment);
  m.fordblks = free_bytes + m.fsmblks;
  m.uordblks = m.arena > m.fordblks ? m.arena - m.fordblks : 0;
  m.hblks = mmapped_.size();
  m.hblkhd = mmapped_bytes_;
  return m;
}

}  // namespace heapgap::report
