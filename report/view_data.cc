#include "report/view_data.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "report/export_stacks.h"
#include "report/format.h"
#include "report/json_writer.h"
#include "report/op.h"

namespace heapgap::report {
namespace {

constexpr uint32_t kOpBreakMove = 64;
constexpr uint32_t kOpArenaHeap = 65;
// glibc's HEAP_MAX_SIZE on 64-bit: thread arena heaps are reserved (and
// aligned) in units of this.
constexpr uint64_t kArenaHeapReserve = 64ull << 20;
// Chunks drawn one by one at the top of each region even when the rest are
// merged: the topmost live chunks are the ones that pin free memory.
constexpr size_t kTopChunksKept = 64;

}  // namespace

// ---------------------------------------------------------------- Timeline

Timeline::Timeline(size_t buckets) : buckets_(std::max<size_t>(buckets, 2)) {}

void Timeline::Add(Channel channel, uint64_t time_ns, uint64_t value) {
  if (!started_) {
    started_ = true;
    base_ns_ = time_ns;
  }
  const uint64_t t = time_ns > base_ns_ ? time_ns - base_ns_ : 0;
  while (t / width_ns_ >= buckets_.size()) Widen();
  const size_t i = static_cast<size_t>(t / width_ns_);
  Cell& cell = buckets_[i][channel];
  if (!cell.set) {
    cell = Cell{value, value, value, time_ns, true};
  } else {
    cell.min = std::min(cell.min, value);
    cell.max = std::max(cell.max, value);
    if (time_ns >= cell.last_time) {
      cell.last = value;
      cell.last_time = time_ns;
    }
  }
  used_ = std::max(used_, i + 1);
}

void Timeline::Widen() {
  const size_t n = buckets_.size();
  for (size_t i = 0; i < n / 2; ++i) {
    Bucket merged = buckets_[2 * i];
    const Bucket& second = buckets_[2 * i + 1];
    for (int c = 0; c < kChannelCount; ++c) {
      const Cell& b = second[c];
      Cell& a = merged[c];
      if (!b.set) continue;
      if (!a.set) {
        a = b;
        continue;
      }
      a.min = std::min(a.min, b.min);
      a.max = std::max(a.max, b.max);
      if (b.last_time >= a.last_time) {
        a.last = b.last;
        a.last_time = b.last_time;
      }
    }
    buckets_[i] = merged;
  }
  for (size_t i = n / 2; i < n; ++i) buckets_[i] = Bucket{};
  width_ns_ *= 2;
  used_ = (used_ + 1) / 2;
}

// ----------------------------------------------------------- ViewCollector

ViewCollector::ViewCollector(const ViewOptions& options) : timeline_(options.timeline_buckets) {}

void ViewCollector::OnRecord(const trace::Record& record, uint64_t /*bytes_read*/) {
  if (record.kind_case() != trace::Record::kSample) return;
  const trace::Sample& sample = record.sample();
  ++samples_;
  rss_hwm_ = std::max({rss_hwm_, sample.rss_hwm_bytes(), sample.rss_bytes()});
  if (sample.time_ns() == 0) return;
  timeline_.Add(Timeline::kRss, sample.time_ns(), sample.rss_bytes());
  for (const trace::ArenaHeapState& heap : sample.arena_heaps()) {
    if (heap.gone()) {
      arena_heaps_.erase(heap.start());
    } else {
      arena_heaps_[heap.start()] = ArenaHeap{heap.size(), heap.arena()};
    }
  }
  uint64_t arena_bytes = 0;
  for (const auto& [start, heap] : arena_heaps_) arena_bytes += heap.size;
  timeline_.Add(Timeline::kArenas, sample.time_ns(), arena_bytes);
}

void ViewCollector::OnEvent(const Event& e, const HeapReplay& replay) {
  last_time_ns_ = std::max(last_time_ns_, e.time_ns);
  switch (ClassifyOp(e.op)) {
    case OpKind::kAllocation:
      Allocated(e);
      break;
    case OpKind::kRelease:
      Released(e);
      break;
    case OpKind::kAddressSpace:
      if (e.op == kOpBreakMove) {
        brk_ = e.address;
        timeline_.Add(Timeline::kHeapBreak, e.time_ns, brk_);
      } else if (e.op == kOpArenaHeap) {
        arena_heaps_[e.address] = ArenaHeap{e.size, static_cast<uint64_t>(e.aux[1])};
        uint64_t arena_bytes = 0;
        for (const auto& [start, heap] : arena_heaps_) arena_bytes += heap.size;
        timeline_.Add(Timeline::kArenas, e.time_ns, arena_bytes);
      }
      return;
    default:
      return;
  }
  timeline_.Add(Timeline::kLive, e.time_ns, replay.live_bytes());
  timeline_.Add(Timeline::kLiveBlocks, e.time_ns, replay.live_blocks());
  timeline_.Add(Timeline::kMmapped, e.time_ns, mmapped_bytes_);
  if (replay.peak_bytes() > peak_bytes_seen_ || (!peak_seen_ && replay.live_blocks() != 0)) {
    // A new maximum: the heap as it is now is the peak so far.
    peak_seen_ = true;
    peak_bytes_seen_ = replay.peak_bytes();
    peak_seq_ = e.seq;
    peak_time_ns_ = e.time_ns;
    peak_brk_ = brk_;
    peak_arena_heaps_ = arena_heaps_;
    released_since_peak_.clear();
  }
}

void ViewCollector::Allocated(const Event& e) {
  if (e.address == 0) return;
  Chunk c;
  c.address = e.address;
  c.size = e.size;
  c.time_ns = e.time_ns;
  c.stack_id = e.stack_id;
  c.seq = e.seq;
  const uint64_t header_size = e.chunk_header & ~uint64_t{7};
  if (e.chunk_header != 0 && (e.chunk_header & kChunkMmapped) != 0) {
    c.mmapped = true;
    c.chunk_start = e.address - 16 - e.mmapped_chunk_offset;
    c.chunk_bytes = header_size + e.mmapped_chunk_offset;
    mmapped_bytes_ += c.chunk_bytes;
  } else {
    c.chunk_start = e.address - 16;
    // Without the header, glibc's request2size: the request plus the size
    // word, rounded up to 16, at least 32.
    c.chunk_bytes = e.chunk_header != 0 ? header_size
                                        : std::max<uint64_t>(32, (e.size + 8 + 15) & ~uint64_t{15});
  }
  auto [it, inserted] = live_.try_emplace(e.address, c);
  if (!inserted) {
    Forget(it->second);
    it->second = c;
  }
}

void ViewCollector::Released(const Event& e) {
  auto it = live_.find(e.address);
  if (it == live_.end()) return;
  Forget(it->second);
  live_.erase(it);
}

void ViewCollector::Forget(const Chunk& chunk) {
  if (chunk.mmapped) mmapped_bytes_ -= chunk.chunk_bytes;
  if (peak_seen_ && chunk.seq <= peak_seq_) released_since_peak_.push_back(chunk);
}

ViewCollector::HeapState ViewCollector::PeakState() const {
  HeapState state;
  if (!peak_seen_) return state;
  state.time_ns = peak_time_ns_;
  state.brk = peak_brk_;
  state.arena_heaps = peak_arena_heaps_;
  state.chunks = released_since_peak_;
  for (const auto& [address, chunk] : live_) {
    if (chunk.seq <= peak_seq_) state.chunks.push_back(chunk);
  }
  return state;
}

ViewCollector::HeapState ViewCollector::EndState() const {
  HeapState state;
  state.time_ns = last_time_ns_;
  state.brk = brk_;
  state.arena_heaps = arena_heaps_;
  state.chunks.reserve(live_.size());
  for (const auto& [address, chunk] : live_) state.chunks.push_back(chunk);
  return state;
}

// --------------------------------------------------------------- Call tree
namespace {

// Every allocation stack merged into a tree of frames from the outermost
// caller down, each node with the measures of the stacks that end there.
class CallTree {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  CallTree() { nodes_.push_back(Node{kNone, kNone, {}}); }

