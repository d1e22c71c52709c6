"""SYSCTL001-SYSCTL005: kernel memory policy: sysctl files merged as the programs that
apply them merge them, the live values in /proc/sys, and the kernel's CommitLimit
arithmetic.

Which program applies the files at boot decides what "persisted" means:
systemd-sysctl on a systemd host (PID 1 is systemd, or the tree ships
systemd-sysctl), otherwise ``sysctl --system``. Both merges are computed; where
they disagree on a policy setting, SYSCTL004 says so (they differ on
/etc/sysctl.conf without the 99-sysctl.conf link, hidden files, ``- key`` and
exclusions). In ``check`` mode each file is audited on its own: which other files
a host reads, and in what order, cannot be known from a file.

This package's ``__init__`` only registers (it is what the entry point names, and every
run imports it); the code lives beside it, imported when there is work: ``document``
(the reader's parse), ``kernel`` (accepted values, CommitLimit), ``policies`` (the
merges and the live values), ``rules`` and ``budget`` (the policy table).
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import READER

CHECKS = "oomaudit.plugins.sysctl.rules"


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    """The policy table. It needs a host whose sysctl files can be merged, which a config
    repository is not (``policies.persisted`` is None there): nothing to import."""
    from oomaudit.host import FILES

    if host.mode == FILES:
        return
    from .budget import budget

    budget(host)


@hookimpl
def oomaudit_rules():
    # Each rule judges host.documents("sysctl") in a config repository (one scenario per
    # file; SYSCTL004 nothing at all there): without a sysctl file there is nothing to judge.
    return make_rules(checks_in(CHECKS, "SYSCTL001", "SYSCTL002", "SYSCTL003", "SYSCTL004",
                                "SYSCTL005"), "sysctl.toml", reads=("sysctl",))
