"""FPM001-FPM003 and PHP-FPM's share of the memory ledger: the code behind
``phpfpm.py``, which registers it and says what a configuration is and where the size of
a child comes from. Imported only when there is something to check.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from oomaudit import Evidence, Finding, Severity
from oomaudit.host import FILES, Measured
from oomaudit.parsers import phpfpm
from oomaudit.parsers.phpfpm import FpmConfig, Pool, post_process, shared_listen
from oomaudit.parsers.zendini import IniSyntaxError, parse_line, quantity
from oomaudit.processes import processes
from oomaudit.record import Record
from oomaudit.units import format_size

from .phpfpm import PLUGIN, READER

SERVICE = PLUGIN
MIB = 1 << 20
BASE = 32 * MIB  # one idle child: the interpreter, its extensions, its opcache share
PHP_DEFAULT_LIMIT = 128 * MIB  # memory_limit when no php.ini sets it
MASTER = re.compile(r"^php-fpm(?:[\d.]+)?: master process \((.+)\)\s*$")
WORKER = re.compile(r"^php-fpm(?:[\d.]+)?: pool (.+?)\s*$")


class FpmFile(Record):
    """What parse() knows without the host: the file. Includes are followed later, once
    every file of the run has been found."""

    def __init__(self, source: object):
        self.source = source


# -- configurations ----------------------------------------------------------------------

def configs(host) -> list[FpmConfig]:
    """Every php-fpm configuration of the host, once per run: a file another one includes
    belongs to that configuration, not to one of its own."""
    if "php-fpm" in host.cache:
        return host.cache["php-fpm"]
    loader = phpfpm.Loader(host, READER)
    loaded = [loader.load(doc.source) for doc in host.documents(PLUGIN)]
    included = {id(s) for c in loaded for s in c.files[1:]}
    result = [c for c in loaded if id(c.source) not in included]
    for config in result:
        _post_process(config)
    host.cache["php-fpm"] = result
    return result


def _post_process(config: FpmConfig) -> None:
    if config.failed:
        return
    # Only a master's own file must define a pool: a pool file given alone (an empty
    # php-fpm.d/www.conf in a repository) is a fragment of a configuration we do not have.
    main = config.source.path.name.endswith("php-fpm.conf") or bool(config.globals)
    if not config.pools and config.includes_followed and main:
        config.source.problem("CONF001", None, "php-fpm refuses to start: No pool "
                    "defined. at least one pool section must be specified in config file")
    for pool in config.pools:
        alert = post_process(pool)
        if alert:
            named = re.search(r"\] (pm(?:\.[a-z_]+)?|no listen)", alert)
            key = {"no listen": "listen"}.get(named.group(1), named.group(1)) if named else ""
            setting = pool.settings.get(key)
            source, line = (setting.source, setting.line) if setting else (pool.source,
                                                                           pool.line)
            depends = _environment(pool)
            source.problem("CONF001", line, f"php-fpm refuses to start: {alert}"
                           + (f" ({depends})" if depends else ""),
                           key=f"[{pool.name}] {key}".rstrip())
            config.failed = True
    shared = None if config.failed else shared_listen(config)
    if shared:
        pool, message = shared
        listen = pool.settings["listen"]
        listen.source.problem("CONF001", listen.line, f"php-fpm refuses to start: {message}",
                              fix=f"give pool {pool.name} a listen address of its own, e.g. "
                                  f"listen = /run/php/php-fpm-{pool.name}.sock",
                              key=f"[{pool.name}] listen")
        config.failed = True


def _environment(pool: Pool) -> str:
    names = sorted({n for s in pool.settings.values() if s.name.startswith("pm")
                    for n in s.env})
    if not names:
        return ""
    shown = ", ".join(f"{n}={os.environ[n]!r}" if n in os.environ else f"{n} unset"
                      for n in names)
    text = f"pm values depend on the environment: {shown} here; php-fpm reads its own environment"
    fallback = next((n for n in names if ":-" in n), "")
    if fallback:  # read as 8.2 reads it (the php-fpm the tests compare with); say so
        var, _, default = fallback.partition(":-")
        text += (f". Up to PHP 8.2 '{fallback}' names one variable; PHP 8.3 and later read "
                 f"it as {var} with the default {default!r}")
    return text


# -- live workers ------------------------------------------------------------------------

class Worker(NamedTuple):
    """A live php-fpm worker (titled ``pool NAME``), sizes in bytes: ``ppid`` ties it
    to its master, ``pss`` is None where smaps_rollup could not be read."""

    pid: int
    ppid: int | None
    rss: int | None
    pss: int | None


def collect(host):
    """Running masters say which file they read (their title); their children are the
    pools' workers, measured here (PSS from smaps_rollup for these few processes only)."""
    masters, workers = {}, {}
    for proc in processes(host):
        title = proc.title
        m = MASTER.match(title)
        if m:
            masters[proc.pid] = m.group(1)
            continue
        w = WORKER.match(title)
        if w:
            workers.setdefault(w.group(1), []).append(
                Worker(proc.pid, _ppid(proc.pid), proc.rss, _pss(proc.pid)))
    for pool, found in workers.items():  # what `oomaudit facts` writes of each pool
        sized = [w for w in found if w.rss is not None]
        if sized:
            child = _measured(pool, sized)
            host.measured[(SERVICE, pool)] = Measured(
                SERVICE, pool, len(found), sum(w.rss for w in sized), max(w.rss for w in sized),
                child.bytes, f"{child.how} of {len(sized)} workers", "live: /proc/PID")
    files = {}
    for pid, path in masters.items():
        real = host.resolve(path, "/")
        source = host.read(real, READER, f"live: php-fpm master pid {pid}") if real else None
        if source is None:
            continue
        files[pid] = real
        if all(d.source.path != real for d in host.documents(PLUGIN)):
            host.docs.setdefault(PLUGIN, []).append(FpmFile(source))
    host.cache["php-fpm.live"] = (files, workers)


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _pss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _workers(host, config: FpmConfig, pool: Pool) -> list[Worker]:
    """The live workers of this pool: children of the master that reads this config, or,
    with no master visible, every worker titled with the pool's name."""
    files, workers = host.cache.get("php-fpm.live", ({}, {}))
    candidates = workers.get(pool.name, [])
    masters = {pid for pid, real in files.items() if real == config.source.path}
    if masters:
        return [w for w in candidates if w.ppid in masters]
    if files:  # masters are visible, none runs this config: these workers are not ours
        return []
    return candidates


