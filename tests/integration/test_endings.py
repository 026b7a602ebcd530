"""How a traced process ends, and what the report makes of the trace: clean
exit, _exit, abort, a crash, SIGKILL in the middle of heavy allocation, a
trace cut short, and input that is not a trace at all."""

import os
import unittest

from heapgap_testlib import HEAPGAP, TracedSampleTest, report, report_json, run, sample


def first_record_end(data):
    """Offset just past the first record (the header) of a delimited stream."""
    length, shift, offset = 0, 0, 0
    while True:
        byte = data[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return offset + length


class EndingsTest(TracedSampleTest):
    def traced_report(self, name, argv, expected_status):
        result, traces = self.trace_of(name, argv)
        self.assertEqual(result.returncode, expected_status, result.stderr.decode(errors="replace"))
        return report_json(self, self.assert_single_trace(traces))

    def test_exit_status(self):
        data = self.traced_report("exit", [sample("crasher"), "exit", "3"], 3)
        process = data["process"]
        self.assertEqual((process["end"], process["exit_status"], process["clean_exit"]), ("exit", 3, True))
        self.assert_leak(data, "before_end", 144, 3)

    def test_immediate_exit(self):
        data = self.traced_report("_exit", [sample("crasher"), "_exit", "4"], 4)
        process = data["process"]
        self.assertEqual((process["end"], process["exit_status"], process["clean_exit"]), ("_exit", 4, False))
        self.assert_leak(data, "before_end", 144, 3)

    def test_abort(self):
        data = self.traced_report("abort", [sample("crasher"), "abort"], 128 + 6)
        self.assertEqual(data["process"]["end"], "abort")
        self.assertFalse(data["process"]["clean_exit"])
        self.assert_leak(data, "before_end", 144, 3)

    def test_crash_leaves_truncated_trace(self):
        data = self.traced_report("segv", [sample("crasher"), "segv"], 128 + 11)
        self.assertEqual(data["process"]["end"], "truncated")
        self.assertFalse(data["process"]["clean_exit"])
        self.assertTrue(data["warnings"])

    def test_sigkill_during_heavy_allocation(self):
        # Two threads allocate and free as fast as they can; after 1.5 s the
        # process SIGKILLs itself. The background flush keeps the trace at most
        # a flush interval behind, so the prefix holds the early leaks and many
        # events.
        data = self.traced_report("kill", [sample("crasher"), "kill", "1500"], 128 + 9)
        self.assertEqual(data["process"]["end"], "truncated")
        self.assertTrue(data["warnings"])
        self.assert_leak(data, "before_end", 144, 3)
        self.assertGreater(data["totals"]["allocations"], 10000)
        self.assertEqual(data["totals"]["unknown_frees"], 0)

    def test_cut_traces_read_as_truncated(self):
        _, traces = self.trace_of("whole", [sample("leaky")])
        whole_path = self.assert_single_trace(traces)
        with open(whole_path, "rb") as f:
            whole = f.read()
        header_end = first_record_end(whole)
        self.assertLess(header_end, len(whole))
        previous_allocations = -1
        cuts = sorted({header_end, header_end + 1, len(whole) // 2, len(whole) - 1})
        for cut in cuts:
            with self.subTest(cut=cut):
                path = os.path.join(self.work_dir, f"cut-{cut}.trace")
                with open(path, "wb") as f:
                    f.write(whole[:cut])
                data = report_json(self, path)
                self.assertEqual(data["process"]["end"], "truncated")
                self.assertFalse(data["process"]["clean_exit"])
                self.assertTrue(any("truncated" in w for w in data["warnings"]), data["warnings"])
                allocations = data["totals"]["allocations"]
                self.assertGreaterEqual(allocations, previous_allocations, "a longer prefix never knows less")
                self.assertLessEqual(allocations, 66)
                previous_allocations = allocations
        self.assertEqual(report_json(self, whole_path)["totals"]["allocations"], 66)

    def test_bad_input_is_one_line_and_status_2(self):
        # A directory is read as a set of traces; one without any is an error.
        empty_dir = self.fresh_dir("no-traces")
        cases = {"missing": os.path.join(self.work_dir, "no-such.trace"),
                 "directory without traces": empty_dir}
        for name, content in (("empty", b""),
                              ("text", b"this is not a heapgap trace\n" * 20),
                              ("garbage", bytes(range(256)) * 8),
                              ("header-cut", None)):
            path = os.path.join(self.work_dir, f"{name}.trace")
            if content is None:  # the first bytes of a real trace, inside its header
                _, traces = self.trace_of("for-header-cut", [sample("leaky")])
                with open(traces[0], "rb") as f:
                    content = f.read(5)
            with open(path, "wb") as f:
                f.write(content)
            cases[name] = path
        for name, path in cases.items():
            for options in ((), ("--format", "json")):
                with self.subTest(input=name, options=options):
                    result = report(path, *options)
                    self.assertEqual(result.returncode, 2, result.stdout[:200])
                    self.assertEqual(result.stdout, b"")
                    lines = result.stderr.decode(errors="replace").splitlines()
                    self.assertEqual(len(lines), 1, lines)
                    self.assertTrue(lines[0].startswith("heapgap: error: "), lines[0])

    def test_program_not_found_is_127(self):
        result = run([HEAPGAP, "run", "--", os.path.join(self.work_dir, "no-such-program")])
        self.assertEqual(result.returncode, 127)
        lines = result.stderr.decode(errors="replace").splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("heapgap: error: "), lines[0])

    def test_bad_command_line_is_status_2(self):
        for argv in (["report"], ["report", "--format", "xml", "x.trace"], ["no-such-command"], ["run"]):
            with self.subTest(argv=argv):
                result = run([HEAPGAP, *argv])
                self.assertEqual(result.returncode, 2)
                self.assertTrue(result.stderr.startswith(b"heapgap: "), result.stderr)


if __name__ == "__main__":
    unittest.main()
