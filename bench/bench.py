#!/usr/bin/env python3
"""Overhead benchmark: alloc_bench natively, under heapgap and under heaptrack.

Runs every configuration several times in one invocation and prints medians:
wall time, slowdown against native, trace size and peak RSS. Each run is
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
    def __init__(self, wall_s, max_rss_kib, trace_bytes):
        self.wall_s = wall_s
        self.max_rss_kib = max_rss_kib
        self.trace_bytes = trace_bytes


def run_once(argv):
    """Runs argv under measure_run; returns (wall seconds, peak RSS KiB, stdout)."""
    with tempfile.NamedTemporaryFile("r") as result, tempfile.TemporaryFile() as out:
        subprocess.run([MEASURE_RUN, result.name, *argv], stdout=out, stderr=subprocess.DEVNULL, check=True)
        wall_ns, max_rss_kib, status = (int(field) for field in result.read().split())
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    if status != 0:
        sys.exit(f"bench: {' '.join(argv)} exited with {status}")
    return wall_ns / 1e9, max_rss_kib, stdout


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(path, name)) for name in os.listdir(path))


def median_run(runs):
    sizes = [r.trace_bytes for r in runs if r.trace_bytes is not None]
    return Run(statistics.median(r.wall_s for r in runs),
               statistics.median(r.max_rss_kib for r in runs),
               statistics.median(sizes) if sizes else None)


def human_bytes(count):
    if count is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024


def measure(name, make_argv, repeats, keep_dir):
    """make_argv(dir) gives the command writing its output into dir.

    The output of the last repetition is moved to keep_dir for the analysis
    timings; the others are deleted.
    """
    runs = []
    for i in range(repeats):
        out_dir = tempfile.mkdtemp(prefix="heapgap-bench-")
        wall, rss, stdout = run_once(make_argv(out_dir))
        if "ops=" not in stdout:  # heaptrack adds its own lines on stdout
            sys.exit(f"bench: {name}: unexpected output {stdout!r}")
        runs.append(Run(wall, rss, directory_bytes(out_dir) or None))
        if i == repeats - 1 and keep_dir is not None:
            shutil.rmtree(keep_dir, ignore_errors=True)
            shutil.move(out_dir, keep_dir)
        else:
            shutil.rmtree(out_dir)
    return median_run(runs)


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

    keep_root = tempfile.mkdtemp(prefix="heapgap-bench-keep-")
    rows = []
    analysis = []
    try:
        for threads in [int(t) for t in args.threads.split(",")]:
            workload = [bench, str(threads), str(args.ops)]
            native = measure("native", lambda d: workload, args.repeats, None)
            rows.append(("native", threads, native, native))

            heapgap_keep = os.path.join(keep_root, f"heapgap-{threads}")
            result = measure("heapgap", lambda d: [heapgap, "run", "--quiet", "-o", d, "--"] + workload,
                             args.repeats, heapgap_keep)
            rows.append(("heapgap run", threads, result, native))

            if heaptrack is not None:
                result = measure("heaptrack --raw",
                                 lambda d: [heaptrack, "--raw", "-o", os.path.join(d, "ht")] + workload,
                                 args.repeats, None)
                rows.append(("heaptrack --raw (record only)", threads, result, native))
                heaptrack_keep = os.path.join(keep_root, f"heaptrack-{threads}")
                result = measure("heaptrack", lambda d: [heaptrack, "-o", os.path.join(d, "ht")] + workload,
                                 args.repeats, heaptrack_keep)
                rows.append(("heaptrack (record+interpret)", threads, result, native))

            trace = single_file(heapgap_keep, ".trace")
            for label, argv in (("heapgap report", [heapgap, "report", trace]),
                                ("heapgap report --format json", [heapgap, "report", "--format", "json", trace])):
                runs = [run_once(argv) for _ in range(args.repeats)]
                analysis.append((label, threads, statistics.median(r[0] for r in runs),
                                 statistics.median(r[1] for r in runs)))
            if heaptrack is not None and heaptrack_print is not None:
                data = single_file(heaptrack_keep, ".zst")
                runs = [run_once([heaptrack_print, "-f", data]) for _ in range(args.repeats)]
                analysis.append(("heaptrack_print", threads, statistics.median(r[0] for r in runs),
                                 statistics.median(r[1] for r in runs)))
    finally:
        shutil.rmtree(keep_root, ignore_errors=True)

    print(f"alloc_bench, {args.ops} malloc+free per thread, median of {args.repeats} runs")
    print()
    header = f"| {'configuration':<30} | threads | {'wall':>9} | {'x native':>8} | {'trace size':>10} | {'peak RSS':>10} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for name, threads, result, native in rows:
        print(f"| {name:<30} | {threads:>7} | {result.wall_s * 1000:>6.0f} ms | {result.wall_s / native.wall_s:>7.1f}x"
              f" | {human_bytes(result.trace_bytes):>10} | {human_bytes(result.max_rss_kib * 1024):>10} |")
    print()
    header = f"| {'analysis of the trace':<30} | threads | {'wall':>9} | {'peak RSS':>10} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for name, threads, wall, rss in analysis:
        print(f"| {name:<30} | {threads:>7} | {wall * 1000:>6.0f} ms | {human_bytes(rss * 1024):>10} |")


if __name__ == "__main__":
    main()
