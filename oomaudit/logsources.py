"""Where kernel logs come from, and what reading them found.

``oomaudit logs`` and the KLOG rules read OOM events from files, stdin, an offline tree
(``--root``: ``var/log/kern.log*``, else ``var/log/messages*``) or the live host, whose
sources (the journal, the ring buffer, then these files) are :mod:`oomaudit.livelog`'s.

Every source tried is reported with what happened (read, absent, or unreadable and
which group or capability would help). Log files are found and opened through the host's
``confine.Tree`` (under ``--root``, ``var/log/kern.log`` is resolved inside the tree) and
judged on the open descriptor by ``open_log``: a FIFO, a device or a link to
``/proc/kmsg`` where a log is expected is refused, named, and never read. The events are
given to a sink as they are read, so a caller can keep memory flat however many there
are; resuming where a run stopped is :mod:`oomaudit.logcursor`, built on these sources.
"""
from __future__ import annotations

import contextlib
import functools
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

from . import confine
from .confine import Tree
from .host import printable, terminal
from .parsers.kernlog import KernlogParser
from .parsers.kernlog_event import OomEvent
from .parsers.kernlog_scan import scan
from .record import Record

LOG_GLOBS = ("kern.log*", "messages*")  # the first that matches anything wins
_ROTATION = re.compile(r"\.(\d+)(?:\.gz)?$|-(\d{8})(?:\.gz)?$")
_SUFFIX = re.compile(r"\.\d+(?:\.gz)?|-\d{8}(?:\.gz)?")


class Stream(Record):
    """One readable kernel log: ``label`` names it in reports, ``opener`` returns a binary
    file object (a context manager). ``reference`` dates syslog lines without a year;
    ``boot_time`` turns ``[seconds]`` stamps into times; events at or after ``until`` are
    dropped (another source covers them)."""

    def __init__(self, label: str, opener: Callable[[], IO[bytes]],
                 reference: datetime | None = None, boot_time: float | None = None,
                 until: datetime | None = None, lines_before: int = 0,
                 hint: Callable[[], str] | None = None):
        self.label = label
        self.opener = opener
        self.reference = reference
        self.boot_time = boot_time
        self.until = until
        self.lines_before = lines_before  # a stream opened past the start: lines skipped
        self.hint = hint  # who may read it, for a permission denied


class Tried(Record):
    """A source and what became of it: ``read``, ``absent``, ``unreadable`` or ``skipped``."""

    def __init__(self, label: str, status: str, detail: str = ""):
        self.label = label
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.label}: {self.status}" + (f" ({self.detail})" if self.detail else "")


class LogScan(Record):
    """What ``read_events`` found: the OOM kills kept (unless a sink took them), how many
    were undated or dropped by ``--since``, the OOM panics (the first ``MAX_PANICS`` of
    ``panic_count``), and every source tried (the unreadable ones: ``errors``)."""

    MAX_PANICS = 100

    def __init__(self, events: list[OomEvent] | None = None, undated: int = 0, older: int = 0,
                 panics: list[tuple[str, str, int]] | None = None,
                 tried: list[Tried] | None = None, panic_count: int = 0):
        self.events = [] if events is None else events
        self.undated = undated  # events kept although their time is unknown (--since cannot apply)
        self.older = older  # events dropped by --since
        self.panics = [] if panics is None else panics  # message, where, line
        self.panic_count = panic_count
        self.tried = [] if tried is None else tried

    def add(self, part: LogScan) -> None:
        """Another read's counts and sources (its events went to the same sink)."""
        self.events += part.events
        self.undated += part.undated
        self.older += part.older
        self.panics += part.panics[:self.MAX_PANICS - len(self.panics)]
        self.panic_count += part.panic_count
        self.tried += part.tried

    @property
    def errors(self) -> list[Tried]:
        return [t for t in self.tried if t.status == "unreadable"]


# -- streams ---------------------------------------------------------------------------
@functools.cache
def live_tree() -> Tree:
    """The live host's filesystem, for the logs ``oomaudit logs`` reads without a host."""
    return Tree(Path("/"), confine.LIVE)


def open_log(path: Path, fs: Tree | None = None) -> IO[bytes]:
    """A kernel log file, opened the one way: through the Tree (resolved inside its root,
    ``O_NONBLOCK | O_NOCTTY``, a link that changed under us refused), then judged by
    ``fstat`` on the open descriptor, before any read: what is not a regular file (a FIFO,
    a device, a socket, a folder) or is a file of ``/proc`` or ``/sys`` (a link to
    ``/proc/kmsg``, whose reads block and take records from the syslog daemon) is refused
    with an OSError naming why. So no log path can hang a run.

    Logs are streamed in bounded memory rather than read whole (``Tree.open_stream``)."""
    raw = (fs or live_tree()).open_stream(path, "log")
    if not path.name.endswith(".gz"):
        return raw
    import gzip
    compressed = gzip.GzipFile(fileobj=raw, mode="rb")
    compressed.myfileobj = raw  # closed with it, as gzip.open(name) closes what it opened
    return compressed


