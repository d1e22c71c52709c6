"""How far a long run is, on a terminal: a repository of many hosts takes a while.

After about two seconds a run whose stderr is a terminal shows one line there, rewritten in
place (``oomaudit: 12/40 hosts, 3,100/9,000 files``) as pre-commit and pip users are used to, and
clears it before the report. Never on a pipe, in CI (``CI`` set) or on a dumb terminal, and
``--quiet`` silences it: a log must not fill with carriage returns.
"""
from __future__ import annotations

import os
import sys
import time

DELAY = 2.0  # seconds before the first line: short runs show nothing
EVERY = 0.25  # seconds between two updates


class Progress:
    """Counts hosts and files; ``enabled`` False makes every call free of output."""

    def __init__(self, enabled: bool, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.next = self.start + DELAY
        self.shown = 0  # width of the line on screen
        self.hosts = self.hosts_done = 0
        self.found = self.read = 0  # files discovery found, files the hosts read

    @classmethod
    def for_run(cls, quiet: bool) -> Progress:
        stream = sys.stderr
        enabled = (not quiet and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"
                   and stream.isatty())
        return cls(enabled, stream)

    def found_file(self) -> None:
        self.found += 1
        if self.enabled and self.found % 64 == 0:
            self._show()

    def read_file(self) -> None:
        self.read += 1
        if self.enabled and self.read % 64 == 0:
            self._show()

    def host_done(self) -> None:
        self.hosts_done += 1
        if self.enabled:
            self._show()

    def _show(self) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + EVERY
        hosts = f"{self.hosts_done}/{self.hosts} hosts, " if self.hosts else ""
        line = f"oomaudit: {hosts}{self.read:,}/{self.found:,} files"
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown = len(line)

    def clear(self) -> None:
        """Remove the line before anything else is written to the terminal."""
        if self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0
