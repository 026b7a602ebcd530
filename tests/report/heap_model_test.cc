// The heap model on synthetic event streams whose geometry is known by
// construction: chunk headers are written the way glibc 2.36 lays chunks out.
#include "report/heap_model.h"

#include <vector>

#include "gtest/gtest.h"
#include "report/heap_params.h"
#include "report/heap_segment.h"

namespace heapgap::report {
namespace {

constexpr uint64_t kHeap = 0x555555559000;      // main heap start
constexpr uint64_t kFirst = kHeap + 0x290;      // after the main thread's tcache structure
constexpr uint64_t kArenaHeap = 0x7ffff0000000;  // a thread arena's first heap (64 MiB aligned)
constexpr uint64_t kP = glibc::kPrevInUse;
constexpr uint64_t kM = glibc::kIsMmapped;
constexpr uint64_t kA = glibc::kNonMainArena;

class HeapModelTest : public ::testing::Test {
 protected:
  HeapModelTest() : model(HeapModel::Config{kHeap, 4096}) { Break(kHeap + 0x21000, 0); }

  Event Make(uint32_t op, uint64_t address, uint64_t size, uint64_t header, uint32_t thread) {
    Event e;
    e.seq = ++seq;
    e.time_ns = 1000 * seq;
    e.op = op;
    e.address = address;
    e.size = size;
    e.chunk_header = header;
    e.thread_id = thread;
    e.stack_id = 100 + seq;
    return e;
  }
  // An allocation of a chunk [chunk, chunk + size) by `thread`.
  void Alloc(uint64_t chunk, uint64_t size, uint32_t thread = 1, uint64_t bits = kP,
             uint32_t op = 1) {
    model.Apply(Make(op, chunk + 16, size - 16, size | bits, thread));
  }
  void Free(uint64_t chunk, uint64_t size, uint32_t thread = 1, uint64_t bits = kP) {
    model.Apply(Make(32, chunk + 16, 0, size | bits, thread));
  }
  void Break(uint64_t new_break, uint64_t cause) {
    Event e = Make(64, new_break, 0, 0, 1);
    e.aux[0] = static_cast<int64_t>(model.brk());
    e.aux[1] = static_cast<int64_t>(cause);
    model.Apply(e);
  }
  void Mallopt(int param, int64_t value) {
    Event e = Make(73, 0, 0, 0, 1);
    e.aux[0] = param;
    e.aux[1] = value;
    e.aux[2] = 1;
    model.Apply(e);
  }
  // `count` consecutive chunks of `size` from `start`; returns their starts.
  std::vector<uint64_t> Fill(uint64_t start, uint64_t size, int count, uint32_t thread = 1,
                             uint64_t bits = kP) {
    std::vector<uint64_t> chunks;
    for (int i = 0; i < count; ++i) {
      Alloc(start + i * size, size, thread, bits);
      chunks.push_back(start + i * size);
    }
    return chunks;
  }

