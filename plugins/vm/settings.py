"""The VM settings in force, per scenario as the sysctl rules judge them: the live values
in /proc/sys, the host's files merged as the program that applies them at boot does (the
sysctl plugin's merge, replayed for these keys), or one file on its own in a config
repository. Also the host's RAM and swap with their sources."""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.plugins.sysctl.kernel import Policy, Setting, live_meminfo, replay
from oomaudit.plugins.sysctl.policies import persisted

from oomaudit.host import FILES, Fact
from oomaudit.parsers import sysctl as fmt
from oomaudit.parsers.sysctl import PROCPS, display_name
from oomaudit.procfs import read_live

from .constants import LIMITS


class Scenario(NamedTuple):
    policy: Policy
    live: bool
    note: str  # said in the evidence (why a file is judged alone, which program applies)

    def shown(self, key: str) -> tuple[str, str]:
        """(``vm.x = value``, where) for a finding's evidence."""
        s = self.policy[key]
        where = f"live: /proc/sys/{key}" if self.live else s.where
        return f"{display_name(key)} = {s.value}", where

    def located(self, key: str) -> tuple[str | None, int | None]:
        origin = self.policy[key].origin
        return (origin.file, origin.assignment.line) if origin and not self.live else \
            (None, None)


def scenarios(host) -> list[Scenario]:
    if host.mode == FILES:
        note = ("checked on its own: 'oomaudit check' cannot know which other sysctl files "
                "the host reads, nor their order")
        return [Scenario(replay(fmt.merge([(d.source.display, d.file)], PROCPS), LIMITS),
                         False, note) for d in host.documents("sysctl")]
    if host.live:
        live = _live(host)
        return [Scenario(live, True, "")] if live else []
    state = persisted(host)
    return [Scenario(replay(state.merged[state.boot], LIMITS), False, state.why)]


def _live(host) -> Policy | None:
    settings = {}
    for key in LIMITS:
        try:
            settings[key] = Setting(int(read_live(f"/proc/sys/{key}").split()[0]), None)
        except (OSError, ValueError, IndexError) as exc:
            host.note_unreadable(f"live: /proc/sys/{key}", str(exc))
            return None
    return Policy(settings)


def ram(host) -> Fact | None:
    info = live_meminfo(host)
    if info and "MemTotal" in info:
        return Fact(info["MemTotal"], "live: /proc/meminfo MemTotal")
    return host.fact("ram")


def swap(host) -> Fact | None:
    info = live_meminfo(host)
    if info and "SwapTotal" in info:
        return Fact(info["SwapTotal"], "live: /proc/meminfo SwapTotal")
    return host.fact("swap")

