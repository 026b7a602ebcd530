"""Faults around a traced program: SIGKILL at random moments of heavy
allocation, an unwritable output directory, a full disk, a file size limit,
and a trace path with a planted symlink or an existing file. The program
must run to its normal exit status; heapgap says what went wrong in one line;
whatever trace exists reads."""

import json
import os
import random
import shutil
import signal
import struct
import subprocess
import time
import unittest

from hardening_support import (HEAPGAP, PRELOAD, HardeningTest, assert_consistent, exit_code,
                               program, report_json, run, traces_in)

STRESS = program("hardening_stress")
WORKLOAD = program("hardening_cpp_workload")


def preload_env(output, **extra):
    options = ":".join([f"output={output}", *(f"{k}={v}" for k, v in extra.items())])
    return dict(os.environ, LD_PRELOAD=PRELOAD, HEAPGAP_OPTIONS=options)


def heapgap_lines(stderr):
    return [line for line in stderr.decode(errors="replace").splitlines() if "heapgap" in line]


def churn_allocations(data):
    """Allocations made by stress's churn_allocate, from a --top 0 report."""
    return sum(r["allocations"] for r in data["most_allocations"]["records"]
               if any(f["function"] == "churn_allocate" for f in r["stack"][:3]))


class KillTest(HardeningTest):
    def test_sigkill_at_random_moments(self):
        rng = random.Random(os.getpid())
        for attempt in range(4):
            delay = rng.uniform(1.2, 2.0)
            with self.subTest(attempt=attempt, delay=round(delay, 2)):
                out_dir = self.fresh_dir(f"kill-{attempt}")
                counter = os.path.join(out_dir, "counter")
                process = subprocess.Popen([STRESS, "churn", counter], env=preload_env(out_dir + "/"),
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                self.assertEqual(process.stdout.readline(), b"churn: started\n")
                time.sleep(delay - 1.0)
                # Events more than a second old are in the file by now: the
                # flush thread writes at least every 200 ms.
                with open(counter, "rb") as f:
                    early = struct.unpack("<q", f.read(8))[0]
                time.sleep(1.0)
                process.kill()
                process.communicate(timeout=60)
                self.assertEqual(process.returncode, -signal.SIGKILL)
                with open(counter, "rb") as f:
                    final = struct.unpack("<q", f.read(8))[0]
                traces = traces_in(out_dir)
                self.assertEqual(len(traces), 1, traces)
                data = report_json(self, traces[0], options=("--top", "0", "--max-records", "1"))
                assert_consistent(self, data, traces[0])
                self.assertEqual(data["process"]["end"], "truncated")
                self.assertFalse(data["process"]["clean_exit"])
                self.assertTrue(any("truncated" in w for w in data["warnings"]), data["warnings"])
                counted = churn_allocations(data)
                # At most one allocation per thread is recorded but not yet counted.
                self.assertLessEqual(counted, final + 4)
                self.assertGreaterEqual(counted, early, f"early={early} final={final}")


class OutputFaultTest(HardeningTest):
    def native(self):
        if not hasattr(self, "_native"):
            OutputFaultTest._native = run([WORKLOAD, "5"])
            self.assertEqual(self._native.returncode, 5)
        return self._native

    def assert_runs_normally(self, result, expected_line_part):
        native = self.native()
        self.assertEqual(exit_code(result.returncode), 5, result.stderr)
        self.assertEqual(result.stdout, native.stdout)
        lines = heapgap_lines(result.stderr)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(expected_line_part, lines[0])

    def test_output_path_below_a_file(self):
        blocker = os.path.join(self.work_dir, "a-file")
        open(blocker, "w").close()
        result = run([WORKLOAD, "5"], env=preload_env(os.path.join(blocker, "x.trace")))
        self.assert_runs_normally(result, "Not a directory")

    def test_unwritable_output_directory(self):
        if os.getuid() != 0:
            self.skipTest("needs root to run the program as another user")
        for path in (WORKLOAD, HEAPGAP, PRELOAD):
            parts = os.path.abspath(path).split("/")
            for i in range(2, len(parts) + 1):
                if not os.stat("/".join(parts[:i]) or "/").st_mode & 0o001:
                    self.skipTest(f"{path} is not reachable by other users")
        directory = self.fresh_dir("read-only")
        os.chmod(directory, 0o555)
        os.chmod(self.work_dir, 0o755)

        def as_nobody():
            os.setgid(65534)
            os.setuid(65534)

        result = run([WORKLOAD, "5"], env=preload_env(directory + "/"), preexec_fn=as_nobody)
        self.assert_runs_normally(result, "Permission denied")
        # Through `heapgap run`: still the tracer's one line, no guess at
        # another cause.
        result = run([HEAPGAP, "run", "-o", directory + "/", "--", WORKLOAD, "5"],
                     env=dict(os.environ, TMPDIR="/tmp"), preexec_fn=as_nobody)
        self.assert_runs_normally(result, "Permission denied")
        self.assertEqual(os.listdir(directory), [])

    def test_full_disk(self):
        mount_point = self.fresh_dir("small-fs")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount_point],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        if not mounted:
            self.skipTest("cannot mount a small tmpfs here; the file size limit test covers a full file")
        try:
            result = run([WORKLOAD, "5"], env=preload_env(mount_point + "/"))
            self.assert_runs_normally(result, mount_point)
            traces = traces_in(mount_point)
            self.assertEqual(len(traces), 1, traces)
            data = report_json(self, traces[0])
            assert_consistent(self, data, traces[0])
            self.assertEqual(data["process"]["end"], "truncated")
        finally:
            subprocess.run(["umount", "-l", mount_point])

    def test_file_size_limit(self):
        import resource
        out_dir = self.fresh_dir("fsize")

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, 32 * 1024))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        result = run([WORKLOAD, "5"], env=preload_env(out_dir + "/"), preexec_fn=limit)
        self.assert_runs_normally(result, "RLIMIT_FSIZE")
        traces = traces_in(out_dir)
        self.assertEqual(len(traces), 1, traces)
        self.assertLessEqual(os.path.getsize(traces[0]), 32 * 1024)
        data = report_json(self, traces[0])
        assert_consistent(self, data, traces[0])
        self.assertEqual(data["process"]["end"], "truncated")


