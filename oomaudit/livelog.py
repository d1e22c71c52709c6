"""The live host's kernel-log sources, tried in order of preference:

1. ``journalctl _TRANSPORT=kernel`` (what ``journalctl -k`` matches, over every boot the
   journal keeps; absolute times);
2. ``/dev/kmsg`` (or ``dmesg`` when it cannot be opened): this boot only;
3. ``/var/log/kern.log*``, else ``/var/log/messages*`` (rotations and ``.gz`` included),
   for the boots before this one when the journal is not there.

Only these fixed commands are ever run, by an absolute path found once in the system's
folders (never the caller's PATH) and with a fixed environment: nothing the caller set
(locale, time zone, pager, colours, systemd's log settings) changes what they print. One
this user may not read (journal group, ``kernel.dmesg_restrict``, kern.log's group) is
reported as unreadable, with who may.
"""
from __future__ import annotations

import functools
import os
from datetime import datetime, timezone
from pathlib import Path

from . import procfs
from .logsources import Stream, Tried, file_stream, log_files

JOURNAL_ARGS = ("--no-pager", "-o", "json", "_TRANSPORT=kernel")
SYSTEM_BIN = "/usr/bin:/bin:/usr/sbin:/sbin"
COMMAND_ENV = {"PATH": SYSTEM_BIN, "LC_ALL": "C", "TZ": "UTC", "SYSTEMD_PAGER": "",
               "SYSTEMD_COLORS": "0"}  # the whole environment: nothing is inherited


def boot_time() -> float | None:
    try:
        for line in procfs.read_live("/proc/stat").splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


@functools.cache
def program(name: str) -> str | None:
    """A system program by absolute path, looked up once in the system's folders (never
    through the caller's PATH, where any folder may come first)."""
    import shutil

    return shutil.which(name, path=SYSTEM_BIN)


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
    if since is not None and after is None:  # in UTC, said so: the child's TZ is fixed
        command.append("--since=" + since.astimezone(timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S UTC"))
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
        running = procfs.live_exists("/run/systemd/journal/socket")
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
    fd = procfs.open_device(path)  # O_NONBLOCK: reading stops at the end of the buffer
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
    for path in files:  # one this user may not read is named when read_events opens it
        stream = file_stream(path)
        if ring and boot:  # the ring buffer has this boot; files add the boots before
            stream.until = datetime.fromtimestamp(boot, timezone.utc)
        streams.append(stream)
    if ring:
        streams.append(ring)
    return streams, tried
