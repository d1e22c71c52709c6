#!/usr/bin/env python3
"""Start-up by kind of file: ``oomaudit check`` of one file of each kind we read, each as a
ratio against ``python -c pass`` measured in turns with it (target: every kind <= 5x).

    python bench/bench_kinds.py [--repeat 21] [KIND ...]

A pre-commit hook starts once per commit, usually on one or two files, so what a run on
one file imports and builds is the cost its users see. Each figure is the median of the
ratios pair by pair (ours, then the baseline, again and again), in CPU time of the child
(user + system: a loaded machine's waits are not ours), so a slow moment of the machine
falls on both sides. Files come from ``../shared/realworld`` where it has the kind; the
rest are written here. Needs a normal ``pip install .`` (see README, Benchmarks).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import oomaudit_cmd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld"
# kind -> (file name to check, the ../shared/realworld file it is a copy of, or its text)
KINDS = {
    "fstab": ("fstab", "fstab/Amodio__debian-config__etc__fstab"),
    "sysctl.conf": ("sysctl.conf", "sysctl/Amixp__etc__sysctl.conf"),
    "systemd unit": ("mysql.service", "systemd/canadasatellite-ca__3.133.129.101__usr__lib__"
                                      "systemd__system__mysql.service"),
    "my.cnf": ("my.cnf", "mysql/27estore-com__192.241.193.5__etc__mysql__my.cnf"),
    "postgresql.conf": ("postgresql.conf", "postgresql/AlissonMartin__rinha1__postgresql.conf"),
    "php-fpm pool": ("www.conf", "php-fpm/TaylanUB__bg3wiki__etc__php__8.4__fpm__pool.d__www.conf"),
    "apache2.conf": ("apache2.conf", "apache/kamipo__etcfiles__etc__apache2__apache2.conf"),
    "nginx.conf": ("nginx.conf", "nginx/MakeYourLaws__MakeYourServers__etc__nginx__nginx.conf"),
    "redis.conf": ("redis.conf", "bind 127.0.0.1\nport 6379\nmaxmemory 2gb\n"
                                 "maxmemory-policy allkeys-lru\nsave 900 1\n"),
    "memcached.conf": ("memcached.conf", "# memcached\n-d\n-m 16384\n-p 11211\n-u memcache\n"),
    "mongod.conf": ("mongod.conf", "storage:\n  dbPath: /var/lib/mongodb\n  wiredTiger:\n"
                                   "    engineConfig:\n      cacheSizeGB: 8\n"
                                   "net:\n  port: 27017\n"),
    "jvm.options": ("jvm.options", "-Xms4g\n-Xmx4g\n-XX:+UseG1GC\n"),
    "compose.yaml": ("compose.yaml", "compose/AlissonMartin__rinha1__docker-compose.yml"),
    "Kubernetes Deployment": ("deployment.yaml",
                              "kubernetes/HariSekhon__Kubernetes-configs__deployment.yaml"),
}


def cpu_of(cmd: list[str], cwd: Path) -> float:
    """The child's user + system seconds, from the kernel's accounting at its exit."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped here: keep Popen from waiting for it again
    return usage.ru_utime + usage.ru_stime


def paired_ratio(ours: list[str], base: list[str], repeat: int,
                 cwd: Path) -> tuple[float, float, float]:
    """(median ratio of the pairs, median CPU seconds of ours, of the baseline), after one
    warm-up run of each; both run in ``cwd``."""
    cpu_of(ours, cwd), cpu_of(base, cwd)
    mine, theirs = [], []
    for _ in range(repeat):
        mine.append(cpu_of(ours, cwd))
        theirs.append(cpu_of(base, cwd))
    ratios = [a / b for a, b in zip(mine, theirs, strict=True) if b > 0]
    return statistics.median(ratios), statistics.median(mine), statistics.median(theirs)


def write_kind(folder: Path, name: str, source: str) -> Path | None:
    """The kind's file in ``folder``: a copy of the real-world file, or the text given."""
    path = folder / name
    if "\n" in source:
        path.write_text(source)
    elif (SHARED / source).is_file():
        shutil.copyfile(SHARED / source, path)
    else:
        return None
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("kinds", nargs="*", help=f"some of: {', '.join(KINDS)}")
    args = parser.parse_args()
    chosen = args.kinds or list(KINDS)
    tool = [*oomaudit_cmd(), "check", "--exit-zero"]
    base = [sys.executable, "-c", "pass"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, median of {args.repeat} "
          "paired CPU-time ratios against python -c pass (target <= 5x)")
    over = 0
    with tempfile.TemporaryDirectory(prefix="oomaudit-kinds-") as work:
        for kind in chosen:
            folder = Path(work) / kind.replace(" ", "-")
            folder.mkdir()
            path = write_kind(folder, *KINDS[kind])
            if path is None:
                print(f"{kind:<22} skipped: {SHARED / KINDS[kind][1]} is not there")
                continue
            ratio, ours, theirs = paired_ratio([*tool, path.name], base, args.repeat, folder)
            over += ratio > 5.0
            print(f"{kind:<22} {ours * 1000:7.1f} ms / {theirs * 1000:6.1f} ms = {ratio:5.2f}x"
                  f" {'ok' if ratio <= 5.0 else 'OVER TARGET'}", flush=True)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
