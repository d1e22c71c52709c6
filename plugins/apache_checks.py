"""HTTPD001-HTTPD003 and Apache's share of the memory ledger: the code behind
``apache.py``, which registers it and says what a server is and how it is measured.
Imported only when there is something to check.
"""
from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import NamedTuple

from oomaudit import Evidence, Finding, MissingFact
from oomaudit.host import FILES, Measured
from oomaudit.parsers import apache
from oomaudit.parsers.apache_mpm import (
    BY_NAME,
    CANONICAL,
    COMMANDS,
    MPM_ONLY,
    MPMS,
    Limits,
    Mpm,
    Setting,
    evaluate,
)
from oomaudit.processes import processes
from oomaudit.record import Record
from oomaudit.units import format_size

from .apache import LAYOUTS, PLUGIN, READER, SNIFF_HINT

MIB = 1 << 20
PROCESS_NAMES = ("apache2", "httpd")
# Per-process sizes when nothing was measured or declared. An httpd child without an
# interpreter holds its share of the shared libraries plus request pools: 10-20 MiB RSS
# in apache2buddy reports and in `ps` on stock Debian/RHEL servers; we count 16 MiB. A
# worker thread keeps up to MaxMemFree (2 MiB by default) of freed request memory in its
# own allocator, plus the stack pages it touched (the 8 MiB stack is only reserved).
BASE = 16 * MIB
PER_THREAD = 2 * MIB
PHP_DEFAULT_LIMIT = 128 * MIB  # PHP's built-in memory_limit
APACHE2BUDDY = "apache2buddy (largest child x MaxRequestWorkers)"
_PHP_MODULE = re.compile(r"^php\d*_module$")
_TEMPLATE = ("{{", "{%", "<%")
_SNIFF = re.compile(SNIFF_HINT, re.M)


def looks_like_apache(head: str) -> bool:
    """Apache's own section tags and directives, which no other format uses: exactly
    the reader's sniff hint, which is written out in ``apache.py``."""
    return bool(_SNIFF.search(head))


# -- servers -----------------------------------------------------------------------------

class Server(Record):
    """One httpd: its configuration, the MPM in effect (``mpm_source`` says which
    LoadModule, or which guess, chose it), its limits and, live, the processes running it.
    ``limits`` is None when unknown: no MPM, a start-up error, or a template's placeholder."""

    def __init__(self, config: apache.Config, mpm: Mpm | None, mpm_source: str,
                 limits: Limits | None, procs: list | None = None,
                 error: apache.Problem | None = None):
        self.config = config
        self.mpm = mpm
        self.mpm_source = mpm_source
        self.limits = limits
        self.procs = [] if procs is None else procs
        self.error = error  # httpd would not start

    @property
    def top(self) -> str:
        return str(self.config.top)

    @property
    def php(self) -> apache.Module | None:
        return next((m for m in self.config.modules.values() if _PHP_MODULE.match(m.symbol)),
                    None)

    @property
    def usable(self) -> bool:
        return self.error is None and self.limits is not None


def servers(host) -> list[Server]:
    """Every httpd of the host, built once per run."""
    if "apache.servers" not in host.cache:
        host.cache["apache.servers"] = [_server(host, *spec) for spec in _specs(host)]
    return host.cache["apache.servers"]


def _specs(host):
    """(top real path, ServerRoot as httpd sees it, envvars, -D names, processes,
    real folder of ServerRoot in a repository)."""
    if host.mode == FILES:
        for top in _repository_tops(host):
            root, inside = _repository_root(top)
            env = root / "envvars"
            yield top, inside, env if env.is_file() else None, (), [], root
        return
    running = _running(host) if host.live else {}
    for top, root, env in LAYOUTS:
        real = host.resolve(top)
        procs = running.pop((root, top, ()), [])
        if real is not None and real.is_file():
            yield real, root, host.resolve(env) if env else None, (), procs, None
    for (root, top, defines), procs in running.items():
        real = host.resolve(top)
        if real is not None and real.is_file():
            env = host.resolve(posixpath.join(root, "envvars")) \
                if procs[0].name == "apache2" else None
            yield real, root, env, defines, procs, None


