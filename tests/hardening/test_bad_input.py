"""Bad input to every heapgap command: a missing file, a directory, an empty
file, a trace of a newer format version, a wrong flag. Each prints exactly
one `heapgap: error:` line, nothing on stdout, and exits non-zero. Hostile
traces (huge record lengths, stack ids that jump again and again) finish
quickly with little memory."""

import os
import subprocess
import time
import unittest

from hardening_support import HEAPGAP, HardeningTest, program, run, traces_in, traced_argv


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def varint_field(field, value):
    return varint(field << 3) + varint(value)


def record(payload):
    return varint(len(payload)) + payload


def header(format_version=1):
    fields = (length_delimited(1, b"heapgap-trace") + varint_field(2, format_version) +
              length_delimited(3, b"9.9.9") + varint_field(4, 4242) + varint_field(11, 64))
    return record(length_delimited(1, fields))


def skip_first_record(data):
    length, shift, offset = 0, 0, 0
    while True:
        byte = data[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return data[offset + length:]


class BadInputTest(HardeningTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        real_dir = cls.fresh_dir("real")
        result = run(traced_argv([program("hardening_stress"), "child"], real_dir))
        assert result.returncode == 0, result.stderr
        with open(traces_in(real_dir)[0], "rb") as f:
            real = f.read()
        cls.inputs = {
            "missing": os.path.join(cls.work_dir, "no-such.trace"),
            "directory": cls.fresh_dir("empty-directory"),
        }
        for name, content in (("empty", b""),
                              ("newer-format", header(format_version=2) + skip_first_record(real)),
                              ("not-a-trace", b"#!/bin/sh\necho hello\n" * 10)):
            path = os.path.join(cls.work_dir, f"{name}.trace")
            with open(path, "wb") as f:
                f.write(content)
            cls.inputs[name] = path

    def assert_one_error_line(self, argv, expect_in_line=None):
        result = run(argv)
        where = f"{argv}: status {result.returncode}, stderr {result.stderr[:600]!r}"
        self.assertNotEqual(result.returncode, 0, where)
        self.assertGreater(result.returncode, 0, where)  # an exit, not a crash
        self.assertEqual(result.stdout, b"", where)
        lines = result.stderr.decode(errors="replace").splitlines()
        self.assertEqual(len(lines), 1, where)
        self.assertTrue(lines[0].startswith("heapgap: error: "), where)
        if expect_in_line:
            self.assertIn(expect_in_line, lines[0], where)
        return result

    def test_commands_reading_traces(self):
        out = os.path.join(self.work_dir, "out.html")
        commands = {
            "report": ["report"],
            "report-json": ["report", "--format", "json"],
            "view": ["view", "-o", out],
            "export-pprof": ["export", "--format", "pprof", "-o", os.path.join(self.work_dir, "p.pb")],
            "export-collapsed": ["export", "--format", "collapsed"],
        }
        for command, argv in commands.items():
            for name, path in self.inputs.items():
                with self.subTest(command=command, input=name):
                    result = self.assert_one_error_line([HEAPGAP, *argv, path])
                    if name == "newer-format":
                        self.assertIn(b"newer", result.stderr)
                    self.assertFalse(os.path.exists(out), "an output file was written for bad input")

    def test_wrong_flags(self):
        trace = self.inputs["not-a-trace"]
        cases = [
            ["report", "--no-such-flag", trace],
            ["report", "--format", "xml", trace],
            ["report", "--top", "-3", trace],
            ["report", "--top"],
            ["view", "--no-such-flag", trace],
            ["export", "--format", "nonsense", trace],
            ["export", trace],
            ["run", "--no-such-flag", "--", "/bin/true"],
            ["run", "--stack-depth", "0", "--", "/bin/true"],
            ["run", "--stack-depth", "many", "--", "/bin/true"],
            ["run"],
            ["no-such-command"],
            ["--no-such-flag"],
            [],
        ]
        for argv in cases:
            with self.subTest(argv=argv):
                result = self.assert_one_error_line([HEAPGAP, *argv])
                self.assertEqual(result.returncode, 2)

    def test_run_with_a_program_that_cannot_run(self):
        cases = {
            "missing": (os.path.join(self.work_dir, "no-such-program"), 127),
            "directory": (self.work_dir, 126),
            "empty": (self.inputs["empty"], 126),
        }
        for name, (path, status) in cases.items():
            with self.subTest(program=name):
                result = self.assert_one_error_line([HEAPGAP, "run", "--", path])
                self.assertEqual(result.returncode, status)

    def test_preload_library_carries_no_sanitizer(self):
        # The sanitizer and fuzzer builds instrument the offline side only: a
        # sanitizer runtime inside libheapgap.so would change every traced
        # program (and refuse to load after the program's own libraries).
        from hardening_support import PRELOAD
        needed = run(["readelf", "--dynamic", PRELOAD])
        self.assertEqual(needed.returncode, 0, needed.stderr)
        symbols = run(["readelf", "--dyn-syms", "--wide", PRELOAD])
        self.assertEqual(symbols.returncode, 0, symbols.stderr)
        for marker in (b"libasan", b"libubsan", b"libtsan", b"__asan_", b"__ubsan_", b"__sanitizer_"):
            self.assertNotIn(marker, needed.stdout + symbols.stdout, marker)

    def test_hostile_traces_stay_small_and_fast(self):
        # A record length of 250 MiB in a tiny file, and stack node ids that
        # jump by a million in each of thousands of records: each once made
        # `heapgap report` allocate up to gigabytes.
        stack_jumps = header()
        first = 1
        for _ in range(3000):
            nodes = (varint_field(1, first) + length_delimited(2, varint(0)) +
                     length_delimited(3, varint(2)))
            stack_jumps += record(length_delimited(4, nodes))
            first += 1 << 20
        cases = {
            "huge-length": header() + varint(250 << 20) + b"abc",
            "stack-id-jumps": stack_jumps,
        }

        for name, content in cases.items():
            with self.subTest(trace=name):
                path = os.path.join(self.work_dir, f"{name}.trace")
                with open(path, "wb") as f:
                    f.write(content)
                # Peak RSS from wait4 rather than an address-space limit,
                # which sanitizer builds cannot run under.
                process = subprocess.Popen([HEAPGAP, "report", "--format", "json", path],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                started = time.monotonic()
                stderr = process.stderr.read()
                _, status, usage = os.wait4(process.pid, 0)
                process.returncode = os.waitstatus_to_exitcode(status)
                self.assertLess(time.monotonic() - started, 30)
                self.assertIn(process.returncode, (0, 2), stderr[:500])
                if process.returncode == 2:
                    self.assertEqual(len(stderr.splitlines()), 1, stderr)
                self.assertLess(usage.ru_maxrss, 512 * 1024, "peak RSS in KiB")


if __name__ == "__main__":
    unittest.main()
