"""KLOG001-002: OOM kills the kernel logged, tied to the service, unit and config behind them.

Where the events come from depends on the host: the live host's journal, ring buffer
or /var/log files (oomaudit.logsources); under ``--root`` the tree's
``var/log/kern.log*`` (else ``messages*``); in a config repository, files the
``kernlog`` reader claims (kern.log*, messages*, syslog*, or any file whose first 4 KiB
hold an OOM-killer line). The last 30 days count.

This module only registers (it is what the entry point names, and every run imports
it); the reader's code and the checks live in ``klog_checks``, imported when there is
work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import checks_in, make_rules

CHECKS = "oomaudit.plugins.klog_checks"
KERNLOG = "kernlog"


@hookimpl
def oomaudit_readers():
    return [Reader(
        name=KERNLOG, parse=f"{CHECKS}:parse_source",
        file_patterns=("kern.log", "kern.log.[0-9]", "kern.log.[0-9][0-9]", "messages",
                       "messages.[0-9]", "messages-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]",
                       "syslog", "syslog.[0-9]", "syslog.[0-9][0-9]"),
        sniff=f"{CHECKS}:looks_like_kernlog",
        # every line the sniffer takes says "Killed process" or "oom-kill"
        sniff_hint=r"Killed process|oom-kill")]


@hookimpl
def oomaudit_rules():
    # In a config repository the events are the kernlog files given, nothing else.
    return make_rules(checks_in(CHECKS, "KLOG001", "KLOG002"), "klog.toml", reads=(KERNLOG,))
