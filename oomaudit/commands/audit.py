"""``oomaudit scan`` and ``oomaudit check``: one audit, rendered in every ``--format`` asked
for and written to its ``--output``, all reports or none."""
from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..invocation import audited, load_registry
from ..output import held, print_errors, wants_color, write

if TYPE_CHECKING:
    from ..engine import Registry
    from ..report import Read, Reporter


def scan(args: argparse.Namespace) -> int:
    return _report(args, "scan")


def check(args: argparse.Namespace) -> int:
    return _report(args, "check")


def _report(args, command: str) -> int:
    registry = load_registry(args)
    outputs = _outputs(args, registry)
    report, hosts, settings, cursor = audited(args, registry, command)
    given, written = getattr(args, "baseline", None), getattr(args, "write_baseline", None)
    if given or written or settings.baseline:
        from ..baseline import settle
        from ..confine import JAIL

        jail = next((h.fs.root for h in hosts if h.fs.kind == JAIL), None)
        settle(report, settings, given, written, getattr(args, "paths", None), jail)
    report.exit_zero = args.exit_zero
    report.quiet, report.statistics = args.quiet, args.statistics
    texts = []  # every format rendered before any is written: all reports or none
    for reporter, output in outputs:
        try:
            color = wants_color(args, output not in (None, "-"))
            texts.append(held(reporter.render(report, color)))
        except Exception as exc:  # a plugin's format: name it; the report is lost, say why
            if args.debug:
                raise
            raise UsageError(f"--format {reporter.name}: reporter of plugin "
                             f"'{reporter.plugin}' failed: {type(exc).__name__}: {exc}") from None
    _refuse_inputs(outputs, report.read)
    for text, (_, output) in zip(texts, outputs, strict=True):
        write(text, output)
    if cursor is not None:
        cursor.commit()  # once the report is out: a report lost is no kill lost
    print_errors(report.errors)
    return report.exit_code()


def _refuse_inputs(outputs, files: list[Read]) -> None:
    """``-o my.cnf`` on an audit of my.cnf would replace the config with its report:
    oomaudit never writes to what it audits."""
    read = {os.path.realpath(f.path) for f in files}
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
