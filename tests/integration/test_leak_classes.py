"""heapgap's leak classes equal memcheck's on the same binaries, class by class.

Each leak_* sample (samples/leak_*.c, leak_cpp_apis.cpp) allocates only from
functions named lc_*, and its comment lists the class memcheck gives each of
them. Per sample, both tools run the same binary:

  valgrind --leak-check=full --show-leak-kinds=all --trace-children=yes
  heapgap run (the in-process leak scan at exit)

and two things must be equal:
  1. per (class, lc_* function): bytes and blocks, summed over all processes
     (memcheck's loss records against heapgap's leak records; the function is
     the innermost lc_* frame of the allocation stack);
  2. per lost class (definitely, indirectly, possibly): the LEAK SUMMARY
     totals over all processes, heapgap's with its default suppressions and
     memcheck's less the blocks the dynamic loader allocated (thread vectors
     and dynamic TLS), which those suppressions cover on purpose (memcheck
     calls a live thread's DTV possibly lost: glibc points into it).
Still reachable totals are compared on the samples' own blocks only: at exit
memcheck runs glibc's and libstdc++'s release hooks (__libc_freeres,
__gnu_cxx::__freeres), which free runtime blocks a normal run keeps.

The classes come from the leak scan libheapgap.so runs at a clean exit; a
trace of a clean exit without a LeakScan record means the library predates
the scan, and the tests are skipped with that message.
"""

import glob
import os
import re
import shutil
import tempfile
import unittest

from heapgap_testlib import HEAPGAP, SAMPLES, exit_code, run, sample, traces_in

CLASSES = ("definitely lost", "indirectly lost", "possibly lost", "still reachable")
JSON_KIND = {"definitely_lost": "definitely lost", "indirectly_lost": "indirectly lost",
             "possibly_lost": "possibly lost", "still_reachable": "still reachable"}

LOSS_RECORD = re.compile(
    r"^==\d+== ([\d,]+)(?: \(([\d,]+) direct, ([\d,]+) indirect\))? bytes in ([\d,]+) blocks "
    r"are (definitely lost|indirectly lost|possibly lost|still reachable) in loss record")
# "   by 0x10923D: lc_new(bool) (leak_cpp_apis.cpp:41)", "(in /usr/lib/...so)"
FRAME = re.compile(r"^==\d+==    (?:at|by) 0x[0-9A-Fa-f]+: (.*) \([^()]*\)$")
SUMMARY = re.compile(r"^==\d+== +(definitely lost|indirectly lost|possibly lost|still reachable): "
                     r"([\d,]+) bytes in ([\d,]+) blocks")


def number(text):
    return int(text.replace(",", ""))


def add(table, key, nbytes, blocks):
    old = table.get(key, (0, 0))
    table[key] = (old[0] + nbytes, old[1] + blocks)


def lc_function(names):
    for name in names:
        bare = re.sub(r"\(.*$", "", name or "")
        if bare.startswith("lc_"):
            return bare
    return None


LOADER_FUNCTION = re.compile(r"^(_dl_|__tls_get_addr|tls_get_addr_tail|allocate_dtv|allocate_and_init)")