# -- per-child memory --------------------------------------------------------------------

class ChildSize(NamedTuple):
    """Memory of one child of a pool: measured, declared in the host profile, or
    memory_limit plus ``BASE``; ``how`` says which and ``evidence`` shows it."""

    bytes: int | None  # None: unlimited (memory_limit = -1) and nothing else known
    how: str  # "measured average PSS", "declared per-child size", "memory_limit + base"...
    evidence: tuple[Evidence, ...]


def child_size(host, config: FpmConfig, pool: Pool) -> ChildSize:
    """Measured live, else measured where a facts file was taken, else declared in the host
    profile, else memory_limit + base."""
    measured = [w for w in _workers(host, config, pool) if w.rss is not None]
    if measured:
        return _measured(pool.name, measured)
    facts = host.measured_size(SERVICE, pool.name)
    if facts:
        return ChildSize(facts.value, "measured per-child size (facts file)", (Evidence(
            f"php-fpm child = {format_size(facts.value)}", facts.source),))
    declared = _declared(host, config)
    if declared:
        return declared
    return _from_memory_limit(host, config, pool)


def _measured(pool: str, workers: list[Worker]) -> ChildSize:
    rss = [w.rss for w in workers]
    pss = [w.pss for w in workers if w.pss is not None]
    average_rss, largest = sum(rss) // len(rss), max(rss)
    pids = ", ".join(str(w.pid) for w in workers[:8]) + (" ..." if len(workers) > 8 else "")
    evidence = [Evidence(f"{len(workers)} live workers of pool {pool}: average RSS "
                         f"{format_size(average_rss)}, largest {format_size(largest)}",
                         f"live: /proc/PID/status, pids {pids}")]
    if len(pss) == len(workers):
        size, what = sum(pss) // len(pss), "measured average PSS"
        evidence.append(Evidence(f"average PSS {format_size(size)} (shared pages split "
                                 "between the workers)", "live: /proc/PID/smaps_rollup"))
    else:
        size, what = average_rss, "measured average RSS"
    evidence.append(Evidence("measured now: workers grow under load, up to memory_limit"))
    return ChildSize(size, what, tuple(evidence))


def _declared(host, config: FpmConfig) -> ChildSize | None:
    """``process-sizes = { php-fpm = "80M" }`` in the host's [[hosts]] profile."""
    size = host.declared_size(SERVICE, config.source.path)
    if not size:
        return None
    return ChildSize(size.value, "declared per-child size", (Evidence(
        f"php-fpm child = {format_size(size.value)}", size.source),))


def _from_memory_limit(host, config: FpmConfig, pool: Pool) -> ChildSize:
    limit, evidence = memory_limit(host, config, pool)
    if limit is None:
        return ChildSize(None, "memory_limit", tuple(evidence))
    evidence.append(Evidence(f"+ {format_size(BASE)} base per child (interpreter, "
                             "extensions, opcache share): an upper bound", "oomaudit"))
    return ChildSize(limit + BASE, "memory_limit + base", tuple(evidence))