def _running(host) -> dict[tuple, list]:
    """Running httpd processes grouped by what they read: -d ROOT, -f FILE (relative to
    ROOT), -D NAMEs; without them, the binary's built-in ServerRoot and file."""
    found: dict[tuple, list] = {}
    for proc in processes(host):
        if proc.name not in PROCESS_NAMES:
            continue
        top, root, _ = LAYOUTS[0] if proc.name == "apache2" else LAYOUTS[1]
        top = posixpath.relpath(top, root)
        defines = []
        argv = list(proc.cmdline[1:])
        while argv:
            arg = argv.pop(0)
            if arg in ("-d", "-f", "-D") and argv:
                value = argv.pop(0)
            elif arg[:2] in ("-d", "-f", "-D") and len(arg) > 2:
                arg, value = arg[:2], arg[2:]
            else:
                continue
            if arg == "-d":
                root = value
            elif arg == "-f":
                top = value
            else:
                defines.append(value)
        found.setdefault((root, posixpath.join(root, top), tuple(defines)), []).append(proc)
    return found


def _repository_tops(host) -> list[Path]:
    """Every given file that no other given file includes."""
    docs = [d.source.path for d in host.documents(PLUGIN)]
    included: set[str] = set()
    for doc in docs:
        root, inside = _repository_root(doc)
        config = _loader(host, None, (), (), root).load(doc, inside)
        included |= {os.path.realpath(p) for p in config.files[1:]}
    return [d for d in docs if os.path.realpath(d) not in included]


def _repository_root(top: Path) -> tuple[Path, str]:
    """The folder that stands for ServerRoot and the ServerRoot httpd would have: RHEL's
    httpd.conf lives in ServerRoot/conf/, Debian's apache2.conf in ServerRoot itself."""
    if top.parent.name == "conf":
        return top.parent.parent, "/etc/httpd"
    return top.parent, "/etc/httpd" if "httpd" in top.name else "/etc/apache2"


def _loader(host, env: Path | None, defines, assume, real_root: Path | None,
            environ: dict[str, str] | None = None):
    cache = host.cache.setdefault("apache.files", {})

    def read(real: Path, wanted_by: str):
        if real not in cache:
            source = host.read(real, READER, wanted_by)
            cache[real] = apache.parse_file(source) if source else None
        return cache[real]

    if environ is None and env is not None:
        source = host.read(env, None, "apache2ctl")
        environ = apache.envvars(source.text) if source else {}
    return apache.Loader(read, lambda p: host.resolve(p), environ, defines, assume,
                         strict=host.mode != FILES, real_root=real_root)


def _server(host, top: Path, root: str, env, defines, procs, real_root,
            environ: dict[str, str] | None = None) -> Server:
    """Build one server; ``environ`` replaces what envvars would give (tests)."""
    config = _loader(host, env, defines, (), real_root, environ).load(top, root)
    mpms = [MPMS[m] for m in config.modules if m in MPMS]
    mpm, why = (mpms[0], config.modules[mpms[0].module].where) if mpms else (None, "")
    error = config.fatal
    if error is None and len(mpms) > 1:
        error = _top_problem(config, "Configuration error: More than one MPM loaded (AH00534)")
    if mpm is None and error is None:
        if host.mode == FILES:
            mpm, why = _assumed(config)
            config = _loader(host, env, defines, (mpm.module,), real_root,
                             environ).load(top, root)
            error = config.fatal
        elif not config.unresolved:
            error = _top_problem(config, "Configuration error: No MPM loaded (AH00534)")
    limits = None
    if mpm is not None and error is None:
        assumed = config.modules[mpm.module].path == ""
        settings, error = _mpm_settings(config, mpm, assumed=assumed)
        capacity = [d for d in config.directives if d.name.lower() in COMMANDS]
        templated = any(any(t in d.args for t in _TEMPLATE) for d in capacity)
        # Placeholders: unknown. So is a repository's vhost or conf.d file on its own: it
        # loads no MPM and sets no MPM directive, the main config decides. (A main file
        # that loads none may run a built-in MPM with its defaults: those are judged.)
        main = top.name.endswith(("httpd.conf", "apache2.conf"))
        if not templated and (capacity or not assumed or main):
            limits = evaluate(mpm, settings)
    if error is not None:
        _record(error)
    return Server(config, mpm, why, limits, procs, error)


def _top_problem(config: apache.Config, message: str) -> apache.Problem | None:
    if not config.sources:
        return None
    return apache.Problem("CONF001", config.sources[0], None,
                          f"{message}: httpd refuses to start")


