"""``oomaudit facts``: what this host (or a tree) measures, written as JSON."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..invocation import load_registry, settings_for
from ..output import print_errors, write


def facts(args: argparse.Namespace) -> int:
    """What this host (or a tree) measures, as JSON (oomaudit/facts.py): every plugin
    collects as in a scan, and the KLOG rules count the kills."""
    from .. import facts as facts_mod
    from ..config import system_config
    from ..discovery import system_host
    from ..engine import audit

    registry = load_registry(args)
    root = Path(args.root) if args.root else None
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {args.root}: not a directory")
    settings = settings_for(args, system_config())
    settings.select, settings.ignore = ["KLOG"], []  # rules only for the kills
    host = system_host(root, registry.readers, settings, {})
    report = audit(registry, [host], settings, "facts", str(root) if root else "live host")
    notices = [d.message for d in host.diagnostics if d.rule == "CONF003"]
    write(facts_mod.render(facts_mod.build(host, notices)), args.output)
    print_errors(report.errors)
    return 2 if report.errors else 0
