#!/usr/bin/env python3
"""``oomaudit check`` of a fleet's config repository built from real configs, against a
plain Python read of the same files in the same run (both fresh processes, taken in turns).

    python bench/bench_repo.py [--sizes 1000,10000] [--huge] [--repeat 3] [--no-shapes]

The repository is laid out as a fleet's is: ``hosts/hostNNNNN/<path as in the source
repository>``, each host holding the files of one source repository of
``../shared/realworld`` (SOURCES.tsv names each file's repository and path; the data stays
there and is copied into a temporary folder), plus as many unrelated README, .py, .json
and .yml files. Each size is audited three ways: with no config, with one ``[[hosts]]``
table per host, and with one ``each = "hosts/*"`` table; the three must agree on the
findings of the last two. Every figure is printed as a ratio against the plain read
(target <= 3x), with oomaudit's peak RSS (its largest process) and peak PSS (all its
processes, what forked workers share counted once; target <= 512 MiB at 100k files). ``--huge`` adds
100,000 files. Then the stress shapes of bench/shapes.py, N against 4N (target <= 4.5x).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import shapes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld"
READ_ALL = """
import os, sys
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(folder, name), 'rb') as fh:
            fh.read()
"""
UNRELATED = {  # what else a config repository holds, one of each per config file in turn
    "README.md": "# {host}\n\nThe {host} role: packages, users and the configs beside this file.\n",
    "deploy.py": "import subprocess\n\n\ndef deploy(host='{host}'):\n"
                 "    subprocess.run(['rsync', '-a', 'etc/', host + ':/etc/'], check=True)\n",
    "inventory.json": '{{"host": "{host}", "groups": ["web", "db"], "vars": {{"n": {n}}}}}\n',
    "vars.yml": "host: {host}\nusers:\n  - deploy\n  - backup\nntp: [0.pool.ntp.org]\n",
}


def sources() -> list[list[tuple[Path, str]]]:
    """The real files grouped by the repository they came from: (file here, path there)."""
    groups: dict[str, list[tuple[Path, str]]] = {}
    with open(SHARED / "SOURCES.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            saved = SHARED / row["saved_path"]
            if saved.is_file():
                groups.setdefault(row["repo"], []).append((saved, row["path"].lstrip("/")))
    return [groups[k] for k in sorted(groups)]


def make_repo(root: Path, files: int) -> list[str]:
    """A repository of about ``files`` files, half real configs, half unrelated; returns
    the host folders' names."""
    groups, hosts, written, n = sources(), [], 0, 0
    while written < files:
        host = f"host{n:05d}"
        hosts.append(host)
        for k, (saved, path) in enumerate(groups[n % len(groups)]):
            target = root / "hosts" / host / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(saved, target)
            name, text = list(UNRELATED.items())[(n + k) % len(UNRELATED)]
            (target.parent / f"{k}-{name}").write_text(text.format(host=host, n=n))
            written += 2
        n += 1
    return hosts


def write_config(root: Path, hosts: list[str], how: str) -> None:
    config = root / ".oomaudit.toml"
    if how == "none":
        config.unlink(missing_ok=True)
    elif how == "profiles":
        config.write_text("".join(f'[[hosts]]\npaths = ["hosts/{h}/**"]\nram = "4GiB"\n\n'
                                  for h in hosts))
    else:
        config.write_text('[[hosts]]\neach = "hosts/*"\nram = "4GiB"\n')


def tree_memory(pid: int) -> tuple[int, int]:
    """(the proportional set size of ``pid`` and every process below it, the largest
    one's RSS), in KiB: memory a pool's workers share with the process they were forked
    from counts once in the PSS, shared."""
    pss, largest, pending = 0, 0, [pid]
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                sizes = dict(line.split()[:2] for line in fh if line.startswith(("Rss:", "Pss:")))
            pss, largest = pss + int(sizes["Pss:"]), max(largest, int(sizes["Rss:"]))
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    pending += map(int, fh.read().split())
        except (OSError, KeyError, ValueError):  # it ended meanwhile
            continue
    return pss, largest