def _record(problem: apache.Problem | None) -> None:
    """A problem becomes a CONF finding of its file, once however often it is built."""
    if problem is None or problem.source is None:
        return
    source = problem.source
    if not any(f.rule == problem.rule and f.line == problem.line and f.message.startswith(
            problem.message) for f in source.problems):
        fix = {"CONF002": "make the included path exist, use IncludeOptional for optional "
                          "files, and break include cycles"}.get(
            problem.rule, "correct the line as httpd's message says; check with "
                          "`apachectl configtest`")
        directive = (source.line_text(problem.line).split() or [""])[0]  # never its value
        source.problem(problem.rule, problem.line, problem.message, fix, key=directive)


def _assumed(config: apache.Config) -> tuple[Mpm, str]:
    """The MPM of a fragment that loads none: named by a file (mpm_prefork.conf), else the
    only MPM its <IfModule> sections ask about, else prefork under mod_php, else event
    (the MPM httpd 2.4 builds by default, Debian's and RHEL's too)."""
    for real in config.files:
        for mpm in BY_NAME.values():
            if f"mpm_{mpm.name}" in real.name:
                return mpm, f"assumed from the file name {real.name} (no LoadModule of an MPM)"
    asked = {m for m in MPMS.values() if {m.module, apache.source_name(m.module)}
             & config.tested}
    if len(asked) == 1:
        mpm = asked.pop()
        return mpm, "assumed: the only MPM this file's <IfModule> sections name (no " \
                    "LoadModule of an MPM)"
    if any(_PHP_MODULE.match(m) for m in config.modules):
        return BY_NAME["prefork"], "assumed: mod_php is loaded and needs prefork (no " \
                                   "LoadModule of an MPM)"
    return BY_NAME["event"], "assumed: httpd 2.4's default MPM (no LoadModule of an MPM)"


def _mpm_settings(config: apache.Config, mpm: Mpm, assumed: bool):
    """httpd's second pass over the MPM's directives: the last of each (and of its alias)
    wins; one in the wrong MPM, in a section, or with other than one argument stops httpd."""
    settings: dict[str, Setting] = {}
    names = COMMANDS
    for d in config.directives:
        lower = d.name.lower()
        if lower not in names or any(t in d.args for t in _TEMPLATE):
            continue  # not an MPM directive, or a template's placeholder
        source = d.source
        if lower in MPM_ONLY and lower not in mpm.directives:
            if assumed:
                continue
            return settings, apache.Problem(
                "CONF001", source, d.line, f"Invalid command '{d.name}', perhaps misspelled "
                f"or defined by a module not included in the server configuration (the "
                f"{mpm.name} MPM is loaded)")
        if d.sections:
            where = d.sections[-1]
            text = f"{names[lower]} cannot occur within {where}> section" \
                if where.lower() == "<virtualhost" else \
                f"{names[lower]} not allowed in {where}> context"
            return settings, apache.Problem("CONF001", source, d.line, text)
        word, rest = apache.getword(d.args)
        if not word or rest:
            return settings, apache.Problem("CONF001", source, d.line,
                                            f"{names[lower]} takes one argument")
        canonical = CANONICAL[lower]
        settings[canonical] = Setting(canonical, names[lower], word, d.path, d.line)
    return settings, None


# -- memory per process ------------------------------------------------------------------

class PerProcess(NamedTuple):
    """Memory of one httpd process: the largest live child, the size declared in the
    host profile, or the default for the MPM; ``source`` says where the figure comes from."""

    bytes: int
    how: str  # "largest RSS of 5 live children (pid ...)", "declared per-process size"...
    source: str


