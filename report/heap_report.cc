#include "report/heap_report.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "report/format.h"
#include "report/leak_output.h"
#include "report/trace_analysis.h"

namespace heapgap::report {
namespace {

std::vector<SymbolizedFrame> Stack(uint64_t stack_id, const TraceAnalysis& a,
                                   StackSymbolizer& symbolizer) {
  if (stack_id == 0) return {};
  return symbolizer.Symbolize(stack_id, a.stacks, a.modules);
}

ArenaRecord ToArenaRecord(const HeapFigures& figures, uint64_t moment_mono_ns,
                          const TraceAnalysis& a, StackSymbolizer& symbolizer) {
  ArenaRecord record;
  record.figures = figures;
  record.figures.pinners.clear();
  for (const Pinner& p : figures.pinners) {
    PinnerRecord pinner;
    pinner.pinner = p;
    pinner.time_ns = a.SinceStart(p.time_ns);
    pinner.age_ns = moment_mono_ns > p.time_ns ? moment_mono_ns - p.time_ns : 0;
    pinner.stack = Stack(p.stack_id, a, symbolizer);
    record.pinners.push_back(std::move(pinner));
  }
  return record;
}

MomentRecord ToMoment(const HeapMoment& moment, const TraceAnalysis& a,
                      StackSymbolizer& symbolizer) {
  MomentRecord record;
  record.valid = moment.valid;
  if (!moment.valid) return record;
  record.time_ns = a.SinceStart(moment.time_ns);
  record.footprint_bytes = moment.footprint_bytes;
  record.hole_bytes = moment.hole_bytes;
  record.live_bytes = moment.live_bytes;
  record.mmapped_bytes = moment.mmapped_bytes;
  record.mmapped_blocks = moment.mmapped_blocks;
  record.main = ToArenaRecord(moment.main, moment.time_ns, a, symbolizer);
  for (const HeapFigures& arena : moment.arenas) {
    record.arenas.push_back(ToArenaRecord(arena, moment.time_ns, a, symbolizer));
  }
  return record;
}

void AddDifferences(HeapGeometryReport& r) {
  auto differ = [&r](auto&&... parts) { r.differences.push_back(absl::StrCat(parts...)); };
  const HeapWalkCheck& w = r.walk;
  if (w.available) {
    if (!w.complete) differ("the heap walk at exit stopped early (an inconsistency or its size cap)");
    if (w.walk_brk != w.model_brk) {
      differ("break at exit: ", HexAddress(w.walk_brk), " in the heap walk, ",
             HexAddress(w.model_brk), " in the model");
    }
    if (w.in_use_only_in_walk != 0) {
      differ(Count(w.in_use_only_in_walk, "chunk", "chunks"), " (",
             Count(w.in_use_only_in_walk_bytes, "byte", "bytes"),
             ") in use in glibc's heap are free in the model");
    }
    if (w.in_use_only_in_model != 0) {
      differ(Count(w.in_use_only_in_model, "chunk", "chunks"), " (",
             Count(w.in_use_only_in_model_bytes, "byte", "bytes"),
             ") free in glibc's heap are in use in the model");
    }
    if (w.size_mismatches != 0) {
      differ(Count(w.size_mismatches, "chunk", "chunks"), " in use in both have other sizes");
    }
    if (w.walk_hole_bytes != w.model_hole_bytes || w.walk_hole_count != w.model_hole_count) {
      differ("main heap holes at exit: ", WithThousands(w.walk_hole_bytes), " bytes in ",
             WithThousands(w.walk_hole_count), " in the heap walk, ",
             WithThousands(w.model_hole_bytes), " bytes in ", WithThousands(w.model_hole_count),
             " in the model");
    }
    if (w.walk_top_bytes != w.model_top_bytes) {
      differ("main heap top at exit: ", WithThousands(w.walk_top_bytes),
             " bytes in the heap walk, ", WithThousands(w.model_top_bytes), " in the model");
    }
  }
  if (r.has_mallinfo) {
    const trace::MallocInfo& m = r.mallinfo;
    const PredictedMallinfo& p = r.predicted_mallinfo;
    std::vector<std::string> fields;
    auto field = [&fields](const char* name, uint64_t glibc, uint64_t model) {
      if (glibc != model) {
        fields.push_back(absl::StrCat(name, " ", WithThousands(glibc), " (model ",
                                      WithThousands(model), ")"));
      }
    };
    field("arena", m.arena(), p.arena);
    field("ordblks", m.ordblks(), p.ordblks);
    field("smblks", m.smblks(), p.smblks);
    field("hblks", m.hblks(), p.hblks);
    field("hblkhd", m.hblkhd(), p.hblkhd);
    field("fsmblks", m.fsmblks(), p.fsmblks);
    field("uordblks", m.uordblks(), p.uordblks);
    field("fordblks", m.fordblks(), p.fordblks);
    field("keepcost", m.keepcost(), p.keepcost);
    if (!fields.empty()) differ("mallinfo2 at exit: ", absl::StrJoin(fields, ", "));
  }
}

void AddEstimates(const TraceAnalysis& a, HeapGeometryReport& r) {
  auto note = [&r](auto&&... parts) { r.estimates.push_back(absl::StrCat(parts...)); };
  note("tcaches and fastbins are simulated with glibc 2.36's rules; glibc also moves free chunks "
       "into tcaches inside malloc without a visible call, so holes are upper bounds");
  const ModelCounters& c = r.counters;
  if (a.header.forked()) {
    note("fork child: the heap began as a copy of the parent's, whose blocks the model does not "
         "know");
  }
  if (c.events_without_chunk_header != 0) {
    note(Count(c.events_without_chunk_header, "allocation", "allocations"),
         " had no chunk header and are not placed");
  }
  if (c.unknown_releases != 0) {
    note(Count(c.unknown_releases, "release", "releases"), " of chunks the model did not hold");
  }
  if (c.overlaps_repaired != 0) {
    note(Count(c.overlaps_repaired, "allocation", "allocations"),
         " landed on chunks the model held in use (", WithThousands(c.overlap_bytes_repaired),
         " bytes): their releases were not seen");
  }
  if (c.unexplained_in_use_below != 0) {
    note(Count(c.unexplained_in_use_below, "allocation", "allocations"),
         " had an in-use chunk right below that the model held free (a chunk glibc cached "
         "unseen, or a block allocated before tracing)");
  }
  if (c.cached_below_freed != 0) {
    note(Count(c.cached_below_freed, "chunk", "chunks"),
         " the model held in a cache were found free by glibc and freed");
  }
  if (c.tcache_structs_placed != 0) {
    note("glibc allocates each thread's tcache structure (", glibc::kTcacheStructChunk,
         " bytes) unseen; those of ", Count(c.tcache_structs_placed, "thread", "threads"),
         " are placed by inference (below the thread's first block, or where an exited "
         "thread's was)");
  }
  if (c.memalign_remainders + c.realloc_remainders != 0) {
    note(Count(c.memalign_remainders + c.realloc_remainders, "chunk", "chunks"),
         " that memalign or realloc split off and freed inside glibc are placed by simulating "
         "them");
  }
  if (c.simulated_heap_trims + c.simulated_heap_deletions != 0) {
    note("thread arena heaps shrank ", c.simulated_heap_trims, " times and were removed ",
         c.simulated_heap_deletions, " times inside free, as simulated; samples correct the sizes");
  }
  if (c.heap_size_corrections != 0) {
    note(Count(c.heap_size_corrections, "thread arena heap size", "thread arena heap sizes"),
         " read later differed from the model's");
  }
  if (c.program_break_calls != 0) {
    note("the program moved the break itself (", Count(c.program_break_calls, "call", "calls"),
         "): the main heap's extent includes its memory");
  }
}

}  // namespace

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return value >= 100 ? absl::StrFormat("%.0f %s", value, units[unit])
                      : absl::StrFormat("%.1f %s", value, units[unit]);
}

