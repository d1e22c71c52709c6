"""The Node processes a host's systemd units start, with the option words V8 reads, in
the order it reads them.

A unit starts Node when its ExecStart runs ``node`` or ``nodejs`` (also behind ``env``).
Its environment is the JVM plugin's reading of systemd's (``Environment=``, then each
``EnvironmentFile=``): ``NODE_OPTIONS`` comes first, then node's own options, up to the
script (or ``-e``/``-p`` code, or ``--``); what follows is the script's.
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.plugins.jvm.starts import environment, split
from oomaudit.plugins.systemd.units import units_of

from .constants import CACHE
from .heap import Word, node_options


class Start(NamedTuple):
    unit: object  # oomaudit.parsers.systemd_units.Unit
    words: list[Word]  # NODE_OPTIONS', then the command line's options
    source: str  # file:line of the ExecStart


def starts(host) -> list[Start]:
    """Every Node process the host's loaded service units start, computed once per host."""
    if CACHE in host.cache:
        return host.cache[CACHE]
    found = []
    for unit in units_of(host).loaded():
        if unit.kind != "service" or unit.is_template:
            continue
        execs = unit.values("ExecStart")
        if not execs:
            continue
        unit_file, a = execs[-1]
        options = node_options(split(a.value.lstrip("-@:+!")))
        if options is None:
            continue
        where = f"{unit_file.display}:{a.line}"
        env, _ = environment(host, unit)  # an unreadable file: its NODE_OPTIONS unknown
        words = [Word(w, env["NODE_OPTIONS"].where) for w in split(env["NODE_OPTIONS"].text)] \
            if "NODE_OPTIONS" in env else []
        found.append(Start(unit, words + [Word(w, where) for w in options], where))
    host.cache[CACHE] = found
    return found
