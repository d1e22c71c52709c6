#!/usr/bin/env python3
"""``oomaudit logs`` against ``grep -c 'Killed process'`` over the same generated log, in
the same run, and its peak RSS as the number of kills grows.

    python bench/bench_logs.py [--sparse-mib 1024] [--dense-mib 256] [--dense-reports 10000]
                               [--kills 10000,2000000] [--repeat 3] [--dir /tmp]
                               [--only sparse,dense,kills]

The logs are built at run time from the real OOM reports in ``../shared/oom-logs`` (each
line framed as rsyslog writes it, pids varied; never committed), among ordinary kernel
noise:

- sparse: 100 reports in 1 GiB (a busy host's year of kern.log);
- dense: 10,000 reports in 256 MiB (a host in an OOM loop: ~26 KiB a report, most of it
  the reports themselves, task tables and all);
- kills: N kills, each the summary and Killed lines of a real report, at 10,000 and
  2,000,000: peak RSS must not grow with N (``oomaudit logs`` streams).

Targets: sparse and dense <= 2x grep's wall time and <= 64 MiB; kills <= 64 MiB at every
N, for both output formats. After the dense log, its floor: ``oomaudit logs`` over an
empty log (start-up) and over the same number of kills alone (no noise, no task tables),
against grep over the dense log. The files are deleted afterwards.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "oom-logs"
NOISE = (
    "EXT4-fs (nvme0n1p2): mounted filesystem {u} ro with ordered data mode. Quota mode: none.",
    "e1000e 0000:00:1f.6 eno1: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "audit: type=1400 audit({t}:{n}): apparmor=\"DENIED\" operation=\"open\" profile=\"snap\"",
    "IPv6: ADDRCONF(NETDEV_CHANGE): veth{n}: link becomes ready",
    "usb 1-{n}: new high-speed USB device number {n} using xhci_hcd",
    "TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.",
    "nf_conntrack: nf_conntrack: table full, dropping packet",
    "[UFW BLOCK] IN=eth0 OUT= SRC=10.0.{n}.7 DST=10.0.0.1 LEN=40 TTL=244 PROTO=TCP DPT=22",
    "docker0: port {n}(veth{u}) entered forwarding state",
    "php-fpm8.2[{n}]: segfault at 0 ip 000055d1 sp 00007ffd error 4 in php-fpm8.2",
    "perf: interrupt took too long (2503 > 2500), lowering kernel.perf_event_max_sample_rate",
    "memory: page allocation stalls for 10012ms, order:0, mode:0x14200ca(GFP_HIGHUSER_MOVABLE)",
)
_VICTIM = re.compile(r"(Killed process |reaped process |unable to reap pid:|,pid=)(\d+)")


def prefix(seconds: float) -> str:
    return f"Nov 27 10:{int(seconds) // 60 % 60:02d}:{int(seconds) % 60:02d} db1 kernel: " \
           f"[{seconds:12.6f}] "


def noise_block(target: int) -> bytes:
    """About ``target`` bytes of ordinary kernel lines, varied enough to be realistic."""
    out, size, n = [], 0, 0
    while size < target:
        text = prefix(n * 0.013) + NOISE[n % len(NOISE)].format(
            n=n % 97, u=n % 13, t=1700000000 + n) + "\n"
        out.append(text)
        size += len(text)
        n += 1
    return "".join(out).encode()


def real_reports() -> list[list[str]]:
    """The lines of each real report of ../shared/oom-logs (comments left out)."""
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} not found: the logs are built from its real reports")
    return [[line for line in path.read_text().splitlines() if not line.startswith("#")]
            for path in sorted(SHARED.glob("*.log"))]


def framed(lines: list[str], k: int) -> bytes:
    """Report ``k``: its lines as rsyslog frames them, the victim's pid made unique."""
    start = prefix(10_000.0 + k)
    pid = str(1_000_000 + k)
    return "".join(start + _VICTIM.sub(lambda m: m.group(1) + pid, line) + "\n"
                   for line in lines).encode()


def generate(path: Path, size: int, reports: int) -> int:
    """``reports`` real reports spread evenly through ``size`` bytes of noise."""
    found = real_reports()
    block = noise_block(1 << 20)
    every = size / reports
    written = 0
    with open(path, "wb", buffering=1 << 20) as fh:
        for k in range(reports):
            report = framed(found[k % len(found)], k)
            gap = int(every * (k + 1)) - written - len(report)
            while gap > 0:  # whole noise lines up to the report's place
                chunk = block[:min(gap, len(block))]
                chunk = chunk[:chunk.rfind(b"\n") + 1] or block[:block.find(b"\n") + 1]
                fh.write(chunk)
                written += len(chunk)
                gap -= len(chunk)
            fh.write(report)
            written += len(report)
    return reports


def generate_kills(path: Path, kills: int) -> int:
    """``kills`` kills: each the oom-kill summary and Killed line of a real report."""
    found = [[line for line in report if "oom-kill:" in line or "Killed process" in line]
             for report in real_reports()]
    with open(path, "wb", buffering=1 << 20) as fh:
        for k in range(kills):
            fh.write(framed(found[k % len(found)], k))
    return kills


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], repeat: int) -> tuple[float, float, str]:
    """Median wall and CPU time (user + sys) of ``repeat`` runs after one warm-up run for
    the page cache, and the last run's stdout. CPU time is what to compare on a machine
    busy with other work, where wall time mostly measures the queue."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus), proc.stdout


_PROBE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
tail = b""
while chunk := proc.stdout.read(1 << 20):  # as it comes: 2 M events are gigabytes
    tail = (tail + chunk)[-(1 << 16):]
_, _, usage = os.wait4(proc.pid, 0)
proc.returncode = 0
sys.stderr.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}\\n")
sys.stdout.buffer.write(tail)
"""


