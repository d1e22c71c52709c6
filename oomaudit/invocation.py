"""From a command's arguments to an audit: the plugins' registry, the settings (``--config``,
each file's closest config, ``--select``/``--ignore``/``--fail-on`` over them), the hosts of
the targets (``PATH...``, ``--root`` or this host, with ``--ram``/``--swap``/``--facts``),
the rule patterns checked, the KLOG window of ``--since``, and the report. ``scan``,
``check``, ``budget``, ``facts`` and each side of ``diff`` start here, so they audit alike."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:  # the engine is imported by the commands that run it
    from .config import Settings
    from .engine import Registry
    from .host import Fact, Host


def load_registry(args: argparse.Namespace) -> Registry:
    from .engine import Registry
    from .manager import load_plugins

    return Registry.build(load_plugins(disable_third_party=args.no_plugins))


def _adjust(args: argparse.Namespace):
    """The command line over every config: --select replaces, --ignore adds, --fail-on
    replaces."""
    def adjust(settings: Settings) -> None:
        settings.select = args.select or settings.select
        settings.ignore = settings.ignore + args.ignore
        if args.fail_on is not None:
            settings.fail_on = args.fail_on
    return adjust


def settings_for(args: argparse.Namespace, path: Path | None) -> Settings:
    """The config named by --config, or the host's for ``scan``; the defaults without one."""
    from . import config as config_mod

    if args.config:
        path = Path(args.config)
        if not path.is_file():  # a directory is "not a file", not "no such file"
            why = "not a file" if path.exists() else "no such file"
            raise UsageError(f"--config {args.config}: {why}")
    settings = config_mod.load(path) if path else config_mod.Settings()
    _adjust(args)(settings)
    return settings


def _declared(args: argparse.Namespace) -> dict[str, Fact]:
    from .host import Fact

    return {key: Fact(getattr(args, key), f"declared: --{key}")
            for key in ("ram", "swap") if getattr(args, key) is not None}


def hosts_for(args, registry: Registry, notices: list[str],
              progress=None) -> tuple[list[Host], Settings, str]:
    """The hosts to audit, the run's settings and the report's target: the PATHs given,
    grouped by host profile (each file under its closest config unless --config), else
    the tree of --root or this host."""
    from .discovery import file_hosts, system_host

    paths = getattr(args, "paths", None)
    if paths and getattr(args, "root", None):
        raise UsageError("give either --root DIR or PATHs, not both")
    if paths:
        for p in paths:
            if not Path(p).exists() and not Path(p).is_symlink():
                raise UsageError(f"{p}: no such file or directory")
        from .config import Configs
        from .confine import JAIL, Tree
        from .fingerprint import repository_root

        paths = sorted(dict.fromkeys(paths))  # the report does not depend on their order
        configs = None if args.config else Configs(_adjust(args))  # each file's closest
        settings = configs.for_run(paths) if configs else settings_for(args, None)
        repository = repository_root(paths, settings.path)
        hosts = file_hosts(paths, registry.readers, settings, _declared(args), notices,
                           registry.plugins.errors, configs, repository,
                           Tree(jail_for(paths, repository), JAIL, settings.max_file_size),
                           progress)
        if configs:
            notices += _run_level(configs, settings)
        if getattr(args, "facts", None):
            _apply_facts(args, hosts)
        return hosts, settings, " ".join(paths)
    root = Path(args.root) if args.root else None
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {args.root}: not a directory")
    from .config import system_config

    settings = settings_for(args, system_config())
    host = system_host(root, registry.readers, settings, _declared(args))
    if getattr(args, "facts", None):
        if root is None:
            raise UsageError("--facts is for a repository or a tree: a live scan measures "
                             "this host itself")
        _apply_facts(args, [host])
    return [host], settings, str(root) if root else "live host"


def jail_for(targets: list[str], repository: Path) -> Path:
    """What ``check`` confines reads to: the repository holding the targets (the git work
    tree, else the config's folder or the working directory) when every target is inside
    it, else the folder they all share."""
    top = os.path.abspath(repository)
    folders = [os.path.abspath(t if os.path.isdir(t) else os.path.dirname(os.path.abspath(t)))
               for t in targets]
    if all(f == top or f.startswith(top.rstrip("/") + "/") for f in folders):
        return Path(top)
    return Path(os.path.commonpath(folders))


