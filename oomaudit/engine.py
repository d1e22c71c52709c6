"""The pipeline, one way: parse every host's files, collect live facts, fill the ledger,
run each rule, then filter (select/ignore, per-path ignores, inline suppressions) and
hand a :class:`Report` to the reporters.
"""
from __future__ import annotations

from pathlib import Path

from . import __version__, templates
from .config import Settings
from .host import FILES, ROOT, Host
from .manager import Plugins
from .model import Evidence, Finding, MissingFact, Rule, Severity
from .reading import Reader
from .record import Record
from .report import ERROR, FAILED, PASSED, SKIPPED, HostFacts, Read, Report, Reporter, RuleRun


class Registry(Record):
    """Everything the loaded plugins provide, indexed once per run."""

    def __init__(self, plugins: Plugins, rules: dict[str, Rule], readers: dict[str, Reader],
                 reporters: dict[str, Reporter]):
        self.plugins = plugins
        self.rules = rules
        self.readers = readers
        self.reporters = reporters

    @classmethod
    def build(cls, plugins: Plugins) -> Registry:
        rules, readers, reporters = {}, {}, {}
        for kind, table, wanted in (("oomaudit_rules", rules, Rule),
                                    ("oomaudit_readers", readers, Reader),
                                    ("oomaudit_reporters", reporters, Reporter)):
            for plugin, item in plugins.collected(kind):
                if not isinstance(item, wanted):
                    plugins.errors.append(f"plugin '{plugin}' returned {item!r:.60} from {kind}, "
                                          f"not a {wanted.__name__}; ignored")
                    continue
                key = item.id if wanted is Rule else item.name
                if key in table:
                    plugins.errors.append(f"plugin '{plugin}' registers {key!r}, which plugin "
                                          f"'{table[key].plugin}' already provides; ignored")
                    continue
                item.plugin = plugin
                table[key] = item
        return cls(plugins, dict(sorted(rules.items())), readers, reporters)


def _in_order(rules: list[Rule]) -> list[Rule]:
    """The rules in id order, but the CONF rules last: they report what reading met, and
    other rules read too (an include a server's rules follow, a log read lazily), so a
    problem met there is still reported, whatever plugin met it."""
    return sorted(rules, key=lambda rule: rule.plugin == "conf")


def parse_files(host: Host, plugins: Plugins, progress=None) -> None:
    """Read and parse every discovered file; a reader that raises is a plugin error."""
    for reader, path in host.files:
        if progress is not None:
            progress.read_file()
        source = host.read(path, reader)
        if source is None or reader is None:  # unreadable: host.read noted CONF003
            continue
        # in a repository, a template named like a config is not read (a host's files are
        # what its programs read, placeholders and all)
        if host.mode == FILES and templates.prepare(source, reader):
            continue
        try:
            document = reader.parse(source)
        except Exception as exc:  # a reader bug: name it, keep auditing
            plugins.errors.append(f"reader '{reader.name}' (plugin '{reader.plugin}') failed "
                                  f"on {source.display}: {type(exc).__name__}: {exc}")
            continue
        host.docs.setdefault(reader.name, []).append(document)


def prepare(host: Host, plugins: Plugins, progress=None) -> None:
    """Everything before the rules: parsed files, live facts, the filled ledger."""
    parse_files(host, plugins, progress)
    if host.live:
        plugins.call_each("oomaudit_collect", host)
    plugins.call_each("oomaudit_budget", host)


