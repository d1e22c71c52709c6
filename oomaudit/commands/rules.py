"""``oomaudit rules`` and ``oomaudit explain``: the loaded plugins' rule catalogue.

A catalogue is a file (a third-party plugin's ``rules.toml``): its words reach the terminal
through ``host.terminal``, line by line, like every other text read from a file."""
from __future__ import annotations

import argparse

from ..errors import UsageError
from ..host import terminal
from ..invocation import load_registry
from ..output import print_errors


def rules(args: argparse.Namespace) -> int:
    registry = load_registry(args)
    if args.format == "json":
        from ..jsonout import dumps
        rows = [{"id": r.id, "title": r.title, "severity": r.severity.label, "plugin": r.plugin,
                 "rationale": r.rationale, "fix": r.fix, "references": r.references}
                for r in registry.rules.values()]
        print(dumps(rows), end="")
    elif args.format == "markdown":
        print("| id | severity | title |\n|---|---|---|")
        for r in registry.rules.values():
            print(f"| {terminal(r.id)} | {r.severity.label} | {terminal(r.title)} |")
    else:
        for r in registry.rules.values():
            print(f"{terminal(r.id):<14} {r.severity.label:<9} {terminal(r.plugin):<10} "
                  f"{terminal(r.title)}")
    print_errors(registry.plugins.errors)
    return 2 if registry.plugins.errors else 0


def explain(args: argparse.Namespace) -> int:
    registry = load_registry(args)
    wanted = args.rule.strip().upper()
    rule = registry.rules.get(wanted)
    if rule is None:  # a prefix lists its rules: `explain SWAP`
        matches = [r for r in registry.rules.values() if wanted and r.id.startswith(wanted)]
        if not matches:
            raise UsageError(f"unknown rule {args.rule!r}: no rule id is or starts with it; "
                             "'oomaudit rules' lists them")
        for r in matches:
            print(f"{terminal(r.id):<14} {r.severity.label:<9} {terminal(r.title)}")
        print_errors(registry.plugins.errors)
        return 2 if registry.plugins.errors else 0
    print(f"{terminal(rule.id)}: {_lines(rule.title)}\n\nDefault severity: "
          f"{rule.severity.label} (plugin '{terminal(rule.plugin)}')")
    for heading, text in (("Why it matters", rule.rationale), ("Fix", rule.fix),
                          ("Example", rule.example),
                          ("Fingerprint key (with the rule, the host and the file's path from "
                           "the repository or tree root)", rule.fingerprint)):
        if text:
            print(f"\n{heading}\n{_lines(text)}")
    if rule.references:
        print("\nReferences\n" + "\n".join(f"- {terminal(ref)}" for ref in rule.references))
    return 0


def _lines(text: str) -> str:
    """``host.terminal`` for a text of several lines: its line breaks kept."""
    return "\n".join(map(terminal, text.split("\n")))
