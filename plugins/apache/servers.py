"""Apache's servers: each httpd of a host (the distributions' layouts, the running
httpds with their ``-d``/``-f``/``-D``) or of a repository (each given file no other
includes), its configuration built as httpd builds it, the MPM it runs and its limits,
once per run. Where httpd would not start, the problem is a CONF finding of its file.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

from oomaudit.enabled import files_in_force
from oomaudit.host import FILES
from oomaudit.parsers.apache_config import Config, Module, Problem, source_name
from oomaudit.parsers.apache_loader import Loader
from oomaudit.parsers.apache_mpm import COMMANDS, MPMS, Limits, Mpm, evaluate
from oomaudit.parsers.apache_syntax import envvars, parse_file
from oomaudit.processes import processes
from oomaudit.record import Record

from .constants import LAYOUTS, PLUGIN, READER
from .mpm import PHP_MODULE, TEMPLATE, assumed_mpm, mpm_settings

PROCESS_NAMES = ("apache2", "httpd")


class Server(Record):
    """One httpd: its configuration, the MPM in effect (``mpm_source`` says which
    LoadModule, or which guess, chose it), its limits and, live, the processes running it.
    ``limits`` is None when unknown: no MPM, a start-up error, or a template's placeholder."""

    def __init__(self, config: Config, mpm: Mpm | None, mpm_source: str,
                 limits: Limits | None, procs: list | None = None,
                 error: Problem | None = None):
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
    def php(self) -> Module | None:
        return next((m for m in self.config.modules.values() if PHP_MODULE.match(m.symbol)),
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
    real folder of ServerRoot in a repository, its configuration when built already)."""
    if host.mode == FILES:
        for top, config in _repository_tops(host).items():
            root, inside = _repository_root(top)
            env = root / "envvars"
            if host.fs.is_file(env):  # finding the tops read it without: build it again
                yield top, inside, env, (), [], root, None
            else:
                yield top, inside, None, (), [], root, config
        return
    running = _running(host) if host.live else {}
    for top, root, env in LAYOUTS:
        real = host.resolve(top)
        procs = running.pop((root, top, ()), [])
        if real is not None and host.fs.is_file(real):
            yield real, root, host.resolve(env) if env else None, (), procs, None, None
    for (root, top, defines), procs in running.items():
        real = host.resolve(top)
        if real is not None and host.fs.is_file(real):
            env = host.resolve(posixpath.join(root, "envvars")) \
                if procs[0].name == "apache2" else None
            yield real, root, env, defines, procs, None, None


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


def _repository_tops(host) -> dict[Path, Config]:
    """Every given file in force (not an alternative a Debian ``*-available`` folder holds
    beside the enabled set: ``oomaudit.enabled``) that no other given file includes. Of a
    module's ``NAME.load`` and ``NAME.conf`` given side by side (a2enmod links both, the
    main file includes the one, then the other), the ``.conf`` stands for the module: one
    module, judged once, its MPM named by the file. A file given twice (an enabled link
    and the file it links to) is one file, named by the link httpd reads it through.
    Each with its configuration as read to find them (no envvars, no -D), which its server
    takes when it has no envvars either."""
    docs = files_in_force(host.fs, (d.source.path for d in host.documents(PLUGIN)),
                          ("apache2.conf",))
    given = set(docs)
    docs = [d for d in docs if d.suffix != ".load" or d.with_suffix(".conf") not in given]
    included: set[str] = set()
    built: dict[Path, Config] = {}
    for doc in docs:
        if host.fs.real(doc) in included:  # read already, with what it includes: not a top
            continue  # (loading each link of an include chain again read it n x 128 deep)
        root, inside = _repository_root(doc)
        built[doc] = _loader(host, None, (), (), root).load(doc, inside)
        included |= {host.fs.real(p) for p in built[doc].files[1:]}
    return {d: built[d] for d in docs if host.fs.real(d) not in included}


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
            cache[real] = (host.document_of(source, READER.name) or parse_file(source)) \
                if source else None
        return cache[real]

    if environ is None and env is not None:
        source = host.read(env, None, "apache2ctl")
        environ = envvars(source.text) if source else {}
    return Loader(read, lambda p: host.resolve(p), environ, defines, assume,
                         strict=host.mode != FILES, real_root=real_root, fs=host.fs)


def _server(host, top: Path, root: str, env, defines, procs, real_root,
            config: Config | None = None, environ: dict[str, str] | None = None) -> Server:
    """Build one server (``config``: its configuration, when built already); ``environ``
    replaces what envvars would give (tests)."""
    if config is None:
        config = _loader(host, env, defines, (), real_root, environ).load(top, root)
    mpms = [MPMS[m] for m in config.modules if m in MPMS]
    mpm, why = (mpms[0], config.modules[mpms[0].module].where) if mpms else (None, "")
    error = config.fatal
    if error is None and len(mpms) > 1:
        error = _top_problem(config, "Configuration error: More than one MPM loaded (AH00534)")
    if mpm is None and error is None:
        if host.mode == FILES:
            mpm, why = assumed_mpm(config)
            config = _assuming(config, mpm.module, lambda: _loader(
                host, env, defines, (mpm.module,), real_root, environ).load(top, root))
            error = config.fatal
        elif not config.unresolved:
            error = _top_problem(config, "Configuration error: No MPM loaded (AH00534)")
    limits = None
    if mpm is not None and error is None:
        assumed = config.modules[mpm.module].path == ""
        settings, error = mpm_settings(config, mpm, assumed=assumed)
        capacity = [d for d in config.directives if d.name.lower() in COMMANDS]
        templated = any(any(t in d.args for t in TEMPLATE) for d in capacity)
        # Placeholders: unknown. So is a repository's vhost or conf.d file on its own: it
        # loads no MPM and sets no MPM directive, the main config decides. (A main file
        # that loads none may run a built-in MPM with its defaults: those are judged.)
        main = top.name.endswith(("httpd.conf", "apache2.conf"))
        if not templated and (capacity or not assumed or main):
            limits = evaluate(mpm, settings)
    if error is not None:
        _record(error)
    return Server(config, mpm, why, limits, procs, error)


def _assuming(config: Config, module: str, build) -> Config:
    """``config`` read again with ``module`` taken as loaded (``build()``). When no
    ``<IfModule>`` it evaluated asked about that module, every section goes the same way
    and the read would be the same: the module is only added, first, as the loader adds
    an assumed one."""
    if {module, source_name(module)} & config.tested:
        return build()
    config.modules = {module: Module(module, "", "assumed"), **config.modules}
    return config


def _top_problem(config: Config, message: str) -> Problem | None:
    if not config.sources:
        return None
    return Problem("CONF001", config.sources[0], None, f"{message}: httpd refuses to start")


def _record(problem: Problem | None) -> None:
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


def anchor(server: Server, *names: str) -> tuple[str, int | None]:
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