  HeapModel model;
  uint64_t seq = 0;
};

TEST(HeapParamsTest, GlibcFormulas) {
  EXPECT_EQ(glibc::RequestToChunk(0), 32u);
  EXPECT_EQ(glibc::RequestToChunk(24), 32u);
  EXPECT_EQ(glibc::RequestToChunk(25), 48u);
  EXPECT_EQ(glibc::RequestToChunk(1000), 0x3f0u);
  EXPECT_EQ(glibc::TcacheIndex(32), 0u);
  EXPECT_EQ(glibc::TcacheIndex(1040), 63u);
  EXPECT_EQ(glibc::TcacheIndex(1056), 64u);
  // systrim: top - MINSIZE - 1 - pad, page aligned down.
  EXPECT_EQ(glibc::TrimmableTop(0x21000, 0, 4096), 0x20000u);
  EXPECT_EQ(glibc::TrimmableTop(0x21000, 128 << 10, 4096), 0u);
  EXPECT_EQ(glibc::TrimmableTop(0x42000, 128 << 10, 4096), 0x21000u);
  // malloc_trim: whole pages from ALIGN_UP(chunk + 48, page) to the chunk's end.
  EXPECT_EQ(glibc::MallocTrimReleasable(0x1000, 0x2000, 4096), 0u);
  EXPECT_EQ(glibc::MallocTrimReleasable(0x1000, 0x3000, 4096), 0x1000u);
  EXPECT_EQ(glibc::MallocTrimReleasable(0xfd0, 0x3000, 4096), 0x2000u);
  EXPECT_EQ(glibc::MallocTrimReleasable(0xfe0, 0x3000, 4096), 0x1000u);
}

TEST(HeapParamsTest, MalloptAndSettings) {
  MallocParams p;
  EXPECT_TRUE(ApplyMallopt(glibc::kMallocMmapThreshold, 65536, p));
  EXPECT_EQ(p.mmap_threshold, 65536u);
  EXPECT_TRUE(p.no_dyn_threshold);
  EXPECT_FALSE(ApplyMallopt(glibc::kMallocMmapThreshold, 64 << 20, p));  // above HEAP_MAX/2
  EXPECT_TRUE(ApplyMallopt(glibc::kMallocMxFast, 0, p));
  EXPECT_EQ(p.max_fast, 16u);  // no chunk is that small: no fastbins
  EXPECT_TRUE(ApplyMallopt(glibc::kMallocMxFast, 160, p));
  EXPECT_EQ(p.max_fast, 160u);
  EXPECT_FALSE(ApplyMallopt(glibc::kMallocMxFast, 161, p));

  MallocParams q;
  trace::MallocSettings settings;
  settings.set_glibc_tunables(
      "glibc.malloc.tcache_count=0:glibc.malloc.trim_threshold=0x40000:glibc.rtld.x=1");
  settings.add_environment("MALLOC_TOP_PAD_=4096");
  std::vector<std::string> applied;
  ApplyMallocSettings(settings, q, applied);
  EXPECT_EQ(q.tcache_count, 0u);
  EXPECT_EQ(q.trim_threshold, 0x40000u);
  EXPECT_EQ(q.top_pad, 4096u);
  EXPECT_TRUE(q.no_dyn_threshold);
  EXPECT_EQ(applied, (std::vector<std::string>{"MALLOC_TOP_PAD_=4096",
                                               "glibc.malloc.tcache_count=0",
                                               "glibc.malloc.trim_threshold=0x40000"}));
}

TEST(GapSizesTest, LargestOfSmallAndLargeGaps) {
  GapSizes gaps;
  EXPECT_EQ(gaps.Largest(), 0u);
  gaps.Add(48);
  gaps.Add(4000);
  EXPECT_EQ(gaps.Largest(), 4000u);
  gaps.Add(1 << 20);
  gaps.Add(1 << 20);
  EXPECT_EQ(gaps.Largest(), 1u << 20);
  gaps.Remove(1 << 20);
  EXPECT_EQ(gaps.Largest(), 1u << 20);
  gaps.Remove(1 << 20);
  gaps.Remove(4000);
  EXPECT_EQ(gaps.Largest(), 48u);
}

TEST_F(HeapModelTest, FirstBlockPlacesTheTcacheStructure) {
  Alloc(kFirst, 0x30);
  const HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.internal_bytes, glibc::kTcacheStructChunk);
  EXPECT_EQ(f.hole_bytes, 0u);
  EXPECT_EQ(f.live_chunk_bytes, 0x30u);
  EXPECT_EQ(f.top_free_bytes, 0x21000u - 0x290 - 0x30);
  EXPECT_EQ(model.counters().tcache_structs_placed, 1u);
}

TEST_F(HeapModelTest, FreedChunksBetweenLiveOnesAreHoles) {
  // Chunks of 0x500 are too big for the tcache and fastbins.
  const std::vector<uint64_t> c = Fill(kFirst, 0x500, 5);
  Free(c[1], 0x500);
  EXPECT_EQ(model.hole_bytes(), 0x500u);
  Free(c[2], 0x500, 1, 0);  // P clear: c[1] below is free
  HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.hole_bytes, 0xa00u);  // coalesced: one hole
  EXPECT_EQ(f.hole_count, 1u);
  EXPECT_EQ(f.largest_hole_bytes, 0xa00u);
  // Freeing the topmost chunk merges it into the top: no hole grows.
  const uint64_t top = f.top_free_bytes;
  Free(c[4], 0x500);
  f = model.MainFigures(10);
  EXPECT_EQ(f.hole_bytes, 0xa00u);
  EXPECT_EQ(f.top_free_bytes, top + 0x500);
  // Freeing c[3] merges the hole and c[3] into the top.
  Free(c[3], 0x500, 1, 0);
  EXPECT_EQ(model.hole_bytes(), 0u);
  EXPECT_EQ(model.MainFigures(10).top_free_bytes, top + 4 * 0x500);
}

