"""MYSQL001-MYSQL003: each server's buffer pool, worst case and values against the host,
with the evidence (web tier, live processes, flavour) and a fix that fits.
"""
from __future__ import annotations

import re

from oomaudit import Evidence, Finding, Severity
from oomaudit.parsers.mysql_values import Setting, variables
from oomaudit.processes import processes
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .budget import MYSQLTUNER, WorstCase, origin, worst_case
from .servers import Server, servers

WEB_READERS = ("nginx", "apache", "php-fpm")
WEB_PROCESSES = ("nginx", "apache2", "httpd")
CHUNK = 128 << 20  # innodb_buffer_pool_chunk_size: the pool grows in these steps


# -- facts around the server -------------------------------------------------------------

def web_tier(host) -> list[Evidence]:
    """Evidence that a web tier shares the host: its configs, or (live) its processes."""
    found = []
    for name in WEB_READERS:
        docs = host.documents(name)
        if docs:
            found.append(Evidence(f"web tier on this host: {name} configured",
                                  _document_place(docs[0])))
    if host.live:
        names = sorted({p.name for p in processes(host)
                        if p.name in WEB_PROCESSES or p.name.startswith("php-fpm")})
        found += [Evidence(f"web tier on this host: {n} running", "live: processes")
                  for n in names]
    return found


def _document_place(doc) -> str:
    source = getattr(doc, "source", None)
    path = getattr(source, "display", None) or getattr(doc, "path", None)
    return str(path) if path else "parsed config"


def _live_evidence(server: Server) -> list[Evidence]:
    return [Evidence(f"{p.name} pid {p.pid} resident now: "
                     f"{format_size(p.rss) if p.rss is not None else 'unreadable'}",
                     f"live: /proc/{p.pid}") for p in server.procs]


def _flavour_evidence(server: Server) -> Evidence:
    return Evidence(f"server: {server.flavour.label}", server.flavour.source)


def _size_text(nbytes: int) -> str:
    """A value for my.cnf: whole G when exact, else M."""
    return f"{nbytes >> 30}G" if nbytes % (1 << 30) == 0 and nbytes else f"{nbytes >> 20}M"


# -- rules -------------------------------------------------------------------------------

def check_mysql001(host):
    """innodb_buffer_pool_size above 70% of RAM (high), or above 50% with a web tier on
    the host (medium)."""
    for server in servers(host):
        if server.config.aborted:
            continue
        setting = server.effective["innodb_buffer_pool_size"]
        pool = setting.value.number
        ram = host.require("ram")
        web = web_tier(host)
        share = pool / ram.value
        if share > 0.70:
            severity, why = Severity.HIGH, "above 70% of RAM"
        elif web and share > 0.50:
            severity, why = Severity.MEDIUM, "above 50% of RAM with a web tier on the same host"
        else:
            continue
        fit, how = fitting_pool(worst_case(server), ram.value, bool(web))
        option = setting.option
        evidence = [Evidence(f"innodb_buffer_pool_size = {format_size(pool)} "
                             f"({share:.0%} of RAM)", origin(server, "innodb_buffer_pool_size")),
                    Evidence(f"RAM = {format_size(ram.value)}", ram.source),
                    _flavour_evidence(server), *web[:3], *_live_evidence(server)]
        yield Finding(
            "MYSQL001", f"innodb_buffer_pool_size {format_size(pool)} is {share:.0%} of RAM "
                        f"{format_size(ram.value)}: {why}",
            option.path if option else server.where, option.line if option else None,
            evidence, severity=severity,
            fix=f"innodb_buffer_pool_size = {_size_text(fit)}   # {how}"
                + ("; leave the rest to the web tier and the page cache" if web else ""),
            key="innodb_buffer_pool_size")


def check_mysql002(host):
    """MySQLTuner's worst case above RAM (high) or above RAM + swap (critical)."""
    for server in servers(host):
        if server.config.aborted:
            continue
        worst = worst_case(server)
        ram = host.require("ram")
        swap = host.fact("swap")
        total = worst.total
        if total <= ram.value:
            continue
        beyond = swap is not None and total > ram.value + swap.value
        evidence = [Evidence(f"{t.name} = {format_size(t.bytes)}", t.source) for t in worst.server]
        evidence += [Evidence(f"per thread: {t.name} = {format_size(t.bytes)}", t.source)
                     for t in worst.thread]
        conns = worst.connections
        evidence += [
            Evidence(f"max_connections = {conns.bytes}", conns.source),
            Evidence(f"worst case = {format_size(worst.server_bytes)} + {conns.bytes} x "
                     f"{format_size(worst.thread_bytes)} = {format_size(total)}", MYSQLTUNER),
            Evidence(f"RAM = {format_size(ram.value)}", ram.source)]
        if swap is not None:
            evidence.append(Evidence(f"swap = {format_size(swap.value)}", swap.source))
        evidence += [_flavour_evidence(server), *_live_evidence(server)]
        option = _culprit(server, worst)
        where = "RAM + swap" if beyond else "RAM"
        limit = ram.value + (swap.value if beyond else 0)
        yield Finding(
            "MYSQL002", f"worst-case memory {format_size(total)} (MySQLTuner's sum) exceeds "
                        f"{where} {format_size(limit)}",
            option.path if option else server.where, option.line if option else None,
            evidence, severity=Severity.CRITICAL if beyond else None,
            fix=_fit(worst, ram.value, bool(web_tier(host))))  # key "": one per server