class TraceFileSafetyTest(HardeningTest):
    def test_planted_symlink_is_not_followed(self):
        out_dir = self.fresh_dir("symlink")
        victim = os.path.join(self.work_dir, "victim.txt")
        with open(victim, "w") as f:
            f.write("precious\n")
        path = os.path.join(out_dir, "fixed.trace")
        os.symlink(victim, path)
        dangling_target = os.path.join(self.work_dir, "created-through-link")
        dangling = os.path.join(out_dir, "dangling.trace")
        os.symlink(dangling_target, dangling)
        for trace_path in (path, dangling):
            result = run([STRESS, "child"], env=preload_env(trace_path))
            self.assertEqual(result.returncode, 0, result.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertFalse(os.path.exists(dangling_target), "a trace was created through a dangling symlink")
        # Whatever was written instead is a regular private file that reads.
        for name in os.listdir(out_dir):
            full = os.path.join(out_dir, name)
            if not os.path.islink(full):
                self.assertEqual(os.stat(full).st_mode & 0o777, 0o600, name)
                assert_consistent(self, report_json(self, full), full)

    def test_existing_file_is_not_overwritten_and_mode_is_private(self):
        out_dir = self.fresh_dir("existing")
        path = os.path.join(out_dir, "fixed.trace")
        with open(path, "w") as f:
            f.write("someone else's file\n")
        os.chmod(path, 0o644)
        old_umask = os.umask(0)
        try:
            for _ in range(2):
                result = run([STRESS, "child"], env=preload_env(path))
                self.assertEqual(result.returncode, 0, result.stderr)
        finally:
            os.umask(old_umask)
        with open(path) as f:
            self.assertEqual(f.read(), "someone else's file\n")
        written = sorted(n for n in os.listdir(out_dir) if n != "fixed.trace")
        self.assertEqual(len(written), 2, written)
        for name in written:
            full = os.path.join(out_dir, name)
            self.assertEqual(os.stat(full).st_mode & 0o777, 0o600, name)
            assert_consistent(self, report_json(self, full), full)


if __name__ == "__main__":
    unittest.main()
