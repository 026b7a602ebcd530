"""Real Debian programs under `heapgap run`: python3 building and discarding
large dicts and lists, sqlite3 on a generated database, git init/add/commit
on a generated tree, gzip and xz round trips, and our C++ workload
(iostreams, locales, exceptions, threads, thread_local). Each must print the
same and exit with the same status as without heapgap; every trace it leaves
must read, and every report must hold together."""

import os
import unittest

from hardening_support import HardeningTest, main_report, program, read_all, system_program

PYTHON_SCRIPT = r"""
import gc, sys
total = 0
for round in range(4):
    table = {f"key-{i}": [i] * (i % 7) for i in range(60000)}
    rows = [list(range(i % 50)) for i in range(40000)]
    text = "".join(str(i) for i in range(30000))
    total += len(table) + sum(len(r) for r in rows) + len(text)
    del table, rows, text
    gc.collect()
print("python total", total)
sys.exit(7)
"""


def write_tree(root, files=200):
    """A small source tree with nested folders and text of varied sizes."""
    for i in range(files):
        folder = os.path.join(root, f"dir{i % 9}", f"sub{i % 4}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"file{i}.txt"), "w") as f:
            f.write(f"file {i}\n" + "line of text %d\n" % i * (i % 50 + 1))


class RealProgramsTest(HardeningTest):
    def check(self, name, argv, **kwargs):
        _, traces = self.run_both(name, argv, **kwargs)
        return read_all(self, traces)

    def test_python_dicts_and_lists(self):
        python = system_program("python3")
        reports = self.check("python", [python, "-c", PYTHON_SCRIPT])
        data = main_report(reports, "python3")
        self.assertEqual(data["process"]["exit_status"], 7)
        # Big dicts and lists leave pymalloc for malloc: the heap went high.
        self.assertGreater(data["peak"]["live_bytes"], 2 << 20)

    def test_sqlite3_on_a_generated_database(self):
        sqlite3 = system_program("sqlite3")
        statements = ["CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, weight REAL);",
                      "BEGIN;"]
        statements += [f"INSERT INTO item(name, weight) VALUES ('item-{i}', {i * 0.5});"
                       for i in range(5000)]
        statements += ["COMMIT;", "CREATE INDEX by_name ON item(name);",
                       "SELECT count(*), sum(weight), max(name) FROM item;",
                       "SELECT name FROM item WHERE weight BETWEEN 100 AND 102 ORDER BY name;",
                       "DELETE FROM item WHERE id % 3 = 0;", "VACUUM;",
                       "SELECT count(*) FROM item;"]
        script = "\n".join(statements).encode()
        reports = self.check("sqlite3", [sqlite3, "data.db"], input=script)
        self.assertTrue(reports)

    def test_git_init_add_commit(self):
        git = system_program("git")
        env = dict(os.environ, GIT_AUTHOR_NAME="Heap Gap", GIT_AUTHOR_EMAIL="hg@example.com",
                   GIT_COMMITTER_NAME="Heap Gap", GIT_COMMITTER_EMAIL="hg@example.com",
                   GIT_AUTHOR_DATE="2024-01-01T00:00:00Z", GIT_COMMITTER_DATE="2024-01-01T00:00:00Z",
                   GIT_CONFIG_NOSYSTEM="1", HOME=self.work_dir)
        script = (f"{git} init -q -b main . && {git} add . && "
                  f"{git} commit -q -m 'generated tree' && {git} log --format='%H %s' && "
                  f"{git} count-objects && {git} ls-files | wc -l")
        reports = self.check("git", ["/bin/sh", "-c", script], cwd_setup=write_tree, env=env)
        # The shell, and each git process it started (exec'd children).
        self.assertGreaterEqual(len(reports), 4)

    def test_gzip_round_trip(self):
        gzip = system_program("gzip")
        data = b"".join(b"record %d of a compressible stream\n" % i for i in range(200000))
        _, traces = self.run_both("gzip", ["/bin/sh", "-c", f"{gzip} -6 -c | {gzip} -d -c | md5sum"],
                                  input=data)
        reports = read_all(self, traces)
        self.assertGreaterEqual(len(reports), 3)

    def test_xz_round_trip(self):
        xz = system_program("xz")
        data = b"".join(b"%d,%d,%d\n" % (i, i * i, i % 97) for i in range(150000))
        _, traces = self.run_both("xz", ["/bin/sh", "-c", f"{xz} -3 -T2 -c | {xz} -d -c | md5sum"],
                                  input=data)
        reports = read_all(self, traces)
        xz_reports = [d for d in reports.values() if os.path.basename(d["process"]["exe"]) == "xz"]
        self.assertEqual(len(xz_reports), 2, [d["process"]["exe"] for d in reports.values()])
        # xz -T2 compresses with threads and large buffers.
        self.assertGreater(max(d["peak"]["live_bytes"] for d in xz_reports), 1 << 20)

    def test_cpp_workload(self):
        workload = program("hardening_cpp_workload")
        for status in ("0", "9"):
            with self.subTest(status=status):
                reports = self.check(f"cpp-{status}", [workload, status])
                data = main_report(reports, "hardening_cpp_workload")
                self.assertEqual(data["process"]["exit_status"], int(status))
                self.assertGreater(data["totals"]["allocations"], 10000)
                self.assertEqual(data["totals"]["mismatched_frees"], 0)


if __name__ == "__main__":
    unittest.main()
