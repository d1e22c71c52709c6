#!/usr/bin/env python3
"""Start-up and throughput of ``oomaudit check``, as ratios against baselines measured in
the same run on the same machine (absolute times mean nothing across machines).

    python bench/bench.py [--files 10000] [--repeat 5]

1. single-file ``oomaudit check`` vs ``python3 -c pass``          target <= 5x
2. ``oomaudit check`` of a generated 10,000-file config tree vs a
   plain Python walk-and-read of the same files (both as a fresh process)   target <= 3x

For the first it also prints the floor under it: a process that only imports the
standard library and pluggy that every run needs, so what oomaudit itself adds is
the difference.
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

READ_ALL = """
import os, sys
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(folder, name), 'rb') as fh:
            fh.read()
"""

FLOOR = "import argparse, fnmatch, os, pathlib, re, typing, pluggy; os._exit(0)"
FSTAB = "UUID=0a1b-{n} / ext4 errors=remount-ro 0 1\n/swapfile none swap sw 0 0\n"
OTHER = "# notes for host {n}\nsome: yaml\nlist:\n  - {n}\n"


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


def make_tree(root: Path, count: int) -> None:
    """A config repo: one host folder per 10 files, an fstab in each, the rest other files."""
    for n in range(count):
        host = root / f"hosts/h{n // 10:04d}"
        host.mkdir(parents=True, exist_ok=True)
        if n % 10 == 0:
            (host / "fstab").write_text(FSTAB.format(n=n))
        else:
            (host / f"notes{n % 10}.yml").write_text(OTHER.format(n=n))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tool = oomaudit_cmd()
    work = Path(tempfile.mkdtemp(prefix="oomaudit-bench-"))
    try:
        one = work / "fstab"
        one.write_text(FSTAB.format(n=0))
        env_cmd = [*tool, "check", "--exit-zero", "--format", "json"]
        ours1, base1 = timed_pair([*env_cmd, str(one)], [sys.executable, "-c", "pass"],
                                  args.repeat * 4)  # start-up: short runs, more of them
        floor, base0 = timed_pair([sys.executable, "-c", FLOOR], [sys.executable, "-c", "pass"],
                                  args.repeat * 4)
        tree = work / "repo"
        make_tree(tree, args.files)
        os.sync()  # the tree's write-back would otherwise land in the middle of the runs
        ours2, base2 = timed_pair([*env_cmd, str(tree)],
                                  [sys.executable, "-c", READ_ALL, str(tree)], args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [("single-file check vs python -c pass", ours1, base1, 5.0),
            (f"{args.files}-file tree check vs plain read", ours2, base2, 3.0)]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, medians of "
          f"{args.repeat * 4} and {args.repeat} runs taken in turns with the baseline")
    worst = 0
    for name, ours, base, target in rows:
        ratio = ours / base
        verdict = "ok" if ratio <= target else "OVER TARGET"
        worst |= ratio > target
        print(f"{name:<42} {ours * 1000:8.1f} ms / {base * 1000:8.1f} ms = "
              f"{ratio:5.2f}x (target <= {target:.0f}x) {verdict}")
        if target == 5.0:
            print(f"{'  its floor: stdlib + pluggy imports alone':<42} {floor * 1000:8.1f} ms / "
                  f"{base0 * 1000:8.1f} ms = {floor / base0:5.2f}x")
    return 1 if worst else 0


if __name__ == "__main__":
    raise SystemExit(main())
