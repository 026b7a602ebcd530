"""The figures in `heapgap report --format json` equal the ones each sample
has by construction (see the comment at the top of each sample's source)."""

import json
import os
import re
import unittest

from heapgap_testlib import (TracedSampleTest, first_function, function_name, in_module, records_from,
                             report, report_json, sample, sum_records, summarize)


class LeakyReportTest(TracedSampleTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.result, traces = cls.trace_of("leaky", [sample("leaky")])
        cls.trace = traces[0] if len(traces) == 1 else None

    def setUp(self):
        self.assertEqual(self.result.returncode, 0)
        self.assertIsNotNone(self.trace, "leaky should leave exactly one trace")
        self.data = report_json(self, self.trace)

    def test_process(self):
        process = self.data["process"]
        self.assertEqual(os.path.basename(process["exe"]), "leaky")
        self.assertEqual(process["argv"], [sample("leaky")])
        self.assertFalse(process["forked"])
        self.assertEqual(process["end"], "exit")
        self.assertTrue(process["clean_exit"])
        self.assertEqual(process["exit_status"], 0)
        self.assertGreater(process["duration_ns"], 0)
        self.assertEqual(self.data["trace"], self.trace)
        self.assertTrue(self.data["heapgap_version"])
        self.assertEqual(self.data["warnings"], [])

    def test_totals(self):
        totals = self.data["totals"]
        self.assertEqual(totals["allocations"], 66)
        self.assertEqual(totals["frees"], 50)
        self.assertEqual(totals["bytes_allocated"], 51160)
        self.assertEqual(totals["temporary_allocations"], 50)  # churn frees each block next
        self.assertEqual(totals["calls"], {"malloc": 66, "free": 50})
        self.assertEqual(totals["unknown_frees"], 0)
        self.assertEqual(totals["inherited_frees"], 0)
        self.assertEqual(totals["lost_events"], 0)

    def test_leaks_per_stack(self):
        leaks = self.data["leaks"]
        self.assertEqual((leaks["bytes"], leaks["blocks"]), (41160, 16), summarize(leaks))
        self.assert_leak(self.data, "leak_small", 1000, 10)
        self.assert_leak(self.data, "leak_big", 40000, 1)
        self.assert_leak(self.data, "list_push", 160, 5)
        self.assertEqual(len(leaks["records"]), 3, summarize(leaks))
        # Largest first.
        self.assertEqual([r["bytes"] for r in leaks["records"]], [40000, 1000, 160])

    def test_leak_stack_frames(self):
        record = records_from(self.data["leaks"]["records"], "list_push")[0]
        functions = [function_name(f) for f in record["stack"]]
        # Innermost first: list_push <- leak_list <- main.
        self.assertEqual(functions[:3], ["list_push", "leak_list", "main"])
        top = record["stack"][0]
        self.assertTrue(in_module(top, "leaky"), top)
        self.assertEqual(os.path.basename(top["file"]), "leaky.c")
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "samples", "leaky.c")) as source:
            line_text = source.read().splitlines()[top["line"] - 1]
        self.assertIn("malloc", line_text, "the first frame's line is the malloc call")
        self.assertFalse(top["inlined"])
        self.assertTrue(str(top["address"]))

    def test_peak(self):
        peak = self.data["peak"]
        # Everything leaky allocates is live at once only after leak_list; the
        # churn blocks come one at a time on top of the leaks.
        self.assertEqual((peak["live_bytes"], peak["blocks"]), (41160 + 200, 17), summarize(peak))
        self.assertEqual(sum_records(records_from(peak["records"], "churn")), (200, 1))

    def test_text_report_and_output_file(self):
        text = report(self.trace)
        self.assertEqual(text.returncode, 0, text.stderr)
        for function in (b"leak_small", b"leak_big", b"list_push"):
            self.assertIn(function, text.stdout)
        out_file = os.path.join(self.work_dir, "leaky.json")
        to_file = report(self.trace, "--format", "json", "-o", out_file)
        self.assertEqual(to_file.returncode, 0, to_file.stderr)
        self.assertEqual(to_file.stdout, b"")
        with open(out_file) as f:
            self.assertEqual(json.load(f), self.data)


