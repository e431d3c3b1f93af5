#!/usr/bin/python3
"""Times `forkpool matmul` next to its peers, in one run, on the same n x n products.

    python3 bench/matmul.py [--forkpool build/apps/forkpool] [--sizes 1024 2048 4096]
                            [--dtypes f32 f64] [--repeats 3] [--workers N]
                            [--only serial threads shm pipe eigen]

For each n and dtype: forkpool serial, threads, processes over shm and over pipe (each with
--random, so every run multiplies the same kind of data; its compute time includes starting
the workers and, for pipe, sending A and B); numpy's `@` (whatever BLAS numpy is linked to,
named in the header with its thread count); and Eigen with OpenMP (bench/matmul_eigen_omp.cpp,
compiled here with g++ -O3 -march=native -fopenmp). Prints the best GFLOP/s of --repeats runs,
its ratio to numpy, and processes over shm against threads. The header also names the kernel
forkpool multiplies with (Eigen's own, or the serial OpenBLAS under Eigen). Speed is measured
here, never asserted in tests.
"""
import argparse
import ctypes
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def numpy_blas():
    """The BLAS library numpy's process has mapped (after one product)."""
    a = np.ones((64, 64))
    _ = a @ a
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            name = line.split()[-1]
            base = os.path.basename(name)
            if any(key in base for key in ("blas", "blis", "mkl", "atlas")):
                libs.add(os.path.realpath(name))
    names = ", ".join(sorted(libs)) or "unknown"
    # OpenBLAS says how many threads it runs and which build it is.
    for lib in sorted(libs):
        if "openblas" in os.path.basename(lib):
            try:
                handle = ctypes.CDLL(lib)
                handle.openblas_get_config.restype = ctypes.c_char_p
                names += (f"; {handle.openblas_get_config().decode()},"
                          f" {handle.openblas_get_num_threads()} threads")
            except (OSError, AttributeError):
                pass
    return names


def numpy_gflops(n, dtype, repeats):
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (n, n)).astype(dtype)
    b = rng.uniform(-1, 1, (n, n)).astype(dtype)
    _ = a @ b  # warm up: threads started, pages touched
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        _ = a @ b
        best = max(best, 2.0 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def build_eigen_omp(workdir):
    exe = pathlib.Path(workdir) / "matmul_eigen_omp"
    subprocess.run(["g++", "-O3", "-march=native", "-fopenmp", "-DNDEBUG", "-I/usr/include/eigen3",
                    str(ROOT / "bench" / "matmul_eigen_omp.cpp"), "-o", str(exe)], check=True)
    return exe


def eigen_gflops(exe, n, dtype, repeats, workers):
    env = dict(os.environ, OMP_NUM_THREADS=str(workers))
    out = subprocess.run([str(exe), str(n), dtype, str(repeats)], check=True, capture_output=True,
                         text=True, env=env).stdout.split()
    return float(out[0])


def forkpool_kernel(binary, workdir):
    """What forkpool multiplies tiles with, as its --json report says."""
    report = pathlib.Path(workdir) / "kernel.json"
    subprocess.run([binary, "matmul", "--random", "8x8x8", "--backend", "serial", "-q",
                    "--json", str(report)], check=True)
    return json.loads(report.read_text()).get("kernel", "Eigen (a build that does not report it)")


def forkpool_gflops(binary, n, dtype, args, repeats, workdir):
    report = pathlib.Path(workdir) / "report.json"
    best = 0.0
    for _ in range(repeats):
        subprocess.run([binary, "matmul", "--random", f"{n}x{n}x{n}", "--dtype", dtype, "-q",
                        "--json", str(report), *args], check=True)
        best = max(best, json.loads(report.read_text())["gflops"])
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--forkpool", default=str(ROOT / "build" / "apps" / "forkpool"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--dtypes", nargs="+", default=["f32", "f64"], choices=["f32", "f64"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--only", nargs="+", choices=["serial", "threads", "shm", "pipe", "eigen"],
                        help="run only these of forkpool's backends and Eigen + OpenMP (numpy always runs)")
    opts = parser.parse_args()
    if not os.access(opts.forkpool, os.X_OK):
        sys.exit(f"matmul.py: no forkpool binary at {opts.forkpool} (build it, or pass --forkpool)")

    j = str(opts.workers)
    variants = [
        ("serial", "forkpool serial", ["--backend", "serial"]),
        ("threads", "forkpool threads", ["--backend", "threads", "-j", j]),
        ("shm", "forkpool processes shm", ["--backend", "processes", "--transport", "shm", "-j", j]),
        ("pipe", "forkpool processes pipe", ["--backend", "processes", "--transport", "pipe", "-j", j]),
    ]
    wanted = set(opts.only or ["serial", "threads", "shm", "pipe", "eigen"])
    variants = [v for v in variants if v[0] in wanted]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# {cpu}, {opts.workers} workers; load average {os.getloadavg()[0]:.2f} at start")
    print(f"# numpy {np.__version__} with {numpy_blas()}")
    with tempfile.TemporaryDirectory(prefix="forkpool-bench-") as workdir:
        print(f"# forkpool {opts.forkpool}: {forkpool_kernel(opts.forkpool, workdir)}")
        print(f"# best GFLOP/s of {opts.repeats} runs; ratio = GFLOP/s / numpy's")
        print(f"{'n':>5} {'dtype':>5}  {'what':<26} {'GFLOP/s':>8} {'x numpy':>8}")
        eigen = build_eigen_omp(workdir) if "eigen" in wanted else None
        for n in opts.sizes:
            for dtype in opts.dtypes:
                np_dtype = np.float32 if dtype == "f32" else np.float64
                base = numpy_gflops(n, np_dtype, opts.repeats)
                rows = {"numpy @": base}
                if eigen:
                    rows["Eigen + OpenMP"] = eigen_gflops(eigen, n, dtype, opts.repeats, opts.workers)
                for _, name, args in variants:
                    rows[name] = forkpool_gflops(opts.forkpool, n, dtype, args, opts.repeats, workdir)
                for name, g in rows.items():
                    print(f"{n:>5} {dtype:>5}  {name:<26} {g:>8.1f} {g / base:>8.2f}", flush=True)
                if "forkpool processes shm" in rows and "forkpool threads" in rows:
                    ratio = rows["forkpool processes shm"] / rows["forkpool threads"]
                    print(f"{n:>5} {dtype:>5}  {'processes shm / threads':<26} {'':>8} {ratio:>8.2f}")
    print(f"# load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