def per_process(host, server: Server) -> PerProcess:
    """Measured (the largest live child, as apache2buddy counts), else measured where a
    facts file was taken, else declared in the host profile, else the documented default
    for the MPM, with PHP's memory_limit on top of each interpreter."""
    children = [p for p in _children(server.procs) if p.rss is not None]
    if children:
        largest = max(children, key=lambda p: p.rss)
        average = sum(p.rss for p in children) // len(children)
        top = str(server.config.top)
        host.measured[(PLUGIN, top)] = Measured(  # what `oomaudit facts` writes
            PLUGIN, top, len(server.procs), sum(p.rss or 0 for p in server.procs), largest.rss,
            largest.rss, f"largest RSS of {len(children)} live children",
            f"live: /proc/{largest.pid}")
        return PerProcess(largest.rss, f"largest RSS of {len(children)} live children (pid "
                                       f"{largest.pid}; average {format_size(average)}), as "
                                       f"apache2buddy counts", f"live: /proc/{largest.pid}")
    facts = host.measured_size(PLUGIN)
    if facts:
        return PerProcess(facts.value, "measured per-process size (facts file)", facts.source)
    declared = _declared(host, server)
    if declared:
        return declared
    limits = server.limits
    php = server.php
    interpreter, php_source = (_php_memory_limit(host, php) if php else (0, ""))
    if limits.mpm.threaded:
        per_thread = PER_THREAD + interpreter
        how = (f"default: {format_size(BASE)} + ThreadsPerChild {limits.threads_per_child} x "
               f"{format_size(per_thread)} per thread (MaxMemFree's 2 MiB"
               + (f" + PHP memory_limit {format_size(interpreter)}" if php else "") + ")")
        return PerProcess(BASE + limits.threads_per_child * per_thread, how,
                          php_source or "oomaudit default (no live children measured)")
    how = f"default: {format_size(BASE)} per child" + (
        f" + PHP memory_limit {format_size(interpreter)} (mod_php makes each child a PHP "
        "interpreter)" if php else " (no mod_php)")
    return PerProcess(BASE + interpreter, how,
                      php_source or "oomaudit default (no live children measured)")


def _children(procs: list) -> list:
    """httpd's children: the processes whose parent is another process of the group."""
    pids = {p.pid for p in procs}
    return [p for p in procs if _parent(p.pid) in pids] or \
        [p for p in procs if p.uid not in (0, None)]


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _declared(host, server: Server) -> PerProcess | None:
    """``process-sizes = { apache = "40M" }`` in the host's [[hosts]] profile."""
    size = host.declared_size(PLUGIN, server.config.top)
    return PerProcess(size.value, "declared per-process size", size.source) if size else None


def _php_memory_limit(host, php: apache.Module) -> tuple[int, str]:
    """memory_limit of the php.ini mod_php reads (Debian /etc/php/VER/apache2/php.ini and
    its conf.d, RHEL /etc/php.ini and /etc/php.d), the last one wins; PHP's 128M default
    otherwise. -1 (no limit) counts as the default too, and says so."""
    from oomaudit.parsers.zendini import IniSyntaxError, parse_line, quantity

    version = re.search(r"php(\d+\.\d+)", php.path)
    pairs = [(f"/etc/php/{version.group(1)}/apache2/php.ini",
              f"/etc/php/{version.group(1)}/apache2/conf.d")] if version else []
    pairs.append(("/etc/php.ini", "/etc/php.d"))
    last = None
    for ini, scan in pairs if host.mode != FILES else ():
        real = host.resolve(ini)
        if real is None or not real.is_file():
            continue
        folder = host.resolve(scan)
        extra = sorted(folder.glob("*.ini")) if folder and folder.is_dir() else []
        for path in (real, *extra):
            source = host.read(path, None, php.where)
            for number, text in enumerate(source.lines if source else (), 1):
                try:
                    statements = parse_line(text)
                except IniSyntaxError as exc:
                    statements = exc.done
                last = next((((st.value or ""), f"{source.display}:{number}")
                             for st in statements
                             if st.kind == "entry" and st.name == "memory_limit"), last)
        break
    if last is not None:
        value = quantity(last[0])
        if value is not None and value > 0:
            return value, f"memory_limit = {last[0]} ({last[1]})"
        return PHP_DEFAULT_LIMIT, (f"memory_limit = {last[0]} ({last[1]}): no usable limit, "
                                   "counted as PHP's 128M default")
    return PHP_DEFAULT_LIMIT, "PHP's default memory_limit (128M; no php.ini setting found)"


# -- the worst case ----------------------------------------------------------------------