def check_log(path: Path) -> None:
    """A log named on the command line, opened and closed before anything is read: a
    UsageError naming it when it is missing or no log ("not a regular file (FIFO, socket
    or device)"). One this user may not read is left to ``read_events``, which says who
    may."""
    from .errors import UsageError
    try:
        open_log(path).close()
    except PermissionError:
        pass
    except OSError as exc:
        why = "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror \
            if isinstance(exc, confine.Refused) else (exc.strerror or str(exc)).lower()
        raise UsageError(f"{terminal(str(path))}: {why}") from None


def _mtime(path: Path, fs: Tree) -> datetime | None:
    try:
        return datetime.fromtimestamp(fs.stat(path).st_mtime).astimezone()
    except (OSError, ValueError, OverflowError):
        return None


def file_stream(path: Path, label: str | None = None, fs: Tree | None = None) -> Stream:
    """A log file of the tree ``fs`` (default: the live host's), named ``label``."""
    fs = fs or live_tree()
    return Stream(label or printable(str(path)), lambda: open_log(path, fs), _mtime(path, fs),
                  hint=lambda: _permission_hint(path, fs))


def stdin_stream() -> Stream:
    return Stream("-", lambda: contextlib.nullcontext(sys.stdin.buffer))


def rotation_order(paths: list[Path]) -> list[Path]:
    """Oldest first: ``kern.log.4.gz`` ... ``kern.log.1``, ``kern.log``; dated rotations
    (``messages-20260201``) by date."""
    def key(path: Path):
        m = _ROTATION.search(path.name)
        if m and m.group(1):
            return (0, -int(m.group(1)), "")
        if m and m.group(2):
            return (0, 0, m.group(2))
        return (1, 0, "")
    return sorted(paths, key=key)


def rotations(current: Path, fs: Tree | None = None) -> list[Path]:
    """``current`` and its rotations beside it (``kern.log.1``, ``kern.log.2.gz``,
    ``messages-20260201``), oldest first; ``current`` last when it exists. Anything but a
    folder counts: a FIFO by a log's name is refused, and named, when it is opened."""
    fs = fs or live_tree()
    prefix = current.name
    try:
        names = fs.listdir(current.parent)
    except OSError:
        return []
    found = [current.parent / n for n in names if n == prefix or n.startswith(prefix) and
             _SUFFIX.fullmatch(n[len(prefix):])]
    return rotation_order([p for p in found if not fs.is_dir(p)])


def log_files(folder: Path, fs: Tree | None = None) -> list[Path]:
    """``kern.log*`` in ``folder``, else ``messages*`` (a host with both logs kernel lines to
    both: reading both would count each kill twice); anything but a folder, as
    ``rotations``."""
    fs = fs or live_tree()
    for pattern in LOG_GLOBS:
        try:
            found = fs.glob(folder / pattern)
        except OSError:
            return []
        if found:
            return rotation_order(found)
    return []


def _permission_hint(path: Path, fs: Tree) -> str:
    """Which group would let this user read ``path`` (Debian: kern.log is root:adm 0640)."""
    try:
        st = fs.stat(path)
    except (OSError, ValueError):
        return "run as root"
    if st.st_mode & 0o040:
        import grp
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = str(st.st_gid)
        return f"readable by group '{group}': add this user to it, or run as root"
    return "readable by root only"



# -- reading ---------------------------------------------------------------------------
def read_events(streams: list[Stream], since: datetime | None,
                tried: list[Tried] | None = None,
                sink: Callable[[OomEvent], None] | None = None) -> LogScan:
    """Every OOM event of ``streams`` at or after ``since`` (undated events are kept and
    counted), each given to ``sink`` as it is read (default: kept in ``events``); a stream
    that fails midway is reported beside the events read before, and the others are
    still read."""
    result = LogScan(tried=list(tried or []))
    give = sink or result.events.append
    for stream in streams:
        parser = KernlogParser(stream.label, stream.reference, stream.boot_time)
        kept = 0
        try:
            with stream.opener() as fh:
                for event in _events(fh, parser, stream.lines_before):
                    if _in_window(result, stream, since, event):
                        give(event)
                        kept += 1
        except PermissionError:
            result.tried.append(Tried(stream.label, "unreadable", "permission denied; " + (
                stream.hint() if stream.hint else "run as root")))
            continue
        except (OSError, EOFError, ValueError) as exc:  # missing, corrupt .gz, ...
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            result.tried.append(Tried(stream.label, "unreadable", why))
            continue
        result.add(LogScan(panics=[(m, stream.label, line) for m, _, line in parser.panics],
                           panic_count=parser.panic_count))
        result.tried.append(Tried(stream.label, "read", f"{kept} OOM kill(s)"))
    return result


def _in_window(result: LogScan, stream: Stream, since: datetime | None,
               event: OomEvent) -> bool:
    """Whether ``event`` is reported: undated ones are (and counted), those another source
    has (``until``) are not, nor those before ``since`` (counted older)."""
    if event.time is None:
        result.undated += 1
        return True
    if stream.until is not None and event.time >= stream.until:
        return False
    if since is not None and event.time < since:
        result.older += 1
        return False
    return True


def _events(fh: IO[bytes], parser: KernlogParser, lines_before: int) -> Iterator[OomEvent]:
    import zlib
    try:
        yield from scan(fh, parser, lines_before)
    except zlib.error as exc:
        raise ValueError(f"corrupt compressed data: {exc}") from None