class StackDepthTest(TracedSampleTest):
    def test_stack_depth_option_keeps_innermost_frames(self):
        result, traces = self.trace_of("depth", [sample("leaky")], ["--stack-depth", "2"])
        self.assertEqual(result.returncode, 0)
        data = report_json(self, self.assert_single_trace(traces))
        self.assertEqual((data["leaks"]["bytes"], data["leaks"]["blocks"]), (41160, 16))
        for record in data["leaks"]["records"]:
            self.assertLessEqual(len(record["stack"]), 2, summarize(data["leaks"]))
        record = records_from(data["leaks"]["records"], "list_push")[0]
        self.assertEqual([function_name(f) for f in record["stack"]], ["list_push", "leak_list"])


class SpikeReportTest(TracedSampleTest):
    def test_peak_attribution(self):
        result, traces = self.trace_of("spike", [sample("spike")])
        self.assertEqual(result.returncode, 0)
        data = report_json(self, self.assert_single_trace(traces))
        peak = data["peak"]
        self.assertEqual((peak["live_bytes"], peak["blocks"]), (16782216, 74), summarize(peak))
        self.assertEqual(first_function(peak["records"][0]), "build_spike", summarize(peak))
        self.assertEqual(sum_records(records_from(peak["records"], "build_spike")), (16777216, 64))
        self.assertEqual(sum_records(records_from(peak["records"], "load_config")), (5000, 10))
        self.assertEqual(records_from(peak["records"], "build_steady"), [])
        self.assertGreater(peak["time_ns"], 0)
        self.assertLessEqual(peak["time_ns"], data["process"]["duration_ns"])
        self.assertEqual((data["leaks"]["bytes"], data["leaks"]["blocks"]), (0, 0))
        self.assertEqual(data["leaks"]["records"], [])
        totals = data["totals"]
        self.assertEqual((totals["allocations"], totals["frees"], totals["bytes_allocated"]),
                         (274, 274, 17601416))
        self.assertEqual(totals["temporary_allocations"], 0)


class FragmentReportTest(TracedSampleTest):
    def test_pin_leak_and_peak(self):
        result, traces = self.trace_of("fragment", [sample("fragment")])
        self.assertEqual(result.returncode, 0)
        data = report_json(self, self.assert_single_trace(traces))
        self.assertEqual((data["leaks"]["bytes"], data["leaks"]["blocks"]), (4096, 1))
        self.assert_leak(data, "make_pin", 4096, 1)
        peak = data["peak"]
        self.assertEqual((peak["live_bytes"], peak["blocks"]), (20004096, 20001), summarize(peak))
        self.assertEqual(sum_records(records_from(peak["records"], "fill")), (20000000, 20000))
        totals = data["totals"]
        self.assertEqual((totals["allocations"], totals["frees"], totals["bytes_allocated"]),
                         (20001, 20000, 20004096))


class FragmentGeometryTest(TracedSampleTest):
    """heapgap's model of the heap against what fragment measured itself, with
    sbrk(0) and glibc's mallinfo2, in the same run."""

    def test_pin_holds_the_heap(self):
        result, traces = self.trace_of("geometry", [sample("fragment")])
        self.assertEqual(result.returncode, 0)
        stdout = result.stdout.decode()
        brk_above_start = int(re.search(r"break is (\d+) B above its start after drain", stdout).group(1))
        arena, in_use, free, top = (int(n) for n in re.search(
            r"mallinfo2 arena (\d+), in use (\d+), free (\d+), releasable top (\d+)", stdout).groups())
        heap = report_json(self, self.assert_single_trace(traces))["heap"]
        self.assertTrue(heap["available"])
        self.assertEqual(heap["brk_extent_bytes"], brk_above_start)
        self.assertEqual(heap["footprint_bytes"], arena)
        self.assertEqual(heap["top_free_bytes"], top)
        self.assertEqual(heap["hole_bytes"] + heap["top_free_bytes"], free)
        self.assertEqual((heap["live_bytes"], heap["live_blocks"]), (4096, 1))
        # The 20000 freed blocks form one hole below the pin, which nothing
        # but freeing the pin gives back to the system.
        self.assertEqual(heap["hole_count"], 1)
        self.assertGreater(heap["pinned_bytes"], 19 * 1024 * 1024)
        self.assertEqual(heap["trimmable_bytes"], 0)
        pinner = heap["pinners"][0]
        self.assertEqual((first_function(pinner), pinner["size"]), ("make_pin", 4096))
        self.assertGreater(pinner["bytes_released_if_freed"], 19 * 1024 * 1024)
        # Before drain the heap was full: no holes at the peak footprint.
        self.assertEqual(heap["at_peak_footprint"]["hole_bytes"], 0)
        self.assertEqual(heap["model_check"]["differences"], [])


