"""The two kernel settings redis-server checks when it starts (src/syscheck.c
``checkOvercommit``, ``checkTHPEnabled``) and warns about: vm.overcommit_memory other than
1, and transparent huge pages ``[always]``.

vm.overcommit_memory comes from the sysctl plugin's own reading (the live value, the files
merged as the program that applies them at boot merges them, or in a config repository
each sysctl file given beside redis.conf, judged alone as SYSCTL rules judge it).
Transparent huge pages are read live only: offline the kernel's default depends on how it
was built, and the kernel command line and the units that change it are the VM plugin's.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from oomaudit.plugins.sysctl.constants import READER as SYSCTL

THP = "/sys/kernel/mm/transparent_hugepage/enabled"


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


def thp_always(host) -> bool | None:
    """True when the live kernel's THP mode is ``[always]`` (what redis-server looks for),
    False for another mode, None where it cannot be read (offline, or no THP support)."""
    if not host.live:
        return None
    if "redis.thp" not in host.cache:
        try:
            text = Path(THP).read_text(errors="replace")
        except FileNotFoundError:  # a kernel built without THP
            text = None
        except OSError as exc:
            host.note_unreadable(f"live: {THP}", exc.strerror or str(exc))
            text = None
        host.cache["redis.thp"] = None if text is None else "[always]" in text
    return host.cache["redis.thp"]
