"""Shared helpers for the end-to-end tests: run samples natively and under
heapgap, read the JSON reports, find leak and peak records by function.

The paths of the built tools come from the environment that CTest sets (see
CMakeLists.txt in this folder):
  HEAPGAP_BIN      the `heapgap` command
  HEAPGAP_PRELOAD  libheapgap.so
  HEAPGAP_SAMPLES  the folder holding the sample programs
"""

import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import unittest


def _required_path(variable):
    value = os.environ.get(variable)
    if not value:
        raise RuntimeError(f"{variable} is not set; run the integration tests through ctest")
    if not os.path.exists(value):
        raise RuntimeError(f"{variable}={value} does not exist; build the project first")
    return value


HEAPGAP = _required_path("HEAPGAP_BIN")
PRELOAD = _required_path("HEAPGAP_PRELOAD")
SAMPLES = _required_path("HEAPGAP_SAMPLES")

TIMEOUT_S = 120


def sample(name):
    path = os.path.join(SAMPLES, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"sample {path} is missing")
    return path


def exit_code(returncode):
    """subprocess's -N for "killed by signal N" as a shell reports it: 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def _no_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(argv, env=None, cwd=None):
    """Runs a command to completion and captures stdout and stderr as bytes."""
    return subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=TIMEOUT_S, preexec_fn=_no_core_dumps)


def run_traced(argv, out_dir, options=()):
    """`heapgap run -o out_dir [options] -- argv`."""
    return run([HEAPGAP, "run", "-o", out_dir, *options, "--", *argv])


def traces_in(directory):
    return sorted(os.path.join(directory, name) for name in os.listdir(directory)
                  if name.endswith(".trace") or ".trace." in name)


def report(trace, *options):
    """`heapgap report [options] trace`; returns the CompletedProcess."""
    return run([HEAPGAP, "report", *options, trace])


def report_json(test, trace):
    """The JSON report of a trace; fails the test unless heapgap exits 0."""
    result = report(trace, "--format", "json")
    test.assertEqual(result.returncode, 0,
                     f"heapgap report {trace} failed: {result.stderr.decode(errors='replace')}")
    return json.loads(result.stdout)


def function_name(frame):
    """A frame's function without a C++ parameter list: "leak_foo()" -> "leak_foo"."""
    name = frame.get("function") or ""
    return re.sub(r"\(.*\)( const)?$", "", name)


def first_function(record):
    stack = record["stack"]
    return function_name(stack[0]) if stack else ""


def records_from(records, function):
    """The records whose first frame (the caller of the allocator) is `function`."""
    return [r for r in records if first_function(r) == function]


def in_module(frame, module_name):
    return os.path.basename(frame.get("module") or "") == module_name


def sum_records(records):
    return (sum(r["bytes"] for r in records), sum(r["blocks"] for r in records))


class TracedSampleTest(unittest.TestCase):
    """Base class: a fresh temporary folder per test class for traces."""

    @classmethod
    def setUpClass(cls):
        cls.work_dir = tempfile.mkdtemp(prefix=f"heapgap-{cls.__name__}-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work_dir, ignore_errors=True)

    @classmethod
    def fresh_dir(cls, name):
        path = os.path.join(cls.work_dir, name)
        os.makedirs(path)
        return path

    @classmethod
    def trace_of(cls, name, argv, options=()):
        """Runs argv under heapgap into its own folder; returns (result, traces)."""
        out_dir = cls.fresh_dir(name)
        result = run_traced(argv, out_dir, options)
        return result, traces_in(out_dir)

    def assert_single_trace(self, traces):
        self.assertEqual(len(traces), 1, f"expected one trace, found {traces}")
        return traces[0]

    def assert_leak(self, report_data, function, expected_bytes, expected_blocks):
        records = records_from(report_data["leaks"]["records"], function)
        self.assertTrue(records, f"no leak record from {function}; leaks: {summarize(report_data['leaks'])}")
        self.assertEqual(sum_records(records), (expected_bytes, expected_blocks),
                         f"leaks from {function}")


def summarize(section):
    """A short description of a leaks or peak section, for failure messages."""
    lines = [f"{section.get('bytes', section.get('live_bytes'))} B in {section['blocks']} blocks"]
    for record in section["records"][:20]:
        lines.append(f"  {record['bytes']} B / {record['blocks']} from "
                     + " <- ".join(function_name(f) or f.get("address", "?") for f in record["stack"][:4]))
    return "\n".join(lines)

