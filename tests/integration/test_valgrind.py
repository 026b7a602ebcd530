"""heapgap's counts agree with valgrind memcheck's on the same binaries.

memcheck and heapgap count the same allocator calls. For the C samples, which
make no allocation outside their own code (stdout has a static buffer), the
figures must match exactly: valgrind's "total heap usage: A allocs, F frees,
B bytes allocated" and "in use at exit: X bytes in Y blocks" against heapgap's
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

    def test_cpp_sample_matches(self):
        # At a clean exit heapgap, like valgrind, lets libstdc++ and libc
        # free what they keep for the process's life (emergency EH pool,
        # thread DTVs in the stack cache), so the figures agree exactly. One
        # difference remains: the preload adds a TLS module, so each thread's
        # DTV is one slot larger.
        allocs, frees, allocated, in_use_bytes, in_use_blocks = memcheck_figures(self, [sample("cpp_mix")])
        data = self.heapgap_figures("cpp_mix")
        totals, leaks = data["totals"], data["leaks"]
        self.assertEqual((leaks["bytes"], leaks["blocks"]), (in_use_bytes, in_use_blocks), summarize(leaks))
        own = [r for r in leaks["records"] if in_module(r["stack"][0], "cpp_mix")]
        self.assertEqual(sum_records(own), (in_use_bytes, in_use_blocks), summarize(leaks))
        self.assertEqual(totals["allocations"], allocs)
        self.assertEqual(totals["frees"], frees)
        larger_dtvs = 3 * DTV_SLOT_BYTES * tls_modules_added_by_preload(sample("cpp_mix"))
        self.assertEqual(totals["bytes_allocated"], allocated + larger_dtvs)

if __name__ == "__main__":
    unittest.main()