def _apply_facts(args, hosts: list[Host]) -> None:
    """--facts FILE on every host, over its profile's; --ram/--swap still win."""
    from .facts import load

    measured = load(Path(args.facts), "--facts")
    for host in hosts:
        measured.apply(host)
        host.facts.update(_declared(args))


def _run_level(configs, settings: Settings) -> list[str]:
    """fail-on and baseline are set once per run: a config below the targets' common folder
    that sets another is not obeyed, and says so rather than seeming to be."""
    from .host import printable

    source = printable(str(settings.path)) if settings.path else "the default"
    notices = []
    for other in configs.loaded.values():
        for key, mine, run in (
                ("fail-on", other.fail_on.label, settings.fail_on.label),
                ("baseline", other.baseline, settings.baseline)):
            if key in other.written and mine != run:
                shown = f"'{printable(str(run))}'" if run else "none"
                notices.append(f"{printable(str(other.path))}: {key} = '{printable(str(mine))}' "
                               f"not applied: {key} is one per run, from --{key} or the config "
                               f"closest to the targets' common folder ({source}: {shown})")
    return notices


def audited(args, registry: Registry, command: str, root: Path | None = None):
    """The audit scan and check make, and each side of ``diff``: the hosts, every config's
    rule patterns checked, the KLOG window of ``--since``, then the report with what was
    noticed on the way. ``root``: what paths are relative to in fingerprints (default: the
    repository of the checked paths). Returns (report, hosts, settings, log cursor or None)."""
    from .engine import audit
    from .pool import workers
    from .progress import Progress

    notices: list[str] = []
    progress = Progress.for_run(getattr(args, "quiet", False))
    hosts, settings, target = hosts_for(args, registry, notices, progress)
    every = {id(s): s for s in (settings, *(h.settings for h in hosts))}.values()
    _check_patterns(args, list(every), registry, notices)
    cursor = _klog_window(args, hosts)
    report = audit(registry, hosts, settings, command, target,
                   root or fingerprint_root(args, settings), progress,
                   workers(getattr(args, "jobs", 0), hosts))
    progress.clear()
    report.notices[:0] = notices
    if cursor is not None:
        report.notices += cursor.notices
    return report, hosts, settings, cursor


def _klog_window(args, hosts: list[Host]):
    """``scan --since WHEN``: the KLOG rules' window on each host (``klog.window`` in its
    cache; 30 days without it). ``last`` also opens the scan's log cursor (``klog.cursor``),
    before any log is read: a state folder that cannot be written stops the run here."""
    since = getattr(args, "since", None)
    if since is None:
        if getattr(args, "state_dir", None):
            raise UsageError("--state-dir keeps the position of --since last; without it "
                             "there is nothing to keep")
        return None
    from .logview import parse_since

    last = since.strip().lower() == "last"
    window = parse_since("30d" if last else since)
    cursor = None
    if last:
        from .logcursor import Cursor, state_dir

        cursor = Cursor.load(state_dir(args.state_dir), "scan")
    for host in hosts:
        host.cache["klog.window"] = window
        if cursor is not None:
            host.cache["klog.cursor"] = cursor
    return cursor


def fingerprint_root(args, settings: Settings) -> Path | None:
    """What a config repository's paths are relative to in fingerprints (a tree and the
    live host are their own root)."""
    if not getattr(args, "paths", None):
        return None
    from .fingerprint import repository_root

    return repository_root(args.paths, settings.path)


def _check_patterns(args, every: list[Settings], registry: Registry,
                    notices: list[str]) -> None:
    """A select pattern that matches no rule would audit nothing and pass (a typo in CI):
    an error, as in ruff. An ignore pattern that matches none only hides nothing: a notice.
    ``every``: each config in force (``check`` may have several)."""
    def unmatched(patterns: list[str]) -> list[str]:
        return [p for p in patterns
                if not any(rule.startswith(p.upper()) for rule in registry.rules)]

    for settings in every:
        unknown = unmatched(settings.select)
        if unknown:
            from .config import location

            where = "--select" if args.select else location(settings.path, "select")
            raise UsageError(f"{where}: {', '.join(unknown)} matches no rule ('oomaudit rules' "
                             "lists them; a third-party rule needs its plugin installed)")
    ignored = [i for s in every
               for i in s.ignore + [i for ids in s.per_path_ignores.values() for i in ids]]
    notices += [f"ignore pattern {p!r} matches no rule" for p in dict.fromkeys(unmatched(ignored))]
