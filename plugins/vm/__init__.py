"""VM001-VM004: kernel VM settings that make the OOM killer come early: vm.swappiness = 0
with swap present, vm.min_free_kbytes far above what the kernel computes for the RAM, a
vm.watermark_scale_factor that keeps a large share of RAM free, and transparent huge pages
``always`` on a host running a service that documents against them.

The values come from the sysctl plugin's reading (its merge of the host's files, proven
against ``sysctl --system`` and systemd-sysctl, replayed here for these keys; one file at a
time in a config repository) or /proc/sys on a live host.

This module only registers (every run imports it); the code lives beside it, imported
when there is work: ``settings`` (the values in force, per scenario), ``watermarks`` (the
kernel's own min_free_kbytes and watermarks), ``hugepages`` (the THP mode, live or from the
kernel command line and tmpfiles.d) and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

CHECKS = "oomaudit.plugins.vm.rules"


@hookimpl
def oomaudit_rules():
    # like the sysctl rules: in a config repository each sysctl file is judged on its own
    return make_rules(checks_in(CHECKS, "VM001", "VM002", "VM003", "VM004"), "vm.toml",
                      reads=("sysctl",))
