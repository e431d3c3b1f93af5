#!/usr/bin/env python3
"""Runs a command and prints the peak PSS of each process of its tree, in MiB.

    bench/peak_pss.py COMMAND [ARG...]

Samples /proc/PID/smaps_rollup of the command and of all its descendants every 50 ms (a peak
shorter than that may be missed). Prints one line: under mpirun, each rank's peak in rank order
("r0 412  r1 150  r2 150", the rank read from OMPI_COMM_WORLD_RANK in its environment);
otherwise the command's own process first, then its children ("412  150  150"). The command's
stdout is discarded; its exit status is this script's.
"""

import os
import subprocess
import sys
import time


def parents():
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                # the command name, in parentheses, may hold spaces: ppid follows its last ')'
                out[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return out


def descendants(root):
    children = {}
    for pid, ppid in parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def rank_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                    return int(item.split(b"=", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
    peak, order, ranks = {}, [], {}
    while proc.poll() is None:
        for pid in descendants(proc.pid):
            kib = pss_kib(pid)
            if kib is None:
                continue
            if pid not in peak:
                order.append(pid)
            if ranks.get(pid) is None:  # read again: a rank forked by mpirun but not yet exec'd has mpirun's environment
                ranks[pid] = rank_of(pid)
            peak[pid] = max(peak.get(pid, 0), kib)
        time.sleep(0.05)
    ranked = sorted((r, pid) for pid, r in ranks.items() if r is not None)
    if ranked:
        print("  ".join(f"r{r} {round(peak[pid] / 1024)}" for r, pid in ranked))
    else:
        print("  ".join(str(round(peak[pid] / 1024)) for pid in order))
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
