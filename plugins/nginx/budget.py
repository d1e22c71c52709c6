"""nginx's workers in the memory ledger, worked out (see the package's ``__init__``).

Imported only when the host has an nginx configuration: ``worker_processes`` (``auto`` =
this host's CPU count, known only on a live host) x one worker's memory, the measured
average RSS of the live workers, else a 16 MiB estimate.
"""
from __future__ import annotations

import os
import re

from oomaudit.host import Measured
from oomaudit.parsers.nginx import NginxConfig
from oomaudit.processes import processes
from oomaudit.units import format_size

from .configs import configs
from .constants import PLUGIN

SERVICE = PLUGIN
WORKER_ESTIMATE = 16 << 20
WORKER = re.compile(r"^nginx: worker process")


def workers(host, config: NginxConfig) -> tuple[int | None, str]:
    """worker_processes as a number, and where it came from; None for ``auto`` offline."""
    directive = config.values.get("worker_processes")
    where = directive.where if directive else "nginx default"
    text = config.value("worker_processes")
    if text != "auto":
        return int(text), f"worker_processes {text} ({where})"
    if host.live:
        cpus = os.cpu_count() or 1
        return cpus, f"worker_processes auto = {cpus} CPUs ({where}; live: CPU count)"
    counted = host.fact("cpus")  # measured where a facts file was taken
    if counted is not None:
        return counted.value, (f"worker_processes auto = {counted.value} CPUs ({where}; "
                               f"{counted.source})")
    return None, f"worker_processes auto ({where}): CPU count unknown offline"


def budget(host):
    """Each configuration's workers x one worker's memory, as ledger service ``nginx``. A
    file without an ``events`` block is no main file (nginx refuses one: 'no "events"
    section in configuration') but a fragment another includes, which runs no workers."""
    measured = [p.rss for p in processes(host) if WORKER.match(p.title) and p.rss] \
        if host.live else []
    if measured:  # what `oomaudit facts` writes
        host.measured[(SERVICE, "")] = Measured(
            SERVICE, "", len(measured), sum(measured), max(measured),
            sum(measured) // len(measured), f"average RSS of {len(measured)} workers",
            "live: /proc/PID/status")
    facts = host.measured_size(SERVICE)
    for config in configs(host):
        if config.failed or "events" not in config.values:
            continue  # rejected, or a fragment (a site, a snippet): no main file, no workers
        count, how = workers(host, config)
        if count is None:
            continue
        if measured:
            size = sum(measured) // len(measured)
            per = f"{format_size(size)} (measured average RSS of {len(measured)} workers)"
        elif facts:
            size, per = facts.value, f"{format_size(facts.value)} ({facts.source})"
        else:
            size, per = WORKER_ESTIMATE, f"{format_size(WORKER_ESTIMATE)} (estimate per worker)"
        host.ledger.add(SERVICE, count * size, f"{how} x {per}; worker_connections "
                        f"{config.value('worker_connections')}", config.source.display, PLUGIN)
