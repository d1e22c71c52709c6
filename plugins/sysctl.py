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

This module only registers (it is what the entry point names, and every run imports
it); the reader, the checks and the policy table live in ``sysctl_checks``, imported
when there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import checks_in, make_rules

CHECKS = "oomaudit.plugins.sysctl_checks"

# Module-level: sysctl_checks reads the files of a host's merge with this same reader.
READER = Reader(
    "sysctl", f"{CHECKS}:parse",
    system_paths=("etc/sysctl.conf", "etc/sysctl.d/*.conf", "run/sysctl.d/*.conf",
                  "usr/local/lib/sysctl.d/*.conf", "usr/lib/sysctl.d/*.conf"),
    file_patterns=("sysctl.conf", "sysctl.d/*.conf", "*/sysctl.d/*.conf"),
    sniff="oomaudit.parsers.sysctl:looks_like_sysctl",
    # the sniffer wants a setting (maybe commented out or after '-') of vm., net., kernel.
    # or fs. (or their slash forms) followed by '='
    sniff_hint=r"^[ \t\r#;-]*(?:vm|net|kernel|fs)[./][^=\n]*=",
    comment_prefixes=("#", ";"))


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    """The policy table. It needs a host whose sysctl files can be merged, which a config
    repository is not (``sysctl_checks.persisted`` is None there): nothing to import."""
    from oomaudit.host import FILES

    if host.mode == FILES:
        return
    from . import sysctl_checks

    sysctl_checks.budget(host)


@hookimpl
def oomaudit_rules():
    # Each rule judges host.documents("sysctl") in a config repository (one scenario per
    # file; SYSCTL004 nothing at all there): without a sysctl file there is nothing to judge.
    return make_rules(checks_in(CHECKS, "SYSCTL001", "SYSCTL002", "SYSCTL003", "SYSCTL004",
                                "SYSCTL005"), "sysctl.toml", reads=("sysctl",))