class ApisReportTest(TracedSampleTest):
    EXPECTED_LEAKS = {
        "call_malloc": 101,
        "call_calloc": 102,
        "call_realloc_grow": 1000,
        "call_realloc_shrink": 50,
        "call_realloc_null": 123,
        "call_reallocarray": 130,
        "call_memalign": 200,
        "call_posix_memalign": 300,
        "call_aligned_alloc": 512,
        "call_valloc": 700,
        "call_pvalloc": 900,
    }
    EXPECTED_CALLS = {
        "malloc": 5, "calloc": 1, "realloc": 4, "reallocarray": 1, "memalign": 1, "posix_memalign": 1,
        "aligned_alloc": 1, "valloc": 1, "pvalloc": 1, "free": 1,
    }

    def test_each_api(self):
        result, traces = self.trace_of("apis", [sample("apis")])
        self.assertEqual(result.returncode, 0, result.stdout)
        data = report_json(self, self.assert_single_trace(traces))
        for function, size in self.EXPECTED_LEAKS.items():
            with self.subTest(function=function):
                self.assert_leak(data, function, size, 1)
        self.assertEqual((data["leaks"]["bytes"], data["leaks"]["blocks"]), (4118, 11), summarize(data["leaks"]))
        self.assertEqual(records_from(data["leaks"]["records"], "call_realloc_zero"), [])
        self.assertEqual(records_from(data["leaks"]["records"], "call_free"), [])
        self.assertEqual(data["totals"]["calls"], self.EXPECTED_CALLS)
        self.assertEqual(data["totals"]["unknown_frees"], 0)


class ReachabilityReportTest(TracedSampleTest):
    def kind_of(self, data, function):
        kinds = {r["kind"] for r in records_from(data["leaks"]["records"], function)}
        self.assertEqual(len(kinds), 1, f"{function}: {kinds}")
        return kinds.pop()

    def test_leak_kinds(self):
        result, traces = self.trace_of("reachability", [sample("reachability")])
        self.assertEqual(result.returncode, 0)
        data = report_json(self, self.assert_single_trace(traces))
        leaks = data["leaks"]
        self.assertTrue(leaks["checked"])
        self.assertEqual((leaks["bytes"], leaks["blocks"]), (696, 6), summarize(leaks))
        expected = {"definitely_lost": (132, 2), "indirectly_lost": (64, 2), "possibly_lost": (300, 1),
                    "still_reachable": (200, 1)}
        for kind, figures in expected.items():
            self.assertEqual((leaks[kind]["bytes"], leaks[kind]["blocks"]), figures, kind)
        self.assertEqual(self.kind_of(data, "lose_block"), "definitely_lost")
        self.assertEqual(self.kind_of(data, "keep_global"), "still_reachable")
        self.assertEqual(self.kind_of(data, "keep_interior"), "possibly_lost")
        nodes = records_from(leaks["records"], "make_node")
        self.assertEqual(sum_records([r for r in nodes if r["kind"] == "definitely_lost"]), (32, 1))
        self.assertEqual(sum_records([r for r in nodes if r["kind"] == "indirectly_lost"]), (64, 2))


class CppMixReportTest(TracedSampleTest):
    def test_cpp_leaks_and_operators(self):
        result, traces = self.trace_of("cpp_mix", [sample("cpp_mix")])
        self.assertEqual(result.returncode, 0)
        data = report_json(self, self.assert_single_trace(traces))
        self.assert_leak(data, "leak_int_array", 100, 1)
        self.assert_leak(data, "leak_foo", 48, 1)
        # What libstdc++ and glibc keep for the process's life they free at a
        # clean exit, so these two are all.
        self.assertEqual((data["leaks"]["bytes"], data["leaks"]["blocks"]), (148, 2), summarize(data["leaks"]))
        calls = data["totals"]["calls"]
        for operator in ("operator new", "operator new[]", "operator new(aligned)", "operator new[](aligned)",
                         "operator new(nothrow)", "operator new[](nothrow)"):
            self.assertGreater(calls.get(operator, 0), 0, f"{operator} in {calls}")
        self.assertTrue(all(n > 0 for n in calls.values()), "calls lists only functions that were called")
        totals = data["totals"]
        self.assertEqual(totals["unknown_frees"], 0)
        self.assertEqual(totals["lost_events"], 0)
        self.assertEqual(totals["allocations"] - totals["frees"], data["leaks"]["blocks"])


if __name__ == "__main__":
    unittest.main()