def audit(registry: Registry, hosts: list[Host], settings: Settings, command: str,
          target: str, root: Path | None = None, progress=None, jobs: int = 1) -> Report:
    """Run every selected rule on every host. ``settings`` are the run's (fail-on); what
    to run and how to judge it comes from each host's own (``check`` gives each file its
    closest config). ``root`` is what a config repository's paths are relative to in
    fingerprints (a tree's and the live host's are their own root). ``jobs``: how many
    processes audit the hosts (``oomaudit/pool.py``); one host is always audited here."""
    plugins = registry.plugins
    report = Report(command, target, __version__, settings.fail_on)
    if progress is not None:  # oomaudit.progress: a line on a terminal for a long run
        progress.hosts = len(hosts)
    if jobs > 1 and len(hosts) > 1:
        from .pool import audited_apart

        parts = audited_apart(registry, hosts, settings, jobs, audit_host)
    else:
        parts = (audit_host(registry, host, settings, progress) for host in hosts)
    for part in parts:  # in the hosts' order, whoever audited them
        report.findings += part.findings
        report.runs.extend(part.runs)
        report.read += part.read
        report.hosts += part.hosts
        report.notices += part.notices
        report.errors += part.errors
        report.suppressed += part.suppressed
        if progress is not None:
            progress.host_done()
    report.notices += templates.notices(report.read)
    report.errors[:0] = plugins.errors
    report.findings.sort(key=lambda hf: (hf[1].path or "", hf[1].line or 0, hf[1].rule))
    report.roots = {h.name: (h.root or root or Path(h.cwd), h.cwd) for h in hosts}
    if report.findings:
        from .fingerprint import stamp

        stamp(report.findings, report.roots.__getitem__)
    homeless = {name for name, f in report.findings if not f.path}
    report.host_places = {h.name: where for h in hosts
                          if h.name in homeless and (where := _host_place(h))}
    return report


def audit_host(registry: Registry, host: Host, settings: Settings, progress=None) -> Report:
    """One host read, budgeted and judged, as a report of its own that ``audit`` merges
    into the run's: its findings, rule runs, facts, notices, rule errors and suppressed
    count (plugin errors go to ``registry.plugins.errors``). Its documents are released."""
    local = host.settings or settings
    report = Report("", "", "", settings.fail_on)
    report.runs = []  # one host's: the run's Runs packs them as it takes them
    prepare(host, registry.plugins, progress)
    templated = {s.display: s for s in host.sources.values() if s.templated}
    by_display = {s.display: s for s in host.sources.values()}  # where suppressions are
    for rule in _in_order([r for r in registry.rules.values() if local.rule_selected(r.id)]):
        unread = host.unread_by(rule.reads)  # a source it needed that could not be read
        if rule.reads and host.given_none_of(*rule.reads):
            report.runs.append(RuleRun(rule, host.name, SKIPPED, unread) if unread else
                               RuleRun(rule, host.name, PASSED, f"no {' or '.join(rule.reads)}"
                                                                " file among the targets"))
            continue
        findings = _run_rule(rule, host, report, unread)
        if templated:  # nothing judged on what a template engine fills in
            findings = templates.hold_back(findings, templated)
        for finding in findings:
            _settle(finding, rule, local)
        report.findings.extend((host.name, f) for f in _keep(findings, by_display, local, report))
    report.hosts.append(HostFacts(
        host.name, host.mode, host.label,
        {k: (f.value, f.source) for k, f in host.facts.items()},
        host.ledger.entries(), dict(host.tables)))
    _unused_suppressions(host, local, report, report.runs)
    report.read = [Read(host.name, str(path), s.display, s.reader.name if s.reader else "",
                        s.template, s.templated, s.held) for path, s in host.sources.items()]
    _release(host)
    return report


def _release(host: Host) -> None:
    """Once its rules ran, a host's files, documents and caches go: a fleet's repository
    is audited host by host in the memory of one. Its report keeps what is read of the
    files afterwards (findings, the files read: ``Read``); the host keeps its facts,
    measures and ledger (``oomaudit facts`` writes them)."""
    host.docs.clear()
    host.cache.clear()
    host.sources.clear()


def _host_place(host: Host) -> tuple[str, int | None] | None:
    """Where a finding about the host as a whole goes in a format that needs a file (SARIF,
    GitLab): the ``[[hosts]]`` table that declares it, else the config file in force, else
    (``check``) the first of the files that make the host; None for a scanned host without
    a config, where any file of the system would be an arbitrary place."""
    settings = host.settings
    if settings is not None and settings.path is not None:
        place = host.files[0][1] if host.mode == FILES and host.files else (
            host.root if host.mode == ROOT else None)
        profile = settings.profile_for(place) if place is not None else None
        if profile is not None:  # its source is "file:line"
            path, _, line = profile.source.rpartition(":")
            return path, int(line)
        return str(settings.path), None
    return (host.display(host.files[0][1]), None) if host.mode == FILES and host.files else None


