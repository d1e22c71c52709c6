"""``oomaudit budget``: the memory ledger drawn, judged by HOST002 alone."""
from __future__ import annotations

import argparse

from ..errors import UsageError
from ..invocation import fingerprint_root, hosts_for, load_registry
from ..output import print_errors, wants_color, write


def budget(args: argparse.Namespace) -> int:
    """The ledger judged by HOST002 alone, with the settings scan/check would use (severity
    overrides, fail-on): budget exits 1 exactly when their HOST002 fails. --select/--ignore
    would only switch that one rule off, and the ledger counts every plugin's consumers as
    HOST002 does, so they are refused rather than quietly meaning nothing."""
    from ..engine import audit
    from ..pool import workers
    from ..reporters import budget as budget_view
    for given, option in ((args.select, "--select"), (args.ignore, "--ignore")):
        if given:
            raise UsageError(f"{option} does not apply to budget: it counts every consumer and "
                             "exits 1 when HOST002 fails (use --fail-on or --exit-zero)")
    if args.format not in ("text", "json"):
        raise UsageError(f"--format {args.format}: budget prints text or json")
    registry = load_registry(args)
    notices: list[str] = []
    hosts, settings, target = hosts_for(args, registry, notices)
    for judged in {id(s): s for s in (settings, *(h.settings for h in hosts)) if s}.values():
        judged.select, judged.ignore = [budget_view.RULE], []
    report = audit(registry, hosts, settings, "budget", target, fingerprint_root(args, settings),
                   jobs=workers(args.jobs, hosts))
    report.notices[:0] = notices
    report.exit_zero = args.exit_zero
    render = budget_view.json_view if args.format == "json" else budget_view.text_view
    write(render(report, wants_color(args)), args.output)
    print_errors(report.errors)
    return report.exit_code()