  void Add(const StackValues& values, const std::vector<SymbolizedFrame>& frames) {
    uint32_t node = 0;
    if (frames.empty()) {
      SymbolizedFrame placeholder;
      placeholder.function = values.stack_id == 0 ? "[no stack recorded]" : "[unknown stack]";
      node = Child(node, Frame(placeholder));
    }
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) node = Child(node, Frame(*it));
    for (int m = 0; m < kStackMeasureCount; ++m) nodes_[node].self[m] += values.values[m];
    stack_node_[values.stack_id] = node;
  }

  // Keeps the `limit` nodes that weigh most in any measure (a node never
  // weighs less than its descendants, so the kept nodes form a tree); the
  // values of the others go to their nearest kept ancestor. Returns the
  // number of nodes folded.
  size_t Prune(size_t limit) {
    const size_t n = nodes_.size();
    if (n <= limit || limit == 0) return 0;
    // Inclusive values: children always come after their parent.
    std::vector<std::array<uint64_t, kStackMeasureCount>> total(n);
    for (size_t i = 0; i < n; ++i) total[i] = nodes_[i].self;
    for (size_t i = n - 1; i > 0; --i) {
      for (int m = 0; m < kStackMeasureCount; ++m) total[nodes_[i].parent][m] += total[i][m];
    }
    std::vector<double> weight(n, 0.0);
    for (size_t i = 0; i < n; ++i) {
      for (int m = 0; m < kStackMeasureCount; ++m) {
        if (total[0][m] == 0) continue;
        weight[i] = std::max(weight[i], static_cast<double>(total[i][m]) /
                                            static_cast<double>(total[0][m]));
      }
    }
    std::vector<uint32_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
    // Ties go to the lower index, so a parent is never cut before its child.
    std::nth_element(order.begin(), order.begin() + (limit - 1), order.end(),
                     [&weight](uint32_t a, uint32_t b) {
                       return weight[a] != weight[b] ? weight[a] > weight[b] : a < b;
                     });
    std::vector<bool> keep(n, false);
    for (size_t i = 0; i < limit; ++i) keep[order[i]] = true;
    keep[0] = true;
    // New indices in the old order; a dropped node maps to its kept ancestor.
    std::vector<uint32_t> renumber(n);
    std::vector<Node> kept;
    for (size_t i = 0; i < n; ++i) {
      if (keep[i] && (i == 0 || keep[nodes_[i].parent])) {
        renumber[i] = static_cast<uint32_t>(kept.size());
        Node node = nodes_[i];
        if (i != 0) node.parent = renumber[node.parent];
        kept.push_back(node);
      } else {
        keep[i] = false;
        renumber[i] = renumber[nodes_[i].parent];
        for (int m = 0; m < kStackMeasureCount; ++m) kept[renumber[i]].self[m] += nodes_[i].self[m];
      }
    }
    for (auto& [stack, node] : stack_node_) node = renumber[node];
    const size_t folded = n - kept.size();
    nodes_ = std::move(kept);
    children_.clear();
    return folded;
  }