def memory_limit(host, config: FpmConfig, pool: Pool) -> tuple[int | None, list[Evidence]]:
    """The pool's memory_limit: php_admin_value, then php_value (which scripts may change
    with ini_set), then php.ini (and its scan dir), then PHP's default 128M."""
    entries = pool.php_setting("memory_limit")
    for kind in ("php_admin_value", "php_value"):
        mine = [s for k, s in entries if k == kind]
        values = [(s, quantity(s.text)) for s in mine]
        values = [(s, v) for s, v in values if v is not None]
        if values:
            setting, value = max(values, key=lambda sv: _bound(sv[1]))
            note = " (set more than once: the largest counts)" if len(values) > 1 else ""
            if kind == "php_value":
                note += "; php_value can be raised by scripts with ini_set"
            return _limit(value, f"{kind}[memory_limit] = {setting.text}{note}", setting.where)
    found = php_ini(host, config)
    if found:
        text, where = found
        value = quantity(text)
        if value is not None:
            return _limit(value, f"memory_limit = {text}", where)
    return _limit(PHP_DEFAULT_LIMIT, "memory_limit = 128M", "PHP's default (no php.ini "
                  "setting found)")


def _bound(value: int) -> float:
    return float("inf") if value < 0 else value


def _limit(value: int, what: str, where: str) -> tuple[int | None, list[Evidence]]:
    if value < 0:
        return None, [Evidence(f"{what}: unlimited, a child may grow without bound", where)]
    return value, [Evidence(what, where)]


def php_ini(host, config: FpmConfig) -> tuple[str, str] | None:
    """memory_limit from the php.ini this php-fpm reads, then its scan dir (conf.d), the
    last one wins: Debian /etc/php/VER/fpm/, RHEL /etc/php.ini and /etc/php.d/."""
    last = None
    for path in _ini_files(host, config):
        source = host.read(path, None, config.source.display)
        if source is None:
            continue
        section = ""
        for number, text in enumerate(source.lines, 1):
            try:
                statements = parse_line(text)
            except IniSyntaxError as exc:
                statements = exc.done
            for st in statements:
                if st.kind == "section":
                    section = st.name.lower()
                elif st.kind == "entry" and st.name == "memory_limit" and \
                        not section.startswith(("path=", "host=")):
                    last = (st.value or "", f"{source.display}:{number}")
    return last


def _ini_files(host, config: FpmConfig) -> list[Path]:
    main = config.source.path
    if host.mode == FILES:
        folders = [main.parent, main.parent.parent]
        found = [f / "php.ini" for f in folders if (f / "php.ini").is_file()][:1]
        return found + sorted(found[0].parent.glob("conf.d/*.ini")) if found else []
    inside = config.source.inside or str(main)
    folder = os.path.dirname(inside)
    if folder.endswith(("/php-fpm.d", "/pool.d")):
        folder = os.path.dirname(folder)
    pairs = [(f"{folder}/php.ini", f"{folder}/conf.d"), ("/etc/php.ini", "/etc/php.d"),
             (f"{folder}/php/php.ini", f"{folder}/php/conf.d")]
    for ini, scan in pairs:
        real = host.resolve(ini, "/")
        if real is not None and real.is_file():
            folder_real = host.resolve(scan, "/")
            extra = sorted(folder_real.glob("*.ini")) if folder_real and folder_real.is_dir() \
                else []
            return [real, *extra]
    return []


# -- the worst case ----------------------------------------------------------------------

class PoolCase(NamedTuple):
    """A pool's worst case: ``children`` (pm.max_children) x ``size``. ``total`` is
    None when memory_limit = -1 leaves a child unbounded."""

    config: FpmConfig
    pool: Pool
    children: int
    size: ChildSize

    @property
    def total(self) -> int | None:
        return None if self.size.bytes is None else self.children * self.size.bytes

    @property
    def location(self) -> tuple[str, int]:
        setting = self.pool.settings.get("pm.max_children")
        if setting is not None:
            return setting.source.display, setting.line
        return self.pool.source.display, self.pool.line

    @property
    def where(self) -> str:
        path, line = self.location
        return f"{path}:{line}"


def cases(host) -> list[PoolCase]:
    if "php-fpm.cases" not in host.cache:
        host.cache["php-fpm.cases"] = [
            PoolCase(c, p, p.get("pm.max_children"), child_size(host, c, p))
            for c in configs(host) if not c.failed for p in c.pools]
    return host.cache["php-fpm.cases"]


def budget(host):
    """Every pool's worst case as ledger service ``php-fpm``."""
    for case in cases(host):
        if case.total is None:
            continue
        host.ledger.add(SERVICE, case.total,
                        f"pool {case.pool.name}: pm.max_children {case.children} x "
                        f"{format_size(case.size.bytes)} ({case.size.how})", case.where, PLUGIN)


# -- rules -------------------------------------------------------------------------------

