#!/usr/bin/env python3
"""``oomaudit fleet`` over 10,000 generated host reports, against a plain ``json.load`` of the
same files in the same run (both as a fresh process, timed in turns as bench/bench.py does).

    python bench/bench_fleet.py [--hosts 10000] [--repeat 3] [--dir /tmp]

Targets: wall time <= 2x the plain load, peak RSS of the oomaudit process <= 256 MiB (the
fleet keeps a few numbers per host, never a report). The reports are shaped as a live scan
writes them (report.schema.json: 36 rule runs, the sysctl table, a ledger, a few findings
with evidence and fixes, about 8 KiB each) with the host's facts.json beside each, laid out
as contrib/ansible fetches them: DIR/HOST/report.json and facts.json. The plain load reads
both files too. The folder is deleted afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_LOAD = """
import json, os, sys
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith('.json'):
            with open(os.path.join(folder, name), 'rb') as fh:
                json.load(fh)
"""

GiB = 1 << 30
RULES = ("CONF001 CONF002 CONF003 CONTAINER001 CONTAINER002 CONTAINER003 FPM001 FPM002 FPM003 "
         "HOST001 HOST002 HTTPD001 HTTPD002 HTTPD003 KLOG001 KLOG002 MYSQL001 MYSQL002 MYSQL003 "
         "PG001 PG002 SWAP001 SWAP002 SWAP003 SWAP004 SYSCTL001 SYSCTL002 SYSCTL003 SYSCTL004 "
         "SYSCTL005 SYSTEMD001 SYSTEMD002 SYSTEMD003 SYSTEMD004 SYSTEMD005 SYSTEMD006").split()
PLUGIN = {"CONF": "conf", "CONTAINER": "containers", "FPM": "phpfpm", "HOST": "host",
          "HTTPD": "apache", "KLOG": "klog", "MYSQL": "mysql", "PG": "postgresql",
          "SWAP": "swap", "SYSCTL": "sysctl", "SYSTEMD": "systemd"}


def _plugin(rule: str) -> str:
    return PLUGIN[rule.rstrip("0123456789")]


def finding(rule: str, severity: str, message: str, path: str | None, line: int | None,
            n: int) -> dict:
    return {"rule": rule, "severity": severity, "message": message, "host": "live",
            "path": path, "line": line,
            "evidence": [{"what": f"innodb_buffer_pool_size = {n % 9 + 2}G", "source":
                          f"{path}:{line}" if path else "live: psutil"},
                         {"what": f"RAM {n % 5 + 4}.0 GiB", "source": "live: psutil (MemTotal)"}],
            "fix": f"lower the setting at {path}:{line} to fit in RAM, or add RAM; then "
                   "restart the service and run oomaudit again" if path else "add RAM",
            "plugin": _plugin(rule), "docs": f"oomaudit explain {rule}",
            "fingerprint": f"{n:032x}"}


def report(n: int, rng: random.Random) -> dict:
    """One host's report as ``oomaudit scan --format json`` writes it, varied by ``n``."""
    ram = rng.choice((2, 4, 8, 16, 32, 64)) * GiB
    ledger = [{"service": service, "bytes": rng.randrange(64 << 20, 12 * GiB),
               "how": f"{service}: buffers + {rng.randrange(10, 500)} connections x 2.9 MiB",
               "source": f"/etc/{service}/{service}.conf:{rng.randrange(1, 200)}",
               "plugin": plugin}
              for service, plugin in rng.sample(
                  [("mysql", "mysql"), ("php-fpm", "phpfpm"), ("postgresql", "postgresql"),
                   ("apache", "apache"), ("nginx", "nginx")], rng.randrange(0, 4))]
    findings = []
    for k, rule in enumerate(rng.sample(RULES, rng.choice((0, 0, 1, 2, 3, 6)))):
        severity = rng.choice(("low", "medium", "high", "high", "critical"))
        findings.append(finding(rule, severity, f"{rule} finding {k} on host {n}: a value "
                                "that lets the OOM killer in", f"/etc/conf{k}.cnf", k + 1, n))
    if rng.random() < 0.05:
        kills = rng.randrange(1, 9)
        findings.append(finding("KLOG001", "high", f"mysqld killed by the OOM killer {kills}x "
                                "in 30 days, last 2026-02-27 10:15:30", None, None, n))
    status = {f["rule"] for f in findings}
    return {
        "schema_version": 2, "tool": {"name": "oomaudit", "version": "0.1.0"},
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "scan", "target": "live host", "fail_on": "low",
        "hosts": [{
            "name": "live", "mode": "live", "label": f"host{n}",
            "facts": {"ram": {"value": ram, "source": "live: psutil (MemTotal)"},
                      "swap": {"value": rng.choice((0, GiB, 2 * GiB)),
                               "source": "live: psutil (SwapTotal)"},
                      "commit_limit": {"value": ram // 2, "source": "live: /proc/meminfo"}},
            "ledger": ledger,
            "tables": {"sysctl_policy": {
                "title": "Kernel memory policy (sysctl)", "columns": ["setting", "value", "source"],
                "rows": [["vm.overcommit_memory", 0, "live: /proc/sys/vm/overcommit_memory"],
                         ["vm.overcommit_ratio", 50, "live: /proc/sys/vm/overcommit_ratio"],
                         ["vm.panic_on_oom", 0, "live: /proc/sys/vm/panic_on_oom"],
                         ["CommitLimit", f"{ram // GiB // 2}.0 GiB", "live: /proc/meminfo"]]}},
        }],
        "findings": findings,
        "rules": [{"rule": r, "plugin": _plugin(r), "host": "live",
                   "status": "failed" if r in status else "passed", "detail": ""}
                  for r in RULES],
        "errors": [], "notices": [],
        "summary": {"findings": len(findings), "by_severity": {
            s: sum(f["severity"] == s for f in findings)
            for s in ("info", "low", "medium", "high", "critical")},
            "failing": len(findings), "suppressed": 0, "rules_checked": len(RULES),
            "exit_code": 1 if findings else 0},
    }


def facts(n: int, doc: dict) -> dict:
    """The same host's ``oomaudit facts`` (facts.schema.json), as the role fetches it."""
    def fact(value, source: str = "live: psutil") -> dict:
        return {"value": value, "source": source}

    ram = doc["hosts"][0]["facts"]["ram"]["value"]
    return {
        "schema_version": 1, "tool": {"name": "oomaudit", "version": "0.1.0"},
        "host": f"host{n}", "mode": "live", "measured_at": doc["generated_at"],
        "ram": fact(ram), "swap": fact(GiB), "cgroup_limit": None, "cpus": fact(4),
        "kernel": fact("6.1.0-18-amd64", "live: uname"),
        "sysctl": {f"vm.{k}": fact(v, f"live: /proc/sys/vm/{k}") for k, v in
                   (("overcommit_memory", 0), ("overcommit_ratio", 50), ("panic_on_oom", 0))},
        "services": [{"service": c["service"], "group": "", "processes": 8,
                      "rss": c["bytes"] // 4, "largest": c["bytes"] // 16, "per_process": None,
                      "how": "RSS of 8 processes", "source": "live: /proc"}
                     for c in doc["hosts"][0]["ledger"]],
        "oom_kills": {"window": "in the last 30 days", "count": 0, "by_process": []},
        "notices": [],
    }


def generate(folder: Path, hosts: int) -> int:
    rng = random.Random(16)
    size = 0
    for n in range(hosts):
        host = folder / f"host{n:05d}.example.net"
        host.mkdir()
        doc = report(n, rng)
        for name, data in (("report.json", doc), ("facts.json", facts(n, doc))):
            text = json.dumps(data, indent=2)
            (host / name).write_text(text)
            size += len(text)
    return size


def oomaudit_cmd() -> list[str]:
    script = Path(sys.executable).with_name("oomaudit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "oomaudit"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _once(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, _cpu() - cpu, proc


def timed_pair(ours: list[str], base: list[str], repeat: int):
    """Median wall and CPU times of each over ``repeat`` runs taken in turns after one
    warm-up run each (bench/bench.py's pairing: a slow moment of the machine falls on both
    sides). CPU time (user + sys) is what to compare on a machine busy with other work."""
    _once(ours), _once(base)
    mine, theirs, proc = [], [], None
    for _ in range(repeat):
        *took, proc = _once(ours)
        mine.append(took)
        theirs.append(_once(base)[:2])
    return ([statistics.median(t[i] for t in mine) for i in (0, 1)],
            [statistics.median(t[i] for t in theirs) for i in (0, 1)], proc)


def peak_rss_mib(cmd: list[str]) -> float:
    """Peak RSS of ``cmd`` alone, measured in a fresh child so no other process counts."""
    probe = ("import resource, subprocess, sys\n"
             "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True,
                         check=True).stdout
    return int(out.split()[-1]) / 1024  # ru_maxrss is KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write them (default: $TMPDIR)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="oomaudit-fleet-") as work:
        folder = Path(work)
        start = time.perf_counter()
        size = generate(folder, args.hosts)
        os.sync()  # the write-back would otherwise land in the middle of the runs
        print(f"generated {args.hosts:,} reports, {size / (1 << 20):.0f} MiB, in "
              f"{time.perf_counter() - start:.1f} s")
        rows = []
        for fmt in ("json", "text", "prometheus"):
            ours_cmd = [*oomaudit_cmd(), "fleet", "--exit-zero", "--format", fmt, str(folder)]
            ours, base, proc = timed_pair(ours_cmd, [sys.executable, "-c", PLAIN_LOAD,
                                                     str(folder)], args.repeat)
            rows.append((fmt, ours, base, peak_rss_mib(ours_cmd), proc))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"python {sys.version.split()[0]}, {cpus} cpus, load average "
          f"{os.getloadavg()[0]:.1f}, medians of {args.repeat} runs taken in turns")
    ok = True
    for fmt, (ours, ours_cpu), (base, base_cpu), rss, proc in rows:
        ratio = ours / base
        read = json.loads(proc.stdout)["summary"]["hosts"] if fmt == "json" else None
        good = ratio <= 2 and rss <= 256 and proc.returncode == 0 and read in (None, args.hosts)
        ok &= good
        print(f"fleet --format {fmt:<10} vs json.load  {ours * 1000:6.0f} ms / {base * 1000:6.0f}"
              f" ms = {ratio:4.2f}x wall (target <= 2x), {ours_cpu / base_cpu:4.2f}x CPU; peak RSS"
              f" {rss:5.1f} MiB (target <= 256)" + (f"; {read:,} hosts" if read else "")
              + (" ok" if good else " OVER TARGET"))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