def parse_memcheck_log(text, records, totals):
    """Adds a log's loss records by (class, lc_ function) and its LEAK SUMMARY,
    less the dynamic loader's blocks."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = LOSS_RECORD.match(lines[i])
        summary = SUMMARY.match(lines[i])
        if summary:
            add(totals, summary.group(1), number(summary.group(2)), number(summary.group(3)))
        if not m:
            i += 1
            continue
        nbytes = number(m.group(2)) if m.group(2) else number(m.group(1))
        blocks = number(m.group(4))
        kind = m.group(5)
        names = []
        i += 1
        while i < len(lines):
            frame = FRAME.match(lines[i])
            if not frame:
                break
            names.append(frame.group(1))
            i += 1
        function = lc_function(names)
        if function:
            add(records, (kind, function), nbytes, blocks)
        if any(LOADER_FUNCTION.match(name) for name in names):
            add(totals, kind, -nbytes, -blocks)


class LeakClassTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work_dir = tempfile.mkdtemp(prefix="heapgap-leak-classes-")
        cls.valgrind = shutil.which("valgrind")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work_dir, ignore_errors=True)

    def memcheck(self, name, argv):
        self.assertIsNotNone(self.valgrind, "valgrind is not installed (scripts/install-deps.sh installs it)")
        log_dir = os.path.join(self.work_dir, name + ".memcheck")
        os.makedirs(log_dir)
        result = run([self.valgrind, "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=all",
                      "--trace-children=yes", f"--log-file={log_dir}/%p.log", *argv])
        self.assertEqual(exit_code(result.returncode), 0, result.stderr.decode(errors="replace"))
        records, totals = {}, {}
        logs = sorted(glob.glob(os.path.join(log_dir, "*.log")))
        self.assertTrue(logs, "memcheck wrote no log")
        for path in logs:
            with open(path, errors="replace") as f:
                parse_memcheck_log(f.read(), records, totals)
        return records, totals

    def heapgap(self, name, argv):
        out_dir = os.path.join(self.work_dir, name + ".heapgap") + "/"
        result = run([HEAPGAP, "run", "-q", "-o", out_dir, "--", *argv])
        self.assertEqual(exit_code(result.returncode), 0, result.stderr.decode(errors="replace"))
        traces = traces_in(out_dir)
        self.assertTrue(traces, "heapgap wrote no trace")
        records, totals, own_reachable = {}, {}, (0, 0)
        for trace in traces:
            data = self.report(trace, "--no-default-suppressions")
            process, leaks = data["process"], data["leaks"]
            if process["end"] == "exit" and not leaks["checked"]:
                self.skipTest(f"{trace} ends with a clean exit but holds no LeakScan record: this "
                              "libheapgap.so has no in-process exit scan yet")
            for record in leaks["records"]:
                kind = JSON_KIND.get(record["kind"])
                function = lc_function(frame["function"] for frame in record["stack"])
                if kind and function:
                    add(records, (kind, function), record["bytes"], record["blocks"])
            suppressed = self.report(trace)["leaks"]
            for json_kind, kind in JSON_KIND.items():
                add(totals, kind, suppressed[json_kind]["bytes"], suppressed[json_kind]["blocks"])
        return records, totals

    def report(self, trace, *options):
        import json
        result = run([HEAPGAP, "report", "--format", "json", *options, trace])
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        return json.loads(result.stdout)

    def compare(self, name, argv):
        hg_records, hg_totals = self.heapgap(name, argv)
        vg_records, vg_totals = self.memcheck(name, argv)

        def table(records):
            return "\n".join(f"  {kind:16} {function:24} {b} B in {n} blocks"
                             for (kind, function), (b, n) in sorted(records.items()))

        self.assertTrue(vg_records, "memcheck reported no lc_* block")
        self.assertEqual(hg_records, vg_records,
                         f"\nheapgap:\n{table(hg_records)}\nmemcheck:\n{table(vg_records)}")
        for kind in ("definitely lost", "indirectly lost", "possibly lost"):
            self.assertEqual(hg_totals.get(kind, (0, 0)), vg_totals.get(kind, (0, 0)),
                             f"LEAK SUMMARY '{kind}' over all processes (heapgap, memcheck)")

    def test_roots(self):
        self.compare("roots", [sample("leak_roots"), os.path.join(SAMPLES, "leak_plugin.so")])

    def test_graphs(self):
        self.compare("graphs", [sample("leak_graphs")])

    def test_c_allocation_functions(self):
        self.compare("apis", [sample("leak_apis")])

    def test_cpp_allocation_functions(self):
        self.compare("cpp_apis", [sample("leak_cpp_apis")])

    def test_threads(self):
        self.compare("threads", [sample("leak_threads")])

    def test_fork_and_exec_children(self):
        self.compare("children", [sample("leak_children")])


if __name__ == "__main__":
    unittest.main()
