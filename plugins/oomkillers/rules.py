"""USERKILL001-003 and 006: what earlyoom, configured as it is, may kill and when, and a
critical service nohang's badness rules push forward (004-005, read from the host's units,
are in ``enabled``).

earlyoom picks the process with the highest oom_score, plus 300 for a name its --prefer
regex matches and minus 300 for one --avoid matches; a name --ignore matches is never
picked (v1.8). It acts when available memory is below its -m/-M minimum *and* free swap
below its -s/-S minimum (a host without swap counts as 0% free).
"""
from __future__ import annotations

import re

from oomaudit import Evidence, Finding
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .constants import EARLYOOM, NOHANG, VARIABLE
from .critical import critical_processes
from .earlyoom import Earlyoom, compiled


def compiled_py(regex: str) -> re.Pattern:
    """nohang is Python: its regexes are re's (nohang refuses a file where one fails)."""
    return re.compile(regex)


def _running(host) -> list[Earlyoom]:
    return [config for config in host.documents(EARLYOOM) if config.starts]


def _matches(regex: str | None, name: str) -> bool:
    return regex is not None and compiled(regex).search(name) is not None


def _args_line(config: Earlyoom, args: list[str]) -> str:
    """The EARLYOOM_ARGS line with ``args``, each word quoted for systemd's split."""
    return snippet(f'{VARIABLE}="{{args:sh}}"', args=args)


