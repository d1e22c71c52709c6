#!/usr/bin/env python3
"""Start-up of ``oomaudit check`` on one fstab, as a ratio against ``python3 -c pass``
measured in the same run on the same machine (absolute times mean nothing across
machines), and the floor under it: a process that only imports the standard library and
pluggy that every run needs, so what oomaudit itself adds is the difference.

    python bench/bench.py [--repeat 5]

Target: <= 5x. Every other kind of file is bench_kinds.py's; a repository's throughput is
bench_repo.py's, on a fleet's tree of real configs (a tree of generated four-line notes,
which this script once timed, is mostly files no reader parses and flattered the ratio).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = "import argparse, fnmatch, os, pathlib, re, typing, pluggy; os._exit(0)"
FSTAB = "UUID=0a1b-{n} / ext4 errors=remount-ro 0 1\n/swapfile none swap sw 0 0\n"


def oomaudit_cmd() -> list[str]:
    script = Path(sys.executable).with_name("oomaudit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "oomaudit"]


def _once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def timed_pair(ours: list[str], base: list[str], repeat: int) -> tuple[float, float]:
    """Median wall time of each command over ``repeat`` runs, taken in turns (ours, base,
    ours, base...) after one warm-up run each, so a slow moment of the machine (a VM's
    neighbour, a timer tick) falls on both sides instead of on one."""
    _once(ours), _once(base)
    mine, theirs = [], []
    for _ in range(repeat):
        mine.append(_once(ours))
        theirs.append(_once(base))
    return statistics.median(mine), statistics.median(theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="oomaudit-bench-"))
    try:
        one = work / "fstab"
        one.write_text(FSTAB.format(n=0))
        cmd = [*oomaudit_cmd(), "check", "--exit-zero", "--format", "json", str(one)]
        runs = args.repeat * 4  # start-up: short runs, many of them
        ours, base = timed_pair(cmd, [sys.executable, "-c", "pass"], runs)
        floor, base0 = timed_pair([sys.executable, "-c", FLOOR], [sys.executable, "-c", "pass"],
                                  runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = ours / base
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, medians of {runs} runs "
          "taken in turns with the baseline")
    print(f"{'single-file check vs python -c pass':<42} {ours * 1000:8.1f} ms / "
          f"{base * 1000:8.1f} ms = {ratio:5.2f}x (target <= 5x) "
          f"{'ok' if ratio <= 5 else 'OVER TARGET'}")
    print(f"{'  its floor: stdlib + pluggy imports alone':<42} {floor * 1000:8.1f} ms / "
          f"{base0 * 1000:8.1f} ms = {floor / base0:5.2f}x")
    return 1 if ratio > 5 else 0


if __name__ == "__main__":
    raise SystemExit(main())