  // The node where stack `stack_id` ends, or kNone.
  uint32_t NodeOf(uint64_t stack_id) const {
    auto it = stack_node_.find(stack_id);
    return it == stack_node_.end() ? kNone : it->second;
  }

  void Write(JsonWriter& w) const {
    w.Key("strings");
    w.BeginArray();
    for (const std::string& s : strings_) w.String(s);
    w.EndArray();

    w.Key("frames");
    w.BeginObject();
    auto column = [&w, this](const char* key, auto get) {
      w.Key(key);
      w.BeginArray();
      for (const FrameInfo& f : frames_) w.Int(get(f));
      w.EndArray();
    };
    column("name", [](const FrameInfo& f) { return f.name; });
    column("file", [](const FrameInfo& f) { return f.file; });
    column("line", [](const FrameInfo& f) { return f.line; });
    column("module", [](const FrameInfo& f) { return f.module; });
    column("inlined", [](const FrameInfo& f) { return f.inlined ? 1 : 0; });
    w.EndObject();

    w.Key("tree");
    w.BeginObject();
    w.Key("parent");
    w.BeginArray();
    for (const Node& n : nodes_) w.Int(n.parent == kNone ? -1 : static_cast<int64_t>(n.parent));
    w.EndArray();
    w.Key("frame");
    w.BeginArray();
    for (const Node& n : nodes_) w.Int(n.frame == kNone ? -1 : static_cast<int64_t>(n.frame));
    w.EndArray();
    w.Key("self");
    w.BeginObject();
    for (const StackMeasureInfo& info : StackMeasures()) {
      w.Key(info.key);
      w.BeginArray();
      for (const Node& n : nodes_) w.Uint(n.self[static_cast<int>(info.measure)]);
      w.EndArray();
    }
    w.EndObject();
    // Where each allocation stack of the trace ends, by stack id, so that
    // figures the report gives per stack can be drawn on the tree.
    std::vector<std::pair<uint64_t, uint32_t>> stacks(stack_node_.begin(), stack_node_.end());
    std::sort(stacks.begin(), stacks.end());
    w.Key("stack_id");
    w.BeginArray();
    for (const auto& [id, node] : stacks) w.Uint(id);
    w.EndArray();
    w.Key("stack_node");
    w.BeginArray();
    for (const auto& [id, node] : stacks) w.Uint(node);
    w.EndArray();
    w.EndObject();
  }

  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    uint32_t parent;
    uint32_t frame;
    std::array<uint64_t, kStackMeasureCount> self;
  };
  struct FrameInfo {
    uint32_t name, file, module;
    int line;
    bool inlined;
    bool operator==(const FrameInfo& o) const {
      return std::tie(name, file, module, line, inlined) ==
             std::tie(o.name, o.file, o.module, o.line, o.inlined);
    }
    template <typename H>
    friend H AbslHashValue(H h, const FrameInfo& f) {
      return H::combine(std::move(h), f.name, f.file, f.module, f.line, f.inlined);
    }
  };