TEST_F(HeapModelTest, PinningChainInDescendingAddressOrderWithGains) {
  Alloc(kFirst, 0x500);                                   // x: bottom, long-lived
  std::vector<uint64_t> low = Fill(kFirst + 0x500, 0x500, 16);   // 20 KiB
  const uint64_t p2 = kFirst + 17 * 0x500;
  Alloc(p2, 0x30);                                        // pins `low`
  std::vector<uint64_t> high = Fill(p2 + 0x30, 0x500, 32);       // 40 KiB
  const uint64_t p1 = p2 + 0x30 + 32 * 0x500;
  Alloc(p1, 0x20);                                        // pins `high`
  for (uint64_t c : low) Free(c, 0x500, 1, c == low.front() ? kP : 0);
  for (uint64_t c : high) Free(c, 0x500, 1, c == high.front() ? kP : 0);

  const HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.hole_bytes, (16u + 32u) * 0x500);
  EXPECT_EQ(f.hole_count, 2u);
  EXPECT_EQ(f.largest_hole_bytes, 32u * 0x500);
  EXPECT_EQ(f.pinned_bytes, (16u + 32u) * 0x500);
  ASSERT_GE(f.pinners.size(), 4u);
  EXPECT_EQ(f.pinners[0].address, p1 + 16);
  EXPECT_EQ(f.pinners[0].chunk_size, 0x20u);
  EXPECT_EQ(f.pinners[0].requested, 0x10u);
  EXPECT_EQ(f.pinners[0].bytes_released_if_freed, 32u * 0x500 + 0x20);
  EXPECT_EQ(f.pinners[1].address, p2 + 16);
  EXPECT_EQ(f.pinners[1].bytes_released_if_freed, 16u * 0x500 + 0x30);
  EXPECT_EQ(f.pinners[2].address, kFirst + 16);
  EXPECT_EQ(f.pinners[2].bytes_released_if_freed, 0x500u);
  EXPECT_TRUE(f.pinners[3].internal);  // the tcache structure at the bottom
  EXPECT_LT(f.pinners[1].time_ns, f.pinners[0].time_ns);
  EXPECT_NE(f.pinners[0].stack_id, f.pinners[1].stack_id);
  EXPECT_EQ(f.trimmable_bytes, 0u);
}

TEST_F(HeapModelTest, TcacheHoldsSevenChunksPerSizeThenTheyCoalesce) {
  // 0x90-byte chunks (over 128: no fastbin), every other one freed.
  const std::vector<uint64_t> c = Fill(kFirst, 0x90, 20);
  for (int i = 0; i < 20; i += 2) Free(c[i], 0x90);
  HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.tcache_bytes, 7u * 0x90);
  EXPECT_EQ(f.hole_count, 3u);  // the 8th, 9th and 10th freed
  EXPECT_EQ(f.hole_bytes, 3u * 0x90);
  // The tcache hands its last chunk back; the next free takes its place.
  Alloc(c[12], 0x90);
  EXPECT_EQ(model.MainFigures(10).tcache_bytes, 6u * 0x90);
  Free(c[19], 0x90);
  EXPECT_EQ(model.MainFigures(10).tcache_bytes, 7u * 0x90);
  // calloc does not take from the tcache: a new chunk from the top, while
  // the cached ones stay cached; its free goes to the tcache (now full, so
  // it merges into the top).
  Alloc(c[19] + 0x90, 0x90, 1, kP, 2);
  EXPECT_EQ(model.MainFigures(10).tcache_bytes, 7u * 0x90);
  Free(c[19] + 0x90, 0x90);
  EXPECT_EQ(model.MainFigures(10).tcache_bytes, 7u * 0x90);
  // A tcache per thread: a block freed by thread 2 goes to thread 2's.
  Free(c[17], 0x90, 2);
  EXPECT_EQ(model.MainFigures(10).tcache_bytes, 8u * 0x90);
  EXPECT_EQ(model.counters().unknown_releases, 0u);
}