class WorstCase(Record):
    """Apache at full load: ``processes`` (``Limits.processes``) x ``per`` bytes each,
    the figure HTTPD001 judges and the memory ledger counts."""

    # Read-only by convention. Not a NamedTuple: its ``count`` (a description) would hide
    # tuple.count.

    def __init__(self, processes: int, per: PerProcess, limits: Limits):
        self.processes = processes
        self.per = per
        self.limits = limits

    __eq__ = Record.same_content

    @property
    def bytes(self) -> int:
        return self.processes * self.per.bytes

    @property
    def count(self) -> str:
        limits = self.limits
        if limits.mpm.threaded:
            return (f"{self.processes} processes (MaxRequestWorkers {limits.max_workers} / "
                    f"ThreadsPerChild {limits.threads_per_child})")
        return f"{self.processes} children (MaxRequestWorkers {limits.max_workers})"

    @property
    def how(self) -> str:
        return (f"{self.count} x {format_size(self.per.bytes)} ({self.per.how}), "
                f"{self.limits.mpm.name} MPM")


def worst_case(host, server: Server) -> WorstCase:
    return WorstCase(server.limits.processes, per_process(host, server), server.limits)


def _anchor(server: Server, *names: str) -> tuple[str, int | None]:
    """Where a finding points: the first of ``names`` set in a file, else the MPM's
    LoadModule, else the top file."""
    for name in names:
        setting = server.limits.settings.get(name)
        if setting:
            return setting.path, setting.line
    module = server.config.modules.get(server.mpm.module)
    if module and module.where != "assumed":
        path, _, line = module.where.rpartition(":")
        return path, int(line)
    return (server.config.sources[0].display if server.config.sources else server.top), None


def _mpm_evidence(server: Server) -> Evidence:
    return Evidence(f"MPM: {server.mpm.name}", server.mpm_source)


def _partial_evidence(server: Server) -> list[Evidence]:
    """What the reading could not know: includes outside the given files (a repository
    has no / of its own) and ${VARS} nobody defined (httpd keeps them as written)."""
    config = server.config
    found = [Evidence(f"not followed: include {path} (not among the given files)", where)
             for path, where in config.unresolved[:3]]
    found += [Evidence(f"${{{name}}} is not defined: httpd keeps it as written (AH00111)",
                       where) for name, where in config.undefined[:2]]
    return found


# -- rules -------------------------------------------------------------------------------

def check_httpd001(host):
    """The active MPM's processes at full load x memory per process, against the RAM
    the other services leave."""
    found = servers(host)
    if found and not any(s.usable or s.error for s in found):
        raise MissingFact("Apache's capacity", "no given file loads an MPM or sets an MPM "
                          "directive (a vhost or conf.d file alone, or template placeholders): "
                          "the main configuration decides")
    for server in found:
        if not server.usable:
            continue
        ram = host.require("ram")
        worst = worst_case(host, server)
        left = host.ledger.left_for(PLUGIN, ram.value)
        if worst.bytes <= left:
            continue
        limits = server.limits
        evidence = [_mpm_evidence(server),
                    Evidence(f"MaxRequestWorkers = {limits.max_workers} (effective)",
                             limits.origin("MaxRequestWorkers"))]
        if limits.mpm.threaded:
            evidence += [Evidence(f"ThreadsPerChild = {limits.threads_per_child}",
                                  limits.origin("ThreadsPerChild")),
                         Evidence(f"ServerLimit = {limits.server_limit}",
                                  limits.origin("ServerLimit"))]
        evidence += [Evidence(f"per process: {format_size(worst.per.bytes)} ({worst.per.how})",
                              worst.per.source),
                     Evidence(f"worst case = {worst.count} x {format_size(worst.per.bytes)} = "
                              f"{format_size(worst.bytes)}", APACHE2BUDDY),
                     Evidence(f"RAM = {format_size(ram.value)}", ram.source)]
        others = [c for c in host.ledger.consumers if c.service != PLUGIN]
        evidence += [Evidence(f"{c.service} claims {format_size(c.bytes)} ({c.how})", c.source)
                     for c in others]
        evidence.append(Evidence(
            f"left for Apache = RAM {format_size(ram.value)} - others "
            f"{format_size(ram.value - left)} = {format_size(left)}", "memory ledger"))
        evidence += _partial_evidence(server)
        path, line = _anchor(server, "MaxRequestWorkers")
        yield Finding("HTTPD001", f"Apache's worst case {format_size(worst.bytes)} "
                                  f"({limits.mpm.name}: {worst.processes} processes x "
                                  f"{format_size(worst.per.bytes)}) exceeds the "
                                  f"{format_size(max(left, 0))} of RAM left for it",
                      path, line, evidence, fix=_fit(worst, left))  # key "": one per server


