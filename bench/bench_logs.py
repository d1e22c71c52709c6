#!/usr/bin/env python3
"""``oomaudit logs`` over a generated 1 GiB kernel log with 100 OOM reports among ordinary
kernel noise, against ``grep -c 'Killed process'`` over the same file in the same run.

    python bench/bench_logs.py [--size-mib 1024] [--reports 100] [--repeat 3] [--dir /tmp]

Targets: wall time <= 2x grep's, peak RSS of the oomaudit process <= 64 MiB (the parser
streams: one chunk and one report in memory). The file is deleted afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def line(seconds: float, message: str) -> str:
    return f"Nov 27 10:{int(seconds) // 60 % 60:02d}:{int(seconds) % 60:02d} db1 kernel: " \
           f"[{seconds:12.6f}] {message}\n"


def noise_block(target: int) -> bytes:
    """About ``target`` bytes of ordinary kernel lines, varied enough to be realistic."""
    out, size, n = [], 0, 0
    while size < target:
        text = line(n * 0.013, NOISE[n % len(NOISE)].format(n=n % 97, u=n % 13, t=1700000000 + n))
        out.append(text)
        size += len(text)
        n += 1
    return "".join(out).encode()


def report(k: int) -> bytes:
    """One OOM report as a 6.x kernel prints it: header, table, summary, kill, reaper."""
    t = 10_000.0 + k
    pid = 40_000 + k
    rows = [line(t, f"[{p:7d}] {1000 + p % 7:5d} {p:5d} {100000 + p:8d} {1000 + p * 3:8d} "
                    f"{65536:8d} {0:8d}             0 worker{p % 5}") for p in range(100, 140)]
    rows.append(line(t, f"[{pid:7d}]   111 {pid:5d}  1141972   864195  7200768        0"
                        "             0 mysqld"))
    lines = [
        line(t, "php-fpm8.2 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_"
                "COMP), order=0, oom_score_adj=0"),
        line(t, "CPU: 1 PID: 901 Comm: php-fpm8.2 Not tainted 6.1.0-18-amd64 #1 Debian"),
        line(t, "Mem-Info:"),
        line(t, "Free swap  = 0kB"),
        line(t, "Total swap = 0kB"),
        line(t, "Tasks state (memory values in pages):"),
        line(t, "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj "
                "name"),
        *rows,
        line(t, "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
                f"global_oom,task_memcg=/system.slice/mariadb.service,task=mysqld,pid={pid},"
                "uid=111"),
        line(t, f"Out of memory: Killed process {pid} (mysqld) total-vm:4567888kB, "
                "anon-rss:3456780kB, file-rss:0kB, shmem-rss:0kB, UID:111 pgtables:7032kB "
                "oom_score_adj:0"),
        line(t, f"oom_reaper: reaped process {pid} (mysqld), now anon-rss:0kB, file-rss:0kB, "
                "shmem-rss:0kB"),
    ]
    return "".join(lines).encode()


def generate(path: Path, size: int, reports: int) -> None:
    """Noise blocks written back to back with a report between every size/reports bytes."""
    block = noise_block(1 << 20)
    every = size // reports
    written, next_report, done = 0, every // 2, 0
    with open(path, "wb", buffering=1 << 20) as fh:
        while written < size:
            fh.write(block)
            written += len(block)
            while done < reports and written >= next_report:
                data = report(done)
                fh.write(data)
                written += len(data)
                done += 1
                next_report += every


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], repeat: int) -> tuple[float, float, subprocess.CompletedProcess]:
    """Median wall time and median CPU time (user + sys) of ``repeat``
    runs, after one warm-up run for the page cache. CPU time is what to compare on a
    machine busy with other work, where wall time mostly measures the queue."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus), proc


def peak_rss_mib(cmd: list[str]) -> float:
    """Peak RSS of ``cmd`` alone: measured in a fresh child so no other process counts."""
    probe = ("import resource, subprocess, sys\n"
             "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True,
                         check=True).stdout
    return int(out.split()[-1]) / 1024  # ru_maxrss is KiB on Linux


def oomaudit_cmd() -> list[str]:
    script = Path(sys.executable).with_name("oomaudit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "oomaudit"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write the log (default: $TMPDIR)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        log = Path(folder) / "kern.log"
        start = time.perf_counter()
        generate(log, args.size_mib << 20, args.reports)
        size = log.stat().st_size
        print(f"generated {size / (1 << 20):.0f} MiB with {args.reports} OOM reports "
              f"in {time.perf_counter() - start:.1f} s")
        grep_s, grep_cpu, grep = timed(["grep", "-c", "Killed process", str(log)], args.repeat)
        ours_cmd = [*oomaudit_cmd(), "logs", "--since", "all", "--format", "json", str(log)]
        ours_s, ours_cpu, ours = timed(ours_cmd, args.repeat)
        rss = peak_rss_mib(ours_cmd)
        found = json.loads(ours.stdout)["summary"]["kills"] if ours.stdout else None
        os.sync()
    ratio = ours_s / grep_s
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {cpus} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"grep -c 'Killed process': {grep_s:.2f} s wall, {grep_cpu:.2f} s CPU "
          f"({grep.stdout.strip()} lines)")
    print(f"oomaudit logs:            {ours_s:.2f} s wall, {ours_cpu:.2f} s CPU ({found} events)")
    print(f"ratio: {ratio:.2f}x grep wall (target <= 2x), {ours_cpu / grep_cpu:.2f}x grep CPU")
    print(f"oomaudit peak RSS:        {rss:.1f} MiB (target <= 64 MiB)")
    ok = ratio <= 2 and rss <= 64 and found == args.reports
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
