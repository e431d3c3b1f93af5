#!/usr/bin/env python3
"""The task kinds of `forkpool compare tasks` on Python's pools, beside forkpool's, in one run.

Runs the same kind of job (tiny, cpu, memory, sleep) serially and on multiprocessing.Pool,
concurrent.futures.ProcessPoolExecutor and ThreadPoolExecutor at each worker count, then runs
`forkpool compare tasks --json -` with the same settings, and prints per-job overhead and
speed-up of both side by side. Each side's speed-up and overhead are against its own serial
run, measured the same way:

    speed-up = serial wall / wall          overhead per job = (wall x workers - serial wall) / jobs

Wall time includes starting the pool, as forkpool's does. Python 3 from Debian, standard
library only.

    bench/python_pool.py --kind tiny --count 20000 --workers 1,2
    bench/python_pool.py --kind cpu --forkpool build/apps/forkpool
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

# The cpu job: forkpool runs 2^19 dependent xorshift steps in C++ (about 1 ms); Python runs
# the same loop 64 times shorter, so that a job takes milliseconds there too. The ratios, not
# the absolute times, are what to compare.
CPU_ITERATIONS = (1 << 19) // 64
MASK = (1 << 64) - 1

_shared = None  # the memory job's buffer, once per worker (forkpool's shared input)


def _init_shared(buffer):
    global _shared
    _shared = buffer


def job_tiny(_):
    return None


def job_cpu(index):
    x = (index * 0x9E3779B97F4A7C15 + 1) & MASK
    for _ in range(CPU_ITERATIONS):
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
    return x


def job_memory_shared(_):
    return sum(memoryview(_shared).cast("Q")) & MASK


def job_memory_per_job(buffer):
    return sum(memoryview(buffer).cast("Q")) & MASK


class SleepJob:
    def __init__(self, ms):
        self.seconds = ms / 1000

    def __call__(self, _):
        time.sleep(self.seconds)


def workload(args):
    """(function, inputs, shared buffer or None) for the kind asked."""
    if args.kind == "tiny":
        return job_tiny, range(args.count), None
    if args.kind == "cpu":
        return job_cpu, range(args.count), None
    if args.kind == "memory":
        buffer = bytes((i * 131 + 7) & 0xFF for i in range(args.size - args.size % 8))
        if args.per_job:
            return job_memory_per_job, [buffer] * args.count, None
        return job_memory_shared, range(args.count), buffer
    return SleepJob(args.ms), range(args.count), None


def run_serial(fn, inputs, shared):
    _init_shared(shared)
    start = time.perf_counter()
    for i in inputs:
        fn(i)
    return time.perf_counter() - start


def run_pool(fn, inputs, shared, workers):
    start = time.perf_counter()
    with multiprocessing.Pool(workers, initializer=_init_shared, initargs=(shared,)) as pool:
        pool.map(fn, inputs, chunksize=1)
    return time.perf_counter() - start


def run_process_pool_executor(fn, inputs, shared, workers):
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(
        workers, initializer=_init_shared, initargs=(shared,)
    ) as pool:
        list(pool.map(fn, inputs, chunksize=1))
    return time.perf_counter() - start


def run_thread_pool_executor(fn, inputs, shared, workers):
    _init_shared(shared)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, inputs))
    return time.perf_counter() - start


def median_of(repeats, run):
    return statistics.median(run() for _ in range(repeats))


def forkpool_rows(args):
    command = [
        args.forkpool, "compare", "tasks", "--kind", args.kind, "--count", str(args.count),
        "--workers", ",".join(map(str, args.workers)), "--repeats", str(args.repeats),
        "--transports", args.transports, "--json", "-",
    ]
    if args.kind == "memory":
        command += ["--size", str(args.size)] + (["--per-job"] if args.per_job else [])
    if args.kind == "sleep":
        command += ["--ms", str(args.ms)]
    print("$ " + " ".join(command), file=sys.stderr)
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return report


def format_seconds(s):
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(s) >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["tiny", "cpu", "memory", "sleep"], default="tiny")
    parser.add_argument("--count", type=int, default=None, help="jobs (default as forkpool's)")
    parser.add_argument("--size", type=int, default=1 << 20, help="memory: bytes per job")
    parser.add_argument("--per-job", action="store_true", help="memory: the buffer in every job")
    parser.add_argument("--ms", type=int, default=10, help="sleep: milliseconds per job")
    parser.add_argument("--workers", default=None, help="worker counts, e.g. 1,2 (default 1..cores, doubling)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--transports", default="shm,pipe", help="forkpool's transports")
    parser.add_argument("--forkpool", default=os.environ.get("FORKPOOL", "build/apps/forkpool"))
    args = parser.parse_args()
    if args.count is None:
        args.count = {"tiny": 20000, "cpu": 200, "memory": 200, "sleep": 50}[args.kind]
    if args.workers is None:
        cores = len(os.sched_getaffinity(0))
        args.workers, w = [], 1
        while w < cores:
            args.workers.append(w)
            w *= 2
        args.workers.append(cores)
    else:
        args.workers = [int(w) for w in args.workers.split(",")]

    report = forkpool_rows(args)
    fn, inputs, shared = workload(args)
    serial = median_of(args.repeats, lambda: run_serial(fn, inputs, shared))
    rows = [("python serial", 1, serial)]
    pools = (("multiprocessing.Pool", run_pool),
             ("ProcessPoolExecutor", run_process_pool_executor),
             ("ThreadPoolExecutor", run_thread_pool_executor))
    for name, run in pools:
        for w in args.workers:
            rows.append((name, w, median_of(args.repeats, lambda: run(fn, inputs, shared, w))))

    print(f"kind {args.kind}, {args.count} jobs, median of {args.repeats} runs; machine: "
          f"{report['machine']['cpu_model']}, {report['machine']['cores_online']} cores, "
          f"load {report['machine']['load_average']}")
    print(f"{'':<2}{'implementation':<28} {'workers':>7} {'wall':>10} {'speed-up':>9} {'overhead/job':>13}")
    for name, w, wall in rows:
        over = (wall * w - serial) / args.count
        print(f"  {name:<28} {w:>7} {format_seconds(wall):>10} {serial / wall:>8.3g}x {format_seconds(over):>13}")
    for row in report["configurations"]:
        name = "forkpool " + row["backend"] + ("/" + row["transport"] if row["transport"] else "")
        print(f"  {name:<28} {row['workers']:>7} {format_seconds(row['wall_s']):>10} "
              f"{row['speedup']:>8.3g}x {format_seconds(row['overhead_us_per_job'] * 1e-6):>13}")


if __name__ == "__main__":
    main()
