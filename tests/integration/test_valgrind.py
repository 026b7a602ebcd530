"""heapgap's counts agree with valgrind memcheck's on the same binaries.

memcheck and heapgap count the same allocator calls. For the C samples, which
make no allocation outside their own code (stdout has a static buffer), the
figures must match exactly: valgrind's "total heap usage: A allocs, F frees,
B bytes allocated" and "in use at exit: X bytes in Y blocks" against heapgap's
totals and leaks.

C++ differs in one known way: at exit valgrind runs glibc's and libstdc++'s
free-resource hooks (__libc_freeres, __gnu_cxx::__freeres), which release
libstdc++'s start-up allocations such as its emergency exception pool. A
normal run never frees those, and heapgap reports the run as it is. So for
cpp_mix the bytes valgrind sees in use at exit must equal the leaks that have
a frame in cpp_mix itself, and heapgap's leaks beyond those must all be
libstdc++'s own blocks that the hooks freed.
"""

import re
import shutil
import unittest

from heapgap_testlib import TracedSampleTest, in_module, report_json, run, sample, sum_records, summarize


def memcheck_figures(test, argv):
    """(allocs, frees, bytes allocated, bytes in use at exit, blocks in use at exit)."""
    valgrind = shutil.which("valgrind")
    test.assertIsNotNone(valgrind, "valgrind is not installed (scripts/install-deps.sh installs it)")
    result = run([valgrind, "--tool=memcheck", "--leak-check=no", *argv])
    text = result.stderr.decode(errors="replace")
    test.assertEqual(result.returncode, 0, text)

    def number(s):
        return int(s.replace(",", ""))

    in_use = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", text)
    usage = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated", text)
    test.assertTrue(in_use and usage, text)
    return (number(usage.group(1)), number(usage.group(2)), number(usage.group(3)),
            number(in_use.group(1)), number(in_use.group(2)))


class ValgrindAgreementTest(TracedSampleTest):
    def heapgap_figures(self, name):
        result, traces = self.trace_of(name, [sample(name)])
        self.assertEqual(result.returncode, 0)
        data = report_json(self, self.assert_single_trace(traces))
        return data

    def test_c_samples_match_exactly(self):
        for name in ("leaky", "spike", "fragment"):
            with self.subTest(sample=name):
                data = self.heapgap_figures(name)
                totals, leaks = data["totals"], data["leaks"]
                self.assertEqual(
                    (totals["allocations"], totals["frees"], totals["bytes_allocated"], leaks["bytes"],
                     leaks["blocks"]),
                    memcheck_figures(self, [sample(name)]))

    def test_cpp_sample_matches_but_for_libstdcxx_freeres(self):
        allocs, frees, allocated, in_use_bytes, in_use_blocks = memcheck_figures(self, [sample("cpp_mix")])
        data = self.heapgap_figures("cpp_mix")
        totals, leaks = data["totals"], data["leaks"]
        own = [r for r in leaks["records"] if any(in_module(f, "cpp_mix") for f in r["stack"])]
        self.assertEqual(sum_records(own), (in_use_bytes, in_use_blocks), summarize(leaks))
        freed_by_hooks = leaks["blocks"] - in_use_blocks
        self.assertEqual(totals["allocations"], allocs)
        self.assertEqual(totals["bytes_allocated"], allocated)
        self.assertEqual(totals["frees"] + freed_by_hooks, frees)
        others = [r for r in leaks["records"] if r not in own]
        for record in others:
            self.assertTrue(any(in_module(f, "libstdc++.so.6") for f in record["stack"]), summarize(leaks))


if __name__ == "__main__":
    unittest.main()
