"""The C and C++ allocation contract, identical with and without heapgap;
and programs that bring their own allocator: heapgap must not crash them,
and its report must say what it could see and what it could not."""

import os
import unittest

from hardening_support import (HEAPGAP, HardeningTest, main_report, program, read_all,
                               report_json, run)

LIBRARY_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"]


def find_library(name):
    for directory in LIBRARY_DIRS:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    return None


class ContractTest(HardeningTest):
    def test_allocation_contract_is_unchanged(self):
        result, traces = self.run_both("contract", [program("hardening_alloc_contract")])
        self.assertEqual(result.returncode, 0, result.stdout.decode(errors="replace"))
        self.assertTrue(result.stdout.endswith(b"contract holds\n"), result.stdout[-500:])
        data = main_report(read_all(self, traces), "hardening_alloc_contract")
        self.assertGreater(data["totals"]["calls"].get("operator new(aligned)", 0), 100)

    def test_contract_under_every_stack_depth(self):
        for depth in ("1", "256"):
            with self.subTest(stack_depth=depth):
                result, traces = self.run_both(f"contract-{depth}", [program("hardening_alloc_contract")],
                                               options=("--stack-depth", depth))
                self.assertEqual(result.returncode, 0)
                read_all(self, traces)


class OwnAllocatorTest(HardeningTest):
    def test_program_defining_malloc_itself(self):
        # Every call resolves to the executable's own malloc: heapgap sees
        # nothing and says so, and the program is unaffected.
        _, traces = self.run_both("own", [program("hardening_own_allocator")])
        data = main_report(read_all(self, traces), "hardening_own_allocator")
        self.assertEqual(data["totals"]["allocations"], 0)
        self.assertTrue(any("brings its own malloc" in w for w in data["warnings"]), data["warnings"])

    def check_preloaded_allocator(self, library_name):
        library = find_library(library_name)
        if library is None:
            self.skipTest(f"{library_name} is not installed (scripts/install-deps.sh installs it)")
        env = dict(os.environ, LD_PRELOAD=library)
        for argv in ([program("hardening_cpp_workload"), "4"], [program("hardening_stress"), "threads", "5"]):
            with self.subTest(program=os.path.basename(argv[0])):
                _, traces = self.run_both(f"{library_name}-{os.path.basename(argv[0])}", argv, env=env)
                data = main_report(read_all(self, traces), os.path.basename(argv[0]))
                self.assertGreater(data["totals"]["allocations"], 100)
                prefix = library_name.split(".so")[0].split("_")[0]
                self.assertTrue(any(f"loaded {library_name}" in w and prefix in w for w in data["warnings"]),
                                data["warnings"])

    def test_jemalloc_preloaded(self):
        self.check_preloaded_allocator("libjemalloc.so.2")

    # Fault in libheapgap.so, kept failing until fixed: libtcmalloc_minimal
    # also defines __libc_malloc and friends, so libheapgap.so's forwarding
    # calls land in tcmalloc, whose blocks it then reads as glibc chunks; a
    # set A bit sends it to a 64 MiB-aligned "heap_info" that is not mapped
    # (it crashed). The library now reads chunk headers only when
    # __libc_malloc is glibc's own.
    def test_tcmalloc_preloaded(self):
        self.check_preloaded_allocator("libtcmalloc_minimal.so.4")


if __name__ == "__main__":
    unittest.main()
