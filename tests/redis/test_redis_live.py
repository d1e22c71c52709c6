"""A real redis-server started for the test (on a Unix socket in a temporary folder, no
port) and stopped after it: a live scan counts what it holds in the ledger of the host's
redis.conf without maxmemory, says so in REDIS001's evidence, and ``oomaudit facts`` writes
the measurement."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import IN_CI, assert_no_traceback
from redis_oracle import redis_server

SHIPPED = Path("/etc/redis/redis.conf")


@pytest.fixture
def running():
    program = redis_server()
    if not os.access(SHIPPED, os.R_OK):
        if IN_CI:
            pytest.fail(f"{SHIPPED} is missing in CI (.ci/run installs redis-server)")
        pytest.skip(f"{SHIPPED} is not readable: the live scan audits the host's own file")
    work = Path(tempfile.mkdtemp(prefix="oomaudit-redis-", dir="/tmp"))
    path = work / "redis.sock"
    proc = subprocess.Popen([program, "--port", "0", "--unixsocket", str(path), "--dir",
                             str(work), "--save", "", "--daemonize", "no", "--logfile", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        with socket.socket(socket.AF_UNIX) as sock:  # it listens once it answers
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            assert sock.recv(64) == b"+PONG\r\n"
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()


def test_a_running_redis_server_is_measured(oomaudit, running):
    proc = oomaudit("scan", "--select", "REDIS001", "--format", "json")
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    ours = [c for h in report["hosts"] for c in h["ledger"] if c["service"] == "redis"]
    if not ours or "not set" not in ours[0]["how"]:
        pytest.skip(f"{SHIPPED} sets maxmemory here: its limit is counted, not the process")
    [consumer] = ours  # one instance on this host: every redis-server process is its
    assert consumer["bytes"] > 0 and consumer["source"].startswith("live: redis-server pid")
    assert consumer["how"].startswith("maxmemory not set: no limit (REDIS001); counted at")
    [finding] = [f for f in report["findings"] if f["path"] == str(SHIPPED)]
    assert any(e["what"].startswith("redis-server holds ") and e["what"].endswith("now (RSS)")
               for e in finding["evidence"])
    facts = json.loads(oomaudit("facts").stdout)
    [service] = [s for s in facts["services"] if s["service"] == "redis"]
    assert service["group"] == str(SHIPPED) and service["processes"] >= 1