HeapGeometryReport BuildHeapGeometryReport(const TraceAnalysis& a, StackSymbolizer& symbolizer) {
  const HeapGeometryResult& g = a.geometry.result();
  HeapGeometryReport r;
  r.available = g.has_chunk_headers;
  r.end = ToMoment(g.end, a, symbolizer);
  r.at_peak_footprint = ToMoment(g.at_peak_footprint, a, symbolizer);
  r.at_worst_holes = ToMoment(g.at_worst_holes, a, symbolizer);
  r.rss_hwm_bytes = g.rss_hwm_bytes;
  r.mmapped_allocations = g.mmapped_allocations;
  r.initial_params = g.initial_params;
  r.final_params = g.final_params;
  r.settings_applied = g.settings_applied;
  for (const ThresholdChange& change : g.threshold_changes) {
    ThresholdChangeRecord record;
    record.change = change;
    record.time_ns = a.SinceStart(change.time_ns);
    record.freed_block_stack = Stack(change.freed_block_stack, a, symbolizer);
    r.threshold_changes.push_back(std::move(record));
  }
  for (const AllocatorCall& call : g.allocator_calls) {
    AllocatorCallRecord record;
    record.call = call;
    record.time_ns = a.SinceStart(call.time_ns);
    record.stack = Stack(call.stack_id, a, symbolizer);
    if (call.trim) {
      for (const RssPoint& point : g.rss) {
        if (point.time_ns <= call.time_ns) record.rss_before_bytes = point.rss_bytes;
        if (point.time_ns > call.time_ns) {
          record.rss_after_bytes = point.rss_bytes;
          break;
        }
      }
    }
    r.allocator_calls.push_back(std::move(record));
  }
  r.counters = g.counters;
  r.walk = g.walk;
  if (g.final_mallinfo) {
    r.has_mallinfo = true;
    r.mallinfo = *g.final_mallinfo;
    r.predicted_mallinfo = g.predicted_mallinfo;
  }
  r.timeline = g.timeline;
  for (TimelinePoint& point : r.timeline) point.time_ns = a.SinceStart(point.time_ns);
  r.timeline_arenas = g.timeline_arenas;
  r.rss = g.rss;
  for (RssPoint& point : r.rss) point.time_ns = a.SinceStart(point.time_ns);
  if (r.available) {
    AddDifferences(r);
    AddEstimates(a, r);
  }
  return r;
}

