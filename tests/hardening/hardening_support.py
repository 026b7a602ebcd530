"""Shared helpers for the hardening tests: run programs with and without
heapgap, read every trace they left, and check that the reports hold
together.

CTest sets the paths of the built tools (see CMakeLists.txt in this folder):
  HEAPGAP_BIN       the `heapgap` command
  HEAPGAP_PRELOAD   libheapgap.so
  HARDENING_BIN     the folder with this folder's test programs
  HARDENING_PLUGIN  the module that `hardening_stress dlopen` loads
"""

import json
import os
import resource
import shutil
import subprocess
import tempfile
import unittest


def _required_path(variable):
    value = os.environ.get(variable)
    if not value:
        raise RuntimeError(f"{variable} is not set; run the hardening tests through ctest")
    if not os.path.exists(value):
        raise RuntimeError(f"{variable}={value} does not exist; build the project first")
    return value


HEAPGAP = _required_path("HEAPGAP_BIN")
PRELOAD = _required_path("HEAPGAP_PRELOAD")
BIN = _required_path("HARDENING_BIN")
PLUGIN = _required_path("HARDENING_PLUGIN")

# Generous for a loaded 2-core machine; a hang shows up as this timeout.
TIMEOUT_S = 120


def program(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"test program {path} is missing")
    return path


def system_program(name):
    """A Debian program by absolute path; the test is skipped without it."""
    path = shutil.which(name, path="/usr/bin:/bin")
    if path is None:
        raise unittest.SkipTest(f"{name} is not installed (scripts/install-deps.sh installs it)")
    return path


def exit_code(returncode):
    """subprocess's -N for "killed by signal N" as a shell reports it: 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def _no_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(argv, env=None, cwd=None, timeout=TIMEOUT_S, input=None, preexec_fn=_no_core_dumps):
    """Runs a command to completion, capturing stdout and stderr as bytes."""
    return subprocess.run(argv, env=env, cwd=cwd, input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, preexec_fn=preexec_fn)


def traced_argv(argv, out_dir, options=(), quiet=True):
    return [HEAPGAP, "run", *(["-q"] if quiet else []), "-o", out_dir + "/", *options, "--", *argv]


def traces_in(directory):
    return sorted(os.path.join(directory, name) for name in os.listdir(directory)
                  if name.endswith(".trace") or ".trace." in name)


def report_json(test, trace, options=("--top", "3", "--max-records", "5")):
    """The JSON report of a trace; fails the test unless heapgap exits 0."""
    result = run([HEAPGAP, "report", "--format", "json", *options, trace])
    test.assertEqual(result.returncode, 0,
                     f"heapgap report {trace}: {result.stderr.decode(errors='replace')}")
    return json.loads(result.stdout)


def assert_consistent(test, data, trace=""):
    """What every report must satisfy, whatever the program did."""
    totals = data["totals"]
    where = f"{trace}: {totals}"
    test.assertLessEqual(totals["frees"], totals["allocations"], where)
    test.assertGreaterEqual(data["peak"]["live_bytes"], data["leaks"]["bytes"], where)
    test.assertGreaterEqual(data["peak"]["blocks"], 0, where)
    test.assertLessEqual(data["leaks"]["blocks"], totals["allocations"] - totals["frees"], where)
    test.assertEqual(totals["unknown_frees"], 0, where)


def read_all(test, traces, expect_clean=True):
    """Reports every trace; checks each is consistent. Returns {path: report}."""
    test.assertTrue(traces, "no trace was written")
    reports = {}
    for trace in traces:
        data = report_json(test, trace)
        assert_consistent(test, data, trace)
        if expect_clean:
            test.assertIn(data["process"]["end"], ("exit", "_exit", "exec"),
                          f"{trace}: {data['process']} {data['warnings']}")
        reports[trace] = data
    return reports


def main_report(reports, executable_name):
    """The report of the first process (not a fork child) running executable_name."""
    for data in reports.values():
        process = data["process"]
        if not process["forked"] and os.path.basename(process["exe"]).startswith(executable_name):
            return data
    raise AssertionError(f"no trace of {executable_name} among {list(reports)}")


class HardeningTest(unittest.TestCase):
    """Base class: a fresh temporary folder per test class."""

    @classmethod
    def setUpClass(cls):
        cls.work_dir = tempfile.mkdtemp(prefix=f"heapgap-{cls.__name__}-")
        cls._dirs = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work_dir, ignore_errors=True)

    @classmethod
    def fresh_dir(cls, name):
        cls._dirs += 1
        path = os.path.join(cls.work_dir, f"{cls._dirs:03d}-{name}")
        os.makedirs(path)
        return path

    def run_both(self, name, argv, cwd_setup=None, env=None, input=None, options=()):
        """Runs argv natively and under `heapgap run`, each in a fresh working
        folder that cwd_setup(folder) may fill first. Checks the same stdout
        and exit status; returns (traced result, traces)."""
        native_cwd = self.fresh_dir(f"{name}-native")
        traced_cwd = self.fresh_dir(f"{name}-traced")
        out_dir = self.fresh_dir(f"{name}-traces")
        if cwd_setup:
            cwd_setup(native_cwd)
            cwd_setup(traced_cwd)
        native = run(argv, env=env, cwd=native_cwd, input=input)
        traced = run(traced_argv(argv, out_dir, options), env=env, cwd=traced_cwd, input=input)
        self.assertEqual(exit_code(traced.returncode), exit_code(native.returncode),
                         f"exit status of {argv}; stdout {traced.stdout[-300:]}; stderr under heapgap: "
                         f"{traced.stderr.decode(errors='replace')[-1500:]}")
        self.assertEqual(traced.stdout, native.stdout, f"stdout of {argv}")
        return traced, traces_in(out_dir)
