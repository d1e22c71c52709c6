"""Host facts: what a live scan measured, written as JSON, and read back to audit a config
repository against the real machine instead of declared figures.

``oomaudit facts`` prepares the host as ``scan`` does (every plugin collects and fills the
ledger) and runs the KLOG rules for the OOM kills of the last 30 days, then writes
(``oomaudit/facts.schema.json``, ``schema_version`` 1): RAM (the cgroup limit when that is
lower, as the audit counts it), swap, the cgroup limit, CPUs, the kernel, the sysctl values
the rules use, each service's processes with their RSS and the size of one process as its
plugin counts it (a PHP-FPM pool's child, an Apache child), and the kills. Under
``--root`` it writes what a tree can tell (persisted sysctl values, the kills in its
``var/log``; no processes, RAM only if declared).

``check --facts FILE`` (or ``[[hosts]] facts = "FILE"``, relative to the config file) puts
the file's RAM, swap and CPU count on the hosts and its per-process sizes where
``process-sizes`` would go (measured beats declared, as on a live host), each with the
source ``facts FILE (measured on HOST at TIME)``. ``--ram``/``--swap`` on the command line
still win over a facts file, and a facts file over a profile's ``ram``/``swap``. A bad
``--facts`` is a usage error; a repository's facts file is audited content, read through
its tree, and one that is none is a CONF003 of its host (``discovery._apply_profile``).
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .confine import Tree
from .errors import UsageError
from .host import Fact, Host, Measured, printable, terminal
from .jsonout import dumps
from .record import Record

SCHEMA_VERSION = 1
KILLS_TABLE = "oom_kills"  # the klog plugin's table of the window's kills by process
_TOP_FACTS = ("ram", "swap", "cgroup_limit", "cpus", "kernel")


# -- writing ---------------------------------------------------------------------------
def build(host: Host, notices: list[str]) -> dict:
    """The facts of a prepared host whose KLOG rules ran."""
    def fact(key: str) -> dict | None:
        found = host.facts.get(key)
        return None if found is None else {"value": found.value, "source": found.source}

    kills = host.tables.get(KILLS_TABLE)
    rows = kills.rows if kills else []
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "oomaudit", "version": __version__},
        "host": host.name,
        "mode": host.mode,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")
                               .replace("+00:00", "Z"),
        **{key: fact(key) for key in _TOP_FACTS},
        "sysctl": {key: fact(key) for key in sorted(host.facts) if key.startswith("vm.")},
        "services": [
            {"service": m.service, "group": m.group, "processes": m.processes, "rss": m.rss,
             "largest": m.largest, "per_process": m.per_process, "how": m.how,
             "source": m.source}
            for m in sorted(host.measured.values(), key=lambda m: (m.service, m.group))],
        "oom_kills": {"window": "the last 30 days", "count": sum(row[1] for row in rows),
                      "by_process": [{"process": process, "count": count,
                                      "last": None if last == "undated" else last}
                                     for process, count, last in rows]},
        "notices": notices,
    }


def render(data: dict) -> str:
    return dumps(data)


# -- reading ---------------------------------------------------------------------------
class HostFacts(Record):
    """A facts file read and checked: the facts it puts on a host, and the processes."""

    def __init__(self, facts: dict[str, Fact], measured: list[Measured]):
        self.facts = facts
        self.measured = measured

    def apply(self, host: Host) -> None:
        host.facts.update(self.facts)
        for found in self.measured:
            host.measured[(found.service, found.group)] = found


_LOADED: dict[str, HostFacts] = {}


class FactsError(ValueError):
    """Why a file is no facts file: unreadable, not JSON, not what ``oomaudit facts`` writes."""


def load(path: Path, where: str) -> HostFacts:
    """The operator's facts file (``--facts``, a system config's table): anything that is
    not one is a UsageError naming ``where`` and the file."""
    try:
        return read(path)
    except FactsError as exc:
        raise UsageError(f"{where} {terminal(_shown(path))}: {exc}") from None


def read(path: Path, fs: Tree | None = None) -> HostFacts:
    """A facts file, once per run; FactsError says why one is not. A repository's (a
    ``[[hosts]]`` table's, a fleet folder's ``facts.json``) is read through its tree
    (``fs``): a link out of the repository, a FIFO or a file over the cap is refused, as
    every audited file is."""
    key = os.path.realpath(path) if fs is None else fs.identity(path)
    if key not in _LOADED:
        shown = terminal(_shown(path))
        try:
            data = json.loads(Path(path).read_bytes() if fs is None else fs.read(path))
        except FileNotFoundError:
            raise FactsError("no such file") from None
        except IsADirectoryError:
            raise FactsError("not a file") from None
        except OSError as exc:
            raise FactsError(exc.strerror or str(exc)) from None
        except (ValueError, RecursionError) as exc:
            raise FactsError(f"not JSON ({terminal(str(exc))[:120]})") from None
        try:
            _LOADED[key] = _checked(data, shown)
        except (ValueError, TypeError, KeyError) as exc:
            raise FactsError(f"not an oomaudit facts file: {terminal(str(exc))[:200]}") \
                from None
    return _LOADED[key]


def _checked(data, shown: str) -> HostFacts:
    if not isinstance(data, dict) or not isinstance(data.get("tool"), dict) \
            or data["tool"].get("name") != "oomaudit":
        raise ValueError("no tool.name 'oomaudit' ('oomaudit facts' writes one)")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ValueError(f"schema_version {terminal(repr(version))[:20]}, this oomaudit reads "
                         f"{SCHEMA_VERSION}")
    name = _text(data, "host")
    when = _text(data, "measured_at")
    try:
        datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"measured_at {when[:40]!r} is no RFC 3339 time") from None
    source = f"facts {shown} (measured on {terminal(name)} at {terminal(when)})"
    facts = {}
    for key, lowest in (("ram", 1), ("swap", 0), ("cpus", 1)):
        entry = data.get(key)
        if entry is None:
            continue
        value = entry.get("value") if isinstance(entry, dict) else None
        if not _whole(value, lowest):
            raise ValueError(f"{key}.value is not a whole number of at least {lowest}")
        facts[key] = Fact(value, source)
    services = data.get("services", [])
    if not isinstance(services, list):
        raise ValueError("services is not a list")
    measured = []
    for n, item in enumerate(services):
        if not isinstance(item, dict):
            raise ValueError(f"services[{n}] is not an object")
        numbers = [item.get(k) for k in ("processes", "rss", "largest")]
        per = item.get("per_process")
        if not all(_whole(v, 0) for v in numbers) or not (per is None or _whole(per, 1)):
            raise ValueError(f"services[{n}]: processes, rss, largest and per_process must "
                             "be whole numbers (per_process above 0, or null)")
        measured.append(Measured(_text(item, "service"), _text(item, "group"), *numbers, per,
                                 _text(item, "how"), source))
    return HostFacts(facts, measured)


def _text(obj: dict, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _whole(value, lowest: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= lowest


def _shown(path: Path) -> str:
    """A facts file as a source names it: relative to the working directory when below."""
    rel = os.path.relpath(path)
    return printable(str(path) if rel.startswith("..") else rel)