// ---- Text --------------------------------------------------------------------

namespace {

bool IsSystemLibrary(const std::string& module) {
  return absl::StrContains(module, "/libc.so") || absl::StrContains(module, "/libstdc++.so") ||
         absl::StrContains(module, "/libgcc_s.so") || absl::StrContains(module, "/ld-linux");
}

std::string FrameText(const SymbolizedFrame& f) {
  std::string where;
  if (!f.file.empty()) {
    const size_t slash = f.file.rfind('/');
    const std::string file = slash == std::string::npos ? f.file : f.file.substr(slash + 1);
    where = f.line > 0 ? absl::StrCat(file, ":", f.line) : file;
  } else if (!f.module.empty()) {
    where = absl::StrCat(f.module, "+", HexAddress(f.module_offset));
  } else {
    where = "unknown module";
  }
  return f.function.empty() ? absl::StrCat(HexAddress(f.address), " (", where, ")")
                            : absl::StrCat(f.function, " (", where, ")");
}

// "Cache::insert (cache.cc:88)": the innermost frame of the program itself.
std::string CallerText(const std::vector<SymbolizedFrame>& stack) {
  if (stack.empty()) return "an unknown caller";
  for (const SymbolizedFrame& frame : stack) {
    if (!IsSystemLibrary(frame.module)) return FrameText(frame);
  }
  return FrameText(stack.front());
}

void AppendFigures(const HeapFigures& f, absl::string_view indent, std::string& out) {
  absl::StrAppend(&out, indent, HumanBytes(f.live_bytes), " live in ",
                  Count(f.live_blocks, "block", "blocks"), "; ", HumanBytes(f.hole_bytes), " in ",
                  Count(f.hole_count, "hole", "holes"), " (largest ",
                  HumanBytes(f.largest_hole_bytes), "); free top ", HumanBytes(f.top_free_bytes));
  if (f.tcache_bytes + f.fastbin_bytes != 0) {
    absl::StrAppend(&out, "; ", HumanBytes(f.tcache_bytes + f.fastbin_bytes),
                    " freed but held in tcaches and fastbins");
  }
  absl::StrAppend(&out, "\n", indent, "pinned below the topmost live block: ",
                  HumanBytes(f.pinned_bytes), "; glibc would trim ",
                  HumanBytes(f.trimmable_bytes), " by itself; malloc_trim(0) could release ",
                  HumanBytes(f.malloc_trim_releasable_bytes));
  if (f.released_by_malloc_trim_bytes != 0) {
    absl::StrAppend(&out, " (", HumanBytes(f.released_by_malloc_trim_bytes),
                    " in holes already released by an earlier malloc_trim)");
  }
  out += "\n";
}

void AppendPinners(const ArenaRecord& arena, size_t top, std::string& out) {
  if (arena.pinners.empty()) return;
  out += "    pinning chain (topmost live blocks first):\n";
  size_t shown = 0;
  std::vector<uint64_t> stacks_shown;
  const size_t limit = top == 0 ? arena.pinners.size() : std::min(top, arena.pinners.size());
  for (size_t i = 0; i < limit; ++i) {
    const PinnerRecord& p = arena.pinners[i];
    // The first few always; further ones only when they pin much.
    if (i >= 3 && p.pinner.bytes_released_if_freed < (64u << 10)) continue;
    ++shown;
    if (p.pinner.internal) {
      absl::StrAppend(&out, "      ", HumanBytes(p.pinner.chunk_size),
                      " glibc tcache structure of thread ", p.pinner.thread_id, ", pins ",
                      HumanBytes(p.pinner.bytes_released_if_freed), "\n");
      continue;
    }
    absl::StrAppend(&out, "      ", HumanBytes(p.pinner.requested), " from ", CallerText(p.stack),
                    ", allocated at ", FormatDuration(p.time_ns), ", pins ",
                    HumanBytes(p.pinner.bytes_released_if_freed), "\n");
    // A stack already shown is not repeated.
    if (std::find(stacks_shown.begin(), stacks_shown.end(), p.pinner.stack_id) !=
        stacks_shown.end()) {
      continue;
    }
    stacks_shown.push_back(p.pinner.stack_id);
    for (size_t k = 0; k < p.stack.size() && k < 6; ++k) {
      absl::StrAppend(&out, "        #", k, " ", FrameText(p.stack[k]), "\n");
    }
  }
  if (arena.pinners.size() > shown) {
    absl::StrAppend(&out, "      (", arena.pinners.size() - shown,
                    " more in the chain pin less; the JSON report lists them)\n");
  }
}

void AppendMoment(const MomentRecord& m, absl::string_view title, size_t top, bool pinners,
                  std::string& out) {
  if (!m.valid) return;
  absl::StrAppend(&out, "  ", title, " (", FormatDuration(m.time_ns), "): footprint ",
                  HumanBytes(m.footprint_bytes), " = main heap ",
                  HumanBytes(m.main.figures.extent_bytes));
  uint64_t arena_bytes = 0;
  for (const ArenaRecord& arena : m.arenas) arena_bytes += arena.figures.extent_bytes;
  if (!m.arenas.empty()) {
    absl::StrAppend(&out, " + ", Count(m.arenas.size(), "thread arena", "thread arenas"), " ",
                    HumanBytes(arena_bytes));
  }
  absl::StrAppend(&out, " + ", Count(m.mmapped_blocks, "mmapped block", "mmapped blocks"), " ",
                  HumanBytes(m.mmapped_bytes), "\n");
  absl::StrAppend(&out, "    main heap (break ", HumanBytes(m.main.figures.extent_bytes),
                  " above its start, at most ", HumanBytes(m.main.figures.max_extent_bytes),
                  "):\n");
  AppendFigures(m.main.figures, "      ", out);
  if (pinners) AppendPinners(m.main, top, out);
  for (const ArenaRecord& arena : m.arenas) {
    const HeapFigures& f = arena.figures;
    absl::StrAppend(&out, "    thread arena ", HexAddress(f.arena != 0 ? f.arena : f.start), " (",
                    Count(f.heaps, "heap", "heaps"), ", ", HumanBytes(f.extent_bytes),
                    ", at most ", HumanBytes(f.max_extent_bytes), "):\n");
    AppendFigures(f, "      ", out);
    if (pinners) AppendPinners(arena, top, out);
  }
}

std::string MalloptText(const AllocatorCallRecord& r) {
  const AllocatorCall& c = r.call;
  if (c.trim) {
    std::string text = absl::StrCat("malloc_trim(", c.value, ") at ", FormatDuration(r.time_ns),
                                    " from ", CallerText(r.stack), ": ",
                                    c.result == 1 ? "released memory" : "released nothing",
                                    "; the model expected up to ",
                                    HumanBytes(c.predicted_release_bytes));
    if (r.rss_before_bytes != 0 && r.rss_after_bytes != 0) {
      absl::StrAppend(&text, "; RSS ", HumanBytes(r.rss_before_bytes), " before, ",
                      HumanBytes(r.rss_after_bytes), " after");
    }
    return text;
  }
  return absl::StrCat("mallopt(", MalloptName(c.param), ", ", c.value, ") at ",
                      FormatDuration(r.time_ns), " from ", CallerText(r.stack), ": ",
                      c.result == 1 ? "applied" : "refused by glibc");
}

}  // namespace

