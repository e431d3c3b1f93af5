#!/usr/bin/python3
"""Times `forkpool matmul` next to its peers, in one run, on the same n x n products.

    python3 bench/matmul.py [--forkpool build/apps/forkpool] [--sizes 1024 2048 4096 8192]
                            [--dtypes f32 f64] [--repeats 3] [--workers N]
                            [--only serial threads shm pipe eigen] [--kernels auto ...]
                            [--no-numpy-one-thread]

For each n and dtype: forkpool serial, threads, processes over shm and over pipe (each with
--random, so every run multiplies the same kind of data; its compute time includes starting
the workers and, for pipe, sending A and B), once per --kernels entry (default: auto, the
kernel forkpool chooses by the CPU's features, whatever OPENBLAS_CORETYPE says); numpy's `@`,
each in its own process: as installed (OpenBLAS picks its core type itself; an
OPENBLAS_CORETYPE of the environment is removed), with the environment's OPENBLAS_CORETYPE if
one is set, and with the best OPENBLAS_CORETYPE for this CPU (chosen from /proc/cpuinfo's
flags by the rule forkpool's kernel choice uses), on all its threads and on one; and Eigen with
OpenMP (bench/matmul_eigen_omp.cpp, compiled here with g++ -O3 -march=native -fopenmp).
Prints the best GFLOP/s of --repeats runs, its ratio to numpy as installed and to numpy with
the best core type (same thread count: all), the peak memory (PSS: forkpool's coordinator and
workers, from its --json report; numpy's process after its products), and processes over shm
against threads. Speed is measured here, never asserted in tests.
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


# forkpool's OpenBLAS kernels, fastest first, and the /proc/cpuinfo flags each needs: the same
# table and rule as lib/src/matmul/kernel_choice.cpp (SkylakeX before Cooperlake: same gemm).
AVX2 = {"avx", "fma", "avx2"}
AVX512 = AVX2 | {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}
CORETYPES = [("SkylakeX", AVX512), ("Cooperlake", AVX512 | {"avx512_bf16"}), ("Haswell", AVX2),
             ("Zen", AVX2), ("Sandybridge", {"avx"}), ("Prescott", {"pni"})]


def cpu_flags():
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def best_coretype(flags):
    """The first OpenBLAS core type whose features this CPU (and its OS) offers."""
    return next((name for name, needs in CORETYPES if needs <= flags), None)


def pss_bytes(pid="self"):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def numpy_child(n, dtype, repeats):
    """Runs in a process of its own, since OpenBLAS reads OPENBLAS_CORETYPE when it loads."""
    rng = np.random.default_rng(1)
    np_dtype = np.float32 if dtype == "f32" else np.float64
    a = rng.uniform(-1, 1, (n, n)).astype(np_dtype)
    b = rng.uniform(-1, 1, (n, n)).astype(np_dtype)
    c = a @ b  # warm up: threads started, pages touched
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        c = a @ b
        best = max(best, 2.0 * n**3 / (time.perf_counter() - start) / 1e9)
    print(json.dumps({"gflops": best, "pss": pss_bytes(), "blas": numpy_blas(), "c": float(c[0, 0])}))


def numpy_run(n, dtype, repeats, env_changes):
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    out = subprocess.run([sys.executable, __file__, "--numpy-child", str(n), dtype, str(repeats)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.splitlines()[-1])


def numpy_variants(one_thread):
    """(row name, environment changes), numpy as installed first, then its best core type."""
    best = best_coretype(cpu_flags())
    env_core = os.environ.get("OPENBLAS_CORETYPE")
    out = [("numpy @", {"OPENBLAS_CORETYPE": None})]
    if env_core:
        out.append((f"numpy @ {env_core} (environment)", {}))
    if best:  # None on a CPU none of the core types fits (not x86): as installed is the best
        out.append((f"numpy @ {best} (best)", {"OPENBLAS_CORETYPE": best}))
    if one_thread:
        one = {"OPENBLAS_NUM_THREADS": "1"}
        out.append(("numpy @ 1 thread", {"OPENBLAS_CORETYPE": None, **one}))
        if env_core:
            out.append((f"numpy @ 1 thread, {env_core} (env.)", one))
        if best:
            out.append((f"numpy @ 1 thread, {best}", {"OPENBLAS_CORETYPE": best, **one}))
    return out


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


def forkpool_kernel(binary, workdir, kernel):
    """The kernel forkpool runs for --kernel `kernel`, as its --json report says."""
    report = pathlib.Path(workdir) / "kernel.json"
    subprocess.run([binary, "matmul", "--random", "8x8x8", "--backend", "serial", "-q",
                    "--kernel", kernel, "--json", str(report)], check=True)
    j = json.loads(report.read_text())
    return f"{j['kernel']} ({j['kernel_chosen_by']}; {j['kernel_library']})"


def forkpool_gflops(binary, n, dtype, args, repeats, workdir):
    """Best GFLOP/s of `repeats` runs, and the largest peak PSS they reported."""
    report = pathlib.Path(workdir) / "report.json"
    best, peak = 0.0, 0
    for _ in range(repeats):
        subprocess.run([binary, "matmul", "--random", f"{n}x{n}x{n}", "--dtype", dtype, "-q",
                        "--json", str(report), *args], check=True)
        j = json.loads(report.read_text())
        best = max(best, j["gflops"])
        peak = max(peak, j.get("peak_pss_bytes") or 0)
    return best, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--forkpool", default=str(ROOT / "build" / "apps" / "forkpool"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096, 8192])
    parser.add_argument("--dtypes", nargs="+", default=["f32", "f64"], choices=["f32", "f64"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--only", nargs="+", choices=["serial", "threads", "shm", "pipe", "eigen"],
                        help="run only these of forkpool's backends and Eigen + OpenMP (numpy always runs)")
    parser.add_argument("--kernels", nargs="+", default=["auto"],
                        help="forkpool's --kernel for its rows, one set of rows each (default: auto)")
    parser.add_argument("--no-numpy-one-thread", dest="numpy_one_thread", action="store_false",
                        help="leave out numpy on one thread (the peer of forkpool serial)")
    opts = parser.parse_args()
    if not os.access(opts.forkpool, os.X_OK):
        sys.exit(f"matmul.py: no forkpool binary at {opts.forkpool} (build it, or pass --forkpool)")

    j = str(opts.workers)
    backends = [
        ("serial", "forkpool serial", ["--backend", "serial"]),
        ("threads", "forkpool threads", ["--backend", "threads", "-j", j]),
        ("shm", "forkpool processes shm", ["--backend", "processes", "--transport", "shm", "-j", j]),
        ("pipe", "forkpool processes pipe", ["--backend", "processes", "--transport", "pipe", "-j", j]),
    ]
    wanted = set(opts.only or ["serial", "threads", "shm", "pipe", "eigen"])
    variants = []
    for kernel in opts.kernels:
        suffix = "" if len(opts.kernels) == 1 else f" [{kernel}]"
        variants += [(key, name + suffix, [*args, "--kernel", kernel])
                     for key, name, args in backends if key in wanted]
    flags = cpu_flags()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# {cpu}, {opts.workers} workers; load average {os.getloadavg()[0]:.2f} at start")
    avx512 = " ".join(sorted(f for f in flags if f.startswith("avx512")))
    print(f"# CPU features: {avx512 or 'no AVX-512'}; best OPENBLAS_CORETYPE by them: {best_coretype(flags)}")
    env = ", ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_"))
    if env:
        print(f"# environment: {env}")
    numpy_rows = numpy_variants(opts.numpy_one_thread)
    with tempfile.TemporaryDirectory(prefix="forkpool-bench-") as workdir:
        for kernel in opts.kernels:
            print(f"# forkpool --kernel {kernel}: {forkpool_kernel(opts.forkpool, workdir, kernel)}")
        print(f"# best GFLOP/s of {opts.repeats} runs; x numpy: ratio to numpy as installed; "
              f"x best: to numpy with the best core type; peak: PSS of all processes, MiB")
        print(f"{'n':>5} {'dtype':>5}  {'what':<42} {'GFLOP/s':>8} {'x numpy':>8} {'x best':>7} {'peak MiB':>9}")
        eigen = build_eigen_omp(workdir) if "eigen" in wanted else None
        described = {}
        for n in opts.sizes:
            for dtype in opts.dtypes:
                rows = {}
                for name, changes in numpy_rows:
                    r = numpy_run(n, dtype, opts.repeats, changes)
                    rows[name] = (r["gflops"], r["pss"])
                    described.setdefault(name, r["blas"])
                base = rows[numpy_rows[0][0]][0]
                best = next((g for name, (g, _) in rows.items() if name.endswith("(best)")), base)
                if eigen:
                    rows["Eigen + OpenMP"] = (eigen_gflops(eigen, n, dtype, opts.repeats, opts.workers), 0)
                for _, name, args in variants:
                    rows[name] = forkpool_gflops(opts.forkpool, n, dtype, args, opts.repeats, workdir)
                operands = 3 * n * n * (4 if dtype == "f32" else 8) / 2**20
                for name, (g, pss) in rows.items():
                    peak = f"{pss / 2**20:>9.0f}" if pss else f"{'':>9}"
                    print(f"{n:>5} {dtype:>5}  {name:<42} {g:>8.1f} {g / base:>8.2f} {g / best:>7.2f} {peak}",
                          flush=True)
                print(f"{n:>5} {dtype:>5}  {'A, B and C take':<42} {'':>8} {'':>8} {'':>7} {operands:>9.0f}")
                for kernel in opts.kernels:
                    suffix = "" if len(opts.kernels) == 1 else f" [{kernel}]"
                    shm, threads = rows.get("forkpool processes shm" + suffix), rows.get("forkpool threads" + suffix)
                    if shm and threads:
                        print(f"{n:>5} {dtype:>5}  {'processes shm / threads' + suffix:<42} {'':>8} "
                              f"{shm[0] / threads[0]:>8.2f}")
    for name, blas in described.items():
        print(f"# {name}: numpy {np.__version__} with {blas}")
    print(f"# load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--numpy-child":
        numpy_child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        main()
