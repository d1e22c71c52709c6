"""The live host's own files: ``/proc`` and ``/sys``, the kernel's answers about now.

These are not audited files (a tree or a repository has none; a live scan asks the kernel),
so they do not go through a ``confine.Tree``, whose reads refuse ``/proc`` where a config is
expected. They are still read the safe way: opened without blocking or becoming a
controlling terminal, read in small steps to a bound, links read and never followed.
``tests/test_file_access.py`` allows this module and ``confine.py`` alone to touch paths.
"""
from __future__ import annotations

import os

_OPEN = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def read_live(path: str, limit: int = 1 << 20) -> str:
    """A file of the live host's ``/proc`` or ``/sys`` (``/proc/meminfo``, a process's
    ``status``): these are not audited files but the kernel's own answers, read without
    blocking and without following a link out of them. OSError as ``open`` raises it.

    Read in 16 KiB steps to the end (or ``limit``): the kernel hands these files out a page
    or so per ``read(2)``, and asking for a megabyte at once makes Python allocate and free
    one per file (a live scan reads five per process)."""
    fd = os.open(path, _OPEN)
    try:
        chunks = []
        got = 0
        while got < limit:
            chunk = os.read(fd, min(16384, limit - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def open_device(path: str) -> int:
    """A descriptor on a live kernel device (``/dev/kmsg``), non-blocking: its reads stop
    at the end of what it holds instead of waiting for the next message."""
    return os.open(path, _OPEN)


def live_pids() -> list[int]:
    """The live host's process IDs, from /proc's listing."""
    return sorted(int(name) for name in os.listdir("/proc") if name.isdigit())


def live_exists(path: str) -> bool:
    """Whether a marker of the live host exists (``/.dockerenv``, ``/dev/disk``)."""
    return os.path.lexists(path)


def live_link(path: str) -> str:
    """Where a link of the live host's ``/proc`` points (``/proc/PID/exe``); read, not
    followed. OSError as ``readlink`` raises it."""
    return os.readlink(path)
