"""Where kernel logs come from, and what reading them found.

``oomaudit logs`` and the KLOG rules read OOM events from files, stdin, an offline tree
(``--root``: ``var/log/kern.log*``, else ``var/log/messages*``) or the live host, whose
sources are tried in order of preference:

1. ``journalctl _TRANSPORT=kernel`` (what ``journalctl -k`` matches, over every boot the
   journal keeps; absolute times);
2. ``/dev/kmsg`` (or ``dmesg`` when it cannot be opened): this boot only;
3. ``/var/log/kern.log*``, else ``/var/log/messages*`` (rotations and ``.gz`` included),
   for the boots before this one when the journal is not there.

Every source tried is reported with what happened (read, absent, or unreadable and
which group or capability would help). Only these fixed commands are ever run, by
absolute path and with a fixed environment (no PATH or pager of the caller's).

One concern over 300 lines: choosing and opening the sources of one host's kernel log,
each with the reference time it needs to date its lines and the record of what became of
it. The files' rotations, the journal's and the ring buffer's commands are its parts;
resuming where a run stopped is :mod:`oomaudit.logcursor`, built on these sources.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from .parsers.kernlog import KernlogParser
from .parsers.kernlog_event import OomEvent
from .parsers.kernlog_scan import scan
from .record import Record

JOURNAL_ARGS = ("--no-pager", "-o", "json", "_TRANSPORT=kernel")
COMMAND_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8",
               "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
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
                 until: datetime | None = None, lines_before: int = 0):
        self.label = label
        self.opener = opener
        self.reference = reference
        self.boot_time = boot_time
        self.until = until
        self.lines_before = lines_before  # a stream opened past the start: lines skipped


class Tried(Record):
    """A source and what became of it: ``read``, ``absent``, ``unreadable`` or ``skipped``."""

    def __init__(self, label: str, status: str, detail: str = ""):
        self.label = label
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.label}: {self.status}" + (f" ({self.detail})" if self.detail else "")


class LogScan(Record):
    """What ``read_events`` found: the OOM kills kept, how many were undated or dropped by
    ``--since``, the OOM panics, and every source tried (the unreadable ones: ``errors``)."""

    def __init__(self, events: list[OomEvent] | None = None, undated: int = 0, older: int = 0,
                 panics: list[tuple[str, str, int]] | None = None,
                 tried: list[Tried] | None = None):
        self.events = [] if events is None else events
        self.undated = undated  # events kept although their time is unknown (--since cannot apply)
        self.older = older  # events dropped by --since
        self.panics = [] if panics is None else panics  # message, where, line
        self.tried = [] if tried is None else tried

    @property
    def errors(self) -> list[Tried]:
        return [t for t in self.tried if t.status == "unreadable"]


# -- streams ---------------------------------------------------------------------------
def _open_log(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        import gzip
        return gzip.open(path, "rb")
    return open(path, "rb")


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError:
        return None


def file_stream(path: Path, label: str | None = None) -> Stream:
    return Stream(label or str(path), lambda: _open_log(path), _mtime(path))


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


def rotations(current: Path) -> list[Path]:
    """``current`` and its rotations beside it (``kern.log.1``, ``kern.log.2.gz``,
    ``messages-20260201``), oldest first; ``current`` last when it exists."""
    prefix = current.name
    try:
        names = os.listdir(current.parent)
    except OSError:
        return []
    found = [current.parent / n for n in names if n == prefix or n.startswith(prefix) and
             _SUFFIX.fullmatch(n[len(prefix):])]
    return rotation_order([p for p in found if p.is_file()])


def log_files(folder: Path) -> list[Path]:
    """``kern.log*`` in ``folder``, else ``messages*`` (a host with both logs kernel lines to
    both: reading both would count each kill twice)."""
    for pattern in LOG_GLOBS:
        found = [p for p in folder.glob(pattern) if p.is_file()]
        if found:
            return rotation_order(found)
    return []


# -- the live host ---------------------------------------------------------------------
def boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _permission_hint(path: Path) -> str:
    """Which group would let this user read ``path`` (Debian: kern.log is root:adm 0640)."""
    try:
        st = path.stat()
    except OSError:
        return "run as root"
    if st.st_mode & 0o040:
        import grp
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = str(st.st_gid)
        return f"readable by group '{group}': add this user to it, or run as root"
    return "readable by root only"


def program(name: str) -> str | None:
    """A system program by absolute path (never through the caller's PATH)."""
    return next((f"{d}/{name}" for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin")
                 if os.access(f"{d}/{name}", os.X_OK)), None)


def journal(since: datetime | None, tried: list[Tried], after: str | None = None,
            show_cursor: bool = False) -> Stream | None:
    """The journal's kernel records since ``since``, or after the cursor ``after``;
    ``show_cursor`` ends the output with journalctl's ``-- cursor: ...`` line (the stream's
    ``_Command.tail`` keeps it). None when the journal cannot be read or has nothing."""
    import subprocess  # here, not at the top: ``oomaudit logs FILE`` never runs a command

    label = "journalctl -k (all boots)"
    path = program("journalctl")
    if path is None:
        tried.append(Tried(label, "absent", "journalctl is not installed"))
        return None
    command = [path, *JOURNAL_ARGS]
    if since is not None and after is None:
        command.append("--since=" + since.astimezone().strftime("%Y-%m-%d %H:%M:%S"))
    try:
        probe = subprocess.run([*command, "-n", "1"], capture_output=True, text=True,
                               timeout=30, check=False, env=COMMAND_ENV)
    except FileNotFoundError:
        tried.append(Tried(label, "absent", "journalctl is not installed"))
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        tried.append(Tried(label, "unreadable", str(exc)))
        return None
    err = probe.stderr.strip()
    if "not seeing messages from other users and the system" in err:
        tried.append(Tried(label, "unreadable", "this user sees only its own journal: members "
                           "of group 'systemd-journal' or 'adm' (or root) see kernel records"))
        return None
    if probe.returncode != 0:
        tried.append(Tried(label, "unreadable", err.splitlines()[-1] if err else
                           f"exit status {probe.returncode}"))
        return None
    if not probe.stdout.strip():
        running = os.path.exists("/run/systemd/journal/socket")
        why = ("no journal files" if "No journal files" in err or not running
               else "no kernel records in the window")
        if not running:
            why += "; systemd-journald is not running here"
        tried.append(Tried(label, "absent" if not running else "read", why))
        return None
    if after is not None:
        command.append("--after-cursor=" + after)
    if show_cursor:
        command.append("--show-cursor")

    def opener():
        return _Command(command)
    return Stream(label, opener)


class _Command:
    """A fixed command's stdout as a binary stream; the process is reaped on close.
    ``tail`` keeps the last bytes read (where ``journalctl --show-cursor`` puts its cursor)."""

    TAIL = 1024

    def __init__(self, command: list[str]):
        import subprocess

        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=COMMAND_ENV)
        self.tail = b""

    def readinto(self, buffer) -> int:
        got = self.proc.stdout.readinto(buffer)
        if got:
            self.tail = (self.tail + bytes(buffer[max(0, got - self.TAIL):got]))[-self.TAIL:]
        return got

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.proc.stdout.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()