void AppendHeapGeometryText(const HeapGeometryReport& r, size_t top, std::string* out) {
  std::string& o = *out;
  o += "\nHEAP GEOMETRY (where freed memory stays; see the estimates at the end):\n";
  if (!r.available) {
    o += "  none: the trace has no chunk headers\n";
    return;
  }
  AppendMoment(r.end, "at the end", top, /*pinners=*/true, o);
  AppendMoment(r.at_peak_footprint, "at peak footprint", top, /*pinners=*/false, o);
  const MomentRecord& worst = r.at_worst_holes;
  if (worst.valid && worst.hole_bytes == r.end.hole_bytes &&
      worst.footprint_bytes == r.end.footprint_bytes && worst.live_bytes == r.end.live_bytes) {
    absl::StrAppend(&o, "  at the worst holes (", FormatDuration(worst.time_ns),
                    "): as at the end\n");
  } else {
    AppendMoment(worst, "at the worst holes", top, /*pinners=*/true, o);
  }
  absl::StrAppend(&o, "  mmapped allocations: ", WithThousands(r.mmapped_allocations),
                  "; RSS high-water mark ",
                  r.rss_hwm_bytes != 0 ? HumanBytes(r.rss_hwm_bytes) : std::string("unknown"),
                  "\n");
  const MallocParams& p = r.initial_params;
  absl::StrAppend(&o, "  thresholds at start: mmap ", HumanBytes(p.mmap_threshold),
                  p.no_dyn_threshold ? " (fixed by settings)" : " (dynamic)", ", trim ",
                  HumanBytes(p.trim_threshold), ", top pad ", HumanBytes(p.top_pad),
                  p.max_fast < glibc::kMinChunk ? ", no fastbins" : "", "\n");
  const MallocParams& q = r.final_params;
  if (q.mmap_threshold != p.mmap_threshold || q.trim_threshold != p.trim_threshold ||
      q.top_pad != p.top_pad || q.max_fast != p.max_fast || q.tcache_count != p.tcache_count) {
    absl::StrAppend(&o, "  thresholds at the end: mmap ", HumanBytes(q.mmap_threshold),
                    q.no_dyn_threshold ? " (fixed)" : " (dynamic)", ", trim ",
                    HumanBytes(q.trim_threshold), ", top pad ", HumanBytes(q.top_pad),
                    q.max_fast < glibc::kMinChunk ? ", no fastbins" : "", "\n");
  }
  if (!r.settings_applied.empty()) {
    absl::StrAppend(&o, "  settings: ", absl::StrJoin(r.settings_applied, " "), "\n");
  }
  for (const ThresholdChangeRecord& t : r.threshold_changes) {
    const ThresholdChange& c = t.change;
    absl::StrAppend(&o, "  mmap threshold rose from ", HumanBytes(c.old_mmap_threshold), " to ",
                    HumanBytes(c.new_mmap_threshold), " at ", FormatDuration(t.time_ns),
                    " when a block of ", HumanBytes(c.freed_block_bytes), " from ",
                    CallerText(t.freed_block_stack), " was freed; trim threshold now ",
                    HumanBytes(c.new_trim_threshold), "\n");
    if (c.heap_allocations_instead_of_mmap != 0) {
      absl::StrAppend(&o, "    then ",
                      Count(c.heap_allocations_instead_of_mmap, "allocation", "allocations"), " (",
                      HumanBytes(c.heap_bytes_instead_of_mmap),
                      ") that would have been mmapped came from the heap\n");
    }
  }
  for (const AllocatorCallRecord& call : r.allocator_calls) {
    absl::StrAppend(&o, "  ", MalloptText(call), "\n");
  }
  if (r.walk.available || r.has_mallinfo) {
    if (r.differences.empty()) {
      absl::StrAppend(&o, "  model check: matches ",
                      r.walk.available ? absl::StrCat("the heap walk at exit (",
                                                      Count(r.walk.walk_chunks, "chunk", "chunks"),
                                                      ")")
                                       : std::string(),
                      r.walk.available && r.has_mallinfo ? " and " : "",
                      r.has_mallinfo ? "mallinfo2 at exit" : "", "\n");
    } else {
      o += "  model check: differences from glibc's own view:\n";
      for (const std::string& d : r.differences) absl::StrAppend(&o, "    ", d, "\n");
    }
  }
  for (const std::string& e : r.estimates) absl::StrAppend(&o, "  estimate: ", e, "\n");
}

