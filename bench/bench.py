#!/usr/bin/env python3
"""Overhead benchmark: alloc_bench natively, under heapgap and under heaptrack.

Runs every configuration several times in one invocation, one run of each per
round, and prints medians:
wall time and CPU time (each also against native), trace size and peak RSS. Each run is
started by measure_run (bench/measure_run.c); peak RSS is the largest resident
set in the process tree it waited for (wait4's ru_maxrss), so it includes
heapgap's own command and heaptrack's interpreter. Then times the offline side:
`heapgap report` on a heapgap trace against `heaptrack_print` on heaptrack's
file of the same workload. See bench/README.md.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


MEASURE_RUN = None  # set from the build directory in main()


class Run:
    def __init__(self, wall_s, cpu_s, max_rss_kib, trace_bytes):
        self.wall_s = wall_s
        self.cpu_s = cpu_s
        self.max_rss_kib = max_rss_kib
        self.trace_bytes = trace_bytes


def run_once(argv):
    """Runs argv under measure_run; returns (Run without trace size, stdout)."""
    with tempfile.NamedTemporaryFile("r") as result, tempfile.TemporaryFile() as out:
        subprocess.run([MEASURE_RUN, result.name, *argv], stdout=out, stderr=subprocess.DEVNULL, check=True)
        wall_ns, max_rss_kib, status, cpu_ns = (int(field) for field in result.read().split())
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    if status != 0:
        sys.exit(f"bench: {' '.join(argv)} exited with {status}")
    return Run(wall_ns / 1e9, cpu_ns / 1e9, max_rss_kib, None), stdout


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(path, name)) for name in os.listdir(path))


def median_run(runs):
    sizes = [r.trace_bytes for r in runs if r.trace_bytes is not None]
    return Run(statistics.median(r.wall_s for r in runs),
               statistics.median(r.cpu_s for r in runs),
               statistics.median(r.max_rss_kib for r in runs),
               statistics.median(sizes) if sizes else None)


def human_bytes(count):
    if count is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024


class Config:
    """One way of running the workload. make_argv(dir) gives the command, which
    writes its output (if any) into dir."""

    def __init__(self, name, make_argv, keep_output=False):
        self.name = name
        self.make_argv = make_argv
        self.keep_output = keep_output
        self.runs = []
        self.kept_dir = None  # the last repetition's output, when keep_output


def measure_interleaved(configs, repeats, keep_root):
    """Runs every configuration `repeats` times, one of each per round, so that
    load from elsewhere on the machine affects them alike."""
    for i in range(repeats):
        for config in configs:
            out_dir = tempfile.mkdtemp(prefix="heapgap-bench-", dir=keep_root)
            run, stdout = run_once(config.make_argv(out_dir))
            if "ops=" not in stdout:  # heaptrack adds its own lines on stdout
                sys.exit(f"bench: {config.name}: unexpected output {stdout!r}")
            run.trace_bytes = directory_bytes(out_dir) or None
            config.runs.append(run)
            if config.keep_output and i == repeats - 1:
                config.kept_dir = out_dir
            else:
                shutil.rmtree(out_dir)


def time_analyses(commands, repeats):
    """[(label, argv)] -> [(label, median Run)], one run of each per round."""
    runs = {label: [] for label, _ in commands}
    for _ in range(repeats):
        for label, argv in commands:
            runs[label].append(run_once(argv)[0])
    return [(label, median_run(runs[label])) for label, _ in commands]


def milliseconds(seconds):
    return f"{seconds * 1000:>6.0f} ms"


def rule(header):
    """The Markdown separator line under a table header."""
    return "|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|"


def single_file(directory, suffix):
    names = [n for n in os.listdir(directory) if n.endswith(suffix)]
    if len(names) != 1:
        sys.exit(f"bench: expected one *{suffix} file in {directory}, found {names}")
    return os.path.join(directory, names[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--ops", type=int, default=1000000, help="malloc+free pairs per thread")
    args = parser.parse_args()

    global MEASURE_RUN
    bench = os.path.join(args.build_dir, "bin", "alloc_bench")
    heapgap = os.path.join(args.build_dir, "bin", "heapgap")
    MEASURE_RUN = os.path.join(args.build_dir, "bin", "measure_run")
    for tool in (bench, heapgap, MEASURE_RUN):
        if not os.access(tool, os.X_OK):
            sys.exit(f"bench: {tool} not found; build the alloc_bench, measure_run and heapgap targets first")
    heaptrack = shutil.which("heaptrack")
    heaptrack_print = shutil.which("heaptrack_print")
    if heaptrack is None:
        print("bench: heaptrack not found, its rows are skipped", file=sys.stderr)

    keep_root = tempfile.mkdtemp(prefix="heapgap-bench-")
    rows = []
    analysis = []
    try:
        for threads in [int(t) for t in args.threads.split(",")]:
            workload = [bench, str(threads), str(args.ops)]
            native = Config("native", lambda d: workload)
            traced = Config("heapgap run", lambda d: [heapgap, "run", "--quiet", "-o", d, "--"] + workload,
                            keep_output=True)
            configs = [native, traced]
            if heaptrack is not None:
                configs.append(Config("heaptrack --raw (record only)",
                                      lambda d: [heaptrack, "--raw", "-o", os.path.join(d, "ht")] + workload))
                heaptrack_default = Config("heaptrack (record+interpret)",
                                           lambda d: [heaptrack, "-o", os.path.join(d, "ht")] + workload,
                                           keep_output=True)
                configs.append(heaptrack_default)
            measure_interleaved(configs, args.repeats, keep_root)
            native_median = median_run(native.runs)
            rows += [(c.name, threads, median_run(c.runs), native_median) for c in configs]

            trace = single_file(traced.kept_dir, ".trace")
            commands = [("heapgap report", [heapgap, "report", trace]),
                        ("heapgap report --format json", [heapgap, "report", "--format", "json", trace])]
            if heaptrack is not None and heaptrack_print is not None:
                commands.append(("heaptrack_print",
                                 [heaptrack_print, "-f", single_file(heaptrack_default.kept_dir, ".zst")]))
            analysis += [(label, threads, run) for label, run in time_analyses(commands, args.repeats)]
    finally:
        shutil.rmtree(keep_root, ignore_errors=True)

    print(f"alloc_bench, {args.ops} malloc+free per thread, median of {args.repeats} runs")
    print()
    header = (f"| {'configuration':<30} | threads | {'wall':>9} | {'x native':>8} | {'CPU':>9} | {'x native':>8} "
              f"| {'trace size':>10} | {'peak RSS':>10} |")
    print(header)
    print(rule(header))
    for name, threads, run, native in rows:
        print(f"| {name:<30} | {threads:>7} | {milliseconds(run.wall_s)} | {run.wall_s / native.wall_s:>7.1f}x"
              f" | {milliseconds(run.cpu_s)} | {run.cpu_s / native.cpu_s:>7.1f}x"
              f" | {human_bytes(run.trace_bytes):>10} | {human_bytes(run.max_rss_kib * 1024):>10} |")
    print()
    header = f"| {'analysis of the trace':<30} | threads | {'wall':>9} | {'CPU':>9} | {'peak RSS':>10} |"
    print(header)
    print(rule(header))
    for name, threads, run in analysis:
        print(f"| {name:<30} | {threads:>7} | {milliseconds(run.wall_s)} | {milliseconds(run.cpu_s)}"
              f" | {human_bytes(run.max_rss_kib * 1024):>10} |")

if __name__ == "__main__":
    main()
