"""A fleet's hosts audited in worker processes, one host at a time each.

Hosts are independent (each has its own files, facts, ledger and rules' verdicts), and
reading and judging them is Python work bound to one CPU, so a repository of many hosts
is audited by as many processes as the machine gives this one (``--jobs``, ``workers()``).
The workers are forked once the hosts are known: they inherit the registry, the hosts and
the settings, are sent host indices, and send back each host's report (findings, rule runs,
facts, notices), the plugin errors met there, and the names of the files read, which the
baseline, the output guard and the template notices read afterwards. ``audit_host`` is the
same function the single-process path calls, so both make the same report.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .reading import Source
from .report import Report, RuleRun

if TYPE_CHECKING:
    from .engine import Registry

# Files in the hosts before a pool pays for its start (forking, and each host's findings
# and rule runs pickled back): below it, one process audits them all.
FILES_FOR_A_POOL = 400

# (registry, hosts, settings, engine.audit_host): set before the fork, read by the workers
_JOB: tuple | None = None


def workers(asked: int, hosts: list) -> int:
    """How many processes audit ``hosts``: ``asked`` (``--jobs``) when given, else one per
    CPU this process may run on once the hosts hold enough files to pay for the pool."""
    if asked:
        return asked
    if len(hosts) < 2 or sum(len(h.files) for h in hosts) < FILES_FOR_A_POOL:
        return 1
    return len(os.sched_getaffinity(0))


def audited_apart(registry: Registry, hosts: list, settings, jobs: int, audit_host):
    """Each host's report in the hosts' order (``engine.audit_host``'s), audited by ``jobs``
    forked workers; the files each read are put back on the hosts here as their names."""
    global _JOB
    _JOB = (registry, hosts, settings, audit_host)
    chunk = max(1, len(hosts) // (jobs * 16))  # small enough to keep every worker busy
    import multiprocessing  # only a run that forks pays for its import

    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for host, (part, runs, errors, sources) in zip(
                    hosts, pool.imap(_audit, range(len(hosts)), chunk), strict=True):
                part.runs = [RuleRun(registry.rules[rule], name, status, detail)
                             for rule, name, status, detail in runs]
                registry.plugins.errors += errors
                for path, display, inside, reader, template, templated, held in sources:
                    source = Source(path, display, "", inside, registry.readers.get(reader))
                    source.template, source.templated, source.held = template, templated, held
                    host.sources[path] = source
                yield part
    finally:
        _JOB = None


def _audit(index: int) -> tuple[Report, list[tuple], list[str], list[tuple]]:
    """In a worker: host ``index`` audited, in a form that pickles (a rule run names its
    rule by id; a file read is its names and template notes)."""
    registry, hosts, settings, audit_host = _JOB
    host, errors = hosts[index], registry.plugins.errors
    before = len(errors)
    part = audit_host(registry, host, settings)
    runs = [(run.rule.id, run.host, run.status, run.detail) for run in part.runs]
    part.runs = []
    sources = [(s.path, s.display, s.inside, s.reader.name if s.reader else None, s.template,
                s.templated, s.held) for s in host.sources.values()]
    return part, runs, errors[before:], sources