def _culprit(server: Server, worst: WorstCase):
    """Where to point: max_connections if set, else the largest term a file sets."""
    weight = {t.name: t.bytes * worst.connections.bytes for t in worst.thread}
    weight.update({t.name: t.bytes for t in worst.server})
    names = ["max_connections", *sorted(weight, key=weight.get, reverse=True)]
    return next((server.effective[n].option for n in names
                 if n in server.effective and server.effective[n].option), None)


def _fit(worst: WorstCase, ram: int, web: bool) -> str:
    """max_connections that fits beside the server buffers, else a smaller buffer pool (the
    one MYSQL001 proposes) when that brings the worst case within RAM."""
    room = ram - worst.server_bytes
    fits = room // worst.thread_bytes if worst.thread_bytes and room > 0 else 0
    if fits >= 10:
        return (f"max_connections = {fits}   # {format_size(room)} left after the server "
                f"buffers / {format_size(worst.thread_bytes)} per connection")
    smaller, how = fitting_pool(worst, ram, web)
    if worst.total - _pool(worst) + smaller <= ram:
        return f"innodb_buffer_pool_size = {_size_text(smaller)}   # {how}"
    return "lower max_connections and the per-thread buffers, or give the host more RAM"


def _pool(worst: WorstCase) -> int:
    return next((t.bytes for t in worst.server if t.name == "innodb_buffer_pool_size"), 0)


def fitting_pool(worst: WorstCase, ram: int, web: bool) -> tuple[int, str]:
    """The innodb_buffer_pool_size MYSQL001 and MYSQL002 both propose, so that they never
    disagree: at most 70% of RAM (50% beside a web tier), and, when MySQLTuner's worst case
    exceeds RAM, small enough that it comes to 70% of RAM with the other buffers, unless
    those alone leave no whole chunk for it; in whole chunks, never below one."""
    share = 0.5 if web else 0.7
    others = worst.total - _pool(worst)
    by_share = max(int(ram * share) // CHUNK * CHUNK, CHUNK)
    by_worst = (ram * 7 // 10 - others) // CHUNK * CHUNK
    if worst.total > ram and CHUNK <= by_worst < by_share:
        return by_worst, (f"70% of RAM minus the other buffers ({format_size(others)}), in "
                          "whole 128 MiB chunks")
    return by_share, f"{share:.0%} of {format_size(ram)}, in whole 128 MiB chunks"


def check_mysql003(host):
    """Values the server rejects (it will not start) or clamps (a different value runs)."""
    for server in servers(host):
        flavour = server.flavour.label
        for setting in server.occurrences:
            option, value = setting.option, setting.value
            shown = f"{option.name} = {option.value}"
            evidence = [Evidence(f"{shown} in [{option.group}]", f"{option.path}:{option.line}"),
                        _flavour_evidence(server)]
            if value.error:
                yield Finding("MYSQL003", f"{flavour} rejects {shown}, so {value.consequence}: "
                                          f"{value.error}", option.path, option.line, evidence,
                              severity=Severity.MEDIUM if value.loose else None,
                              fix=_correct(setting, server), key=_option_key(setting))
            elif value.warning:
                yield Finding("MYSQL003", f"{flavour} does not use {shown}: {value.warning}",
                              option.path, option.line, evidence,
                              fix=snippet("{name} = {value}", name=setting.name,
                                          value=value.number), key=_option_key(setting))
            elif value.ignored:
                yield Finding("MYSQL003", f"{flavour} reads {shown} as {value.number} bytes: "
                                          f"it ignores {value.ignored!r} after the suffix",
                              option.path, option.line, evidence, severity=Severity.INFO,
                              fix=snippet("{name} = {value}", name=setting.name,
                                          value=option.value[:-len(value.ignored)]),
                              key=_option_key(setting))


def _option_key(setting: Setting) -> str:
    """MYSQL003's fingerprint key: the option and the group it is written in (one file may
    set it for [mysqld] and [mariadb]), never its value."""
    return f"[{setting.option.group}] {setting.name}"


def _correct(setting: Setting, server: Server) -> str:
    """``1.5M`` -> ``1536K``; anything else: the default, as a whole number."""
    m = re.match(r"^[ \t]*(\d+)\.(\d+)[ \t]*([KMGTPE])", setting.option.value or "", re.I)
    if m:
        unit = "KMGTPE".index(m.group(3).upper())
        scale = 10 ** len(m.group(2))  # 1.5 x 1024 as whole numbers: 15 x 1024 // 10
        number = int(m.group(1) + m.group(2)) * 1024 // scale
        return f"{setting.name} = {number}{'KMGTPE'[unit - 1] if unit else ''}   # whole numbers"
    default = variables(server.flavour)[setting.name].default
    text = str(default) if setting.name == "max_connections" else _size_text(default)
    return (f"{setting.name} = {text}   # the default; a whole number with an optional "
            "K, M or G suffix")
