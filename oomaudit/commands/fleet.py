"""``oomaudit fleet DIR``: many hosts' reports merged and ranked by risk."""
from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from ..output import write


def fleet(args: argparse.Namespace) -> int:
    from .. import fleetview
    from ..fleet import collect

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
