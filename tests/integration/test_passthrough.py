"""A program behaves the same under heapgap: same stdout, same exit status,
including deaths by signal, and every run leaves a trace."""

import os
import unittest

from heapgap_testlib import (PRELOAD, TracedSampleTest, exit_code, report_json, run, sample,
                             traces_in)

# (name, argv, expected exit status as a shell reports it)
CASES = [
    ("leaky", ["leaky"], 0),
    ("spike", ["spike"], 0),
    ("fragment", ["fragment"], 0),
    ("apis", ["apis"], 0),
    ("reachability", ["reachability"], 0),
    ("cpp_mix", ["cpp_mix"], 0),
    ("forker", ["forker"], 0),
    ("exit3", ["crasher", "exit", "3"], 3),
    ("_exit4", ["crasher", "_exit", "4"], 4),
    ("abort", ["crasher", "abort"], 128 + 6),
    ("segv", ["crasher", "segv"], 128 + 11),
]


class PassthroughTest(TracedSampleTest):
    def test_same_stdout_and_exit_status(self):
        for name, argv, expected_status in CASES:
            with self.subTest(sample=name):
                argv = [sample(argv[0]), *argv[1:]]
                native = run(argv)
                self.assertEqual(exit_code(native.returncode), expected_status, "native run")
                traced, traces = self.trace_of(name, argv)
                self.assertEqual(traced.returncode, expected_status,
                                 f"heapgap run's status; stderr: {traced.stderr.decode(errors='replace')}")
                self.assertEqual(traced.stdout, native.stdout)
                self.assertTrue(traces, "no trace written")

    def test_summary_on_stderr_and_quiet(self):
        argv = [sample("leaky")]
        loud, _ = self.trace_of("loud", argv)
        quiet, traces = self.trace_of("quiet", argv, ["--quiet"])
        self.assertEqual(loud.returncode, 0)
        self.assertEqual(quiet.returncode, 0)
        # The valgrind-style summary names the leaked total.
        self.assertRegex(loud.stderr, rb"41,?160")
        self.assertEqual(quiet.stderr, b"")
        self.assertEqual(len(traces), 1)

    def test_preload_alone_with_options_from_environment(self):
        """The library works without `heapgap run`: HEAPGAP_OPTIONS sets the output pattern."""
        out_dir = self.fresh_dir("preload")
        env = dict(os.environ, LD_PRELOAD=PRELOAD,
                   HEAPGAP_OPTIONS=f"output={out_dir}/custom-%e-%p.trace:stack_depth=16")
        result = run([sample("leaky")], env=env)
        self.assertEqual(result.returncode, 0)
        traces = traces_in(out_dir)
        self.assertEqual(len(traces), 1)
        name = os.path.basename(traces[0])
        self.assertRegex(name, r"^custom-leaky-\d+\.trace$")
        data = report_json(self, traces[0])
        self.assertEqual(str(data["process"]["pid"]), name.split("-")[2].split(".")[0])
        self.assertEqual((data["leaks"]["bytes"], data["leaks"]["blocks"]), (41160, 16))
        self.assertTrue(all(len(r["stack"]) <= 16 for r in data["leaks"]["records"]))

    def test_default_output_name_in_working_directory(self):
        out_dir = self.fresh_dir("cwd")
        result = run([os.path.abspath(sample("leaky"))], env=dict(os.environ, LD_PRELOAD=PRELOAD), cwd=out_dir)
        self.assertEqual(result.returncode, 0)
        names = os.listdir(out_dir)
        self.assertEqual(len(names), 1, names)
        self.assertRegex(names[0], r"^heapgap\.leaky\.\d+\.trace$")


if __name__ == "__main__":
    unittest.main()