// ---- JSON --------------------------------------------------------------------

namespace {


void Field(JsonWriter& w, absl::string_view key, uint64_t value) {
  w.Key(key);
  w.Uint(value);
}

void WriteArenaFields(const ArenaRecord& arena, JsonWriter& w) {
  const HeapFigures& f = arena.figures;
  Field(w, "brk_extent_bytes", f.extent_bytes);
  Field(w, "max_brk_extent_bytes", f.max_extent_bytes);
  Field(w, "live_bytes", f.live_bytes);
  Field(w, "live_chunk_bytes", f.live_chunk_bytes);
  Field(w, "live_blocks", f.live_blocks);
  Field(w, "hole_bytes", f.hole_bytes);
  Field(w, "hole_count", f.hole_count);
  Field(w, "largest_hole_bytes", f.largest_hole_bytes);
  Field(w, "top_free_bytes", f.top_free_bytes);
  Field(w, "pinned_bytes", f.pinned_bytes);
  Field(w, "trimmable_bytes", f.trimmable_bytes);
  Field(w, "malloc_trim_releasable_bytes", f.malloc_trim_releasable_bytes);
  Field(w, "released_by_malloc_trim_bytes", f.released_by_malloc_trim_bytes);
  Field(w, "tcache_bytes", f.tcache_bytes);
  Field(w, "fastbin_bytes", f.fastbin_bytes);
  Field(w, "glibc_internal_bytes", f.internal_bytes);
  w.Key("pinners");
  w.BeginArray();
  for (const PinnerRecord& p : arena.pinners) {
    w.BeginObject();
    Field(w, "bytes_released_if_freed", p.pinner.bytes_released_if_freed);
    Field(w, "size", p.pinner.requested);
    Field(w, "chunk_bytes", p.pinner.chunk_size);
    Field(w, "time_ns", p.time_ns);
    Field(w, "age_ns", p.age_ns);
    Field(w, "thread_id", p.pinner.thread_id);
    w.Key("address");
    w.String(HexAddress(p.pinner.address));
    w.Key("glibc_internal");
    w.Bool(p.pinner.internal);
    Field(w, "stack_id", p.pinner.stack_id);
    w.Key("stack");
    WriteStackJson(p.stack, w);
    w.EndObject();
  }
  w.EndArray();
  w.Key("pinners_truncated");
  w.Bool(f.pinners_truncated);
}

void WriteMomentFields(const MomentRecord& m, JsonWriter& w) {
  WriteArenaFields(m.main, w);
  Field(w, "time_ns", m.time_ns);
  Field(w, "footprint_bytes", m.footprint_bytes);
  Field(w, "total_hole_bytes", m.hole_bytes);
  Field(w, "total_live_bytes", m.live_bytes);
  Field(w, "mmapped_bytes", m.mmapped_bytes);
  Field(w, "mmapped_blocks", m.mmapped_blocks);
  w.Key("arenas");
  w.BeginArray();
  for (const ArenaRecord& arena : m.arenas) {
    w.BeginObject();
    w.Key("arena");
    w.String(HexAddress(arena.figures.arena));
    w.Key("first_heap");
    w.String(HexAddress(arena.figures.start));
    Field(w, "heaps", arena.figures.heaps);
    WriteArenaFields(arena, w);
    w.EndObject();
  }
  w.EndArray();
}

void WriteParams(const MallocParams& p, JsonWriter& w) {
  w.BeginObject();
  Field(w, "mmap_threshold_bytes", p.mmap_threshold);
  Field(w, "trim_threshold_bytes", p.trim_threshold);
  Field(w, "top_pad_bytes", p.top_pad);
  Field(w, "max_fast_chunk_bytes", p.max_fast);
  Field(w, "tcache_count", p.tcache_count);
  Field(w, "tcache_bins", p.tcache_bins);
  w.Key("dynamic_mmap_threshold");
  w.Bool(!p.no_dyn_threshold);
  w.EndObject();
}

void WriteModelCheck(const HeapGeometryReport& r, JsonWriter& w) {
  w.BeginObject();
  w.Key("heap_walk");
  const HeapWalkCheck& c = r.walk;
  if (!c.available) {
    w.Null();
  } else {
    w.BeginObject();
    w.Key("complete");
    w.Bool(c.complete);
    Field(w, "chunks", c.walk_chunks);
    Field(w, "matching_chunks", c.matching_chunks);
    Field(w, "in_use_only_in_glibc", c.in_use_only_in_walk);
    Field(w, "in_use_only_in_glibc_bytes", c.in_use_only_in_walk_bytes);
    Field(w, "in_use_only_in_model", c.in_use_only_in_model);
    Field(w, "in_use_only_in_model_bytes", c.in_use_only_in_model_bytes);
    Field(w, "size_mismatches", c.size_mismatches);
    auto pair = [&w](absl::string_view key, uint64_t glibc, uint64_t model) {
      w.Key(key);
      w.BeginObject();
      Field(w, "glibc", glibc);
      Field(w, "model", model);
      w.EndObject();
    };
    pair("brk", c.walk_brk, c.model_brk);
    pair("hole_bytes", c.walk_hole_bytes, c.model_hole_bytes);
    pair("hole_count", c.walk_hole_count, c.model_hole_count);
    pair("largest_hole_bytes", c.walk_largest_hole, c.model_largest_hole);
    pair("top_bytes", c.walk_top_bytes, c.model_top_bytes);
    pair("in_use_bytes", c.walk_in_use_bytes, c.model_in_use_bytes);
    w.Key("examples");
    w.BeginArray();
    for (const std::string& e : c.examples) w.String(e);
    w.EndArray();
    w.EndObject();
  }
  w.Key("mallinfo");
  if (!r.has_mallinfo) {
    w.Null();
  } else {
    const trace::MallocInfo& m = r.mallinfo;
    const PredictedMallinfo& p = r.predicted_mallinfo;
    w.BeginObject();
    auto pair = [&w](absl::string_view key, uint64_t glibc, uint64_t model) {
      w.Key(key);
      w.BeginObject();
      Field(w, "glibc", glibc);
      Field(w, "model", model);
      w.EndObject();
    };
    pair("arena", m.arena(), p.arena);
    pair("ordblks", m.ordblks(), p.ordblks);
    pair("smblks", m.smblks(), p.smblks);
    pair("hblks", m.hblks(), p.hblks);
    pair("hblkhd", m.hblkhd(), p.hblkhd);
    pair("fsmblks", m.fsmblks(), p.fsmblks);
    pair("uordblks", m.uordblks(), p.uordblks);
    pair("fordblks", m.fordblks(), p.fordblks);
    pair("keepcost", m.keepcost(), p.keepcost);
    w.EndObject();
  }
  w.Key("differences");
  w.BeginArray();
  for (const std::string& d : r.differences) w.String(d);
  w.EndArray();
  w.Key("estimates");
  w.BeginArray();
  for (const std::string& e : r.estimates) w.String(e);
  w.EndArray();
  const ModelCounters& k = r.counters;
  w.Key("counters");
  w.BeginObject();
  Field(w, "events_without_chunk_header", k.events_without_chunk_header);
  Field(w, "unknown_releases", k.unknown_releases);
  Field(w, "overlaps_repaired", k.overlaps_repaired);
  Field(w, "unexplained_in_use_below", k.unexplained_in_use_below);
  Field(w, "cached_below_freed", k.cached_below_freed);
  Field(w, "tcache_structs_placed", k.tcache_structs_placed);
  Field(w, "memalign_remainders", k.memalign_remainders);
  Field(w, "realloc_remainders", k.realloc_remainders);
  Field(w, "fastbin_stashes", k.fastbin_stashes);
  Field(w, "consolidations", k.consolidations);
  Field(w, "simulated_heap_trims", k.simulated_heap_trims);
  Field(w, "simulated_heap_deletions", k.simulated_heap_deletions);
  Field(w, "heap_size_corrections", k.heap_size_corrections);
  Field(w, "program_break_calls", k.program_break_calls);
  Field(w, "program_mapping_calls", k.program_mapping_calls);
  w.EndObject();
  w.EndObject();
}

}  // namespace