def _fit(worst: WorstCase, left: int) -> str:
    limits = worst.limits
    processes = max(left, 0) // worst.per.bytes
    if processes < 1:
        return ("no MaxRequestWorkers fits: the other services already take the RAM; lower "
                "their limits, move Apache to its own host, or add RAM")
    if limits.mpm.threaded:
        return (f"MaxRequestWorkers {processes * limits.threads_per_child}   # {processes} "
                f"processes x ThreadsPerChild {limits.threads_per_child} = "
                f"{format_size(processes * worst.per.bytes)} of the {format_size(left)} left")
    return (f"MaxRequestWorkers {processes}   # x {format_size(worst.per.bytes)} per child = "
            f"{format_size(processes * worst.per.bytes)} of the {format_size(left)} left")


def check_httpd002(host):
    """Values the MPM moved into range at start-up, with httpd's own warning."""
    for server in servers(host):
        if not server.usable:
            continue
        for clamp in server.limits.clamps:
            setting = clamp.setting
            path, line = (setting.path, setting.line) if setting else \
                _anchor(server, "ServerLimit", "ThreadsPerChild", "ThreadLimit")
            shown = f"{setting.written} {setting.text}" if setting else \
                f"{clamp.name} (default {clamp.configured})"
            evidence = [_mpm_evidence(server),
                        Evidence(f"{shown}", setting.where if setting else
                                 f"{server.mpm.name} MPM default"),
                        Evidence(clamp.message, f"httpd's {server.mpm.name} MPM at start-up "
                                                "(apachectl -t prints it)")]
            yield Finding("HTTPD002", f"{clamp.name} {clamp.configured} is not what httpd "
                                      f"runs: the {server.mpm.name} MPM silently uses "
                                      f"{clamp.effective} ({clamp.message.split(':')[0]})",
                          path, line, evidence, fix=_clamp_fix(server, clamp), key=clamp.name)


def _clamp_fix(server: Server, clamp) -> str:
    limits = server.limits
    if clamp.name == "MaxRequestWorkers" and clamp.effective < clamp.configured and \
            limits.mpm.threaded and clamp.configured > limits.server_limit * \
            limits.threads_per_child:
        need = -(-clamp.configured // limits.threads_per_child)
        return (f"MaxRequestWorkers {clamp.effective}   # what runs now; or ServerLimit {need} "
                f"if {clamp.configured} workers fit in RAM (see HTTPD001)")
    if clamp.name == "MaxRequestWorkers" and not limits.mpm.threaded and \
            clamp.effective < clamp.configured:
        return (f"MaxRequestWorkers {clamp.effective}   # what runs now; or ServerLimit "
                f"{clamp.configured} if {clamp.configured} children fit in RAM (see HTTPD001)")
    return f"{clamp.name} {clamp.effective}   # the value httpd uses anyway"


def check_httpd003(host):
    """mod_php children that are never recycled keep whatever PHP leaked."""
    for server in servers(host):
        if not server.usable or server.php is None:
            continue
        limits = server.limits
        if limits.max_connections_per_child != 0:
            continue
        setting = limits.settings.get("MaxConnectionsPerChild")
        php = server.php
        if setting:
            path, line = setting.path, setting.line
        else:
            path, _, number = php.where.rpartition(":")
            line = int(number) if number.isdigit() else None
        evidence = [Evidence(f"mod_php loaded: LoadModule {php.symbol} {php.path}", php.where),
                    Evidence(f"{setting.written} {setting.text}" if setting else
                             "MaxConnectionsPerChild unset: httpd 2.4's default is 0",
                             setting.where if setting else "httpd 2.4 default"),
                    _mpm_evidence(server)]
        yield Finding("HTTPD003", "MaxConnectionsPerChild is 0 with mod_php loaded: a child "
                                  "that leaks PHP memory is never replaced",
                      path, line, evidence,
                      fix="MaxConnectionsPerChild 1000   # recycle each child after 1000 "
                          "connections", key="MaxConnectionsPerChild")


def budget(host):
    """Every usable server's worst case as ledger service ``apache``."""
    for server in servers(host):
        if not server.usable:
            continue
        worst = worst_case(host, server)
        path, line = _anchor(server, "MaxRequestWorkers")
        host.ledger.add(PLUGIN, worst.bytes, worst.how,
                        f"{path}:{line}" if line else path, PLUGIN)

