"""Apache's share of the memory ledger: the memory of one httpd process (measured,
declared, or the default for its MPM with PHP's memory_limit on top) and the worst case
at full load, the figure HTTPD001 judges and the ledger counts.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from oomaudit.host import FILES, Measured
from oomaudit.parsers.apache_config import Module
from oomaudit.parsers.apache_mpm import Limits
from oomaudit.procfs import read_live
from oomaudit.record import Record
from oomaudit.units import format_size

from .constants import PLUGIN
from .servers import Server, anchor, servers

MIB = 1 << 20
# Per-process sizes when nothing was measured or declared. An httpd child without an
# interpreter holds its share of the shared libraries plus request pools: 10-20 MiB RSS
# in apache2buddy reports and in `ps` on stock Debian/RHEL servers; we count 16 MiB. A
# worker thread keeps up to MaxMemFree (2 MiB by default) of freed request memory in its
# own allocator, plus the stack pages it touched (the 8 MiB stack is only reserved).
BASE = 16 * MIB
PER_THREAD = 2 * MIB
PHP_DEFAULT_LIMIT = 128 * MIB  # PHP's built-in memory_limit


class PerProcess(NamedTuple):
    """Memory of one httpd process: the largest live child, the size declared in the
    host profile, or the default for the MPM; ``source`` says where the figure comes from."""

    bytes: int
    how: str  # "largest RSS of 5 live children (pid ...)", "declared per-process size"...
    source: str


def per_process(host, server: Server) -> PerProcess:
    """Measured (the largest live child, as apache2buddy counts), else measured where a
    facts file was taken, else declared in the host profile, else the documented default
    for the MPM, with PHP's memory_limit on top of each interpreter."""
    children = [p for p in _children(server.procs) if p.rss is not None]
    if children:
        largest = max(children, key=lambda p: p.rss)
        average = sum(p.rss for p in children) // len(children)
        top = str(server.config.top)
        host.measured[(PLUGIN, top)] = Measured(  # what `oomaudit facts` writes
            PLUGIN, top, len(server.procs), sum(p.rss or 0 for p in server.procs), largest.rss,
            largest.rss, f"largest RSS of {len(children)} live children",
            f"live: /proc/{largest.pid}")
        return PerProcess(largest.rss, f"largest RSS of {len(children)} live children (pid "
                                       f"{largest.pid}; average {format_size(average)}), as "
                                       f"apache2buddy counts", f"live: /proc/{largest.pid}")
    facts = host.measured_size(PLUGIN)
    if facts:
        return PerProcess(facts.value, "measured per-process size (facts file)", facts.source)
    declared = _declared(host, server)
    if declared:
        return declared
    limits = server.limits
    php = server.php
    interpreter, php_source = (_php_memory_limit(host, php) if php else (0, ""))
    if limits.mpm.threaded:
        per_thread = PER_THREAD + interpreter
        how = (f"default: {format_size(BASE)} + ThreadsPerChild {limits.threads_per_child} x "
               f"{format_size(per_thread)} per thread (MaxMemFree's 2 MiB"
               + (f" + PHP memory_limit {format_size(interpreter)}" if php else "") + ")")
        return PerProcess(BASE + limits.threads_per_child * per_thread, how,
                          php_source or "oomaudit default (no live children measured)")
    how = f"default: {format_size(BASE)} per child" + (
        f" + PHP memory_limit {format_size(interpreter)} (mod_php makes each child a PHP "
        "interpreter)" if php else " (no mod_php)")
    return PerProcess(BASE + interpreter, how,
                      php_source or "oomaudit default (no live children measured)")


def _children(procs: list) -> list:
    """httpd's children: the processes whose parent is another process of the group."""
    pids = {p.pid for p in procs}
    return [p for p in procs if _parent(p.pid) in pids] or \
        [p for p in procs if p.uid not in (0, None)]


def _parent(pid: int) -> int | None:
    try:
        return int(read_live(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _declared(host, server: Server) -> PerProcess | None:
    """``process-sizes = { apache = "40M" }`` in the host's [[hosts]] profile."""
    size = host.declared_size(PLUGIN, server.config.top)
    return PerProcess(size.value, "declared per-process size", size.source) if size else None


def _php_memory_limit(host, php: Module) -> tuple[int, str]:
    """memory_limit of the php.ini mod_php reads (Debian /etc/php/VER/apache2/php.ini and
    its conf.d, RHEL /etc/php.ini and /etc/php.d), the last one wins; PHP's 128M default
    otherwise. -1 (no limit) counts as the default too, and says so."""
    from oomaudit.parsers.zendini import IniSyntaxError, parse_line, quantity, scan_dir

    version = re.search(r"php(\d+\.\d+)", php.path)
    pairs = [(f"/etc/php/{version.group(1)}/apache2/php.ini",
              f"/etc/php/{version.group(1)}/apache2/conf.d")] if version else []
    pairs.append(("/etc/php.ini", "/etc/php.d"))
    last = None
    for ini, scan in pairs if host.mode != FILES else ():
        real = host.resolve(ini)
        if real is None or not host.fs.is_file(real):
            continue
        folder = host.resolve(scan)
        extra = scan_dir(host.fs, folder) if folder else []
        for path in (real, *extra):
            source = host.read(path, None, php.where)
            for number, text in enumerate(source.lines if source else (), 1):
                try:
                    statements = parse_line(text)
                except IniSyntaxError as exc:
                    statements = exc.done
                last = next((((st.value or ""), f"{source.display}:{number}")
                             for st in statements
                             if st.kind == "entry" and st.name == "memory_limit"), last)
        break
    if last is not None:
        value = quantity(last[0])
        if value is not None and value > 0:
            return value, f"memory_limit = {last[0]} ({last[1]})"
        return PHP_DEFAULT_LIMIT, (f"memory_limit = {last[0]} ({last[1]}): no usable limit, "
                                   "counted as PHP's 128M default")
    return PHP_DEFAULT_LIMIT, "PHP's default memory_limit (128M; no php.ini setting found)"


class WorstCase(Record):
    """Apache at full load: ``processes`` (``Limits.processes``) x ``per`` bytes each,
    the figure HTTPD001 judges and the memory ledger counts."""

    # Read-only by convention. Not a NamedTuple: its ``count`` (a description) would hide
    # tuple.count.

    def __init__(self, processes: int, per: PerProcess, limits: Limits):
        self.processes = processes
        self.per = per
        self.limits = limits

    __eq__ = Record.same_content

    @property
    def bytes(self) -> int:
        return self.processes * self.per.bytes

    @property
    def count(self) -> str:
        limits = self.limits
        if limits.mpm.threaded:
            return (f"{self.processes} processes (MaxRequestWorkers {limits.max_workers} / "
                    f"ThreadsPerChild {limits.threads_per_child})")
        return f"{self.processes} children (MaxRequestWorkers {limits.max_workers})"

    @property
    def how(self) -> str:
        return (f"{self.count} x {format_size(self.per.bytes)} ({self.per.how}), "
                f"{self.limits.mpm.name} MPM")


def worst_case(host, server: Server) -> WorstCase:
    return WorstCase(server.limits.processes, per_process(host, server), server.limits)


def budget(host):
    """Every usable server's worst case as ledger service ``apache``."""
    for server in servers(host):
        if not server.usable:
            continue
        worst = worst_case(host, server)
        path, line = anchor(server, "MaxRequestWorkers")
        host.ledger.add(PLUGIN, worst.bytes, worst.how,
                        f"{path}:{line}" if line else path, PLUGIN)