TEST_F(HeapModelTest, FastbinsHoldSmallChunksUntilConsolidation) {
  const std::vector<uint64_t> c = Fill(kFirst, 0x40, 12);
  Alloc(kFirst + 12 * 0x40, 0x30);  // keeps the top away
  for (int i = 0; i < 10; ++i) Free(c[i], 0x40);
  HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.tcache_bytes, 7u * 0x40);
  EXPECT_EQ(f.fastbin_bytes, 3u * 0x40);
  EXPECT_EQ(f.hole_bytes, 0u);  // fastbin chunks are in use for glibc
  // A large request (chunk >= 1024) not served by the tcache consolidates:
  // the three fastbin chunks merge into one hole.
  Alloc(kFirst + 12 * 0x40 + 0x30, 0x410);
  f = model.MainFigures(10);
  EXPECT_EQ(f.fastbin_bytes, 0u);
  EXPECT_EQ(f.hole_bytes, 3u * 0x40);
  EXPECT_EQ(f.hole_count, 1u);
  EXPECT_EQ(model.counters().consolidations, 1u);
}

TEST_F(HeapModelTest, FastbinHitMovesTheRestOfTheFastbinIntoTheTcache) {
  const std::vector<uint64_t> c = Fill(kFirst, 0x40, 12);
  for (int i = 0; i < 10; ++i) Free(c[i], 0x40);  // 7 in the tcache, 3 in the fastbin
  for (int i = 6; i >= 0; --i) Alloc(c[i], 0x40);  // the tcache empties, LIFO
  EXPECT_EQ(model.MainFigures(10).tcache_bytes, 0u);
  // The fastbin's last chunk in; the other two move to the tcache.
  Alloc(c[9], 0x40);
  const HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.fastbin_bytes, 0u);
  EXPECT_EQ(f.tcache_bytes, 2u * 0x40);
  EXPECT_EQ(model.counters().fastbin_stashes, 2u);
}

TEST_F(HeapModelTest, MalloptMxFastZeroMeansNoFastbins) {
  Mallopt(glibc::kMallocMxFast, 0);
  const std::vector<uint64_t> c = Fill(kFirst, 0x40, 12);
  Alloc(kFirst + 12 * 0x40, 0x30);
  for (int i = 0; i < 10; ++i) Free(c[i], 0x40, 1, i < 8 ? kP : 0);
  const HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.fastbin_bytes, 0u);
  EXPECT_EQ(f.hole_bytes, 3u * 0x40);
}

TEST_F(HeapModelTest, ThreadExitFlushesItsTcache) {
  const std::vector<uint64_t> c = Fill(kFirst, 0x90, 10, 2);  // thread 2 allocates
  for (int i = 0; i < 8; i += 2) Free(c[i], 0x90, 2);
  EXPECT_EQ(model.MainFigures(10).tcache_bytes, 4u * 0x90);
  EXPECT_EQ(model.hole_bytes(), 0u);
  model.Apply(Make(75, 0, 0, 0, 2));  // THREAD_EXIT
  const HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.tcache_bytes, 0u);
  // Its tcache structure went too (placed below its first block), merging
  // with c[0]; c[2], c[4] and c[6] are holes of their own.
  EXPECT_EQ(f.internal_bytes, 0u);
  EXPECT_EQ(f.hole_bytes, 0x290u + 4 * 0x90);
  EXPECT_EQ(f.hole_count, 4u);
  // After exit its frees bypass the tcache.
  Free(c[9], 0x90, 2);
  EXPECT_EQ(model.MainFigures(10).tcache_bytes, 0u);
}

TEST_F(HeapModelTest, TrimmableTopFollowsTheTrimThresholdAndTopPad) {
  Alloc(kFirst, 0x30);
  // Grow the break by 1 MiB without blocks: a big free top.
  Break(kHeap + 0x21000 + (1 << 20), 0);
  HeapFigures f = model.MainFigures(10);
  const uint64_t top = f.top_free_bytes;
  EXPECT_EQ(f.trimmable_bytes, glibc::TrimmableTop(top, 128 << 10, 4096));
  EXPECT_EQ(f.malloc_trim_releasable_bytes, glibc::TrimmableTop(top, 0, 4096));
  Mallopt(glibc::kMallocTrimThreshold, 2 << 20);
  EXPECT_EQ(model.MainFigures(10).trimmable_bytes, 0u);
  Mallopt(glibc::kMallocTrimThreshold, 64 << 10);
  Mallopt(glibc::kMallocTopPad, 0);
  EXPECT_EQ(model.MainFigures(10).trimmable_bytes, glibc::TrimmableTop(top, 0, 4096));
  EXPECT_FALSE(model.params().tcache_count == 0);
}

