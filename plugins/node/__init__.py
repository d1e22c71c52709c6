"""NODE001: the V8 heap of the Node processes a host's systemd units start, against the
RAM the other services leave.

A unit's Node reads ``--max-old-space-size`` from ``NODE_OPTIONS`` (its ``Environment=``
or ``EnvironmentFile=``), then from its own command line, the last one winning. Each
such process enters the memory ledger as service ``node``: the old space it sets plus
V8's young generation. Node in compose and Kubernetes services is the containers
plugin's (CONTAINER003).

This module only registers (every run imports it); the code lives beside it, imported
when there are units: ``heap`` (the flag as V8 reads it), ``starts`` (the units that run
node and what it reads), ``budget`` (the ledger) and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PACKAGE, SYSTEMD


@hookimpl
def oomaudit_budget(host):
    # Node starts come only from systemd units: without them there is nothing to add.
    if host.given_none_of(SYSTEMD):
        return
    from .budget import add_to_ledger

    add_to_ledger(host)


@hookimpl
def oomaudit_rules():
    return make_rules(checks_in(f"{PACKAGE}.rules", "NODE001"), "node.toml", reads=(SYSTEMD,))