def _available(host) -> tuple[int, list[Evidence]]:
    ram = host.require("ram")
    left = host.ledger.left_for(SERVICE, ram.value)
    others = [c for c in host.ledger.consumers if c.service != SERVICE]
    evidence = [Evidence(f"RAM = {format_size(ram.value)}", ram.source)]
    evidence += [Evidence(f"- {c.service} {format_size(c.bytes)} ({c.how})", c.source)
                 for c in others]
    if others:
        evidence.append(Evidence(f"= {format_size(left)} left for PHP-FPM", "memory ledger"))
    return left, evidence


def _pool_evidence(case: PoolCase) -> list[Evidence]:
    setting = case.pool.settings.get("pm.max_children")
    evidence = [Evidence(f"pool {case.pool.name}: pm = {case.pool.get('pm')}, "
                         f"pm.max_children = {case.children}",
                         setting.where if setting else case.pool.where)]
    if setting is not None and setting.env:
        evidence.append(Evidence(f"pm.max_children comes from the environment "
                                 f"({', '.join(setting.env)}): the value here is oomaudit's "
                                 "environment, php-fpm reads its own", setting.where))
    return evidence + list(case.size.evidence)


def _fits(available: int, size: int) -> int:
    return max(available // size, 0)


def check_fpm001(host):
    """A pool's pm.max_children x per-child memory above the RAM left for PHP-FPM."""
    all_cases = cases(host)
    if not all_cases:
        return
    available, room = _available(host)
    for case in all_cases:
        path, line = case.location
        if case.total is None:
            yield Finding(
                "FPM001", f"pool {case.pool.name}: memory_limit = -1 (unlimited), so "
                          f"{case.children} children have no upper bound", path, line,
                _pool_evidence(case) + room, severity=Severity.LOW,
                fix="php_admin_value[memory_limit] = 256M   ; or declare the measured size: "
                    "process-sizes = { php-fpm = \"...\" } in .oomaudit.toml",
                key=case.pool.name)
            continue
        if case.total <= available:
            continue
        fits = _fits(available, case.size.bytes)
        yield Finding(
            "FPM001",
            f"pool {case.pool.name}: pm.max_children {case.children} x "
            f"{format_size(case.size.bytes)} per child ({case.size.how}) = "
            f"{format_size(case.total)}, more than the {format_size(available)} of RAM "
            "left for PHP-FPM", path, line,
            _pool_evidence(case) + room + [Evidence(
                f"worst case = {case.children} x {format_size(case.size.bytes)} = "
                f"{format_size(case.total)}")],
            fix=_fix(fits, available, case), key=case.pool.name)


def _fix(fits: int, available: int, case: PoolCase) -> str:
    if fits < 1:
        return ("no child fits in the RAM left for PHP-FPM: shrink the other services "
                "or move PHP-FPM to its own host")
    return (f"pm.max_children = {fits}   ; {format_size(available)} / "
            f"{format_size(case.size.bytes)} per child")


def check_fpm002(host):
    """All pools together above the RAM left for PHP-FPM; the fix keeps each pool's share."""
    bounded = [c for c in cases(host) if c.total is not None]
    if len(bounded) < 2:
        return
    total = sum(c.total for c in bounded)
    available, room = _available(host)
    if total <= available:
        return
    biggest = max(bounded, key=lambda c: c.total)
    path, line = biggest.location
    evidence = [Evidence(f"pool {c.pool.name}: {c.children} x {format_size(c.size.bytes)} "
                         f"({c.size.how}) = {format_size(c.total)}", c.where) for c in bounded]
    evidence += room
    fixes = []
    for case in bounded:
        share = available * case.total // total
        fixes.append(f"[{case.pool.name}] pm.max_children = {_fits(share, case.size.bytes)}"
                     f"   ; {case.where}, {100 * case.total / total:.0f}% of "
                     f"{format_size(available)}")
    yield Finding(
        "FPM002", f"{len(bounded)} PHP-FPM pools together need {format_size(total)} at worst, "
                  f"more than the {format_size(available)} of RAM left for PHP-FPM",
        path, line, evidence, fix="\n".join(fixes))  # key "": one per host


def check_fpm003(host):
    """pm.max_requests 0 or unset: a worker that leaks is never recycled."""
    for case in cases(host):
        setting = case.pool.settings.get("pm.max_requests")
        if setting is not None and setting.value > 0:
            continue
        path, line = (setting.source.display, setting.line) if setting else \
            (case.pool.source.display, case.pool.line)
        said = f"pm.max_requests = {setting.text}" if setting else "pm.max_requests unset (0)"
        yield Finding(
            "FPM003", f"pool {case.pool.name}: {said}: a worker that leaks memory is never "
                      "recycled", path, line,
            [Evidence(said, setting.where if setting else case.pool.where)],
            fix="pm.max_requests = 500", key=case.pool.name)