TEST_F(HeapModelTest, MallocTrimReleasesWholePagesInsideHoles) {
  const std::vector<uint64_t> c = Fill(kFirst, 0x5000, 8);
  Alloc(kFirst + 8 * 0x5000, 0x30);
  for (int i = 1; i < 7; ++i) Free(c[i], 0x5000, 1, i == 1 ? kP : 0);
  const uint64_t hole_start = c[1];
  const uint64_t hole_end = c[7];
  const HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.hole_bytes, hole_end - hole_start);
  EXPECT_EQ(f.malloc_trim_releasable_bytes,
            glibc::MallocTrimReleasable(hole_start, hole_end, 4096) +
                glibc::TrimmableTop(f.top_free_bytes, 0, 4096));
  // malloc_trim records what the model expected.
  Event trim = Make(72, 0, 0, 0, 1);
  trim.aux[0] = 1;
  model.Apply(trim);
  ASSERT_EQ(model.allocator_calls().size(), 1u);
  EXPECT_EQ(model.allocator_calls()[0].predicted_release_bytes, f.malloc_trim_releasable_bytes);
  // Those pages are gone from RSS: a second malloc_trim would release none
  // of them, until blocks are placed there again.
  const uint64_t in_holes = glibc::MallocTrimReleasable(hole_start, hole_end, 4096);
  HeapFigures after = model.MainFigures(10);
  EXPECT_EQ(after.released_by_malloc_trim_bytes, in_holes);
  EXPECT_EQ(after.malloc_trim_releasable_bytes, f.malloc_trim_releasable_bytes - in_holes);
  Alloc(c[3], 0x5000);
  after = model.MainFigures(10);
  EXPECT_LE(after.released_by_malloc_trim_bytes, in_holes - 0x4000);
  EXPECT_GE(after.released_by_malloc_trim_bytes, in_holes - 0x6000);
}

TEST_F(HeapModelTest, FreeingAMmappedBlockRaisesTheMmapThreshold) {
  const uint64_t block = 0x7ffff7000000;
  const uint64_t size = 0x101000;  // a 1 MiB request
  Alloc(block - 16, size, 1, kM);
  EXPECT_EQ(model.mmapped_bytes(), size);
  EXPECT_EQ(model.hole_bytes(), 0u);
  Free(block - 16, size, 1, kM);
  EXPECT_EQ(model.mmapped_bytes(), 0u);
  EXPECT_EQ(model.hole_bytes(), 0u);
  ASSERT_EQ(model.threshold_changes().size(), 1u);
  EXPECT_EQ(model.threshold_changes()[0].old_mmap_threshold, 128u << 10);
  EXPECT_EQ(model.params().mmap_threshold, size);
  EXPECT_EQ(model.params().trim_threshold, 2 * size);
  // The same size again changes nothing; above 32 MiB neither.
  Alloc(block - 16, size, 1, kM);
  Free(block - 16, size, 1, kM);
  Alloc(block - 16, (32 << 20) + 0x1000, 1, kM);
  Free(block - 16, (32 << 20) + 0x1000, 1, kM);
  EXPECT_EQ(model.threshold_changes().size(), 1u);
  // A 512 KiB block now comes from the heap: counted against the change.
  Alloc(kFirst, 0x80010);
  EXPECT_EQ(model.threshold_changes()[0].heap_allocations_instead_of_mmap, 1u);
  EXPECT_EQ(model.mmapped_allocations(), 3u);
}

TEST_F(HeapModelTest, MalloptFixesTheMmapThreshold) {
  Mallopt(glibc::kMallocMmapThreshold, 1 << 16);
  Alloc(0x7ffff7000000 - 16, 0x101000, 1, kM);
  Free(0x7ffff7000000 - 16, 0x101000, 1, kM);
  EXPECT_TRUE(model.threshold_changes().empty());
  EXPECT_EQ(model.params().mmap_threshold, 1u << 16);
}

TEST_F(HeapModelTest, MmappedChunksCountTheirWholeMapping) {
  Event e = Make(5, 0x7ffff7000000 + 0xb000, 300000, 0x4a000 | kM, 1);  // memalign
  e.aux[0] = 65536;
  e.mmapped_chunk_offset = 0xaff0;
  model.Apply(e);
  EXPECT_EQ(model.mmapped_bytes(), 0x4a000u + 0xaff0);
  EXPECT_EQ(model.footprint_bytes(), model.brk_extent() + 0x4a000 + 0xaff0);
  EXPECT_EQ(model.mmapped_blocks(), 1u);
}

