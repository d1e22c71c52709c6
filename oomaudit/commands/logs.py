"""``oomaudit logs``: OOM kills in kernel log files or this host's logs, without the engine."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import UsageError
from ..output import write


def logs(args: argparse.Namespace) -> int:
    """Kills in the files given (whole, unless --since says otherwise: last year's log is
    given for last year's kills) or this host's logs (the last 30 days); ``--since last``
    resumes where the previous such run stopped (oomaudit/logcursor.py)."""
    from .. import logsources, logview
    from ..host import terminal
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


def _since_last(args: argparse.Namespace, window):
    """``logs --since last``: the kills after the positions the previous run saved, the
    cursor to commit, and how to name the window."""
    from ..logcursor import Cursor, since_last, state_dir
    from ..logview import Window

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
