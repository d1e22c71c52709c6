"""``oomaudit logs``: OOM kills in kernel log files or this host's logs, without the engine."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from ..output import report_file, write


def logs(args: argparse.Namespace) -> int:
    """Kills in the files given (whole, unless --since says otherwise: last year's log is
    given for last year's kills) or this host's logs (the last 30 days); ``--since last``
    resumes where the previous such run stopped (oomaudit/logcursor.py). The events are
    written or counted as they are read: memory does not grow with the kills."""
    from .. import logsources, logview
    from ..host import terminal
    since = args.since or ("all" if args.files else "30d")
    last = since.strip().lower() == "last"
    if args.state_dir and not last:
        raise UsageError("--state-dir keeps the position of --since last; without it there "
                         "is nothing to keep")
    window = logview.parse_since(("all" if args.files else "30d") if last else since)
    for name in args.files:  # --since last: a log rotated away since is found by its name
        if name != "-" and not (last and logsources.rotations(Path(name))):
            logsources.check_log(Path(name))
    cursor = None
    if last:
        cursor, read, window = _since_last(args, window)
    elif args.files:
        streams = [logsources.stdin_stream() if f == "-" else
                   logsources.file_stream(Path(f)) for f in args.files]

        def read(sink):
            return logsources.read_events(streams, window.start, [], sink)
    else:
        def read(sink):
            from ..livelog import live_streams

            streams, tried = live_streams(window.start)
            return logsources.read_events(streams, window.start, tried, sink)
    if args.format == "json":
        with report_file(args.output) as out:
            writer = logview.JsonWriter(out, window)
            scan = read(writer.add)
            writer.close(scan)
        kills = writer.kills
    else:
        kills = logview.Kills()
        scan = read(kills.add)
        write(logview.render_text(kills, scan, window), args.output)
    if cursor is not None:
        cursor.commit()  # once the report is out: a report lost is no kill lost
        for notice in cursor.notices:
            print(f"oomaudit: notice: {terminal(notice)}", file=sys.stderr)
    for problem in scan.errors:
        print(f"oomaudit: error: could not read {terminal(str(problem))}", file=sys.stderr)
    if (args.files and scan.errors) or not any(t.status == "read" for t in scan.tried):
        return 2
    return 1 if kills.count else 0


def _since_last(args: argparse.Namespace, window):
    """``logs --since last``: the cursor to commit, how to read the kills after the
    positions the previous run saved, and how to name the window."""
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
    cursor = Cursor.load(state_dir(args.state_dir), "logs")
    start = window.start

    def read(sink):
        return since_last(cursor, start, files=[Path(f) for f in args.files],
                          log_dir=None if args.files else Path("/var/log"),
                          live=not args.files, sink=sink)
    if cursor.fresh:
        window = Window(window.start, f"{window.label} (no position saved yet)")
    else:
        shown = cursor.previous.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
        window = Window(cursor.previous, f"since the previous run ({shown})")
    return cursor, read, window
