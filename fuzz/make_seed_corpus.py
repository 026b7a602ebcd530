"""Writes the fuzzer's seed corpus: real traces of the sample programs, taken
with libheapgap.so preloaded, plus prefixes of them (truncated traces).

Usage: make_seed_corpus.py PRELOAD_LIBRARY SAMPLES_DIR CORPUS_DIR

Seeds larger than MAX_SEED_BYTES are cut to that size: a prefix is still a
valid (truncated) trace, and small inputs keep each fuzzing run fast.
"""

import os
import shutil
import subprocess
import sys
import tempfile

MAX_SEED_BYTES = 64 * 1024

# Runs: (sample name or absolute program path, arguments). Every way a trace
# can end is here: clean exit, _exit, abort, a crash, fork children, exec.
# Samples not built (cpp_mix needs g++ flags) are skipped.
RUNS = [
    ("leaky", []),
    ("spike", []),
    ("fragment", []),
    ("apis", []),
    ("cpp_mix", []),
    ("forker", []),
    ("/usr/bin/python3", ["-c", "import json; d = {i: [str(i)] * 3 for i in range(5000)}; "
                                "print(len(json.dumps(d)))"]),
    ("/usr/bin/sort", ["/etc/passwd"]),
    ("crasher", ["exit", "3"]),
    ("crasher", ["_exit", "4"]),
    ("crasher", ["abort"]),
    ("crasher", ["segv"]),
    ("crasher", ["kill", "100"]),
]


def header_end(data):
    """Offset just past the first record (the header)."""
    length, shift, offset = 0, 0, 0
    while offset < len(data):
        byte = data[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return offset + length
    return len(data)


def main():
    preload, samples, corpus = (os.path.abspath(p) for p in sys.argv[1:4])
    if os.path.isdir(corpus):
        shutil.rmtree(corpus)
    os.makedirs(corpus)
    scratch = tempfile.mkdtemp(prefix="heapgap-seeds-")
    try:
        for index, (name, args) in enumerate(RUNS):
            program = name if os.path.isabs(name) else os.path.join(samples, name)
            if not os.access(program, os.X_OK):
                print(f"make_seed_corpus: skipping {program}, not built")
                continue
            name = os.path.basename(name)
            out_dir = os.path.join(scratch, str(index))
            os.makedirs(out_dir)
            env = dict(os.environ, LD_PRELOAD=preload, HEAPGAP_OPTIONS=f"output={out_dir}/:quiet=1")
            subprocess.run([program, *args], env=env, cwd=out_dir,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            for trace in sorted(os.listdir(out_dir)):
                with open(os.path.join(out_dir, trace), "rb") as f:
                    data = f.read()
                if not data:
                    continue
                stem = f"{index:02d}-{name}-{trace.rsplit('.', 2)[-2] if '.' in trace else trace}"
                cuts = {min(len(data), MAX_SEED_BYTES), header_end(data) + 1, len(data) // 3}
                for cut in sorted(c for c in cuts if 0 < c <= min(len(data), MAX_SEED_BYTES)):
                    with open(os.path.join(corpus, f"{stem}-{cut}"), "wb") as f:
                        f.write(data[:cut])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    seeds = os.listdir(corpus)
    if len(seeds) < len(RUNS) // 2:
        sys.exit(f"make_seed_corpus: only {len(seeds)} seeds written to {corpus}")
    print(f"make_seed_corpus: {len(seeds)} seeds in {corpus}")


if __name__ == "__main__":
    main()
