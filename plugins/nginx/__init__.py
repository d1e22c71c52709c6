"""nginx: the web tier's presence (MYSQL001 asks ``host.documents("nginx")``) and its
workers in the memory ledger.

nginx has no rule of its own here: its workers are small and event-driven, so
``worker_processes`` x ``worker_connections`` bounds connections, not memory. What goes
into the ledger, for each main file (one with an ``events`` block: a site or a snippet
alone runs no workers), is ``worker_processes`` (``auto`` = this host's CPU count, known
only on a live host) x one worker's memory: the measured average RSS of the live workers, else a
16 MiB estimate (an idle worker is a few MiB, mostly shared with the master; busy
connections add their buffers). With ``auto`` offline the count is unknown and nginx is
left out of the ledger rather than guessed.

This module only registers (it is what the entry point names, and every run imports
it); the configurations are read in ``configs`` and the ledger entry is worked out in
``budget``, imported when there is work.
"""
from __future__ import annotations

from oomaudit import hookimpl

from .constants import PLUGIN, READER


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    # Every ledger entry comes from a configuration read from an nginx document (the
    # live worker sizes only measure those), so without one there is nothing to add.
    if not host.documents(PLUGIN):
        return
    from . import budget

    budget.budget(host)
