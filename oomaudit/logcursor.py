"""``--since last``: kernel-log reading that resumes where the previous run stopped.

A periodic job (``oomaudit logs --since last``, ``oomaudit scan --since last``) must report
each OOM kill once. Where the previous run stopped is kept in a state file per command
(``logs-cursor.json``, ``scan-cursor.json``: an operator's ``logs`` does not steal the
timer's kills) in ``/var/lib/oomaudit`` (``--state-dir DIR`` or ``$OOMAUDIT_STATE_DIR``
moves it; created 0700). One position per source:

- the journal: journalctl's own cursor (``--after-cursor``, ``--show-cursor``);
- a log file: device, inode, the offset after the last complete line read, the line count
  there, and a SHA-256 of the file's first bytes (up to 4 KiB, never past the offset).
  The position is found again by content, whatever the file is called now: after a
  rotation the rest of ``kern.log.1`` (or ``kern.log.2.gz``) is read, then every newer file
  from its start; a file whose inode is still there but whose first bytes changed or
  that shrank below the offset was truncated (``copytruncate``, ``> kern.log``) and is read
  again from its start. A position found nowhere (rotated out of what is kept) falls back
  to the kills since the previous run's time, and says so;
- the ring buffer (no journal, no files): the boot's id and the last record's time stamp.

No state yet: the command's normal window, then the position. A last line without its
newline is still being written: it is left for the next run. The state is written once
the report is (``commit``), atomically (a temporary file in the same folder, 0600, then
renamed); a state file that cannot be read back is a notice and a fresh start, never a
crash.

One concern over 300 lines: the position in each kind of source, saved and found again.
The three kinds share the state file and the fallback to the previous run's time, and a
file's position (inode, offset, line count, head hash) is only sound with the rotation
search that finds it again, so they are read together.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import stringzilla as sz

from .confine import Tree
from .errors import UsageError
from .livelog import journal, ring_buffer
from .logsources import (
    LOG_GLOBS,
    LogScan,
    Stream,
    Tried,
    file_stream,
    live_tree,
    open_log,
    read_events,
    rotations,
)
from .parsers.kernlog_event import OomEvent
from .record import Record

STATE_ENV = "OOMAUDIT_STATE_DIR"
DEFAULT_STATE_DIR = "/var/lib/oomaudit"
VERSION = 1
HEAD = 4096
_CURSOR_LINE = re.compile(rb"-- cursor: (\S+)\s*$")
_JOURNAL_CURSOR = re.compile(r"[a-z]=[0-9a-f]+(?:;[a-z]=[0-9a-f]+)*")
_KMSG_STAMP = re.compile(rb"\[\s*(\d+)\.(\d{6})\]")
_ENTRY_FIELDS = {"dev": int, "ino": int, "offset": int, "lines": int, "head": str,
                 "head_len": int, "saved_at": str}


def state_dir(option: str | None) -> Path:
    return Path(option or os.environ.get(STATE_ENV) or DEFAULT_STATE_DIR)


class Cursor(Record):
    """The saved positions of one command, read before the logs are and written back by
    ``commit`` once the report is out (a report that could not be written loses nothing).
    ``notices`` say what was odd: a corrupt state, a truncated or vanished log."""

    def __init__(self, path: Path, positions: dict, notices: list[str]):
        self.path = path
        self.fresh = not positions  # no run saved a position yet: the normal window
        self.positions = positions  # by source: "journal", "kmsg", a log file's path
        self.notices = notices
        # when the previous run saved (its latest position): what "since last" means
        self.previous = max((_when(v["saved_at"]) for v in positions.values()), default=None)

    @classmethod
    def load(cls, directory: Path, command: str, option: str = "--state-dir") -> Cursor:
        """The state of ``command`` in ``directory``, which is created (0700) if missing;
        a folder that cannot be created or written is a UsageError before any log is read."""
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{option} {directory}: cannot create it: "
                             f"{exc.strerror or exc} (--state-dir DIR or {STATE_ENV} moves "
                             "it)") from None
        if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
            why = "not a directory" if not directory.is_dir() else "not writable by this user"
            raise UsageError(f"{option} {directory}: {why} (--state-dir DIR or {STATE_ENV} "
                             "moves it)")
        path = directory / f"{command}-cursor.json"
        notices: list[str] = []
        try:
            data = json.loads(path.read_bytes())
            positions = _valid(data)
        except FileNotFoundError:
            positions = {}
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            notices.append(f"{path}: saved log position unreadable ({why[:200]}): starting "
                           "again with the normal window")
            positions = {}
        return cls(path, positions, notices)

    def commit(self) -> None:
        """Write the positions: a temporary file in the same folder, then a rename."""
        import tempfile

        data = json.dumps({"version": VERSION, "positions": self.positions}, indent=1,
                          sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp: mode 0600
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise UsageError(f"{self.path}: cannot save the log position: "
                             f"{exc.strerror or exc}") from None


def _valid(data) -> dict:
    """The positions of a state file, or ValueError naming what is wrong."""
    if not isinstance(data, dict) or data.get("version") != VERSION \
            or not isinstance(data.get("positions"), dict):
        raise ValueError(f"not a version {VERSION} oomaudit state file")
    positions = data["positions"]
    for key, entry in positions.items():
        if not isinstance(entry, dict):
            raise ValueError(f"position {key!r} is not an object")
        if key == "journal":
            fields = {"cursor": str, "saved_at": str}
        elif key == "kmsg":
            fields = {"boot_id": str, "usec": int, "saved_at": str}
        else:
            fields = _ENTRY_FIELDS
        for name, kind in fields.items():
            value = entry.get(name)
            if not isinstance(value, kind) or isinstance(value, bool) or \
                    kind is int and value < 0:
                raise ValueError(f"position {key!r}: {name} is not {kind.__name__}")
        if key == "journal" and not _JOURNAL_CURSOR.fullmatch(entry["cursor"]):
            raise ValueError("the journal cursor is malformed")
        _when(entry["saved_at"])
    return positions


def _when(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"saved_at {text!r} has no time zone")
    return when


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- reading ---------------------------------------------------------------------------
def since_last(cursor: Cursor, first: datetime | None, *, files: list[Path] = (),
               log_dir: Path | None = None, live: bool = False,
               display: Callable[[Path], str] = str,
               sink: Callable[[OomEvent], None] | None = None, fs: Tree | None = None
               ) -> LogScan:
    """The kills after the saved positions: of the named ``files`` (each with its rotations
    beside it), of the current log in ``log_dir`` (``kern.log``, else ``messages``), and on
    the ``live`` host the journal first (then the files, then the ring buffer). A source
    without a saved position is read from ``first`` (None: whole). The new positions are in
    ``cursor.positions``, for ``commit``; ``display`` names a file in reports; ``sink``
    takes each event as it is read (see ``read_events``); ``fs`` is the host's filesystem
    (a tree under ``--root``: its logs are resolved inside it)."""
    fs = fs or live_tree()
    tried: list[Tried] = []
    if live:
        found = _journal(cursor, first, tried, sink)
        if found is not None:
            return found
    currents = list(files)
    if log_dir is not None:
        current = _current_log(log_dir, fs)
        if current is not None:
            currents.append(current)
        elif not live:
            tried.append(Tried(f"{log_dir}/kern.log*, {log_dir}/messages*", "absent",
                               "no kernel log files"))
    if live and not currents:
        return _ring(cursor, first, tried, sink)
    scan = LogScan(tried=tried)
    for current in currents:
        ends: list[dict] = []
        for stream, since in _file_plan(cursor, current, first, ends, display, fs):
            scan.add(read_events([stream], since, sink=sink))
        # where the newest data read ends (a new kern.log may still be empty); a file that
        # could not be read is read again next time
        kept = [end for end in ends if end["offset"]] or ends[-1:]
        if kept:
            cursor.positions[os.path.abspath(current)] = kept[-1]
    return scan


def _journal(cursor: Cursor, first: datetime | None, tried: list[Tried],
             sink: Callable[[OomEvent], None] | None) -> LogScan | None:
    saved = cursor.positions.get("journal")
    stream = journal(first, tried, saved["cursor"] if saved else None, show_cursor=True)
    if stream is None:
        return None
    command = {}
    opener = stream.opener

    def keep():
        command["it"] = opener()
        return command["it"]
    stream.opener = keep
    scan = read_events([stream], None if saved else first, tried, sink)
    found = _CURSOR_LINE.search(command["it"].tail) if "it" in command else None
    if found and _JOURNAL_CURSOR.fullmatch(found.group(1).decode("ascii", "replace")):
        cursor.positions["journal"] = {"cursor": found.group(1).decode("ascii"),
                                       "saved_at": _now()}
    return scan


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _ring(cursor: Cursor, first: datetime | None, tried: list[Tried],
          sink: Callable[[OomEvent], None] | None) -> LogScan:
    """The ring buffer after the saved record time of this boot (a new boot: all of it)."""
    import io

    stream = ring_buffer(tried)
    if stream is None:
        return read_events([], None, tried, sink)
    with stream.opener() as fh:
        data = fh.read()
    saved = cursor.positions.get("kmsg")
    boot = _boot_id()
    same_boot = saved is not None and boot and saved["boot_id"] == boot
    lines = data.splitlines(keepends=True)
    if same_boot:
        lines = [line for line in lines if _usec(line) > saved["usec"]]
    stamps = [_usec(line) for line in lines]
    last = max(stamps, default=saved["usec"] if same_boot else 0)
    body = b"".join(lines)
    stream.opener = lambda: io.BytesIO(body)
    scan = read_events([stream], None if saved else first, tried, sink)
    if boot:
        cursor.positions["kmsg"] = {"boot_id": boot, "usec": last, "saved_at": _now()}
    return scan


def _usec(line: bytes) -> int:
    found = _KMSG_STAMP.match(line)
    return int(found.group(1)) * 1_000_000 + int(found.group(2)) if found else -1


def _current_log(folder: Path, fs: Tree) -> Path | None:
    """The log the syslog daemon writes now: ``kern.log``, else ``messages`` (as
    ``log_files`` chooses, by the first pattern anything matches)."""
    for pattern in LOG_GLOBS:
        base = folder / pattern.rstrip("*")
        if rotations(base, fs):
            return base
    return None


# -- one log file and its rotations ------------------------------------------------------
def _file_plan(cursor: Cursor, current: Path, first: datetime | None, ends: list[dict],
               display: Callable[[Path], str], fs: Tree
               ) -> list[tuple[Stream, datetime | None]]:
    """What to read of ``current`` and its rotations, each stream with the time before which
    its kills are not reported (None: all of it). Each file read appends where it ended
    to ``ends``, oldest first."""
    files = rotations(current, fs)
    saved = cursor.positions.get(os.path.abspath(current))
    plan = [(path, 0, 0) for path in files]  # no position: every file, from the window on
    since = first
    if saved is not None:
        since = None
        found = _find(files, saved, fs) if saved["offset"] else None
        if not saved["offset"]:  # every file was empty: all there is now is new
            pass
        elif found is not None:
            plan = [(files[found], saved["offset"], saved["lines"])] + plan[found + 1:]
        elif any(_same_inode(path, saved, fs) for path in files):
            index = next(i for i, path in enumerate(files) if _same_inode(path, saved, fs))
            cursor.notices.append(f"{display(current)}: truncated or rewritten since the "
                                  "last run: read again from its start")
            plan = plan[index:]
        else:
            since = _when(saved["saved_at"])
            cursor.notices.append(f"{display(current)}: the position saved at "
                                  f"{saved['saved_at']} is in no log kept now (rotated away "
                                  "or replaced): the kills logged since then are reported")
    return [(_stream(path, display(path), offset, lines, ends, fs), since)
            for path, offset, lines in plan]


def _same_inode(path: Path, saved: dict, fs: Tree) -> bool:
    try:
        st = fs.stat(path)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (saved["dev"], saved["ino"])


def _find(files: list[Path], saved: dict, fs: Tree) -> int | None:
    """Which file holds the saved position, renamed or compressed since: its first bytes
    match and it is long enough (the same inode is tried first)."""
    order = sorted(range(len(files)),
                   key=lambda i: (not _same_inode(files[i], saved, fs), -i))
    for i in order:
        path = files[i]
        try:
            with open_log(path, fs) as fh:
                if hashlib.sha256(fh.read(saved["head_len"])).hexdigest() != saved["head"]:
                    continue
                if not _gz(path) and os.fstat(fh.fileno()).st_size < saved["offset"]:
                    continue
        except (OSError, EOFError, ValueError):
            continue
        return i
    return None


def _gz(path: Path) -> bool:
    return path.name.endswith(".gz")


def _stream(path: Path, label: str, offset: int, lines: int, ends: list[dict],
            fs: Tree) -> Stream:
    """A stream of ``path`` from ``offset`` (uncompressed bytes) that appends where it
    ended to ``ends`` once read."""
    stream = file_stream(path, label, fs)
    stream.lines_before = lines

    def opener():
        fh = open_log(path, fs)
        try:
            return _Tracked(fh, path, offset, lines, ends, fs)
        except BaseException:
            fh.close()
            raise
    stream.opener = opener
    return stream


class _Tracked:
    """A log read from ``offset``: a plain file up to the last newline there was when it
    was opened (a line still being written, and what comes later, is read next time), a
    compressed rotation to its end. Closed after a whole read, it appends its position."""

    def __init__(self, fh, path: Path, offset: int, lines: int, ends: list[dict], fs: Tree):
        self.fh, self.ends = fh, ends
        self.stat = os.fstat(fh.fileno())
        self.pos, self.lines = offset, lines
        if _gz(path):
            with open_log(path, fs) as head:
                self.head = head.read(HEAD)
            remaining = offset
            while remaining > 0:
                chunk = fh.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            self.end = None
        else:
            self.head = os.pread(fh.fileno(), HEAD, 0)
            self.end = _last_line_end(fh.fileno(), offset, self.stat.st_size)
            fh.seek(offset)

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        if self.end is not None:
            view = view[:max(0, self.end - self.pos)]
        got = self.fh.readinto(view) if len(view) else 0
        self.lines += sz.count(buffer, b"\n", 0, got)
        self.pos += got
        return got

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()
        if exc[0] is None:
            head = self.head[:min(self.pos, HEAD)]
            self.ends.append({
                "dev": self.stat.st_dev, "ino": self.stat.st_ino, "offset": self.pos,
                "lines": self.lines, "head": hashlib.sha256(head).hexdigest(),
                "head_len": len(head), "saved_at": _now()})


def _last_line_end(fd: int, start: int, size: int) -> int:
    """The offset just after the last ``\\n`` in [start, size), or ``start`` if none."""
    end = size
    while end > start:
        begin = max(start, end - (1 << 16))
        chunk = os.pread(fd, end - begin, begin)
        found = chunk.rfind(b"\n")
        if found >= 0:
            return begin + found + 1
        end = begin
    return start