def _run_rule(rule: Rule, host: Host, report: Report, unread: str = "") -> list[Finding]:
    """Run one rule, contained. ``unread`` (``Host.unread_by``): a source it reads could not
    be read, so finding nothing is not passing: skipped, naming the source."""
    try:
        findings = list(rule.check(host) or ())
    except MissingFact as missing:
        report.runs.append(RuleRun(rule, host.name, SKIPPED, str(missing)))
        return []
    except PermissionError as exc:  # no root rights: the rule could not look, say where
        shown = host.display(exc.filename) if exc.filename else str(exc)
        report.runs.append(RuleRun(rule, host.name, SKIPPED, f"permission denied: {shown}; "
                                   "run as root to audit it"))
        return []
    except Exception as exc:  # contain a rule bug: report it, run the others
        message = (f"rule {rule.id} (plugin '{rule.plugin}') crashed on {host.label}: "
                   f"{type(exc).__name__}: {exc}")
        report.errors.append(message)
        report.runs.append(RuleRun(rule, host.name, ERROR, message))
        return []
    wrong = next((why for why in map(_malformed, findings) if why), None)
    if wrong:  # a reporter would crash on it later, far from the rule that made it
        message = (f"rule {rule.id} (plugin '{rule.plugin}') yielded {wrong} on {host.label}")
        report.errors.append(message)
        report.runs.append(RuleRun(rule, host.name, ERROR, message))
        return []
    report.runs.append(RuleRun(rule, host.name, FAILED) if findings else
                       RuleRun(rule, host.name, SKIPPED, unread) if unread else
                       RuleRun(rule, host.name, PASSED))
    return findings


def _malformed(finding: object) -> str | None:
    """What is wrong with what a rule yielded, for the fields every reporter reads."""
    if not isinstance(finding, Finding):
        return f"{finding!r:.60}, not a Finding"
    if not isinstance(finding.evidence, list) or not all(
            isinstance(e, Evidence) for e in finding.evidence):
        return f"a finding whose evidence is {finding.evidence!r:.60}, not a list of Evidence"
    if finding.severity is not None and not isinstance(finding.severity, Severity):
        return f"a finding whose severity is {finding.severity!r:.30}, not a Severity"
    if not (isinstance(finding.message, str) and isinstance(finding.fix, str)
            and isinstance(finding.path, (str, type(None)))
            and isinstance(finding.line, (int, type(None)))):
        return f"{finding!r:.80}: message and fix are text, path text or None, line a number"
    return None


def _settle(finding: Finding, rule: Rule, settings: Settings) -> None:
    """The engine, not the rule, decides severity (config override > rule default),
    and stamps the plugin and docs pointer."""
    override = settings.severity.get(finding.rule)
    finding.severity = override if override is not None else (
        rule.severity if finding.severity is None else finding.severity)  # INFO is 0: falsy
    finding.plugin = rule.plugin
    finding.docs = f"oomaudit explain {finding.rule}"


def _keep(findings: list[Finding], by_display: dict, settings: Settings, report: Report):
    for finding in findings:
        if finding.path and settings.ignored_at(finding.rule, Path(finding.path)):
            report.suppressed += 1
            continue
        source = by_display.get(finding.path) if finding.path else None
        matches = [s for s in source.suppressions() if s.covers(finding.rule, finding.line)] \
            if source else []
        for suppression in matches:
            suppression.used = True
        if matches:
            report.suppressed += 1
            continue
        yield finding


def _unused_suppressions(host: Host, settings: Settings, report: Report,
                         runs: list[RuleRun]) -> None:
    """Like ruff's RUF100: a suppression for a rule that ran and found nothing there is stale.

    A suppression naming a rule that did not get to run on this host (skipped for a
    missing fact, or crashed) is not called stale: it may well be needed once it runs.
    ``runs`` are the host's own (a fleet's report holds every host's).
    """
    not_run = [r.rule.id for r in runs if r.status in (SKIPPED, ERROR)]
    for source in host.sources.values():
        for s in source.suppressions():
            if s.used or any(rule.startswith(i) for rule in not_run for i in s.ids):
                continue
            if any(settings.rule_selected(i) for i in s.ids):
                kind = "ignore-file" if s.whole_file else "ignore"
                report.notices.append(f"{source.display}:{s.line}: unused suppression "
                                      f"{kind}[{','.join(s.ids)}]: no such finding here")
