"""heapgap's counts agree with valgrind memcheck's on the same binaries.

memcheck and heapgap count the same allocator calls. For the C samples, which
make no allocation outside their own code (stdout has a static buffer), the
figures must match exactly: valgrind's "total heap usage: A allocs, F frees,
B bytes allocated", "in use at exit: X bytes in Y blocks" and its leak kinds
(definitely, indirectly, possibly lost, still reachable) against heapgap's
totals and leaks.

For C++ the same holds because heapgap, like valgrind, lets glibc and
libstdc++ free what they keep for the life of the process (libstdc++'s
emergency exception pool, the DTVs of exited threads cached with their stacks)
at a clean, single-threaded exit. One size differs by construction: a DTV has a
slot per module with thread-local storage, and libheapgap.so and libunwind
bring two more such modules, so under heapgap each thread's DTV is 16 bytes per
added module larger than under valgrind (whose preload has no TLS).
bytes_allocated differs by exactly that.
"""

import re
import shutil
import struct
import unittest

from heapgap_testlib import (PRELOAD, TracedSampleTest, in_module, report_json, run, sample, sum_records,
                             summarize)

PT_TLS = 7
DTV_SLOT_BYTES = 16


def has_tls_segment(path):
    """Whether an x86-64 ELF file has a PT_TLS program header."""
    with open(path, "rb") as f:
        elf = f.read(64)
        phoff, = struct.unpack_from("<Q", elf, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return any(struct.unpack_from("<I", table, i * phentsize)[0] == PT_TLS for i in range(phnum))


def shared_libraries(path):
    """The shared libraries `path` loads, as resolved by ldd."""
    text = run(["ldd", path]).stdout.decode()
    return {m.group(1) for m in re.finditer(r"=> (/\S+)", text)}


def tls_modules_added_by_preload(program):
    added = ({PRELOAD} | shared_libraries(PRELOAD)) - shared_libraries(program)
    return sum(1 for path in added if has_tls_segment(path))


LEAK_KINDS = {
    "definitely lost": "definitely_lost",
    "indirectly lost": "indirectly_lost",
    "possibly lost": "possibly_lost",
    "still reachable": "still_reachable",
}


def memcheck_figures(test, argv):
    """memcheck's summary of a run: a dict with "allocs", "frees", "allocated",
    "in_use" (bytes, blocks) and, per heapgap leak kind, (bytes, blocks)."""
    valgrind = shutil.which("valgrind")
    test.assertIsNotNone(valgrind, "valgrind is not installed (scripts/install-deps.sh installs it)")
    result = run([valgrind, "--tool=memcheck", "--leak-check=full", *argv])
    text = result.stderr.decode(errors="replace")
    test.assertEqual(result.returncode, 0, text)

    def numbers(match):
        return tuple(int(group.replace(",", "")) for group in match.groups())

    in_use = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", text)
    usage = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated", text)
    test.assertTrue(in_use and usage, text)
    figures = {"in_use": numbers(in_use)}
    figures["allocs"], figures["frees"], figures["allocated"] = numbers(usage)
    for label, kind in LEAK_KINDS.items():
        # Absent when nothing is in use at exit ("All heap blocks were freed").
        match = re.search(label + r": ([\d,]+) bytes in ([\d,]+) blocks", text)
        figures[kind] = numbers(match) if match else (0, 0)
    return figures


class ValgrindAgreementTest(TracedSampleTest):
    def heapgap_figures(self, name):
        result, traces = self.trace_of(name, [sample(name)])
        self.assertEqual(result.returncode, 0)
        data = report_json(self, self.assert_single_trace(traces))
        return data

    def test_c_samples_match_exactly(self):
        for name in ("leaky", "spike", "fragment", "reachability"):
            with self.subTest(sample=name):
                data = self.heapgap_figures(name)
                totals, leaks = data["totals"], data["leaks"]
                memcheck = memcheck_figures(self, [sample(name)])
                self.assertEqual((totals["allocations"], totals["frees"], totals["bytes_allocated"]),
                                 (memcheck["allocs"], memcheck["frees"], memcheck["allocated"]))
                self.assertEqual((leaks["bytes"], leaks["blocks"]), memcheck["in_use"])
                self.assertTrue(leaks["checked"])
                for kind in LEAK_KINDS.values():
                    self.assertEqual((leaks[kind]["bytes"], leaks[kind]["blocks"]), memcheck[kind], kind)

    def test_cpp_sample_matches(self):
        # At a clean exit heapgap, like valgrind, lets libstdc++ and libc
        # free what they keep for the process's life (emergency EH pool,
        # thread DTVs in the stack cache), so the figures agree exactly. One
        # difference remains: the preload adds a TLS module, so each thread's
        # DTV is one slot larger.
        memcheck = memcheck_figures(self, [sample("cpp_mix")])
        data = self.heapgap_figures("cpp_mix")
        totals, leaks = data["totals"], data["leaks"]
        self.assertEqual((leaks["bytes"], leaks["blocks"]), memcheck["in_use"], summarize(leaks))
        own = [r for r in leaks["records"] if in_module(r["stack"][0], "cpp_mix")]
        self.assertEqual(sum_records(own), memcheck["in_use"], summarize(leaks))
        for kind in LEAK_KINDS.values():
            self.assertEqual((leaks[kind]["bytes"], leaks[kind]["blocks"]), memcheck[kind], kind)
        self.assertEqual(totals["allocations"], memcheck["allocs"])
        self.assertEqual(totals["frees"], memcheck["frees"])
        larger_dtvs = 3 * DTV_SLOT_BYTES * tls_modules_added_by_preload(sample("cpp_mix"))
        self.assertEqual(totals["bytes_allocated"], memcheck["allocated"] + larger_dtvs)

if __name__ == "__main__":
    unittest.main()