def _with(config: Earlyoom, flag: str, value: str, drop: tuple[str, ...] = ()) -> list[str]:
    """The arguments with ``flag value`` in place of every ``flag`` (and ``drop``) given as
    a word of its own followed by its value, or as ``--flag=value``."""
    args, out, skip = list(config.args), [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in (flag, *drop):
            skip = True
        elif not arg.startswith(tuple(f"{f}=" for f in (flag, *drop))):
            out.append(arg)
    return [*out, flag, value]


def _avoid_regex(config: Earlyoom, names: list[str]) -> str:
    own = "^(" + "|".join(sorted(set(names))) + ")$"
    return f"{config.avoid}|{own}" if config.avoid else own


def _named(pairs: list[tuple[str, str]]) -> str:
    """'ssh, sshd (sshd), postgresql@* (postgres)': the patterns of each process name."""
    by_name: dict[str, list[str]] = {}
    for pattern, name in pairs:
        by_name.setdefault(name, []).append(pattern)
    return ", ".join(f"{', '.join(patterns)} ({name})" for name, patterns in by_name.items())


def _setting(config: Earlyoom, flag: str, regex: str | None) -> Evidence:
    if regex is None:
        return Evidence(f"no {flag}", config.where)
    return Evidence(f"{flag} {regex!r}", config.where)


# --- USERKILL001 ------------------------------------------------------------------------

def check_userkill001(host):
    for config in _running(host):
        if config.prefer is None:
            continue
        hits = [(pattern, name) for pattern, names in critical_processes(host.settings)
                for name in names
                if _matches(config.prefer, name) and not _matches(config.ignore, name)]
        if not hits:
            continue
        named = _named(hits)
        evidence = [Evidence(f"critical service pattern '{pattern}' runs as process '{name}'",
                             "settings: critical-services") for pattern, name in hits]
        evidence += [_setting(config, "--prefer", config.prefer),
                     _setting(config, "--avoid", config.avoid),
                     Evidence("earlyoom adds 300 to the badness of a --prefer match and takes "
                              "300 off an --avoid match: both cancel out")]
        names = [name for _, name in hits]
        yield Finding(
            "USERKILL001",
            f"earlyoom --prefer {config.prefer!r} matches critical services {named}: earlyoom "
            "kills them first when memory runs low",
            config.source.display, config.line, evidence,
            fix=snippet("in {file}, without --prefer (give it back a regex that matches none "
                        "of {names}):\n", file=config.source.display,
                        names=", ".join(sorted(set(names))))
                + _args_line(config, _with(config, "--avoid", _avoid_regex(config, names),
                                           ("--prefer",))),
            key="--prefer")


# --- USERKILL002 ------------------------------------------------------------------------

def check_userkill002(host):
    for config in _running(host):
        open_to = [(pattern, name) for pattern, names in critical_processes(host.settings)
                   for name in names
                   if not _matches(config.avoid, name) and not _matches(config.ignore, name)
                   and not _matches(config.prefer, name)]  # those are USERKILL001's
        if not open_to:
            continue
        named = _named(open_to)
        evidence = [Evidence(f"critical service pattern '{pattern}' runs as process '{name}'",
                             "settings: critical-services") for pattern, name in open_to]
        evidence += [_setting(config, "--avoid", config.avoid),
                     _setting(config, "--ignore", config.ignore)]
        names = [name for _, name in open_to]
        yield Finding(
            "USERKILL002",
            f"earlyoom may kill critical services {named}: no --avoid covers them",
            config.source.display, config.line, evidence,
            fix=snippet("in {file}:\n", file=config.source.display)
                + _args_line(config, _with(config, "--avoid", _avoid_regex(config, names))),
            key="--avoid")


# --- USERKILL003 ------------------------------------------------------------------------

def check_userkill003(host):
    configs = _running(host)
    if not configs or not host.ledger.consumers:
        return
    ram = host.require("ram")
    swap = host.fact("swap")
    swap_bytes = swap.value if swap else 0
    total = host.ledger.total()
    if total > ram.value + swap_bytes:
        return  # the kernel kills too: HOST002
    available = max(ram.value - total, 0)
    swap_free = swap_bytes - min(max(total - ram.value, 0), swap_bytes)
    for config in configs:
        mem_min = _bytes(config.memory, ram.value)
        swap_min = _bytes(config.swap, swap_bytes)
        if available > mem_min or (swap_bytes and swap_free > swap_min):
            continue
        evidence = host.ledger.summary()
        evidence += [Evidence(f"RAM = {format_size(ram.value)}", ram.source),
                     Evidence(f"swap = {format_size(swap_bytes)}",
                              swap.source if swap else "swap not declared: taken as 0"),
                     Evidence(config.memory.shown("earlyoom SIGTERM/SIGKILL under available "
                                                  "memory") + f" = {format_size(mem_min)}",
                              config.where),
                     Evidence(config.swap.shown("and under free swap")
                              + f" = {format_size(swap_min)}", config.where)]
        room = int((available - 1) * 100 / ram.value) if ram.value else 0
        lower = (_args_line(config, _with(config, "-m", str(room), ("-M",))) + "\n# or "
                 if room >= 1 else "")
        yield Finding(
            "USERKILL003",
            f"earlyoom kills at {format_size(mem_min)} available, but the services' worst case "
            f"{format_size(total)} leaves only {format_size(available)} of "
            f"{format_size(ram.value)} RAM: it kills where the kernel would not need to",
            config.source.display, config.line, evidence,
            fix=snippet("in {file}:\n", file=config.source.display)
                + f"{lower}shrink the services (see 'oomaudit budget')",
            key="-m")


def _bytes(threshold, total: int) -> int:
    if threshold.flag in ("-M", "-S"):
        return int(threshold.term * 1024)
    return int(total * threshold.term / 100)


# --- USERKILL006 ------------------------------------------------------------------------

def check_userkill006(host):
    for config in host.documents(NOHANG):
        if not config.starts:
            continue
        by_name: dict[str, list[str]] = {}
        for pattern, names in critical_processes(host.settings):
            for name in names:
                by_name.setdefault(name, []).append(pattern)
        for name, patterns in by_name.items():
            matching = [b for b in config.badness if compiled_py(b.regex).search(name)]
            total = sum(b.adj for b in matching)
            if total <= 0:
                continue
            pattern = ", ".join(patterns)
            evidence = [Evidence(f"critical service pattern '{p}' runs as process "
                                 f"'{name}'", "settings: critical-services")
                        for p in patterns]
            evidence += [Evidence(f"@BADNESS_ADJ_RE_NAME {b.adj} /// {b.regex}",
                                  f"{config.source.display}:{b.line}") for b in matching]
            first = next(b for b in matching if b.adj > 0)
            yield Finding(
                "USERKILL006",
                f"nohang adds {total} to the badness of critical service {pattern} "
                f"({name}): it is among the first nohang kills",
                config.source.display, first.line, evidence,
                fix=snippet("take {name} out of the positive @BADNESS_ADJ_RE_NAME regexes in "
                            f"{{file}}, or protect it:\n@BADNESS_ADJ_RE_NAME -{total + 300} /// "
                            "^{regex}$", name=name, file=config.source.display,
                            regex=re.escape(name)),
                key=name)
