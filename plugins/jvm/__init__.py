"""JVM001-JVM003: the JVMs a host's systemd units start, their maximum heap as HotSpot
computes it, and the process around it, against the RAM and the unit's memory limit.

A JVM's options come from the unit's ExecStart and its environment (``Environment=``,
``/etc/default/NAME`` through ``EnvironmentFile=``: ``JAVA_TOOL_OPTIONS``,
``JDK_JAVA_OPTIONS``, ``_JAVA_OPTIONS``, a wrapper's ``JAVA_OPTS``), in the JVM's order.
Each JVM enters the memory ledger as service ``java``: heap plus a documented overhead.
JVMs in compose and Kubernetes services are the containers plugin's (CONTAINER003).

This module only registers (it is what the entry point names, and every run imports it);
the code lives beside it, imported when there is work: ``heap`` (MaxHeapSize from the
options, as HotSpot 17), ``starts`` (the units that start a JVM and what it reads),
``budget`` (the ledger) and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PACKAGE, SYSTEMD


@hookimpl
def oomaudit_budget(host):
    # JVM starts come only from systemd units: without them there is nothing to add.
    if host.given_none_of(SYSTEMD):
        return
    from .budget import add_to_ledger

    add_to_ledger(host)


@hookimpl
def oomaudit_rules():
    return make_rules(checks_in(f"{PACKAGE}.rules", "JVM001", "JVM002", "JVM003"),
                      "jvm.toml", reads=(SYSTEMD,))