TEST_F(HeapModelTest, ThreadArenaHeapsPinAndShrink) {
  // Thread 2's arena: its first heap, chunks after malloc_state.
  Event heap = Make(65, kArenaHeap, 0x21000, 0, 2);
  heap.aux[0] = 0x21000;
  heap.aux[1] = static_cast<int64_t>(kArenaHeap + 0x30);
  model.Apply(heap);
  const uint64_t first = kArenaHeap + glibc::kFirstHeapChunkOffset + glibc::kTcacheStructChunk;
  const std::vector<uint64_t> c = Fill(first, 0x5000, 40, 2, kP | kA);  // 800 KiB
  heap.size = 0x21000 + 40 * 0x5000;
  heap.seq = ++seq;
  model.Apply(heap);
  std::vector<HeapFigures> arenas = model.ThreadArenaFigures(10);
  ASSERT_EQ(arenas.size(), 1u);
  EXPECT_EQ(arenas[0].arena, kArenaHeap + 0x30);
  EXPECT_EQ(arenas[0].extent_bytes, 0x21000u + 40 * 0x5000);
  EXPECT_EQ(arenas[0].internal_bytes, glibc::kTcacheStructChunk);
  EXPECT_EQ(model.footprint_bytes(), model.brk_extent() + 0x21000 + 40 * 0x5000);
  // Free all but the last: the last pins the rest.
  for (int i = 0; i < 39; ++i) Free(c[i], 0x5000, 2, (i == 0 ? kP : 0) | kA);
  arenas = model.ThreadArenaFigures(10);
  EXPECT_EQ(arenas[0].hole_bytes, 39u * 0x5000);
  ASSERT_FALSE(arenas[0].pinners.empty());
  EXPECT_EQ(arenas[0].pinners[0].address, c[39] + 16);
  EXPECT_EQ(arenas[0].pinners[0].bytes_released_if_freed, 40u * 0x5000);
  // Freeing the last merges everything into the top, over the trim
  // threshold: heap_trim shrinks the heap (inside free, so simulated) down
  // to the top pad.
  Free(c[39], 0x5000, 2, kA);
  arenas = model.ThreadArenaFigures(10);
  EXPECT_EQ(model.counters().simulated_heap_trims, 1u);
  EXPECT_EQ(arenas[0].extent_bytes, 0x21000u);
  EXPECT_EQ(arenas[0].hole_bytes, 0u);
  // A sample showing a larger size than the model is ignored (the heap
  // records report growth); a smaller one is a shrink the model missed.
  trace::ArenaHeapState state;
  state.set_start(kArenaHeap);
  state.set_arena(kArenaHeap + 0x30);
  state.set_size(0x80000);
  model.CorrectArenaHeap(state);
  EXPECT_EQ(model.ThreadArenaFigures(0)[0].extent_bytes, 0x21000u);
  state.set_size(0x1000);
  model.CorrectArenaHeap(state);
  EXPECT_EQ(model.ThreadArenaFigures(0)[0].extent_bytes, 0x1000u);
  state.set_gone(true);
  model.CorrectArenaHeap(state);
  EXPECT_EQ(model.ThreadArenaFigures(0)[0].extent_bytes, 0u);
}

TEST_F(HeapModelTest, ReallocInPlaceFreesWhatItDoesNotKeep) {
  const std::vector<uint64_t> c = Fill(kFirst, 0x200, 3);
  // realloc(c[1], 50): shrinks in place; the 0x1c0 tail goes to the tcache.
  model.Apply(Make(33, c[1] + 16, 0, 0x200 | kP, 1));
  Event shrink = Make(3, c[1] + 16, 50, 0x40 | kP, 1);
  shrink.aux[0] = static_cast<int64_t>(c[1] + 16);
  model.Apply(shrink);
  HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.tcache_bytes, 0x1c0u);
  EXPECT_EQ(f.live_chunk_bytes, 0x200u + 0x40 + 0x200);
  // realloc(c[0], 100) that moved: the old chunk is freed into the tcache.
  model.Apply(Make(33, c[0] + 16, 0, 0x200 | kP, 1));
  Event moved = Make(3, c[2] + 0x200 + 16, 100, 0x70 | kP, 1);
  moved.aux[0] = static_cast<int64_t>(c[0] + 16);
  model.Apply(moved);
  f = model.MainFigures(10);
  EXPECT_EQ(f.tcache_bytes, 0x1c0u + 0x200);
  EXPECT_EQ(f.live_blocks, 3u);
  EXPECT_EQ(model.counters().realloc_remainders, 1u);
}

