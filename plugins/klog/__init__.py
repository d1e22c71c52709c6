"""KLOG001-002: OOM kills the kernel logged, tied to the service, unit and config behind them.

Where the events come from depends on the host: the live host's journal, ring buffer
or /var/log files (oomaudit.logsources); under ``--root`` the tree's
``var/log/kern.log*`` (else ``messages*``); in a config repository, files the
``kernlog`` reader claims (kern.log*, messages*, syslog*, or any file whose first 4 KiB
hold an OOM-killer line). The last 30 days count.

This module only registers (it is what the entry point names, and every run imports
it); the code lives beside it, imported when there is work: ``events`` (the reader and
the host's kills) and ``rules`` (the checks).
"""
from __future__ import annotations

from oomaudit import Reader, checks_in, hookimpl, make_rules

from .constants import KERNLOG

EVENTS = "oomaudit.plugins.klog.events"
RULES = "oomaudit.plugins.klog.rules"


@hookimpl
def oomaudit_readers():
    return [Reader(
        name=KERNLOG, parse=f"{EVENTS}:parse_source",
        file_patterns=("kern.log", "kern.log.[0-9]", "kern.log.[0-9][0-9]", "messages",
                       "messages.[0-9]", "messages-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]",
                       "syslog", "syslog.[0-9]", "syslog.[0-9][0-9]"),
        sniff=f"{EVENTS}:looks_like_kernlog",
        # every line the sniffer takes says "Killed process" or "oom-kill"
        sniff_hint=r"Killed process|oom-kill",
        expands=("",))]  # a log's lines are data: no text in them is a template's


@hookimpl
def oomaudit_budget(host):
    # the kernel log of a live host or a tree is read before the rules, when a KLOG rule
    # will run: a source that cannot be read is a CONF003, and the CONF rules run first.
    # A config repository (no root) has its log files read as documents already.
    settings = host.settings
    if host.root is None or settings is not None and not any(
            settings.rule_selected(rule) for rule in ("KLOG001", "KLOG002")):
        return
    from .events import read_ahead

    read_ahead(host)


@hookimpl
def oomaudit_rules():
    # In a config repository the events are the kernlog files given, nothing else.
    return make_rules(checks_in(RULES, "KLOG001", "KLOG002"), "klog.toml", reads=(KERNLOG,))
