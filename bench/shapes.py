#!/usr/bin/env python3
"""The stress shapes of issue 18: each input built at N and at 4N and audited by a fresh
``oomaudit`` process; linear is 4x, the target is <= 4.5x.

    python bench/shapes.py [--scale 1] [--repeat 3] [--only pool-lines,...] [--big]

1. ``pool-lines``: one PHP-FPM pool file of N lines (``check``)
2. ``pools-in-file``: one file of N pools (``check``); ``pool-includes``: ``scan --root`` of
   a tree whose php-fpm.conf includes N pool files
3. ``mysql-units``: N ``mysql.service`` units (each with a MemoryMax=) plus the N option
   files they name, one host (``check``)
4. ``host-profiles``: N host folders with one ``[[hosts]]`` profile each (``check``);
   ``--big`` adds 4,000 hosts as a third size
6. ``budget-root``: ``budget --root`` of a tree with N pools, N units and N compose projects

Each figure is the median CPU time (user + sys) of ``--repeat`` runs taken in turns (N, 4N,
N, 4N...). The trees are generated in a temporary folder and deleted afterwards.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench import FSTAB, oomaudit_cmd

POOL_HEAD = "[www]\nuser = www-data\nlisten = /run/php/www.sock\npm = static\n" \
            "pm.max_children = 5\npm.max_requests = 500\n"
POOL = "[{name}]\nlisten = /run/php/{name}.sock\npm = static\npm.max_children = 5\n" \
       "pm.max_requests = 500\nphp_admin_value[memory_limit] = 64M\n"
MYCNF = "[mysqld]\ninnodb_buffer_pool_size = {n}M\nmax_connections = 50\n"
UNIT = "[Unit]\nDescription=db {n}\n\n[Service]\nExecStart=/usr/sbin/mysqld " \
       "--defaults-file=/etc/mysql/{n}.cnf\nMemoryMax=64M\n"
UNIT_ROOT = "[Service]\nExecStart=/usr/bin/worker{n}\nMemoryMax=1G\n"
COMPOSE = "services:\n  app{n}:\n    image: nginx\n    mem_limit: 64m\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def pool_lines(work: Path, n: int) -> list[str]:
    lines = [f"php_admin_value[x_{i}] = {i}\n" if i % 2 else f"; note {i}\n"
             for i in range(n)]
    write(work / "www.conf", POOL_HEAD + "".join(lines))
    return ["check", str(work / "www.conf")]


def pools_in_file(work: Path, n: int) -> list[str]:
    write(work / "www.conf", "".join(POOL.format(name=f"p{i}") for i in range(n)))
    return ["check", str(work / "www.conf")]


def pool_includes(work: Path, n: int) -> list[str]:
    """php-fpm.conf including pool.d/*.conf, and N pool files there."""
    fpm = work / "etc/php/8.2/fpm"
    write(fpm / "php-fpm.conf", "[global]\npid = /run/php/fpm.pid\n"
                                "include=/etc/php/8.2/fpm/pool.d/*.conf\n")
    for i in range(n):
        write(fpm / f"pool.d/p{i:05d}.conf", POOL.format(name=f"p{i}"))
    return ["scan", "--root", str(work)]


def mysql_units(work: Path, n: int) -> list[str]:
    """Each unit names its own option file (--defaults-file), as a fleet's units do: the
    ledger entry it is held to is that file's (SYSTEMD007)."""
    for i in range(n):
        write(work / f"db{i:05d}/mysql.service", UNIT.format(n=i))
        write(work / f"db{i:05d}/etc/mysql/{i}.cnf", MYCNF.format(n=128 + i % 64))
    return ["check", str(work)]


def host_profiles(work: Path, n: int) -> list[str]:
    tables = []
    for i in range(n):
        name = f"host{i:05d}"
        write(work / f"hosts/{name}/etc/fstab", FSTAB.format(n=i))
        write(work / f"hosts/{name}/etc/mysql/my.cnf", MYCNF.format(n=128 + i % 64))
        tables.append(f"[[hosts]]\npaths = [\"hosts/{name}/**\"]\nram = \"4GiB\"\n")
    write(work / ".oomaudit.toml", "\n".join(tables))
    return ["check", str(work)]


def budget_root(work: Path, n: int) -> list[str]:
    pool_includes(work, n)
    for i in range(n):
        write(work / f"etc/systemd/system/worker{i:05d}.service", UNIT_ROOT.format(n=i))
        write(work / f"srv/app{i:05d}/compose.yml", COMPOSE.format(n=i))
    return ["budget", "--root", str(work)]


# N of each shape: large enough that the work, not the start-up, makes the time at N
SHAPES = {"pool-lines": (pool_lines, 20000), "pools-in-file": (pools_in_file, 1000),
          "pool-includes": (pool_includes, 1000), "mysql-units": (mysql_units, 250),
          "host-profiles": (host_profiles, 250), "budget-root": (budget_root, 400)}


def timed(cmd: list[str]) -> float:
    """CPU seconds (user + sys) of one run: on a machine busy with other work the wall
    time measures the queue as well, and a shape's ratio is about the work."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:4])}...: exit {proc.returncode}")
    return usage.ru_utime + usage.ru_stime


def measure(name: str, sizes: list[int], repeat: int, work: Path) -> list[float]:
    build, _ = SHAPES[name]
    tool = oomaudit_cmd()
    cmds = []
    for size in sizes:
        folder = work / f"{name}-{size}"
        folder.mkdir()
        cmds.append([*tool, *build(folder, size), "--format", "json", "--exit-zero"]
                    if build is not budget_root else [*tool, *build(folder, size)])
    os.sync()
    timed(cmds[0])  # warm-up: the first run of an install compiles its modules
    times: list[list[float]] = [[] for _ in sizes]
    for _ in range(repeat):
        for k, cmd in enumerate(cmds):
            times[k].append(timed(cmd))
    return [statistics.median(t) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every N")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated shape names")
    parser.add_argument("--big", action="store_true", help="host-profiles at 4,000 hosts too")
    args = parser.parse_args()
    names = [s for s in args.only.split(",") if s] or list(SHAPES)
    worst = 0
    work = Path(tempfile.mkdtemp(prefix="oomaudit-shapes-"))
    try:
        for name in names:
            n = max(int(SHAPES[name][1] * args.scale), 1)
            sizes = [n, 4 * n] + ([16 * n] if args.big and name == "host-profiles" else [])
            times = measure(name, sizes, args.repeat, work)
            ratio = times[1] / times[0]
            worst |= ratio > 4.5
            shown = " -> ".join(f"{s} {t:.2f} s CPU" for s, t in zip(sizes, times, strict=True))
            print(f"{name:<14} {shown:<40} 4N/N = {ratio:5.2f}x (target <= 4.5x) "
                  f"{'ok' if ratio <= 4.5 else 'OVER TARGET'}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if worst else 0


if __name__ == "__main__":
    raise SystemExit(main())
