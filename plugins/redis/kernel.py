"""The two kernel settings redis-server checks when it starts (src/syscheck.c
``checkOvercommit``, ``checkTHPEnabled``) and warns about: vm.overcommit_memory other than
1, and transparent huge pages ``[always]``.

vm.overcommit_memory comes from the sysctl plugin's own reading (the live value, the files
merged as the program that applies them at boot merges them, or in a config repository
each sysctl file given beside redis.conf, judged alone as SYSCTL rules judge it); the THP
mode from the VM plugin's (live, or what sets it at boot in a tree; unknown otherwise).
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.plugins.sysctl.constants import READER as SYSCTL

from oomaudit import Fact


class Overcommit(NamedTuple):
    """vm.overcommit_memory in one policy: its value, where it comes from (``file:line``,
    a kernel default, ``live: /proc/sys/...``) and a note on what was judged."""

    value: int
    where: str
    note: str


def overcommit(host) -> list[Overcommit]:
    """vm.overcommit_memory of each policy the sysctl plugin judges on this host (none in a
    config repository without a sysctl file: the host's value is unknown there)."""
    if host.given_none_of(SYSCTL.name):  # a repository's redis.conf alone: nothing to read
        return []
    from oomaudit.plugins.sysctl.kernel import MODE
    from oomaudit.plugins.sysctl.rules import scenarios

    found = []
    for scenario in scenarios(host):
        setting = scenario.policy[MODE]
        where = f"live: /proc/sys/{MODE}" if scenario.live else setting.where
        found.append(Overcommit(setting.value, where, scenario.note))
    return found


def thp_always(host) -> Fact | None:
    """The THP mode when it is ``always`` (what redis-server looks for: ``[always]``), with
    where it comes from; None for another mode or where it is unknown. The VM plugin's
    reading: live from sysfs, in a tree from the kernel command line grub writes and
    tmpfiles.d."""
    if host.root is None:  # a config repository: no host whose mode could be read
        return None
    from oomaudit.plugins.vm.hugepages import thp_mode

    mode = thp_mode(host)
    return mode if mode is not None and mode.value == "always" else None
