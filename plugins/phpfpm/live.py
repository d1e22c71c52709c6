"""The running php-fpm masters and their workers: each master's title names the file it
read (added to the host's documents), each worker is measured for the pool's per-child
size and for ``oomaudit facts``.
"""
from __future__ import annotations

import re

from oomaudit.host import Measured
from oomaudit.processes import processes
from oomaudit.procfs import read_live

from .configs import FpmFile
from .constants import PLUGIN, READER, SERVICE
from .sizes import Worker, measured_child

MASTER = re.compile(r"^php-fpm(?:[\d.]+)?: master process \((.+)\)\s*$")
WORKER = re.compile(r"^php-fpm(?:[\d.]+)?: pool (.+?)\s*$")


def collect(host):
    """Running masters say which file they read (their title); their children are the
    pools' workers, measured here (PSS from smaps_rollup for these few processes only)."""
    masters, workers = {}, {}
    for proc in processes(host):
        title = proc.title
        m = MASTER.match(title)
        if m:
            masters[proc.pid] = m.group(1)
            continue
        w = WORKER.match(title)
        if w:
            workers.setdefault(w.group(1), []).append(
                Worker(proc.pid, _ppid(proc.pid), proc.rss, _pss(proc.pid)))
    for pool, found in workers.items():  # what `oomaudit facts` writes of each pool
        sized = [w for w in found if w.rss is not None]
        if sized:
            child = measured_child(pool, sized)
            host.measured[(SERVICE, pool)] = Measured(
                SERVICE, pool, len(found), sum(w.rss for w in sized), max(w.rss for w in sized),
                child.bytes, f"{child.how} of {len(sized)} workers", "live: /proc/PID")
    files = {}
    for pid, path in masters.items():
        real = host.resolve(path, "/")
        source = host.read(real, READER, f"live: php-fpm master pid {pid}") if real else None
        if source is None:
            continue
        files[pid] = real
        if all(d.source.path != real for d in host.documents(PLUGIN)):
            host.docs.setdefault(PLUGIN, []).append(FpmFile(source))
    host.cache["php-fpm.live"] = (files, workers)


def _ppid(pid: int) -> int | None:
    try:
        stat = read_live(f"/proc/{pid}/stat")
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _pss(pid: int) -> int | None:
    try:
        for line in read_live(f"/proc/{pid}/smaps_rollup").splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
