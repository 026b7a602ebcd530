"""Bad input to every heapgap command: a missing file, a directory, an empty
file, a trace of a newer format version, a wrong flag. Each prints exactly
one `heapgap: error:` line, nothing on stdout, and exits non-zero. Hostile
traces (huge record lengths, stack ids that jump again and again) finish
quickly with little memory."""

import os
import resource
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

        def limit_memory():
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        for name, content in cases.items():
            with self.subTest(trace=name):
                path = os.path.join(self.work_dir, f"{name}.trace")
                with open(path, "wb") as f:
                    f.write(content)
                result = run([HEAPGAP, "report", "--format", "json", path], timeout=30,
                             preexec_fn=limit_memory)
                self.assertIn(result.returncode, (0, 2), result.stderr[:500])
                if result.returncode == 2:
                    self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)


if __name__ == "__main__":
    unittest.main()
