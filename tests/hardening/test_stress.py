"""Stress under heapgap: many threads allocating while the main thread forks
and the children exec, signal handlers that allocate, thread create/exit
storms, dlopen/dlclose loops, recursion deeper than the unwind limit, vfork,
posix_spawn, clone without CLONE_VM, setjmp/longjmp. Each program must behave
exactly as without heapgap (stdout, exit status), finish well inside the
timeout, and leave traces that all read."""

import re
import unittest

from hardening_support import (HEAPGAP, TIMEOUT_S, HardeningTest, PLUGIN, exit_code, main_report, program,
                               read_all, report_json, run, traced_argv, traces_in)

STRESS = program("hardening_stress")


class StressTest(HardeningTest):
    def stress(self, name, *args, options=()):
        """Runs a stress mode both ways; returns the reports of its traces."""
        _, traces = self.run_both(name, [STRESS, *args], options=options)
        return read_all(self, traces)

    def test_fork_exec_under_allocating_threads(self):
        # 200 forks and execs: read every trace through `heapgap run`'s own
        # summary (it analyses each one), and a sample of them in full.
        forks = 200
        out_dir = self.fresh_dir("fork-exec-traces")
        native = run([STRESS, "fork-exec", str(forks), STRESS])
        # `heapgap run` analyses all ~400 traces for its summary: allow for it.
        traced = run(traced_argv([STRESS, "fork-exec", str(forks), STRESS], out_dir, quiet=False),
                     timeout=3 * TIMEOUT_S)
        stderr = traced.stderr.decode(errors="replace")
        self.assertEqual(exit_code(traced.returncode), exit_code(native.returncode),
                         f"{traced.stdout}; stderr lines not from the summary: "
                         f"{[l for l in stderr.splitlines() if not l.startswith('==')][:20]}")
        self.assertEqual(traced.stdout, native.stdout)
        self.assertEqual(native.stdout, f"fork-exec: {forks} of {forks} children exited 0\n".encode())
        traces = traces_in(out_dir)
        stderr = traced.stderr.decode(errors="replace")
        self.assertNotIn("cannot read", stderr)
        self.assertEqual(len(re.findall(r"heapgap trace: ", stderr)), len(traces), stderr[-3000:])
        # The main process, every exec'd child (each writes its own trace),
        # and the fork children that allocated before exec.
        self.assertGreaterEqual(len(traces), 1 + forks)
        sample = traces[:3] + traces[len(traces) // 2:len(traces) // 2 + 3] + traces[-3:]
        reports = read_all(self, sample)
        for data in reports.values():
            self.assertEqual(data["totals"]["lost_events"], 0)

    def test_signal_handlers_that_allocate(self):
        reports = self.stress("signals", "signals", "1000")
        data = main_report(reports, "hardening_stress")
        # The handlers allocate 16 blocks per run; events interrupted inside
        # the tracer may be counted as lost, never silently dropped.
        self.assertGreater(data["totals"]["allocations"] + data["totals"]["lost_events"], 1000)

    def test_thread_create_exit_storm(self):
        reports = self.stress("threads", "threads", "60")
        data = main_report(reports, "hardening_stress")
        # 960 threads, each with at least 5 allocations of its own.
        self.assertGreater(data["totals"]["allocations"], 960 * 5)
        self.assertEqual(data["totals"]["lost_events"], 0)

    def test_dlopen_dlclose_loop(self):
        loops = 300
        reports = self.stress("dlopen", "dlopen", PLUGIN, str(loops))
        data = main_report(reports, "hardening_stress")
        self.assertGreaterEqual(data["totals"]["allocations"], 2 * loops)
        # Text report: every stack symbolizes, unloaded modules included.
        trace = next(iter(reports))
        text = run([HEAPGAP, "report", "--top", "0", trace])
        self.assertEqual(text.returncode, 0, text.stderr)

    def test_recursion_deeper_than_the_unwind_limit(self):
        # 200,000 frames; stacks are cut at --stack-depth (256 at most).
        for depth_option in ("64", "256"):
            with self.subTest(stack_depth=depth_option):
                reports = self.stress(f"recursion-{depth_option}", "recursion", "200000",
                                      options=("--stack-depth", depth_option))
                data = main_report(reports, "hardening_stress")
                self.assertGreaterEqual(data["totals"]["allocations"], 200000 // 64)
                for record in data["most_allocations"]["records"]:
                    self.assertLessEqual(len([f for f in record["stack"] if not f["inlined"]]),
                                         int(depth_option))

    def test_vfork_and_exec(self):
        reports = self.stress("vfork", "vfork", STRESS, "20")
        self.assertGreaterEqual(len(reports), 21)

    def test_posix_spawn(self):
        reports = self.stress("spawn", "spawn", STRESS, "20")
        self.assertGreaterEqual(len(reports), 21)

    def test_clone_without_shared_memory(self):
        reports = self.stress("clone", "clone", "30")
        data = main_report(reports, "hardening_stress")
        # The parent's own trace is not disturbed by its clone children.
        self.assertEqual(data["warnings"], [], data["warnings"])

    def test_setjmp_longjmp(self):
        reports = self.stress("longjmp", "longjmp", "50")
        data = report_json(self, next(iter(reports)), options=("--max-records", "0"))
        # Each loop leaves 11 blocks of nested_allocations behind.
        leaked = [r for r in data["leaks"]["records"]
                  if any(f["function"].startswith("nested_allocations") for f in r["stack"][:2])]
        self.assertEqual(sum(r["blocks"] for r in leaked), 11 * 50,
                         [(r["blocks"], r["stack"][:2]) for r in data["leaks"]["records"]])


if __name__ == "__main__":
    unittest.main()