def run(cmd: list[str], cwd: Path) -> tuple[float, float, float, float, bytes]:
    """Wall seconds, CPU seconds (user + sys: what to compare on a machine busy with other
    work, where wall time measures the queue too), peak RSS of its largest process and the
    peak PSS of all its processes together (sampled every 20 ms), both in MiB, and stdout of
    one fresh process. Not wait4's ru_maxrss: Linux counts in it the peak of the process
    image exec replaced, a fork of this one, which holds the last run's findings."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        pss = rss = 0
        while True:  # sampled until it is gone, then reaped with its resource usage
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = tree_memory(proc.pid)
            pss, rss = max(pss, now[0]), max(rss, now[1])
            time.sleep(0.02)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}")
        out.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, rss / 1024, pss / 1024, out.read()


def findings(stdout: bytes) -> list[tuple]:
    report = json.loads(stdout)
    return sorted((f["host"], f["rule"], f["path"], f["line"], f["message"])
                  for f in report["findings"])


def measure(root: Path, hosts: list[str], repeat: int) -> list[tuple]:
    """(way, oomaudit (wall, CPU) seconds, plain read's, oomaudit's peak RSS and peak PSS
    in MiB) for each config."""
    tool = shapes.oomaudit_cmd()
    check = [*tool, "check", ".", "--format", "json", "--exit-zero"]
    read = [sys.executable, "-c", READ_ALL, "."]
    rows, seen = [], {}
    for how in ("none", "profiles", "each"):
        write_config(root, hosts, how)
        run(check, root), run(read, root)  # warm-up: the page cache, compiled modules
        ours, base, peak, shared = [], [], 0.0, 0.0
        for _ in range(repeat):
            wall, cpu, rss, pss, out = run(check, root)
            ours.append((wall, cpu))
            peak, shared = max(peak, rss), max(shared, pss)
            base.append(run(read, root)[:2])
        seen[how] = findings(out)
        rows.append((how, *(tuple(map(statistics.median, zip(*t, strict=True)))
                            for t in (ours, base)), peak, shared))
    if seen["profiles"] != seen["each"]:
        raise SystemExit("one each table and a table per host disagree on the findings")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="files per repository")
    parser.add_argument("--huge", action="store_true", help="a 100,000-file repository too")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-shapes", action="store_true", help="skip bench/shapes.py's")
    args = parser.parse_args()
    if not (SHARED / "SOURCES.tsv").is_file():
        raise SystemExit(f"{SHARED}: the real-world configs are not there")
    sizes = [int(s) for s in args.sizes.split(",")] + ([100_000] if args.huge else [])
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, medians of {args.repeat} "
          "runs taken in turns with a plain read of the same files")
    worst = False
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix="oomaudit-repo-"))
        try:
            hosts = make_repo(work, size)
            os.sync()  # the tree's write-back would otherwise land in the middle of the runs
            for how, ours, base, peak, pss in measure(work, hosts, args.repeat):
                ratio = ours[0] / base[0]
                over = ratio > 3 or (size >= 100_000 and pss > 512)
                worst |= over
                print(f"{size:>7} files, {len(hosts):>5} hosts, config {how:<8} "
                      f"{ours[0]:7.2f} s / {base[0]:6.2f} s read = {ratio:5.2f}x (target <= 3x; "
                      f"CPU {ours[1] / base[1]:5.2f}x), peak RSS {peak:4.0f} MiB, "
                      f"PSS {pss:4.0f} MiB "
                      f"{'OVER TARGET' if over else 'ok'}", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if not args.no_shapes:
        sys.argv = [sys.argv[0], "--repeat", str(args.repeat)]
        worst |= bool(shapes.main())
    return 1 if worst else 0


if __name__ == "__main__":
    raise SystemExit(main())