def read_kmsg(path: str = "/dev/kmsg") -> bytes:
    """The kernel ring buffer as ``[seconds] message`` lines (``dmesg``'s raw form).

    Records are ``prio,seq,usec,flags;text``; continuation lines (`` KEY=value``) are
    dropped; non-blocking, so reading stops at the end of the buffer."""
    import errno

    out = []
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                record = os.read(fd, 16384)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    break
                if exc.errno == errno.EPIPE:  # overwritten while reading: skip ahead
                    continue
                raise
            if not record:
                break
            head, _, text = record.partition(b";")
            fields = head.split(b",")
            usec = int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else 0
            message = text.split(b"\n", 1)[0]
            out.append(b"[%5d.%06d] %s\n" % (usec // 1_000_000, usec % 1_000_000, message))
    finally:
        os.close(fd)
    return b"".join(out)


def ring_buffer(tried: list[Tried]) -> Stream | None:
    import io
    import subprocess

    boot = boot_time()
    try:
        data = read_kmsg()
        label = "/dev/kmsg (this boot)"
    except OSError as exc:
        why = ("needs CAP_SYSLOG (kernel.dmesg_restrict=1) or root"
               if isinstance(exc, PermissionError) else exc.strerror or str(exc))
        tried.append(Tried("/dev/kmsg", "unreadable" if isinstance(exc, PermissionError)
                           else "absent", why))
        dmesg = program("dmesg")
        if dmesg is None:
            tried.append(Tried("dmesg", "absent", "dmesg is not installed"))
            return None
        try:
            proc = subprocess.run([dmesg], capture_output=True, timeout=30, check=False,
                                  env=COMMAND_ENV)
        except (OSError, subprocess.SubprocessError) as exc2:
            tried.append(Tried("dmesg", "absent", str(exc2)))
            return None
        if proc.returncode != 0:
            tried.append(Tried("dmesg", "unreadable", "needs CAP_SYSLOG "
                               "(kernel.dmesg_restrict=1) or root: " +
                               proc.stderr.decode("utf-8", "replace").strip()))
            return None
        data, label = proc.stdout, "dmesg (this boot)"
    return Stream(label, lambda: io.BytesIO(data), boot_time=boot)


def live_streams(since: datetime | None, log_dir: Path = Path("/var/log")
                 ) -> tuple[list[Stream], list[Tried]]:
    tried: list[Tried] = []
    found = journal(since, tried)
    if found:
        return [found], tried
    streams = []
    ring = ring_buffer(tried)
    boot = boot_time()
    files = log_files(log_dir)
    if not files:
        tried.append(Tried(f"{log_dir}/kern.log*, {log_dir}/messages*", "absent",
                           "no syslog daemon writes kernel messages to files here"))
    for path in files:
        if not os.access(path, os.R_OK):
            tried.append(Tried(str(path), "unreadable", "permission denied; " +
                               _permission_hint(path)))
            continue
        stream = file_stream(path)
        if ring and boot:  # the ring buffer has this boot; files add the boots before
            stream.until = datetime.fromtimestamp(boot, timezone.utc)
        streams.append(stream)
    if ring:
        streams.append(ring)
    return streams, tried


# -- reading ---------------------------------------------------------------------------
def read_events(streams: list[Stream], since: datetime | None,
                tried: list[Tried] | None = None) -> LogScan:
    """Every OOM event of ``streams`` at or after ``since`` (undated events are kept and
    counted); a stream that fails midway is reported, and the others are still read."""
    result = LogScan(tried=list(tried or []))
    for stream in streams:
        try:
            parser = KernlogParser(stream.label, stream.reference, stream.boot_time)
            with stream.opener() as fh:
                events = list(_events(fh, parser, stream.lines_before))
        except PermissionError:
            path = Path(stream.label)
            result.tried.append(Tried(stream.label, "unreadable",
                                      "permission denied; " + _permission_hint(path)))
            continue
        except (OSError, EOFError, ValueError) as exc:  # missing, corrupt .gz, ...
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            result.tried.append(Tried(stream.label, "unreadable", why))
            continue
        kept = 0
        for event in events:
            if event.time is None:
                result.undated += 1
            elif stream.until is not None and event.time >= stream.until:
                continue
            elif since is not None and event.time < since:
                result.older += 1
                continue
            result.events.append(event)
            kept += 1
        result.panics.extend((m, stream.label, line) for m, _, line in parser.panics)
        result.tried.append(Tried(stream.label, "read", f"{kept} OOM kill(s)"))
    return result


def _events(fh: IO[bytes], parser: KernlogParser, lines_before: int) -> Iterator[OomEvent]:
    import zlib
    try:
        yield from scan(fh, parser, lines_before)
    except zlib.error as exc:
        raise ValueError(f"corrupt compressed data: {exc}") from None
