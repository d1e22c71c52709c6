"""One function per subcommand: turn parsed arguments into a report and an exit code."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:  # the engine is imported by the commands that run it, not by `logs`
    from .config import Settings
    from .engine import Registry
    from .host import Fact, Host
    from .report import Reporter


def _registry(args: argparse.Namespace) -> Registry:
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


def _given(args: argparse.Namespace, path: Path | None) -> Settings:
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


def _hosts(args, registry: Registry, notices: list[str]) -> tuple[list[Host], Settings, str]:
    from .discovery import file_hosts, system_host

    paths = getattr(args, "paths", None)
    if paths and getattr(args, "root", None):
        raise UsageError("give either --root DIR or PATHs, not both")
    if paths:
        for p in paths:
            if not Path(p).exists() and not Path(p).is_symlink():
                raise UsageError(f"{p}: no such file or directory")
        from .config import Configs
        from .fingerprint import repository_root

        paths = sorted(dict.fromkeys(paths))  # the report does not depend on their order
        configs = None if args.config else Configs(_adjust(args))  # each file's closest
        settings = configs.for_run(paths) if configs else _given(args, None)
        hosts = file_hosts(paths, registry.readers, settings, _declared(args), notices,
                           registry.plugins.errors, configs,
                           repository_root(paths, settings.path))
        if configs:
            notices += _run_level(configs, settings)
        if getattr(args, "facts", None):
            _apply_facts(args, hosts)
        return hosts, settings, " ".join(paths)
    root = Path(args.root) if args.root else None
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {args.root}: not a directory")
    from .config import system_config

    settings = _given(args, system_config())
    host = system_host(root, registry.readers, settings, _declared(args))
    if getattr(args, "facts", None):
        if root is None:
            raise UsageError("--facts is for a repository or a tree: a live scan measures "
                             "this host itself")
        _apply_facts(args, [host])
    return [host], settings, str(root) if root else "live host"


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

    notices: list[str] = []
    hosts, settings, target = _hosts(args, registry, notices)
    every = {id(s): s for s in (settings, *(h.settings for h in hosts))}.values()
    _check_patterns(args, list(every), registry, notices)
    cursor = _klog_window(args, hosts)
    report = audit(registry, hosts, settings, command, target,
                   root or _repository_root(args, settings))
    report.notices[:0] = notices
    if cursor is not None:
        report.notices += cursor.notices
    return report, hosts, settings, cursor


def _report(args, command: str) -> int:
    from .cli import wants_color, write

    registry = _registry(args)
    outputs = _outputs(args, registry)
    report, hosts, settings, cursor = audited(args, registry, command)
    given, written = getattr(args, "baseline", None), getattr(args, "write_baseline", None)
    if given or written or settings.baseline:
        from .baseline import settle

        settle(report, hosts, settings, given, written, getattr(args, "paths", None))
    report.exit_zero = args.exit_zero
    report.quiet, report.statistics = args.quiet, args.statistics
    texts = []  # every format rendered before any is written: all reports or none
    for reporter, output in outputs:
        try:
            texts.append(reporter.render(report, wants_color(args, output not in (None, "-"))))
        except Exception as exc:  # a plugin's format: name it; the report is lost, say why
            if args.debug:
                raise
            raise UsageError(f"--format {reporter.name}: reporter of plugin "
                             f"'{reporter.plugin}' failed: {type(exc).__name__}: {exc}") from None
    _refuse_inputs(outputs, hosts)
    for text, (_, output) in zip(texts, outputs, strict=True):
        write(text, output)
    if cursor is not None:
        cursor.commit()  # once the report is out: a report lost is no kill lost
    _print_errors(report.errors)
    return report.exit_code()


def _refuse_inputs(outputs, hosts: list[Host]) -> None:
    """``-o my.cnf`` on an audit of my.cnf would replace the config with its report:
    oomaudit never writes to what it audits."""
    read = {os.path.realpath(path) for host in hosts for path in host.sources}
    for _, output in outputs:
        if output not in (None, "-") and os.path.realpath(output) in read:
            raise UsageError(f"--output {output}: is a file this audit read; oomaudit never "
                             "writes to what it audits")


def _outputs(args, registry: Registry) -> list[tuple[Reporter, str | None]]:
    """Each --format with its --output (None or "-": standard output), paired in order as
    checkov pairs them: one audit, several reports. One format may go without --output."""
    formats, outputs = args.format or ["text"], args.output or []
    if len(formats) > 1 or len(outputs) > 1:
        if len(outputs) != len(formats):
            raise UsageError(f"{len(formats)} --format and {len(outputs)} --output: give one "
                             "--output per --format, paired in order ('-' is standard output)")
        seen: set[str] = set()
        for output in outputs:
            real = output if output == "-" else os.path.realpath(output)
            if real in seen:
                raise UsageError(f"--output {output}: given twice; each report needs its own "
                                 "file")
            seen.add(real)
    pairs = []
    for name, output in zip(formats, outputs or [None], strict=False):
        reporter = registry.reporters.get(name)
        if reporter is None:
            raise UsageError(f"--format {name}: unknown format "
                             f"(available: {', '.join(sorted(registry.reporters))})")
        pairs.append((reporter, output))
    return pairs


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

        cursor = Cursor.open(state_dir(args.state_dir), "scan")
    for host in hosts:
        host.cache["klog.window"] = window
        if cursor is not None:
            host.cache["klog.cursor"] = cursor
    return cursor


def _repository_root(args, settings: Settings) -> Path | None:
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


def scan(args: argparse.Namespace) -> int:
    return _report(args, "scan")


def check(args: argparse.Namespace) -> int:
    return _report(args, "check")


def diff(args: argparse.Namespace) -> int:
    from .diff import run

    return run(args)


def budget(args: argparse.Namespace) -> int:
    """The ledger judged by HOST002 alone, with the settings scan/check would use (severity
    overrides, fail-on): budget exits 1 exactly when their HOST002 fails. --select/--ignore
    would only switch that one rule off, and the ledger counts every plugin's consumers as
    HOST002 does, so they are refused rather than quietly meaning nothing."""
    from .cli import wants_color, write
    from .engine import audit
    from .reporters import budget as budget_view
    for given, option in ((args.select, "--select"), (args.ignore, "--ignore")):
        if given:
            raise UsageError(f"{option} does not apply to budget: it counts every consumer and "
                             "exits 1 when HOST002 fails (use --fail-on or --exit-zero)")
    if args.format not in ("text", "json"):
        raise UsageError(f"--format {args.format}: budget prints text or json")
    registry = _registry(args)
    notices: list[str] = []
    hosts, settings, target = _hosts(args, registry, notices)
    for judged in {id(s): s for s in (settings, *(h.settings for h in hosts)) if s}.values():
        judged.select, judged.ignore = [budget_view.RULE], []
    report = audit(registry, hosts, settings, "budget", target, _repository_root(args, settings))
    report.notices[:0] = notices
    report.exit_zero = args.exit_zero
    render = budget_view.json_view if args.format == "json" else budget_view.text_view
    write(render(report, wants_color(args)), args.output)
    _print_errors(report.errors)
    return report.exit_code()


def rules(args: argparse.Namespace) -> int:
    registry = _registry(args)
    if args.format == "json":
        import json
        rows = [{"id": r.id, "title": r.title, "severity": r.severity.label, "plugin": r.plugin,
                 "rationale": r.rationale, "fix": r.fix, "references": r.references}
                for r in registry.rules.values()]
        print(json.dumps(rows, indent=2))
    elif args.format == "markdown":
        print("| id | severity | title |\n|---|---|---|")
        for r in registry.rules.values():
            print(f"| {r.id} | {r.severity.label} | {r.title} |")
    else:
        for r in registry.rules.values():
            print(f"{r.id:<14} {r.severity.label:<9} {r.plugin:<10} {r.title}")
    _print_errors(registry.plugins.errors)
    return 2 if registry.plugins.errors else 0


def explain(args: argparse.Namespace) -> int:
    registry = _registry(args)
    wanted = args.rule.strip().upper()
    rule = registry.rules.get(wanted)
    if rule is None:  # a prefix lists its rules: `explain SWAP`
        matches = [r for r in registry.rules.values() if wanted and r.id.startswith(wanted)]
        if not matches:
            raise UsageError(f"unknown rule {args.rule!r}: no rule id is or starts with it; "
                             "'oomaudit rules' lists them")
        for r in matches:
            print(f"{r.id:<14} {r.severity.label:<9} {r.title}")
        _print_errors(registry.plugins.errors)
        return 2 if registry.plugins.errors else 0
    print(f"{rule.id}: {rule.title}\n\nDefault severity: {rule.severity.label}"
          f" (plugin '{rule.plugin}')")
    for heading, text in (("Why it matters", rule.rationale), ("Fix", rule.fix),
                          ("Example", rule.example),
                          ("Fingerprint key (with the rule, the host and the file's path from "
                           "the repository or tree root)", rule.fingerprint)):
        if text:
            print(f"\n{heading}\n{text}")
    if rule.references:
        print("\nReferences\n" + "\n".join(f"- {ref}" for ref in rule.references))
    return 0


def logs(args: argparse.Namespace) -> int:
    """Kills in the files given (whole, unless --since says otherwise: last year's log is
    given for last year's kills) or this host's logs (the last 30 days); ``--since last``
    resumes where the previous such run stopped (oomaudit/logcursor.py)."""
    from . import logsources, logview
    from .cli import write
    from .host import terminal
    since = args.since or ("all" if args.files else "30d")
    last = since.strip().lower() == "last"
    if args.state_dir and not last:
        raise UsageError("--state-dir keeps the position of --since last; without it there "
                         "is nothing to keep")
    window = logview.parse_since(("all" if args.files else "30d") if last else since)
    if args.files:
        for name in args.files:
            if name != "-" and not Path(name).is_file() and not (
                    last and not os.path.lexists(name) and logsources.rotations(Path(name))):
                try:
                    os.stat(name)
                    why = "not a regular file"
                except OSError as exc:  # missing, a symlink loop, a folder we may not enter
                    why = "no such file" if isinstance(exc, FileNotFoundError) else (
                        exc.strerror or str(exc)).lower()
                raise UsageError(f"{name}: {why}")
    if last:
        cursor, scan, window = _since_last(args, window)
    else:
        if args.files:
            streams = [logsources.stdin_stream() if f == "-" else
                       logsources.file_stream(Path(f)) for f in args.files]
            tried: list = []
        else:
            streams, tried = logsources.live_streams(window.start)
        scan = logsources.read_events(streams, window.start, tried)
    render = logview.render_json if args.format == "json" else logview.render_text
    write(render(scan, window), args.output)
    if last:
        cursor.commit()  # once the report is out: a report lost is no kill lost
        for notice in cursor.notices:
            print(f"oomaudit: notice: {terminal(notice)}", file=sys.stderr)
    for problem in scan.errors:
        print(f"oomaudit: error: could not read {problem}", file=sys.stderr)
    if (args.files and scan.errors) or not any(t.status == "read" for t in scan.tried):
        return 2
    return 1 if scan.events else 0


def facts(args: argparse.Namespace) -> int:
    """What this host (or a tree) measures, as JSON (oomaudit/facts.py): every plugin
    collects as in a scan, and the KLOG rules count the kills."""
    from . import facts as facts_mod
    from .cli import write
    from .config import system_config
    from .discovery import system_host
    from .engine import audit

    registry = _registry(args)
    root = Path(args.root) if args.root else None
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {args.root}: not a directory")
    settings = _given(args, system_config())
    settings.select, settings.ignore = ["KLOG"], []  # rules only for the kills
    host = system_host(root, registry.readers, settings, {})
    report = audit(registry, [host], settings, "facts", str(root) if root else "live host")
    notices = [d.message for d in host.diagnostics if d.rule == "CONF003"]
    write(facts_mod.render(facts_mod.build(host, notices)), args.output)
    _print_errors(report.errors)
    return 2 if report.errors else 0


def fleet(args: argparse.Namespace) -> int:
    from . import fleetview
    from .cli import write
    from .fleet import collect

    merged = collect(args.directory, metrics=args.format == "prometheus")
    if not merged.hosts:
        for notice in merged.notices:
            print(f"oomaudit: notice: {notice}", file=sys.stderr)
        raise UsageError(f"{args.directory}: no oomaudit report read (expected "
                         "HOST/report.json or HOST.json; see 'oomaudit fleet --help')")
    if args.format == "json":
        out = fleetview.render_json(merged, args.fail_on, args.exit_zero)
    elif args.format == "prometheus":
        out = fleetview.render_prometheus(merged)
    else:
        out = fleetview.render_text(merged, args.fail_on, args.exit_zero, args.top)
    write(out, args.output)
    return fleetview.exit_code(merged, args.fail_on, args.exit_zero)


def _since_last(args: argparse.Namespace, window):
    """``logs --since last``: the kills after the positions the previous run saved, the
    cursor to commit, and how to name the window."""
    from .logcursor import Cursor, since_last, state_dir
    from .logview import Window

    for name in args.files:
        if name == "-":
            raise UsageError("--since last: stdin has no position to resume from; name the "
                             "log file")
        if name.endswith(".gz"):
            raise UsageError(f"--since last follows a log as it grows; {name} is a "
                             "compressed rotation (name the live log: its rotations "
                             "beside it are found)")
    cursor = Cursor.open(state_dir(args.state_dir), "logs")
    scan = since_last(cursor, window.start, files=[Path(f) for f in args.files],
                      log_dir=None if args.files else Path("/var/log"), live=not args.files)
    if cursor.fresh:
        window = Window(window.start, f"{window.label} (no position saved yet)")
    else:
        shown = cursor.previous.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
        window = Window(cursor.previous, f"since the previous run ({shown})")
    return cursor, scan, window


def _print_errors(errors: list[str]) -> None:
    from .host import terminal

    for error in errors:
        print(f"oomaudit: error: {terminal(error)}", file=sys.stderr)