def once(cmd: list[str]) -> tuple[float, float, float, bytes]:
    """One run of ``cmd`` alone: wall and CPU seconds, its peak RSS in MiB and the last
    64 KiB of its stdout. Started by a small probe process: a child forked from this one,
    which holds the generated data, would count this process's pages as its own peak."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PROBE, *cmd], capture_output=True,
                          check=True)
    wall = time.perf_counter() - start
    rss, cpu = proc.stderr.split()[-2:]
    return wall, float(cpu), int(rss) / 1024, proc.stdout


def oomaudit_cmd() -> list[str]:
    script = Path(sys.executable).with_name("oomaudit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "oomaudit"]


def against_grep(name: str, log: Path, events: int, repeat: int) -> bool:
    """One log: oomaudit logs --format json vs grep -c, time and peak RSS."""
    grep_s, grep_cpu, grep_out = timed(["grep", "-c", "Killed process", str(log)], repeat)
    cmd = [*oomaudit_cmd(), "logs", "--since", "all", "--format", "json", str(log)]
    ours_s, ours_cpu, _ = timed(cmd, repeat)
    _, _, rss, tail = once(cmd)
    found = re.search(rb'"kills": (\d+)', tail)
    found = int(found.group(1)) if found else None
    size = log.stat().st_size / (1 << 20)
    ratio, cpu_ratio = ours_s / grep_s, ours_cpu / max(grep_cpu, 1e-3)
    ok = ratio <= 2 and rss <= 64 and found == events
    print(f"{name:6} {size:6.0f} MiB {events:>9,} kills  grep {grep_s:6.2f} s "
          f"({grep_cpu:5.2f} CPU, {grep_out.strip()} lines)  oomaudit {ours_s:6.2f} s "
          f"({ours_cpu:5.2f} CPU, {found} events)  {ratio:5.2f}x wall {cpu_ratio:5.2f}x CPU "
          f"(<= 2x)  {rss:5.1f} MiB (<= 64)  {'PASS' if ok else 'FAIL'}")
    return ok


def kills_rss(log: Path, kills: int) -> bool:
    """Peak RSS of oomaudit logs over ``kills`` kills, JSON (every event) and text."""
    ok = True
    for form in ("json", "text"):
        cmd = [*oomaudit_cmd(), "logs", "--since", "all", "--format", form, str(log)]
        wall, cpu, rss, tail = once(cmd)
        counted = re.search(rb'"kills": (\d+)', tail)  # JSON's summary comes last
        good = rss <= 64 and (form == "text" or bool(counted) and int(counted[1]) == kills)
        ok &= good
        print(f"kills  {log.stat().st_size / (1 << 20):6.0f} MiB {kills:>9,} kills  "
              f"--format {form:4}: {wall:7.2f} s ({cpu:6.2f} CPU, "
              f"{cpu / kills * 1e6:5.1f} us a kill)  peak RSS {rss:5.1f} MiB (<= 64)  "
              f"{'PASS' if good else 'FAIL'}")
    return ok


def floor(log: Path, folder: Path, events: int, repeat: int) -> None:
    """What no reader of ``log`` could beat, measured: ``oomaudit logs`` over an empty log
    (start-up) and over a log of only the same number of kills (each event parsed and
    written, no noise and no task table to rank), each against grep over ``log``."""
    grep_s, _, _ = timed(["grep", "-c", "Killed process", str(log)], repeat)
    empty, kills = folder / "empty.log", folder / "kills.log"
    empty.write_bytes(b"")
    generate_kills(kills, events)
    runs = {name: timed([*oomaudit_cmd(), "logs", "--since", "all", "--format", "json",
                         str(path)], repeat)[0] for name, path in (("empty", empty),
                                                                  ("kills", kills))}
    print(f"floor  start-up {runs['empty']:.2f} s ({runs['empty'] / grep_s:.1f}x grep); "
          f"{events:,} kills alone {runs['kills']:.2f} s ({runs['kills'] / grep_s:.1f}x grep, "
          f"{(runs['kills'] - runs['empty']) / events * 1e6:.0f} us an event)")
    empty.unlink()
    kills.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparse-mib", type=int, default=1024)
    parser.add_argument("--sparse-reports", type=int, default=100)
    parser.add_argument("--dense-mib", type=int, default=256)
    parser.add_argument("--dense-reports", type=int, default=10_000)
    parser.add_argument("--kills", default="10000,2000000",
                        help="numbers of kills for the memory run, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="sparse,dense,kills")
    parser.add_argument("--dir", default=None, help="where to write the logs (default: $TMPDIR)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {cpus} CPUs, load average {os.getloadavg()[0]:.1f}; reports from {SHARED}")
    ok = True
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        log = Path(folder) / "kern.log"
        for name, size, reports in (("sparse", args.sparse_mib, args.sparse_reports),
                                    ("dense", args.dense_mib, args.dense_reports)):
            if name in only:
                generate(log, size << 20, reports)
                ok &= against_grep(name, log, reports, args.repeat)
                if name == "dense":
                    floor(log, Path(folder), reports, args.repeat)
        if "kills" in only:
            for kills in (int(n) for n in args.kills.split(",")):
                generate_kills(log, kills)
                ok &= kills_rss(log, kills)
        log.unlink(missing_ok=True)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