  uint32_t String(const std::string& s) {
    auto [it, inserted] = string_index_.try_emplace(s, static_cast<uint32_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }

  uint32_t Frame(const SymbolizedFrame& f) {
    FrameInfo info{String(FrameName(f)), String(f.file), String(f.module), f.line, f.inlined};
    auto [it, inserted] = frame_index_.try_emplace(info, static_cast<uint32_t>(frames_.size()));
    if (inserted) frames_.push_back(info);
    return it->second;
  }

  uint32_t Child(uint32_t parent, uint32_t frame) {
    auto [it, inserted] =
        children_.try_emplace(std::make_pair(parent, frame), static_cast<uint32_t>(nodes_.size()));
    if (inserted) nodes_.push_back(Node{parent, frame, {}});
    return it->second;
  }

  std::vector<Node> nodes_;
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, uint32_t> children_;
  std::vector<std::string> strings_;
  absl::flat_hash_map<std::string, uint32_t> string_index_;
  std::vector<FrameInfo> frames_;
  absl::flat_hash_map<FrameInfo, uint32_t> frame_index_;
  absl::flat_hash_map<uint64_t, uint32_t> stack_node_;
};

// ---------------------------------------------------------------- Heap map

using Chunk = ViewCollector::Chunk;

struct Region {
  std::string kind;  // "main", "arena", "mmapped", "other"
  std::string name;
  uint64_t start = 0;
  uint64_t end = 0;
  std::vector<const Chunk*> chunks;  // by address
};

// Splits the chunks of `state` into the main heap, each thread arena heap,
// the mmapped chunks, and whatever lies elsewhere.
std::vector<Region> Regions(const ViewCollector::HeapState& state, uint64_t heap_start) {
  Region main{"main", "main heap (brk)", heap_start, state.brk, {}};
  std::vector<std::pair<uint64_t, ViewCollector::ArenaHeap>> heaps(state.arena_heaps.begin(),
                                                                    state.arena_heaps.end());
  std::sort(heaps.begin(), heaps.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Region> arenas;
  for (const auto& [start, heap] : heaps) {
    arenas.push_back(Region{"arena", absl::StrCat("thread arena ", HexAddress(heap.arena), " heap ",
                                                  HexAddress(start)),
                            start, start + heap.size, {}});
  }
  Region mmapped{"mmapped", "mmapped chunks (each its own mapping)", 0, 0, {}};
  std::vector<Region> others;
  auto in_main = [&](const Chunk& c) {
    return heap_start != 0 && state.brk != 0 && c.chunk_start >= heap_start &&
           c.chunk_start < state.brk;
  };
  for (const Chunk& c : state.chunks) {
    if (c.mmapped) {
      mmapped.chunks.push_back(&c);
      continue;
    }
    if (in_main(c)) {
      main.chunks.push_back(&c);
      continue;
    }
    auto heap = std::upper_bound(arenas.begin(), arenas.end(), c.chunk_start,
                                 [](uint64_t a, const Region& r) { return a < r.start; });
    if (heap != arenas.begin() && c.chunk_start < std::prev(heap)->start + kArenaHeapReserve) {
      std::prev(heap)->chunks.push_back(&c);
      continue;
    }
    // Unknown ground: group by the 64 MiB unit it lies in.
    const uint64_t unit = c.chunk_start & ~(kArenaHeapReserve - 1);
    auto other = std::find_if(others.begin(), others.end(),
                              [unit](const Region& r) { return r.start == unit; });
    if (other == others.end()) {
      others.push_back(Region{"other", absl::StrCat("other heap memory near ", HexAddress(unit)),
                              unit, unit, {}});
      other = std::prev(others.end());
    }
    other->chunks.push_back(&c);
  }
  std::vector<Region> regions;
  if (main.end > main.start || !main.chunks.empty()) regions.push_back(std::move(main));
  for (Region& r : arenas) regions.push_back(std::move(r));
  for (Region& r : others) regions.push_back(std::move(r));
  if (!mmapped.chunks.empty()) regions.push_back(std::move(mmapped));
  for (Region& r : regions) {
    std::sort(r.chunks.begin(), r.chunks.end(),
              [](const Chunk* a, const Chunk* b) { return a->chunk_start < b->chunk_start; });
    if (r.kind == "mmapped" || r.chunks.empty()) continue;
    // Chunks the recorded extent did not cover widen it.
    if (r.kind == "other") r.start = r.chunks.front()->chunk_start;
    if (r.start == 0 || r.start > r.chunks.front()->chunk_start) r.start = r.chunks.front()->chunk_start;
    const uint64_t top = r.chunks.back()->chunk_start + r.chunks.back()->chunk_bytes;
    r.end = std::max(r.end, top);
  }
  return regions;
}

void WriteHeapMap(const char* name, const char* label, const ViewCollector::HeapState& state,
                  const TraceAnalysis& analysis, const CallTree& tree, size_t max_chunks,
                  JsonWriter& w) {
  const std::vector<Region> regions = Regions(state, analysis.header.heap_start());
  size_t total = 0, kept_whole = 0;
  for (const Region& r : regions) {
    total += r.chunks.size();
    kept_whole += std::min(r.chunks.size(), kTopChunksKept);
  }
  // Chunks per merged entry below the top ones, so the total fits.
  size_t group = 1;
  if (total > max_chunks && max_chunks > kept_whole) {
    group = (total - kept_whole + (max_chunks - kept_whole) - 1) / (max_chunks - kept_whole);
  } else if (total > max_chunks) {
    group = total;
  }

  w.BeginObject();
  w.Key("name");
  w.String(name);
  w.Key("label");
  w.String(label);
  w.Key("time_ns");
  w.Uint(analysis.SinceStart(state.time_ns));
  w.Key("chunks");
  w.Uint(total);
  w.Key("merged");
  w.Bool(group > 1);
  w.Key("regions");
  w.BeginArray();
  for (const Region& r : regions) {
    const bool packed = r.kind == "mmapped";
    uint64_t live = 0, chunk_bytes = 0, holes = 0, hole_bytes = 0, largest_hole = 0;
    uint64_t cursor = r.start;
    for (const Chunk* c : r.chunks) {
      live += c->size;
      chunk_bytes += c->chunk_bytes;
      if (!packed && c->chunk_start > cursor) {
        const uint64_t gap = c->chunk_start - cursor;
        ++holes;
        hole_bytes += gap;
        largest_hole = std::max(largest_hole, gap);
      }
      cursor = std::max(cursor, c->chunk_start + c->chunk_bytes);
    }
    w.BeginObject();
    w.Key("kind");
    w.String(r.kind);
    w.Key("name");
    w.String(r.name);
    w.Key("start");
    w.String(HexAddress(r.start));
    w.Key("end");
    w.String(HexAddress(packed ? r.start : r.end));
    w.Key("extent_bytes");
    w.Uint(packed ? chunk_bytes : r.end - r.start);
    w.Key("live_chunks");
    w.Uint(r.chunks.size());
    w.Key("live_bytes");
    w.Uint(live);
    w.Key("chunk_bytes");
    w.Uint(chunk_bytes);
    if (!packed) {
      // Free space between live chunks, and above the topmost one.
      w.Key("holes");
      w.Uint(holes);
      w.Key("hole_bytes");
      w.Uint(hole_bytes);
      w.Key("largest_hole_bytes");
      w.Uint(largest_hole);
      w.Key("top_free_bytes");
      w.Uint(r.end > cursor ? r.end - cursor : 0);
    }
    // Columns, one entry per chunk or group of merged chunks, by address.
    std::vector<uint64_t> offset, bytes, size, time, count, address;
    std::vector<int64_t> node;
    const size_t n = r.chunks.size();
    const size_t whole_from = n > kTopChunksKept ? n - kTopChunksKept : 0;
    uint64_t packed_offset = 0;
    for (size_t i = 0; i < n;) {
      const size_t take = i < whole_from ? std::min(group, whole_from - i) : 1;
      const Chunk& first = *r.chunks[i];
      const Chunk& last = *r.chunks[i + take - 1];
      uint64_t sum = 0, oldest = UINT64_MAX;
      uint32_t common = tree.NodeOf(first.stack_id);
      for (size_t k = i; k < i + take; ++k) {
        sum += r.chunks[k]->size;
        oldest = std::min(oldest, r.chunks[k]->time_ns);
        if (tree.NodeOf(r.chunks[k]->stack_id) != common) common = CallTree::kNone;
      }
      const uint64_t extent = last.chunk_start + last.chunk_bytes - first.chunk_start;
      offset.push_back(packed ? packed_offset : first.chunk_start - r.start);
      bytes.push_back(packed ? first.chunk_bytes : extent);
      packed_offset += packed ? first.chunk_bytes : 0;
      size.push_back(sum);
      time.push_back(analysis.SinceStart(oldest));
      count.push_back(take);
      node.push_back(common == CallTree::kNone ? -1 : static_cast<int64_t>(common));
      if (packed) address.push_back(first.chunk_start);
      i += take;
    }
    auto column = [&w](const char* key, const auto& values) {
      w.Key(key);
      w.BeginArray();
      for (auto v : values) {
        if constexpr (std::is_signed_v<std::decay_t<decltype(v)>>) {
          w.Int(v);
        } else {
          w.Uint(v);
        }
      }
      w.EndArray();
    };
    w.Key("chunk");
    w.BeginObject();
    column("offset", offset);
    column("bytes", bytes);
    column("size", size);
    column("node", node);
    column("time_ns", time);
    column("count", count);
    if (packed) {
      w.Key("start");
      w.BeginArray();
      for (uint64_t a : address) w.String(HexAddress(a));
      w.EndArray();
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteTimeline(const Timeline& timeline, const TraceAnalysis& analysis, JsonWriter& w) {
  w.BeginObject();
  const size_t n = timeline.empty() ? 0 : timeline.used();
  w.Key("start_ns");
  w.Uint(timeline.empty() ? 0 : analysis.SinceStart(timeline.base_ns()));
  w.Key("width_ns");
  w.Uint(timeline.width_ns());
  w.Key("buckets");
  w.Uint(n);
  w.Key("series");
  w.BeginObject();
  const uint64_t heap_start = analysis.header.heap_start();
  struct Series {
    const char* key;
    Timeline::Channel channel;
  };
  const Series kSeries[] = {
      {"live_bytes", Timeline::kLive},      {"live_blocks", Timeline::kLiveBlocks},
      {"heap_extent", Timeline::kHeapBreak}, {"mmapped_bytes", Timeline::kMmapped},
      {"arena_bytes", Timeline::kArenas},   {"rss_bytes", Timeline::kRss},
  };
  for (const Series& s : kSeries) {
    bool any = false;
    for (size_t i = 0; i < n && !any; ++i) any = timeline.bucket(i)[s.channel].set;
    if (!any) continue;
    if (s.channel == Timeline::kHeapBreak && heap_start == 0) continue;
    // The break as the extent of the main heap above its start.
    auto value = [&](uint64_t v) {
      if (s.channel != Timeline::kHeapBreak) return v;
      return v > heap_start ? v - heap_start : 0;
    };
    w.Key(s.key);
    w.BeginObject();
    for (const char* part : {"min", "max", "last"}) {
      w.Key(part);
      w.BeginArray();
      for (size_t i = 0; i < n; ++i) {
        const Timeline::Cell& cell = timeline.bucket(i)[s.channel];
        if (!cell.set) {
          w.Null();
          continue;
        }
        const uint64_t v = part[1] == 'i' ? cell.min : part[1] == 'a' ? cell.max : cell.last;
        w.Uint(value(v));
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
}

}  // namespace

std::string ViewDataJson(const TraceAnalysis& analysis, const ViewCollector& collector,
                         const ViewOptions& options, StackSymbolizer& symbolizer) {
  std::vector<std::string> notes;
  CallTree tree;
  const std::vector<StackValues> stacks = CollectStackValues(analysis);
  for (const StackValues& s : stacks) {
    bool any = false;
    for (uint64_t v : s.values) any = any || v != 0;
    if (!any) continue;
    tree.Add(s, symbolizer.Symbolize(s.stack_id, analysis.stacks, analysis.modules));
  }
  if (const size_t folded = tree.Prune(options.max_tree_nodes); folded != 0) {
    notes.push_back(absl::StrCat("the call tree has its ", WithThousands(options.max_tree_nodes),
                                 " heaviest nodes; ", WithThousands(folded),
                                 " lighter ones are counted in their callers"));
  }

  std::string out;
  JsonWriter w(&out, 0);
  w.BeginObject();
  w.Key("format");
  w.Uint(1);
  w.Key("measures");
  w.BeginArray();
  for (const StackMeasureInfo& info : StackMeasures()) {
    w.BeginObject();
    w.Key("key");
    w.String(info.key);
    w.Key("label");
    w.String(info.label);
    w.Key("unit");
    w.String(info.unit);
    w.EndObject();
  }
  w.EndArray();
  tree.Write(w);

  w.Key("timeline");
  WriteTimeline(collector.timeline(), analysis, w);
  w.Key("rss_hwm_bytes");
  w.Uint(collector.rss_hwm_bytes());
  w.Key("samples");
  w.Uint(collector.samples());
  w.Key("heap_start");
  w.String(HexAddress(analysis.header.heap_start()));

  w.Key("heap_maps");
  w.BeginArray();
  const ViewCollector::HeapState peak = collector.PeakState();
  const ViewCollector::HeapState end = collector.EndState();
  size_t merged = 0;
  for (const auto* state : {&peak, &end}) {
    if (state->chunks.size() > options.max_chunks) merged = std::max(merged, state->chunks.size());
  }
  if (!peak.chunks.empty() || peak.brk != 0) {
    WriteHeapMap("peak", "at the peak of the live heap", peak, analysis, tree, options.max_chunks, w);
  }
  WriteHeapMap("end", "at the end", end, analysis, tree, options.max_chunks, w);
  w.EndArray();
  if (merged != 0) {
    notes.push_back(absl::StrCat("the heap maps list up to ", WithThousands(options.max_chunks),
                                 " entries: below the topmost chunks of each region, neighbouring "
                                 "chunks are merged (", WithThousands(merged), " live chunks)"));
  }

  w.Key("notes");
  w.BeginArray();
  for (const std::string& note : notes) w.String(note);
  w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace heapgap::report