TEST_F(HeapModelTest, MemalignFreesItsLeadingAndTrailingParts) {
  Alloc(kFirst, 0x30);
  // posix_memalign(128, 300) from the top at kFirst + 0x30: glibc carves a
  // chunk of request2size(320 + 128 + 32) = 0x1f0, puts the block at the
  // first 128-aligned spot at least 32 bytes in, and frees both ends into
  // the tcache.
  const uint64_t p = kFirst + 0x30;
  uint64_t block = ((p + 16 + 127) & ~uint64_t{127}) - 16;
  if (block - p < 32) block += 128;
  Event e = Make(6, block + 16, 300, 0x140 | kP, 1);
  e.aux[0] = 128;
  model.Apply(e);
  const uint64_t lead = block - p;
  const uint64_t tail = 0x1f0 - lead - 0x140;
  const HeapFigures f = model.MainFigures(10);
  EXPECT_EQ(f.tcache_bytes, lead + tail);
  EXPECT_EQ(f.hole_bytes, 0u);
  EXPECT_EQ(model.counters().memalign_remainders, 2u);
}

TEST_F(HeapModelTest, MissedFreesAreRepairedByLaterAllocations) {
  const std::vector<uint64_t> c = Fill(kFirst, 0x100, 4);
  // glibc hands out memory over c[1] and c[2]: their frees were lost.
  Alloc(c[1], 0x200);
  EXPECT_EQ(model.counters().overlaps_repaired, 2u);
  EXPECT_EQ(model.MainFigures(10).live_blocks, 3u);
  EXPECT_EQ(model.hole_bytes(), 0u);
}

TEST_F(HeapModelTest, HeapWalkAndMallinfoChecks) {
  const std::vector<uint64_t> c = Fill(kFirst, 0x500, 3);
  Free(c[1], 0x500);
  trace::HeapWalk walk;
  walk.set_heap_start(kHeap);
  walk.set_brk(kHeap + 0x21000);
  walk.add_chunks(0x290 | 1);
  walk.add_chunks(0x500 | 1);
  walk.add_chunks(0x500);
  walk.add_chunks(0x500 | 1);
  walk.add_chunks(0x21000 - 0x290 - 3 * 0x500);
  walk.set_complete(true);
  HeapWalkCheck check = model.CheckHeapWalk(walk);
  EXPECT_EQ(check.matching_chunks, 4u);
  EXPECT_EQ(check.in_use_only_in_walk + check.in_use_only_in_model + check.size_mismatches, 0u);
  EXPECT_EQ(check.walk_hole_bytes, check.model_hole_bytes);
  EXPECT_EQ(check.walk_top_bytes, check.model_top_bytes);
  EXPECT_TRUE(check.examples.empty());

  // glibc says c[1] is in use (a cache the model missed).
  walk.set_chunks(2, 0x500 | 1);
  check = model.CheckHeapWalk(walk);
  EXPECT_EQ(check.in_use_only_in_walk, 1u);
  EXPECT_EQ(check.in_use_only_in_walk_bytes, 0x500u);
  EXPECT_EQ(check.walk_hole_bytes, 0u);
  EXPECT_EQ(check.model_hole_bytes, 0x500u);
  ASSERT_EQ(check.examples.size(), 1u);
  EXPECT_EQ(check.examples[0], "chunk at heap+0x790 (1280 B): in use in glibc, free in the model");

  const PredictedMallinfo m = model.PredictMallinfo();
  EXPECT_EQ(m.arena, 0x21000u);
  EXPECT_EQ(m.ordblks, 2u);  // the hole and the top
  EXPECT_EQ(m.keepcost, 0x21000u - 0x290 - 3 * 0x500);
  EXPECT_EQ(m.fordblks, 0x500u + m.keepcost);
  EXPECT_EQ(m.uordblks, 0x290u + 2 * 0x500);
}

}  // namespace
}  // namespace heapgap::report