void WriteHeapGeometryJson(const HeapGeometryReport& r, JsonWriter& w) {
  w.BeginObject();
  w.Key("available");
  w.Bool(r.available);
  WriteMomentFields(r.end, w);
  w.Key("at_peak_footprint");
  w.BeginObject();
  WriteMomentFields(r.at_peak_footprint, w);
  w.EndObject();
  w.Key("at_worst_holes");
  w.BeginObject();
  WriteMomentFields(r.at_worst_holes, w);
  w.EndObject();
  Field(w, "mmapped_allocations", r.mmapped_allocations);
  Field(w, "rss_hwm_bytes", r.rss_hwm_bytes);

  w.Key("settings");
  w.BeginObject();
  w.Key("at_start");
  WriteParams(r.initial_params, w);
  w.Key("at_end");
  WriteParams(r.final_params, w);
  w.Key("applied");
  w.BeginArray();
  for (const std::string& s : r.settings_applied) w.String(s);
  w.EndArray();
  w.EndObject();

  w.Key("mmap_threshold_changes");
  w.BeginArray();
  for (const ThresholdChangeRecord& t : r.threshold_changes) {
    const ThresholdChange& c = t.change;
    w.BeginObject();
    Field(w, "time_ns", t.time_ns);
    Field(w, "from_bytes", c.old_mmap_threshold);
    Field(w, "to_bytes", c.new_mmap_threshold);
    Field(w, "trim_threshold_from_bytes", c.old_trim_threshold);
    Field(w, "trim_threshold_to_bytes", c.new_trim_threshold);
    Field(w, "freed_block_bytes", c.freed_block_bytes);
    w.Key("freed_block_stack");
    WriteStackJson(t.freed_block_stack, w);
    Field(w, "heap_allocations_instead_of_mmap", c.heap_allocations_instead_of_mmap);
    Field(w, "heap_bytes_instead_of_mmap", c.heap_bytes_instead_of_mmap);
    w.EndObject();
  }
  w.EndArray();

  w.Key("allocator_calls");
  w.BeginArray();
  for (const AllocatorCallRecord& call : r.allocator_calls) {
    const AllocatorCall& c = call.call;
    w.BeginObject();
    w.Key("function");
    w.String(c.trim ? "malloc_trim" : "mallopt");
    Field(w, "time_ns", call.time_ns);
    if (c.trim) {
      Field(w, "pad", static_cast<uint64_t>(c.value));
      Field(w, "predicted_release_bytes", c.predicted_release_bytes);
      Field(w, "rss_before_bytes", call.rss_before_bytes);
      Field(w, "rss_after_bytes", call.rss_after_bytes);
    } else {
      w.Key("param");
      w.String(MalloptName(c.param));
      w.Key("value");
      w.Int(c.value);
    }
    w.Key("result");
    w.Int(c.result);
    w.Key("stack");
    WriteStackJson(call.stack, w);
    w.EndObject();
  }
  w.EndArray();

  w.Key("model_check");
  WriteModelCheck(r, w);

  w.Key("timeline");
  w.BeginObject();
  w.Key("arenas");
  w.BeginArray();
  for (uint64_t arena : r.timeline_arenas) w.String(HexAddress(arena));
  w.EndArray();
  w.Key("points");
  w.BeginArray();
  for (const TimelinePoint& p : r.timeline) {
    w.BeginObject();
    Field(w, "time_ns", p.time_ns);
    Field(w, "brk_extent_bytes", p.brk_extent_bytes);
    w.Key("arena_extent_bytes");
    w.BeginArray();
    for (uint64_t extent : p.arena_extent_bytes) w.Uint(extent);
    w.EndArray();
    Field(w, "mmapped_bytes", p.mmapped_bytes);
    Field(w, "live_bytes", p.live_bytes);
    Field(w, "hole_bytes", p.hole_bytes);
    Field(w, "footprint_bytes", p.footprint_bytes);
    w.EndObject();
  }
  w.EndArray();
  w.Key("rss");
  w.BeginArray();
  for (const RssPoint& p : r.rss) {
    w.BeginObject();
    Field(w, "time_ns", p.time_ns);
    Field(w, "rss_bytes", p.rss_bytes);
    Field(w, "rss_hwm_bytes", p.rss_hwm_bytes);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();

  w.EndObject();
}

}  // namespace heapgap::report
