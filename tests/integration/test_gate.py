"""The CI gate end to end: exit codes, thresholds, suppressions, baselines,
JUnit and SARIF files validated against their schemas (tests/schemas/),
directory reports, and the CTest helper (cmake/HeapgapTest.cmake).

leaky (samples/leaky.c) loses 41,000 bytes in 11 blocks (leak_small,
leak_big) and keeps 160 bytes in 5 blocks reachable (list_push); spike frees
everything; forker has a parent, a fork child and an exec'd child. Tests
that name leak classes need the exit scan's LeakScan record and are skipped
without it; the others count unchecked blocks too, so they hold either way.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from heapgap_testlib import HEAPGAP, TracedSampleTest, run, sample, traces_in

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
SCHEMAS = os.path.join(SOURCE_ROOT, "tests", "schemas")
GATE_FAILED = 99
ANY_LEAK = "definite,indirect,unchecked"


def stderr_of(result):
    return result.stderr.decode(errors="replace")


class GateTest(TracedSampleTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leaky_dir = cls.fresh_dir("leaky")
        result = run([HEAPGAP, "run", "-q", "-o", cls.leaky_dir, "--", sample("leaky")])
        assert result.returncode == 0, stderr_of(result)
        cls.leaky_trace = traces_in(cls.leaky_dir)[0]
        data = json.loads(run([HEAPGAP, "report", "--format", "json", cls.leaky_trace]).stdout)
        cls.scanned = data["leaks"]["checked"]

    def need_scan(self):
        if not self.scanned:
            self.skipTest("the trace holds no LeakScan record: this libheapgap.so has no exit scan yet")

    def heapgap_run(self, name, argv, *options):
        out_dir = self.fresh_dir(name)
        result = run([HEAPGAP, "run", "-o", out_dir, *options, "--", *argv])
        return result, traces_in(out_dir)

    def assert_gate_failed(self, result, code=GATE_FAILED):
        err = stderr_of(result)
        self.assertEqual(result.returncode, code, err)
        lines = [line for line in err.splitlines() if line.startswith("heapgap: gate failed: ")]
        self.assertEqual(len(lines), 1, err)
        return lines[0]

    def test_run_exits_with_the_gate_code_and_one_line_why(self):
        result, _ = self.heapgap_run("run-gate", [sample("leaky")], "--fail-on", ANY_LEAK)
        line = self.assert_gate_failed(result)
        self.assertRegex(line, r"bytes in \d+ blocks .*\(none allowed\)$")
        result, _ = self.heapgap_run("run-code", [sample("leaky")], "--gate", "--fail-on", ANY_LEAK,
                                     "--error-exitcode", "42")
        self.assert_gate_failed(result, 42)
        # No gate option: the program's own status, however much it leaks.
        result, _ = self.heapgap_run("run-plain", [sample("leaky")])
        self.assertEqual(result.returncode, 0, stderr_of(result))
        self.assertNotIn("gate failed", stderr_of(result))
        # A clean program passes; a failing program keeps its status.
        result, _ = self.heapgap_run("run-spike", [sample("spike")], "--fail-on", "all,unchecked,errors")
        self.assertEqual(result.returncode, 0, stderr_of(result))
        result, _ = self.heapgap_run("run-false", ["/bin/sh", "-c", "exit 3"], "--gate")
        self.assertEqual(result.returncode, 3, stderr_of(result))

    def test_thresholds(self):
        for option, limit, fails in (("--fail-above-bytes", "41160", False), ("--fail-above-bytes", "40000", True),
                                     ("--fail-above-blocks", "16", False), ("--fail-above-blocks", "10", True)):
            result = run([HEAPGAP, "report", "-o", os.devnull, "--fail-on", ANY_LEAK, option, limit,
                          self.leaky_trace])
            if fails:
                line = self.assert_gate_failed(result)
                self.assertIn(f"(limit {int(limit):,}", line)
            else:
                self.assertEqual(result.returncode, 0, stderr_of(result))

    def test_leak_classes_choose_what_fails(self):
        self.need_scan()
        result = run([HEAPGAP, "report", "-o", os.devnull, "--gate", self.leaky_trace])
        line = self.assert_gate_failed(result)
        self.assertIn("41,000 bytes in 11 blocks definitely lost or indirectly lost (none allowed)", line)
        result = run([HEAPGAP, "report", "-o", os.devnull, "--fail-on", "reachable", self.leaky_trace])
        self.assertIn("160 bytes in 5 blocks still reachable", self.assert_gate_failed(result))
        result = run([HEAPGAP, "report", "-o", os.devnull, "--fail-on", "possible", self.leaky_trace])
        self.assertEqual(result.returncode, 0, stderr_of(result))
        text = run([HEAPGAP, "report", self.leaky_trace]).stdout.decode()
        self.assertIn("   definitely lost: 41,000 bytes in 11 blocks\n", text)
        self.assertIn("   still reachable: 160 bytes in 5 blocks\n", text)

    def test_suppression_files_of_both_formats(self):
        work = self.fresh_dir("supp")
        lsan = os.path.join(work, "lsan.supp")
        with open(lsan, "w") as f:
            f.write("# accepted\nleak:leak_small\nleak:list_push\n")
        vg = os.path.join(work, "valgrind.supp")
        with open(vg, "w") as f:
            f.write("{\n   big\n   Memcheck:Leak\n   fun:malloc\n   fun:leak_big\n   fun:main\n}\n")
        result = run([HEAPGAP, "report", "--format", "json", "--fail-on", ANY_LEAK + ",reachable",
                      "--suppressions", lsan, "--suppressions", vg, self.leaky_trace])
        self.assertEqual(result.returncode, 0, stderr_of(result))
        data = json.loads(result.stdout)
        self.assertEqual(data["leaks"]["records"], [])
        self.assertEqual(data["leaks"]["suppressed"], {"bytes": 41160, "blocks": 16})
        used = {s["name"]: (s["bytes"], s["blocks"]) for s in data["suppressions"] if s["records"]}
        self.assertEqual(used, {"leak:leak_small": (1000, 10), "leak:list_push": (160, 5), "big": (40000, 1)})
        # Only one file: the rest still fails.
        result = run([HEAPGAP, "report", "-o", os.devnull, "--fail-on", ANY_LEAK, "--suppressions", vg,
                      self.leaky_trace])
        self.assert_gate_failed(result)
        # A bad file is a usage error naming file and line.
        bad = os.path.join(work, "bad.supp")
        with open(bad, "w") as f:
            f.write("leak:ok\nnonsense here\n")
        result = run([HEAPGAP, "report", "--suppressions", bad, self.leaky_trace])
        self.assertEqual(result.returncode, 2)
        self.assertIn(f"{bad}:2:", stderr_of(result))

    def test_baseline_fails_only_on_new_or_grown_leaks_and_peaks(self):
        work = self.fresh_dir("baseline")
        base_json = os.path.join(work, "leaky.json")
        self.assertEqual(run([HEAPGAP, "report", "--format", "json", "-o", base_json, self.leaky_trace]).returncode, 0)
        for baseline in (self.leaky_trace, base_json, self.leaky_dir):
            result = run([HEAPGAP, "report", "-o", os.devnull, "--fail-on", ANY_LEAK, "--baseline", baseline,
                          self.leaky_trace])
            self.assertEqual(result.returncode, 0, f"baseline {baseline}: {stderr_of(result)}")
        # Against a run of spike (no leaks) every leak of leaky is new.
        spike_dir = self.fresh_dir("spike-base")
        self.assertEqual(run([HEAPGAP, "run", "-q", "-o", spike_dir, "--", sample("spike")]).returncode, 0)
        result = run([HEAPGAP, "report", "-o", os.devnull, "--fail-on", ANY_LEAK, "--baseline", spike_dir,
                      self.leaky_trace])
        self.assertIn("new or grown since the baseline", self.assert_gate_failed(result))
        # A baseline whose peak was 20% lower.
        with open(base_json) as f:
            data = json.load(f)
        data["peak"]["live_bytes"] = int(data["peak"]["live_bytes"] / 1.2)
        lower = os.path.join(work, "lower-peak.json")
        with open(lower, "w") as f:
            json.dump(data, f)
        result = run([HEAPGAP, "report", "-o", os.devnull, "--baseline", lower, self.leaky_trace])
        self.assertIn("the peak of leaky grew from", self.assert_gate_failed(result))
        result = run([HEAPGAP, "report", "-o", os.devnull, "--baseline", lower, "--peak-tolerance", "25",
                      self.leaky_trace])
        self.assertEqual(result.returncode, 0, stderr_of(result))

    def validate_junit(self, path):
        xmllint = shutil.which("xmllint")
        self.assertIsNotNone(xmllint, "xmllint is missing (libxml2-utils; scripts/install-deps.sh installs it)")
        result = run([xmllint, "--noout", "--schema", os.path.join(SCHEMAS, "junit.xsd"), path])
        self.assertEqual(result.returncode, 0, stderr_of(result))

    def validate_sarif(self, path):
        try:
            import jsonschema
        except ImportError:
            self.fail("python3-jsonschema is missing (scripts/install-deps.sh installs it)")
        with open(os.path.join(SCHEMAS, "sarif-schema-2.1.0.json")) as f:
            schema = json.load(f)
        with open(path) as f:
            document = json.load(f)
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(document), key=str)
        self.assertEqual(errors, [], "\n".join(e.message for e in errors[:5]))
        return document

    def test_junit_and_sarif_files_validate_against_their_schemas(self):
        work = self.fresh_dir("ci-files")
        junit, sarif = os.path.join(work, "heapgap.xml"), os.path.join(work, "heapgap.sarif")
        result, traces = self.heapgap_run("ci-run", [sample("forker")], "--fail-on", ANY_LEAK,
                                          "--junit", junit, "--sarif", sarif)
        self.assert_gate_failed(result)
        self.validate_junit(junit)
        with open(junit) as f:
            xml = f.read()
        self.assertEqual(xml.count("<testcase "), len(traces))
        self.assertGreaterEqual(xml.count("<failure "), 2)  # the parent's and the fork child's leaks
        document = self.validate_sarif(sarif)
        results = document["runs"][0]["results"]
        self.assertTrue(any(r["level"] == "error" for r in results))
        located = [r for r in results if r["locations"]]
        self.assertTrue(located, "no result has a source location")
        self.assertTrue(any(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("/forker.c")
                            for r in located))
        # The same files from `heapgap report --format`.
        for fmt, validate in (("junit", self.validate_junit), ("sarif", self.validate_sarif)):
            out = os.path.join(work, "report." + fmt)
            result = run([HEAPGAP, "report", "--format", fmt, "-o", out, self.leaky_trace])
            self.assertEqual(result.returncode, 0, stderr_of(result))
            validate(out)

    def test_directory_reports_per_process_and_in_total(self):
        result, traces = self.heapgap_run("suite", [sample("forker")])
        self.assertEqual(result.returncode, 0, stderr_of(result))
        self.assertGreaterEqual(len(traces), 3)
        directory = os.path.dirname(traces[0])
        self.assertIn("TOTAL over", stderr_of(result))
        text = run([HEAPGAP, "report", directory]).stdout.decode()
        self.assertEqual(text.count("\n== "), len(traces))
        self.assertIn(f"TOTAL over {len(traces)} processes:", text)
        serial = run([HEAPGAP, "report", "--format", "json", "--jobs", "1", directory])
        parallel = run([HEAPGAP, "report", "--format", "json", "--jobs", "4", directory])
        self.assertEqual(serial.returncode, 0, stderr_of(serial))
        self.assertEqual(serial.stdout, parallel.stdout)
        data = json.loads(serial.stdout)
        self.assertEqual(len(data["processes"]), len(traces))
        total = data["total"]["leaks"]
        for kind in ("definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable", "unchecked"):
            self.assertEqual(total[kind]["bytes"], sum(p["leaks"][kind]["bytes"] for p in data["processes"]))
        # The gate takes the total: forker's processes leak 1234 + 2100 B (+ the exec path).
        result = run([HEAPGAP, "report", "-o", os.devnull, "--fail-on", ANY_LEAK, "--fail-above-bytes", "3000",
                      directory])
        self.assert_gate_failed(result)
        result = run([HEAPGAP, "report", "-o", os.devnull, "--fail-on", ANY_LEAK, "--fail-above-bytes", "100000",
                      directory])
        self.assertEqual(result.returncode, 0, stderr_of(result))

    def test_ctest_helper_in_a_project_of_its_own(self):
        cmake, ctest = shutil.which("cmake"), shutil.which("ctest")
        self.assertTrue(cmake and ctest, "cmake is missing")
        project = self.fresh_dir("helper-project")
        with open(os.path.join(project, "tidy.c"), "w") as f:
            f.write("#include <stdlib.h>\nint main(void) { free(malloc(10)); return 0; }\n")
        with open(os.path.join(project, "leaks.c"), "w") as f:
            f.write("#include <stdlib.h>\n#include <string.h>\n"
                    "int main(void) { char* volatile p = malloc(77); memset(p, 1, 77); p = 0; return 0; }\n")
        with open(os.path.join(project, "CMakeLists.txt"), "w") as f:
            f.write(f"""cmake_minimum_required(VERSION 3.25)
project(helper_demo C)
enable_testing()
set(HEAPGAP_EXECUTABLE "{HEAPGAP}")
list(APPEND CMAKE_MODULE_PATH "{os.path.join(SOURCE_ROOT, 'cmake')}")
include(HeapgapTest)
add_executable(tidy tidy.c)
add_executable(leaks leaks.c)
heapgap_add_tests_for(TARGETS tidy leaks FAIL_ON {ANY_LEAK})
""")
        build = os.path.join(project, "build")
        for command in ([cmake, "-S", project, "-B", build], [cmake, "--build", build]):
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            self.assertEqual(result.returncode, 0, result.stdout.decode(errors="replace"))
        result = subprocess.run([ctest, "--test-dir", build, "--output-on-failure"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=300)
        output = result.stdout.decode(errors="replace")
        self.assertNotEqual(result.returncode, 0, output)
        self.assertRegex(output, r"heapgap\.tidy \.+\s+Passed")
        self.assertRegex(output, r"heapgap\.leaks \.+\*+Failed")
        self.assertIn("heapgap: gate failed: 77 bytes in 1 block", output)
        self.assertTrue(traces_in(os.path.join(build, "heapgap", "heapgap.leaks")))


if __name__ == "__main__":
    unittest.main()
