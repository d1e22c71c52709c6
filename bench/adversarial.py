#!/usr/bin/env python3
"""Every reader on its worst inputs at two sizes, N and 2N bytes, with the ratio of the two
times, so that work growing faster than its input shows (target: ratio <= 2.5 at 2x).

    python bench/adversarial.py [--size 100000] [--timeout 60] [--only SUBSTRING]

Each case is a tree generated at run time (nothing large is committed) and audited by
``oomaudit check --exit-zero --format json`` in a process of its own, which imports
oomaudit and audits a tiny version of the tree first, so the time printed is the audit
alone (start-up and imports would hide a quadratic reader behind a constant). The time is
the process's CPU time, the best of three audits: on a machine shared with other work, wall
time measures the neighbours. Peak RSS of that process is printed too: an alias bomb is a
memory problem more than a time one.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# A case: its files, relative path -> text, for an input of about n bytes.
Case = Callable[[int], dict[str, str]]


def _fill(n: int, unit: str) -> str:
    return unit * max(1, n // len(unit))


def _chain(n: int, name: str, include: Callable[[str], str], body: str) -> dict[str, str]:
    """An include chain as deep as n allows: each file includes the next."""
    depth = max(2, n // 200)
    files = {}
    for i in range(depth):
        nxt = include(f"{name}{i + 1}.conf") if i + 1 < depth else ""
        files[f"{name}{i}.conf"] = f"{body}\n{nxt}\n"
    return files


CASES: dict[str, Case] = {
    # PostgreSQL
    "pgconf unclosed quote": lambda n: {
        "postgresql.conf": "shared_buffers = '" + _fill(n, "a")},
    "pgconf long line": lambda n: {"postgresql.conf": "work_mem = " + _fill(n, "9") + "\n"},
    "pgconf many lines": lambda n: {"postgresql.conf": _fill(n, "work_mem = '4MB'\n")},
    "pgconf quote escapes": lambda n: {
        "postgresql.conf": "shared_buffers = '" + _fill(n, "\\'")},
    "pgconf include chain": lambda n: {"postgresql.conf": "include 'pg0.conf'\n", **_chain(
        n, "pg", lambda f: f"include '{f}'", "work_mem = 4MB")},
    "pgconf many includes": lambda n: {
        "postgresql.conf": _fill(n, "include_if_exists 'extra.conf'\n"),
        "extra.conf": "work_mem = 4MB\n"},
    "pgconf include fan-out": lambda n: _fan(n, "postgresql.conf", lambda f: f"include '{f}'\n",
                                              "work_mem = 4MB\n"),
    # MySQL
    "mycnf unclosed quote": lambda n: {"my.cnf": "[mysqld]\ninit_connect = '" + _fill(n, "a")},
    "mycnf long line": lambda n: {"my.cnf": "[mysqld]\nmax_connections = " + _fill(n, "9")},
    "mycnf many sections": lambda n: {"my.cnf": "".join(
        f"[s{i}]\nkey_buffer_size=1M\n" for i in range(n // 24))},
    "mycnf include chain": lambda n: {"my.cnf": "[mysqld]\n!include my0.conf\n", **_chain(
        n, "my", lambda f: f"!include {f}", "[mysqld]\nkey_buffer_size=1M")},
    "mycnf many includes": lambda n: {"my.cnf": "[mysqld]\n" + _fill(n, "!include x.cnf\n"),
                                      "x.cnf": "[mysqld]\nkey_buffer_size=1M\n"},
    "mycnf include fan-out": lambda n: _fan(n, "my.cnf", lambda f: f"!include {f}\n",
                                             "[mysqld]\nkey_buffer_size=1M\n"),
    # Apache
    "apache deep nesting": lambda n: {"apache2.conf": _fill(n // 2, "<IfModule a>\n") +
                                      _fill(n // 2, "</IfModule>\n")},
    "apache continuations": lambda n: {"apache2.conf": "MaxRequestWorkers " +
                                       _fill(n, "1 \\\n") + "\n"},
    "apache unclosed quote": lambda n: {"apache2.conf": 'ServerName "' + _fill(n, "a")},
    "apache long line": lambda n: {"apache2.conf": "MaxRequestWorkers " + _fill(n, "9")},
    "apache many includes": lambda n: {
        "apache2.conf": _fill(n, "Include x.conf\n"), "x.conf": "MaxRequestWorkers 10\n"},
    "apache include chain": lambda n: {"apache2.conf": "Include ap0.conf\n", **_chain(
        n, "ap", lambda f: f"Include {f}", "ServerLimit 10")},
    "apache include fan-out": lambda n: _fan(n, "apache2.conf", lambda f: f"Include {f}\n",
                                              "ServerLimit 10\n"),
    # nginx
    "nginx deep nesting": lambda n: {"nginx.conf": _fill(n // 2, "events {") +
                                     _fill(n // 2, "}")},
    "nginx unclosed quote": lambda n: {"nginx.conf": 'worker_processes "' + _fill(n, "a")},
    "nginx unclosed block": lambda n: {"nginx.conf": _fill(n, "http {")},
    "nginx many includes": lambda n: {"nginx.conf": _fill(n, "include x.conf;\n"),
                                      "x.conf": "worker_connections 10;\n"},
    "nginx include chain": lambda n: {"nginx.conf": "include ng0.conf;\n", **_chain(
        n, "ng", lambda f: f"include {f};", "worker_processes 1;")},
    "nginx include fan-out": lambda n: _fan(n, "nginx.conf", lambda f: f"include {f};\n",
                                             "# c\n"),
    # PHP-FPM and php.ini
    "phpfpm unclosed quote": lambda n: {
        "php-fpm.conf": '[www]\npm.max_children = "' + _fill(n, "a")},
    "phpfpm many sections": lambda n: {"php-fpm.conf": "".join(
        f"[p{i}]\npm.max_children = 5\n" for i in range(n // 26))},
    "phpfpm many includes": lambda n: {
        "php-fpm.conf": "[global]\n" + _fill(n, "include = x.conf\n"),
        "x.conf": "[www]\npm.max_children = 5\n"},
    "phpfpm nested braces": lambda n: {
        "php-fpm.conf": "[www]\nphp_value[memory_limit] = " + _fill(n, "${a") + "\n"},
    # redis, memcached, sysctl, fstab
    "redis unclosed quote": lambda n: {"redis.conf": 'maxmemory "' + _fill(n, "a")},
    "redis escapes": lambda n: {"redis.conf": 'maxmemory "' + _fill(n, "\\x41") + '"\n'},
    "redis long line": lambda n: {"redis.conf": "maxmemory " + _fill(n, "9") + "\n"},
    "redis many lines": lambda n: {"redis.conf": _fill(n, "maxmemory 1gb\n")},
    "memcached long line": lambda n: {"memcached.conf": "-m " + _fill(n, "9") + "\n"},
    "memcached many lines": lambda n: {"memcached.conf": _fill(n, "-m 64\n")},
    "sysctl long line": lambda n: {"sysctl.conf": "vm.swappiness = " + _fill(n, "9") + "\n"},
    "sysctl many lines": lambda n: {"sysctl.conf": _fill(n, "vm.swappiness = 10\n")},
    "fstab long line": lambda n: {"fstab": "/swap none swap " + _fill(n, "sw,") + " 0 0\n"},
    "fstab escapes": lambda n: {"fstab": _fill(n, "\\040") + " none swap sw 0 0\n"},
    "fstab many lines": lambda n: {"fstab": _fill(n, "/swapfile none swap sw 0 0\n")},
    # systemd
    "systemd continuations": lambda n: {"a.service": "[Service]\nExecStart=/bin/x " +
                                        _fill(n, "a \\\n") + "\n"},
    "systemd many sections": lambda n: {"a.service": _fill(n, "[Service]\nMemoryMax=1G\n")},
    "systemd unclosed quote": lambda n: {"a.service": '[Service]\nExecStart=/bin/x "' +
                                         _fill(n, "a")},
    "systemd long value": lambda n: {"a.service": "[Service]\nMemoryMax=" + _fill(n, "9")},
    "systemd many drop-ins": lambda n: {"a.service": "[Service]\nMemoryMax=1G\n", **{
        f"a.service.d/{i}.conf": "[Service]\nMemoryHigh=1G\n" for i in range(n // 400)}},
    # YAML: compose, Kubernetes, mongod.conf
    "compose deep flow nesting": lambda n: {"compose.yaml": "services: " + _fill(n // 2, "[") +
                                            _fill(n // 2, "]") + "\n"},
    "compose deep block nesting": lambda n: {"compose.yaml": "services:\n" + "".join(
        " " * i + f"k{i}:\n" for i in range(int((n / 2) ** 0.5)))},
    "compose alias bomb": lambda n: {"compose.yaml": _alias_bomb(n)},
    "compose string alias bomb": lambda n: {"compose.yaml": _string_bomb(n)},
    "compose long string": lambda n: {"compose.yaml": "services:\n  a:\n    image: '" +
                                      _fill(n, "a") + "'\n"},
    "compose many services": lambda n: {"compose.yaml": "services:\n" + "".join(
        f"  s{i}:\n    image: x\n    mem_limit: 1g\n" for i in range(n // 40))},
    "compose unclosed quote": lambda n: {"compose.yaml": "services:\n  a:\n    image: '" +
                                         _fill(n, "a")},
    "compose interpolation": lambda n: {"compose.yaml": "services:\n  a:\n    image: x\n"
                                        "    mem_limit: " + _fill(n, "${A:-") + "\n"},
    "kube many documents": lambda n: {"pod.yaml": _fill(
        n, "---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n"
           "    resources:\n      limits:\n        memory: 1Gi\n")},
    "mongod long value": lambda n: {"mongod.conf": "storage:\n  wiredTiger:\n    engineConfig:"
                                    "\n      cacheSizeGB: " + _fill(n, "9") + "\n"},
    # JVM options, earlyoom, nohang
    "jvm.options many lines": lambda n: {"jvm.options": _fill(n, "8-:-Xmx1g\n")},
    "jvm.options long line": lambda n: {"jvm.options": "-Xmx" + _fill(n, "9") + "g\n"},
    "earlyoom long line": lambda n: {"earlyoom": 'EARLYOOM_ARGS="-m ' + _fill(n, "9") + '"\n'},
    "nohang many lines": lambda n: {"nohang.conf": _fill(n, "@BADNESS_ADJ_RE_NAME 10 /// a\n")},
}


def _fan(n: int, top: str, include: Callable[[str], str], body: str) -> dict[str, str]:
    """Each file includes the next level twice, as many levels as n allows (2^levels reads,
    no loop): what depth caps alone do not bound."""
    levels = max(2, int(math.log2(max(n, 200) / 50)))
    files = {top: include("f0.conf") * 2 + body}
    for i in range(levels):
        files[f"f{i}.conf"] = (include(f"f{i + 1}.conf") * 2 if i + 1 < levels else "") + body
    return files


def _string_bomb(n: int) -> str:
    """A string of n/4 bytes named by 100 aliases, themselves named 100 times: 10^4 copies."""
    return (f"x-big: &a '{_fill(n // 4, 'a')}'\nx-l1: &b [{', '.join(['*a'] * 100)}]\n"
            f"x-l2: &c [{', '.join(['*b'] * 100)}]\n"
            "services:\n  app:\n    image: x\n    command: *c\n")


def _alias_bomb(n: int) -> str:
    """Nine levels of aliases, each repeating the one before nine times, over a string of
    about n/20 bytes: billions of bytes once expanded."""
    lines = [f"x0: &a0 '{_fill(n // 20, 'a')}'"]
    for level in range(1, 10):
        prev = f"*a{level - 1}"
        lines.append(f"x{level}: &a{level} [{', '.join([prev] * 9)}]")
    return "services:\n  a:\n    image: x\n" + "\n".join(lines) + "\n"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def child(case: str, size: int) -> None:
    """One timed audit, in this process: a tiny tree first (imports, caches), then the tree
    of ``size`` bytes. Prints the seconds and the peak RSS in KiB as JSON."""
    from oomaudit.cli import main

    with tempfile.TemporaryDirectory(prefix="oomaudit-adv-") as work:
        warm, tree = Path(work, "warm"), Path(work, "tree")
        _write(warm, CASES[case](200))
        _write(tree, CASES[case](size))
        devnull = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(1), os.dup(2)
        os.dup2(devnull, 1), os.dup2(devnull, 2)
        try:
            main(["check", "--exit-zero", "--format", "json", str(warm)])
            sys.stdout.flush()
            seconds = float("inf")
            for _ in range(3):
                start = time.process_time()
                main(["check", "--exit-zero", "--format", "json", str(tree)])
                sys.stdout.flush()
                seconds = min(seconds, time.process_time() - start)
        finally:
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rss_kib": rss}))


def measure(case: str, size: int, timeout: float) -> dict | None:
    try:
        done = subprocess.run([sys.executable, __file__, "--child", case, str(size)],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if done.returncode == 0 and lines else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="N, in bytes")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per audit")
    parser.add_argument("--only", default="", help="cases whose name holds this")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; N = {args.size} bytes; "
          "audit CPU time (best of 3, start-up excluded) at N and 2N, their ratio (target "
          "<= 2.5) and peak RSS")
    worst = 0
    for name in CASES:
        if args.only not in name:
            continue
        one = measure(name, args.size, args.timeout)
        two = measure(name, 2 * args.size, args.timeout) if one else None
        if one is None or two is None:
            worst = 1
            print(f"{name:<28} {'failed or over ' + str(args.timeout) + ' s':>40}  OVER TARGET")
            continue
        # a floor of 5 ms: below it a ratio is the machine's noise, not the reader's growth
        ratio = max(two["seconds"], 0.005) / max(one["seconds"], 0.005)
        verdict = "ok" if ratio <= 2.5 else "OVER TARGET"
        worst |= ratio > 2.5
        print(f"{name:<28} {one['seconds'] * 1000:9.1f} ms {two['seconds'] * 1000:9.1f} ms "
              f"x{ratio:5.2f}  {one['rss_kib'] // 1024:5d} / {two['rss_kib'] // 1024:5d} MiB"
              f"  {verdict}")
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
