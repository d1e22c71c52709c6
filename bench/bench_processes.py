#!/usr/bin/env python3
"""A live ``oomaudit scan`` on a busy host: N idle processes more, at N and 4N.

    python bench/bench_processes.py [--processes 1000] [--repeat 3]

Starts N ``sleep`` processes, times ``oomaudit scan`` (a fresh process, median of the runs),
then the same at 4N, and prints the per-process cost and the ratio (linear: 4x in the added
processes). Issue 18's target: a whole live scan under 1 s with 4,000 processes. The
processes are stopped before it ends; run it on a machine without other load for absolute
figures, which this one script cannot make comparable across machines.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import _once, oomaudit_cmd  # noqa: E402


def _scan_time(count: int, repeat: int) -> tuple[float, int]:
    sleeper = shutil.which("sleep")
    started = [subprocess.Popen([sleeper, "600"]) for _ in range(count)]
    try:
        cmd = [*oomaudit_cmd(), "scan", "--exit-zero", "--format", "json"]
        _once(cmd)
        times = sorted(_once(cmd) for _ in range(repeat))
        with open("/proc/loadavg") as fh:
            running = int(fh.read().split()[3].split("/")[1])
        return times[len(times) // 2], running
    finally:
        for proc in started:
            proc.kill()
        for proc in started:
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    small, n_small = _scan_time(args.processes, args.repeat)
    large, n_large = _scan_time(args.processes * 4, args.repeat)
    per = (large - small) / (n_large - n_small) * 1e3
    print(f"live scan, {n_small} processes (tasks)   {small * 1e3:8.0f} ms")
    print(f"live scan, {n_large} processes (tasks)   {large * 1e3:8.0f} ms   "
          f"{large / small:.2f}x for {n_large / n_small:.1f}x tasks; {per:.3f} ms per added one")
    at4000 = small + (4000 - n_small) * per / 1e3
    print(f"projected at 4,000 tasks              {at4000 * 1e3:8.0f} ms (target < 1000 ms) "
          + ("ok" if at4000 < 1 else "OVER TARGET"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
