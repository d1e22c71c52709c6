"""redis-server as the oracle of redis.conf: started on a configuration in a temporary
folder, listening on a Unix socket only (``--port 0``), asked ``CONFIG GET`` over RESP, and
stopped; or the line it refuses to start at.

The test's own options follow the file on the command line, which redis-server appends to
the file's text as it reads it: the file's line numbers are unchanged.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import need_program

ASKED = ("maxmemory", "maxmemory-policy", "save", "appendonly", "auto-aof-rewrite-percentage",
         "disable-thp")
_FATAL = re.compile(r"at line (\d+)\n>>> '(.*)'\n(.*)")


def redis_server() -> str:
    return need_program("redis-server", "the differential test of the redis.conf reader")


def _command(sock: socket.socket, *words: str) -> list:
    """One RESP command and its reply (arrays of bulk strings, simple strings, errors)."""
    sock.sendall(f"*{len(words)}\r\n".encode() + b"".join(
        f"${len(w.encode())}\r\n".encode() + w.encode() + b"\r\n" for w in words))
    reader = sock.makefile("rb")
    try:
        return _reply(reader)
    finally:
        reader.close()


def _reply(reader):
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2].decode()
    if kind in (b"*", b"%"):  # RESP2 array, RESP3 map
        count = int(rest) * (2 if kind == b"%" else 1)
        return [_reply(reader) for _ in range(count)]
    raise AssertionError(f"unexpected RESP reply {line!r}")


class Outcome:
    """What redis-server made of a configuration: the values it asked for, or why and at
    which line (with the line's text, as redis-server echoes it) it refused to start."""

    def __init__(self, values: dict[str, str] | None, line: int | None = None,
                 text: str = "", error: str = ""):
        self.values = values
        self.line = line
        self.text = text
        self.error = error

    def __repr__(self) -> str:
        return f"Outcome({self.values!r}, {self.line!r}, {self.text!r}, {self.error!r})"


def run(config: Path, folder: Path | None = None) -> Outcome:
    """Start redis-server on ``config``, ask it, stop it. ``folder``: where its socket and
    data go (a fresh short one under /tmp by default: a socket path has 107 bytes)."""
    program = redis_server()
    work = Path(tempfile.mkdtemp(prefix="oomaudit-redis-", dir="/tmp")) if folder is None \
        else folder
    path = work / "redis.sock"
    proc = subprocess.Popen(
        [program, str(config), "--port", "0", "--unixsocket", str(path), "--dir", str(work),
         "--daemonize", "no", "--logfile", "", "--pidfile", str(work / "redis.pid")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=work)
    try:
        sock = _connect(proc, path)
        if sock is None:
            out = proc.communicate(timeout=30)[0].decode(errors="replace")
            m = _FATAL.search(out)
            if m:
                return Outcome(None, int(m.group(1)), m.group(2), m.group(3).strip())
            return Outcome(None, None, "", out.strip()[-300:])
        with sock:
            reply = _command(sock, "CONFIG", "GET", *ASKED)
            values = dict(zip(reply[::2], reply[1::2], strict=True))
            sock.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")  # no reply: it exits
        proc.wait(timeout=30)
        return Outcome(values)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if folder is None:
            for leftover in sorted(work.rglob("*"), reverse=True):
                leftover.rmdir() if leftover.is_dir() else leftover.unlink()
            work.rmdir()


def _connect(proc: subprocess.Popen, path: Path) -> socket.socket | None:
    """A connection once redis-server listens; None when it exited first."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        if os.path.exists(path):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(20)
            try:
                sock.connect(str(path))
                return sock
            except OSError:
                sock.close()
        time.sleep(0.005)
    raise AssertionError("redis-server neither listened nor exited within 20 s")
