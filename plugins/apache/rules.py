"""HTTPD001-HTTPD003, the checks behind the rules ``__init__`` registers: each starts
from the host's servers (``servers``) and yields nothing without one.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding, MissingFact
from oomaudit.units import format_size

from .budget import WorstCase, worst_case
from .constants import PLUGIN
from .servers import Server, anchor, servers

APACHE2BUDDY = "apache2buddy (largest child x MaxRequestWorkers)"


def _mpm_evidence(server: Server) -> Evidence:
    return Evidence(f"MPM: {server.mpm.name}", server.mpm_source)


def _partial_evidence(server: Server) -> list[Evidence]:
    """What the reading could not know: includes outside the given files (a repository
    has no / of its own) and ${VARS} nobody defined (httpd keeps them as written)."""
    config = server.config
    found = [Evidence(f"not followed: include {path} (not among the given files)", where)
             for path, where in config.unresolved[:3]]
    found += [Evidence(f"${{{name}}} is not defined: httpd keeps it as written (AH00111)",
                       where) for name, where in config.undefined[:2]]
    return found


def check_httpd001(host):
    """The active MPM's processes at full load x memory per process, against the RAM
    the other services leave."""
    found = servers(host)
    if found and not any(s.usable or s.error for s in found):
        raise MissingFact("Apache's capacity", "no given file loads an MPM or sets an MPM "
                          "directive (a vhost or conf.d file alone, or template placeholders): "
                          "the main configuration decides")
    for server in found:
        if not server.usable:
            continue
        ram = host.require("ram")
        worst = worst_case(host, server)
        room = host.ledger.room(PLUGIN, ram, "Apache")
        left = room.left
        if worst.bytes <= left or not room.judged:
            continue
        limits = server.limits
        evidence = [_mpm_evidence(server),
                    Evidence(f"MaxRequestWorkers = {limits.max_workers} (effective)",
                             limits.origin("MaxRequestWorkers"))]
        if limits.mpm.threaded:
            evidence += [Evidence(f"ThreadsPerChild = {limits.threads_per_child}",
                                  limits.origin("ThreadsPerChild")),
                         Evidence(f"ServerLimit = {limits.server_limit}",
                                  limits.origin("ServerLimit"))]
        evidence += [Evidence(f"per process: {format_size(worst.per.bytes)} ({worst.per.how})",
                              worst.per.source),
                     Evidence(f"worst case = {worst.count} x {format_size(worst.per.bytes)} = "
                              f"{format_size(worst.bytes)}", APACHE2BUDDY),
                     *room.evidence, *_partial_evidence(server)]
        path, line = anchor(server, "MaxRequestWorkers")
        yield Finding("HTTPD001", f"Apache's worst case {format_size(worst.bytes)} "
                                  f"({limits.mpm.name}: {worst.processes} processes x "
                                  f"{format_size(worst.per.bytes)}) exceeds the "
                                  f"{format_size(max(left, 0))} of RAM left for it",
                      path, line, evidence, fix=_fit(worst, left))  # key "": one per server


def _fit(worst: WorstCase, left: int) -> str:
    limits = worst.limits
    processes = max(left, 0) // worst.per.bytes
    if processes < 1:
        return ("no MaxRequestWorkers fits: the other services already take the RAM; lower "
                "their limits, move Apache to its own host, or add RAM")
    if limits.mpm.threaded:
        return (f"MaxRequestWorkers {processes * limits.threads_per_child}   # {processes} "
                f"processes x ThreadsPerChild {limits.threads_per_child} = "
                f"{format_size(processes * worst.per.bytes)} of the {format_size(left)} left")
    return (f"MaxRequestWorkers {processes}   # x {format_size(worst.per.bytes)} per child = "
            f"{format_size(processes * worst.per.bytes)} of the {format_size(left)} left")


def check_httpd002(host):
    """Values the MPM moved into range at start-up, with httpd's own warning."""
    for server in servers(host):
        if not server.usable:
            continue
        for clamp in server.limits.clamps:
            setting = clamp.setting
            path, line = (setting.path, setting.line) if setting else \
                anchor(server, "ServerLimit", "ThreadsPerChild", "ThreadLimit")
            shown = f"{setting.written} {setting.text}" if setting else \
                f"{clamp.name} (default {clamp.configured})"
            evidence = [_mpm_evidence(server),
                        Evidence(f"{shown}", setting.where if setting else
                                 f"{server.mpm.name} MPM default"),
                        Evidence(clamp.message, f"httpd's {server.mpm.name} MPM at start-up "
                                                "(apachectl -t prints it)")]
            yield Finding("HTTPD002", f"{clamp.name} {clamp.configured} is not what httpd "
                                      f"runs: the {server.mpm.name} MPM silently uses "
                                      f"{clamp.effective} ({clamp.message.split(':')[0]})",
                          path, line, evidence, fix=_clamp_fix(server, clamp), key=clamp.name)


def _clamp_fix(server: Server, clamp) -> str:
    limits = server.limits
    if clamp.name == "MaxRequestWorkers" and clamp.effective < clamp.configured and \
            limits.mpm.threaded and clamp.configured > limits.server_limit * \
            limits.threads_per_child:
        need = -(-clamp.configured // limits.threads_per_child)
        return (f"MaxRequestWorkers {clamp.effective}   # what runs now; or ServerLimit {need} "
                f"if {clamp.configured} workers fit in RAM (see HTTPD001)")
    if clamp.name == "MaxRequestWorkers" and not limits.mpm.threaded and \
            clamp.effective < clamp.configured:
        return (f"MaxRequestWorkers {clamp.effective}   # what runs now; or ServerLimit "
                f"{clamp.configured} if {clamp.configured} children fit in RAM (see HTTPD001)")
    return f"{clamp.name} {clamp.effective}   # the value httpd uses anyway"


def check_httpd003(host):
    """mod_php children that are never recycled keep whatever PHP leaked."""
    for server in servers(host):
        if not server.usable or server.php is None:
            continue
        limits = server.limits
        if limits.max_connections_per_child != 0:
            continue
        setting = limits.settings.get("MaxConnectionsPerChild")
        php = server.php
        if setting:
            path, line = setting.path, setting.line
        else:
            path, _, number = php.where.rpartition(":")
            line = int(number) if number.isdigit() else None
        evidence = [Evidence(f"mod_php loaded: LoadModule {php.symbol} {php.path}", php.where),
                    Evidence(f"{setting.written} {setting.text}" if setting else
                             "MaxConnectionsPerChild unset: httpd 2.4's default is 0",
                             setting.where if setting else "httpd 2.4 default"),
                    _mpm_evidence(server)]
        yield Finding("HTTPD003", "MaxConnectionsPerChild is 0 with mod_php loaded: a child "
                                  "that leaks PHP memory is never replaced",
                      path, line, evidence,
                      fix="MaxConnectionsPerChild 1000   # recycle each child after 1000 "
                          "connections", key="MaxConnectionsPerChild")
