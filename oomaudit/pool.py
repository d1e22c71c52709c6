"""A fleet's hosts audited in worker processes, one host at a time each.

Hosts are independent (each has its own files, facts, ledger and rules' verdicts), and
reading and judging them is Python work bound to one CPU, so a repository of many hosts
is audited by as many processes as the machine gives this one (``--jobs``, ``workers()``).
The workers are forked once the hosts are known: they inherit the registry, the hosts and
the settings, are sent host indices, and send back each host's report (findings, rule runs,
facts, notices, the files read) and the plugin errors met there. ``audit_host`` is the
same function the single-process path calls, so both make the same report. Workers die
with the main process, and a worker that dies leaves its hosts to it.
"""
from __future__ import annotations

import os

from .report import Report, Runs

# Files in the hosts before a pool pays for its start (forking, and each host's findings
# and rule runs pickled back): below it, one process audits them all.
FILES_FOR_A_POOL = 400

# (registry, hosts, settings, engine.audit_host): set before the fork, read by the workers
_JOB: tuple | None = None


def workers(asked: int, hosts: list) -> int:
    """How many processes audit ``hosts``: ``asked`` (``--jobs``) when given, else one per
    CPU this process may run on once the hosts hold enough files to pay for the pool, and
    no more than its cgroup's CPU quota runs (whole CPUs, at least one: in a container or
    a pod, every CPU of the machine is in the affinity mask, and workers beyond the quota
    would only wait for it, each holding memory)."""
    if asked:
        return asked
    if len(hosts) < 2 or sum(len(h.files) for h in hosts) < FILES_FOR_A_POOL:
        return 1
    cpus = len(os.sched_getaffinity(0))
    quota = _cpu_quota()
    return cpus if quota is None else max(1, min(cpus, int(quota)))


def _cpu_quota() -> float | None:
    from .cgroups import cpu_limit
    from .procfs import read_live

    try:
        return cpu_limit(read_live("/proc/self/cgroup"))
    except OSError:
        return None


def audited_apart(registry, hosts: list, settings, jobs: int, audit_host):
    """Each host's report in the hosts' order (``engine.audit_host``'s), audited by ``jobs``
    forked workers; ``registry`` is the engine's (this module is the engine's helper and
    imports nothing of it). A worker that dies (SIGKILL: on a host short of memory, the
    OOM killer picks the largest process) breaks the pool; the hosts whose reports had not
    come back are then audited in this process, and a notice says so. A
    ``multiprocessing.Pool`` would wait for the dead worker's hosts for ever, which is why
    ``concurrent.futures``' executor is used."""
    global _JOB
    _JOB = (registry, hosts, settings, audit_host)
    chunk = max(1, len(hosts) // (jobs * 16))  # small enough to keep every worker busy
    import gc
    import multiprocessing  # only a run that forks pays for its import
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    rules: dict[tuple, tuple] = {}  # rule ids -> the rules: most hosts ran the same

    def named(ids: tuple) -> tuple:
        found = rules.get(ids)
        if found is None:
            found = rules[ids] = tuple(registry.rules[i] for i in ids)
        return found

    # What the workers inherit (the hosts of 100,000 files: ~100 MiB) is left out of their
    # garbage collections, which would otherwise write to every object's header and so copy
    # every page of it into each worker (gc.freeze's documented use before a fork)
    gc.freeze()
    done = 0
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=_die_with, initargs=(os.getpid(),))
    try:
        for part, runs, errors in pool.map(_audit, range(len(hosts)), chunksize=chunk):
            part.runs = Runs.unpacked(runs, named)
            registry.plugins.errors += errors
            done += 1
            yield part
    except BrokenProcessPool:  # a worker died: the rest is audited below
        pass
    finally:  # interrupted: the hosts no worker has started are not audited
        pool.shutdown(cancel_futures=True)
        _JOB = None
        gc.unfreeze()
    for index in range(done, len(hosts)):
        part = audit_host(registry, hosts[index], settings)
        if index == done:
            part.notices.insert(0, f"a worker process died before sending the reports of "
                                   f"{len(hosts) - done} hosts (killed; by the OOM killer if "
                                   "memory ran out): they were audited in the main process")
        yield part


def _die_with(parent: int) -> None:
    """In a worker, first: be killed when the main process ends. Killed itself (by the OOM
    killer, or a ``timeout`` that signals it alone), it would leave its workers waiting for
    work for ever, each holding its copy of the hosts; the kernel's parent-death signal
    (``prctl(PR_SET_PDEATHSIG)``, which no module of the standard library wraps but
    ctypes) ends them instead."""
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before this worker asked
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _audit(index: int) -> tuple[Report, list[tuple], list[str]]:
    """In a worker: host ``index`` audited, in a form that pickles: its rule runs packed
    (``Runs.packed``), each rule named by its id."""
    registry, hosts, settings, audit_host = _JOB
    host, errors = hosts[index], registry.plugins.errors
    before = len(errors)
    part = audit_host(registry, host, settings)
    runs = [(host, tuple(rule.id for rule in rules), statuses, details)
            for host, rules, statuses, details in Runs(part.runs).packed()]
    part.runs = []
    hosts[index] = None  # this process's copy: what is left of the host goes with it
    met = errors[before:]
    del errors[before:]
    return part, runs, met
