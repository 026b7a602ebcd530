"""Heap geometry: each geo_* sample measures its own heap natively (sbrk(0),
mallinfo2, RSS from /proc/self/statm) and prints "geo: KEY VALUE" lines; the
report of the same run must agree with those figures, and the model's holes
must match the heap walk heapgap takes at exit, on every sample."""

import re
import unittest

from heapgap_testlib import TracedSampleTest, first_function, report_json, sample

PAGE = 4096


def trimmable_top(top, pad):
    """glibc's systrim: what a top chunk of `top` bytes gives back with `pad` kept."""
    area = top - 32 - 1
    return 0 if area <= pad else (area - pad) // PAGE * PAGE


class HeapGeometryTest(TracedSampleTest):

    def run_sample(self, name, prints_figures=True):
        """Runs a sample under heapgap: (its own figures, the report's heap object, the report)."""
        result, traces = self.trace_of(name, [sample(name)])
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        measured = {key: int(value) for key, value in
                    re.findall(r"^geo: (\S+) (-?\d+)$", result.stdout.decode(), re.M)}
        if prints_figures:
            self.assertTrue(measured, f"{name} printed no figures")
        data = report_json(self, self.assert_single_trace(traces))
        heap = data["heap"]
        self.assertTrue(heap["available"])
        self.assert_walk_matches(heap)
        return measured, heap, data

    def assert_walk_matches(self, heap):
        """The model's main heap at exit is glibc's, chunk by chunk."""
        check = heap["model_check"]
        walk = check["heap_walk"]
        self.assertIsNotNone(walk, "the trace has no heap walk")
        self.assertTrue(walk["complete"])
        for key in ("brk", "hole_bytes", "hole_count", "largest_hole_bytes", "top_bytes"):
            self.assertEqual(walk[key]["glibc"], walk[key]["model"], f"heap walk {key}: {walk}")
        self.assertEqual(walk["in_use_only_in_glibc"], 0, walk["examples"])
        self.assertEqual(walk["in_use_only_in_model"], 0, walk["examples"])
        self.assertEqual(check["differences"], [])

    def assert_main_heap(self, heap, measured, label="end"):
        """Main-heap figures of a single-arena program against its own mallinfo2."""
        self.assertEqual(heap["brk_extent_bytes"], measured[f"{label}_break_above_start"])
        self.assertEqual(heap["top_free_bytes"], measured[f"{label}_keepcost"])
        # mallinfo2's free bytes: holes, the top and fastbin chunks.
        self.assertEqual(heap["hole_bytes"] + heap["top_free_bytes"] + heap["fastbin_bytes"],
                         measured[f"{label}_fordblks"])

    def test_pin_at_the_top_of_a_freed_region(self):
        measured, heap, _ = self.run_sample("geo_pin")
        self.assert_main_heap(heap, measured)
        # The holes glibc has (free chunks below the top, fastbins aside),
        # within a few percent.
        native_holes = measured["end_fordblks"] - measured["end_fsmblks"] - measured["end_keepcost"]
        self.assertGreater(native_holes, 9 * 1024 * 1024)
        self.assertAlmostEqual(heap["hole_bytes"], native_holes, delta=native_holes * 0.03)
        pinner = heap["pinners"][0]
        self.assertEqual((first_function(pinner), pinner["size"]), ("cache_insert", 40))
        self.assertGreater(pinner["bytes_released_if_freed"], native_holes)
        self.assertGreaterEqual(heap["pinned_bytes"], heap["hole_bytes"])
        self.assertEqual(heap["trimmable_bytes"], 0)

    def test_the_late_allocation_pins_not_the_early_one(self):
        measured, heap, _ = self.run_sample("geo_late")
        self.assert_main_heap(heap, measured)
        late, early = heap["pinners"][0], heap["pinners"][1]
        self.assertEqual((first_function(late), late["size"]), ("late_note", 24))
        self.assertGreater(late["bytes_released_if_freed"], 7 * 1024 * 1024)
        self.assertEqual((first_function(early), early["size"]), ("early_setup", 64))
        self.assertLess(early["bytes_released_if_freed"], PAGE)
        self.assertLess(early["time_ns"], late["time_ns"])
        self.assertGreater(early["age_ns"], late["age_ns"])

    def test_pin_in_a_thread_arena(self):
        measured, heap, _ = self.run_sample("geo_thread")
        self.assertEqual(len(heap["arenas"]), 1, heap["arenas"])
        arena = heap["arenas"][0]
        self.assertEqual(heap["brk_extent_bytes"], measured["end_break_above_start"])
        self.assertEqual(heap["top_free_bytes"], measured["end_keepcost"])
        # mallinfo2 covers both arenas.
        self.assertEqual(heap["brk_extent_bytes"] + arena["brk_extent_bytes"], measured["end_arena"])
        free_total = sum(a["hole_bytes"] + a["top_free_bytes"] + a["fastbin_bytes"]
                         for a in (heap, arena))
        self.assertEqual(free_total, measured["end_fordblks"])
        self.assertGreater(arena["hole_bytes"], 7 * 1024 * 1024)
        self.assertGreater(arena["pinned_bytes"], 7 * 1024 * 1024)
        pinner = arena["pinners"][0]
        self.assertEqual((first_function(pinner), pinner["size"]), ("worker_pin", 64))
        self.assertGreater(pinner["bytes_released_if_freed"], 7 * 1024 * 1024)

    def test_malloc_trim_releases_pages_but_not_the_break(self):
        measured, heap, _ = self.run_sample("geo_trim")
        self.assertEqual(measured["trim_result"], 1)
        # The break only loses the top above the pin.
        before, after = measured["before_trim_break_above_start"], measured["after_trim_break_above_start"]
        self.assertLessEqual(before - after, 256 * 1024)
        self.assertGreater(after, 19 * 1024 * 1024)
        self.assert_main_heap(heap, measured)
        trims = [c for c in heap["allocator_calls"] if c["function"] == "malloc_trim"]
        self.assertEqual(len(trims), 1)
        predicted = trims[0]["predicted_release_bytes"]
        self.assertGreater(predicted, 19 * 1024 * 1024)
        rss_drop = measured["before_trim_rss"] - measured["after_trim_rss"]
        self.assertAlmostEqual(rss_drop, predicted, delta=predicted * 0.05)
        self.assertEqual(first_function(heap["pinners"][0]), "keep_last")
        # At the end those pages are already released: another malloc_trim
        # would give back next to nothing.
        self.assertGreater(heap["released_by_malloc_trim_bytes"], 19 * 1024 * 1024)
        self.assertLess(heap["malloc_trim_releasable_bytes"], 64 * 1024)

    def test_mallopt_thresholds(self):
        measured, heap, data = self.run_sample("geo_mallopt")
        self.assertEqual(measured["mallopt_ok"], 1)
        self.assert_main_heap(heap, measured)
        calls = [(c["param"], c["value"], c["result"]) for c in heap["allocator_calls"]]
        self.assertEqual(calls, [("M_MMAP_THRESHOLD", 65536, 1), ("M_TRIM_THRESHOLD", 262144, 1),
                                 ("M_TOP_PAD", 65536, 1), ("M_MXFAST", 0, 1)])
        settings = heap["settings"]["at_end"]
        self.assertEqual((settings["mmap_threshold_bytes"], settings["trim_threshold_bytes"],
                          settings["top_pad_bytes"], settings["dynamic_mmap_threshold"]),
                         (65536, 262144, 65536, False))
        self.assertTrue(heap["settings"]["at_start"]["dynamic_mmap_threshold"])
        # 100000 B blocks are mmapped now; freeing one does not move the threshold.
        self.assertEqual(data["totals"]["mmapped_allocations"], 20)
        self.assertEqual((heap["mmapped_blocks"], heap["mmapped_bytes"]),
                         (measured["end_hblks"], measured["end_hblkhd"]))
        self.assertEqual(heap["mmap_threshold_changes"], [])
        # Without fastbins the freed 100 B blocks coalesced.
        self.assertEqual(heap["fastbin_bytes"], 0)
        self.assertEqual(measured["end_fsmblks"], 0)

    def test_mmapped_blocks_leave_no_hole(self):
        measured, heap, data = self.run_sample("geo_mmap")
        self.assertEqual(measured["mapped_hblks"], 8)
        self.assertEqual(data["totals"]["mmapped_allocations"], 8)
        peak = heap["at_peak_footprint"]
        self.assertEqual((peak["mmapped_blocks"], peak["mmapped_bytes"]),
                         (8, measured["mapped_hblkhd"]))
        self.assertEqual(peak["footprint_bytes"], measured["mapped_arena"] + measured["mapped_hblkhd"])
        self.assertEqual(data["peak"]["footprint_bytes"], peak["footprint_bytes"])
        self.assertEqual(peak["hole_bytes"], 0)
        # Freed, they are gone: no hole, the break never moved for them.
        self.assert_main_heap(heap, measured)
        self.assertEqual(measured["end_break_above_start"], measured["mapped_break_above_start"])
        self.assertEqual((heap["hole_bytes"], heap["mmapped_blocks"], heap["mmapped_bytes"]), (0, 0, 0))
        self.assertEqual(heap["at_worst_holes"]["hole_bytes"], 0)

    def test_dynamic_threshold_sends_large_blocks_to_the_heap(self):
        measured, heap, _ = self.run_sample("geo_dynamic")
        changes = heap["mmap_threshold_changes"]
        self.assertEqual(len(changes), 1, changes)
        change = changes[0]
        self.assertEqual(change["from_bytes"], 128 * 1024)
        self.assertGreaterEqual(change["to_bytes"], 1 << 20)
        self.assertEqual(change["trim_threshold_to_bytes"], 2 * change["to_bytes"])
        self.assertEqual(first_function({"stack": change["freed_block_stack"]}), "one_big")
        self.assertEqual(change["heap_allocations_instead_of_mmap"], 4)
        # The 512 KiB blocks moved the break instead of being mmapped.
        self.assertEqual(measured["halves_hblks"], 0)
        self.assertGreater(measured["halves_break_above_start"], 2 * 1024 * 1024)
        self.assertEqual(heap["at_peak_footprint"]["brk_extent_bytes"],
                         measured["halves_break_above_start"])
        # Three of them freed: a top of ~1.6 MiB, below the new trim threshold, stays.
        self.assert_main_heap(heap, measured)
        self.assertGreater(heap["top_free_bytes"], 1024 * 1024)
        self.assertLess(heap["top_free_bytes"], change["trim_threshold_to_bytes"])
        self.assertEqual(heap["trimmable_bytes"], 0)
        self.assertEqual(heap["settings"]["at_end"]["trim_threshold_bytes"], change["trim_threshold_to_bytes"])

    def test_swiss_cheese_frees(self):
        measured, heap, _ = self.run_sample("geo_swiss")
        self.assert_main_heap(heap, measured)
        # Every free chunk but the top is a hole of one 320 B chunk.
        self.assertEqual(heap["hole_count"], measured["end_ordblks"] - 1)
        self.assertEqual(heap["hole_count"], 5000 - 7)
        self.assertEqual(heap["largest_hole_bytes"], 320)
        self.assertEqual(heap["tcache_bytes"], 7 * 320)
        # No hole holds a whole page: malloc_trim could only trim the top.
        self.assertEqual(heap["malloc_trim_releasable_bytes"], trimmable_top(measured["end_keepcost"], 0))

    def test_fragment_matches_the_heap_walk(self):
        self.run_sample("fragment", prints_figures=False)


if __name__ == "__main__":
    unittest.main()
